//! The `triggers:` and `training:` sections of a model.

use super::*;

pub(super) fn validate_triggers(
    cx: &Ctx,
    base: &[Seg],
    task: Task,
    t: TriggersConfig,
) -> Result<Triggers, ConfigError> {
    let tb = key(base, &["triggers"]);
    let new_data = match &t.new_data {
        None => None,
        Some(nd) => match (nd.min_rows, nd.min_fraction) {
            (Some(rows), None) if rows > 0 => Some(NewDataRule::Rows(rows)),
            (None, Some(f)) if f > 0.0 && f.is_finite() => Some(NewDataRule::Fraction(f)),
            (Some(_), Some(_)) => {
                return Err(cx.err(
                    &key(&tb, &["new_data"]),
                    "give `min_rows` or `min_fraction`, not both",
                    None,
                ))
            }
            (None, None) => {
                return Err(cx.err(
                    &key(&tb, &["new_data"]),
                    "needs `min_rows` or `min_fraction`",
                    None,
                ))
            }
            _ => {
                return Err(cx.err(
                    &key(&tb, &["new_data"]),
                    "the minimum must be greater than 0",
                    None,
                ))
            }
        },
    };
    if let Some(p) = &t.prediction_drift {
        check_threshold(
            cx,
            &key(&tb, &["prediction_drift", "threshold"]),
            p.method,
            p.threshold,
        )?;
    }
    if let Some(drift) = &t.drift {
        check_threshold(
            cx,
            &key(&tb, &["drift", "threshold"]),
            drift.method,
            drift.threshold,
        )?;
        for (col, c) in &drift.per_column {
            check_threshold(
                cx,
                &key(&tb, &["drift", "per_column", col]),
                c.method,
                c.threshold,
            )?;
        }
        if let ColumnSelection::List(cols) = &drift.columns {
            if cols.is_empty() {
                return Err(cx.err(
                    &key(&tb, &["drift", "columns"]),
                    "the list of columns is empty",
                    Some("use `all`".into()),
                ));
            }
        }
    }
    if let Some(p) = &t.performance {
        if p.metric.task() != task {
            return Err(cx.err(
                &key(&tb, &["performance", "metric"]),
                format!("`{}` is not a {} metric", p.metric, task_name(task)),
                None,
            ));
        }
        if p.min.is_none() && p.max_drop.is_none() && p.detector.is_none() {
            return Err(cx.err(
                &key(&tb, &["performance"]),
                "needs `min`, `max_drop` or `detector`",
                None,
            ));
        }
        if let Some(d) = &p.detector {
            validate_detector(cx, &key(&tb, &["performance", "detector"]), d, task)?;
        }
        if p.estimate.is_some() {
            use crate::config::Metric::{Accuracy, Precision, Recall, RocAuc, F1};
            if !matches!(p.metric, Accuracy | Precision | Recall | F1 | RocAuc) {
                return Err(cx.err(
                    &key(&tb, &["performance", "estimate"]),
                    format!(
                        "CBPE estimates accuracy, precision, recall, f1 and roc_auc of a binary classifier, not `{}`",
                        p.metric
                    ),
                    Some("use one of those metrics, or remove `estimate`".into()),
                ));
            }
            if p.min.is_none() && p.max_drop.is_none() {
                return Err(cx.err(
                    &key(&tb, &["performance", "estimate"]),
                    "an estimate needs `min` or `max_drop` to fire on",
                    None,
                ));
            }
        }
        if let Some(d) = p.max_drop {
            if !(d >= 0.0 && d.is_finite()) {
                return Err(cx.err(&key(&tb, &["performance", "max_drop"]), "must be ≥ 0", None));
            }
        }
    }
    if let Some(m) = &t.max_per_period {
        if m.count == 0 {
            return Err(cx.err(
                &key(&tb, &["max_per_period", "count"]),
                "count must be at least 1",
                None,
            ));
        }
    }
    Ok(Triggers {
        mode: t.mode,
        schedule: t.schedule.map(|s| s.every),
        new_data,
        drift: t.drift,
        performance: t.performance,
        prediction_drift: t.prediction_drift,
        cooldown: t.cooldown,
        max_per_period: t.max_per_period,
    })
}

