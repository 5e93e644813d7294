//! The gate: is the candidate good enough to replace the champion? Every configured
//! condition is checked and listed. With no champion, change conditions are waived
//! ("rubber stamp") and the report says so; with no conditions configured, nothing is
//! blessed by accident; a metric that could not be computed fails its condition.

use serde::Serialize;

use super::Evaluation;
use crate::config::{Gate, Metric};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    Min,
    Max,
    MinChange,
    MinRelativeChange,
}

#[derive(Debug, Clone, Serialize)]
pub struct GateCheck {
    pub metric: Metric,
    pub kind: CheckKind,
    pub threshold: f64,
    /// The value compared: the candidate's metric, or its change vs the champion
    /// (in the metric's better direction; relative for `min_relative_change`).
    pub value: Option<f64>,
    pub passed: bool,
    /// Waived: a change condition without a champion.
    pub waived: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slice: Option<String>,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub blessed: bool,
    pub checks: Vec<GateCheck>,
    pub notes: Vec<String>,
}

pub fn judge(gates: &[Gate], eval: &Evaluation, has_champion: bool) -> Verdict {
    let mut checks = Vec::new();
    let mut notes = Vec::new();
    if gates.is_empty() {
        notes.push(
            "no gates configured: the candidate is not blessed (add `evaluation.gates`)".into(),
        );
    }
    if !has_champion
        && gates
            .iter()
            .any(|g| g.min_change.is_some() || g.min_relative_change.is_some())
    {
        notes.push("no champion yet: change conditions are waived (rubber stamp)".into());
    }
    for g in gates {
        let (cand, champ) = match &g.slice {
            None => {
                let m = eval.get(g.metric);
                (m.and_then(|m| m.candidate), m.and_then(|m| m.champion))
            }
            Some(_) => (None, None),
        };
        let targets: Vec<(Option<String>, Option<f64>, Option<f64>)> = match &g.slice {
            None => vec![(None, cand, champ)],
            Some(col) => match eval.slices.get(col) {
                Some(values) => values
                    .iter()
                    .map(|(v, s)| {
                        (
                            Some(format!("{col}={v}")),
                            s.candidate.get(g.metric.name()).copied(),
                            s.champion.get(g.metric.name()).copied(),
                        )
                    })
                    .collect(),
                None => vec![(Some(col.clone()), None, None)],
            },
        };
        for (slice, cand, champ) in targets {
            let name = g.metric.name();
            let hib = g.metric.higher_is_better();
            let mut push = |kind,
                            threshold: f64,
                            value: Option<f64>,
                            ok: bool,
                            waived: bool,
                            detail: String| {
                checks.push(GateCheck {
                    metric: g.metric,
                    kind,
                    threshold,
                    value,
                    passed: ok,
                    waived,
                    slice: slice.clone(),
                    detail,
                });
            };
            let missing = |what: &str| format!("{name} {what}could not be computed: fails");
            if let Some(min) = g.min {
                match cand {
                    Some(v) => push(
                        CheckKind::Min,
                        min,
                        Some(v),
                        v >= min,
                        false,
                        format!(
                            "{name} {} {} {min}",
                            fmt(v),
                            if v >= min { "≥" } else { "<" }
                        ),
                    ),
                    None => push(CheckKind::Min, min, None, false, false, missing("")),
                }
            }
            if let Some(max) = g.max {
                match cand {
                    Some(v) => push(
                        CheckKind::Max,
                        max,
                        Some(v),
                        v <= max,
                        false,
                        format!(
                            "{name} {} {} {max}",
                            fmt(v),
                            if v <= max { "≤" } else { ">" }
                        ),
                    ),
                    None => push(CheckKind::Max, max, None, false, false, missing("")),
                }
            }
            let change = |c: f64, h: f64| if hib { c - h } else { h - c };
            if let Some(t) = g.min_change {
                match (cand, champ, has_champion) {
                    (_, _, false) => push(
                        CheckKind::MinChange,
                        t,
                        None,
                        true,
                        true,
                        format!("{name} change ≥ {t}: waived, no champion"),
                    ),
                    (Some(c), Some(h), true) => {
                        let d = change(c, h);
                        push(
                            CheckKind::MinChange,
                            t,
                            Some(d),
                            d >= t,
                            false,
                            format!(
                                "{name} change {} (candidate {} vs champion {}) {} {t}",
                                signed(d),
                                fmt(c),
                                fmt(h),
                                if d >= t { "≥" } else { "<" }
                            ),
                        )
                    }
                    _ => push(
                        CheckKind::MinChange,
                        t,
                        None,
                        false,
                        false,
                        missing("change "),
                    ),
                }
            }
            if let Some(t) = g.min_relative_change {
                match (cand, champ, has_champion) {
                    (_, _, false) => push(
                        CheckKind::MinRelativeChange,
                        t,
                        None,
                        true,
                        true,
                        format!("{name} relative change ≥ {t}: waived, no champion"),
                    ),
                    (Some(c), Some(h), true) if h != 0.0 => {
                        let d = change(c, h) / h.abs();
                        push(
                            CheckKind::MinRelativeChange,
                            t,
                            Some(d),
                            d >= t,
                            false,
                            format!(
                                "{name} relative change {} {} {t}",
                                signed(d),
                                if d >= t { "≥" } else { "<" }
                            ),
                        )
                    }
                    _ => push(
                        CheckKind::MinRelativeChange,
                        t,
                        None,
                        false,
                        false,
                        missing("relative change "),
                    ),
                }
            }
        }
    }
    let blessed = !gates.is_empty() && checks.iter().all(|c| c.passed);
    Verdict {
        blessed,
        checks,
        notes,
    }
}

fn fmt(v: f64) -> String {
    crate::decision::fmt_num(v)
}

fn signed(v: f64) -> String {
    if v >= 0.0 {
        format!("+{}", fmt(v))
    } else {
        fmt(v)
    }
}
