//! Triggers -> [`Decision`]: should the model be retrained now, and why.
//!
//! Every configured trigger is evaluated and reported, fired or not, with the numbers
//! behind it, so that a "no" is explained as well as a "yes". Guards (cooldown,
//! `max_per_period`) can hold a retrain back; blocking validation anomalies always do.
//! Pure: the clock is an input.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};

use crate::checks::drift::{Basis, ColumnDrift};
use crate::checks::validation::{Anomaly, Severity};
use crate::checks::DriftReport;
use crate::config::{NewDataRule, TriggerMode, Triggers};

mod performance;

use performance::performance_reason;
pub use performance::{EstimatedPerformance, PerformanceObservation, Unscored};

#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    pub retrain: bool,
    /// Blocking validation anomalies stopped the retrain.
    pub blocked: bool,
    pub reasons: Vec<Reason>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonKind {
    NoChampion,
    Manual,
    Schedule,
    NewData,
    Drift,
    Performance,
    PredictionDrift,
    Cooldown,
    MaxPerPeriod,
    Validation,
    /// The open candidate is in its shadow period (`evaluation.shadow`).
    Shadow,
}

#[derive(Debug, Clone, Serialize)]
pub struct Reason {
    pub kind: ReasonKind,
    /// For triggers: it fired. For guards (cooldown, max_per_period, validation): it
    /// held the retrain back.
    pub fired: bool,
    pub detail: String,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub evidence: Value,
}

/// What the decision looks at.
pub struct DecisionInput<'a> {
    pub triggers: &'a Triggers,
    /// When the champion was trained; `None` = no champion yet.
    pub champion_trained_at: Option<DateTime<Utc>>,
    /// When every version so far was trained (for `max_per_period`).
    pub trained_times: Vec<DateTime<Utc>>,
    pub now: DateTime<Utc>,
    pub force: bool,
    pub new_rows: u64,
    pub reference_rows: u64,
    pub drift: &'a DriftReport,
    /// `None`: the champion could not be scored (why, in the string).
    pub performance: Result<Option<PerformanceObservation>, Unscored>,
    /// The metric estimated on the new rows without labels (`triggers.performance.
    /// estimate`); `Ok(None)` without such rows or when no estimate is configured.
    pub estimated: Result<Option<EstimatedPerformance>, Unscored>,
    /// The champion's outputs on the new rows against the reference rows
    /// (`triggers.prediction_drift`); `Ok(None)` without new rows.
    pub prediction_drift: Result<Option<ColumnDrift>, Unscored>,
    pub anomalies: &'a [Anomaly],
}
/// The guard of shadow evaluation: while the open candidate is still being compared on
/// newer rows, or has passed and waits for review, a new candidate would supersede it
/// and start its shadow period over, so the retrain is held (unless forced). `detail`
/// says where the shadow evaluation stands.
pub fn hold_for_shadow(decision: &mut Decision, force: bool, detail: String) {
    decision.reasons.push(Reason {
        kind: ReasonKind::Shadow,
        fired: decision.retrain && !force,
        detail,
        evidence: Value::Null,
    });
    if !force {
        decision.retrain = false;
    }
}

