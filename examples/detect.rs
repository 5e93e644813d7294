//! Runs a change detector over a stream (one number per line) and prints the rows at
//! which it signalled a change, with the time it took: retrain's half of
//! `bench/detectors/run.sh` (River's half is `bench/detectors/river_run.py`).
//!
//! cargo run --profile bench-fast --example detect -- STREAM.txt adwin
//!     [--set delta=0.002 ...] [--repeat 5]

use std::time::Instant;

use clap::Parser;
use retrain::checks::detect::detect;
use retrain::config::DetectorSpec;

#[derive(Parser)]
struct Args {
    stream: std::path::PathBuf,
    /// adwin | ddm | page_hinkley
    detector: String,
    /// A detector setting, `name=value` (repeatable).
    #[arg(long = "set")]
    settings: Vec<String>,
    /// Runs, of which the fastest is reported.
    #[arg(long, default_value_t = 5)]
    repeat: usize,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let text = std::fs::read_to_string(&args.stream)?;
    let stream: Vec<f64> = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.trim().parse::<f64>())
        .collect::<Result<_, _>>()?;
    let mut spec = serde_json::Map::new();
    spec.insert("kind".into(), args.detector.clone().into());
    for s in &args.settings {
        let (k, v) = s.split_once('=').ok_or("--set takes name=value")?;
        spec.insert(k.into(), serde_json::from_str(v)?);
    }
    let spec: DetectorSpec = serde_json::from_value(spec.into())?;
    let mut best = f64::INFINITY;
    let mut changes = Vec::new();
    for _ in 0..args.repeat.max(1) {
        let started = Instant::now();
        changes = detect(&spec, &stream);
        best = best.min(started.elapsed().as_secs_f64());
    }
    let rows: Vec<usize> = changes.iter().map(|c| c.row).collect();
    println!(
        "{}",
        serde_json::json!({ "rows": stream.len(), "seconds": best, "changes": rows })
    );
    Ok(())
}
