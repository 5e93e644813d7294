//! The `evaluation:` section of a model: holdout, metrics, intervals, gates.

use super::*;

/// More resamples than any interval needs: each costs a pass over the holdout.
pub(super) const MAX_RESAMPLES: u32 = 100_000;

/// One condition of a gate (`evaluation.gates[i]` or a backtest policy's `gates[i]`).
pub(super) fn validate_gate(cx: &Ctx, gp: &[Seg], task: Task, g: &Gate) -> Result<(), ConfigError> {
    if g.metric.task() != task {
        return Err(cx.err(
            &key(gp, &["metric"]),
            format!("`{}` is not a {} metric", g.metric, task_name(task)),
            None,
        ));
    }
    for (name, v) in [
        ("min", g.min),
        ("max", g.max),
        ("min_change", g.min_change),
        ("min_relative_change", g.min_relative_change),
    ] {
        if v.is_some_and(|v| !v.is_finite()) {
            return Err(cx.err(
                &key(gp, &[name]),
                format!("`{name}` must be a finite number"),
                None,
            ));
        }
    }
    if g.min.is_none()
        && g.max.is_none()
        && g.min_change.is_none()
        && g.min_relative_change.is_none()
    {
        return Err(cx.err(
            gp,
            "a gate needs `min`, `max`, `min_change` or `min_relative_change`",
            None,
        ));
    }
    Ok(())
}

pub(super) fn validate_evaluation(
    cx: &Ctx,
    base: &[Seg],
    task: Task,
    has_time: bool,
    e: RawEvaluation,
) -> Result<Evaluation, ConfigError> {
    let eb = key(base, &["evaluation"]);
    let f = e.holdout.fraction.get();
    if !(f > 0.0 && f < 1.0) {
        return Err(cx.err(
            &key(&eb, &["holdout", "fraction"]),
            format!("must be between 0 and 1 (exclusive), got {f}"),
            None,
        ));
    }
    let _ = has_time; // a time holdout without a time column uses row order (documented)
    let metrics = e.metrics.unwrap_or_else(|| match task {
        Task::Classification => vec![Metric::Accuracy, Metric::F1, Metric::RocAuc],
        Task::Regression => vec![Metric::Rmse, Metric::Mae, Metric::R2],
    });
    if metrics.is_empty() {
        return Err(cx.err(&key(&eb, &["metrics"]), "metrics is empty", None));
    }
    for m in &metrics {
        if m.task() != task {
            return Err(cx.err(
                &key(&eb, &["metrics"]),
                format!("`{m}` is not a {} metric", task_name(task)),
                None,
            ));
        }
    }
    let primary = e.primary.unwrap_or(metrics[0]);
    if primary.task() != task {
        return Err(cx.err(
            &key(&eb, &["primary"]),
            format!("`{primary}` is not a {} metric", task_name(task)),
            None,
        ));
    }
    let mut metrics = metrics;
    if !metrics.contains(&primary) {
        metrics.insert(0, primary);
    }
    for (i, g) in e.gates.iter().enumerate() {
        let gp = {
            let mut p = key(&eb, &["gates"]);
            p.push(Seg::Index(i));
            p
        };
        validate_gate(cx, &gp, task, g)?;
        if let Some(s) = &g.slice {
            if !e.slices.contains(s) {
                return Err(cx.err(
                    &key(&gp, &["slice"]),
                    format!("slice `{s}` is not in evaluation.slices"),
                    Some(format!("add `{s}` to `evaluation.slices`")),
                ));
            }
        }
        if !metrics.contains(&g.metric) {
            metrics.push(g.metric);
        }
    }
    let shadow = match e.shadow {
        None => None,
        Some(sh) => {
            let sp = key(&eb, &["shadow"]);
            if sh.min_rows == 0 {
                return Err(cx.err(
                    &key(&sp, &["min_rows"]),
                    "must be at least 1: the candidate is compared on this many newer labelled rows",
                    None,
                ));
            }
            let explicit = sh.gates.is_some();
            let gates = sh.gates.unwrap_or_else(|| e.gates.clone());
            for (i, g) in gates.iter().enumerate() {
                let gp = {
                    let mut p = if explicit {
                        key(&sp, &["gates"])
                    } else {
                        key(&eb, &["gates"])
                    };
                    p.push(Seg::Index(i));
                    p
                };
                validate_gate(cx, &gp, task, g)?;
                if g.slice.is_some() && explicit {
                    return Err(cx.err(
                        &key(&gp, &["slice"]),
                        "shadow gates apply to all the newer rows, not to a slice",
                        None,
                    ));
                }
                if !metrics.contains(&g.metric) {
                    metrics.push(g.metric);
                }
            }
            if gates.iter().all(|g| g.slice.is_some()) {
                return Err(cx.err(
                    &sp,
                    "shadow evaluation needs a gate: set `evaluation.shadow.gates` (or `evaluation.gates`)",
                    Some("e.g. `gates: [ { metric: accuracy, min_change: 0 } ]`".into()),
                ));
            }
            Some(Shadow {
                min_rows: sh.min_rows,
                // slice gates of `evaluation.gates` do not apply to the newer rows
                gates: gates.into_iter().filter(|g| g.slice.is_none()).collect(),
                close_when_beaten: sh.close_when_beaten,
            })
        }
    };
    if e.intervals.method == IntervalMethod::Bootstrap && e.intervals.resamples < 10 {
        return Err(cx.err(
            &key(&eb, &["intervals", "resamples"]),
            "bootstrap needs at least 10 resamples",
            None,
        ));
    }
    if e.intervals.resamples > MAX_RESAMPLES {
        return Err(cx.err(
            &key(&eb, &["intervals", "resamples"]),
            format!(
                "at most {MAX_RESAMPLES} resamples (1000 is the usual; 10000 for tight intervals)"
            ),
            None,
        ));
    }
    Ok(Evaluation {
        holdout: e.holdout,
        metrics,
        primary,
        gates: e.gates,
        intervals: e.intervals,
        slices: e.slices,
        refit: e.refit,
        shadow,
    })
}
