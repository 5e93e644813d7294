//! What reviewers read: model card and PR body (insta snapshots), escaping of values
//! from data, the size limit, the marker.

use retrain::data::synth::{OutputFormat, Spec};
use retrain::pipeline;
use retrain::report::documents::{Marker, BODY_LIMIT};

use crate::support::*;

fn documents(repo: &Repo, r: &pipeline::ModelRun) -> (String, String, Vec<String>) {
    let proposal = r.proposal().expect("the run trained a candidate");
    let card = proposal.model_card().expect("a model card");
    let paths = proposal.files.iter().map(|(p, _)| p.clone()).collect();
    for (path, bytes) in &proposal.files {
        repo.write(path, bytes);
    }
    (
        String::from_utf8(card.to_vec()).unwrap(),
        proposal.body.clone(),
        paths,
    )
}

/// Replaces what varies between runs (digests, durations, speeds).
fn stable(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut l = line.to_string();
        while let Some(i) = l.find("blake3:") {
            let end = l[i + 7..]
                .find(|c: char| !c.is_ascii_hexdigit())
                .map(|e| i + 7 + e)
                .unwrap_or(l.len());
            l.replace_range(i..end, "[DIGEST]");
        }
        // Durations vary, and so does the artifact's size (it records the fit time).
        for unit in [" ms", " bytes"] {
            let mut from = 0;
            while let Some(i) = l[from..].find(unit).map(|i| i + from) {
                let start = l[..i]
                    .rfind(|c: char| !c.is_ascii_digit())
                    .map(|s| s + 1)
                    .unwrap_or(0);
                if start < i {
                    l.replace_range(start..i, "[N]");
                    from = start + 3 + unit.len();
                } else {
                    from = i + unit.len();
                }
            }
        }
        out.push_str(&l);
        out.push('\n');
    }
    out
}

#[test]
fn model_card_and_pr_body() {
    let repo = Repo::new();
    let spec = Spec {
        rows: 3000,
        label_noise: 0.05,
        ..Spec::default()
    };
    retrain::data::synth::write(
        &spec,
        &repo.path().join("data"),
        "a",
        1,
        OutputFormat::Parquet,
    )
    .unwrap();
    repo.config(
        "version: 1\nmodels:\n  - name: churn\n    task: classification\n    target: label\n    time_column: ts\n    data: { path: data/*.parquet }\n    triggers: { new_data: { min_rows: 500 } }\n    evaluation:\n      metrics: [accuracy, roc_auc]\n      intervals: { resamples: 100 }\n      slices: [cat_00]\n      gates:\n        - { metric: accuracy, min: 0.7 }\n        - { metric: accuracy, min_change: -0.01 }\n",
    );
    let first = dry_run(repo.path(), false);
    let (card, body, paths) = documents(&repo, &first);
    assert_eq!(
        paths,
        [
            "models/churn/registry.yaml",
            "models/churn/versions/1/model.json",
            "models/churn/versions/1/model.onnx",
            "models/churn/versions/1/metrics.json",
            "models/churn/versions/1/MODEL_CARD.md",
            // the snapshot it was trained on: after the merge, the champion's reference
            format!(".retrain/snapshots/{}.yaml", first.check.snapshot).as_str(),
        ]
    );
    let marker = Marker::parse(&body).expect("marker");
    assert_eq!((marker.model.as_str(), marker.version), ("churn", 1));
    assert!(
        body.starts_with("<!-- retrain:"),
        "the marker is the first line"
    );
    insta::assert_snapshot!("model_card_v1", stable(&card));

    // v2 after new data with concept drift: a diff against the champion.
    let mut late = Spec {
        rows: 2000,
        seed: 7,
        label_noise: 0.05,
        drifts: vec![
            "concept@0".parse().unwrap(),
            "num_02:mean:1@0".parse().unwrap(),
        ],
        ..Spec::default()
    };
    late.start += 3000 * 3600;
    retrain::data::synth::write(
        &late,
        &repo.path().join("data"),
        "b",
        1,
        OutputFormat::Parquet,
    )
    .unwrap();
    let second = dry_run(repo.path(), false);
    let (_, body, _) = documents(&repo, &second);
    assert!(body.contains("champion v1 → **v2**"), "{body}");
    assert!(
        body.contains("xychart-beta") && body.contains("\"v1\", \"v2 (candidate)\""),
        "{body}"
    );
    insta::assert_snapshot!("pr_body_v2", stable(&body));
}

#[test]
fn values_from_data_cannot_inject_markdown_or_mentions() {
    let repo = Repo::new();
    let mut rows = String::from("<img src=x onerror=alert(1)>,label\n");
    for i in 0..400 {
        let v = if i % 3 == 0 {
            "@octocat".to_string()
        } else {
            format!("**b{i}** [x](http://e.vil)")
        };
        rows.push_str(&format!("{v},{}\n", i % 2));
    }
    repo.write("data/a.csv", rows);
    repo.config("version: 1\nmodels:\n  - name: m\n    task: classification\n    target: label\n    data: { path: data/a.csv }\n    evaluation: { intervals: { resamples: 20 }, gates: [ { metric: accuracy, min: 0.0 } ] }\n");
    let r = dry_run(repo.path(), false);
    let (card, body, _) = documents(&repo, &r);
    for doc in [&card, &body] {
        assert!(!doc.contains("<img"), "HTML passed through");
        assert!(!doc.contains("@octocat"), "a mention passed through");
        assert!(!doc.contains("[x](http"), "a link passed through");
    }
}

#[test]
fn huge_tables_are_cut_to_fit_and_the_marker_survives() {
    let repo = Repo::new();
    // 1500 feature columns with long names -> a drift table far over 65,536 characters.
    let names: Vec<String> = (0..1500)
        .map(|i| format!("a_rather_long_feature_column_name_number_{i:04}"))
        .collect();
    let mut csv = names.join(",") + ",label\n";
    for r in 0..60 {
        let row: Vec<String> = (0..1500).map(|c| format!("{}", (r * 7 + c) % 13)).collect();
        csv.push_str(&format!("{},{}\n", row.join(","), r % 2));
    }
    repo.write("data/a.csv", &csv);
    repo.config("version: 1\nmodels:\n  - name: wide\n    task: classification\n    target: label\n    data: { path: data/*.csv }\n    training: { algorithm: gaussian_nb }\n    evaluation: { intervals: { resamples: 10 }, gates: [ { metric: accuracy, min: 0.0 } ] }\n");
    let first = dry_run(repo.path(), false);
    documents(&repo, &first);
    // new rows with every column drifted
    let mut more = names.join(",") + ",label\n";
    for r in 0..60 {
        let row: Vec<String> = (0..1500)
            .map(|c| format!("{}", 100 + (r * 5 + c) % 17))
            .collect();
        more.push_str(&format!("{},{}\n", row.join(","), r % 2));
    }
    repo.write("data/b.csv", &more);
    let second = dry_run(repo.path(), true);
    assert!(second.check.drift.columns.len() >= 1500);
    let (_, body, _) = documents(&repo, &second);
    assert!(body.len() < BODY_LIMIT, "{} characters", body.len());
    assert!(body.contains("more columns not shown"));
    assert_eq!(Marker::parse(&body).unwrap().model, "wide");
}
