//! What a run leaves on disk and for the runner besides its output: `--artifact-dir`
//! (the candidate, the report and the documents), the bot's comments, the step summary.

use super::run_documents;
use crate::config::{Config, ModelConfig};
use crate::outcome::{ModelRun, RunReport};
use crate::registry::Proposal;

/// A directory [`write_artifacts`] could not write to.
#[derive(Debug, thiserror::Error)]
#[error("cannot write to `{}`", dir.display())]
pub struct WriteError {
    pub dir: std::path::PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// `--artifact-dir`: `<dir>/<model>/model.json`, `model.onnx` (when the trainer can be
/// exported), `report.json`, and the documents a
/// pull request would carry: `MODEL_CARD.md`, `PR_BODY.md`.
pub fn write_artifacts(
    report: &RunReport,
    dir: &std::path::Path,
    config: &Config,
) -> Result<(), WriteError> {
    for r in &report.runs {
        let d = dir.join(&r.check.model);
        let io = |source: std::io::Error| WriteError {
            dir: d.clone(),
            source,
        };
        let write = |name: &str, bytes: &[u8]| {
            crate::snapshot::manifest::write_atomic(&d.join(name), bytes).map_err(io)
        };
        // what an earlier run wrote here must not pass for this run's
        for name in [
            "model.json",
            "model.onnx",
            "report.json",
            "COMMENT.md",
            "MODEL_CARD.md",
            "PR_BODY.md",
        ] {
            let _ = std::fs::remove_file(d.join(name));
        }
        let _ = std::fs::remove_dir_all(d.join("files"));
        if let Some(c) = r.artifact() {
            write("model.json", &c.bytes)?;
            if let Some(o) = &c.onnx {
                write("model.onnx", &o.bytes)?;
            }
        }
        write(
            "report.json",
            &serde_json::to_vec_pretty(r).expect("report serialises"),
        )?;
        if let Some(text) = comment(r, config) {
            write("COMMENT.md", text.as_bytes())?;
        }
        if let Some(p) = r.proposal() {
            // the files the pull request's commit carries, at their paths in the repository
            for (path, bytes) in &p.files {
                write(&format!("files/{path}"), bytes)?;
            }
            if let Some(card) = p.model_card() {
                write("MODEL_CARD.md", card)?;
            }
            write("PR_BODY.md", p.body.as_bytes())?;
        }
    }
    Ok(())
}

/// The reply the webhook bot posts to `/retrain` for each model of the run.
pub fn comments(report: &RunReport, config: &Config) -> Vec<String> {
    report
        .runs
        .iter()
        .filter_map(|r| comment(r, config))
        .collect()
}

fn comment(r: &ModelRun, config: &Config) -> Option<String> {
    let (model, change, pr_url) = documents_of(r, config)?;
    Some(run_documents::comment(r, model, change, pr_url))
}

/// What a run's documents are rendered from besides the run: its model's settings, the
/// registry change it proposes and its pull request's URL (`None`: the model is not in
/// the config).
fn documents_of<'a>(
    r: &'a ModelRun,
    config: &'a Config,
) -> Option<(&'a ModelConfig, Option<&'a Proposal>, Option<&'a str>)> {
    let model = *config.select(Some(&r.check.model)).ok()?.first()?;
    let change = r.proposal().and_then(|p| p.registry.as_ref());
    let pr_url = r.pull_request.as_ref().and_then(|p| p.url.as_deref());
    Some((model, change, pr_url))
}

/// Where [`write_artifacts`] put what a reviewer would read, one line per file.
pub fn rendered_text(report: &RunReport, dir: &std::path::Path) -> String {
    let mut out = String::new();
    for r in &report.runs {
        let d = dir.join(&r.check.model);
        for (name, what) in [
            ("PR_BODY.md", "the pull request's body"),
            ("MODEL_CARD.md", "the model card"),
        ] {
            let path = d.join(name);
            if path.is_file() {
                out.push_str(&format!("{}: {what}: {}\n", r.check.model, path.display()));
            }
        }
    }
    out
}

/// The `$GITHUB_STEP_SUMMARY` of a run: one section per model.
pub fn run_step_summary(report: &RunReport, config: &Config) -> String {
    let mut out = String::new();
    for r in &report.runs {
        if let Some((model, change, url)) = documents_of(r, config) {
            out.push_str(&run_documents::step_summary(r, model, change, url));
            out.push('\n');
        }
    }
    out
}
