//! `retrain backtest` on generated data with known drift points: drift-triggered
//! policies retrain soon after each injected drift and not in stable stretches, never
//! retraining degrades after a concept drift, the numbers repeat with the seed, the
//! JSON contract, `--apply`'s edit, and policy-file errors that say where.

use retrain::backtest::{self, BacktestReport, BacktestRequest};
use retrain::data::synth::{Drift, DriftKind, OutputFormat, Spec};
use retrain::pipeline::Workspace;

use crate::support::*;

const PERIOD: usize = 200;

/// 30 periods of 200 rows, one file, with `drifts` (at period boundaries).
fn repo_with(drifts: Vec<Drift>, backtest: &str) -> Repo {
    repo_of(
        Spec {
            label_noise: 0.05,
            drifts,
            ..periods_spec()
        },
        backtest,
    )
}

/// The data of [`repo_with`] before its label noise and drifts.
fn periods_spec() -> Spec {
    Spec {
        seed: 7,
        rows: 30 * PERIOD,
        numeric: 4,
        categorical: 1,
        ..Spec::default()
    }
}

/// A repository of `spec`'s rows in one file, trained with logistic regression.
fn repo_of(spec: Spec, backtest: &str) -> Repo {
    let repo = Repo::new();
    repo.generate(&spec, "data", 1, OutputFormat::Parquet);
    repo.config(&format!(
        "{}    training: {{ algorithm: logistic_regression }}\n{backtest}",
        basic_config("data/part.parquet")
    ));
    repo
}

fn run(repo: &Repo, policies: Option<&str>) -> BacktestReport {
    let file = policies.map(|text| repo.write("policies.yaml", text));
    backtest::run(&BacktestRequest {
        workspace: Workspace {
            repo: repo.path().to_path_buf(),
            config: None,
        },
        model: None,
        period: None,
        period_rows: None,
        policies: file,
    })
    .unwrap_or_else(|e| panic!("backtest failed: {e}"))
}

fn mean(v: &[Option<f64>]) -> f64 {
    let d: Vec<f64> = v.iter().flatten().copied().collect();
    d.iter().sum::<f64>() / d.len() as f64
}

fn shift(column: &str, from_period: usize) -> Drift {
    Drift {
        from_row: from_period * PERIOD,
        kind: DriftKind::MeanShift {
            column: column.into(),
            sd: 2.5,
        },
    }
}

#[test]
fn drift_triggered_policy_retrains_after_each_drift_and_not_in_stable_stretches() {
    // Data drift in 3 of 5 features at period 10, and in 3 again at 20 (one not yet shifted).
    let drifts = vec![
        shift("num_00", 10),
        shift("num_01", 10),
        shift("num_02", 10),
        shift("num_03", 20),
        shift("num_00", 20),
        shift("num_01", 20),
    ];
    let repo = repo_with(drifts, "    backtest: { period_rows: 200, warmup: 4 }\n");
    let report = run(
        &repo,
        Some(
            "policies:\n  - name: drift\n    triggers: { drift: { share: 0.6 } }\n    window: { kind: fixed, last: 200 }\n",
        ),
    );
    let p = report.policy("drift").expect("the drift policy");
    // A retrain serving from period r was decided after period r - 1.
    for d in [10usize, 20] {
        assert!(
            p.retrain_periods.iter().any(|r| *r > d && *r <= d + 2),
            "no retrain within 2 periods after the drift at {d}: {:?}",
            p.retrain_periods
        );
    }
    for r in &p.retrain_periods {
        let near = [10usize, 20].iter().any(|d| r > d && *r <= d + 2);
        assert!(
            near,
            "retrain at period {r} in a stable stretch: {:?}",
            p.retrain_periods
        );
    }
}

