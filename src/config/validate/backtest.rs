//! The `backtest:` section of a model.

use super::*;
use crate::config::backtest::PolicyTraining;

/// Validates a `backtest:` section (`base` = its key path) or a policies file (`base` empty).
pub(super) fn validate_backtest(
    cx: &Ctx,
    base: &[Seg],
    task: Task,
    has_time: bool,
    b: RawBacktest,
) -> Result<BacktestSpec, ConfigError> {
    if b.period_rows == Some(0) {
        return Err(cx.err(
            &key(base, &["period_rows"]),
            "a period needs at least 1 row",
            None,
        ));
    }
    if b.warmup == Some(0) {
        return Err(cx.err(
            &key(base, &["warmup"]),
            "the first model needs at least 1 period",
            None,
        ));
    }
    if let Some(m) = b.metric {
        if m.task() != task {
            return Err(cx.err(
                &key(base, &["metric"]),
                format!("`{m}` is not a {} metric", task_name(task)),
                None,
            ));
        }
    }
    if let Some(t) = b.tolerance {
        if !(t >= 0.0 && t.is_finite()) {
            return Err(cx.err(&key(base, &["tolerance"]), "must be a number ≥ 0", None));
        }
    }
    if let Some(t) = b.max_retrain_share {
        if !(t > 0.0 && t <= 1.0) {
            return Err(cx.err(
                &key(base, &["max_retrain_share"]),
                "must be a share of the periods in (0, 1], e.g. 0.25 for one period in four",
                None,
            ));
        }
    }
    if let Some(t) = b.relative_tolerance {
        if !((0.0..1.0).contains(&t)) {
            return Err(cx.err(
                &key(base, &["relative_tolerance"]),
                "must be a fraction in [0, 1), e.g. 0.01 for 1%",
                None,
            ));
        }
    }
    let mut policies = Vec::new();
    let mut names = BTreeSet::new();
    for (i, p) in b.policies.iter().enumerate() {
        let mut pb = key(base, &["policies"]);
        pb.push(Seg::Index(i));
        let ok_name = !p.name.is_empty()
            && p.name.len() <= 64
            && p.name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.+-".contains(c));
        if !ok_name {
            return Err(cx.err(
                &key(&pb, &["name"]),
                format!(
                    "policy name `{}` must be 1-64 letters, digits, `_`, `.`, `+` or `-`",
                    p.name
                ),
                None,
            ));
        }
        if !names.insert(p.name.clone()) {
            return Err(cx.err(
                &key(&pb, &["name"]),
                format!("duplicate policy name `{}`", p.name),
                Some("policy names must be unique".into()),
            ));
        }
        if p.never && (p.every.is_some() || p.triggers.is_some()) {
            return Err(cx.err(
                &key(&pb, &["never"]),
                "`never: true` takes no `every` or `triggers`",
                None,
            ));
        }
        if p.every == Some(0) {
            return Err(cx.err(
                &key(&pb, &["every"]),
                "retrain every 1 period or more",
                None,
            ));
        }
        let rule = if p.never || (p.every.is_none() && p.triggers.is_none()) {
            Rule::Never
        } else {
            let triggers =
                validate_triggers(cx, &pb, task, p.triggers.clone().unwrap_or_default())?;
            Rule::Retrain {
                every: p.every,
                triggers: Box::new(triggers),
            }
        };
        let window = match &p.window {
            Some(w) => Some(validate_window(cx, &key(&pb, &["window"]), has_time, w)?),
            None => None,
        };
        let detects = matches!(&rule, Rule::Retrain { triggers, .. }
            if triggers.performance.as_ref().is_some_and(|p| p.detector.is_some()));
        if matches!(window, Some(Window::SinceChange(_))) && !detects {
            return Err(cx.err(
                &key(&pb, &["window", "kind"]),
                "`since_change` starts the window at the change the performance trigger's detector signals",
                Some("give this policy `triggers: { performance: { metric: …, detector: adwin } }`".into()),
            ));
        }
        if let Some(gates) = &p.gates {
            for (j, g) in gates.iter().enumerate() {
                let mut gp = key(&pb, &["gates"]);
                gp.push(Seg::Index(j));
                validate_gate(cx, &gp, task, g)?;
            }
        }
        let training = match (p.algorithm, &p.params) {
            (None, None) => None,
            (None, Some(_)) => {
                return Err(cx.err(
                    &key(&pb, &["params"]),
                    "params without an algorithm",
                    Some("name the algorithm they are for: `algorithm: gradient_boosting`".into()),
                ))
            }
            (Some(a), params) => {
                super::triggers::check_algorithm_fits(cx, &key(&pb, &["algorithm"]), a, task)?;
                let given = params.clone().unwrap_or_default();
                let (hyper, max_categories) =
                    params::hyper_params(a, task == Task::Regression, &given).map_err(|e| {
                        cx.err(&key(&pb, &["params", e.key.as_str()]), e.message, e.hint)
                    })?;
                Some(PolicyTraining {
                    algorithm: a,
                    params: params.clone(),
                    hyper,
                    max_categories,
                })
            }
        };
        let shadow = match &p.shadow {
            None => None,
            Some(crate::config::backtest::ShadowChoice::Off(_)) => Some(None),
            Some(crate::config::backtest::ShadowChoice::On(sh)) => {
                let sp = key(&pb, &["shadow"]);
                if sh.min_rows == 0 {
                    return Err(cx.err(
                        &key(&sp, &["min_rows"]),
                        "must be at least 1: the candidate is compared on this many newer labelled rows",
                        None,
                    ));
                }
                for (j, g) in sh.gates.iter().flatten().enumerate() {
                    let mut gp = key(&sp, &["gates"]);
                    gp.push(Seg::Index(j));
                    validate_gate(cx, &gp, task, g)?;
                    if g.slice.is_some() {
                        return Err(cx.err(
                            &key(&gp, &["slice"]),
                            "shadow gates apply to all the newer rows, not to a slice",
                            None,
                        ));
                    }
                }
                Some(Some((sh.min_rows, sh.gates.clone())))
            }
        };
        policies.push(PolicySpec {
            name: p.name.clone(),
            rule,
            window,
            warm_start: p.warm_start,
            gates: p.gates.clone(),
            refit: p.refit,
            shadow,
            training,
        });
    }
    if let Some(g) = &b.grid {
        let gb = key(base, &["grid"]);
        if g.every.contains(&0) {
            return Err(cx.err(
                &key(&gb, &["every"]),
                "retrain every 1 period or more",
                None,
            ));
        }
        if let Some(d) = g
            .performance_drop
            .iter()
            .find(|d| !(**d >= 0.0 && d.is_finite()))
        {
            return Err(cx.err(
                &key(&gb, &["performance_drop"]),
                format!("a drop must be a number ≥ 0, got {d}"),
                None,
            ));
        }
        if let Some(m) = g.performance_min.iter().find(|m| !m.is_finite()) {
            return Err(cx.err(
                &key(&gb, &["performance_min"]),
                format!("a minimum must be a number, got {m}"),
                None,
            ));
        }
        if g.new_data_rows.contains(&0) {
            return Err(cx.err(
                &key(&gb, &["new_data_rows"]),
                "the minimum must be greater than 0",
                None,
            ));
        }
        if let Some(v) = g.gate_min_change.iter().find_map(|c| match c {
            crate::config::backtest::GateChoice::MinChange(v) if !v.is_finite() => Some(*v),
            _ => None,
        }) {
            return Err(cx.err(
                &key(&gb, &["gate_min_change"]),
                format!("a change must be a number or `none`, got {v}"),
                None,
            ));
        }
        if g.windows.iter().any(|w| matches!(w, WindowSize::Span(_))) && !has_time {
            return Err(cx.err(
                &key(&gb, &["windows"]),
                "a window given as a duration needs `time_column`",
                Some("give the window in rows".into()),
            ));
        }
        for (j, a) in g.algorithms.iter().enumerate() {
            let mut at = key(&gb, &["algorithms"]);
            at.push(Seg::Index(j));
            super::triggers::check_algorithm_fits(cx, &at, *a, task)?;
        }
        for p in super::grid::expand_grid(g, task) {
            if !names.insert(p.name.clone()) {
                return Err(cx.err(
                    &gb,
                    format!(
                        "the grid's policy `{}` has the name of another policy",
                        p.name
                    ),
                    Some("rename the written-out policy".into()),
                ));
            }
            policies.push(p);
        }
    }
    Ok(BacktestSpec {
        period: b.period,
        period_rows: b.period_rows,
        warmup: b.warmup.map(|w| w as usize),
        label_delay: b.label_delay as usize,
        metric: b.metric,
        tolerance: b.tolerance,
        relative_tolerance: b.relative_tolerance,
        max_retrain_share: b.max_retrain_share,
        defaults: b
            .defaults
            .unwrap_or(b.policies.is_empty() && b.grid.is_none()),
        policies,
    })
}
