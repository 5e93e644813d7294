//! Test-then-train on the Electricity data, week by week — now a thin wrapper over
//! `retrain backtest` (the library's [`retrain::backtest`]) with the four fixed policies
//! of bench/train.sh section B: static (never retrain), expanding (every week, all data
//! so far), sliding4 (every week, last 4 weeks), every4_last4 (every 4th week, last 4
//! weeks), and sliding4_warm (every week, last 4 weeks, `warm_start: true`: logistic
//! regression starts from the deployed model's weights, gradient boosting adds trees to
//! the deployed model's). The protocol of ../shared/peers/river_elec2.py: 336-row weeks, the first 4
//! weeks train the first model, weeks 4.. are scored.
//!
//! cargo run --profile bench-fast --example elec-weekly -- --data ../shared/data/elec2.csv \
//!     --algorithm logistic_regression
//!
//! Prints one JSON object: per policy the mean and worst weekly accuracy, the number of
//! fits (`retrains`, the first model included, as before) and the total training time.
//! For any other policy use `retrain backtest` directly.

use std::path::PathBuf;

use clap::Parser;
use retrain::backtest::{self, BacktestRequest};
use retrain::pipeline::Workspace;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "../shared/data/elec2.csv")]
    data: PathBuf,
    #[arg(long, default_value = "logistic_regression")]
    algorithm: String,
    /// Rows per week.
    #[arg(long, default_value_t = 336)]
    week: usize,
    /// Weeks the first model is trained on.
    #[arg(long, default_value_t = 4)]
    warmup: usize,
    /// `training.params` for the algorithm, as YAML/JSON (e.g. `{ max_depth: 8 }`).
    #[arg(long, default_value = "{}")]
    params: String,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let repo = tempfile::tempdir()?;
    std::fs::create_dir_all(repo.path().join("data"))?;
    std::fs::copy(&args.data, repo.path().join("data/elec2.csv"))?;
    std::fs::write(
        repo.path().join("retrain.yaml"),
        format!(
            "version: 1\nmodels:\n  - name: elec\n    task: classification\n    target: class\n    column_types: {{ class: categorical }}\n    data: {{ path: data/elec2.csv }}\n    training: {{ algorithm: {}, params: {} }}\n",
            args.algorithm, args.params
        ),
    )?;
    let last4 = 4 * args.week;
    let policies = repo.path().join("policies.yaml");
    std::fs::write(
        &policies,
        format!(
            "period_rows: {}\nwarmup: {}\npolicies:\n  - {{ name: static, never: true }}\n  - {{ name: expanding, every: 1, window: {{ kind: all }} }}\n  - {{ name: sliding4, every: 1, window: {{ kind: fixed, last: {last4} }} }}\n  - {{ name: every4_last4, every: 4, window: {{ kind: fixed, last: {last4} }} }}\n  - {{ name: sliding4_warm, every: 1, window: {{ kind: fixed, last: {last4} }}, warm_start: true }}\n",
            args.week, args.warmup
        ),
    )?;
    let report = backtest::run(&BacktestRequest {
        workspace: Workspace {
            repo: repo.path().to_path_buf(),
            config: None,
        },
        model: None,
        period: None,
        period_rows: None,
        policies: Some(policies),
    })?;
    let results: Vec<serde_json::Value> = [
        "static",
        "expanding",
        "sliding4",
        "every4_last4",
        "sliding4_warm",
    ]
    .iter()
    .filter_map(|name| report.policy(name))
    .map(|p| {
        serde_json::json!({
            "policy": p.name, "mean_accuracy": p.mean_metric, "worst_accuracy": p.worst_metric,
            "retrains": p.retrains + 1, "train_seconds": p.train_seconds,
            "weeks_scored": report.scored_periods,
        })
    })
    .collect();
    println!(
        "{}",
        serde_json::json!({ "bench": "elec_weekly", "algorithm": args.algorithm, "week_rows": args.week, "policies": results })
    );
    Ok(())
}
