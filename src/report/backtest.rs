//! `retrain backtest` for people (a terminal table, a Markdown report rendered from
//! `templates/backtest.md.j2`) and for scripts (`--output json`).

use minijinja::{context, Value};
use serde::Serialize;

use super::chart;
use super::documents::environment;
use crate::outcome::BacktestReport;

/// GitHub's limit on a pull request body, with room for the truncation note.
const BODY_LIMIT: usize = 65_536 - 200;

/// One JSON object: the report (`policies[]` with `name`, `mean_metric`,
/// `worst_metric`, `retrains`, `train_seconds`; `recommended`), plus `charts` and
/// `apply` when they were produced.
pub fn json(report: &BacktestReport, extra: serde_json::Value) -> String {
    let mut value = serde_json::to_value(report).expect("report serialises");
    if let (Some(obj), serde_json::Value::Object(more)) = (value.as_object_mut(), extra) {
        obj.extend(more);
    }
    format!("{value}\n")
}

fn num(v: Option<f64>) -> String {
    v.map_or("—".into(), |v| format!("{v:.4}"))
}

pub fn text(report: &BacktestReport) -> String {
    let mut out = format!(
        "{}: backtest over {} ({} scored, {} to warm up), metric {}\n",
        report.model, report.split, report.scored_periods, report.warmup, report.metric
    );
    let width = report
        .policies
        .iter()
        .map(|p| p.name.len())
        .max()
        .unwrap_or(6)
        .max(6);
    out.push_str(&format!(
        "  {:<width$}  {:>8}  {:>8}  {:>8}  {:>8}\n",
        "policy", "mean", "worst", "retrains", "train s"
    ));
    let mut sorted: Vec<_> = report.policies.iter().collect();
    sorted.sort_by(|a, b| {
        let key = |p: &&crate::outcome::PolicyResult| {
            p.mean_metric.unwrap_or(f64::NEG_INFINITY)
                * if report.higher_is_better { -1.0 } else { 1.0 }
        };
        key(a).total_cmp(&key(b))
    });
    for p in sorted {
        let mark = if p.name == report.recommended {
            "→"
        } else if p.pareto {
            "*"
        } else {
            " "
        };
        out.push_str(&format!(
            "{mark} {:<width$}  {:>8}  {:>8}  {:>8}  {:>8.2}{}\n",
            p.name,
            num(p.mean_metric),
            num(p.worst_metric),
            p.retrains,
            p.train_seconds,
            if p.current { "  (current)" } else { "" }
        ));
    }
    out.push_str("  → recommended, * Pareto front (quality vs retrains)\n");
    out.push_str(&format!(
        "recommended: {}\n  {}\n",
        report.recommended, report.reason
    ));
    out.push_str(&format!("  {}\n", report.assumptions[0]));
    out.push_str(&format!(
        "replayed {} policies in {:.1} s on {} threads: {} models trained, {} reused\n",
        report.policies.len(),
        report.wall_seconds,
        report.work.threads,
        report.work.fits,
        report.work.fits_reused
    ));
    out
}

#[derive(Serialize)]
struct Row {
    name: String,
    description: String,
    current: bool,
    mean: String,
    worst: String,
    retrains: usize,
    train_seconds: String,
    pareto: bool,
}

#[derive(Serialize)]
struct Charted {
    name: String,
    colour: String,
}

