//! Rendering of command results for people (text) and scripts (`--output json`).
//! Documents people read on GitHub (PR bodies, model cards) are minijinja templates;
//! terminal lines are short enough to format here.

use crate::pipeline::SnapshotReport;
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