pub(super) fn check_threshold(
    cx: &Ctx,
    path: &[Seg],
    method: DriftMethod,
    threshold: Threshold,
) -> Result<(), ConfigError> {
    if let Threshold::Value(v) = threshold {
        let p_value = matches!(method, DriftMethod::Ks | DriftMethod::Chi2 | DriftMethod::Z);
        if p_value && !(v > 0.0 && v < 1.0) {
            return Err(cx.err(
                path,
                format!("a p-value threshold must be between 0 and 1, got {v}"),
                None,
            ));
        }
        if matches!(method, DriftMethod::Auto) {
            return Err(cx.err(
                path,
                "`method: auto` picks a different test per column; its thresholds cannot be set with one number",
                Some("choose a method (e.g. `wasserstein`) or leave `threshold: auto`".into()),
            ));
        }
        if matches!(method, DriftMethod::JensenShannon | DriftMethod::Hellinger) && v > 1.0 {
            return Err(cx.err(
                path,
                format!("this distance lies in [0, 1]; threshold {v} can never be reached"),
                None,
            ));
        }
    }
    Ok(())
}

pub(super) fn task_name(task: Task) -> &'static str {
    match task {
        Task::Classification => "classification",
        Task::Regression => "regression",
    }
}

pub(super) fn validate_training(
    cx: &Ctx,
    base: &[Seg],
    task: Task,
    has_time: bool,
    t: TrainingConfig,
) -> Result<Training, ConfigError> {
    let tb = key(base, &["training"]);
    if t.command.is_none() {
        check_algorithm_fits(cx, &key(&tb, &["algorithm"]), t.algorithm, task)?;
    }
    let window = validate_window(cx, &key(&tb, &["window"]), has_time, &t.window)?;
    if let Some(cmd) = &t.command {
        if cmd.train.trim().is_empty() || cmd.predict.trim().is_empty() {
            return Err(cx.err(
                &key(&tb, &["command"]),
                "`train` and `predict` must both be commands",
                None,
            ));
        }
    }
    let (hyper, max_categories) = match &t.command {
        Some(_) => (None, params::DEFAULT_MAX_CATEGORIES),
        None => {
            let (h, m) = params::hyper_params(t.algorithm, task == Task::Regression, &t.params)
                .map_err(|e| cx.err(&key(&tb, &["params", e.key.as_str()]), e.message, e.hint))?;
            (Some(h), m)
        }
    };
    let search = match &t.search {
        None => None,
        Some(sc) => Some(super::search::validate_search(
            cx,
            &key(&tb, &["search"]),
            t.algorithm,
            task == Task::Regression,
            t.command.is_some(),
            &t.params,
            sc,
        )?),
    };
    Ok(Training {
        search,
        algorithm: t.algorithm,
        params: t.params,
        hyper,
        max_categories,
        window,
        warm_start: t.warm_start.enabled(),
        warm_start_required: t.warm_start == WarmStart::Mode(WarmMode::Required),
        command: t.command,
    })
}

/// Refuses a built-in algorithm that does not train models of `task`, at `at`.
pub(super) fn check_algorithm_fits(
    cx: &Ctx,
    at: &[Seg],
    algorithm: Algorithm,
    task: Task,
) -> Result<(), ConfigError> {
    if crate::config::grid::algorithm_fits(algorithm, task) {
        return Ok(());
    }
    Err(cx.err(
        at,
        format!("{algorithm:?} does not fit a {} task", task_name(task)),
        Some(match task {
            Task::Classification => {
                "use gradient_boosting, random_forest, logistic_regression, decision_tree or gaussian_nb"
                    .into()
            }
            Task::Regression => {
                "use gradient_boosting, random_forest, linear_regression or elastic_net".into()
            }
        }),
    ))
}

