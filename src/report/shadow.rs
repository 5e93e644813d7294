//! The shadow-evaluation section of a model pull request's body (`templates/shadow.md.j2`):
//! where the out-of-time comparison stands, both models' metrics on the newer rows with
//! the paired interval of the difference, and the shadow gates. The section sits
//! between two hidden lines, so that each run replaces it and leaves the rest of the
//! body as the proposal wrote it.

use serde::Serialize;

use crate::decision::fmt_num;
use crate::outcome::ShadowReport;

const START: &str = "<!-- retrain:shadow -->";
const END: &str = "<!-- /retrain:shadow -->";

#[derive(Serialize)]
struct Section<'a> {
    status: crate::outcome::ShadowStatus,
    rows: u64,
    min_rows: u64,
    candidate: Option<u32>,
    champion: Option<u32>,
    candidate_snapshot: &'a str,
    reason: Option<&'a str>,
    close_when_beaten: bool,
    confidence: String,
    metrics: Vec<Row>,
    gates: Vec<GateLine>,
}

#[derive(Serialize)]
struct Row {
    name: &'static str,
    champion: String,
    candidate: String,
    diff: String,
    interval: Option<String>,
}

#[derive(Serialize)]
struct GateLine {
    passed: bool,
    detail: String,
}

/// The section for `report` (with its hidden delimiters).
pub fn section(report: &ShadowReport, close_when_beaten: bool) -> String {
    let num = |v: Option<f64>| v.map(fmt_num).unwrap_or_else(|| "—".into());
    let signed = |v: f64| {
        if v >= 0.0 {
            format!("+{}", fmt_num(v))
        } else {
            fmt_num(v)
        }
    };
    let metrics = report
        .evaluation
        .iter()
        .flat_map(|e| &e.metrics)
        .map(|m| Row {
            name: m.metric.name(),
            champion: num(m.champion),
            candidate: num(m.candidate),
            diff: m.diff.map(signed).unwrap_or_else(|| "—".into()),
            interval: m
                .diff_interval
                .map(|i| format!("{} to {}", signed(i.low), signed(i.high))),
        })
        .collect();
    let gates = report
        .gate
        .iter()
        .flat_map(|g| &g.checks)
        .map(|c| GateLine {
            passed: c.passed,
            detail: c.detail.clone(),
        })
        .collect();
    let s = Section {
        status: report.status,
        rows: report.rows,
        min_rows: report.min_rows,
        candidate: report.candidate,
        champion: report.champion,
        candidate_snapshot: &report.candidate_snapshot[..report.candidate_snapshot.len().min(12)],
        reason: report.reason.as_deref(),
        close_when_beaten,
        confidence: report
            .evaluation
            .as_ref()
            .map(|e| format!("{:.0}%", e.confidence * 100.0))
            .unwrap_or_default(),
        metrics,
        gates,
    };
    let text = super::documents::render_shadow(&s);
    format!("{START}\n{}\n{END}", text.trim_end())
}

/// `body` with its shadow section replaced by `section` (appended when it has none).
pub fn with_section(body: &str, section: &str) -> String {
    match (body.find(START), body.find(END)) {
        (Some(a), Some(b)) if b > a => {
            format!("{}{section}{}", &body[..a], &body[b + END.len()..])
        }
        _ => format!("{}\n\n{section}\n", body.trim_end()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_section_is_replaced_in_place_and_the_rest_is_kept() {
        let body = "<!-- retrain:{} -->\n## retrain: churn v2\n\ntext";
        let once = with_section(body, &format!("{START}\nfirst\n{END}"));
        assert!(once.starts_with(body) && once.contains("first"), "{once}");
        let twice = with_section(&once, &format!("{START}\nsecond\n{END}"));
        assert!(
            !twice.contains("first") && twice.contains("second"),
            "{twice}"
        );
        assert_eq!(twice.matches(START).count(), 1);
        assert!(twice.starts_with(body));
    }

    #[test]
    fn a_pending_section_reads_as_a_paragraph_then_the_table_then_the_gates() {
        use crate::config::{IntervalConfig, Metric};
        use crate::evaluate::{gate, Evaluation, Interval, MetricComparison};
        let m = MetricComparison {
            metric: Metric::Accuracy,
            higher_is_better: true,
            champion: Some(0.936),
            candidate: Some(0.944),
            diff: Some(0.008),
            candidate_interval: None,
            champion_interval: None,
            diff_interval: Some(Interval {
                low: -0.004,
                high: 0.013,
            }),
            significant: Some(false),
        };
        let evaluation = Evaluation::new(
            1000,
            Metric::Accuracy,
            vec![m],
            true,
            &IntervalConfig::default(),
        );
        let gates = [crate::config::Gate {
            metric: Metric::Accuracy,
            min: None,
            max: None,
            min_change: Some(0.0),
            min_relative_change: None,
            slice: None,
        }];
        let verdict = gate::judge(&gates, &evaluation, true);
        let report = ShadowReport {
            pull_request: 7,
            url: String::new(),
            candidate: Some(2),
            candidate_snapshot: "ab".repeat(32),
            champion: Some(1),
            status: crate::outcome::ShadowStatus::Pending,
            rows: 1000,
            min_rows: 1500,
            evaluation: Some(evaluation),
            gate: Some(verdict),
            reason: None,
            operation: None,
        };
        let text = section(&report, false);
        let expected = format!(
            "{START}\n### Shadow evaluation (out of time)\n\n**Pending**: 1000 of 1500 labelled rows newer than the candidate's snapshot `abababababab` so far. The pull request stays a draft and its check pending until the candidate has been compared with the champion on 1500 such rows and passes the gates below.\n\n| metric | champion v1 | candidate v2 | difference (95% interval) |\n|---|---|---|---|\n| accuracy | 0.9360 | 0.9440 | +0.008000 (-0.004000 to +0.01300) |\n\n- [x] accuracy change +0.008000 (candidate 0.9440 vs champion 0.9360) ≥ 0\n{END}"
        );
        assert_eq!(text, expected);
    }
}
