//! `algorithm: gradient_boosting` through `retrain run` and `retrain predict` on a real CSV
//! file with missing values and a string category: what the trees learn that a linear
//! model cannot, what the artifact holds, and the errors bad parameters get.

use crate::support::*;

/// 6,000 rows, time-ordered: `x` numeric (15% empty), `city` one of 30 names, `noise`.
/// label = yes when `x` is missing, or the city is one of five, or x > 0.8; else no.
fn write_data(repo: &Repo) {
    let mut csv = String::from("ts,x,city,noise,label\n");
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let chosen = [3, 7, 11, 19, 23];
    for i in 0..6000 {
        let missing = next() < 0.15;
        let x = next();
        let city = (next() * 30.0) as usize;
        let noise = next();
        let yes = missing || chosen.contains(&city) || x > 0.8;
        let x_text = if missing {
            String::new()
        } else {
            format!("{x:.4}")
        };
        csv.push_str(&format!(
            "{i},{x_text},city-{city:02},{noise:.4},{}\n",
            if yes { "yes" } else { "no" }
        ));
    }
    repo.write("data/rows.csv", csv);
}

fn model(name: &str, training: &str) -> String {
    format!(
        "  - name: {name}\n    task: classification\n    target: label\n    time_column: ts\n    data: {{ path: data/rows.csv }}\n    training: {training}\n    evaluation:\n      holdout: {{ kind: time, fraction: 0.25 }}\n      metrics: [accuracy, roc_auc]\n      intervals: {{ method: none }}\n      gates: [ {{ metric: accuracy, min: 0.5 }} ]\n"
    )
}

#[test]
fn boosted_trees_learn_category_sets_and_missing_values_a_linear_model_misses() {
    let repo = Repo::new();
    write_data(&repo);
    repo.config(&format!(
        "version: 1\nmodels:\n{}{}",
        model(
            "gb",
            "{ algorithm: gradient_boosting, params: { n_estimators: 60, max_leaves: 8 } }"
        ),
        model("lr", "{ algorithm: logistic_regression }")
    ));
    let dir = tempfile::tempdir().unwrap();
    let run_model = |name: &str| {
        let run = repo.run(&[
            "run",
            "--dry-run",
            "--force",
            "--model",
            name,
            "--output",
            "json",
            "--artifact-dir",
            dir.path().to_str().unwrap(),
        ]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.json()
    };
    let (gb_run, lr_run) = (run_model("gb"), run_model("lr"));
    let acc = |v: &serde_json::Value| v["evaluation"]["candidate"]["accuracy"].as_f64().unwrap();
    let (gb, lr) = (acc(&gb_run), acc(&lr_run));
    assert!(gb > 0.99, "gradient boosting: {gb}");
    assert!(lr < 0.9, "logistic regression: {lr}");
    let v = &gb_run;
    assert_eq!(v["infra"]["passed"], true);
    assert_eq!(v["training"]["algorithm"], "gradient_boosting");
    // 4,500 training rows: early stopping is off below 10,000 (auto), so every round is kept
    assert_eq!(v["training"]["iterations"], 60);

    let model: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("gb/model.json")).unwrap()).unwrap();
    assert_eq!(model["estimator"]["kind"], "ensemble");
    assert_eq!(model["estimator"]["link"], "logistic");
    assert_eq!(model["estimator"]["trees"].as_array().unwrap().len(), 60);
    let steps = model["preprocessing"]["steps"].as_array().unwrap();
    let kinds: Vec<&str> = steps.iter().map(|s| s["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["value", "code", "value"],
        "x, city, noise as they are"
    );
    assert_eq!(steps[1]["categories"].as_array().unwrap().len(), 30);
    // some split sends a set of cities left, and some split learned where missing x goes
    let nodes: Vec<&serde_json::Value> = model["estimator"]["trees"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["nodes"].as_array().unwrap())
        .collect();
    assert!(nodes
        .iter()
        .any(|n| n["categories"].as_array().is_some_and(|c| c.len() >= 2)));
    assert!(nodes
        .iter()
        .any(|n| n["feature"] == 0 && n["threshold"].is_number() && n["missing_left"] == false));
    let card = std::fs::read_to_string(dir.path().join("gb/MODEL_CARD.md")).unwrap();
    assert!(card.contains("as category codes"), "{card}");
}

