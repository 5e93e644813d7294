//! What each command leaves for the workflow under GitHub Actions: its outputs and its
//! step summary (a [`Step`]), written where the runner reads them by [`Runner::write`].

use super::{pr_outputs, run_outputs, word, Runner};
use crate::backtest::command::BacktestOutcome;
use crate::outcome::{CheckReport, PromoteReport, RollbackReport, RunReport};
use crate::report;

/// A command's outputs (`$GITHUB_OUTPUT`) and step summary (`$GITHUB_STEP_SUMMARY`).
pub struct Step {
    pub outputs: Vec<(&'static str, String)>,
    pub summary: String,
}

impl Runner {
    /// Writes the step's outputs and summary (with the run's footer).
    pub fn write(&self, step: &Step) -> Result<(), super::ActionError> {
        if let Some(p) = &self.output {
            super::write_outputs(p, &step.outputs)?;
        }
        if let Some(p) = &self.summary {
            let summary = format!("{}{}", step.summary, self.summary_footer());
            super::write_summary(p, &summary)?;
        }
        Ok(())
    }
}

/// A command's text output as a summary section.
fn fenced(command: &str, text: &str) -> String {
    format!("### retrain {command}\n\n```\n{text}```\n")
}

pub fn run(report: &RunReport, config: &crate::config::Config) -> Step {
    Step {
        outputs: run_outputs(report, &report::run_json(report)),
        summary: report::run_step_summary(report, config),
    }
}

pub fn check(report: &CheckReport) -> Step {
    Step {
        outputs: vec![
            ("retrain", report.retrain_due().to_string()),
            (
                "snapshot",
                report
                    .checks
                    .first()
                    .map(|c| c.snapshot.clone())
                    .unwrap_or_default(),
            ),
            ("json", report::check_json(report).trim_end().to_string()),
        ],
        summary: fenced("check", &report::check_text(report)),
    }
}

pub fn promote(report: &PromoteReport) -> Step {
    let first = report.promotions.first();
    Step {
        outputs: vec![
            (
                "operation",
                first.map(|p| word(p.status)).unwrap_or_default(),
            ),
            ("json", report::promote_json(report).trim_end().to_string()),
        ],
        summary: fenced("promote", &report::promote_text(report)),
    }
}

pub fn rollback(report: &RollbackReport) -> Step {
    let mut outputs = pr_outputs(report.pull_request.as_ref()).to_vec();
    outputs.push(("json", report::rollback_json(report).trim_end().to_string()));
    Step {
        outputs,
        summary: fenced("rollback", &report::rollback_text(report)),
    }
}

pub fn backtest(outcome: &BacktestOutcome) -> Step {
    let pr = outcome
        .extra
        .apply
        .as_ref()
        .and_then(|a| a.pull_request.as_ref());
    let mut outputs = pr_outputs(pr).to_vec();
    outputs.push(("recommended", outcome.report.recommended.clone()));
    outputs.push(("json", outcome.json().trim_end().to_string()));
    Step {
        outputs,
        summary: report::backtest::markdown(&outcome.report, None),
    }
}
