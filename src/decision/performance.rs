//! The performance trigger's reason: the champion's realized metric on newly labelled
//! rows, the estimated one (CBPE) on rows without labels, and the change detector's run.

use serde::Serialize;
use serde_json::{json, Value};

use super::{fmt_num, Reason, ReasonKind};
use crate::checks::detect::DetectorReport;
use crate::config::Metric;

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
pub(super) fn performance_reason(
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