#[test]
fn predict_scores_missing_values_and_unseen_categories_with_the_trees() {
    let repo = Repo::new();
    write_data(&repo);
    repo.config(&format!(
        "version: 1\nmodels:\n{}",
        model(
            "gb",
            "{ algorithm: gradient_boosting, params: { n_estimators: 40 } }"
        )
    ));
    let run = dry_run(repo.path(), true);
    for (path, bytes) in &run.proposal().expect("a proposal").files {
        repo.write(path, bytes);
    }
    repo.write(
        "new.csv",
        "ts,x,city,noise\n1,,city-00,0.5\n2,0.1,city-07,0.5\n3,0.1,city-00,0.5\n4,0.95,nowhere,0.5\n5,0.1,nowhere,0.5\n",
    );
    let out = repo.path().join("scored.csv");
    let run = repo.run(&[
        "predict",
        "--model",
        repo.path()
            .join("models/gb/registry.yaml")
            .to_str()
            .unwrap(),
        "--input",
        repo.path().join("new.csv").to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = std::fs::read_to_string(&out).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let p = header.iter().position(|c| *c == "prediction").unwrap();
    let predicted: Vec<String> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(p).unwrap().to_string())
        .collect();
    // missing x -> yes; a chosen city -> yes; an unseen city goes with `other`
    assert_eq!(predicted, ["yes", "yes", "no", "yes", "no"], "{text}");
}

#[test]
fn bad_boosting_params_fail_check_at_their_key() {
    let repo = Repo::new();
    write_data(&repo);
    for (params, needle) in [
        ("{ max_leaf: 31 }", "did you mean `max_leaves`"),
        (
            "{ learning_rate: 0 }",
            "learning_rate: expected a number > 0",
        ),
        (
            "{ subsample: 1.5 }",
            "subsample: expected a fraction in (0, 1]",
        ),
        ("{ max_bins: 1000 }", "max_bins: expected at most 255"),
        (
            "{ max_categories: 100000 }",
            "max_categories: expected at most 254",
        ),
        (
            "{ early_stopping: sometimes }",
            "expected true, false or auto",
        ),
        (
            "{ class_weight: heavy }",
            "expected null, balanced or a map",
        ),
        ("{ loss: absolute_error }", "expected one of log_loss"),
    ] {
        repo.config(&format!(
            "version: 1\nmodels:\n{}",
            model(
                "gb",
                &format!("{{ algorithm: gradient_boosting, params: {params} }}")
            )
        ));
        let run = repo.run(&["check"]);
        assert_eq!(run.code, 2, "{params}: {}", run.stderr);
        assert!(run.stderr.contains(needle), "{params}: {}", run.stderr);
        assert!(
            run.stderr.contains("retrain.yaml:"),
            "{params}: {}",
            run.stderr
        );
    }
    // a class weight for a class the data does not have: the run fails and writes nothing
    repo.config(&format!(
        "version: 1\nmodels:\n{}",
        model(
            "gb",
            "{ algorithm: gradient_boosting, params: { class_weight: { maybe: 3 } } }"
        )
    ));
    let dir = tempfile::tempdir().unwrap();
    let run = repo.run(&[
        "run",
        "--dry-run",
        "--force",
        "--artifact-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr
            .contains("class `maybe` is not in the training window (classes: no, yes)"),
        "{}",
        run.stderr
    );
    assert!(!dir.path().join("gb/model.json").exists());
}

/// `warm_start: true`: the champion's trees are kept and `warm_start_estimators` more are
/// fitted on the new window; the artifact and the model card say how many came from
/// where. A champion of another algorithm gives a cold start with the reason.
#[test]
fn a_warm_start_keeps_the_champions_trees_and_says_where_each_came_from() {
    let repo = Repo::new();
    write_data(&repo);
    let gb = "{ algorithm: gradient_boosting, warm_start: true, params: { n_estimators: 30, warm_start_estimators: 7 } }";
    repo.config(&format!("version: 1\nmodels:\n{}", model("gb", gb)));
    let first = dry_run(repo.path(), true);
    let t = first.training().unwrap();
    assert!(!t.warm_start);
    assert_eq!(
        t.warm_start_note.as_deref(),
        Some("cold start: there is no champion yet")
    );
    for (path, bytes) in &first.proposal().unwrap().files {
        repo.write(path, bytes);
    }
    // new rows: the same concept, later in time
    let old = std::fs::read_to_string(repo.path().join("data/rows.csv")).unwrap();
    let more: String = old
        .lines()
        .skip(1)
        .take(2000)
        .map(|l| {
            let (ts, rest) = l.split_once(',').unwrap();
            format!("{},{rest}\n", ts.parse::<u64>().unwrap() + 10_000)
        })
        .collect();
    repo.write("data/rows.csv", format!("{old}{more}"));
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
    assert_eq!(v["training"]["warm_start"], true, "{}", v["training"]);
    assert_eq!(v["training"]["iterations"], 7);
    let champion: serde_json::Value = serde_json::from_slice(
        &std::fs::read(repo.path().join("models/gb/versions/1/model.json")).unwrap(),
    )
    .unwrap();
    let artifact: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("gb/model.json")).unwrap()).unwrap();
    let trees = artifact["estimator"]["trees"].as_array().unwrap();
    assert_eq!(trees.len(), 37);
    assert_eq!(
        &trees[..30],
        champion["estimator"]["trees"]
            .as_array()
            .unwrap()
            .as_slice()
    );
    assert_eq!(
        artifact["preprocessing"], champion["preprocessing"],
        "the trees' columns"
    );
    let origins = artifact["estimator"]["origins"].as_array().unwrap();
    assert_eq!(origins.len(), 2);
    assert_eq!(origins[0]["snapshot"], champion["training"]["snapshot"]);
    assert_eq!(
        (origins[0]["trees"].as_u64(), origins[1]["trees"].as_u64()),
        (Some(30), Some(7))
    );
    let card = std::fs::read_to_string(dir.path().join("gb/MODEL_CARD.md")).unwrap();
    let short = &champion["training"]["snapshot"].as_str().unwrap()[..12];
    assert!(
        card.contains(&format!(
            "**Trees**: 37 — 30 from snapshot `{short}`, 7 fitted on this window"
        )),
        "{card}"
    );
    // the same model trained by another algorithm now: cold, and it says why
    repo.config(&format!(
        "version: 1\nmodels:\n{}",
        model(
            "gb",
            "{ algorithm: random_forest, warm_start: true, params: { n_estimators: 5 } }"
        )
    ));
    let cold = dry_run(repo.path(), true);
    let t = cold.training().unwrap();
    assert!(!t.warm_start);
    assert_eq!(
        t.warm_start_note.as_deref(),
        Some("cold start: random_forest cannot continue from a champion (logistic_regression and gradient_boosting can)")
    );
}
