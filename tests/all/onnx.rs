//! `model.onnx` read by a real ONNX consumer: for every exportable trainer, the model a
//! run proposes is checked by onnx's full checker and scored by ONNX Runtime (pinned,
//! installed by tests/run.sh) on a CSV file with missing values and unseen categories,
//! and ONNX Runtime's probabilities and predictions agree with `retrain predict`'s.

use std::path::PathBuf;
use std::process::Command;

use crate::support::*;

fn python() -> PathBuf {
    let venv = std::env::var("RETRAIN_ONNX_VENV").map_or_else(
        |_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".cache/retrain/venv-onnx")
        },
        PathBuf::from,
    );
    let py = venv.join("bin/python");
    // never skipped: a missing consumer fails the test with the command that installs it
    assert!(
        py.is_file(),
        "{} missing: run `bash tests/run.sh`, which installs onnxruntime there",
        py.display()
    );
    py
}

/// 3,000 rows: x (numeric, 10% empty), city (20 names), noise, and three targets:
/// label (yes/no), band (low/mid/high), y (numeric).
fn data(rows: usize, seed: u64, unseen: bool) -> String {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut csv = String::from("ts,x,city,noise,label,band,y\n");
    for i in 0..rows {
        let missing = next() < 0.1;
        let x = next();
        let mut city = format!("city-{:02}", (next() * 20.0) as usize);
        if unseen && i % 7 == 0 {
            city = "atlantis".into();
        }
        let noise = next();
        let c = city.len() % 3 + city.bytes().last().unwrap() as usize % 4;
        let yes = missing || c.is_multiple_of(3) || x + 0.3 * noise > 0.8;
        let band = if missing {
            "mid"
        } else if x < 0.33 {
            "low"
        } else if x < 0.66 {
            "mid"
        } else {
            "high"
        };
        let y = 3.0 * x + c as f64 * 0.5 + noise;
        let x_text = if missing {
            String::new()
        } else {
            format!("{x:.5}")
        };
        csv.push_str(&format!(
            "{i},{x_text},{city},{noise:.5},{},{band},{y:.5}\n",
            if yes { "yes" } else { "no" }
        ));
    }
    csv
}

fn config(task: &str, target: &str, algorithm: &str, params: &str) -> String {
    let ignore: Vec<&str> = ["label", "band", "y"]
        .into_iter()
        .filter(|t| *t != target)
        .collect();
    let metric = if task == "regression" {
        "r2"
    } else {
        "accuracy"
    };
    format!(
        "version: 1\nmodels:\n  - name: m\n    task: {task}\n    target: {target}\n    time_column: ts\n    ignore: [{}]\n    data: {{ path: data/rows.csv }}\n    training: {{ algorithm: {algorithm}, params: {params} }}\n    evaluation:\n      holdout: {{ kind: time, fraction: 0.2 }}\n      metrics: [{metric}]\n      intervals: {{ method: none }}\n      gates: [ {{ metric: {metric}, min: -100 }} ]\n",
        ignore.join(", ")
    )
}

