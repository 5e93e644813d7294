//! What reviewers read on GitHub, rendered with minijinja from `templates/`: the model
//! card, the pull-request body, the step summary and the comment. Every value that
//! comes from data or config is escaped (Markdown, HTML, @-mentions, #-references) by
//! the environment's formatter; only the machine-readable marker is inserted raw.
//! Bodies stay under GitHub's 65,536-character limit by shortening tables, never by
//! cutting the marker (the first line).

use minijinja::{Environment, Value};
use serde::Serialize;

use crate::checks::validation::Severity;
use crate::config::ModelConfig;
use crate::decision::fmt_num;
pub use crate::outcome::Marker;
use crate::outcome::ModelRun;
use crate::registry::{Proposal, RegistryPointer};

/// GitHub's limit on issue and pull-request bodies.
pub const BODY_LIMIT: usize = 65_536;

const MODEL_CARD: &str = include_str!("../../templates/model_card.md.j2");
const PR_BODY: &str = include_str!("../../templates/pr_body.md.j2");
const STEP_SUMMARY: &str = include_str!("../../templates/step_summary.md.j2");
const COMMENT: &str = include_str!("../../templates/comment.md.j2");
const ROLLBACK: &str = include_str!("../../templates/rollback.md.j2");

/// Escapes text for GitHub Markdown: no HTML, no formatting, no mentions or references.
pub fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '@' => out.push_str("&#64;"),
            '#' => out.push_str("&#35;"),
            '\n' | '\r' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Every template people read, with Markdown escaping of values from data and the
/// `yaml` and `code` filters.
pub(super) fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_formatter(|out, state, value| {
        if value.is_safe() || value.is_number() || value.is_undefined() || value.is_none() {
            return minijinja::escape_formatter(out, state, value);
        }
        let text = value.to_string();
        out.write_str(&escape_markdown(&text))
            .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, e.to_string()))
    });
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    // A code span: Markdown and mentions are inert inside; only backticks must go.
    // A YAML scalar (the model card's front matter): a JSON string is valid YAML.
    env.add_filter("yaml", |value: Value| {
        Value::from_safe_string(serde_json::to_string(&value.to_string()).unwrap_or_default())
    });
    env.add_filter("code", |value: Value| {
        Value::from_safe_string(format!(
            "`{}`",
            value.to_string().replace(['`', '\n', '\r'], "'")
        ))
    });
    env.add_template("model_card", MODEL_CARD)
        .expect("model card template parses");
    env.add_template("pr_body", PR_BODY)
        .expect("PR body template parses");
    env.add_template("step_summary", STEP_SUMMARY)
        .expect("step summary template parses");
    env.add_template("comment", COMMENT)
        .expect("comment template parses");
    env.add_template("rollback", ROLLBACK)
        .expect("rollback template parses");
    env.add_template("backtest", include_str!("../../templates/backtest.md.j2"))
        .expect("backtest template parses");
    env.add_template("policy_pr", include_str!("../../templates/policy_pr.md.j2"))
        .expect("policy PR template parses");
    env
}

#[derive(Serialize)]
struct MetricRow {
    name: String,
    primary: bool,
    value: String,
    value_raw: f64,
    interval: String,
    champion: String,
    candidate: String,
    change: String,
}

#[derive(Serialize)]
struct Chart {
    labels: Vec<String>,
    values: Vec<String>,
    low: String,
    high: String,
}

fn pct(confidence: f64) -> String {
    format!("{:.0}", confidence * 100.0)
}

fn metric_rows(run: &ModelRun) -> Vec<MetricRow> {
    let Some(e) = &run.evaluation else {
        return Vec::new();
    };
    let f = |v: Option<f64>| v.map(fmt_num).unwrap_or_else(|| "–".into());
    e.metrics
        .iter()
        .map(|m| MetricRow {
            name: m.metric.name().to_string(),
            primary: m.metric == e.primary,
            value: f(m.candidate),
            value_raw: m.candidate.unwrap_or(f64::NAN),
            interval: m
                .candidate_interval
                .map(|i| format!("[{}, {}]", fmt_num(i.low), fmt_num(i.high)))
                .unwrap_or_else(|| "–".into()),
            champion: f(m.champion),
            candidate: f(m.candidate),
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
            // the change's interval goes in `interval` for the PR table (see pr_body)
        })
        .collect()
}

