//! Candidate policies: the model's current one (from `retrain.yaml`), the built-in
//! candidates, written-out policies and grids. Everything here is resolved against the
//! model: a policy that leaves its window or warm start open takes the model's.

use crate::config::backtest::{GateChoice, PolicyTraining, RawGrid};
use crate::config::grid::{drift, empty_triggers, expand_grid, performance};
use crate::config::{
    Fraction, Gate, ModelConfig, PolicySpec, Rule, TriggerMode, Triggers, Window, WindowSize,
};

/// A policy ready to replay.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub name: String,
    pub rule: Rule,
    pub window: Window,
    pub warm_start: bool,
    /// What a candidate must pass to replace the deployed model; empty: nothing (every
    /// candidate is deployed).
    pub gates: Vec<Gate>,
    /// A blessed candidate is refitted on its whole window before it is deployed.
    pub refit: bool,
    /// A blessed candidate waits for a shadow period before it is deployed.
    pub shadow: Option<crate::config::Shadow>,
    /// The model's current `retrain.yaml` policy.
    pub current: bool,
    /// Another trainer than the model's; `None`: the model's.
    pub training: Option<PolicyTraining>,
}

impl Policy {
    /// The built-in algorithm this policy trains: its own, or the model's.
    pub fn algorithm(&self, model: &ModelConfig) -> crate::config::Algorithm {
        self.training
            .as_ref()
            .map_or(model.training.algorithm, |t| t.algorithm)
    }

    /// The policy in words: `drift share ≥ 0.3 (any), window last 1344 rows, cold start`.
    pub fn describe(&self) -> String {
        let rule = match &self.rule {
            Rule::Never => "never retrain".to_string(),
            Rule::Retrain { every, triggers } => {
                let mut parts = Vec::new();
                if let Some(k) = every {
                    parts.push(if *k == 1 {
                        "every period".to_string()
                    } else {
                        format!("every {k} periods")
                    });
                }
                parts.extend(describe_triggers(triggers));
                let joiner = match triggers.mode {
                    TriggerMode::Any => " or ",
                    TriggerMode::All => " and ",
                };
                let mut text = parts.join(joiner);
                if let Some(c) = triggers.cooldown {
                    text.push_str(&format!(", cooldown {c}"));
                }
                if let Some(m) = &triggers.max_per_period {
                    text.push_str(&format!(", at most {} per {}", m.count, m.period));
                }
                if text.is_empty() {
                    "no trigger: never retrain".into()
                } else {
                    text
                }
            }
        };
        let trainer = match &self.training {
            None => String::new(),
            Some(t) => format!(
                "; {}{}",
                crate::config::params::algorithm_name(t.algorithm),
                match &t.params {
                    Some(p) if !p.is_empty() => format!(
                        " {}",
                        serde_json::Value::from(
                            p.clone().into_iter().collect::<serde_json::Map<_, _>>()
                        )
                    ),
                    _ => String::new(),
                }
            ),
        };
        format!(
            "{rule}; window {}; {} start; {}{}{trainer}",
            describe_window(&self.window),
            if self.warm_start { "warm" } else { "cold" },
            describe_gates(&self.gates),
            match (self.gates.is_empty(), self.refit) {
                (false, true) => ", refit on the whole window",
                (false, false) => "",
                (true, true) => ", trained on the whole window",
                (true, false) => ", trained without the window's holdout",
            },
        ) + &self
            .shadow
            .as_ref()
            .map(|s| {
                format!(
                    "; deployed after a shadow period of {} newer rows ({})",
                    s.min_rows,
                    describe_gates(&s.gates).trim_start_matches("gate ")
                )
            })
            .unwrap_or_default()
    }
}

