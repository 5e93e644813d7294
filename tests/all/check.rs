//! `retrain check`: drift found where it was injected, triggers, guards, bad input.

use std::collections::BTreeMap;
use std::path::Path;

use retrain::data::synth::{Drift, OutputFormat, Spec};
use retrain::pipeline::{self, CheckRequest, Workspace};

use crate::support::*;

const NOW: &str = "2025-06-01T00:00:00Z";

fn spec(rows: usize, seed: u64, drifts: Vec<Drift>) -> Spec {
    Spec {
        rows,
        seed,
        numeric: 5,
        categorical: 2,
        categories: 6,
        drifts,
        ..Spec::default()
    }
}

/// Drift injected in num_01 (mean +1 sd), num_03 (spread x2) and cat_00 (frequencies).
fn drifted(_rows: usize) -> Vec<Drift> {
    ["num_01:mean:1@0", "num_03:scale:2@0", "cat_00:freq:0.5@0"]
        .iter()
        .map(|d| d.parse().unwrap())
        .collect()
}

fn config(method: &str, extra: &str) -> String {
    format!(
        "version: 1\nmodels:\n  - name: m\n    task: classification\n    target: label\n    data:\n      path: data/*.parquet\n    triggers:\n      drift: {{ method: {method}, share: 0.5 }}\n{extra}"
    )
}

