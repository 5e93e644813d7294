//! Rendering of command results for people (text) and scripts (`--output json`).
//! Documents people read on GitHub (PR bodies, model cards) are minijinja templates;
//! terminal lines are short enough to format here.

use crate::checks::validation::Severity;
use crate::decision::fmt_num;
use crate::outcome::{
    CheckReport, ModelCheck, ModelRun, ReferenceSource, RunOutcome, RunReport, SnapshotReport,
};
use crate::snapshot::Status;

mod artifacts;
pub mod backtest;
pub mod chart;
pub mod context;
pub mod documents;
pub mod run_documents;
pub mod shadow;

pub use artifacts::{comments, rendered_text, run_step_summary, write_artifacts, WriteError};

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
            .chain(d.prediction.iter().map(|l| l.column.len() + 13))
            .max()
            .unwrap_or(6)
            .max(6);
        let _ = writeln!(
            out,
            "  {:<width$}  {:<11}  {:<14}  {:>10}  {:>9}  drifted",
            "column", "type", "method", "statistic", "threshold"
        );
        let rows = d
            .prediction
            .iter()
            .map(|c| (c, Some("prediction")))
            .chain(d.columns.iter().map(|c| (c, None)))
            .chain(d.label.iter().map(|c| (c, Some("label"))));
        for (col, tag) in rows {
            let name = match tag {
                Some(tag) => format!("{} ({tag})", col.column),
                None => col.column.clone(),
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

/// One JSON object: the run of one model, `{ "runs": [...] }` for several.
pub fn run_json(report: &RunReport) -> String {
    let value = match report.runs.as_slice() {
        [one] => serde_json::to_value(one),
        _ => serde_json::to_value(report),
    }
    .expect("report serialises");
    format!("{value}\n")
}

pub fn run_text(report: &RunReport) -> String {
    let mut out = String::new();
    for (i, r) in report.runs.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        check_one(&mut out, &r.check);
        run_one(&mut out, r);
    }
    out
}

/// The open candidate's shadow evaluation, in one or two lines.
fn shadow_one(out: &mut String, s: &crate::outcome::ShadowReport) {
    use crate::outcome::ShadowStatus;
    use std::fmt::Write;
    let who = format!(
        "v{} (#{})",
        s.candidate.map_or("?".into(), |v| v.to_string()),
        s.pull_request
    );
    let status = match s.status {
        ShadowStatus::Pending => {
            format!("pending, {} of {} newer labelled rows", s.rows, s.min_rows)
        }
        ShadowStatus::Passed => format!("passed on {} newer labelled rows", s.rows),
        ShadowStatus::Failed => format!("beaten on {} newer labelled rows", s.rows),
        ShadowStatus::Refused => format!(
            "refused: {}",
            s.reason
                .as_deref()
                .unwrap_or("the candidate cannot be read")
        ),
    };
    let _ = writeln!(
        out,
        "
shadow evaluation of the open candidate {who}: {status}"
    );
    if let Some(m) = s.evaluation.as_ref().and_then(|e| e.get(e.primary)) {
        let _ = writeln!(
            out,
            "  {} champion {} candidate {}{}",
            m.metric,
            m.champion.map(fmt_num).unwrap_or_else(|| "-".into()),
            m.candidate.map(fmt_num).unwrap_or_else(|| "-".into()),
            m.diff_interval
                .map(|i| format!(" (difference {} to {})", fmt_num(i.low), fmt_num(i.high)))
                .unwrap_or_default()
        );
    }
}

fn run_one(out: &mut String, r: &ModelRun) {
    use std::fmt::Write;
    if let Some(s) = &r.shadow {
        shadow_one(out, s);
    }
    match &r.outcome {
        RunOutcome::NoRetrain => {
            let _ = writeln!(out, "\nnothing to train.");
            return;
        }
        RunOutcome::Blocked => {
            let _ = writeln!(out, "\nnot training on data with blocking anomalies.");
            return;
        }
        RunOutcome::Trained(_) => {}
    }
    if let Some(t) = r.training() {
        let _ = writeln!(
            out,
            "\ntraining: {} on {} rows ({}), {} ms{}",
            t.algorithm,
            t.rows,
            t.window,
            t.duration_ms,
            if t.warm_start {
                ", warm start from the champion"
            } else {
                ""
            }
        );
        for w in &t.windows {
            let _ = writeln!(
                out,
                "  window {:<16} {:>8} rows  {} {}{}",
                w.window,
                w.rows,
                w.metric,
                w.score.map(fmt_num).unwrap_or_else(|| "-".into()),
                if w.chosen { "  <- chosen" } else { "" }
            );
        }
    }
    if let Some(e) = r.evaluation() {
        let _ = writeln!(
            out,
            "\nevaluation on the same holdout ({} rows; {:.0}% intervals, {} paired bootstrap resamples):",
            e.holdout_rows,
            100.0 * e.confidence,
            e.resamples
        );
        if let Some(err) = &e.champion_error {
            let _ = writeln!(out, "  champion not scored: {err}");
        }
        let _ = writeln!(
            out,
            "  {:<18} {:>10} {:>10} {:>10}  {:<24}",
            "metric", "champion", "candidate", "change", "change interval"
        );
        for m in &e.metrics {
            let f = |v: Option<f64>| v.map(fmt_num).unwrap_or_else(|| "-".into());
            let iv = m
                .diff_interval
                .map(|iv| {
                    format!(
                        "[{}, {}]{}",
                        fmt_num(iv.low),
                        fmt_num(iv.high),
                        if m.significant == Some(true) {
                            " *"
                        } else {
                            ""
                        }
                    )
                })
                .unwrap_or_else(|| "-".into());
            let _ = writeln!(
                out,
                "  {:<18} {:>10} {:>10} {:>10}  {}",
                format!(
                    "{}{}",
                    m.metric,
                    if m.metric == e.primary {
                        " (primary)"
                    } else {
                        ""
                    }
                ),
                f(m.champion),
                f(m.candidate),
                m.diff
                    .map(|d| if d >= 0.0 {
                        format!("+{}", fmt_num(d))
                    } else {
                        fmt_num(d)
                    })
                    .unwrap_or_else(|| "-".into()),
                iv
            );
        }
    }
    if let Some(g) = r.gate() {
        let _ = writeln!(
            out,
            "\ngate: {}",
            if g.blessed { "BLESSED" } else { "not blessed" }
        );
        for c in &g.checks {
            let mark = if c.waived {
                "[~]"
            } else if c.passed {
                "[x]"
            } else {
                "[ ]"
            };
            let slice = c
                .slice
                .as_ref()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default();
            let _ = writeln!(out, "  {mark} {}{slice}", c.detail);
        }
        for n in &g.notes {
            let _ = writeln!(out, "  note: {n}");
        }
    }
    if let Some(i) = r.infra() {
        let _ = writeln!(
            out,
            "\ninfra check: {} ({}; {:.0} rows/s)",
            if i.passed { "passed" } else { "FAILED" },
            i.detail,
            i.predict_rows_per_second
        );
    }
    if let Some(p) = &r.pull_request {
        let op = serde_json::to_value(p.operation)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "pull request: {}{} ({op}) on branch {}",
            p.number.map(|n| format!("#{n} ")).unwrap_or_default(),
            p.url.clone().unwrap_or_default(),
            p.branch
        );
        if let Some(reason) = &p.reason {
            let _ = writeln!(out, "  {reason}");
        }
        for n in &p.superseded {
            let _ = writeln!(out, "  closed #{n}: superseded");
        }
    }
    if let (Some(p), true) = (r.plan(), r.dry_run) {
        let _ = writeln!(
            out,
            "proposal: {}",
            if p.opens {
                format!(
                    "`{}` on branch `{}`{}",
                    p.title,
                    p.branch,
                    if p.draft { " (draft)" } else { "" }
                )
            } else {
                "none (not blessed, and `pull_request.open_when_not_blessed` is false)".into()
            }
        );
    }
    if let Some(c) = r.candidate() {
        let _ = writeln!(
            out,
            "candidate: {} ({} bytes){}",
            c.digest,
            c.bytes,
            if r.dry_run {
                "; dry run: nothing published"
            } else {
                ""
            }
        );
    }
}