pub(super) fn validate_window(
    cx: &Ctx,
    wb: &[Seg],
    has_time: bool,
    w: &WindowConfig,
) -> Result<Window, ConfigError> {
    let needs_time = |w: &WindowSize| matches!(w, WindowSize::Span(_)) && !has_time;
    let window = match w.kind {
        WindowKind::All => {
            if w.last.is_some() || !w.candidates.is_empty() {
                return Err(cx.err(wb, "`kind: all` takes no `last` or `candidates`", None));
            }
            Window::All
        }
        WindowKind::Fixed => match (w.last, w.candidates.is_empty()) {
            (Some(w), true) => Window::Fixed(w),
            _ => {
                return Err(cx.err(
                    wb,
                    "`kind: fixed` needs `last` (rows or a duration) and no `candidates`",
                    None,
                ))
            }
        },
        WindowKind::Dynamic => {
            if w.candidates.len() < 2 || w.last.is_some() {
                return Err(cx.err(
                    wb,
                    "`kind: dynamic` needs two or more `candidates` and no `last`",
                    None,
                ));
            }
            Window::Dynamic(w.candidates.clone())
        }
        WindowKind::SinceChange => {
            if !w.candidates.is_empty() {
                return Err(cx.err(
                    wb,
                    "`kind: since_change` takes no `candidates`",
                    Some("`last` sets the window used when no change was signalled".into()),
                ));
            }
            Window::SinceChange(w.last.unwrap_or(WindowSize::All))
        }
    };
    let all_sizes: Vec<WindowSize> = w
        .last
        .into_iter()
        .chain(w.candidates.iter().copied())
        .collect();
    if all_sizes.iter().any(needs_time) {
        return Err(cx.err(
            wb,
            "a window given as a duration needs `time_column`",
            Some("set the model's `time_column`, or give the window in rows".into()),
        ));
    }
    Ok(window)
}

fn validate_detector(
    cx: &Ctx,
    db: &[Seg],
    d: &DetectorSpec,
    task: Task,
) -> Result<(), ConfigError> {
    if let Some(name) = d.foreign_settings().first() {
        return Err(cx.err(
            &key(db, &[name]),
            format!("{} has no `{name}`", d.kind),
            None,
        ));
    }
    if d.kind == DetectorKind::Ddm && task == Task::Regression {
        return Err(cx.err(
            &key(db, &["kind"]),
            "DDM watches a 0/1 error stream (classification); a regression model's errors are real numbers",
            Some("use `adwin` or `page_hinkley`".into()),
        ));
    }
    let bad = |name: &str, what: &str| Err(cx.err(&key(db, &[name]), what, None));
    let positive = |v: Option<f64>| v.is_none_or(|v| v > 0.0 && v.is_finite());
    match (d.kind, d.delta) {
        (DetectorKind::Adwin, Some(v)) if !(v > 0.0 && v < 1.0) => {
            return bad("delta", "must be in (0, 1): the confidence of a change")
        }
        (_, Some(v)) if !(v >= 0.0 && v.is_finite()) => return bad("delta", "must be ≥ 0"),
        _ => {}
    }
    if !positive(d.threshold) {
        return bad("threshold", "must be > 0");
    }
    if !d.alpha.is_none_or(|v| v > 0.0 && v <= 1.0) {
        return bad("alpha", "must be in (0, 1]");
    }
    if !positive(d.warning) {
        return bad("warning", "must be > 0");
    }
    if !(d.drift() > d.warning() && d.drift().is_finite()) {
        return Err(cx.err(
            &key(db, &["drift"]),
            format!(
                "must be above `warning` ({}): the warning zone comes before a change",
                d.warning()
            ),
            None,
        ));
    }
    Ok(())
}
