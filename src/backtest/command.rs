//! `retrain backtest` as one command: the replay, then the report files
//! (`--chart-dir`), then `--apply` (a pull request with GitHub, else the file edited in
//! place; `--dry-run` shows the edit). The CLI and the Action render the result; this
//! is where the steps are decided.

use std::path::PathBuf;

use serde::Serialize;

use super::{apply_recommended, propose_policy, BacktestReport, BacktestRequest};
use crate::error::Error;
use crate::forge::publish::{PublishTarget, PublishedPr};

/// `retrain backtest` with its options.
pub struct BacktestCommand {
    pub request: BacktestRequest,
    /// Write `backtest.png`, `backtest.svg` and `backtest.md` here.
    pub chart_dir: Option<PathBuf>,
    /// Put the recommended policy into the config.
    pub apply: bool,
    /// With `apply`: show the edit, change nothing.
    pub dry_run: bool,
}

/// What `--apply` did (`apply` in `--output json`).
#[derive(Debug, Serialize)]
pub struct Applied {
    pub file: PathBuf,
    pub changed: bool,
    /// The file was edited in place (no GitHub to open a pull request with).
    pub written: bool,
    /// The config as the recommended policy makes it (`null`: unchanged).
    pub text: Option<String>,
    pub pull_request: Option<PublishedPr>,
}

/// The files `--chart-dir` wrote and what `--apply` did, beside the report.
#[derive(Debug, Serialize)]
pub struct Extra {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charts: Option<Vec<PathBuf>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apply: Option<Applied>,
}

pub struct BacktestOutcome {
    pub report: BacktestReport,
    pub extra: Extra,
}

impl BacktestOutcome {
    /// `--output json`: the report with `charts` and `apply`.
    pub fn json(&self) -> String {
        crate::report::backtest::json(
            &self.report,
            serde_json::to_value(&self.extra).expect("serialises"),
        )
    }

    /// The text after the report's table: the files written, what `--apply` did.
    pub fn notes(&self) -> String {
        let mut notes = String::new();
        if let Some(files) = &self.extra.charts {
            notes.push_str(&format!(
                "report: {}\n",
                files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let Some(a) = &self.extra.apply else {
            return notes;
        };
        let recommended = &self.report.recommended;
        match (&a.text, &a.pull_request) {
            (None, _) => notes.push_str(
                "--apply: the current policy is the recommended one; nothing to change\n",
            ),
            (Some(_), Some(pr)) => notes.push_str(&format!(
                "--apply: pull request {} ({}) for the policy `{recommended}`{}\n",
                pr.url.as_deref().unwrap_or(&pr.branch),
                crate::outcome::word(pr.operation),
                pr.reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            )),
            (Some(_), None) if a.written => notes.push_str(&format!(
                "--apply: wrote the policy `{recommended}` into {} (no GITHUB_TOKEN and GITHUB_REPOSITORY: set them to open a pull request instead)\n",
                a.file.display()
            )),
            (Some(text), None) => notes.push_str(&format!(
                "--apply --dry-run: {} would become:\n{text}",
                a.file.display()
            )),
        }
        notes
    }
}

/// Runs the backtest and its options; `target` is asked for only when a pull request
/// is to be opened.
pub fn backtest(
    cmd: &BacktestCommand,
    target: impl FnOnce() -> Result<Option<PublishTarget>, Error>,
) -> Result<BacktestOutcome, Error> {
    let workspace = &cmd.request.workspace;
    let report = super::run(&cmd.request)?;
    let mut extra = Extra {
        charts: None,
        apply: None,
    };
    if let Some(dir) = &cmd.chart_dir {
        let io = |e: std::io::Error| Error::Io {
            context: format!("writing the backtest report into {}", dir.display()),
            source: e,
        };
        let mut files = crate::report::chart::write(&report, dir).map_err(io)?;
        let md = dir.join("backtest.md");
        crate::snapshot::manifest::write_atomic(
            &md,
            crate::report::backtest::markdown(&report, Some("backtest.png")).as_bytes(),
        )
        .map_err(io)?;
        files.push(md);
        extra.charts = Some(files);
    }
    if cmd.apply {
        let file = workspace.config_path();
        let changed = apply_recommended(workspace, &report)?;
        let mut applied = Applied {
            file: file.clone(),
            changed: changed.is_some(),
            written: false,
            text: changed.clone(),
            pull_request: None,
        };
        if let (Some(text), false) = (&changed, cmd.dry_run) {
            match target()? {
                Some(target) => {
                    applied.pull_request = Some(propose_policy(workspace, &report, text, &target)?)
                }
                None => {
                    crate::snapshot::manifest::write_atomic(&file, text.as_bytes()).map_err(
                        |e| Error::Io {
                            context: format!("writing {}", file.display()),
                            source: e,
                        },
                    )?;
                    applied.written = true;
                }
            }
        }
        extra.apply = Some(applied);
    }
    Ok(BacktestOutcome { report, extra })
}
