//! Test-then-train on the Electricity data, week by week, with retrain's own trainers:
//! each week is scored by the current model *before* the model learns from it; then
//! the policy decides whether to retrain. The protocol of ../shared/peers/river_elec2.py:
//! 336-row weeks (134 full + 1 partial), the first 4 weeks train the first model,
//! weeks 4.. are scored. Policies: static (never retrain), expanding (every week, all
//! data so far), sliding4 (every week, last 4 weeks), every4_last4 (every 4th week,
//! last 4 weeks).
//!
//! cargo run --profile bench-fast --example elec-weekly -- --data ../shared/data/elec2.csv \
//!     --algorithm logistic_regression
//!
//! Prints one JSON object: per policy the mean and worst weekly accuracy, the number
//! of retrains and the total training time.

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use retrain::evaluate::metrics::Prepared;

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

struct Policy {
    name: &'static str,
    every: usize,
    window: &'static str,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let repo = tempfile::tempdir()?;
    std::fs::create_dir_all(repo.path().join("data"))?;
    std::fs::copy(&args.data, repo.path().join("data/elec2.csv"))?;
    let policies = [
        Policy {
            name: "static",
            every: 0,
            window: "{ kind: all }",
        },
        Policy {
            name: "expanding",
            every: 1,
            window: "{ kind: all }",
        },
        Policy {
            name: "sliding4",
            every: 1,
            window: "{ kind: fixed, last: 1344 }",
        },
        Policy {
            name: "every4_last4",
            every: 4,
            window: "{ kind: fixed, last: 1344 }",
        },
    ];
    let mut results = Vec::new();
    for p in &policies {
        let yaml = format!(
            "version: 1\nmodels:\n  - name: elec\n    task: classification\n    target: class\n    column_types: {{ class: categorical }}\n    data: {{ path: data/elec2.csv }}\n    training: {{ algorithm: {}, window: {}, params: {} }}\n",
            args.algorithm, p.window, args.params
        );
        let config = retrain::config::parse(std::path::Path::new("retrain.yaml"), &yaml)?;
        let model = &config.models[0];
        let snap = retrain::snapshot::create(repo.path(), model)?;
        let table = retrain::train::table::load(repo.path(), model, &snap.manifest, None, None)?;
        let n = table.rows();
        let weeks = n.div_ceil(args.week);
        let now = chrono::Utc::now();
        let rows = |from: usize, to: usize| -> Vec<usize> {
            (from * args.week..(to * args.week).min(n)).collect()
        };
        let mut train_ms = 0u128;
        let mut retrains = 0usize;
        let fit = |upto: usize,
                   train_ms: &mut u128|
         -> anyhow::Result<retrain::train::model::ModelArtifact> {
            let t = Instant::now();
            let c = retrain::train::train(
                repo.path(),
                model,
                &table,
                &rows(0, upto),
                &snap.id,
                None,
                now,
            )?;
            *train_ms += t.elapsed().as_millis();
            Ok(c.artifact)
        };
        let mut current = fit(args.warmup, &mut train_ms)?;
        retrains += 1;
        let mut accs = Vec::new();
        for w in args.warmup..weeks {
            let test = rows(w, w + 1);
            let preds = current
                .predict_table(repo.path(), &table, &test)
                .map_err(anyhow::Error::msg)?;
            let truth = retrain::train::truth_of(&table, &test);
            let acc = Prepared::new(truth.view(), &preds)
                .metric(retrain::config::Metric::Accuracy, None)
                .unwrap_or(f64::NAN);
            accs.push(acc);
            let due = p.every > 0 && (w + 1 - args.warmup) % p.every == 0;
            if due && w + 1 < weeks {
                current = fit(w + 1, &mut train_ms)?;
                retrains += 1;
            }
        }
        let mean = accs.iter().sum::<f64>() / accs.len() as f64;
        let worst = accs.iter().copied().fold(f64::INFINITY, f64::min);
        results.push(serde_json::json!({
            "policy": p.name, "mean_accuracy": mean, "worst_accuracy": worst,
            "retrains": retrains, "train_seconds": train_ms as f64 / 1000.0, "weeks_scored": accs.len(),
        }));
    }
    println!(
        "{}",
        serde_json::json!({ "bench": "elec_weekly", "algorithm": args.algorithm, "week_rows": args.week, "policies": results })
    );
    Ok(())
}