/// The Markdown report; `chart_png` is the PNG's path relative to the report, if drawn.
pub fn markdown(report: &BacktestReport, chart_png: Option<&str>) -> String {
    let env = environment();
    let rows: Vec<Row> = report
        .policies
        .iter()
        .map(|p| Row {
            name: p.name.clone(),
            description: p.description.clone(),
            current: p.current,
            mean: num(p.mean_metric),
            worst: num(p.worst_metric),
            retrains: p.retrains,
            train_seconds: format!("{:.2}", p.train_seconds),
            pareto: p.pareto,
        })
        .collect();
    let pareto: Vec<&Row> = rows.iter().filter(|r| r.pareto).collect();
    let charted: Vec<Charted> = chart::charted(report)
        .into_iter()
        .enumerate()
        .map(|(k, i)| Charted {
            name: report.policies[i].name.clone(),
            colour: chart::hex(chart::PALETTE[k]),
        })
        .collect();
    env.get_template("backtest")
        .expect("registered")
        .render(context! {
            model => report.model,
            recommended => report.recommended,
            reason => report.reason,
            split => report.split,
            warmup => report.warmup,
            scored_periods => report.scored_periods,
            metric => report.metric.name(),
            policies => rows,
            pareto => pareto,
            chart_png => chart_png,
            charted => charted,
            mermaid => chart::mermaid(report),
            assumptions => report.assumptions,
            wall_seconds => format!("{:.1}", report.wall_seconds),
            threads => report.work.threads,
            fits => report.work.fits,
            fits_reused => report.work.fits_reused,
            drift_reports => report.work.drift_reports,
            drift_reused => report.work.drift_reports_reused,
        })
        .expect("backtest template renders")
}

/// The body of the pull request `retrain backtest --apply` opens: what changes in
/// `file` (a line diff of `old` → `new`), a reviewer checklist and the report, within
/// GitHub's body limit (the report is cut at a line, never the marker or the diff).
pub fn policy_pr_body(report: &BacktestReport, file: &str, old: &str, new: &str) -> String {
    let env = environment();
    let marker = format!(
        "<!-- retrain-policy:{} -->",
        serde_json::json!({
            "model": report.model,
            "policy": report.recommended,
            "retrain": env!("CARGO_PKG_VERSION"),
        })
    );
    let diff = line_diff(old, new).replace("```", "'''");
    let render = |report_md: &str| {
        env.get_template("policy_pr")
            .expect("registered")
            .render(context! {
                marker => Value::from_safe_string(marker.clone()),
                model => report.model,
                recommended => report.recommended,
                policies => report.policies.len(),
                file => file,
                diff => diff,
                report => report_md,
            })
            .expect("policy PR template renders")
    };
    let full = markdown(report, None);
    let body = render(&full);
    if body.len() <= BODY_LIMIT {
        return body;
    }
    // cut the report at a line so that the whole body fits
    let room = full.len().saturating_sub(body.len() - BODY_LIMIT);
    let mut end = room;
    while !full.is_char_boundary(end) {
        end -= 1;
    }
    let cut = full[..end].rfind('\n').map_or(0, |i| i + 1);
    render(&format!(
        "{}\n*(the report was cut to fit GitHub's limit on a pull request body; run `retrain backtest --chart-dir DIR` for all of it)*\n",
        &full[..cut]
    ))
}

/// A unified-style line diff (`-` removed, `+` added, two lines of context around each
/// change, ` …` for skipped lines), from the longest common subsequence of lines.
pub fn line_diff(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let (n, m) = (a.len(), b.len());
    // lcs[i][j]: the LCS length of a[i..] and b[j..]
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut ops: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            ops.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', a[i]));
            i += 1;
        } else {
            ops.push(('+', b[j]));
            j += 1;
        }
    }
    const CONTEXT: usize = 2;
    let changed: Vec<usize> = (0..ops.len()).filter(|&k| ops[k].0 != ' ').collect();
    let keep = |k: usize| changed.iter().any(|&c| c.abs_diff(k) <= CONTEXT);
    let mut out = String::new();
    let mut skipped = false;
    for (k, (tag, line)) in ops.iter().enumerate() {
        if keep(k) {
            out.push_str(&format!("{tag}{line}\n"));
            skipped = false;
        } else if !skipped {
            out.push_str(" …\n");
            skipped = true;
        }
    }
    out
}

#[cfg(test)]
mod policy_pr_tests {
    use super::*;

    #[test]
    fn line_diff_shows_changes_with_context() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let new = "a\nb\nc\nd\nE\nf\ng\nh\ni\n";
        assert_eq!(line_diff(old, new), " …\n c\n d\n-e\n+E\n f\n g\n h\n+i\n");
        assert_eq!(line_diff("x\n", "x\n"), " …\n");
    }
}
