//! CBPE per chunk, for the benchmark against NannyML (bench/estimate/run.sh): the
//! estimate `retrain check` makes on rows without labels (the artifact's calibration,
//! then the expected confusion counts: the same functions), and the realized values
//! from the labels the file also holds. One JSON line per chunk.
//!
//! cargo run --example cbpe -- --artifact model.json --predictions scored.csv \
//!     --label label --chunk 5000

use std::path::PathBuf;

use clap::Parser;
use polars::prelude::*;
use retrain::train::model::{CalibrationRecord, ModelArtifact};

#[derive(Parser)]
struct Args {
    /// The champion's `model.json`.
    #[arg(long)]
    artifact: PathBuf,
    /// A CSV written by `retrain predict` (`prediction`, `proba_<class>`), with labels.
    #[arg(long)]
    predictions: PathBuf,
    #[arg(long, default_value = "label")]
    label: String,
    #[arg(long, default_value_t = 5000)]
    chunk: usize,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let artifact: ModelArtifact = serde_json::from_slice(&std::fs::read(&args.artifact)?)?;
    let Some(CalibrationRecord::Fitted(cal)) = &artifact.calibration else {
        return Err(format!("{}: no fitted calibration", args.artifact.display()).into());
    };
    let positive = artifact.classes.get(1).ok_or("not a binary classifier")?;
    let df = CsvReadOptions::default()
        .with_infer_schema_length(None)
        .try_into_reader_with_file_path(Some(args.predictions.clone()))?
        .finish()?;
    let text = |name: &str| -> Result<Vec<String>, PolarsError> {
        let s = df.column(name)?.cast(&DataType::String)?;
        Ok(s.str()?
            .iter()
            .map(|v| v.unwrap_or_default().to_string())
            .collect())
    };
    let score: Vec<f64> = df
        .column(&format!("proba_{positive}"))?
        .cast(&DataType::Float64)?
        .f64()?
        .iter()
        .map(|v| v.unwrap_or(f64::NAN))
        .collect();
    let predicted = text("prediction")?;
    let truth = text(&args.label)?;
    for (i, start) in (0..score.len()).step_by(args.chunk).enumerate() {
        let end = (start + args.chunk).min(score.len());
        let p: Vec<f64> = score[start..end].iter().map(|s| cal.apply(*s)).collect();
        let pos: Vec<bool> = predicted[start..end]
            .iter()
            .map(|c| c == positive)
            .collect();
        let Some(e) = retrain::checks::estimate::estimate(&p, &pos) else {
            continue;
        };
        let right = (start..end).filter(|r| predicted[*r] == truth[*r]).count();
        let line = serde_json::json!({
            "chunk": i,
            "rows": end - start,
            "estimated_accuracy": e.accuracy,
            "accuracy_band": e.accuracy_band,
            "estimated_roc_auc": e.roc_auc,
            "realized_accuracy": right as f64 / (end - start) as f64,
            "calibrated": cal.isotonic.is_some(),
        });
        println!("{line}");
    }
    Ok(())
}
