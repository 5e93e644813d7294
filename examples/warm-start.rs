//! Warm start vs cold start for logistic regression, with retrain's trainer.
//!
//! Trains a champion on the first part of a data file, then a candidate on all of it,
//! once from scratch and once starting from the champion's coefficients; reports the
//! fit time and the holdout accuracy of both (same holdout, same window).
//!
//! cargo run --profile bench-fast --example warm-start -- --data data.parquet --target label
//!     [--champion-fraction 0.8] [--holdout 0.2] [--params '{ max_iterations: 1000 }']

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use retrain::evaluate::metrics::Prepared;

#[derive(Parser)]
struct Args {
    #[arg(long)]
    data: PathBuf,
    #[arg(long, default_value = "label")]
    target: String,
    /// Share of the training rows the champion saw.
    #[arg(long, default_value_t = 0.8)]
    champion_fraction: f64,
    #[arg(long, default_value_t = 0.2)]
    holdout: f64,
    #[arg(long, default_value = "{ max_iterations: 1000 }")]
    params: String,
    /// Extra model keys (YAML lines under the model), e.g. "    ignore: [cat_1000]".
    #[arg(long, default_value = "")]
    extra: String,
}

fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let repo = tempfile::tempdir()?;
    let name = a
        .data
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("data.parquet")
        .to_string();
    std::fs::create_dir_all(repo.path().join("data"))?;
    std::fs::copy(&a.data, repo.path().join("data").join(&name))?;
    let yaml = |warm: bool| {
        format!(
            "version: 1\nmodels:\n  - name: m\n    task: classification\n    target: {}\n    data: {{ path: data/{name} }}\n    training: {{ algorithm: logistic_regression, warm_start: {warm}, params: {} }}\n    evaluation: {{ holdout: {{ kind: time, fraction: {} }} }}\n{}\n",
            a.target, a.params, a.holdout, a.extra
        )
    };
    let cold_cfg = retrain::config::parse(std::path::Path::new("retrain.yaml"), &yaml(false))?;
    let warm_cfg = retrain::config::parse(std::path::Path::new("retrain.yaml"), &yaml(true))?;
    let model = &cold_cfg.models[0];
    let snap = retrain::snapshot::create(repo.path(), model)?;
    let t = Instant::now();
    let table = retrain::train::table::load(repo.path(), model, &snap.manifest, None, None)?;
    let load_s = t.elapsed().as_secs_f64();
    let split = retrain::train::split(model, &table);
    let now = chrono::Utc::now();
    let k = (split.pool.len() as f64 * a.champion_fraction) as usize;
    let champion = retrain::train::train(
        repo.path(),
        model,
        &table,
        &split.pool[..k],
        &snap.id,
        None,
        now,
    )?;
    let score = |c: &retrain::train::Candidate| -> anyhow::Result<f64> {
        let p = c
            .artifact
            .predict_table(repo.path(), &table, &split.holdout)
            .map_err(anyhow::Error::msg)?;
        let truth = retrain::train::truth_of(&table, &split.holdout);
        Ok(Prepared::new(truth.view(), &p)
            .metric(retrain::config::Metric::Accuracy, None)
            .unwrap_or(f64::NAN))
    };
    let cold = retrain::train::train(repo.path(), model, &table, &split.pool, &snap.id, None, now)?;
    let warm = retrain::train::train(
        repo.path(),
        &warm_cfg.models[0],
        &table,
        &split.pool,
        &snap.id,
        Some(&champion.artifact),
        now,
    )?;
    println!(
        "{}",
        serde_json::json!({
            "bench": "warm_start", "rows": table.rows(), "train_rows": split.pool.len(), "holdout_rows": split.holdout.len(),
            "load_s": load_s,
            "champion": { "rows": k, "fit_ms": champion.report.duration_ms, "accuracy": score(&champion)? },
            "cold": { "fit_ms": cold.artifact.training.duration_ms, "iterations": cold.report.iterations, "accuracy": score(&cold)? },
            "warm": { "fit_ms": warm.artifact.training.duration_ms, "iterations": warm.report.iterations, "accuracy": score(&warm)?, "warm_started": warm.report.warm_start },
        })
    );
    Ok(())
}