#[test]
fn never_degrades_after_a_concept_drift_and_retraining_recovers() {
    let drifts = vec![Drift {
        from_row: 15 * PERIOD,
        kind: DriftKind::Concept,
    }];
    let repo = repo_with(drifts, "    backtest: { period_rows: 200, warmup: 4 }\n");
    let report = run(
        &repo,
        Some(
            "policies:\n  - { name: never, never: true }\n  - { name: weekly, every: 1, window: { kind: fixed, last: 400 } }\n  - name: perf\n    triggers: { performance: { metric: accuracy, max_drop: 0.1 } }\n    window: { kind: fixed, last: 200 }\n",
        ),
    );
    assert_eq!(report.scored_periods, 26);
    // Scored period i is period i + 4: the drift starts at scored index 11.
    let never = report.policy("never").unwrap();
    let before = mean(&never.metrics[..11]);
    let after = mean(&never.metrics[11..]);
    assert!(
        after < before - 0.3,
        "never: {before:.3} before the drift, {after:.3} after"
    );
    assert_eq!(never.retrains, 0);
    let weekly = report.policy("weekly").unwrap();
    assert!(mean(&weekly.metrics[14..]) > before - 0.05);
    let perf = report.policy("perf").unwrap();
    assert!(
        perf.retrain_periods.iter().any(|r| (16..=17).contains(r)),
        "the performance trigger did not react to the concept drift: {:?}",
        perf.retrain_periods
    );
    assert!(perf.retrains < weekly.retrains);
    assert!(perf.mean_metric.unwrap() > never.mean_metric.unwrap() + 0.1);
    // The current policy (no triggers in retrain.yaml) is a candidate and never retrains.
    let current = report.policies.iter().find(|p| p.current).unwrap();
    assert_eq!(current.retrains, 0);

    // With labels known 2 periods late, the performance trigger reacts 2 periods later.
    let late = run(
        &repo,
        Some(
            "label_delay: 2\npolicies:\n  - name: perf\n    triggers: { performance: { metric: accuracy, max_drop: 0.1 } }\n    window: { kind: fixed, last: 200 }\n",
        ),
    );
    assert_eq!(late.label_delay, 2);
    assert!(late.assumptions[0].starts_with("label delay: 2 periods"));
    let first = |p: &retrain::backtest::summary::PolicyResult| {
        p.retrain_periods.iter().copied().find(|r| *r > 15).unwrap()
    };
    assert_eq!(
        first(late.policy("perf").unwrap()),
        first(perf) + 2,
        "{:?} vs {:?}",
        late.policy("perf").unwrap().retrain_periods,
        perf.retrain_periods
    );
}

/// A detector-triggered policy: ADWIN over the deployed model's errors since it was
/// deployed signals the concept change; `since_change` trains on the rows after it.
#[test]
fn a_detector_policy_retrains_after_the_change_and_only_then() {
    let drifts = vec![Drift {
        from_row: 15 * PERIOD,
        kind: DriftKind::Concept,
    }];
    let repo = repo_with(drifts, "    backtest: { period_rows: 200, warmup: 4 }\n");
    let report = run(
        &repo,
        Some(
            "policies:\n  - { name: never, never: true }\n  - name: adwin\n    triggers: { performance: { metric: accuracy, detector: adwin } }\n    window: { kind: since_change, last: 400 }\n  - name: ph\n    triggers: { performance: { metric: accuracy, detector: page_hinkley } }\n    window: { kind: fixed, last: 200 }\n",
        ),
    );
    let never = report.policy("never").unwrap();
    for name in ["adwin", "ph"] {
        let p = report.policy(name).unwrap();
        assert!(
            p.retrain_periods.iter().any(|r| (16..=17).contains(r)),
            "{name} did not react to the concept change at period 15: {:?}",
            p.retrain_periods
        );
        assert!(
            p.retrain_periods.iter().all(|r| *r > 15),
            "{name} retrained before the change: {:?}",
            p.retrain_periods
        );
        assert!(
            p.mean_metric.unwrap() > never.mean_metric.unwrap() + 0.1,
            "{name}: {:?} vs never {:?}",
            p.mean_metric,
            never.mean_metric
        );
    }
}

/// A prediction-drift policy: the inputs shift at period 15 (the concept does not), the
/// deployed model's scores move with them, and the policy retrains then and not before.
#[test]
fn a_prediction_drift_policy_retrains_when_the_scores_move() {
    let drifts = ["num_00", "num_01"]
        .map(|c| Drift {
            from_row: 15 * PERIOD,
            kind: DriftKind::MeanShift {
                column: c.into(),
                sd: 2.0,
            },
        })
        .to_vec();
    let repo = repo_with(drifts, "    backtest: { period_rows: 200, warmup: 4 }\n");
    let report = run(
        &repo,
        Some("policies:\n  - name: pred\n    triggers: { prediction_drift: {} }\n    window: { kind: fixed, last: 400 }\n"),
    );
    let p = report.policy("pred").unwrap();
    assert!(
        p.retrain_periods.iter().any(|r| (16..=17).contains(r)),
        "no retrain after the shift at period 15: {:?}",
        p.retrain_periods
    );
    assert!(
        p.retrain_periods.iter().all(|r| *r > 15),
        "retrained before the shift: {:?}",
        p.retrain_periods
    );
}

