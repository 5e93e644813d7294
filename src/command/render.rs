//! A response as the text or the JSON a command prints, its exit code, and an error
//! in JSON.

use serde::{Deserialize, Serialize};

use super::{Format, Response};
use crate::error::{exit, Error};
use crate::report;

impl Response {
    /// What the command prints on stdout.
    pub fn render(&self, format: Format) -> String {
        let json = format == Format::Json;
        match self {
            Response::Snapshot(r) if json => report::snapshot_json(r),
            Response::Snapshot(r) => report::snapshot_text(r),
            Response::Check { report: r, .. } if json => report::check_json(r),
            Response::Check { report: r, .. } => report::check_text(r),
            Response::Run { report: r, .. } if json => report::run_json(r),
            Response::Run {
                report: r,
                rendered,
                ..
            } => {
                let mut text = report::run_text(r);
                if let Some(dir) = rendered {
                    text.push_str(&report::rendered_text(r, dir));
                }
                text
            }
            // predict writes its rows to a file; stdout says where
            Response::Predict(r) => format!(
                "{} v{}: scored {} rows -> {} (columns: {})\n",
                r.model,
                r.version,
                r.rows,
                r.output,
                r.columns.join(", ")
            ),
            Response::Promote(r) if json => report::promote_json(r),
            Response::Promote(r) => report::promote_text(r),
            Response::Rollback(r) if json => report::rollback_json(r),
            Response::Rollback(r) => report::rollback_text(r),
            Response::Backtest(o) if json => o.json(),
            Response::Backtest(o) => {
                format!("{}{}", report::backtest::text(&o.report), o.notes())
            }
            Response::Init(r) if json => {
                format!("{}\n", serde_json::to_value(r).expect("report serialises"))
            }
            Response::Init(r) => crate::init::text(r),
            Response::Schema(text) => text.clone(),
        }
    }

    /// 0, or [`exit::RETRAIN_DUE`] for `check --exit-code` when a retrain is due.
    pub fn exit_code(&self) -> i32 {
        match self {
            Response::Check {
                report,
                exit_code: true,
            } if report.retrain_due() => exit::RETRAIN_DUE,
            _ => exit::OK,
        }
    }
}

/// An error as `--output json` prints it (`{"error": ...}`) and the bot's child
/// process returns it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorReply {
    pub message: String,
    pub hint: Option<String>,
    pub exit_code: i32,
}

impl From<&Error> for ErrorReply {
    fn from(e: &Error) -> Self {
        Self {
            message: e.to_string(),
            hint: e.hint(),
            exit_code: e.exit_code(),
        }
    }
}

/// `{"error": {"message", "hint", "exit_code"}}` and a newline.
pub fn error_json(e: &Error) -> String {
    format!("{}\n", serde_json::json!({ "error": ErrorReply::from(e) }))
}
