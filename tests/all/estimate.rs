//! Estimated performance without labels (`triggers.performance.estimate: cbpe`): the
//! champion's calibration, fitted on its holdout when it was trained, turns its scores
//! on new unlabelled rows into expected confusion counts.

use retrain::data::synth::Spec;

use crate::support::*;

fn spec(seed: u64, rows: usize, drifts: &str, start_hours: i64) -> Spec {
    let mut s = Spec {
        rows,
        seed,
        // uncertain near the boundary: a shift towards it lowers the accuracy
        label_temperature: 0.3,
        label_noise: 0.0,
        drifts: drifts
            .split_whitespace()
            .map(|d| d.parse().unwrap())
            .collect(),
        ..Spec::default()
    };
    s.start += start_hours * 3600;
    s
}

const CONFIG: &str = "version: 1\nmodels:\n  - name: m\n    task: classification\n    target: label\n    time_column: ts\n    column_types: { label: categorical }\n    data: { path: data/*.csv }\n    triggers:\n      performance: { metric: accuracy, max_drop: 0.03, estimate: cbpe }\n";

/// A repository whose champion retrain trained (and calibrated) on 4000 rows.
fn with_champion() -> Repo {
    let repo = Repo::new();
    synth_csv(&repo, &spec(1, 4000, "", 0), "a", |_| false);
    repo.config(CONFIG);
    let first = dry_run(repo.path(), true);
    for (path, bytes) in &first.proposal().expect("a proposal").files {
        repo.write(path, bytes);
    }
    repo
}

fn performance(repo: &Repo) -> serde_json::Value {
    let out = repo.run(&["check", "--output", "json", "--now", NOW]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let reasons = out.json()["decision"]["reasons"].clone();
    reasons
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "performance")
        .unwrap_or_else(|| panic!("no performance reason in {reasons}"))
        .clone()
}

/// Rows far from the boundary shrunk towards it: the champion is less sure and less
/// right, with the same concept.
const SHRUNK: &str = "num_00:scale:0.2@0 num_01:scale:0.2@0 num_02:scale:0.2@0 num_03:scale:0.2@0";

#[test]
fn the_estimate_follows_the_realized_accuracy_under_covariate_shift_and_fires() {
    let repo = with_champion();
    let artifact: serde_json::Value = serde_json::from_str(&read(&repo, ARTIFACT)).unwrap();
    let cal = &artifact["calibration"];
    assert_eq!(cal["status"], "fitted", "{cal}");
    assert_eq!(cal["rows"], 800, "fitted on the evaluation holdout: {cal}");
    let card = read(&repo, "models/m/versions/1/MODEL_CARD.md");
    assert!(card.contains("**Calibration**"), "{card}");

    // New rows without labels, like the old ones: the estimate is near the baseline.
    synth_csv(&repo, &spec(2, 6000, "", 4000), "b", |_| true);
    let r = performance(&repo);
    let e = &r["evidence"]["estimated"];
    assert_eq!(e["rows"], 6000, "{r}");
    assert_eq!(e["method"], "cbpe");
    let baseline = e["baseline"].as_f64().unwrap();
    let same = e["value"].as_f64().unwrap();
    assert!((same - baseline).abs() < 0.03, "{r}");
    assert_eq!(r["fired"], false, "{r}");
    let detail = r["detail"].as_str().unwrap();
    assert!(
        detail.starts_with(
            "no newly labelled rows to score the champion on; estimated (cbpe) accuracy"
        ),
        "{detail}"
    );

    // The same rows' labels arrive: the realized accuracy is what was estimated.
    synth_csv(&repo, &spec(2, 6000, "", 4000), "b", |_| false);
    let r = performance(&repo);
    let realized = r["evidence"]["value"].as_f64().unwrap();
    assert_eq!(r["evidence"]["rows"], 6000);
    assert!(
        (same - realized).abs() < 0.02,
        "estimate {same}, realized {realized}"
    );
    assert!(r["detail"]
        .as_str()
        .unwrap()
        .ends_with("; no new rows without labels to estimate on"));

    // Shifted rows without labels: the estimate drops and fires the trigger.
    synth_csv(&repo, &spec(3, 6000, SHRUNK, 4000), "b", |_| true);
    let r = performance(&repo);
    let shifted = r["evidence"]["estimated"]["value"].as_f64().unwrap();
    let fired = r["fired"].clone();
    // ... and it is what their labels then say
    synth_csv(&repo, &spec(3, 6000, SHRUNK, 4000), "b", |_| false);
    let realized = performance(&repo)["evidence"]["value"].as_f64().unwrap();
    assert!(
        (shifted - realized).abs() < 0.025,
        "estimate {shifted}, realized {realized}"
    );
    assert!(baseline - shifted > 0.03, "{r}");
    assert_eq!(fired, true, "{r}");
}