/// One object for one model, `{ "promotions": [...] }` for several.
pub fn promote_json(report: &crate::outcome::PromoteReport) -> String {
    let value = match report.promotions.as_slice() {
        [one] => serde_json::to_value(one),
        _ => serde_json::to_value(report),
    }
    .expect("report serialises");
    format!("{value}\n")
}

pub fn promote_text(report: &crate::outcome::PromoteReport) -> String {
    use crate::outcome::PromotionStatus;
    use std::fmt::Write;
    let mut out = String::new();
    for p in &report.promotions {
        match (p.status, &p.version, &p.tag) {
            (PromotionStatus::NoChampion, _, _) | (_, None, _) | (_, _, None) => {
                let _ = writeln!(
                    out,
                    "{}: no champion in the registry, nothing to promote",
                    p.model
                );
            }
            (status, Some(v), Some(tag)) => {
                let _ = writeln!(
                    out,
                    "{}: v{v} {} — tag {tag} {}{}",
                    p.model,
                    if status == PromotionStatus::Promoted {
                        "promoted"
                    } else {
                        "already promoted"
                    },
                    p.tag_operation
                        .map(|o| serde_json::to_value(o)
                            .unwrap_or_default()
                            .as_str()
                            .unwrap_or("")
                            .to_string())
                        .unwrap_or_default(),
                    p.release
                        .as_ref()
                        .map(|r| format!(
                            ", release {} ({})",
                            r.url,
                            serde_json::to_value(r.operation)
                                .unwrap_or_default()
                                .as_str()
                                .unwrap_or("")
                        ))
                        .unwrap_or_default()
                );
                if let Some(a) = &p.artifact {
                    let _ = writeln!(
                        out,
                        "  artifact {} verified: {} ({} bytes)",
                        a.uri, a.digest, a.size
                    );
                }
                if let Some(m) = &p.mlflow {
                    let _ = writeln!(
                        out,
                        "  MLflow: {} version {} carries `{}` ({}): {}",
                        m.model_name,
                        m.version,
                        m.alias,
                        serde_json::to_value(m.operation)
                            .unwrap_or_default()
                            .as_str()
                            .unwrap_or(""),
                        m.url
                    );
                }
                if let Some(n) = &p.note {
                    let _ = writeln!(out, "  note: {n}");
                }
            }
        }
    }
    out
}

pub fn rollback_json(report: &crate::outcome::RollbackReport) -> String {
    format!(
        "{}\n",
        serde_json::to_value(report).expect("report serialises")
    )
}

pub fn rollback_text(report: &crate::outcome::RollbackReport) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: roll back from v{} to v{}",
        report.model, report.from, report.to
    );
    match &report.pull_request {
        None if report.dry_run => {
            let _ = writeln!(
                out,
                "dry run: no pull request. The registry pointer would be:\n"
            );
            out.push_str(&serde_yaml::to_string(&report.registry).unwrap_or_default());
        }
        None => {}
        Some(pr) => {
            let _ = writeln!(
                out,
                "pull request {} ({}){}",
                pr.url.as_deref().unwrap_or(&pr.branch),
                serde_json::to_value(pr.operation)
                    .unwrap_or_default()
                    .as_str()
                    .unwrap_or(""),
                pr.reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            );
        }
    }
    out
}
