//! `retrain run --dry-run`: learning a known concept, champion vs candidate on the same
//! holdout, the gate, reload, `retrain predict`.

use retrain::data::synth::{Drift, OutputFormat, Spec};
use retrain::pipeline;

use crate::support::*;

fn config(extra: &str) -> String {
    format!(
        "version: 1\nmodels:\n  - name: m\n    task: classification\n    target: label\n    time_column: ts\n    data:\n      path: data/*.parquet\n    evaluation:\n      holdout: {{ kind: time, fraction: 0.2 }}\n      metrics: [accuracy, f1, roc_auc, log_loss]\n      intervals: {{ resamples: 200 }}\n      gates:\n        - {{ metric: accuracy, min: 0.6 }}\n        - {{ metric: accuracy, min_change: -0.005 }}\n{extra}"
    )
}

fn spec(rows: usize, seed: u64, noise: f64, drifts: Vec<Drift>) -> Spec {
    Spec {
        rows,
        seed,
        label_noise: noise,
        drifts,
        ..Spec::default()
    }
}

/// Writes the run's proposal to disk, as merging its pull request would.
fn promote(repo: &Repo, run: &pipeline::ModelRun) {
    let proposal = run.proposal().expect("a proposal");
    for (path, bytes) in &proposal.files {
        repo.write(path, bytes);
    }
}

fn metric(run: &pipeline::ModelRun, who: &str, name: &str) -> f64 {
    let e = run.evaluation().unwrap();
    match who {
        "candidate" => e.candidate[name],
        _ => e.champion.as_ref().unwrap()[name],
    }
}