/// Champion/challenger: a candidate every period, deployed only when it beats the
/// deployed model on its holdout by the gate's margin. On stable data it deploys few of
/// the models it trains; after a concept drift the candidate wins at once.
#[test]
fn a_gated_policy_trains_every_period_but_deploys_only_winners() {
    let drifts = vec![Drift {
        from_row: 15 * PERIOD,
        kind: DriftKind::Concept,
    }];
    let repo = repo_with(drifts, "    backtest: { period_rows: 200, warmup: 4 }\n");
    let report = run(
        &repo,
        Some(
            "policies:\n  - { name: never, never: true }\n  - { name: weekly, every: 1, window: { kind: fixed, last: 400 }, gates: [] }\n  - name: gated\n    every: 1\n    window: { kind: fixed, last: 400 }\n    gates: [{ metric: accuracy, min_change: 0.05 }]\n  - name: gated-refit\n    every: 1\n    window: { kind: fixed, last: 400 }\n    gates: [{ metric: accuracy, min_change: 0.05 }]\n    refit: true\n",
        ),
    );
    let weekly = report.policy("weekly").unwrap();
    assert_eq!((weekly.retrains, weekly.trainings), (25, 25));
    let gated = report.policy("gated").unwrap();
    assert_eq!(gated.trainings, 25, "a candidate every period");
    assert!(
        gated.retrains < 8,
        "deployed {} of 25 on mostly stable data: {:?}",
        gated.retrains,
        gated.retrain_periods
    );
    // The concept drift starts in period 15; its labels are known after it, so the
    // candidate trained then (half of its 400 rows drifted) serves from 16 or 17.
    assert!(
        gated.retrain_periods.iter().any(|r| (16..=17).contains(r)),
        "the gate kept the stale model after the concept drift: {:?}",
        gated.retrain_periods
    );
    let never = report.policy("never").unwrap();
    assert!(gated.mean_metric.unwrap() > never.mean_metric.unwrap() + 0.1);
    assert!(gated.description.contains("gate accuracy change ≥ 0.05"));
    assert!(weekly.description.contains("no gate"));
    // Refitting the blessed candidate costs more training, deploys as often.
    let refit = report.policy("gated-refit").unwrap();
    assert!(refit.description.contains("refit on the whole window"));
    assert!(refit.train_seconds > 0.0 && refit.trainings == 25);
    // The JSON says both counts.
    let json = serde_json::to_value(&report).unwrap();
    let g = json["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "gated")
        .unwrap();
    assert_eq!(g["trainings"], 25);
    assert_eq!(g["retrains"], gated.retrains);
}

/// Shadow policies: a candidate waits for the labels of the two periods after its
/// training data and is deployed only if it beats the deployed model there (as `retrain
/// run` judges an open pull request); meanwhile no other candidate is trained.
#[test]
fn a_shadow_policy_deploys_a_candidate_only_after_it_wins_out_of_time() {
    let drifts = vec![Drift {
        from_row: 15 * PERIOD,
        kind: DriftKind::Concept,
    }];
    let repo = repo_with(drifts, "    backtest: { period_rows: 200, warmup: 4 }\n");
    let report = run(
        &repo,
        Some(
            "policies:\n  - { name: never, never: true }\n  - name: shadow\n    every: 1\n    window: { kind: fixed, last: 400 }\n    gates: []\n    shadow: { min_rows: 400, gates: [{ metric: accuracy, min_change: 0.05 }] }\n  - name: unbeatable\n    every: 1\n    window: { kind: fixed, last: 400 }\n    gates: []\n    shadow: { min_rows: 200, gates: [{ metric: accuracy, min_change: 1.0 }] }\n",
        ),
    );
    let shadow = report.policy("shadow").unwrap();
    assert!(
        shadow
            .description
            .contains("deployed after a shadow period of 400 newer rows (accuracy change ≥ 0.05)"),
        "{}",
        shadow.description
    );
    // held while a candidate waits (a period in two): about half the trainings
    assert!(shadow.trainings <= 13, "{} trainings", shadow.trainings);
    // the candidate trained after period 15 or 16 (labels known then) is judged on the
    // next two periods' labels and serves from 18 or 19
    assert!(
        shadow.retrain_periods.iter().any(|r| (18..=19).contains(r)),
        "{:?}",
        shadow.retrain_periods
    );
    assert!(
        shadow.retrains < 8,
        "on mostly stable data few candidates win by 0.05: {:?}",
        shadow.retrain_periods
    );
    let never = report.policy("never").unwrap();
    assert!(shadow.mean_metric.unwrap() > never.mean_metric.unwrap() + 0.1);
    // a bar no candidate clears (a whole point better): trained, never deployed
    let unbeatable = report.policy("unbeatable").unwrap();
    assert_eq!(unbeatable.retrains, 0, "{:?}", unbeatable.retrain_periods);
    assert!(unbeatable.trainings > 5);
}

#[test]
fn numbers_repeat_with_the_seed() {
    let drifts = vec![Drift {
        from_row: 12 * PERIOD,
        kind: DriftKind::Concept,
    }];
    let policies = "policies:\n  - { name: every2, every: 2 }\n  - name: drift\n    triggers: { drift: { share: 0.3 } }\n";
    let a = run(
        &repo_with(drifts.clone(), "    backtest: { period_rows: 200 }\n"),
        Some(policies),
    );
    let b = run(
        &repo_with(drifts, "    backtest: { period_rows: 200 }\n"),
        Some(policies),
    );
    let strip = |r: &BacktestReport| -> Vec<(String, Vec<Option<f64>>, Vec<usize>)> {
        r.policies
            .iter()
            .map(|p| (p.name.clone(), p.metrics.clone(), p.retrain_periods.clone()))
            .collect()
    };
    assert_eq!(strip(&a), strip(&b));
    assert_eq!(a.recommended, b.recommended);
}

#[test]
fn json_contract_and_charts() {
    let repo = repo_with(Vec::new(), "");
    let policies = repo.write(
        "policies.yaml",
        "period_rows: 500\nwarmup: 2\npolicies:\n  - { name: never, never: true }\ngrid:\n  every: [1, 3]\n  windows: [all, 1000]\n",
    );
    let charts = repo.path().join("out");
    let run = repo.run(&[
        "backtest",
        "--policies",
        policies.to_str().unwrap(),
        "--output",
        "json",
        "--chart-dir",
        charts.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = run.json();
    let policies = v["policies"].as_array().unwrap();
    // current + never + 2 × 2 grid
    assert_eq!(policies.len(), 6, "{v}");
    for p in policies {
        assert!(p["name"].is_string());
        assert!(p["mean_metric"].is_f64());
        assert!(p["worst_metric"].as_f64().unwrap() <= p["mean_metric"].as_f64().unwrap());
        assert!(p["retrains"].is_u64());
        assert!(p["train_seconds"].is_f64());
    }
    let names: Vec<&str> = policies
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"every1-all") && names.contains(&"every3-last1000"),
        "{names:?}"
    );
    assert!(names.contains(&v["recommended"].as_str().unwrap()));
    assert_eq!(v["label_delay"], 0);
    assert!(v["assumptions"][0]
        .as_str()
        .unwrap()
        .contains("label delay"));
    let every1 = policies.iter().find(|p| p["name"] == "every1-all").unwrap();
    assert_eq!(every1["retrains"], 9); // 12 periods, 2 to warm up, 10 scored
    for f in ["backtest.svg", "backtest.png", "backtest.md"] {
        assert!(charts.join(f).is_file(), "{f} missing");
    }
    let svg = std::fs::read_to_string(charts.join("backtest.svg")).unwrap();
    assert!(
        svg.contains("<polyline") || svg.contains("<path"),
        "no lines drawn"
    );
    let md = std::fs::read_to_string(charts.join("backtest.md")).unwrap();
    assert!(
        md.contains("xychart-beta") && md.contains("**Recommended:"),
        "{md}"
    );
    let png = std::fs::read(charts.join("backtest.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
}

#[test]
fn bad_policy_file_names_the_file_line_and_field() {
    let repo = repo_with(Vec::new(), "");
    let file = repo.write(
        "policies.yaml",
        "period_rows: 500\npolicies:\n  - name: fast\n    every: 0\n",
    );
    let file = file.to_str().unwrap();
    let run = repo.run(&["backtest", "--policies", file]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("policies.yaml:4:5: policies[0].every: retrain every 1 period or more"),
        "{}",
        run.stderr
    );
    repo.write(
        "policies.yaml",
        "policies:\n  - name: d\n    triggers: { drift: { shar: 0.3 } }\n",
    );
    let run = repo.run(&["backtest", "--policies", file]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("policies.yaml:3:") && run.stderr.contains("unknown field `shar`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("did you mean `share`?"),
        "{}",
        run.stderr
    );
    repo.write("policies.yaml", "max_retrain_share: 1.5\n");
    let run = repo.run(&["backtest", "--policies", file]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("policies.yaml:1:1: max_retrain_share: must be a share of the periods"),
        "{}",
        run.stderr
    );
}

#[test]
fn apply_edits_only_the_models_policy_and_keeps_comments() {
    let text = include_str!("../../examples/elec/retrain.yaml");
    let file = std::path::Path::new("retrain.yaml");
    let config = retrain::config::parse(file, text).unwrap();
    let model = &config.models[0];
    let spec = retrain::config::parse_policies(
        file,
        "policies:\n  - name: drift\n    triggers: { drift: { share: 0.3 }, cooldown: 1d }\n    window: { kind: fixed, last: 1344 }\n    warm_start: true\n",
        model.task,
        false,
    )
    .unwrap();
    let policies = retrain::backtest::policy::resolve(model, &spec.policies);
    let out = retrain::backtest::apply::apply_policy(
        file,
        text,
        0,
        &policies[1],
        retrain::config::Duration::from_secs(7 * 86_400),
    )
    .unwrap();
    let after = retrain::config::parse(file, &out).unwrap();
    let m = &after.models[0];
    assert_eq!(m.triggers.drift.as_ref().unwrap().share.get(), 0.3);
    assert!(m.triggers.schedule.is_none() && m.triggers.performance.is_none());
    assert_eq!(
        m.training.window,
        retrain::config::Window::Fixed(retrain::config::WindowSize::Rows(1344))
    );
    assert!(m.training.warm_start);
    // Everything else is untouched, comments included.
    assert!(out.contains("# retrain.yaml for the Electricity (Elec2) example"));
    assert!(out.contains("# rows are in time order"));
    assert!(out.contains("      holdout: { kind: time, fraction: 0.2 }"));
    assert_eq!(m.evaluation, config.models[0].evaluation);
    assert_eq!(m.validation, config.models[0].validation);
    let removed: Vec<&str> = text.lines().filter(|l| !out.contains(l)).collect();
    assert!(
        removed.iter().all(|l| l.contains("schedule")
            || l.contains("new_data")
            || l.contains("drift")
            || l.contains("method")
            || l.contains("threshold")
            || l.contains("share")
            || l.contains("columns")
            || l.contains("performance")
            || l.contains("cooldown")
            || l.contains("max_per_period")
            || l.contains("triggers")
            || l.contains("mode")
            || l.contains("window")
            || l.contains("warm_start")),
        "unexpected lines removed: {removed:?}"
    );
}

/// A recommended shadow policy writes `evaluation.shadow`; one without a shadow period
/// removes the model's.
#[test]
fn apply_writes_and_removes_the_shadow_period() {
    let text = include_str!("../../examples/elec/retrain.yaml");
    let file = std::path::Path::new("retrain.yaml");
    let config = retrain::config::parse(file, text).unwrap();
    let model = &config.models[0];
    let spec = retrain::config::parse_policies(
        file,
        "policies:\n  - name: weekly-shadow\n    every: 1\n    window: { kind: fixed, last: 1344 }\n    shadow: { min_rows: 336, gates: [ { metric: accuracy, min_change: 0 } ] }\n  - name: weekly\n    every: 1\n    window: { kind: fixed, last: 1344 }\n    shadow: none\n",
        model.task,
        false,
    )
    .unwrap();
    let policies = retrain::backtest::policy::resolve(model, &spec.policies);
    let week = retrain::config::Duration::from_secs(7 * 86_400);
    let out = retrain::backtest::apply::apply_policy(file, text, 0, &policies[1], week).unwrap();
    let after = retrain::config::parse(file, &out).unwrap();
    let shadow = after.models[0]
        .evaluation
        .shadow
        .clone()
        .expect("a shadow period");
    assert_eq!(shadow.min_rows, 336);
    assert_eq!(shadow.gates.len(), 1);
    assert_eq!(shadow.gates[0].min_change, Some(0.0));
    assert_eq!(after.models[0].evaluation.gates, model.evaluation.gates);
    // and back: the policy without one removes it
    let back = retrain::backtest::policy::resolve(&after.models[0], &spec.policies);
    let out2 = retrain::backtest::apply::apply_policy(file, &out, 0, &back[2], week).unwrap();
    let again = retrain::config::parse(file, &out2).unwrap();
    assert!(again.models[0].evaluation.shadow.is_none(), "{out2}");
    assert!(!out2.contains("shadow"), "{out2}");
}

/// A recommended policy with its own gate (and refit) writes `evaluation.gates` and
/// `evaluation.refit` too: replaced in place when the model has them, added otherwise.
#[test]
fn apply_writes_the_policys_gate_and_refit() {
    let text = include_str!("../../examples/elec/retrain.yaml");
    let file = std::path::Path::new("retrain.yaml");
    let config = retrain::config::parse(file, text).unwrap();
    let model = &config.models[0];
    let spec = retrain::config::parse_policies(
        file,
        "policies:\n  - name: champion-challenger\n    every: 1\n    window: { kind: fixed, last: 1344 }\n    gates: [{ metric: accuracy, min_change: 0.03 }]\n    refit: true\n",
        model.task,
        false,
    )
    .unwrap();
    let policies = retrain::backtest::policy::resolve(model, &spec.policies);
    let week = retrain::config::Duration::from_secs(7 * 86_400);
    let out = retrain::backtest::apply::apply_policy(file, text, 0, &policies[1], week).unwrap();
    let m = &retrain::config::parse(file, &out).unwrap().models[0];
    assert_eq!(m.evaluation.gates.len(), 1);
    assert_eq!(m.evaluation.gates[0].min_change, Some(0.03));
    assert!(m.evaluation.refit);
    assert_eq!(m.evaluation.metrics, model.evaluation.metrics);
    assert_eq!(m.evaluation.intervals, model.evaluation.intervals);
    assert!(out.contains("      gates:   # chosen by retrain backtest: `champion-challenger`\n        - { metric: accuracy, min_change: 0.03 }\n"));
    assert!(!out.contains("min: 0.60"), "the old gate is replaced");

    // A model without an `evaluation:` block gets one after `training:`.
    let bare = "version: 1\nmodels:\n  - name: m\n    task: classification\n    target: label\n    data: { path: d.csv }\n    training:\n      algorithm: logistic_regression\n";
    let config = retrain::config::parse(file, bare).unwrap();
    let policies = retrain::backtest::policy::resolve(&config.models[0], &spec.policies);
    let out = retrain::backtest::apply::apply_policy(file, bare, 0, &policies[1], week).unwrap();
    let m = &retrain::config::parse(file, &out).unwrap().models[0];
    assert_eq!(m.evaluation.gates[0].min_change, Some(0.03));
    assert!(m.evaluation.refit);
    assert!(out.contains("\n    evaluation:\n      gates:"), "{out}");
}

/// `--apply` with a token: a pull request (bare git remote, the GitHub test server)
/// that changes only the model's policy in retrain.yaml, with the report as its body;
/// the working tree is left alone, and a re-run changes nothing.
#[test]
fn apply_opens_a_pull_request_that_changes_the_policy() {
    use crate::support::github::GitHubServer;
    let root = tempfile::tempdir().unwrap();
    let origin = root.path().join("origin.git");
    let origin_s = origin.to_str().unwrap();
    git(
        root.path(),
        &["init", "-q", "--bare", "-b", "main", origin_s],
    );
    let repo = repo_with(
        vec![Drift {
            from_row: 15 * PERIOD,
            kind: DriftKind::Concept,
        }],
        "    backtest:\n      period_rows: 200\n      warmup: 4\n      policies:\n        - name: perf\n          triggers: { performance: { metric: accuracy, max_drop: 0.1 } }\n          window: { kind: fixed, last: 200 }\n",
    );
    let work = repo.path();
    // --apply edits block mappings (an inline `training: {...}` is refused, tested below)
    let text = std::fs::read_to_string(work.join("retrain.yaml"))
        .unwrap()
        .replace(
            "    training: { algorithm: logistic_regression }\n",
            "    training:\n      algorithm: logistic_regression\n",
        );
    std::fs::write(work.join("retrain.yaml"), text).unwrap();
    git(work, &["init", "-q", "-b", "main"]);
    git(work, &["add", "."]);
    git(work, &["commit", "-q", "-m", "data and config"]);
    git(work, &["remote", "add", "origin", origin_s]);
    git(work, &["push", "-q", "origin", "main"]);
    let before = std::fs::read_to_string(work.join("retrain.yaml")).unwrap();
    let server = GitHubServer::start();
    // `retrain backtest --apply` with a token, against the bare remote and the server
    let backtest_apply = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_retrain"))
            .arg("--repo")
            .arg(work)
            .args(["--output", "json", "backtest", "--apply"])
            .env("GITHUB_TOKEN", "ghs_secret_token_value")
            .env("GITHUB_REPOSITORY", GitHubServer::repository())
            .env("GITHUB_API_URL", &server.url)
            .env_remove("RETRAIN_GITHUB_TOKEN")
            .env_remove("RETRAIN_APP_ID")
            .env_remove("RETRAIN_APP_PRIVATE_KEY")
            .env_remove("GITHUB_ACTIONS")
            .output()
            .unwrap()
    };
    let apply = || {
        let out = backtest_apply();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        assert!(!stderr.contains("ghs_secret"), "{stderr}");
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let v = apply();
    assert_eq!(v["recommended"], "perf", "{v}");
    let pr = &v["apply"]["pull_request"];
    assert_eq!(pr["operation"], "created", "{v}");
    assert_eq!(v["apply"]["written"], false);
    let branch = pr["branch"].as_str().unwrap().to_string();
    assert!(branch.starts_with("retrain/m/policy-"), "{branch}");
    // the working tree is untouched; the branch on the remote carries the change
    assert_eq!(
        std::fs::read_to_string(work.join("retrain.yaml")).unwrap(),
        before
    );
    let proposed = git(
        root.path(),
        &[
            "--git-dir",
            origin_s,
            "show",
            &format!("{branch}:retrain.yaml"),
        ],
    );
    assert_eq!(
        proposed.trim_end(),
        v["apply"]["text"].as_str().unwrap().trim_end()
    );
    let after = retrain::config::parse(std::path::Path::new("retrain.yaml"), &proposed).unwrap();
    let m = &after.models[0];
    assert!(m.triggers.performance.is_some(), "{proposed}");
    assert_eq!(
        m.training.window,
        retrain::config::Window::Fixed(retrain::config::WindowSize::Rows(200))
    );
    let changed = git(
        root.path(),
        &[
            "--git-dir",
            origin_s,
            "diff",
            "--name-only",
            "main",
            &branch,
        ],
    );
    assert_eq!(changed.trim(), "retrain.yaml");
    {
        let w = server.world.lock().unwrap();
        assert_eq!(w.prs.len(), 1);
        let pr = &w.prs[0];
        assert!(pr.title.contains("`perf`"), "{}", pr.title);
        assert!(pr.labels.iter().any(|l| l == "retrain-policy"));
        let body = &pr.body;
        assert!(body.starts_with("<!-- retrain-policy:{"), "{body}");
        assert!(body.contains("```diff\n"), "{body}");
        assert!(
            body.contains("\n+    triggers:") || body.contains("\n+      performance"),
            "{body}"
        );
        assert!(body.contains("# Backtest of `m`"), "{body}");
        assert!(body.contains("```mermaid"), "{body}");
    }
    // the same recommendation again: the same branch and pull request, unchanged
    let again = apply();
    assert_eq!(
        again["apply"]["pull_request"]["operation"], "unchanged",
        "{again}"
    );
    assert_eq!(server.world.lock().unwrap().prs.len(), 1);

    // Someone changed retrain.yaml on main since this checkout: the proposal would
    // revert it, so nothing is pushed and the run says how to recover.
    let other = root.path().join("other");
    git(
        root.path(),
        &["clone", "-q", origin_s, other.to_str().unwrap()],
    );
    let edited = std::fs::read_to_string(other.join("retrain.yaml")).unwrap() + "# reviewed\n";
    std::fs::write(other.join("retrain.yaml"), edited).unwrap();
    git(&other, &["commit", "-q", "-am", "a comment"]);
    git(&other, &["push", "-q", "origin", "main"]);
    let branches = git(root.path(), &["--git-dir", origin_s, "branch", "--list"]);
    let out = backtest_apply();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("is not the version this proposal was made from"),
        "{stderr}"
    );
    assert!(stderr.contains("git pull"), "{stderr}");
    assert_eq!(
        git(root.path(), &["--git-dir", origin_s, "branch", "--list"]),
        branches
    );
    assert_eq!(server.world.lock().unwrap().prs.len(), 1);
}

/// Algorithms compared as policies: a grid's `algorithms` and a written-out policy's
/// `algorithm` / `params` replay the same triggers and windows with another trainer; the
/// report says which algorithm each policy trained, `--apply` writes it into
/// `training:`, and bad algorithms or params are refused at their key.
#[test]
fn algorithms_are_compared_as_policies() {
    let repo = repo_with(vec![shift("x1", 12)], "");
    let report = run(
        &repo,
        Some(
            "period_rows: 200\nwarmup: 4\npolicies:\n  - name: gb-small\n    every: 2\n    window: { kind: fixed, last: 800 }\n    algorithm: gradient_boosting\n    params: { n_estimators: 20, max_leaves: 4 }\ngrid:\n  every: [2]\n  windows: [800]\n  algorithms: [logistic_regression, random_forest]\n",
        ),
    );
    let by = |name: &str| {
        report
            .policies
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| {
                panic!(
                    "no policy {name}: {:?}",
                    report.policies.iter().map(|p| &p.name).collect::<Vec<_>>()
                )
            })
    };
    let lr = by("every2-last800-logistic_regression");
    let rf = by("every2-last800-random_forest");
    let gb = by("gb-small");
    assert_eq!(lr.algorithm, "logistic_regression");
    assert_eq!(rf.algorithm, "random_forest");
    assert_eq!(gb.algorithm, "gradient_boosting");
    assert_eq!(by("current").algorithm, "logistic_regression");
    assert!(
        gb.description
            .ends_with("; gradient_boosting {\"max_leaves\":4,\"n_estimators\":20}"),
        "{}",
        gb.description
    );
    assert!(
        rf.description.ends_with("; random_forest"),
        "{}",
        rf.description
    );
    // the model's own algorithm without params is the model's trainer: no suffix
    assert!(
        !lr.description.contains("logistic_regression"),
        "{}",
        lr.description
    );
    // same periods retrained, different models: the scores differ
    assert_eq!(lr.retrain_periods, rf.retrain_periods);
    assert_eq!(lr.retrain_periods, gb.retrain_periods);
    assert_ne!(lr.metrics, rf.metrics);
    assert_ne!(rf.metrics, gb.metrics);
    assert!(mean(&gb.metrics) > 0.6, "{}", mean(&gb.metrics));

    // --apply writes the algorithm and its params into `training:`
    let text = "version: 1\nmodels:\n  - name: m\n    task: classification\n    target: label\n    data: { path: d.csv }\n    training:\n      algorithm: logistic_regression\n      params: { max_iterations: 50 }\n";
    let file = std::path::Path::new("retrain.yaml");
    let config = retrain::config::parse(file, text).unwrap();
    let spec = retrain::config::parse_policies(
        file,
        "policies:\n  - name: gb\n    every: 1\n    algorithm: gradient_boosting\n    params: { n_estimators: 20 }\n  - name: rf\n    every: 1\n    algorithm: random_forest\n",
        config.models[0].task,
        false,
    )
    .unwrap();
    let policies = retrain::backtest::policy::resolve(&config.models[0], &spec.policies);
    let week = retrain::config::Duration::from_secs(7 * 86_400);
    let out = retrain::backtest::apply::apply_policy(file, text, 0, &policies[1], week).unwrap();
    assert!(
        out.contains("      algorithm: gradient_boosting\n      params: {\"n_estimators\":20}\n"),
        "{out}"
    );
    let m = &retrain::config::parse(file, &out).unwrap().models[0];
    assert_eq!(
        m.training.algorithm,
        retrain::config::Algorithm::GradientBoosting
    );
    let out = retrain::backtest::apply::apply_policy(file, text, 0, &policies[2], week).unwrap();
    assert!(
        out.contains("      algorithm: random_forest\n      params: {}\n"),
        "the old algorithm's params go: {out}"
    );

    // bad input, at its key
    for (policies, needle) in [
        (
            "grid:\n  every: [1]\n  algorithms: [logistic_regression, linear_regression]\n",
            "grid.algorithms[1]: LinearRegression does not fit a classification task",
        ),
        (
            "policies:\n  - name: p\n    every: 1\n    params: { n_estimators: 5 }\n",
            "policies.yaml:4:5: policies[0].params: params without an algorithm",
        ),
        (
            "policies:\n  - name: p\n    every: 1\n    algorithm: gradient_boosting\n    params: { n_estimator: 5 }\n",
            "did you mean `n_estimators`",
        ),
        (
            "policies:\n  - name: p\n    every: 1\n    algorithm: xgboost\n",
            "policies.yaml:4:",
        ),
    ] {
        let file = repo.write("policies.yaml", policies);
        let run = repo.run(&["backtest", "--policies", file.to_str().unwrap()]);
        assert_eq!(run.code, 2, "{policies}: {}", run.stderr);
        assert!(run.stderr.contains(needle), "{policies}: {}", run.stderr);
    }
}

/// CBPE in the replay: with labels 3 periods late, the estimate on the periods not yet
/// labelled sees a shift of the rows towards the boundary (less sure, less right) when it
/// happens, while the realized accuracy waits for the labels.
#[test]
fn a_cbpe_policy_reacts_to_a_covariate_shift_before_the_labels_arrive() {
    let spec = Spec {
        label_noise: 0.0,
        label_temperature: 0.3,
        drifts: (0..4)
            .map(|i| Drift {
                from_row: 15 * PERIOD,
                kind: DriftKind::Scale {
                    column: format!("num_{i:02}"),
                    factor: 0.2,
                },
            })
            .collect(),
        ..periods_spec()
    };
    let repo = repo_of(spec, "    backtest: { period_rows: 200, warmup: 4 }\n");
    let policy = |name: &str, extra: &str| {
        format!(
            "  - name: {name}\n    triggers: {{ performance: {{ metric: accuracy, max_drop: 0.05{extra} }} }}\n    window: {{ kind: fixed, last: 400 }}\n"
        )
    };
    let report = run(
        &repo,
        Some(&format!(
            "label_delay: 3\npolicies:\n{}{}",
            policy("realized", ""),
            policy("cbpe", ", estimate: cbpe")
        )),
    );
    let first_after = |name: &str| {
        let p = report.policy(name).unwrap();
        let before: Vec<usize> = p
            .retrain_periods
            .iter()
            .copied()
            .filter(|r| *r <= 15)
            .collect();
        assert!(
            before.is_empty(),
            "{name} retrained before the shift: {:?}",
            p.retrain_periods
        );
        p.retrain_periods.iter().copied().find(|r| *r > 15)
    };
    let cbpe = first_after("cbpe").expect("the estimate fired after the shift");
    let realized = first_after("realized").expect("the realized accuracy fired once labelled");
    // a retrain serving from period r was decided after period r - 1
    assert_eq!(cbpe, 16, "the estimate fired on the first shifted period");
    assert!(realized >= cbpe + 3, "realized {realized}, cbpe {cbpe}");
    // the retrains before the labels arrive train on rows from before the shift, so the
    // estimate keeps firing until a window holds shifted labelled rows
    let (c, r) = (
        report.policy("cbpe").unwrap(),
        report.policy("realized").unwrap(),
    );
    assert!(
        c.retrains > r.retrains,
        "{:?} vs {:?}",
        c.retrain_periods,
        r.retrain_periods
    );
}