/// The model card of the proposed version.
pub fn model_card(run: &ModelRun, model: &ModelConfig, proposal: &Proposal) -> String {
    let (Some(c), Some(e), Some(t)) = (&run.artifact, &run.evaluation, &run.training) else {
        return String::new();
    };
    let version = proposal
        .pointer
        .champion
        .as_ref()
        .expect("a proposal has a champion");
    let a = &c.artifact;
    let mut caveats: Vec<String> = run
        .check
        .anomalies
        .iter()
        .map(|x| {
            format!(
                "data validation ({}): {}",
                if x.severity == Severity::Blocking {
                    "blocking"
                } else {
                    "warning"
                },
                x.message
            )
        })
        .collect();
    caveats.extend(
        t.skipped
            .iter()
            .map(|s| format!("not used as a feature: {s}")),
    );
    if e.champion.is_none() {
        caveats.push("first version: there was no champion to compare with".into());
    }
    if !run.gate.as_ref().is_some_and(|g| g.blessed) {
        caveats.push("the candidate was NOT blessed by the gate; see the pull request".into());
    }
    caveats.push(format!(
        "metrics come from a {} holdout of the data available at training time; they do not guarantee performance on future data, which drifts",
        match model.evaluation.holdout.kind {
            crate::config::HoldoutKind::Time => "time-ordered (newest rows)",
            crate::config::HoldoutKind::Random => "random",
        }
    ));
    let slice_names: Vec<String> = e.slices.keys().cloned().collect();
    let metric_names: Vec<String> = e
        .metrics
        .iter()
        .map(|m| m.metric.name().to_string())
        .collect();
    let slice_rows: Vec<serde_json::Value> = e
        .slices
        .iter()
        .flat_map(|(col, values)| {
            let names = metric_names.clone();
            values.iter().map(move |(v, s)| {
                serde_json::json!({
                    "slice": format!("{col} = {v}"),
                    "rows": s.rows,
                    "values": names.iter().map(|n| s.candidate.get(n).map(|x| fmt_num(*x)).unwrap_or_else(|| "–".into())).collect::<Vec<_>>(),
                })
            })
        })
        .collect();
    let confusion = e.confusion.as_ref().map(|cm| {
        cm.iter()
            .enumerate()
            .map(|(i, row)| serde_json::json!({ "label": a.classes.get(i).cloned().unwrap_or_default(), "counts": row }))
            .collect::<Vec<_>>()
    });
    let params = if a.params.is_empty() {
        String::new()
    } else {
        a.params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let numeric_steps = a
        .preprocessing
        .steps
        .iter()
        .filter(|s| matches!(s, crate::train::preprocess::Step::Numeric { .. }))
        .count();
    let onehot_steps = a.preprocessing.steps.len() - numeric_steps;
    let card = serde_json::json!({
        "model": model.name.as_str(),
        "version": proposal.version,
        "task": match model.task { crate::config::Task::Classification => "classification", crate::config::Task::Regression => "regression" },
        "hf_task": match model.task { crate::config::Task::Classification => "tabular-classification", crate::config::Task::Regression => "tabular-regression" },
        "target": model.target,
        "classes": a.classes,
        "algorithm": t.algorithm,
        "params": params,
        "artifact_uri": version.artifact.uri,
        "artifact_bytes": version.artifact.size,
        "digest": version.artifact.digest,
        "numeric_steps": numeric_steps,
        "onehot_steps": onehot_steps,
        "trained_at": a.training.trained_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        "retrain_version": a.training.retrain_version,
        "slices": slice_names,
        "metrics": metric_rows(run),
        "metric_names": metric_names,
        "slice_rows": slice_rows,
        "confusion": confusion,
        "holdout": match model.evaluation.holdout.kind {
            crate::config::HoldoutKind::Time => format!("the newest {:.0}% of the training window's rows by time", model.evaluation.holdout.fraction.get() * 100.0),
            crate::config::HoldoutKind::Random => format!("a random {:.0}% of the training window's rows (seed {})", model.evaluation.holdout.fraction.get() * 100.0, model.evaluation.holdout.seed),
        },
        "holdout_rows": e.holdout_rows,
        "confidence_pct": pct(e.confidence),
        "resamples": e.resamples,
        "snapshot": run.check.snapshot,
        "snapshot_short": &run.check.snapshot[..12],
        "data_source": model.data.to_string(),
        "snapshot_rows": run.check.snapshot_rows,
        "snapshot_files": run.check.snapshot_files,
        "window": t.window,
        "training_rows": t.rows,
        "refit_rows": t.refit.as_ref().map(|r| r.rows),
        "features": t.features,
        "caveats": caveats,
    });
    environment()
        .get_template("model_card")
        .and_then(|tpl| tpl.render(minijinja::context! { card => Value::from_serialize(&card) }))
        .expect("the model card renders")
}

/// The pull-request body.
pub fn pr_body(
    run: &ModelRun,
    model: &ModelConfig,
    proposal: &Proposal,
    previous: Option<&RegistryPointer>,
) -> String {
    let marker = Marker {
        kind: None,
        model: model.name.to_string(),
        snapshot: run.check.snapshot.clone(),
        config_hash: model.config_hash.clone(),
        version: proposal.version,
        retrain: env!("CARGO_PKG_VERSION").to_string(),
    };
    let mut limit = 200usize;
    loop {
        let body = render_pr(run, model, proposal, previous, &marker, limit, None);
        if body.len() < BODY_LIMIT || limit == 0 {
            return truncate_keeping_marker(body);
        }
        limit /= 2;
    }
}

fn truncate_keeping_marker(body: String) -> String {
    if body.len() < BODY_LIMIT {
        return body;
    }
    let note = "\n\n_The body was cut to fit GitHub's limit._\n";
    let mut cut = BODY_LIMIT - note.len() - 1;
    while !body.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{note}", &body[..cut])
}

/// The context shared by the PR body, the step summary and the comment.
fn pr_context(
    run: &ModelRun,
    model: &ModelConfig,
    proposal: Option<&Proposal>,
    previous: Option<&RegistryPointer>,
    limit: usize,
    pr_url: Option<&str>,
) -> serde_json::Value {
    let c = &run.check;
    let blessed = run.gate.as_ref().is_some_and(|g| g.blessed);
    let headline = match (run.outcome, blessed) {
        (crate::outcome::RunOutcome::Trained, true) => format!(
            "candidate v{} is blessed",
            proposal.map(|p| p.version).unwrap_or(0)
        ),
        (crate::outcome::RunOutcome::Trained, false) => "candidate is NOT blessed".to_string(),
        (crate::outcome::RunOutcome::Blocked, _) => "blocked by data validation".to_string(),
        (crate::outcome::RunOutcome::NoRetrain, _) => "no retrain needed".to_string(),
    };
    let e = run.evaluation.as_ref();
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
    let anomalies: Vec<serde_json::Value> = c
        .anomalies
        .iter()
        .take(limit)
        .map(|a| serde_json::json!({ "severity": if a.severity == Severity::Blocking { "blocking" } else { "warning" }, "kind": a.kind.name(), "column": a.column.clone().unwrap_or_else(|| "–".into()), "message": a.message }))
        .collect();
    let drift: Vec<serde_json::Value> = c
        .drift
        .columns
        .iter()
        .chain(c.drift.label.iter())
        .take(limit)
        .map(|d| {
            serde_json::json!({
                "column": if c.drift.label.as_ref().is_some_and(|l| std::ptr::eq(l, d)) { format!("{} (label)", d.column) } else { d.column.clone() },
                "method": d.method.name(),
                "statistic": d.statistic.map(fmt_num).unwrap_or_else(|| "–".into()),
                "threshold": d.threshold,
                "drifted": d.drifted,
                "not_testable": d.not_testable,
            })
        })
        .collect();
    let rows = metric_rows(run);
    let metrics: Vec<serde_json::Value> = e
        .map(|e| {
            e.metrics
                .iter()
                .zip(&rows)
                .map(|(m, r)| {
                    serde_json::json!({
                        "name": r.name, "primary": r.primary, "champion": r.champion, "candidate": r.candidate, "change": r.change,
                        "interval": m.diff_interval.map(|i| format!("[{}, {}]{}", fmt_num(i.low), fmt_num(i.high), if m.significant == Some(true) { " significant" } else { "" })).unwrap_or_else(|| "–".into()),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let chart = proposal.and_then(|p| {
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
        let cand = e.and_then(|e| e.candidate.get(primary.name())).copied()?;
        labels.push(format!("\"v{} (candidate)\"", p.version));
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
    });
    let gate = run.gate.as_ref();
    let infra = run.infra.as_ref();
    let t = run.training.as_ref();
    let champion = proposal.and_then(|p| p.pointer.champion.as_ref());
    serde_json::json!({
        "model": model.name.as_str(),
        "headline": headline,
        "verdict_line": verdict_line,
        "reasons": c.decision.reasons.iter().map(|r| serde_json::json!({ "kind": serde_json::to_value(r.kind).ok(), "fired": r.fired, "detail": r.detail })).collect::<Vec<_>>(),
        "anomalies": anomalies,
        "anomalies_hidden": c.anomalies.len().saturating_sub(limit),
        "new_rows": c.new_rows,
        "drift_summary": format!("{} of {} columns drifted, share {:.2}{}", c.drift.drifted, c.drift.tested, c.drift.share, if c.drift.dataset_drift { ": dataset drift" } else { "" }),
        "drift": drift,
        "drift_hidden": (c.drift.columns.len() + usize::from(c.drift.label.is_some())).saturating_sub(limit),
        "holdout_rows": e.map(|e| e.holdout_rows).unwrap_or(0),
        "confidence_pct": e.map(|e| pct(e.confidence)).unwrap_or_default(),
        "metrics": metrics,
        "primary": primary.name(),
        "chart": chart.map(|c| serde_json::to_value(c).ok()),
        "blessed": gate.is_some_and(|g| g.blessed),
        "gate_checks": gate.map(|g| g.checks.iter().map(|c| serde_json::json!({ "passed": c.passed, "waived": c.waived, "detail": c.detail })).collect::<Vec<_>>()).unwrap_or_default(),
        "gate_notes": gate.map(|g| g.notes.clone()).unwrap_or_default(),
        "infra_passed": infra.is_some_and(|i| i.passed),
        "infra_detail": infra.map(|i| i.detail.clone()).unwrap_or_default(),
        "registry_file": format!("{}/registry.yaml", model.registry.path),
        "old_version": previous.and_then(|p| p.champion.as_ref()).map(|c| format!("v{}", c.version)).unwrap_or_else(|| "none".into()),
        "new_version": proposal.map(|p| p.version).unwrap_or(0),
        "artifact_uri": champion.map(|c| c.artifact.uri.clone()).unwrap_or_default(),
        "artifact_bytes": champion.map(|c| c.artifact.size).unwrap_or(0),
        "digest": champion.map(|c| c.artifact.digest.clone()).unwrap_or_default(),
        "snapshot_short": &c.snapshot[..12],
        "algorithm": t.map(|t| t.algorithm.clone()).unwrap_or_default(),
        "training_rows": t.map(|t| t.rows).unwrap_or(0),
        "refit_rows": t.and_then(|t| t.refit.as_ref().map(|r| r.rows)),
        "window": t.map(|t| t.window.clone()).unwrap_or_default(),
        "duration_ms": t.map(|t| t.duration_ms).unwrap_or(0),
        "warm_start": t.is_some_and(|t| t.warm_start),
        "card_path": proposal.map(|p| format!("{}/versions/{}/MODEL_CARD.md", model.registry.path, p.version)).unwrap_or_default(),
        "pr_url": pr_url,
    })
}

fn render_pr(
    run: &ModelRun,
    model: &ModelConfig,
    proposal: &Proposal,
    previous: Option<&RegistryPointer>,
    marker: &Marker,
    limit: usize,
    pr_url: Option<&str>,
) -> String {
    let pr = pr_context(run, model, Some(proposal), previous, limit, pr_url);
    environment()
        .get_template("pr_body")
        .and_then(|t| t.render(minijinja::context! { pr => Value::from_serialize(&pr), marker => Value::from_safe_string(marker.render()) }))
        .expect("the PR body renders")
}

/// The `$GITHUB_STEP_SUMMARY` variant.
pub fn step_summary(
    run: &ModelRun,
    model: &ModelConfig,
    proposal: Option<&Proposal>,
    pr_url: Option<&str>,
) -> String {
    let pr = pr_context(run, model, proposal, None, 50, pr_url);
    environment()
        .get_template("step_summary")
        .and_then(|t| t.render(minijinja::context! { pr => Value::from_serialize(&pr) }))
        .expect("the step summary renders")
}

/// The comment variant (replies to `/retrain`).
pub fn comment(
    run: &ModelRun,
    model: &ModelConfig,
    proposal: Option<&Proposal>,
    pr_url: Option<&str>,
) -> String {
    let pr = pr_context(run, model, proposal, None, 20, pr_url);
    environment()
        .get_template("comment")
        .and_then(|t| t.render(minijinja::context! { pr => Value::from_serialize(&pr) }))
        .expect("the comment renders")
}

/// One side of a rollback, as the rollback body shows it.
#[derive(Serialize)]
pub struct RollbackSide {
    pub version: u32,
    pub trained_at: String,
    pub snapshot: String,
    pub algorithm: String,
    pub artifact: String,
    pub digest: String,
}

impl From<&crate::registry::ModelVersion> for RollbackSide {
    fn from(v: &crate::registry::ModelVersion) -> Self {
        Self {
            version: v.version,
            trained_at: v.trained_at.to_rfc3339(),
            snapshot: v.snapshot.chars().take(12).collect(),
            algorithm: v.algorithm.clone(),
            artifact: v.artifact.uri.clone(),
            digest: v.artifact.digest.clone(),
        }
    }
}

/// The body of a rollback pull request.
pub fn rollback_body(
    model: &str,
    from: &crate::registry::ModelVersion,
    to: &crate::registry::ModelVersion,
    reason: Option<&str>,
    marker: &Marker,
) -> String {
    let names: std::collections::BTreeSet<&String> =
        from.metrics.keys().chain(to.metrics.keys()).collect();
    let metrics: Vec<serde_json::Value> = names
        .into_iter()
        .map(|n| {
            let f = |v: &crate::registry::ModelVersion| {
                v.metrics
                    .get(n)
                    .map(|x| fmt_num(*x))
                    .unwrap_or_else(|| "–".into())
            };
            serde_json::json!({ "name": n, "from": f(from), "to": f(to) })
        })
        .collect();
    let rb = serde_json::json!({
        "model": model,
        "from": RollbackSide::from(from),
        "to": RollbackSide::from(to),
        "reason": reason,
        "metrics": metrics,
    });
    environment()
        .get_template("rollback")
        .and_then(|t| {
            t.render(minijinja::context! { rb => Value::from_serialize(&rb), marker => Value::from_safe_string(marker.render()) })
        })
        .expect("the rollback body renders")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_defuses_markdown_html_and_mentions() {
        let e =
            escape_markdown("<img src=x onerror=alert(1)> @octocat #12 *bold* | `code` [link](x)");
        assert!(!e.contains('<') && !e.contains('@') && !e.contains("#1"));
        assert!(
            e.contains("\\*bold\\*")
                && e.contains("\\|")
                && e.contains("\\`code\\`")
                && e.contains("\\[link\\]")
        );
    }

    #[test]
    fn marker_round_trips() {
        let m = Marker {
            kind: None,
            model: "elec".into(),
            snapshot: "ab".repeat(32),
            config_hash: "0123456789abcdef".into(),
            version: 3,
            retrain: "0.1.0".into(),
        };
        let body = format!("{}\n## hello", m.render());
        assert_eq!(Marker::parse(&body), Some(m));
        assert_eq!(Marker::parse("no marker"), None);
    }
}
