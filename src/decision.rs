//! Triggers -> [`Decision`]: should the model be retrained now, and why.
//!
//! Every configured trigger is evaluated and reported, fired or not, with the numbers
//! behind it, so that a "no" is explained as well as a "yes". Guards (cooldown,
//! `max_per_period`) can hold a retrain back; blocking validation anomalies always do.
//! Pure: the clock is an input.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};

use crate::checks::detect::DetectorReport;
use crate::checks::drift::{Basis, ColumnDrift};
use crate::checks::validation::{Anomaly, Severity};
use crate::checks::DriftReport;
use crate::config::{Metric, NewDataRule, TriggerMode, Triggers};

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

/// The champion's quality on newly labelled rows.
#[derive(Debug, Clone, Serialize)]
pub struct PerformanceObservation {
    pub metric: Metric,
    pub value: f64,
    /// The champion's value on its own evaluation holdout, if recorded.
    pub baseline: Option<f64>,
    pub rows: u64,
    /// The change detector's run over the per-row errors, when one is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detector: Option<DetectorReport>,
}

/// The champion's metric estimated on the new rows without labels (CBPE).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EstimatedPerformance {
    /// `cbpe`.
    pub method: &'static str,
    pub metric: Metric,
    pub value: f64,
    /// Half-width of the sampling-error band (three standard errors), for accuracy.
    pub band: Option<f64>,
    pub rows: u64,
    /// The champion's realized value on its own evaluation holdout, if recorded.
    pub baseline: Option<f64>,
    /// The scores were mapped by the artifact's isotonic calibration (else: raw scores,
    /// which were already better calibrated on the holdout).
    pub calibrated: bool,
}

/// Why the champion could not be scored on the new rows (the performance trigger then
/// says so and does not fire): the sentence the report shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unscored(pub String);

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

/// "ADWIN signalled a change at new row 812 of 2000 (2024-03-02T00:00:00Z)".
fn detector_detail(d: &DetectorReport) -> String {
    match d.changes.last() {
        None => format!("{}: no change in {} rows", d.detector, d.rows),
        Some(c) => {
            let at = c.at.as_ref().map(|t| format!(" ({t})")).unwrap_or_default();
            let earlier = match d.changes.len() {
                1 => String::new(),
                n => format!("; {} earlier", n - 1),
            };
            format!(
                "{} signalled a change at new row {} of {}{at}{earlier}",
                d.detector,
                c.row + 1,
                d.rows
            )
        }
    }
}