/// `gate accuracy ≥ 0.6 and accuracy change ≥ 0.02`, or `no gate`.
pub fn describe_gates(gates: &[Gate]) -> String {
    if gates.is_empty() {
        return "no gate".into();
    }
    let mut parts = Vec::new();
    for g in gates {
        let m = match &g.slice {
            Some(s) => format!("{} per {s}", g.metric),
            None => g.metric.to_string(),
        };
        if let Some(v) = g.min {
            parts.push(format!("{m} ≥ {v}"));
        }
        if let Some(v) = g.max {
            parts.push(format!("{m} ≤ {v}"));
        }
        if let Some(v) = g.min_change {
            parts.push(format!("{m} change ≥ {v}"));
        }
        if let Some(v) = g.min_relative_change {
            parts.push(format!("{m} relative change ≥ {v}"));
        }
    }
    format!("gate {}", parts.join(" and "))
}

fn describe_triggers(t: &Triggers) -> Vec<String> {
    let mut parts = Vec::new();
    if let Some(s) = t.schedule {
        parts.push(format!("schedule every {s}"));
    }
    if let Some(n) = t.new_data {
        parts.push(match n {
            crate::config::NewDataRule::Rows(r) => format!("{r} new rows"),
            crate::config::NewDataRule::Fraction(f) => format!("{f} new rows fraction"),
        });
    }
    if let Some(d) = &t.drift {
        parts.push(format!("drift share ≥ {}", d.share.get()));
    }
    if let Some(p) = &t.performance {
        let mut s = Vec::new();
        if let Some(m) = p.min {
            s.push(format!("{} < {m}", p.metric));
        }
        if let Some(d) = p.max_drop {
            s.push(format!("{} drop > {d}", p.metric));
        }
        parts.push(s.join(" or "));
    }
    parts
}

