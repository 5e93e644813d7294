//! Prediction drift (`triggers.prediction_drift`): the champion's scores on new rows
//! that have no labels yet, against its scores on the reference rows.

use retrain::data::synth::{OutputFormat, Spec};

use crate::support::*;

fn spec(seed: u64, drifts: &str, start_hours: i64) -> Spec {
    let mut s = Spec {
        rows: 4000,
        seed,
        drifts: drifts
            .split_whitespace()
            .map(|d| d.parse().unwrap())
            .collect(),
        ..Spec::default()
    };
    s.start += start_hours * 3600;
    s
}

#[test]
fn shifted_unlabelled_rows_move_the_scores_and_fire_the_trigger() {
    let repo = Repo::new();
    retrain::data::synth::write(
        &spec(1, "", 0),
        &repo.path().join("data"),
        "a",
        1,
        OutputFormat::Csv,
    )
    .unwrap();
    repo.config("version: 1\nmodels:\n  - name: m\n    task: classification\n    target: label\n    time_column: ts\n    column_types: { label: categorical }\n    data: { path: data/*.csv }\n    triggers:\n      prediction_drift: {}\n");
    let first = dry_run(repo.path(), true);
    for (path, bytes) in &first.proposal().expect("a proposal").files {
        repo.write(path, bytes);
    }

    // New rows like the old ones, no labels yet: the scores did not move.
    synth_csv(&repo, &spec(2, "", 4000), "b", |_| true);
    let check = dry_run(repo.path(), false).check;
    let reason = check
        .decision
        .reasons
        .iter()
        .find(|r| r.detail.contains("score of"))
        .unwrap_or_else(|| panic!("no prediction drift in {:?}", check.decision.reasons));
    assert!(!reason.fired, "{}", reason.detail);
    let d = check.drift.prediction.as_ref().expect("the prediction row");
    assert_eq!(d.column, "score of 1");
    assert!(d.not_testable.is_none() && !d.drifted, "{d:?}");

    // More rows, their features shifted: the champion's scores shift with them.
    synth_csv(
        &repo,
        &spec(
            3,
            "num_00:mean:2@0 num_01:mean:2@0 num_02:mean:2@0 num_03:mean:2@0",
            8000,
        ),
        "c",
        |_| true,
    );
    let run = dry_run(repo.path(), false);
    let reason = run
        .check
        .decision
        .reasons
        .iter()
        .find(|r| r.detail.contains("score of"))
        .unwrap();
    assert!(
        reason.fired && run.check.decision.retrain,
        "{}",
        reason.detail
    );
    assert!(reason.detail.contains("drifted"), "{}", reason.detail);
    // the text report shows it above the feature rows
    let text = repo.run(&["check", "--now", NOW]).stdout;
    let at = text
        .find("score of 1 (prediction)")
        .unwrap_or_else(|| panic!("{text}"));
    assert!(at < text.find("num_00").unwrap(), "{text}");
}

#[test]
fn prediction_drift_without_a_champion_says_so() {
    let repo = Repo::new();
    retrain::data::synth::write(
        &spec(1, "", 0),
        &repo.path().join("data"),
        "a",
        1,
        OutputFormat::Csv,
    )
    .unwrap();
    repo.config("version: 1\nmodels:\n  - name: m\n    task: classification\n    target: label\n    time_column: ts\n    data: { path: data/*.csv }\n    triggers:\n      prediction_drift: { method: psi, threshold: 0.2 }\n");
    let out = repo.run(&["check", "--output", "json", "--now", NOW]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let reasons = &out.json()["decision"]["reasons"];
    let r = reasons
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "prediction_drift")
        .unwrap_or_else(|| panic!("{reasons}"));
    assert_eq!(r["fired"], false);
    assert_eq!(r["detail"], "not evaluated: no champion");
}
