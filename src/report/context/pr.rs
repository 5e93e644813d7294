//! The pull request's context (also the step summary's and the comment's).

use serde::Serialize;

use super::{dash, metric_rows, pct, severity, Chart};
use crate::config::ModelConfig;
use crate::decision::{fmt_num, ReasonKind};
use crate::outcome::{ModelRun, RunOutcome};
use crate::registry::{Proposal, RegistryPointer};

#[derive(Serialize)]
pub struct ReasonRow {
    pub kind: ReasonKind,
    pub fired: bool,
    pub detail: String,
}

#[derive(Serialize)]
pub struct AnomalyRow {
    pub severity: &'static str,
    pub kind: &'static str,
    pub column: String,
    pub message: String,
}

#[derive(Serialize)]
pub struct DriftRow {
    pub column: String,
    pub method: &'static str,
    pub statistic: String,
    pub threshold: f64,
    pub drifted: bool,
    pub not_testable: Option<String>,
}

/// A metric of the pull request's table: the change's interval, not the candidate's.
#[derive(Serialize)]
pub struct PrMetric {
    pub name: String,
    pub primary: bool,
    pub champion: String,
    pub candidate: String,
    pub change: String,
    pub interval: String,
}

#[derive(Serialize)]
pub struct GateRow {
    pub passed: bool,
    pub waived: bool,
    pub detail: String,
}

/// The pull request's body, the step summary and the comment (one context, three
/// templates).
#[derive(Serialize)]
pub struct PrContext {
    pub model: String,
    pub headline: String,
    pub verdict_line: String,
    pub reasons: Vec<ReasonRow>,
    pub anomalies: Vec<AnomalyRow>,
    pub anomalies_hidden: usize,
    pub new_rows: u64,
    pub drift_summary: String,
    pub drift: Vec<DriftRow>,
    pub drift_hidden: usize,
    pub holdout_rows: usize,
    pub confidence_pct: String,
    pub metrics: Vec<PrMetric>,
    pub primary: &'static str,
    pub chart: Option<Chart>,
    pub blessed: bool,
    pub gate_checks: Vec<GateRow>,
    pub gate_notes: Vec<String>,
    pub infra_passed: bool,
    pub infra_detail: String,
    pub registry_file: String,
    pub old_version: String,
    pub new_version: u32,
    pub artifact_uri: String,
    pub artifact_bytes: u64,
    pub digest: String,
    pub snapshot_short: String,
    pub algorithm: String,
    pub training_rows: usize,
    pub refit_rows: Option<usize>,
    pub window: String,
    pub duration_ms: u64,
    pub warm_start: bool,
    /// Why a requested warm start was a cold one.
    pub warm_start_note: Option<String>,
    /// `training.search`: the trials as a table.
    pub search: Option<SearchView>,
    pub card_path: String,
    pub pr_url: Option<String>,
}