#[test]
fn partly_labelled_rows_are_scored_and_estimated_each_with_its_count() {
    let repo = with_champion();
    synth_csv(&repo, &spec(2, 3000, "", 4000), "b", |i| i % 3 == 0);
    let r = performance(&repo);
    let detail = r["detail"].as_str().unwrap();
    assert!(detail.contains("on 2000 new labelled rows"), "{detail}");
    assert!(
        detail.contains("on 1000 new rows without labels"),
        "{detail}"
    );
    assert_eq!(r["evidence"]["rows"], 2000);
    assert_eq!(r["evidence"]["estimated"]["rows"], 1000);
}

#[test]
fn a_champion_from_before_calibration_has_no_estimate_and_says_why() {
    let repo = with_champion();
    // the artifact as an earlier retrain wrote it: no calibration, digests to match
    let old = read(&repo, ARTIFACT);
    let mut artifact: serde_json::Value = serde_json::from_str(&old).unwrap();
    artifact.as_object_mut().unwrap().remove("calibration");
    let mut bytes = serde_json::to_vec_pretty(&artifact).unwrap();
    bytes.push(b'\n');
    let digest = |b: &[u8]| format!("blake3:{}", blake3::hash(b).to_hex());
    let (was, now) = (digest(old.as_bytes()), digest(&bytes));
    repo.write(ARTIFACT, &bytes);
    let mut replaced = 0;
    for entry in walk(repo.path()) {
        let Ok(text) = std::fs::read_to_string(&entry) else {
            continue;
        };
        if text.contains(&was) {
            std::fs::write(&entry, text.replace(&was, &now)).unwrap();
            replaced += 1;
        }
    }
    assert!(replaced > 0, "the registry records the artifact's digest");

    synth_csv(&repo, &spec(2, 1000, "", 4000), "b", |_| true);
    let r = performance(&repo);
    assert_eq!(r["fired"], false);
    let detail = r["detail"].as_str().unwrap();
    assert!(
        detail.ends_with("; estimate not available: the champion's artifact has no calibration (it was trained before retrain calibrated models); the next model trained will have one"),
        "{detail}"
    );
}

#[test]
fn an_estimate_of_a_metric_cbpe_cannot_estimate_is_a_config_error() {
    let repo = Repo::new();
    synth_csv(&repo, &spec(1, 500, "", 0), "a", |_| false);
    repo.config(&CONFIG.replace("metric: accuracy", "metric: log_loss"));
    let out = repo.run(&["check", "--now", NOW]);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("retrain.yaml:10:")
            && out
                .stderr
                .contains("CBPE estimates accuracy, precision, recall, f1 and roc_auc"),
        "{}",
        out.stderr
    );
}

const ARTIFACT: &str = "models/m/versions/1/model.json";

fn read(repo: &Repo, rel: &str) -> String {
    std::fs::read_to_string(repo.path().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Every file under `dir`, outside `.git`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.file_name().is_some_and(|n| n == ".git") {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}