pub fn describe_window(w: &Window) -> String {
    match w {
        Window::All => "all".into(),
        Window::Fixed(s) => s.to_string(),
        Window::SinceChange(s) => format!("since the detected change (else {s})"),
        Window::Dynamic(c) => format!(
            "dynamic [{}]",
            c.iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The built-in candidates: never; every 1, 2, 4, 8 periods; drift share 0.2 / 0.3 /
/// 0.5; performance drop 0.02 / 0.05 / 0.1; drift 0.3 or drop 0.05 — each on all data,
/// on the last 4 and the last 12 periods' rows, cold (and warm for logistic regression,
/// whose warm start means something); champion/challenger every period on the last 4
/// and 12 periods with margins 0.01 / 0.02 / 0.03 / 0.05, with and without a refit.
pub fn default_candidates(model: &ModelConfig, period_rows: usize) -> Vec<PolicySpec> {
    let frac = |v: f64| Fraction::new(v).expect("a fraction");
    let grid = RawGrid {
        every: vec![1, 2, 4, 8],
        drift_share: vec![frac(0.2), frac(0.3), frac(0.5)],
        performance_drop: vec![0.02, 0.05, 0.1],
        performance_min: vec![],
        new_data_rows: vec![],
        combine: false,
        windows: vec![
            WindowSize::All,
            WindowSize::Rows((4 * period_rows) as u64),
            WindowSize::Rows((12 * period_rows) as u64),
        ],
        warm_start: vec![false],
        gate_min_change: vec![],
        refit: vec![],
        algorithms: vec![],
    };
    let mut out = vec![PolicySpec {
        name: "never".into(),
        rule: Rule::Never,
        window: None,
        warm_start: None,
        gates: None,
        refit: None,
        shadow: None,
        training: None,
    }];
    out.extend(expand_grid(&grid, model.task));
    let mut combo = empty_triggers();
    combo.drift = Some(drift(frac(0.3)));
    combo.performance = Some(performance(model.task, 0.05));
    out.push(PolicySpec {
        name: format!("drift0.3+perfdrop0.05-last{}", 4 * period_rows),
        rule: Rule::Retrain {
            every: None,
            triggers: Box::new(combo),
        },
        window: Some(Window::Fixed(WindowSize::Rows((4 * period_rows) as u64))),
        warm_start: None,
        gates: None,
        refit: None,
        shadow: None,
        training: None,
    });
    // Champion/challenger: a candidate every period, deployed only when it beats the
    // deployed model on its holdout by the margin, then deployed as trained or refitted on
    // its whole window (the deployed model then saw the newest rows too).
    out.extend(expand_grid(
        &RawGrid {
            every: vec![1],
            windows: vec![
                WindowSize::Rows((4 * period_rows) as u64),
                WindowSize::Rows((12 * period_rows) as u64),
            ],
            warm_start: vec![false],
            gate_min_change: [0.01, 0.02, 0.03, 0.05]
                .into_iter()
                .map(GateChoice::MinChange)
                .collect(),
            refit: vec![false, true],
            ..Default::default()
        },
        model.task,
    ));
    if model.training.algorithm == crate::config::Algorithm::LogisticRegression {
        for k in [1, 4] {
            out.push(PolicySpec {
                name: format!("every{k}-all-warm"),
                rule: Rule::Retrain {
                    every: Some(k),
                    triggers: Box::new(empty_triggers()),
                },
                window: Some(Window::All),
                warm_start: Some(true),
                gates: None,
                refit: None,
                shadow: None,
                training: None,
            });
        }
    }
    out
}

/// The model's current policy from `retrain.yaml`.
pub fn current(model: &ModelConfig) -> Policy {
    let t = &model.triggers;
    let any = t.schedule.is_some()
        || t.new_data.is_some()
        || t.drift.is_some()
        || t.performance.is_some();
    Policy {
        name: "current".into(),
        rule: if any {
            Rule::Retrain {
                every: None,
                triggers: Box::new(t.clone()),
            }
        } else {
            Rule::Never
        },
        window: model.training.window.clone(),
        warm_start: model.training.warm_start,
        gates: model.evaluation.gates.clone(),
        refit: model.evaluation.refit,
        shadow: model.evaluation.shadow.clone(),
        current: true,
        training: None,
    }
}

/// Resolves specs against the model; the current policy comes first, duplicates of a
/// name already taken are skipped (the first one wins).
pub fn resolve(model: &ModelConfig, specs: &[PolicySpec]) -> Vec<Policy> {
    let mut out = vec![current(model)];
    for s in specs {
        if out.iter().any(|p| p.name == s.name) {
            continue;
        }
        out.push(Policy {
            name: s.name.clone(),
            rule: s.rule.clone(),
            window: s
                .window
                .clone()
                .unwrap_or_else(|| model.training.window.clone()),
            warm_start: s.warm_start.unwrap_or(model.training.warm_start),
            gates: s
                .gates
                .clone()
                .unwrap_or_else(|| model.evaluation.gates.clone()),
            refit: s.refit.unwrap_or(model.evaluation.refit),
            shadow: match &s.shadow {
                None => model.evaluation.shadow.clone(),
                Some(None) => None,
                Some(Some((min_rows, gates))) => Some(crate::config::Shadow {
                    min_rows: *min_rows,
                    gates: gates
                        .clone()
                        .or_else(|| s.gates.clone())
                        .unwrap_or_else(|| model.evaluation.gates.clone())
                        .into_iter()
                        .filter(|g| g.slice.is_none())
                        .collect::<Vec<_>>(),
                    close_when_beaten: false,
                })
                .map(|mut sh| {
                    if sh.gates.is_empty() {
                        // no gate to pass: "at least as good as the deployed model"
                        sh.gates = vec![Gate {
                            metric: model.evaluation.primary,
                            min: None,
                            max: None,
                            min_change: Some(0.0),
                            min_relative_change: None,
                            slice: None,
                        }];
                    }
                    sh
                }),
            },
            current: false,
            // the model's algorithm without params of its own is the model's trainer
            training: s
                .training
                .clone()
                .filter(|t| t.params.is_some() || t.algorithm != model.training.algorithm),
        });
    }
    out
}