#[test]
fn linearly_separable_concept_is_learned() {
    let repo = Repo::new();
    repo.generate(
        &spec(4000, 1, 0.0, vec![]),
        "data",
        4,
        OutputFormat::Parquet,
    );
    repo.config(&config(
        "    training: { algorithm: logistic_regression, params: { max_iterations: 300 } }\n",
    ));
    let run = repo.run(&["run", "--dry-run", "--output", "json", "--now", NOW]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = run.json();
    assert_eq!(v["outcome"], "trained");
    assert_eq!(v["training"]["algorithm"], "logistic_regression");
    assert_eq!(v["training"]["rows"], 3200);
    assert_eq!(v["training"]["warm_start"], false);
    assert!(v["training"]["duration_ms"].is_u64());
    let acc = v["evaluation"]["candidate"]["accuracy"].as_f64().unwrap();
    assert!(acc > 0.97, "a separable concept is learned: accuracy {acc}");
    assert!(v["evaluation"]["candidate"]["roc_auc"].as_f64().unwrap() > 0.99);
    assert!(v["evaluation"]["champion"].is_null());
    let iv = &v["evaluation"]["intervals"]["accuracy"]["candidate"];
    assert!(iv["low"].as_f64().unwrap() <= acc && acc <= iv["high"].as_f64().unwrap());
    assert_eq!(
        v["gate"]["blessed"], true,
        "no champion: change gate waived"
    );
    assert!(v["gate"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["waived"] == true));
    assert_eq!(v["infra"]["passed"], true);
    assert!(v["candidate"]["digest"]
        .as_str()
        .unwrap()
        .starts_with("blake3:"));
    // the text report shows the table and the verdict
    let text = repo.run(&["run", "--dry-run", "--now", NOW]).stdout;
    assert!(
        text.contains("gate: BLESSED") && text.contains("accuracy (primary)"),
        "{text}"
    );
}

#[test]
fn concept_drift_makes_the_candidate_better_and_blessed() {
    let repo = Repo::new();
    // Champion: trained on the old concept.
    retrain::data::synth::write(
        &spec(6000, 1, 0.02, vec![]),
        &repo.path().join("data"),
        "a",
        1,
        OutputFormat::Parquet,
    )
    .unwrap();
    repo.config(&config(
        "    training: { algorithm: logistic_regression, window: { kind: fixed, last: 3000 } }\n    triggers:\n      new_data: { min_rows: 1000 }\n      performance: { metric: accuracy, max_drop: 0.05 }\n",
    ));
    let first = dry_run(repo.path(), false);
    assert!(first.trained().is_some(), "the first run trains");
    promote(&repo, &first);

    // New data: the label relation changed.
    let mut late = spec(6000, 2, 0.02, vec!["concept@0".parse().unwrap()]);
    late.start += 6000 * 3600;
    retrain::data::synth::write(
        &late,
        &repo.path().join("data"),
        "b",
        1,
        OutputFormat::Parquet,
    )
    .unwrap();
    let run = dry_run(repo.path(), false);
    let d = &run.check.decision;
    assert!(d.retrain, "{:?}", d.reasons);
    let perf = d
        .reasons
        .iter()
        .find(|r| r.detail.contains("new labelled rows"))
        .expect("performance scored");
    assert!(
        perf.fired,
        "the champion got worse on the new rows: {}",
        perf.detail
    );
    let champ = metric(&run, "champion", "accuracy");
    let cand = metric(&run, "candidate", "accuracy");
    assert!(
        champ < 0.7 && cand > 0.9,
        "champion {champ}, candidate {cand}"
    );
    let e = run.evaluation().unwrap();
    assert_eq!(e.intervals["accuracy"].significant, Some(true));
    let gate = run.gate().unwrap();
    assert!(gate.blessed, "{:?}", gate.checks);
}

#[test]
fn unchanged_concept_gives_no_significant_difference() {
    let repo = Repo::new();
    retrain::data::synth::write(
        &spec(5000, 1, 0.1, vec![]),
        &repo.path().join("data"),
        "a",
        1,
        OutputFormat::Parquet,
    )
    .unwrap();
    repo.config(&config("    triggers: { new_data: { min_rows: 100 } }\n"));
    let first = dry_run(repo.path(), false);
    promote(&repo, &first);
    let mut late = spec(5000, 2, 0.1, vec![]);
    late.start += 5000 * 3600;
    retrain::data::synth::write(
        &late,
        &repo.path().join("data"),
        "b",
        1,
        OutputFormat::Parquet,
    )
    .unwrap();
    let run = dry_run(repo.path(), false);
    let e = run.evaluation().unwrap();
    let iv = e.intervals["accuracy"].diff.unwrap();
    assert!(
        iv.low <= 0.0 && iv.high >= 0.0,
        "the interval of the difference contains 0: {iv:?}"
    );
    assert_eq!(e.intervals["accuracy"].significant, Some(false));
}

#[test]
fn a_worse_candidate_is_not_blessed() {
    let repo = Repo::new();
    retrain::data::synth::write(
        &spec(6000, 1, 0.05, vec![]),
        &repo.path().join("data"),
        "a",
        1,
        OutputFormat::Parquet,
    )
    .unwrap();
    repo.config(&config(""));
    let first = dry_run(repo.path(), true);
    promote(&repo, &first);
    // The next candidate may only learn from 30 rows.
    repo.config(&config(
        "    training: { window: { kind: fixed, last: 30 }, params: { max_iterations: 3 } }\n",
    ));
    let run = dry_run(repo.path(), true);
    let gate = run.gate().unwrap();
    assert!(!gate.blessed, "{:?}", gate.checks);
    let change = gate
        .checks
        .iter()
        .find(|c| c.kind == retrain::evaluate::gate::CheckKind::MinChange)
        .unwrap();
    assert!(!change.passed && !change.waived, "{change:?}");
}

/// The holdout is the newest part of the window (not rows before it), and
/// `evaluation.refit` proposes the blessed candidate refitted on the whole window.
#[test]
fn the_window_holds_its_own_holdout_and_refit_trains_on_all_of_it() {
    let repo = Repo::new();
    repo.generate(
        &spec(4000, 1, 0.05, vec![]),
        "data",
        4,
        OutputFormat::Parquet,
    );
    repo.config(&config(
        "    training: { algorithm: logistic_regression, window: { kind: fixed, last: 1000 } }\n",
    ));
    let run = repo.run(&["run", "--dry-run", "--output", "json", "--now", NOW]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = run.json();
    assert_eq!(v["training"]["rows"], 800, "the window's older 80%");
    assert_eq!(
        v["evaluation"]["holdout_rows"], 200,
        "the window's newest 20%"
    );
    assert!(v["training"]["refit"].is_null());

    let text = std::fs::read_to_string(repo.path().join("retrain.yaml")).unwrap();
    repo.config(&text.replace(
        "      intervals: { resamples: 200 }\n",
        "      intervals: { resamples: 200 }\n      refit: true\n",
    ));
    let run = repo.run(&["run", "--dry-run", "--output", "json", "--now", NOW]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let r = run.json();
    assert_eq!(r["gate"]["blessed"], true);
    assert_eq!(r["training"]["rows"], 800);
    assert_eq!(r["training"]["refit"]["rows"], 1000);
    assert_eq!(r["infra"]["passed"], true);
    // The metrics are the held-out fit's; the proposed artifact is another model.
    assert_eq!(r["evaluation"]["candidate"], v["evaluation"]["candidate"]);
    assert_ne!(r["candidate"]["digest"], v["candidate"]["digest"]);
}

#[test]
fn no_gates_bless_nothing() {
    let repo = Repo::new();
    repo.generate(
        &spec(1000, 1, 0.0, vec![]),
        "data",
        1,
        OutputFormat::Parquet,
    );
    repo.config("version: 1\nmodels:\n  - name: m\n    task: classification\n    target: label\n    data: { path: data/*.parquet }\n    evaluation: { intervals: { resamples: 50 } }\n");
    let run = dry_run(repo.path(), false);
    let gate = run.gate().unwrap();
    assert!(!gate.blessed);
    assert!(
        gate.notes[0].contains("no gates configured"),
        "{:?}",
        gate.notes
    );
}

#[test]
fn every_builtin_trainer_runs_and_reloads_bit_identically() {
    for (task, algorithm, params, bound) in [
        ("classification", "logistic_regression", "{}", 0.9),
        ("classification", "decision_tree", "{ max_depth: 6 }", 0.75),
        ("classification", "gaussian_nb", "{}", 0.8),
        ("classification", "gradient_boosting", "{}", 0.85),
        (
            "classification",
            "random_forest",
            "{ n_estimators: 20 }",
            0.8,
        ),
        ("regression", "linear_regression", "{}", 0.95),
        (
            "regression",
            "gradient_boosting",
            "{ loss: absolute_error }",
            0.8,
        ),
        ("regression", "elastic_net", "{ penalty: 0.01 }", 0.9),
    ] {
        let repo = Repo::new();
        let target = if task == "regression" { "y" } else { "label" };
        let mut s = spec(3000, 3, 0.02, vec![]);
        if task == "regression" {
            s.task = retrain::config::Task::Regression;
        }
        repo.generate(&s, "data", 2, OutputFormat::Parquet);
        let metrics = if task == "regression" {
            "[r2, rmse, mae, mape]"
        } else {
            "[accuracy, balanced_accuracy, precision, recall, f1, roc_auc, log_loss]"
        };
        repo.config(&format!(
            "version: 1\nmodels:\n  - name: m\n    task: {task}\n    target: {target}\n    data: {{ path: data/*.parquet }}\n    training: {{ algorithm: {algorithm}, params: {params} }}\n    evaluation: {{ metrics: {metrics}, intervals: {{ resamples: 50 }}, gates: [ {{ metric: {}, min: {bound} }} ] }}\n",
            if task == "regression" { "r2" } else { "accuracy" }
        ));
        let dir = tempfile::tempdir().unwrap();
        let run = repo.run(&[
            "run",
            "--dry-run",
            "--output",
            "json",
            "--artifact-dir",
            dir.path().to_str().unwrap(),
        ]);
        assert_eq!(run.code, 0, "{algorithm}: {}", run.stderr);
        let v = run.json();
        assert_eq!(v["infra"]["passed"], true, "{algorithm}: {}", v["infra"]);
        assert_eq!(v["gate"]["blessed"], true, "{algorithm}: {}", v["gate"]);
        let model: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("m/model.json")).unwrap())
                .unwrap();
        assert_eq!(model["format"], 1);
        assert_eq!(model["algorithm"], algorithm);
        assert!(dir.path().join("m/report.json").is_file());
    }
}

/// `training.params` is validated with the config (issue 14): a typo fails `retrain
/// check` at its line and column, with a did-you-mean, before anything is trained.
#[test]
fn bad_params_fail_check_at_their_line_and_column() {
    let repo = Repo::new();
    repo.generate(&spec(500, 1, 0.0, vec![]), "data", 1, OutputFormat::Parquet);
    let text =
        config("    training: { algorithm: logistic_regression, params: { max_iteration: 10 } }\n");
    repo.config(&text);
    let (line, col) = text
        .lines()
        .enumerate()
        .find_map(|(i, l)| l.find("max_iteration").map(|c| (i + 1, c + 1)))
        .unwrap();
    for command in [&["check"][..], &["run", "--dry-run", "--force"]] {
        let run = repo.run(command);
        assert_eq!(run.code, 2, "{command:?}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!(
                "retrain.yaml:{line}:{col}: models[0].training.params.max_iteration: unknown parameter for logistic_regression"
            )),
            "{command:?}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains("did you mean `max_iterations`?"),
            "{}",
            run.stderr
        );
    }
    repo.config(&config(
        "    training: { algorithm: decision_tree, params: { max_depth: deep } }\n",
    ));
    let run = repo.run(&["check"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("training.params.max_depth: expected a whole number"),
        "{}",
        run.stderr
    );
    assert!(repo.snapshot_files().is_empty(), "nothing was snapshotted");
}