impl PrContext {
    /// `limit`: rows kept in the anomaly and drift tables (the rest are counted).
    pub fn new(
        run: &ModelRun,
        model: &ModelConfig,
        proposal: Option<&Proposal>,
        previous: Option<&RegistryPointer>,
        limit: usize,
        pr_url: Option<&str>,
    ) -> Self {
        let c = &run.check;
        let blessed = run.blessed();
        let headline = match (&run.outcome, blessed) {
            (RunOutcome::Trained(_), true) => format!(
                "candidate v{} is blessed",
                proposal.map(|p| p.version).unwrap_or(0)
            ),
            (RunOutcome::Trained(_), false) => "candidate is NOT blessed".to_string(),
            (RunOutcome::Blocked, _) => "blocked by data validation".to_string(),
            (RunOutcome::NoRetrain, _) => "no retrain needed".to_string(),
        };
        let e = run.evaluation();
        let primary = model.evaluation.primary;
        let verdict_line = match e.and_then(|e| e.get(primary)) {
            Some(m) => match (m.champion, m.candidate) {
                (Some(h), Some(cv)) => format!(
                    "{primary}: champion {} → candidate {}",
                    fmt_num(h),
                    fmt_num(cv)
                ),
                (None, Some(cv)) => format!("{primary}: {} (no champion yet)", fmt_num(cv)),
                _ => format!("{primary} could not be computed"),
            },
            None => format!(
                "decision: {}",
                if c.decision.retrain {
                    "retrain"
                } else {
                    "no retrain"
                }
            ),
        };
        let anomalies = c
            .anomalies
            .iter()
            .take(limit)
            .map(|a| AnomalyRow {
                severity: severity(a.severity),
                kind: a.kind.name(),
                column: a.column.clone().unwrap_or_else(|| "–".into()),
                message: a.message.clone(),
            })
            .collect();
        let tagged = |d: &crate::checks::drift::ColumnDrift, tag: Option<&str>| DriftRow {
            column: match tag {
                Some(tag) => format!("{} ({tag})", d.column),
                None => d.column.clone(),
            },
            method: d.method.name(),
            statistic: dash(d.statistic),
            threshold: d.threshold,
            drifted: d.drifted,
            not_testable: d.not_testable.clone(),
        };
        let drift = c
            .drift
            .prediction
            .iter()
            .map(|d| tagged(d, Some("prediction")))
            .chain(c.drift.columns.iter().map(|d| tagged(d, None)))
            .chain(c.drift.label.iter().map(|d| tagged(d, Some("label"))))
            .take(limit)
            .collect();
        let metrics = e
            .map(|e| {
                e.metrics
                    .iter()
                    .zip(metric_rows(run))
                    .map(|(m, r)| PrMetric {
                        name: r.name,
                        primary: r.primary,
                        champion: r.champion,
                        candidate: r.candidate,
                        change: r.change,
                        interval: m
                            .diff_interval
                            .map(|i| {
                                format!(
                                    "[{}, {}]{}",
                                    fmt_num(i.low),
                                    fmt_num(i.high),
                                    if m.significant == Some(true) {
                                        " significant"
                                    } else {
                                        ""
                                    }
                                )
                            })
                            .unwrap_or_else(|| "–".into()),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let gate = run.gate();
        let infra = run.infra();
        let t = run.training();
        let champion = proposal.and_then(|p| p.pointer.champion.as_ref());
        Self {
            model: model.name.to_string(),
            headline,
            verdict_line,
            reasons: c
                .decision
                .reasons
                .iter()
                .map(|r| ReasonRow {
                    kind: r.kind,
                    fired: r.fired,
                    detail: r.detail.clone(),
                })
                .collect(),
            anomalies,
            anomalies_hidden: c.anomalies.len().saturating_sub(limit),
            new_rows: c.new_rows,
            drift_summary: format!(
                "{} of {} columns drifted, share {:.2}{}",
                c.drift.drifted,
                c.drift.tested,
                c.drift.share,
                if c.drift.dataset_drift {
                    ": dataset drift"
                } else {
                    ""
                }
            ),
            drift,
            drift_hidden: (c.drift.columns.len()
                + usize::from(c.drift.label.is_some())
                + usize::from(c.drift.prediction.is_some()))
            .saturating_sub(limit),
            holdout_rows: e.map(|e| e.holdout_rows).unwrap_or(0),
            confidence_pct: e.map(|e| pct(e.confidence)).unwrap_or_default(),
            metrics,
            primary: primary.name(),
            chart: proposal.and_then(|p| chart(run, model, p, previous)),
            blessed,
            gate_checks: gate
                .map(|g| {
                    g.checks
                        .iter()
                        .map(|c| GateRow {
                            passed: c.passed,
                            waived: c.waived,
                            detail: c.detail.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            gate_notes: gate.map(|g| g.notes.clone()).unwrap_or_default(),
            infra_passed: infra.is_some_and(|i| i.passed),
            infra_detail: infra.map(|i| i.detail.clone()).unwrap_or_default(),
            registry_file: format!("{}/registry.yaml", model.registry.path),
            old_version: previous
                .and_then(|p| p.champion.as_ref())
                .map(|c| format!("v{}", c.version))
                .unwrap_or_else(|| "none".into()),
            new_version: proposal.map(|p| p.version).unwrap_or(0),
            artifact_uri: champion.map(|c| c.artifact.uri.clone()).unwrap_or_default(),
            artifact_bytes: champion.map(|c| c.artifact.size).unwrap_or(0),
            digest: champion
                .map(|c| c.artifact.digest.clone())
                .unwrap_or_default(),
            snapshot_short: c.snapshot[..12].to_string(),
            algorithm: t.map(|t| t.algorithm.clone()).unwrap_or_default(),
            training_rows: t.map(|t| t.rows).unwrap_or(0),
            refit_rows: t.and_then(|t| t.refit.as_ref().map(|r| r.rows)),
            window: t.map(|t| t.window.clone()).unwrap_or_default(),
            duration_ms: t.map(|t| t.duration_ms).unwrap_or(0),
            warm_start: t.is_some_and(|t| t.warm_start),
            warm_start_note: t.and_then(|t| t.warm_start_note.clone()),
            search: t.and_then(|t| t.search.as_ref()).map(SearchView::of),
            card_path: proposal
                .map(|p| {
                    format!(
                        "{}/versions/{}/MODEL_CARD.md",
                        model.registry.path, p.version
                    )
                })
                .unwrap_or_default(),
            pr_url: pr_url.map(str::to_string),
        }
    }
}

/// The primary metric of the earlier versions and of the candidate.
fn chart(
    run: &ModelRun,
    model: &ModelConfig,
    proposal: &Proposal,
    previous: Option<&RegistryPointer>,
) -> Option<Chart> {
    let primary = model.evaluation.primary;
    let mut labels = Vec::new();
    let mut values = Vec::new();
    for v in previous
        .map(|p| p.history.iter().chain(&p.champion).collect::<Vec<_>>())
        .unwrap_or_default()
    {
        if let Some(x) = v.metrics.get(primary.name()) {
            labels.push(format!("\"v{}\"", v.version));
            values.push(*x);
        }
    }
    let cand = run
        .evaluation()
        .and_then(|e| e.candidate.get(primary.name()))
        .copied()?;
    labels.push(format!("\"v{} (candidate)\"", proposal.version));
    values.push(cand);
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let pad = ((hi - lo) * 0.2).max(0.01);
    // never past what the metric can be (an accuracy axis ended at 1.063)
    let (min, max) = primary.range();
    let low = min.map_or(lo - pad, |m| (lo - pad).max(m));
    let high = max.map_or(hi + pad, |m| (hi + pad).min(m));
    Some(Chart {
        labels,
        values: values.iter().map(|v| fmt_num(*v)).collect(),
        low: fmt_num(low),
        high: fmt_num(high),
    })
}

/// A parameter search as a table: one row per trial, one column per searched key.
#[derive(Debug, Serialize)]
pub struct SearchView {
    pub method: &'static str,
    pub space: usize,
    pub metric: String,
    pub fit_rows: usize,
    pub validation_rows: usize,
    pub stopped: Option<String>,
    pub keys: Vec<String>,
    pub rows: Vec<SearchRow>,
}

#[derive(Debug, Serialize)]
pub struct SearchRow {
    pub values: Vec<String>,
    pub score: String,
    pub chosen: bool,
}

impl SearchView {
    pub fn of(r: &crate::train::search::SearchReport) -> Self {
        let keys: Vec<String> = r
            .trials
            .first()
            .map(|t| t.params.keys().cloned().collect())
            .unwrap_or_default();
        Self {
            method: r.method,
            space: r.space,
            metric: r.metric.clone(),
            fit_rows: r.fit_rows,
            validation_rows: r.validation_rows,
            stopped: r.stopped.clone(),
            rows: r
                .trials
                .iter()
                .map(|t| SearchRow {
                    values: keys
                        .iter()
                        .map(|k| t.params.get(k).map(|v| v.to_string()).unwrap_or_default())
                        .collect(),
                    score: match (t.score, &t.error) {
                        (Some(s), _) => format!("{s:.4}"),
                        (None, Some(e)) => format!("failed: {e}"),
                        (None, None) => "—".into(),
                    },
                    chosen: t.chosen,
                })
                .collect(),
            keys,
        }
    }
}