pub fn decide(input: &DecisionInput) -> Decision {
    let t = input.triggers;
    let mut reasons = Vec::new();
    let mut configured = 0usize;
    let mut fired = 0usize;
    let mut note = |r: Reason, reasons: &mut Vec<Reason>| {
        configured += 1;
        if r.fired {
            fired += 1;
        }
        reasons.push(r);
    };

    if let Some(every) = t.schedule {
        let r = match input.champion_trained_at {
            Some(at) => {
                let age = input.now - at;
                let due = age >= every.to_chrono();
                Reason {
                    kind: ReasonKind::Schedule,
                    fired: due,
                    detail: format!(
                        "champion trained {} ago {} every {every}",
                        human(age),
                        if due { "≥" } else { "<" }
                    ),
                    evidence: json!({ "age_seconds": age.num_seconds(), "every_seconds": every.as_secs() }),
                }
            }
            None => Reason {
                kind: ReasonKind::Schedule,
                fired: false,
                detail: "no champion yet".into(),
                evidence: Value::Null,
            },
        };
        note(r, &mut reasons);
    }
    if let Some(rule) = t.new_data {
        let (due, detail) = match rule {
            NewDataRule::Rows(min) => (
                input.new_rows >= min,
                format!(
                    "{} new rows {} {min}",
                    input.new_rows,
                    if input.new_rows >= min { "≥" } else { "<" }
                ),
            ),
            NewDataRule::Fraction(f) => {
                let frac = if input.reference_rows == 0 {
                    if input.new_rows > 0 {
                        f64::INFINITY
                    } else {
                        0.0
                    }
                } else {
                    input.new_rows as f64 / input.reference_rows as f64
                };
                (
                    frac >= f,
                    format!(
                        "{} new rows = {:.3} of the reference's {} {} {f}",
                        input.new_rows,
                        frac,
                        input.reference_rows,
                        if frac >= f { "≥" } else { "<" }
                    ),
                )
            }
        };
        note(
            Reason {
                kind: ReasonKind::NewData,
                fired: due,
                detail,
                evidence: json!({ "new_rows": input.new_rows, "reference_rows": input.reference_rows }),
            },
            &mut reasons,
        );
    }
    if t.drift.is_some() {
        let d = input.drift;
        let detail = if d.tested == 0 {
            "no column could be tested (no new rows)".to_string()
        } else {
            let listed: Vec<String> = d
                .columns
                .iter()
                .filter(|c| c.drifted)
                .map(|c| {
                    let op = if c.basis == crate::checks::drift::Basis::PValue {
                        "<"
                    } else {
                        "≥"
                    };
                    format!(
                        "{} {} {} {op} {}",
                        c.column,
                        c.method.name(),
                        fmt_num(c.statistic.unwrap_or(f64::NAN)),
                        c.threshold
                    )
                })
                .collect();
            format!(
                "{} of {} columns drifted (share {:.2} {} {}){}{}",
                d.drifted,
                d.tested,
                d.share,
                if d.dataset_drift { "≥" } else { "<" },
                d.share_threshold,
                if listed.is_empty() { "" } else { ": " },
                listed.join(", ")
            )
        };
        note(
            Reason {
                kind: ReasonKind::Drift,
                fired: d.dataset_drift,
                detail,
                evidence: json!({ "share": d.share, "drifted": d.drifted, "tested": d.tested }),
            },
            &mut reasons,
        );
    }
    if t.prediction_drift.is_some() {
        let r = match &input.prediction_drift {
            Ok(Some(d)) => Reason {
                kind: ReasonKind::PredictionDrift,
                fired: d.drifted,
                detail: match (&d.not_testable, d.statistic) {
                    (Some(_), _) | (None, None) => format!(
                        "the champion's {}: not testable: {}",
                        d.column,
                        d.not_testable.as_deref().unwrap_or("no statistic")
                    ),
                    (None, Some(s)) => format!(
                        "the champion's {} on the new rows vs the reference rows: {} {} {} (threshold {}): {}",
                        d.column,
                        d.method.name(),
                        match d.basis {
                            Basis::PValue => "p-value",
                            Basis::Distance => "distance",
                        },
                        fmt_num(s),
                        d.threshold,
                        if d.drifted { "drifted" } else { "no drift" }
                    ),
                },
                evidence: json!(d),
            },
            Ok(None) => Reason {
                kind: ReasonKind::PredictionDrift,
                fired: false,
                detail: "no new rows to score the champion on".into(),
                evidence: Value::Null,
            },
            Err(why) => Reason {
                kind: ReasonKind::PredictionDrift,
                fired: false,
                detail: format!("not evaluated: {why}"),
                evidence: Value::Null,
            },
        };
        note(r, &mut reasons);
    }
    if let Some(p) = &t.performance {
        note(
            performance_reason(p, &input.performance, &input.estimated),
            &mut reasons,
        );
    }

    let triggered = match t.mode {
        TriggerMode::Any => fired > 0,
        TriggerMode::All => configured > 0 && fired == configured,
    };
    let mut retrain = triggered;
    if input.champion_trained_at.is_none() {
        reasons.insert(
            0,
            Reason {
                kind: ReasonKind::NoChampion,
                fired: true,
                detail: "no champion yet: the first training is due".into(),
                evidence: Value::Null,
            },
        );
        retrain = true;
    }
    if input.force {
        reasons.insert(
            0,
            Reason {
                kind: ReasonKind::Manual,
                fired: true,
                detail: "retrain requested (--force)".into(),
                evidence: Value::Null,
            },
        );
        retrain = true;
    }
    let guarded = !input.force && input.champion_trained_at.is_some();
    if let (Some(cooldown), Some(at)) = (t.cooldown, input.champion_trained_at) {
        let until = at + cooldown.to_chrono();
        let holds = input.now < until;
        reasons.push(Reason {
            kind: ReasonKind::Cooldown,
            fired: retrain && guarded && holds,
            detail: if holds {
                format!(
                    "cooldown {cooldown} since the champion was trained holds until {}",
                    until.format("%Y-%m-%d %H:%M UTC")
                )
            } else {
                format!("cooldown {cooldown} is over")
            },
            evidence: Value::Null,
        });
        if guarded && holds {
            retrain = false;
        }
    }
    if let Some(m) = &t.max_per_period {
        let since = input.now - m.period.to_chrono();
        let recent = input
            .trained_times
            .iter()
            .filter(|at| **at > since && **at <= input.now)
            .count();
        let holds = recent as u32 >= m.count;
        reasons.push(Reason {
            kind: ReasonKind::MaxPerPeriod,
            fired: retrain && guarded && holds,
            detail: format!(
                "{recent} retrains in the last {} {} the limit of {}",
                m.period,
                if holds { "reach" } else { "are under" },
                m.count
            ),
            evidence: json!({ "recent": recent, "count": m.count }),
        });
        if guarded && holds {
            retrain = false;
        }
    }
    let blocking: Vec<&Anomaly> = input
        .anomalies
        .iter()
        .filter(|a| a.severity == Severity::Blocking)
        .collect();
    let blocked = !blocking.is_empty();
    if blocked {
        let list: Vec<String> = blocking
            .iter()
            .map(|a| match &a.column {
                Some(c) => format!("{} `{c}`", a.kind.name()),
                None => a.kind.name().to_string(),
            })
            .collect();
        reasons.push(Reason {
            kind: ReasonKind::Validation,
            fired: true,
            detail: format!(
                "blocked by {} anomal{}: {}",
                blocking.len(),
                if blocking.len() == 1 { "y" } else { "ies" },
                list.join(", ")
            ),
            evidence: Value::Null,
        });
        retrain = false;
    }
    Decision {
        retrain,
        blocked,
        reasons,
    }
}

fn human(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    if s >= 86_400 {
        format!("{:.1}d", s as f64 / 86_400.0)
    } else if s >= 3_600 {
        format!("{:.1}h", s as f64 / 3_600.0)
    } else {
        format!("{}m", s / 60)
    }
}

/// A number for people: 4 significant digits.
pub fn fmt_num(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let mag = x.abs().log10().floor() as i32;
    if !(-4..6).contains(&mag) {
        return format!("{x:.3e}");
    }
    let decimals = (3 - mag).max(0) as usize;
    format!("{x:.decimals$}")
}

#[cfg(test)]
mod tests;