/// The performance trigger: the realized metric on the newly labelled rows and, with
/// `estimate`, the estimated one on the rows without labels; it fires when either is
/// below `min` or dropped more than `max_drop`, or the detector signalled a change.
fn performance_reason(
    p: &crate::config::PerformanceTrigger,
    realized: &Result<Option<PerformanceObservation>, Unscored>,
    estimated: &Result<Option<EstimatedPerformance>, Unscored>,
) -> Reason {
    // (fired, the words) of one value against min and max_drop
    let judge = |metric: Metric, value: f64, baseline: Option<f64>| {
        let hib = metric.higher_is_better();
        let below_min = p
            .min
            .is_some_and(|m| if hib { value < m } else { value > m });
        let drop = baseline.map(|b| if hib { b - value } else { value - b });
        let dropped = matches!((drop, p.max_drop), (Some(d), Some(m)) if d > m);
        let mut parts = Vec::new();
        if let Some(m) = p.min {
            parts.push(format!(
                "{} {} {m}",
                if below_min { "below" } else { "within" },
                if hib { "min" } else { "max" }
            ));
        }
        if let (Some(d), Some(m)) = (drop, p.max_drop) {
            parts.push(format!(
                "drop {} {} {m}",
                fmt_num(d),
                if dropped { ">" } else { "≤" }
            ));
        }
        (below_min || dropped, parts)
    };
    let (mut fired, mut detail, mut evidence) = match realized {
        Ok(Some(obs)) => {
            let (f, more) = judge(obs.metric, obs.value, obs.baseline);
            let changed = obs.detector.as_ref().is_some_and(|d| !d.changes.is_empty());
            let mut parts = vec![format!(
                "{} {} on {} new labelled rows",
                obs.metric,
                fmt_num(obs.value),
                obs.rows
            )];
            parts.extend(more);
            if let Some(d) = &obs.detector {
                parts.push(detector_detail(d));
            }
            (f || changed, parts.join(", "), json!(obs))
        }
        Ok(None) => (
            false,
            "no newly labelled rows to score the champion on".to_string(),
            Value::Null,
        ),
        Err(why) => (false, format!("not evaluated: {why}"), Value::Null),
    };
    if p.estimate.is_some() {
        let words = match estimated {
            Ok(Some(e)) => {
                let (f, more) = judge(e.metric, e.value, e.baseline);
                fired |= f;
                let band = e
                    .band
                    .map(|b| format!(" ± {}", fmt_num(b)))
                    .unwrap_or_default();
                let mut parts = vec![format!(
                    "estimated ({}) {} {}{band} on {} new rows without labels",
                    e.method,
                    e.metric,
                    fmt_num(e.value),
                    e.rows
                )];
                parts.extend(more);
                if !evidence.is_object() {
                    evidence = json!({});
                }
                evidence["estimated"] = json!(e);
                parts.join(", ")
            }
            Ok(None) => "no new rows without labels to estimate on".to_string(),
            Err(why) => format!("estimate not available: {why}"),
        };
        detail = format!("{detail}; {words}");
    }
    Reason {
        kind: ReasonKind::Performance,
        fired,
        detail,
        evidence,
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
mod tests {
    use super::*;
    use crate::config::{MaxPerPeriod, PerformanceTrigger};
    use chrono::TimeZone;

    fn triggers() -> Triggers {
        Triggers::none()
    }

    fn drift(share: f64, threshold: f64) -> DriftReport {
        DriftReport {
            method: crate::config::DriftMethod::Auto,
            columns: vec![],
            tested: 10,
            drifted: (share * 10.0).round() as usize,
            share,
            share_threshold: threshold,
            dataset_drift: share >= threshold,
            label: None,
            prediction: None,
            reference_rows: 1000,
            current_rows: 100,
        }
    }

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, day, hour, 0, 0).unwrap()
    }

    struct Case {
        triggers: Triggers,
        trained: Option<DateTime<Utc>>,
        times: Vec<DateTime<Utc>>,
        now: DateTime<Utc>,
        new_rows: u64,
        drift: DriftReport,
        performance: Result<Option<PerformanceObservation>, Unscored>,
        estimated: Result<Option<EstimatedPerformance>, Unscored>,
        force: bool,
    }

    impl Case {
        fn new(triggers: Triggers) -> Self {
            Self {
                triggers,
                trained: Some(at(1, 0)),
                times: vec![at(1, 0)],
                now: at(8, 0),
                new_rows: 0,
                drift: drift(0.0, 0.5),
                performance: Ok(None),
                estimated: Ok(None),
                force: false,
            }
        }

        fn decide(&self) -> Decision {
            decide(&DecisionInput {
                triggers: &self.triggers,
                champion_trained_at: self.trained,
                trained_times: self.times.clone(),
                now: self.now,
                force: self.force,
                new_rows: self.new_rows,
                reference_rows: 1000,
                drift: &self.drift,
                performance: self.performance.clone(),
                estimated: self.estimated.clone(),
                prediction_drift: Ok(None),
                anomalies: &[],
            })
        }
    }

    fn fired(d: &Decision, kind: ReasonKind) -> bool {
        d.reasons.iter().any(|r| r.kind == kind && r.fired)
    }

    #[test]
    fn schedule_fires_at_exactly_every() {
        let mut t = triggers();
        t.schedule = Some("7d".parse().unwrap());
        let mut c = Case::new(t);
        c.now = at(7, 23); // 6d23h
        assert!(!c.decide().retrain);
        c.now = at(8, 0); // 7d
        assert!(c.decide().retrain);
    }

    #[test]
    fn new_data_rows_and_fraction_boundaries() {
        let mut t = triggers();
        t.new_data = Some(NewDataRule::Rows(500));
        let mut c = Case::new(t);
        c.new_rows = 499;
        assert!(!c.decide().retrain);
        c.new_rows = 500;
        assert!(c.decide().retrain);
        let mut t = triggers();
        t.new_data = Some(NewDataRule::Fraction(0.1));
        let mut c = Case::new(t);
        c.new_rows = 99; // 0.099 of 1000
        assert!(!c.decide().retrain);
        c.new_rows = 100;
        assert!(c.decide().retrain);
    }

    #[test]
    fn drift_share_boundary() {
        let mut t = triggers();
        t.drift = Some(crate::config::DriftTrigger {
            method: crate::config::DriftMethod::Auto,
            threshold: crate::config::Threshold::Auto,
            share: crate::config::Fraction::new(0.5).unwrap(),
            columns: crate::config::ColumnSelection::All,
            per_column: Default::default(),
        });
        let mut c = Case::new(t);
        c.drift = drift(0.4, 0.5);
        let d = c.decide();
        assert!(!d.retrain);
        assert!(
            d.reasons[0].detail.contains("share 0.40 < 0.5"),
            "{}",
            d.reasons[0].detail
        );
        c.drift = drift(0.5, 0.5);
        assert!(c.decide().retrain);
    }

    #[test]
    fn performance_min_and_drop_boundaries() {
        let mut t = triggers();
        t.performance = Some(PerformanceTrigger {
            metric: Metric::Accuracy,
            min: Some(0.7),
            max_drop: Some(0.03),
            detector: None,
            estimate: None,
        });
        let obs = |v: f64| {
            Ok(Some(PerformanceObservation {
                metric: Metric::Accuracy,
                value: v,
                baseline: Some(0.75),
                rows: 500,
                detector: None,
            }))
        };
        let mut c = Case::new(t);
        c.performance = obs(0.73); // drop 0.02, above min
        assert!(!c.decide().retrain);
        c.performance = obs(0.719); // drop 0.031 > 0.03
        assert!(c.decide().retrain);
        c.performance = obs(0.69999); // below min
        assert!(c.decide().retrain);
        c.performance = Err(Unscored("no model".into()));
        let d = c.decide();
        assert!(!d.retrain && d.reasons[0].detail.starts_with("not evaluated"));
    }

    #[test]
    fn the_estimate_fires_for_rows_without_labels_and_says_which_value_it_is() {
        let mut t = triggers();
        t.performance = Some(PerformanceTrigger {
            metric: Metric::Accuracy,
            min: None,
            max_drop: Some(0.03),
            detector: None,
            estimate: Some(crate::config::EstimateMethod::Cbpe),
        });
        let est = |v: f64| {
            Ok(Some(EstimatedPerformance {
                method: "cbpe",
                metric: Metric::Accuracy,
                value: v,
                band: Some(0.012),
                rows: 5000,
                baseline: Some(0.80),
                calibrated: true,
            }))
        };
        let mut c = Case::new(t);
        c.estimated = est(0.78);
        let d = c.decide();
        assert!(!d.retrain, "a drop of 0.02 is within 0.03");
        assert_eq!(
            d.reasons[0].detail,
            "no newly labelled rows to score the champion on; estimated (cbpe) accuracy 0.7800 ± 0.01200 on 5000 new rows without labels, drop 0.02000 ≤ 0.03"
        );
        c.estimated = est(0.76);
        let d = c.decide();
        assert!(d.retrain && d.reasons[0].fired, "the estimate dropped 0.04");
        assert_eq!(d.reasons[0].evidence["estimated"]["value"], 0.76);
        // labelled rows too: both are shown, either fires
        c.performance = Ok(Some(PerformanceObservation {
            metric: Metric::Accuracy,
            value: 0.79,
            baseline: Some(0.80),
            rows: 300,
            detector: None,
        }));
        let d = c.decide();
        assert!(d.retrain);
        assert!(d.reasons[0].detail.starts_with("accuracy 0.7900 on 300 new labelled rows, drop 0.01000 ≤ 0.03; estimated (cbpe) accuracy 0.7600"), "{}", d.reasons[0].detail);
        assert_eq!(d.reasons[0].evidence["rows"], 300);
        c.estimated = Err(Unscored(
            "the champion's artifact has no calibration".into(),
        ));
        let d = c.decide();
        assert!(!d.retrain);
        assert!(d.reasons[0]
            .detail
            .ends_with("; estimate not available: the champion's artifact has no calibration"));
    }

    #[test]
    fn mode_all_needs_every_trigger() {
        let mut t = triggers();
        t.mode = TriggerMode::All;
        t.schedule = Some("7d".parse().unwrap());
        t.new_data = Some(NewDataRule::Rows(100));
        let mut c = Case::new(t);
        c.new_rows = 50;
        assert!(!c.decide().retrain, "schedule alone is not enough");
        c.new_rows = 100;
        assert!(c.decide().retrain);
    }

    #[test]
    fn cooldown_holds_until_it_expires_and_force_overrides() {
        let mut t = triggers();
        t.new_data = Some(NewDataRule::Rows(1));
        t.cooldown = Some("1d".parse().unwrap());
        let mut c = Case::new(t);
        c.new_rows = 10;
        c.now = at(1, 23);
        let d = c.decide();
        assert!(!d.retrain && fired(&d, ReasonKind::Cooldown));
        c.now = at(2, 0);
        assert!(c.decide().retrain);
        c.now = at(1, 1);
        c.force = true;
        let d = c.decide();
        assert!(d.retrain && fired(&d, ReasonKind::Manual) && !fired(&d, ReasonKind::Cooldown));
    }

    #[test]
    fn max_per_period_holds() {
        let mut t = triggers();
        t.new_data = Some(NewDataRule::Rows(1));
        t.max_per_period = Some(MaxPerPeriod {
            count: 2,
            period: "30d".parse().unwrap(),
        });
        let mut c = Case::new(t);
        c.new_rows = 10;
        c.now = at(20, 0);
        c.times = vec![at(1, 0), at(10, 0)];
        let d = c.decide();
        assert!(
            !d.retrain && fired(&d, ReasonKind::MaxPerPeriod),
            "{:?}",
            d.reasons
        );
        c.times = vec![
            Utc.with_ymd_and_hms(2025, 5, 1, 0, 0, 0).unwrap(),
            at(10, 0),
        ];
        assert!(c.decide().retrain, "one of the two is older than 30d");
    }

    #[test]
    fn no_champion_means_first_training() {
        let mut c = Case::new(triggers());
        c.trained = None;
        c.times = vec![];
        let d = c.decide();
        assert!(d.retrain && fired(&d, ReasonKind::NoChampion));
    }
}
