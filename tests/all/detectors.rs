//! Change detectors against River 0.26.1: the same streams give the same change rows
//! (and DDM's warning zones). River's answers are in `fixtures/detectors/`, made by
//! `bench/detectors/river_answers.py`; `bench/detectors/` also runs both side by side.

use retrain::checks::detect::detect;
use retrain::config::DetectorSpec;
use serde_json::Value;

use crate::support::*;

#[test]
fn adwin_ddm_and_page_hinkley_signal_where_river_does() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/detectors/river-0.26.1.json"
    );
    let answers: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(answers["river"], "0.26.1");
    let cases = answers["cases"].as_array().unwrap();
    assert!(cases.len() >= 30, "{} cases", cases.len());
    let mut changes = 0;
    for case in cases {
        let name = case["stream"].as_str().unwrap();
        let stream: Vec<f64> = answers["streams"][name]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let spec: DetectorSpec = serde_json::from_value(case["detector"].clone()).unwrap();
        let ours: Vec<Value> = detect(&spec, &stream)
            .into_iter()
            .map(|d| serde_json::to_value(d).unwrap())
            .collect();
        let river = case["changes"].as_array().unwrap();
        assert_eq!(&ours, river, "{name}, {}", case["detector"]);
        changes += river.len();
    }
    // the answers are not all "no change"
    assert!(changes > 100, "{changes} changes in all");
}

/// The path a user takes: a champion in the registry, new labelled rows whose concept
/// changes halfway; ADWIN over the champion's errors signals the change, the performance
/// trigger fires on it alone, and `window: since_change` trains on the rows since.
#[test]
fn a_detected_change_fires_the_trigger_and_starts_the_window() {
    use retrain::data::synth::{OutputFormat, Spec};
    let repo = Repo::new();
    let spec = |seed: u64, drifts: &str| Spec {
        rows: 6000,
        seed,
        label_noise: 0.05,
        drifts: drifts
            .split_whitespace()
            .map(|d| d.parse().unwrap())
            .collect(),
        ..Spec::default()
    };
    let write = |s: &Spec, prefix: &str| {
        retrain::data::synth::write(
            s,
            &repo.path().join("data"),
            prefix,
            1,
            OutputFormat::Parquet,
        )
        .unwrap()
    };
    write(&spec(1, ""), "a");
    repo.config("version: 1\nmodels:\n  - name: m\n    task: classification\n    target: label\n    time_column: ts\n    data: { path: data/*.parquet }\n    training: { window: { kind: since_change, last: 4000 } }\n    triggers:\n      performance: { metric: accuracy, detector: adwin }\n");
    let first = dry_run(repo.path(), true);
    let proposal = first.proposal().expect("a proposal");
    for (path, bytes) in &proposal.files {
        repo.write(path, bytes);
    }
    assert_eq!(
        first.trained().unwrap().artifact.report.window,
        "last 4000 rows",
        "without a change, the window is `last`"
    );

    // New rows: the old concept for 3000 rows, then a new one.
    let mut late = spec(2, "concept@3000");
    late.start += 6000 * 3600;
    write(&late, "b");
    let run = dry_run(repo.path(), false);
    let d = &run.check.decision;
    let perf = d
        .reasons
        .iter()
        .find(|r| r.detail.contains("ADWIN"))
        .unwrap_or_else(|| panic!("no detector in {:?}", d.reasons));
    assert!(perf.fired && d.retrain, "{}", perf.detail);
    let detector = &perf.evidence["detector"];
    assert_eq!(detector["rows"], 6000);
    assert_eq!(detector["error"], "misclassified");
    let change = detector["changes"].as_array().unwrap().last().unwrap();
    let row = change["row"].as_u64().unwrap();
    assert!(
        (3000..3600).contains(&row),
        "the change at new row 3000 signalled at {row}: {}",
        perf.detail
    );
    assert!(
        change["at"].as_str().unwrap().starts_with("20"),
        "the change's time: {change}"
    );
    assert!(
        perf.detail.contains(&format!(
            "ADWIN signalled a change at new row {} of 6000",
            row + 1
        )),
        "{}",
        perf.detail
    );
    let trained = run.trained().expect("retrained");
    assert_eq!(
        trained.artifact.report.window,
        format!("last {} rows", 6000 - row)
    );
}

#[test]
fn detector_settings_are_checked_against_the_kind_and_task() {
    let cases = [
        (
            "classification",
            "{ kind: adwin, threshold: 3 }",
            "ADWIN has no `threshold`",
        ),
        ("regression", "ddm", "DDM watches a 0/1 error stream"),
        (
            "classification",
            "{ kind: adwin, delta: 2 }",
            "must be in (0, 1)",
        ),
        (
            "classification",
            "{ kind: ddm, warning: 3, drift: 2 }",
            "must be above `warning` (3)",
        ),
        ("classification", "adwn", "adwn"),
    ];
    for (task, detector, message) in cases {
        let repo = Repo::new();
        let metric = if task == "regression" {
            "rmse"
        } else {
            "accuracy"
        };
        repo.write("d.csv", "x,y\n1,0\n2,1\n");
        repo.config(&format!("version: 1\nmodels:\n  - name: m\n    task: {task}\n    target: y\n    data: {{ path: d.csv }}\n    training: {{ algorithm: {} }}\n    triggers:\n      performance: {{ metric: {metric}, detector: {detector} }}\n", if task == "regression" { "linear_regression" } else { "logistic_regression" }));
        let run = repo.run(&["check"]);
        assert_ne!(run.code, 0, "{detector}");
        assert!(
            run.stderr.contains(message) && run.stderr.contains("retrain.yaml:"),
            "{detector}: {}",
            run.stderr
        );
    }
    let repo = Repo::new();
    repo.write("d.csv", "x,y\n1,0\n2,1\n");
    repo.config("version: 1\nmodels:\n  - name: m\n    task: classification\n    target: y\n    data: { path: d.csv }\n    training: { window: { kind: since_change } }\n");
    let run = repo.run(&["check"]);
    assert!(
        run.code != 0 && run.stderr.contains("set `triggers.performance.detector`"),
        "{}",
        run.stderr
    );
}