#[test]
fn onnx_runtime_scores_every_exportable_model_as_retrain_does() {
    let py = python();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/onnx/score.py");
    for (task, target, algorithm, params) in [
        (
            "classification",
            "label",
            "gradient_boosting",
            "{ n_estimators: 30 }",
        ),
        (
            "classification",
            "band",
            "gradient_boosting",
            "{ n_estimators: 20 }",
        ),
        (
            "regression",
            "y",
            "gradient_boosting",
            "{ n_estimators: 30 }",
        ),
        (
            "classification",
            "label",
            "random_forest",
            "{ n_estimators: 10 }",
        ),
        (
            "classification",
            "band",
            "random_forest",
            "{ n_estimators: 5 }",
        ),
        ("regression", "y", "random_forest", "{ n_estimators: 5 }"),
        ("classification", "label", "logistic_regression", "{}"),
        ("classification", "band", "logistic_regression", "{}"),
        ("regression", "y", "linear_regression", "{}"),
        ("regression", "y", "elastic_net", "{ penalty: 0.01 }"),
    ] {
        let what = format!("{algorithm} on {target}");
        let repo = Repo::new();
        repo.write("data/rows.csv", data(3000, 1, false));
        repo.config(&config(task, target, algorithm, params));
        let run = dry_run(repo.path(), true);
        let proposal = run
            .proposal()
            .unwrap_or_else(|| panic!("{what}: no proposal"));
        for (path, bytes) in &proposal.files {
            repo.write(path, bytes);
        }
        let pointer = std::fs::read_to_string(repo.path().join("models/m/registry.yaml")).unwrap();
        assert!(
            pointer.contains("uri: versions/1/model.onnx"),
            "{what}: {pointer}"
        );
        let onnx = repo.path().join("models/m/versions/1/model.onnx");
        assert!(onnx.is_file(), "{what}");
        // new rows, with a city never seen in training
        repo.write("new.csv", data(400, 2, true));
        let scored = repo.path().join("scored.csv");
        let out = repo.run(&[
            "predict",
            "--model",
            repo.path().join("models/m/registry.yaml").to_str().unwrap(),
            "--input",
            repo.path().join("new.csv").to_str().unwrap(),
            "--output",
            scored.to_str().unwrap(),
        ]);
        assert_eq!(out.code, 0, "{what}: {}", out.stderr);
        let ort = Command::new(&py)
            .args([
                script,
                onnx.to_str().unwrap(),
                repo.path().join("new.csv").to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(
            ort.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&ort.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&ort.stdout).unwrap();
        let inputs: Vec<&str> = v["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i[0].as_str().unwrap())
            .collect();
        assert_eq!(
            inputs,
            ["x", "city", "noise"],
            "{what}: inputs named after the columns"
        );
        let text = std::fs::read_to_string(&scored).unwrap();
        let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
        let rows: Vec<Vec<&str>> = text
            .lines()
            .skip(1)
            .map(|l| l.split(',').collect())
            .collect();
        let col = |name: &str| header.iter().position(|c| *c == name).unwrap();
        if task == "regression" {
            let onnx_pred = v["outputs"]["prediction"].as_array().unwrap();
            for (r, o) in rows.iter().zip(onnx_pred) {
                let ours: f64 = r[col("prediction")].parse().unwrap();
                let theirs = o[0].as_f64().unwrap();
                assert!(
                    (ours - theirs).abs() <= 1e-4 * (1.0 + ours.abs()),
                    "{what}: {ours} vs {theirs}"
                );
            }
            continue;
        }
        let classes: Vec<String> = header
            .iter()
            .filter_map(|c| c.strip_prefix("proba_").map(str::to_string))
            .collect();
        let probs = v["outputs"]["probabilities"].as_array().unwrap();
        let labels = v["outputs"]["label"].as_array().unwrap();
        assert_eq!(probs.len(), 400);
        let mut same_label = 0;
        for ((r, p), l) in rows.iter().zip(probs).zip(labels) {
            for (k, c) in classes.iter().enumerate() {
                let ours: f64 = r[col(&format!("proba_{c}"))].parse().unwrap();
                let theirs = p[k].as_f64().unwrap();
                assert!(
                    (ours - theirs).abs() < 1e-5,
                    "{what}: P({c}) {ours} vs {theirs}"
                );
            }
            same_label += usize::from(r[col("prediction")] == l.as_str().unwrap());
        }
        // equal up to a tie within float rounding
        assert!(same_label >= 399, "{what}: {same_label}/400 labels agree");
    }
}

#[test]
fn trainers_that_cannot_be_exported_say_why_and_write_no_onnx() {
    let repo = Repo::new();
    repo.write("data/rows.csv", data(1000, 3, false));
    for (algorithm, why) in [
        (
            "decision_tree",
            "decision_tree models are not exported to ONNX: the tree's thresholds are f64",
        ),
        (
            "gaussian_nb",
            "gaussian_nb models are not exported to ONNX: linfa's Gaussian naive Bayes",
        ),
    ] {
        repo.config(&config("classification", "label", algorithm, "{}"));
        let dir = tempfile::tempdir().unwrap();
        let run = repo.run(&[
            "run",
            "--dry-run",
            "--force",
            "--output",
            "json",
            "--artifact-dir",
            dir.path().to_str().unwrap(),
        ]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let v = run.json();
        assert_eq!(v["training"]["onnx"]["exported"], false);
        assert!(
            v["training"]["onnx"]["why_not"]
                .as_str()
                .unwrap()
                .starts_with(why),
            "{}",
            v["training"]["onnx"]
        );
        assert!(dir.path().join("m/model.json").is_file());
        assert!(!dir.path().join("m/model.onnx").exists());
    }
}
