//! The typed contexts the templates render (`templates/*.j2`), built from a run's
//! outcome: the model card's, the pull request's (also the step summary's and the
//! comment's) and the rollback's. Every number is formatted here; the templates only
//! lay the values out.

mod card;
mod pr;
mod rollback;

pub use card::{CardContext, ConfusionRow, SliceRow};
pub use pr::{AnomalyRow, DriftRow, GateRow, PrContext, PrMetric, ReasonRow};
pub use rollback::{RollbackContext, RollbackMetric, RollbackSide};

use serde::Serialize;

use crate::checks::validation::Severity;
use crate::decision::fmt_num;
use crate::outcome::ModelRun;

/// A metric row of the model card and the pull request.
#[derive(Serialize)]
pub struct MetricRow {
    pub name: String,
    pub primary: bool,
    pub value: String,
    pub value_raw: f64,
    pub interval: String,
    pub champion: String,
    pub candidate: String,
    pub change: String,
}

/// The primary metric over the versions (a Mermaid chart).
#[derive(Serialize)]
pub struct Chart {
    pub labels: Vec<String>,
    pub values: Vec<String>,
    pub low: String,
    pub high: String,
}

pub(super) fn pct(confidence: f64) -> String {
    format!("{:.0}", confidence * 100.0)
}

pub(super) fn dash(v: Option<f64>) -> String {
    v.map(fmt_num).unwrap_or_else(|| "–".into())
}

pub(super) fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Blocking => "blocking",
        _ => "warning",
    }
}

pub(super) fn metric_rows(run: &ModelRun) -> Vec<MetricRow> {
    let Some(e) = run.evaluation() else {
        return Vec::new();
    };
    e.metrics
        .iter()
        .map(|m| MetricRow {
            name: m.metric.name().to_string(),
            primary: m.metric == e.primary,
            value: dash(m.candidate),
            value_raw: m.candidate.unwrap_or(f64::NAN),
            interval: m
                .candidate_interval
                .map(|i| format!("[{}, {}]", fmt_num(i.low), fmt_num(i.high)))
                .unwrap_or_else(|| "–".into()),
            champion: dash(m.champion),
            candidate: dash(m.candidate),
            change: m
                .diff
                .map(|d| {
                    let arrow = match (d > 0.0, m.higher_is_better) {
                        _ if d == 0.0 => "",
                        (true, true) | (false, false) => " ▲",
                        _ => " ▼",
                    };
                    format!("{}{}{arrow}", if d > 0.0 { "+" } else { "" }, fmt_num(d))
                })
                .unwrap_or_else(|| "–".into()),
        })
        .collect()
}
