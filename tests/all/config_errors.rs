//! Bad config: each error names the file, line and column, the key, and what to do.

use crate::support::*;

fn check(yaml: &str) -> Run {
    let repo = Repo::new();
    repo.config(yaml);
    repo.write("data/a.csv", "x,label\n1,0\n2,1\n");
    let run = repo.run(&["snapshot"]);
    assert!(
        repo.snapshot_files().is_empty(),
        "nothing may be written on a config error"
    );
    run
}

#[test]
fn missing_config() {
    let repo = Repo::new();
    let run = repo.run(&["snapshot"]);
    assert_eq!(run.code, 2);
    insta::assert_snapshot!(run.stderr, @r"
    error: [REPO]/retrain.yaml: config file not found
    hint: create one with `retrain init`, or point at it with `--config FILE`
    ");
}

#[test]
fn yaml_syntax_error_has_position() {
    let run = check("version: 1\nmodels:\n  - name: m\n    target: \"unclosed\n    task: x\n");
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.starts_with("error: [REPO]/retrain.yaml:"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("line"), "{}", run.stderr);
}

#[test]
fn unknown_key_suggests_the_close_one() {
    let run = check(
        "version: 1\nmodels:\n  - name: m\n    task: classification\n    target: label\n    data: { path: data/a.csv }\n    tigers:\n      mode: any\n",
    );
    assert_eq!(run.code, 2);
    insta::assert_snapshot!(run.stderr, @r"
    error: [REPO]/retrain.yaml:7:5: models[0]: unknown field `tigers`, expected one of `name`, `task`, `target`, `time_column`, `features`, `ignore`, `column_types`, `data`, `profile`, `triggers`, `validation`, `training`, `evaluation`, `registry`, `pull_request`, `backtest`
    hint: did you mean `triggers`?
    ");
}

#[test]
fn wrong_type_names_key_line_and_column() {
    let run = check(
        "version: 1\nmodels:\n  - name: m\n    task: classification\n    target: label\n    data: { path: data/a.csv }\n    triggers:\n      drift: { share: lots }\n",
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("retrain.yaml:8:"), "{}", run.stderr);
    assert!(
        run.stderr.contains("models[0].triggers.drift.share"),
        "{}",
        run.stderr
    );
}

#[test]
fn out_of_range_value_is_reported_at_its_position() {
    let run = check(
        "version: 1\nmodels:\n  - name: m\n    task: classification\n    target: label\n    data: { path: data/a.csv }\n    triggers:\n      drift:\n        share: 1.5\n",
    );
    assert_eq!(run.code, 2);
    insta::assert_snapshot!(run.stderr, @"error: [REPO]/retrain.yaml:9:9: models[0].triggers.drift.share: expected a fraction between 0 and 1, got 1.5");
}

#[test]
fn cross_key_errors_point_at_the_key() {
    let run = check(
        "version: 1\nmodels:\n  - name: a\n    task: classification\n    target: label\n    data: { path: data/a.csv }\n  - name: b\n    task: regression\n    target: label\n    data:\n      path: data/a.csv\n    training:\n      algorithm: logistic_regression\n",
    );
    assert_eq!(run.code, 2);
    insta::assert_snapshot!(run.stderr, @r"
    error: [REPO]/retrain.yaml:13:7: models[1].training.algorithm: LogisticRegression does not fit a regression task
    hint: use gradient_boosting, random_forest, linear_regression or elastic_net
    ");
}

#[test]
fn duplicate_model_names_are_refused() {
    let run = check(
        "version: 1\nmodels:\n  - name: a\n    task: classification\n    target: label\n    data: { path: data/a.csv }\n  - name: a\n    task: classification\n    target: label\n    data: { path: data/a.csv }\n",
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("retrain.yaml:7:5: models[1].name: duplicate model name `a`"),
        "{}",
        run.stderr
    );
}

#[test]
fn path_outside_the_repository_is_refused() {
    let run = check("version: 1\nmodels:\n  - name: m\n    task: classification\n    target: label\n    data:\n      path: ../elsewhere/*.csv\n");
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("retrain.yaml:7:7: models[0].data.path: `../elsewhere/*.csv` points outside the repository"), "{}", run.stderr);
    let abs = check("version: 1\nmodels:\n  - name: m\n    task: classification\n    target: label\n    data:\n      path: /etc/passwd\n");
    assert_eq!(abs.code, 2);
    assert!(abs.stderr.contains("must be relative"), "{}", abs.stderr);
}

#[test]
fn a_url_of_another_scheme_is_refused_at_its_key() {
    let run = check("version: 1\nmodels:\n  - name: m\n    task: classification\n    target: label\n    data:\n      url: ftp://host/data/*.csv\n");
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("retrain.yaml:7:7: models[0].data.url: `ftp://host/data/*.csv` is not a URL retrain reads"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("s3://, gs://, az://"), "{}", run.stderr);
}

#[test]
fn unknown_model_suggests_a_name() {
    let repo = Repo::new();
    repo.config(&basic_config("data/*.csv").replace("name: m", "name: churn"));
    let run = repo.run(&["snapshot", "--model", "chrun"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("no model named `chrun`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("hint: did you mean `--model churn`?"),
        "{}",
        run.stderr
    );
}

#[test]
fn wrong_version_and_empty_models() {
    let run = check("version: 2\nmodels: []\n");
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("retrain.yaml:1:1: version: unsupported version 2"),
        "{}",
        run.stderr
    );
    let run = check("version: 1\nmodels: []\n");
    assert!(run.stderr.contains("no models defined"), "{}", run.stderr);
}

#[test]
fn json_output_carries_the_error() {
    let repo = Repo::new();
    let run = repo.run(&["snapshot", "--output", "json"]);
    assert_eq!(run.code, 2);
    let v = run.json();
    assert_eq!(v["error"]["exit_code"], 2);
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("config file not found"));
}

/// Regression (D7): 200 KB of `[[[…` in `training.params` took the YAML parser 40 s
/// before its recursion-limit error; the bot parses every pushed repository's config.
#[test]
fn deeply_nested_flow_yaml_is_refused_before_parsing() {
    let yaml = format!(
        "version: 1\nmodels:\n  - name: m\n    task: classification\n    target: label\n    data: {{ path: data/a.csv }}\n    training:\n      params: {}\n",
        "[".repeat(200_000)
    );
    let run = check(&yaml);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.starts_with(
            "error: [REPO]/retrain.yaml:8:79: collections nested deeper than 64 levels"
        ),
        "{}",
        run.stderr
    );
}

/// Regression (D12): values that were accepted and then hung the run or failed only at
/// publish time are refused at their key.
#[test]
fn values_that_hang_or_fail_late_are_refused_at_their_key() {
    let model = "version: 1\nmodels:\n  - name: m\n    task: classification\n    target: label\n    data: { path: data/a.csv }\n";
    for (extra, key, message) in [
        (
            "    evaluation: { intervals: { resamples: 1000000000 } }\n",
            "models[0].evaluation.intervals.resamples",
            "at most 100000 resamples",
        ),
        (
            "    evaluation: { gates: [ { metric: accuracy, min: .nan } ] }\n",
            "models[0].evaluation.gates[0].min",
            "`min` must be a finite number",
        ),
        (
            "    registry: { path: .git }\n",
            "models[0].registry.path",
            "is inside `.git/`",
        ),
        (
            "    registry: { artifacts: \"dir:\" }\n",
            "models[0].registry.artifacts",
            "`dir:` needs a path",
        ),
    ] {
        let run = check(&format!("{model}{extra}"));
        assert_eq!(run.code, 2, "{extra}: {}", run.stderr);
        let first = run.stderr.lines().next().unwrap_or_default();
        assert!(first.contains(&format!(": {key}: ")), "{extra}: {first}");
        assert!(first.contains(message), "{extra}: {first}");
    }
}

/// The same key twice was blamed on the mapping's first key (`models[0].name`).
#[test]
fn a_key_given_twice_is_reported_at_its_second_occurrence() {
    let run = check("version: 1\nmodels:\n  - name: m\n    task: classification\n    target: label\n    data: { path: data/a.csv }\n    training: { algorithm: decision_tree }\n    training: { algorithm: gaussian_nb }\n");
    assert_eq!(run.code, 2, "{}", run.stderr);
    insta::assert_snapshot!(run.stderr, @r"
    error: [REPO]/retrain.yaml:8:5: models[0].training: `training` is given twice in this mapping
    hint: keep one of them
    ");
}

/// `evaluation.shadow`: a period of no rows, a slice gate (the newer rows are scored as
/// one), and no gate at all are refused at their keys.
#[test]
fn shadow_evaluation_settings_are_checked_at_their_keys() {
    let model = "version: 1\nmodels:\n  - name: m\n    task: classification\n    target: label\n    data: { path: data/a.csv }\n    evaluation:\n";
    let run = check(&format!("{model}      shadow: {{ min_rows: 0 }}\n"));
    assert_eq!(run.code, 2);
    insta::assert_snapshot!(run.stderr, @"error: [REPO]/retrain.yaml:8:17: models[0].evaluation.shadow.min_rows: must be at least 1: the candidate is compared on this many newer labelled rows");
    let run = check(&format!(
        "{model}      slices: [x]\n      shadow:\n        min_rows: 100\n        gates: [ {{ metric: accuracy, min: 0.5, slice: x }} ]\n"
    ));
    assert_eq!(run.code, 2);
    insta::assert_snapshot!(run.stderr, @"error: [REPO]/retrain.yaml:11:9: models[0].evaluation.shadow.gates[0].slice: shadow gates apply to all the newer rows, not to a slice");
    let run = check(&format!("{model}      shadow: {{ min_rows: 100 }}\n"));
    assert_eq!(run.code, 2);
    insta::assert_snapshot!(run.stderr, @r"
    error: [REPO]/retrain.yaml:8:7: models[0].evaluation.shadow: shadow evaluation needs a gate: set `evaluation.shadow.gates` (or `evaluation.gates`)
    hint: e.g. `gates: [ { metric: accuracy, min_change: 0 } ]`
    ");
    let run = check(&format!(
        "{model}      shadow: {{ min_rows: 100, gates: [ {{ metric: rmse, max: 1 }} ] }}\n"
    ));
    assert_eq!(run.code, 2);
    insta::assert_snapshot!(run.stderr, @"error: [REPO]/retrain.yaml:8:32: models[0].evaluation.shadow.gates[0].metric: `rmse` is not a classification metric");
}
