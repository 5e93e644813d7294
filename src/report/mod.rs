//! Rendering of command results for people (text) and scripts (`--output json`).
//! Documents people read on GitHub (PR bodies, model cards) are minijinja templates;
//! terminal lines are short enough to format here.

use crate::checks::validation::Severity;
use crate::decision::fmt_num;
use crate::pipeline::{CheckReport, ModelCheck, ReferenceSource, SnapshotReport};
use crate::snapshot::Status;

/// One JSON object: the snapshot's fields for one model, `{ "snapshots": [...] }` for several.
pub fn snapshot_json(report: &SnapshotReport) -> String {
    let value = match report.snapshots.as_slice() {
        [one] => serde_json::to_value(one),
        _ => serde_json::to_value(report),
    }
    .expect("report serialises");
    format!("{value}\n")
}

pub fn snapshot_text(report: &SnapshotReport) -> String {
    let mut out = String::new();
    for s in &report.snapshots {
        let short = &s.id[..12];
        match s.status {
            Status::Created => out.push_str(&format!(
                "{}: snapshot {short} created: {} rows in {} file{}\n  {}\n",
                s.model,
                s.rows,
                s.files,
                if s.files == 1 { "" } else { "s" },
                s.path
            )),
            Status::Unchanged => out.push_str(&format!(
                "{}: data unchanged, snapshot {short} already exists ({} rows in {} file{}); nothing to do\n  {}\n",
                s.model,
                s.rows,
                s.files,
                if s.files == 1 { "" } else { "s" },
                s.path
            )),
        }
    }
    out
}

/// One JSON object: the check of one model, `{ "checks": [...] }` for several.
pub fn check_json(report: &CheckReport) -> String {
    let value = match report.checks.as_slice() {
        [one] => serde_json::to_value(one),
        _ => serde_json::to_value(report),
    }
    .expect("report serialises");
    format!("{value}\n")
}

pub fn check_text(report: &CheckReport) -> String {
    let mut out = String::new();
    for (i, c) in report.checks.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        check_one(&mut out, c);
    }
    out
}

fn check_one(out: &mut String, c: &ModelCheck) {
    use std::fmt::Write;
    let source = match (c.reference_source, c.champion) {
        (ReferenceSource::Champion, Some(v)) => format!("the champion v{v}'s"),
        (ReferenceSource::Given, _) => "the given".into(),
        _ => "the first (no champion yet)".into(),
    };
    let _ = writeln!(
        out,
        "{}: snapshot {} vs {source} snapshot {}",
        c.model,
        &c.snapshot[..12],
        &c.reference[..12]
    );
    let _ = writeln!(
        out,
        "new data: {} rows in {} file{}{}",
        c.new_rows,
        c.new_files.len(),
        if c.new_files.len() == 1 { "" } else { "s" },
        c.time_filter
            .as_ref()
            .map(|f| format!(" (rows with {f})"))
            .unwrap_or_default()
    );

    let blocking = c
        .anomalies
        .iter()
        .filter(|a| a.severity == Severity::Blocking)
        .count();
    let _ = writeln!(
        out,
        "\nvalidation: {} ({blocking} blocking)",
        plural(c.anomalies.len(), "anomaly", "anomalies")
    );
    for a in &c.anomalies {
        let sev = match a.severity {
            Severity::Blocking => "BLOCKING",
            Severity::Warning => "warning ",
        };
        let _ = writeln!(out, "  {sev} {:<17} {}", a.kind.name(), a.message);
    }

    let d = &c.drift;
    let _ = writeln!(
        out,
        "\ndrift: {} of {} tested columns drifted (share {:.2}, dataset drift at ≥ {}): {}",
        d.drifted,
        d.tested,
        d.share,
        d.share_threshold,
        if d.dataset_drift {
            "DATASET DRIFT"
        } else {
            "no dataset drift"
        }
    );
    if !d.columns.is_empty() {
        let width = d
            .columns
            .iter()
            .map(|c| c.column.len())
            .chain(d.label.iter().map(|l| l.column.len() + 8))
            .max()
            .unwrap_or(6)
            .max(6);
        let _ = writeln!(
            out,
            "  {:<width$}  {:<11}  {:<14}  {:>10}  {:>9}  drifted",
            "column", "type", "method", "statistic", "threshold"
        );
        let rows = d
            .columns
            .iter()
            .map(|c| (c, false))
            .chain(d.label.iter().map(|c| (c, true)));
        for (col, is_label) in rows {
            let name = if is_label {
                format!("{} (label)", col.column)
            } else {
                col.column.clone()
            };
            let stat = col.statistic.map(fmt_num).unwrap_or_else(|| "-".into());
            let verdict = match &col.not_testable {
                Some(why) => format!("not testable: {why}"),
                None if col.drifted => "YES".into(),
                None => "no".into(),
            };
            let _ = writeln!(
                out,
                "  {:<width$}  {:<11}  {:<14}  {:>10}  {:>9}  {verdict}",
                name,
                col.kind.to_string(),
                format!(
                    "{}{}",
                    col.method.name(),
                    if col.approximate { "*" } else { "" }
                ),
                stat,
                col.threshold
            );
        }
        if d.columns.iter().any(|c| c.approximate) {
            let _ = writeln!(
                out,
                "  * computed against the reference's histogram (see docs)"
            );
        }
    }

    let decision = &c.decision;
    let verdict = if decision.blocked {
        "BLOCKED: do not retrain on this data"
    } else if decision.retrain {
        "RETRAIN"
    } else {
        "no retrain"
    };
    let _ = writeln!(out, "\ndecision: {verdict}");
    for r in &decision.reasons {
        let mark = if r.fired { "[x]" } else { "[ ]" };
        let kind = serde_json::to_value(r.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let _ = writeln!(out, "  {mark} {kind}: {}", r.detail);
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