#[test]
fn predict_scores_a_file_with_the_champion() {
    let repo = Repo::new();
    retrain::data::synth::write(
        &spec(3000, 1, 0.0, vec![]),
        &repo.path().join("data"),
        "a",
        1,
        OutputFormat::Parquet,
    )
    .unwrap();
    repo.config(&config(""));
    let first = dry_run(repo.path(), false);
    promote(&repo, &first);
    retrain::data::synth::write(
        &spec(200, 9, 0.0, vec![]),
        &repo.path().join("new"),
        "rows",
        1,
        OutputFormat::Csv,
    )
    .unwrap();
    let out = repo.path().join("scored.csv");
    let run = repo.run(&[
        "predict",
        "--model",
        repo.path().join("models/m/registry.yaml").to_str().unwrap(),
        "--input",
        repo.path().join("new/rows.csv").to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("m v1: scored 200 rows"),
        "{}",
        run.stdout
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let header = text.lines().next().unwrap();
    assert!(header.ends_with("prediction,proba_0,proba_1"), "{header}");
    // predictions agree with the truth of a separable concept
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let cols: Vec<&str> = header.split(',').collect();
    let (li, pi) = (
        cols.iter().position(|c| *c == "label").unwrap(),
        cols.iter().position(|c| *c == "prediction").unwrap(),
    );
    let right = rows.iter().filter(|r| r[li] == r[pi]).count();
    assert!(right >= 190, "{right}/200");
    // a tampered artifact is refused
    repo.write("models/m/versions/1/model.json", "{}");
    let run = repo.run(&[
        "predict",
        "--model",
        repo.path().join("models/m/registry.yaml").to_str().unwrap(),
        "--input",
        repo.path().join("new/rows.csv").to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("digest"), "{}", run.stderr);
}

#[test]
fn run_without_dry_run_says_publishing_is_not_available() {
    let repo = Repo::new();
    repo.generate(&spec(300, 1, 0.0, vec![]), "data", 1, OutputFormat::Parquet);
    repo.config(&config(""));
    let run = repo.run(&["run"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--dry-run"), "{}", run.stderr);
}

const TRAIN_PY: &str = r#"
import csv, json, os, sys
target = os.environ["RETRAIN_TARGET"]
rows = list(csv.DictReader(open(os.environ["RETRAIN_DATA"])))

def num(v):
    try:
        return float(v)
    except ValueError:
        return None
cols = [c for c in rows[0] if c != target and num(rows[0][c]) is not None]
sums, counts = {}, {}
for r in rows:
    k = r[target]
    counts[k] = counts.get(k, 0) + 1
    s = sums.setdefault(k, [0.0] * len(cols))
    for i, c in enumerate(cols):
        s[i] += num(r[c]) or 0.0
centroids = {k: [v / counts[k] for v in s] for k, s in sums.items()}
json.dump({"columns": cols, "centroids": centroids, "params": json.loads(sys.argv[1])}, open(os.path.join(os.environ["RETRAIN_OUTPUT_DIR"], "model.json"), "w"))
"#;

const PREDICT_PY: &str = r#"
import csv, json, os, sys
model = json.load(open(os.path.join(sys.argv[1], "model.json")))
cols, cents = model["columns"], model["centroids"]
out = csv.writer(open(sys.argv[3], "w", newline=""))
out.writerow(["prediction"])
for r in csv.DictReader(open(sys.argv[2])):
    x = [float(r[c]) if r[c] != "" else 0.0 for c in cols]
    best = min(cents, key=lambda k: sum((a - b) ** 2 for a, b in zip(x, cents[k])))
    out.writerow([best])
"#;

#[test]
fn external_trainer_is_trained_evaluated_and_gated_by_retrain() {
    let repo = Repo::new();
    retrain::data::synth::write(
        &spec(2000, 1, 0.0, vec![]),
        &repo.path().join("data"),
        "a",
        1,
        OutputFormat::Parquet,
    )
    .unwrap();
    repo.write("trainer/train.py", TRAIN_PY);
    repo.write("trainer/predict.py", PREDICT_PY);
    repo.config(&config(
        "    training:\n      params: { k: 1 }\n      command:\n        train: python3 trainer/train.py {{ params }}\n        predict: python3 trainer/predict.py {{ model_dir }} {{ input }} {{ predictions }}\n        timeout: 2m\n",
    ));
    let run = dry_run(repo.path(), false);
    assert!(run.trained().is_some(), "the run trains");
    let acc = metric(&run, "candidate", "accuracy");
    assert!(acc > 0.7, "nearest centroid on a linear concept: {acc}");
    assert!(run.infra().unwrap().passed, "{:?}", run.infra());
    assert!(run.gate().unwrap().blessed);
    let artifact: serde_json::Value =
        serde_json::from_slice(&run.artifact().unwrap().bytes).unwrap();
    assert_eq!(artifact["estimator"]["kind"], "external");
    assert!(artifact["estimator"]["files"]["model.json"].is_string());
    // The external champion is scored again on the next run.
    promote(&repo, &run);
    let mut late = spec(1000, 2, 0.0, vec![]);
    late.start += 2000 * 3600;
    retrain::data::synth::write(
        &late,
        &repo.path().join("data"),
        "b",
        1,
        OutputFormat::Parquet,
    )
    .unwrap();
    let again = dry_run(repo.path(), true);
    assert!(metric(&again, "champion", "accuracy") > 0.7);

    // A failing command is reported with its stderr.
    repo.write(
        "trainer/train.py",
        "import sys\nprint('no GPU here', file=sys.stderr)\nsys.exit(3)\n",
    );
    let out = repo.run(&["run", "--dry-run", "--force"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("the `train` command failed") && out.stderr.contains("no GPU here"),
        "{}",
        out.stderr
    );
}

#[test]
fn warm_start_continues_from_the_champion() {
    let repo = Repo::new();
    retrain::data::synth::write(
        &spec(4000, 1, 0.02, vec![]),
        &repo.path().join("data"),
        "a",
        1,
        OutputFormat::Parquet,
    )
    .unwrap();
    repo.config(&config(
        "    training: { algorithm: logistic_regression, warm_start: true }\n",
    ));
    let first = dry_run(repo.path(), false);
    assert!(
        !first.training().unwrap().warm_start,
        "no champion: cold start"
    );
    promote(&repo, &first);
    let mut late = spec(2000, 2, 0.02, vec![]);
    late.start += 4000 * 3600;
    retrain::data::synth::write(
        &late,
        &repo.path().join("data"),
        "b",
        1,
        OutputFormat::Parquet,
    )
    .unwrap();
    let warm = dry_run(repo.path(), true);
    assert!(warm.training().unwrap().warm_start, "{:?}", warm.training());
    let (c, h) = (
        metric(&warm, "candidate", "accuracy"),
        metric(&warm, "champion", "accuracy"),
    );
    assert!(
        (c - h).abs() < 0.02,
        "same concept, same quality: {c} vs {h}"
    );
}

#[test]
fn dynamic_window_picks_the_recent_concept_and_records_every_candidate() {
    let repo = Repo::new();
    // 6000 rows of the old concept, then 3000 of the new one.
    retrain::data::synth::write(
        &spec(6000, 1, 0.02, vec![]),
        &repo.path().join("data"),
        "a",
        1,
        OutputFormat::Parquet,
    )
    .unwrap();
    let mut late = spec(3000, 2, 0.02, vec!["concept@0".parse().unwrap()]);
    late.start += 6000 * 3600;
    retrain::data::synth::write(
        &late,
        &repo.path().join("data"),
        "b",
        1,
        OutputFormat::Parquet,
    )
    .unwrap();
    repo.config(&config(
        "    training: { window: { kind: dynamic, candidates: [all, 1500, 30d] } }\n",
    ));
    let run = dry_run(repo.path(), true);
    let t = run.training().unwrap();
    assert_eq!(t.windows.len(), 3, "{:?}", t.windows);
    assert!(t.windows.iter().all(|w| w.score.is_some()));
    let chosen: Vec<&str> = t
        .windows
        .iter()
        .filter(|w| w.chosen)
        .map(|w| w.window.as_str())
        .collect();
    assert_eq!(chosen.len(), 1);
    assert_ne!(
        chosen[0], "all",
        "the mixed-concept window loses: {:?}",
        t.windows
    );
    assert!(metric(&run, "candidate", "accuracy") > 0.9);
}

#[test]
fn slice_gates_check_every_slice_value() {
    let repo = Repo::new();
    repo.generate(
        &spec(3000, 1, 0.0, vec![]),
        "data",
        1,
        OutputFormat::Parquet,
    );
    repo.config(
        "version: 1\nmodels:\n  - name: m\n    task: classification\n    target: label\n    data: { path: data/*.parquet }\n    evaluation:\n      intervals: { resamples: 20 }\n      slices: [cat_01]\n      gates:\n        - { metric: accuracy, min: 0.8, slice: cat_01 }\n        - { metric: accuracy, min: 0.999, slice: cat_01 }\n",
    );
    let run = dry_run(repo.path(), false);
    let gate = run.gate().unwrap();
    let e = run.evaluation().unwrap();
    let values = e.slices["cat_01"].len();
    assert_eq!(values, 5, "{:?}", e.slices.keys());
    assert_eq!(
        gate.checks.len(),
        2 * values,
        "one check per slice value and gate"
    );
    assert!(gate
        .checks
        .iter()
        .all(|c| c.slice.as_deref().is_some_and(|s| s.starts_with("cat_01="))));
    assert!(gate
        .checks
        .iter()
        .filter(|c| c.threshold == 0.8)
        .all(|c| c.passed));
    assert!(
        !gate.blessed,
        "the 0.999 bar fails on some slice: {:?}",
        gate.checks
    );
}
