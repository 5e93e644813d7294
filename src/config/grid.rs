//! Policy grids (`backtest.grid` in retrain.yaml): the policies one grid stands for,
//! one per trigger value (and combination) × window × warm start × gate × refit ×
//! algorithm. Part of
//! the config: `retrain check` validates every policy a grid expands to, and the
//! backtest replays them.

use super::backtest::{GateChoice, PolicyTraining, RawGrid};
use super::params::{algorithm_name, hyper_params};
use super::{
    Algorithm, ColumnSelection, DriftMethod, DriftTrigger, Fraction, Gate, Metric,
    PerformanceTrigger, PolicySpec, Rule, Task, Threshold, Triggers, Window, WindowSize,
};

/// `algorithm` with its default params, `None` when it does not fit `task` (the
/// validation refuses such a grid first).
pub(crate) fn default_training(algorithm: Algorithm, task: Task) -> Option<PolicyTraining> {
    if !algorithm_fits(algorithm, task) {
        return None;
    }
    let (hyper, max_categories) = hyper_params(
        algorithm,
        task == Task::Regression,
        &std::collections::BTreeMap::new(),
    )
    .ok()?;
    Some(PolicyTraining {
        algorithm,
        params: None,
        hyper,
        max_categories,
    })
}

/// Whether a built-in `algorithm` trains models of `task`.
pub fn algorithm_fits(algorithm: Algorithm, task: Task) -> bool {
    match algorithm {
        Algorithm::LogisticRegression | Algorithm::GaussianNb | Algorithm::DecisionTree => {
            task == Task::Classification
        }
        Algorithm::LinearRegression | Algorithm::ElasticNet => task == Task::Regression,
        Algorithm::GradientBoosting | Algorithm::RandomForest => true,
    }
}

fn window_slug(w: &Option<Window>) -> String {
    match w {
        None => String::new(),
        Some(Window::All) => "-all".into(),
        Some(Window::Fixed(WindowSize::Rows(n))) => format!("-last{n}"),
        Some(Window::Fixed(WindowSize::Span(d))) => format!("-last{d}"),
        Some(Window::Fixed(WindowSize::All)) => "-all".into(),
        Some(Window::Dynamic(_)) => "-dynamic".into(),
        Some(Window::SinceChange(_)) => "-since-change".into(),
    }
}

pub(crate) fn empty_triggers() -> Triggers {
    Triggers::none()
}

pub(crate) fn drift(share: Fraction) -> DriftTrigger {
    DriftTrigger {
        method: DriftMethod::Auto,
        threshold: Threshold::Auto,
        share,
        columns: ColumnSelection::All,
        per_column: Default::default(),
    }
}

pub(crate) fn performance(task: Task, drop: f64) -> PerformanceTrigger {
    PerformanceTrigger {
        metric: match task {
            Task::Classification => Metric::Accuracy,
            Task::Regression => Metric::Rmse,
        },
        min: None,
        max_drop: Some(drop),
        detector: None,
        estimate: None,
    }
}

/// The one-condition gate of the grid's `gate_min_change` (see [`performance`] for the metric).
fn min_change_gate(task: Task, change: f64) -> Gate {
    Gate {
        metric: performance(task, 0.0).metric,
        min: None,
        max: None,
        min_change: Some(change),
        min_relative_change: None,
        slice: None,
    }
}

