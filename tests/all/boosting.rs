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
    // `required`: the same mismatch fails the run, and nothing is written
    repo.config(&format!(
        "version: 1\nmodels:\n{}",
        model(
            "gb",
            "{ algorithm: random_forest, warm_start: required, params: { n_estimators: 5 } }"
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
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stderr.contains("training.warm_start is `required`, but the champion cannot be continued: random_forest cannot continue from a champion"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("set `warm_start: true`"),
        "{}",
        run.stderr
    );
    assert!(!dir.path().join("gb/model.json").exists());
    // a champion that already has the most rounds a warm start may reach: cold, and why
    repo.config(&format!(
        "version: 1\nmodels:\n{}",
        model(
            "gb",
            "{ algorithm: gradient_boosting, warm_start: required, params: { n_estimators: 30, warm_start_estimators: 7, warm_start_max_estimators: 36 } }"
        )
    ));
    let run = repo.run(&["run", "--dry-run", "--force"]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stderr.contains(
            "the champion has 30 boosting rounds; 7 more would pass warm_start_max_estimators (36)"
        ),
        "{}",
        run.stderr
    );
    repo.config(&format!(
        "version: 1\nmodels:\n{}",
        model(
            "gb",
            "{ algorithm: gradient_boosting, warm_start: true, params: { n_estimators: 30, warm_start_estimators: 7, warm_start_max_estimators: 36 } }"
        )
    ));
    let capped = dry_run(repo.path(), true);
    let t = capped.training().unwrap();
    assert!(!t.warm_start);
    assert_eq!(t.iterations, Some(30));
    assert_eq!(
        t.warm_start_note.as_deref(),
        Some("cold start: the champion has 30 boosting rounds; 7 more would pass warm_start_max_estimators (36)")
    );
}

/// `training.search`: every trial is scored on the newest slice of the training window
/// (never the evaluation holdout), the best one's params train the candidate, and the
/// trial table is in the run JSON, the pull request and the model card.
#[test]
fn a_grid_search_picks_the_best_trial_on_a_slice_of_the_training_window() {
    let repo = Repo::new();
    write_data(&repo);
    repo.config(&format!(
        "version: 1\nmodels:\n{}",
        model(
            "gb",
            "{ algorithm: gradient_boosting, params: { n_estimators: 30 }, search: { method: grid, params: { max_leaves: [2, 8], learning_rate: [0.01, 0.3] } } }"
        )
    ));
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
    let s = &v["training"]["search"];
    assert_eq!(s["method"], "grid");
    assert_eq!(s["space"], 4);
    // 6,000 rows, the newest 25% are the holdout; the newest 25% of the rest validate
    assert_eq!(
        (s["fit_rows"].as_u64(), s["validation_rows"].as_u64()),
        (Some(3375), Some(1125))
    );
    let trials = s["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 4);
    // the best score; on a tie the earlier trial
    let best = trials
        .iter()
        .reduce(|b, t| {
            if t["score"].as_f64() > b["score"].as_f64() {
                t
            } else {
                b
            }
        })
        .unwrap();
    assert_eq!(trials.iter().filter(|t| t["chosen"] == true).count(), 1);
    assert_eq!(best["chosen"], true, "{s}");
    // the slowest learner with stumps is the worst: the search is not a no-op
    let worst = trials
        .iter()
        .find(|t| t["params"]["max_leaves"] == 2 && t["params"]["learning_rate"] == 0.01)
        .unwrap();
    assert!(worst["score"].as_f64().unwrap() < best["score"].as_f64().unwrap());
    let artifact: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("gb/model.json")).unwrap()).unwrap();
    assert_eq!(
        artifact["params"]["max_leaves"],
        best["params"]["max_leaves"]
    );
    assert_eq!(artifact["params"]["n_estimators"], 30);
    assert_eq!(
        v["training"]["rows"], 4500,
        "the candidate is trained on the whole window"
    );
    let body = std::fs::read_to_string(dir.path().join("gb/PR_BODY.md")).unwrap();
    assert!(
        body.contains("Parameter search (grid, 4 of 4 combinations)"),
        "{body}"
    );
    assert!(body.contains("**chosen**"), "{body}");
    let card = std::fs::read_to_string(dir.path().join("gb/MODEL_CARD.md")).unwrap();
    assert!(
        card.contains("**Parameter search**: grid, 4 trial(s)"),
        "{card}"
    );
    // the trials run one per thread at once; one thread or four, the same scores
    let scores = |threads: &str| {
        let run = repo.run_with(
            &["run", "--dry-run", "--force", "--output", "json"],
            &[("RAYON_NUM_THREADS", threads)],
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        let v = run.json();
        v["training"]["search"]["trials"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["params"].clone(), t["score"].clone(), t["chosen"].clone()))
            .collect::<Vec<_>>()
    };
    let one = scores("1");
    assert_eq!(one.len(), 4);
    assert_eq!(one, scores("4"));
    assert_eq!(
        one,
        trials
            .iter()
            .map(|t| (t["params"].clone(), t["score"].clone(), t["chosen"].clone()))
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_bad_search_space_fails_check_at_its_key() {
    let repo = Repo::new();
    write_data(&repo);
    for (search, needle) in [
        ("{ params: {} }", "the search space is empty"),
        (
            "{ params: { max_leaves: [] } }",
            "search.params.max_leaves: no values to try",
        ),
        (
            "{ params: { max_leaves: [15, 1] } }",
            "expected a whole number ≥ 2, got 1 (trying 1)",
        ),
        (
            "{ params: { max_leaf: [15] } }",
            "did you mean `max_leaves`",
        ),
        (
            "{ trials: 3, params: { max_leaves: [2, 4], l2: [0, 1] } }",
            "the grid has 4 combinations, more than `trials: 3`",
        ),
        (
            "{ method: random, trials: 0, params: { l2: [0] } }",
            "expected at least 1 trial",
        ),
        (
            "{ method: annealing, params: { l2: [0] } }",
            "unknown variant `annealing`",
        ),
    ] {
        repo.config(&format!(
            "version: 1\nmodels:\n{}",
            model(
                "gb",
                &format!("{{ algorithm: gradient_boosting, search: {search} }}")
            )
        ));
        let run = repo.run(&["check"]);
        assert_eq!(run.code, 2, "{search}: {}", run.stderr);
        assert!(run.stderr.contains(needle), "{search}: {}", run.stderr);
        assert!(
            run.stderr.contains("retrain.yaml:"),
            "{search}: {}",
            run.stderr
        );
    }
    // random draws `trials` of the space, seeded: the same draw every time
    repo.config(&format!(
        "version: 1\nmodels:\n{}",
        model("gb", "{ algorithm: gradient_boosting, params: { n_estimators: 5 }, search: { method: random, trials: 3, seed: 4, params: { max_leaves: [2, 4, 8, 16], l2: [0, 1, 10] } } }")
    ));
    let draw = |repo: &Repo| {
        let run = repo.run(&["run", "--dry-run", "--force", "--output", "json"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.json()["training"]["search"]["trials"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["params"].to_string())
            .collect::<Vec<_>>()
    };
    let first = draw(&repo);
    assert_eq!(first.len(), 3);
    assert_eq!(first, draw(&repo));
}

/// Hostile training data for the trees: a category column with 100,000 levels (the 254
/// most frequent are kept, the rest share `other`), NaN and ±Inf written in a numeric
/// column (NaN is missing; an infinity sorts past every edge), and a target with one
/// class (refused with the reason, nothing written).
#[test]
fn trees_train_on_huge_category_columns_and_infinities_and_refuse_one_class() {
    let repo = Repo::new();
    let mut csv = String::from("ts,x,id,label\n");
    for i in 0..100_000u64 {
        let x = match i % 50 {
            0 => "NaN".to_string(),
            1 => "inf".to_string(),
            2 => "-inf".to_string(),
            _ => format!("{:.3}", (i * 7919 % 1000) as f64 / 1000.0),
        };
        // `id` is unique per row, except that 300 hot ids repeat (every 3rd row)
        let id = if i % 3 == 0 { i % 300 } else { i };
        let yes = match i % 50 {
            0 | 1 => true,
            2 => false,
            _ => (i * 7919 % 1000) > 600,
        };
        csv.push_str(&format!(
            "{i},{x},u{id},{}\n",
            if yes { "yes" } else { "no" }
        ));
    }
    repo.write("data/rows.csv", csv);
    repo.config(&format!(
        "version: 1\nmodels:\n{}",
        model(
            "gb",
            "{ algorithm: gradient_boosting, params: { n_estimators: 8, max_leaves: 8 } }"
        )
    ));
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
    let artifact: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("gb/model.json")).unwrap()).unwrap();
    let steps = artifact["preprocessing"]["steps"].as_array().unwrap();
    let id = steps.iter().find(|s| s["column"] == "id").unwrap();
    assert_eq!(id["kind"], "code", "{id}");
    assert_eq!(id["categories"].as_array().unwrap().len(), 254, "{id}");
    // NaN rows are missing (yes), +inf rows yes, -inf rows no: the trees learn all three
    let acc = v["evaluation"]["candidate"]["accuracy"]["value"]
        .as_f64()
        .or_else(|| v["evaluation"]["candidate"]["accuracy"].as_f64())
        .unwrap_or_else(|| panic!("{}", v["evaluation"]));
    assert!(acc > 0.99, "{acc}");

    // one class only: refused before anything is written
    let one: String = std::fs::read_to_string(repo.path().join("data/rows.csv"))
        .unwrap()
        .replace(",no\n", ",yes\n");
    repo.write("data/rows.csv", one);
    let dir = tempfile::tempdir().unwrap();
    let run = repo.run(&[
        "run",
        "--dry-run",
        "--force",
        "--artifact-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(run.stderr.contains("1 class(es)"), "{}", run.stderr);
    assert!(!dir.path().join("gb").exists());
}
