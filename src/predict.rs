//! `retrain predict`: score a CSV or Parquet file with a registered version (the
//! champion by default), the way the pipeline reads data, and write it back with the
//! predictions (atomically).

use std::path::PathBuf;

use serde::Serialize;

use crate::error::Error;
use crate::registry;
use crate::snapshot;
use crate::train::{self, model::Predictions};

/// `retrain predict`.
#[derive(Debug, Clone)]
pub struct PredictRequest {
    pub repo: PathBuf,
    /// `models/<m>/registry.yaml`.
    pub registry_file: PathBuf,
    pub input: PathBuf,
    pub output: PathBuf,
    pub version: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PredictReport {
    pub model: String,
    pub version: u32,
    pub rows: usize,
    pub output: String,
    pub columns: Vec<String>,
}

pub fn predict(req: &PredictRequest) -> Result<PredictReport, Error> {
    use polars::prelude::*;
    let usage = |m: String| Error::Usage(m);
    let text = std::fs::read_to_string(&req.registry_file).map_err(|e| {
        usage(format!(
            "cannot read `{}`: {e}",
            req.registry_file.display()
        ))
    })?;
    let pointer: registry::RegistryPointer = serde_yaml::from_str(&text).map_err(|e| {
        Error::Registry(registry::RegistryError::Invalid {
            path: req.registry_file.display().to_string(),
            message: e.to_string(),
        })
    })?;
    let version = match req.version {
        None => pointer.champion.clone().ok_or_else(|| {
            usage(format!(
                "`{}` has no champion yet",
                req.registry_file.display()
            ))
        })?,
        Some(v) => pointer
            .champion
            .iter()
            .chain(&pointer.history)
            .find(|m| m.version == v)
            .cloned()
            .ok_or_else(|| {
                usage(format!(
                    "version {v} is not in `{}`",
                    req.registry_file.display()
                ))
            })?,
    };
    let dir = req
        .registry_file
        .parent()
        .unwrap_or(std::path::Path::new("."));
    let (artifact, _) = registry::load_artifact(&req.repo, dir, &version).map_err(|e| {
        Error::Registry(registry::RegistryError::Invalid {
            path: req.registry_file.display().to_string(),
            message: e.to_string(),
        })
    })?;
    let input_err = |e: &dyn std::fmt::Display| {
        Error::Snapshot(snapshot::SnapshotError::Data(
            crate::data::DataError::Read {
                path: req.input.display().to_string(),
                message: e.to_string(),
            },
        ))
    };
    let input = req
        .input
        .to_str()
        .ok_or_else(|| usage("the input path is not UTF-8".into()))?;
    let lower = input.to_ascii_lowercase();
    let lf = if lower.ends_with(".parquet") || lower.ends_with(".pq") {
        LazyFrame::scan_parquet(PlRefPath::new(input), ScanArgsParquet::default())
    } else {
        LazyCsvReader::new(PlRefPath::new(input))
            .with_has_header(true)
            .finish()
    }
    .map_err(|e| input_err(&e))?;
    let mut df = lf.collect().map_err(|e| input_err(&e))?;
    // The model's input columns as retrain reads them.
    let mut features = Vec::new();
    for step in &artifact.preprocessing.steps {
        let name = step.column();
        let s = df
            .column(name)
            .map_err(|_| {
                input_err(&format!(
                    "the model needs column `{name}`, which the file lacks"
                ))
            })?
            .as_materialized_series()
            .clone();
        let values = match step {
            train::preprocess::Step::Numeric { .. } | train::preprocess::Step::Value { .. } => {
                train::table::Values::Numeric(
                    s.cast(&DataType::Float64)
                        .map_err(|e| input_err(&e))?
                        .f64()
                        .map_err(|e| input_err(&e))?
                        .iter()
                        .map(|v| v.unwrap_or(f64::NAN))
                        .collect(),
                )
            }
            train::preprocess::Step::OneHot { .. } | train::preprocess::Step::Code { .. } => {
                let s = s.cast(&DataType::String).map_err(|e| input_err(&e))?;
                let mut dict: Vec<String> = Vec::new();
                let mut index: std::collections::HashMap<String, u32> = Default::default();
                let codes = s
                    .str()
                    .map_err(|e| input_err(&e))?
                    .iter()
                    .map(|v| {
                        v.map(|v| {
                            *index.entry(v.to_string()).or_insert_with(|| {
                                dict.push(v.to_string());
                                (dict.len() - 1) as u32
                            })
                        })
                    })
                    .collect();
                train::table::Values::Categorical { codes, dict }
            }
        };
        features.push(train::table::Feature {
            name: name.to_string(),
            values,
        });
    }
    let rows: Vec<usize> = (0..df.height()).collect();
    let x = artifact
        .preprocessing
        .transform(&features, &rows)
        .map_err(|e| input_err(&e))?;
    let preds = artifact
        .predict_matrix(&x)
        .map_err(|e| Error::Train(train::TrainError::Predict(e)))?;
    let mut added = Vec::new();
    match &preds {
        Predictions::Values(v) => {
            df.with_column(Column::new("prediction".into(), v.clone()))
                .map_err(|e| input_err(&e))?;
            added.push("prediction".to_string());
        }
        Predictions::Classes(p) => {
            let labels: Vec<String> = preds
                .labels()
                .iter()
                .map(|i| artifact.classes[*i as usize].clone())
                .collect();
            df.with_column(Column::new("prediction".into(), labels))
                .map_err(|e| input_err(&e))?;
            added.push("prediction".to_string());
            for (k, class) in artifact.classes.iter().enumerate() {
                let name = format!("proba_{class}");
                df.with_column(Column::new(name.as_str().into(), p.column(k).to_vec()))
                    .map_err(|e| input_err(&e))?;
                added.push(name);
            }
        }
    }
    let out = &req.output;
    let tmp = out.with_extension("retrain-tmp");
    let mut write = || -> std::io::Result<()> {
        let file = std::fs::File::create(&tmp)?;
        let lower = out.to_string_lossy().to_ascii_lowercase();
        if lower.ends_with(".parquet") || lower.ends_with(".pq") {
            ParquetWriter::new(file)
                .finish(&mut df)
                .map_err(std::io::Error::other)?;
        } else {
            CsvWriter::new(file)
                .finish(&mut df)
                .map_err(std::io::Error::other)?;
        }
        std::fs::rename(&tmp, out)
    };
    write().map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        Error::Io {
            context: format!("cannot write `{}`", out.display()),
            source,
        }
    })?;
    Ok(PredictReport {
        model: pointer.model,
        version: version.version,
        rows: df.height(),
        output: out.display().to_string(),
        columns: added,
    })
}