/// Reference = `ref.parquet`; then `cur.parquet` is added and checked against it.
fn setup(rows: usize, cur_drifts: Vec<Drift>) -> (Repo, String) {
    let repo = Repo::new();
    retrain::data::synth::write(
        &spec(rows, 1, vec![]),
        &repo.path().join("data"),
        "ref",
        1,
        OutputFormat::Parquet,
    )
    .unwrap();
    repo.config(&config("auto", ""));
    let run = repo.run(&["snapshot", "--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let reference = run.json()["id"].as_str().unwrap().to_string();
    retrain::data::synth::write(
        &spec(rows, 2, cur_drifts),
        &repo.path().join("data"),
        "cur",
        1,
        OutputFormat::Parquet,
    )
    .unwrap();
    (repo, reference)
}

fn check_lib(repo: &Path, reference: &str) -> pipeline::ModelCheck {
    let report = pipeline::check(&CheckRequest {
        workspace: Workspace {
            repo: repo.to_path_buf(),
            config: None,
        },
        model: None,
        reference: Some(reference.to_string()),
        force: false,
        now: NOW.parse().unwrap(),
        github: None,
    })
    .unwrap();
    report.checks.into_iter().next().unwrap()
}

fn assert_found_exactly(rows: usize, numeric: &[&str], categorical: &[&str]) {
    let (repo, reference) = setup(rows, drifted(rows));
    // Read the current rows once; test every method on them.
    let store = retrain::snapshot::Store::new(repo.path());
    let reference = store.read(&reference).unwrap();
    let parse = |method: &str| {
        let text = config(method, "");
        retrain::config::parse(Path::new("retrain.yaml"), &text)
            .unwrap()
            .models
            .remove(0)
    };
    let model = parse("auto");
    let snap = retrain::snapshot::create(repo.path(), &model).unwrap();
    let current =
        retrain::checks::current::load(repo.path(), &model, &reference, &snap.manifest).unwrap();
    assert_eq!(current.rows, rows as u64);
    let truth = ["num_01", "num_03", "cat_00"];
    for method in numeric.iter().chain(categorical) {
        let report = retrain::checks::drift_report(&parse(method), &reference, &current);
        assert_eq!(report.tested, 7, "{method}: {:?}", report.columns);
        let v: BTreeMap<String, bool> = report
            .columns
            .iter()
            .map(|d| (d.column.clone(), d.drifted))
            .collect();
        for (col, drifted) in &v {
            let applies = if col.starts_with("num") {
                numeric.contains(method)
            } else {
                categorical.contains(method)
            };
            if !applies {
                continue;
            }
            assert_eq!(
                *drifted,
                truth.contains(&col.as_str()),
                "{rows} rows, {method}: column {col} ({v:?})"
            );
        }
    }
}

#[test]
fn injected_drift_is_found_in_exactly_its_columns_10k() {
    assert_found_exactly(
        10_000,
        &[
            "auto",
            "ks",
            "wasserstein",
            "psi",
            "jensen_shannon",
            "hellinger",
            "kl",
        ],
        &["auto", "chi2", "psi", "jensen_shannon", "hellinger", "kl"],
    );
}

#[test]
fn injected_drift_is_found_in_exactly_its_columns_1m() {
    assert_found_exactly(
        1_000_000,
        &[
            "auto",
            "ks",
            "wasserstein",
            "psi",
            "jensen_shannon",
            "hellinger",
            "kl",
        ],
        &["auto", "chi2", "psi", "jensen_shannon", "hellinger", "kl"],
    );
}

#[test]
fn small_reference_uses_p_value_tests() {
    let (repo, reference) = setup(800, drifted(800));
    let c = check_lib(repo.path(), &reference);
    let method = |col: &str| {
        c.drift
            .columns
            .iter()
            .find(|d| d.column == col)
            .unwrap()
            .method
            .name()
    };
    assert_eq!(method("num_00"), "ks");
    assert_eq!(method("cat_01"), "chi2");
    assert!(
        !c.drift.columns.iter().any(|d| d.approximate),
        "≤ 1000 rows: exact tests"
    );
    let label = c.drift.label.as_ref().unwrap();
    assert_eq!(label.method.name(), "z", "a binary label gets the Z-test");
}

#[test]
fn unchanged_data_has_no_drift_and_no_retrain() {
    let repo = Repo::new();
    repo.generate(&spec(2000, 1, vec![]), "data", 2, OutputFormat::Parquet);
    repo.config(&config("auto", "      new_data: { min_rows: 1 }\n"));
    let id = repo.run(&["snapshot", "--output", "json"]).json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    champion(&repo, &id, "2025-05-31T00:00:00Z");
    let run = repo.run(&["check", "--output", "json", "--now", NOW, "--exit-code"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = run.json();
    assert_eq!(v["reference"], id.as_str());
    assert_eq!(v["reference_source"], "champion");
    assert_eq!(v["new_rows"], 0);
    assert_eq!(v["drift"]["dataset_drift"], false);
    assert_eq!(v["drift"]["share"], 0.0);
    assert_eq!(v["decision"]["retrain"], false);
    assert_eq!(v["anomalies"].as_array().unwrap().len(), 0);
    // every configured trigger is explained, fired or not
    let kinds: Vec<&str> = v["decision"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["new_data", "drift"]);
}

/// Writes a registry pointer whose champion was trained on snapshot `id` at `at`.
fn champion(repo: &Repo, id: &str, at: &str) {
    repo.write(
        "models/m/registry.yaml",
        format!(
            "format: 1\nmodel: m\nchampion:\n  version: 1\n  snapshot: {id}\n  trained_at: {at}\n  algorithm: logistic_regression\n  artifact: {{ uri: versions/1/model.json, digest: 'blake3:00', size: 1 }}\n  metrics: {{ accuracy: 0.9 }}\n  retrain_version: 0.1.0\n"
        ),
    );
}

#[test]
fn check_json_contract_and_exit_code() {
    let (repo, reference) = setup(3000, drifted(3000));
    repo.config(&config("auto", "      new_data: { min_rows: 100 }\n"));
    champion(&repo, &reference, "2025-05-01T00:00:00Z");
    let run = repo.run(&["check", "--output", "json", "--now", NOW, "--exit-code"]);
    assert_eq!(run.code, 10, "a retrain is due: exit 10\n{}", run.stderr);
    let v = run.json();
    for key in [
        "model",
        "snapshot",
        "reference",
        "anomalies",
        "drift",
        "decision",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    let col = &v["drift"]["columns"][0];
    for key in ["column", "method", "statistic", "threshold", "drifted"] {
        assert!(col.get(key).is_some(), "drift column lacks {key}");
    }
    assert!(v["drift"]["share"].as_f64().unwrap() > 0.4);
    assert_eq!(v["drift"]["dataset_drift"], false, "3 of 7 < 0.5");
    assert_eq!(v["decision"]["blocked"], false);
    for r in v["decision"]["reasons"].as_array().unwrap() {
        for key in ["kind", "fired", "detail"] {
            assert!(r.get(key).is_some());
        }
    }
    // without --exit-code the same check exits 0
    assert_eq!(repo.run(&["check", "--now", NOW]).code, 0);
    // the text report explains the decision
    let text = repo.run(&["check", "--now", NOW]).stdout;
    assert!(
        text.contains("drift: 3 of 7 tested columns drifted"),
        "{text}"
    );
    assert!(text.contains("decision:"), "{text}");
}

#[test]
fn changed_schema_blocks_the_retrain() {
    let repo = Repo::new();
    repo.write("data/a.csv", "x,y,label\n1,a,0\n2,b,1\n3,a,0\n");
    repo.config("version: 1\nmodels:\n  - name: m\n    task: classification\n    target: label\n    data:\n      path: data/*.csv\n    triggers:\n      new_data: { min_rows: 1 }\n");
    let id = repo.run(&["snapshot", "--output", "json"]).json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    champion(&repo, &id, "2025-05-01T00:00:00Z");
    // y disappears, x becomes text
    repo.write("data/a.csv", "x,label\nlow,0\nhigh,1\nlow,0\n");
    let run = repo.run(&["check", "--output", "json", "--now", NOW, "--exit-code"]);
    assert_eq!(run.code, 0, "blocked: no retrain\n{}", run.stderr);
    let v = run.json();
    let kinds: Vec<(&str, &str)> = v["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["kind"].as_str().unwrap(), a["severity"].as_str().unwrap()))
        .collect();
    assert!(kinds.contains(&("missing_column", "blocking")), "{kinds:?}");
    assert!(kinds.contains(&("type_change", "blocking")), "{kinds:?}");
    assert_eq!(v["decision"]["blocked"], true);
    assert_eq!(v["decision"]["retrain"], false);
    let forced = repo
        .run(&["check", "--output", "json", "--now", NOW, "--force"])
        .json();
    assert_eq!(
        forced["decision"]["retrain"], false,
        "--force does not override bad data"
    );
}

#[test]
fn value_anomalies_are_reported() {
    let repo = Repo::new();
    let rows: String = (0..100)
        .map(|i| format!("{},{},{}\n", i, ["a", "b"][i % 2], i % 2))
        .collect();
    repo.write("data/a.csv", format!("x,c,label\n{rows}"));
    repo.config("version: 1\nmodels:\n  - name: m\n    task: classification\n    target: label\n    data:\n      path: data/*.csv\n    validation:\n      block_on: [out_of_range]\n");
    let id = repo.run(&["snapshot", "--output", "json"]).json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // new partition: out of range values, nulls, an unseen category, NaN
    let new_rows: String = (0..20)
        .map(|i| match i % 4 {
            0 => format!("{},z,0\n", 1000 + i),
            1 => ",a,1\n".to_string(),
            2 => "NaN,b,0\n".to_string(),
            _ => format!("{},z,1\n", 500 + i),
        })
        .collect();
    repo.write("data/b.csv", format!("x,c,label\n{new_rows}"));
    let v = repo
        .run(&[
            "check",
            "--output",
            "json",
            "--reference",
            &id[..10],
            "--now",
            NOW,
        ])
        .json();
    let find = |k: &str| {
        v["anomalies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["kind"] == k)
            .cloned()
    };
    let oor = find("out_of_range").expect("out of range");
    assert_eq!(oor["column"], "x");
    assert_eq!(oor["severity"], "blocking");
    assert!(find("null_fraction").is_some());
    assert!(find("non_finite").is_some());
    let unseen = find("unseen_categories").expect("unseen categories");
    assert_eq!(unseen["observed"]["values"][0], "z");
    assert_eq!(unseen["severity"], "warning");
    assert_eq!(v["decision"]["blocked"], true);
}

#[test]
fn bad_drift_config_is_refused() {
    let repo = Repo::new();
    repo.write("data/a.csv", "x,label\n1,0\n2,1\n");
    let base = "version: 1\nmodels:\n  - name: m\n    task: classification\n    target: label\n    data:\n      path: data/*.csv\n    triggers:\n";
    repo.config(&format!("{base}      drift: {{ method: ks2 }}\n"));
    let run = repo.run(&["check"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("unknown variant `ks2`") && run.stderr.contains("did you mean `ks`?"),
        "{}",
        run.stderr
    );
    repo.config(&format!(
        "{base}      drift: {{ method: ks, threshold: 1.5 }}\n"
    ));
    let run = repo.run(&["check"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("p-value threshold must be between 0 and 1"),
        "{}",
        run.stderr
    );
    repo.config(&format!("{base}      drift: {{ share: -0.1 }}\n"));
    assert_eq!(repo.run(&["check"]).code, 2);
    repo.config(&format!(
        "{base}      drift:\n        per_column: {{ nope: {{ method: psi }} }}\n"
    ));
    let run = repo.run(&["check"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("no column `nope` (declared as a drift `per_column` key"),
        "{}",
        run.stderr
    );
    repo.config(&format!("{base}      drift:\n        per_column: {{ x: {{ method: wasserstein, threshold: 0.3 }} }}\n"));
    assert_eq!(repo.run(&["check"]).code, 0);
}