/// The policies of a grid: one per trigger value (and combination) × window × warm start
/// × gate.
pub fn expand_grid(g: &RawGrid, task: Task) -> Vec<PolicySpec> {
    let mut rules: Vec<(String, Rule)> = Vec::new();
    for k in &g.every {
        rules.push((
            format!("every{k}"),
            Rule::Retrain {
                every: Some(*k),
                triggers: Box::new(empty_triggers()),
            },
        ));
    }
    for s in &g.drift_share {
        let mut t = empty_triggers();
        t.drift = Some(drift(*s));
        rules.push((
            format!("drift{}", s.get()),
            Rule::Retrain {
                every: None,
                triggers: Box::new(t),
            },
        ));
    }
    for d in &g.performance_drop {
        let mut t = empty_triggers();
        t.performance = Some(performance(task, *d));
        rules.push((
            format!("perfdrop{d}"),
            Rule::Retrain {
                every: None,
                triggers: Box::new(t),
            },
        ));
    }
    for m in &g.performance_min {
        let mut t = empty_triggers();
        let mut p = performance(task, 0.0);
        p.max_drop = None;
        p.min = Some(*m);
        t.performance = Some(p);
        rules.push((
            format!("perfmin{m}"),
            Rule::Retrain {
                every: None,
                triggers: Box::new(t),
            },
        ));
    }
    for n in &g.new_data_rows {
        let mut t = empty_triggers();
        t.new_data = Some(super::NewDataRule::Rows(*n));
        rules.push((
            format!("newdata{n}"),
            Rule::Retrain {
                every: None,
                triggers: Box::new(t),
            },
        ));
    }
    if g.combine {
        for s in &g.drift_share {
            for d in &g.performance_drop {
                let mut t = empty_triggers();
                t.drift = Some(drift(*s));
                t.performance = Some(performance(task, *d));
                rules.push((
                    format!("drift{}+perfdrop{d}", s.get()),
                    Rule::Retrain {
                        every: None,
                        triggers: Box::new(t),
                    },
                ));
            }
        }
    }
    let windows: Vec<Option<Window>> = if g.windows.is_empty() {
        vec![None]
    } else {
        g.windows
            .iter()
            .map(|w| {
                Some(match w {
                    WindowSize::All => Window::All,
                    w => Window::Fixed(*w),
                })
            })
            .collect()
    };
    let warms: Vec<Option<bool>> = if g.warm_start.is_empty() {
        vec![None]
    } else {
        g.warm_start.iter().map(|w| Some(*w)).collect()
    };
    let gates: Vec<(String, Option<Vec<Gate>>)> = if g.gate_min_change.is_empty() {
        vec![(String::new(), None)]
    } else {
        g.gate_min_change
            .iter()
            .map(|c| match c {
                GateChoice::MinChange(v) => {
                    (format!("-gate{v}"), Some(vec![min_change_gate(task, *v)]))
                }
                GateChoice::No(_) => ("-nogate".to_string(), Some(Vec::new())),
            })
            .collect()
    };
    let refits: Vec<Option<bool>> = if g.refit.is_empty() {
        vec![None]
    } else {
        g.refit.iter().map(|r| Some(*r)).collect()
    };
    let trainings: Vec<(String, Option<PolicyTraining>)> = if g.algorithms.is_empty() {
        vec![(String::new(), None)]
    } else {
        g.algorithms
            .iter()
            .filter_map(|a| {
                let training = default_training(*a, task)?;
                Some((format!("-{}", algorithm_name(*a)), Some(training)))
            })
            .collect()
    };
    let mut out = Vec::new();
    for (name, rule) in &rules {
        for w in &windows {
            for warm in &warms {
                let warm_slug = match (warm, g.warm_start.len() > 1) {
                    (Some(true), _) => "-warm",
                    (Some(false), true) => "-cold",
                    _ => "",
                };
                for (gate_slug, gate) in &gates {
                    for refit in &refits {
                        let refit_slug = match (refit, g.refit.len() > 1) {
                            (Some(true), _) => "-refit",
                            (Some(false), true) => "-norefit",
                            _ => "",
                        };
                        for (training_slug, training) in &trainings {
                            out.push(PolicySpec {
                                name: format!(
                                    "{name}{}{warm_slug}{gate_slug}{refit_slug}{training_slug}",
                                    window_slug(w)
                                ),
                                rule: rule.clone(),
                                window: w.clone(),
                                warm_start: *warm,
                                gates: gate.clone(),
                                refit: *refit,
                                shadow: None,
                                training: training.clone(),
                            });
                        }
                    }
                }
            }
        }
    }
    out
}
