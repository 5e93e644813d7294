//! One request type per command and one function that carries it out. The CLI parses
//! its flags into a [`Request`]; the webhook bot builds one and sends it, as JSON, to a
//! child process ([`job`]). Both get a [`Response`] back and render it once.

pub mod job;
mod render;

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::Subcommand;
use serde::{Deserialize, Serialize};

pub use crate::forge::target::Where;
pub use render::{error_json, ErrorReply};

use crate::action::Runner;
use crate::backtest::command::{BacktestCommand, BacktestOutcome};
use crate::config::{ArtifactStore, Duration, Workspace};
use crate::error::Error;
use crate::forge::promote::{PromoteRequest, RollbackRequest};
use crate::forge::publish::PublishTarget;
use crate::init::{InitReport, InitRequest};
use crate::outcome::{CheckReport, PromoteReport, RollbackReport, RunReport, SnapshotReport};
use crate::pipeline::{CheckRequest, RunRequest, SnapshotRequest};
use crate::predict::{PredictReport, PredictRequest};

/// A command and the repository it runs in.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// The repository root (holds retrain.yaml and the data).
    pub repo: PathBuf,
    /// The config file (default: `<repo>/retrain.yaml`).
    #[serde(default)]
    pub config: Option<PathBuf>,
    pub command: Command,
}

/// How a response is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Text,
    Json,
}

/// What to do, with every option the command takes: the CLI's subcommands (clap), and
/// what the bot sends its child process (JSON). Under GitHub Actions the dispatch
/// inputs are merged in ([`Command::merge_inputs`]).
#[derive(Debug, Clone, Subcommand, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// Snapshot a model's data: content hashes, schema and column profiles
    Snapshot {
        /// Only this model (default: every model in the config).
        #[arg(long)]
        model: Option<String>,
    },
    /// Check new data against the champion's: validation, drift, and whether to retrain
    Check {
        /// Only this model (default: every model in the config).
        #[arg(long)]
        model: Option<String>,
        /// Compare with this stored snapshot (id or unique prefix) instead of the champion's.
        #[arg(long)]
        reference: Option<String>,
        /// Retrain regardless of the triggers (the manual trigger).
        #[arg(long)]
        force: bool,
        /// Exit with code 10 when a retrain is due (for shell pipelines).
        #[arg(long)]
        exit_code: bool,
        /// The current time (RFC 3339) the schedule and cooldown are judged at.
        #[arg(long, hide = true, env = "RETRAIN_NOW")]
        now: Option<chrono::DateTime<chrono::Utc>>,
        /// Where a champion kept as a release asset is downloaded from (with a token).
        #[command(flatten)]
        github: Where,
    },
    /// Run the pipeline: snapshot, check, decide, train, evaluate, gate (--dry-run: no publishing)
    Run {
        /// Only this model (default: every model in the config).
        #[arg(long)]
        model: Option<String>,
        /// Retrain regardless of the triggers (the manual trigger).
        #[arg(long)]
        force: bool,
        /// Run every stage but publishing and print the result.
        #[arg(long)]
        dry_run: bool,
        /// Publish even when the data or retrain.yaml differ from the commit (the pull
        /// request then records a snapshot that its commit does not hold).
        #[arg(long)]
        allow_dirty: bool,
        /// Also write the candidate (`<model>/model.json`) and the report (`<model>/report.json`) here.
        #[arg(long, value_name = "DIR")]
        artifact_dir: Option<PathBuf>,
        #[command(flatten)]
        github: Where,
        /// The current time (RFC 3339) the schedule and cooldown are judged at.
        #[arg(long, hide = true, env = "RETRAIN_NOW")]
        now: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Score a CSV or Parquet file with a registered model (the champion, or --version)
    Predict {
        /// The model's registry pointer, e.g. models/elec/registry.yaml.
        #[arg(long, value_name = "REGISTRY_YAML")]
        model: PathBuf,
        /// The rows to score (.csv or .parquet).
        #[arg(long)]
        input: PathBuf,
        /// A version from the registry's history instead of the champion.
        #[arg(long)]
        version: Option<u32>,
        /// The file to write (`--output FILE`, a global flag).
        #[arg(skip)]
        output: PathBuf,
    },
    /// After a model PR was merged: verify the champion's artifact, tag model/<m>/v<n>, release it
    Promote {
        /// Only this model (default: every model in the config).
        #[arg(long)]
        model: Option<String>,
        #[command(flatten)]
        github: Where,
    },
    /// Open a pull request that points the registry back to an earlier version
    Rollback {
        /// The model to roll back.
        model: String,
        /// The version to go back to (default: the newest version older than the champion).
        #[arg(long, value_name = "VERSION")]
        to: Option<u32>,
        /// Why (shown in the pull request).
        #[arg(long)]
        reason: Option<String>,
        /// Show the new registry pointer; open no pull request.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        github: Where,
    },
    /// Inspect a data file and write retrain.yaml and the GitHub workflows
    Init {
        /// The data file (CSV or Parquet) inside the repository (default: the first found).
        #[arg(long, value_name = "FILE")]
        data: Option<PathBuf>,
        /// The column to predict (default: guessed from the names, else the last column).
        #[arg(long, value_name = "COLUMN")]
        target: Option<String>,
        /// The column that orders rows in time (default: a date/time column, if any).
        #[arg(long, value_name = "COLUMN")]
        time_column: Option<String>,
        /// The model's name (default: the repository directory's name).
        #[arg(long)]
        model: Option<String>,
        /// The branch model pull requests target.
        #[arg(long, default_value = "main")]
        base: String,
        /// Overwrite existing files.
        #[arg(long)]
        force: bool,
    },
    /// Replay history under candidate retraining policies and recommend one
    #[command(
        after_help = "Policies: the model's current one, the `backtest:` section of retrain.yaml or --policies FILE (same shape), and built-in candidates when neither lists any.\nExamples:\n  retrain backtest --model elec\n  retrain backtest --period-rows 336 --policies policies.yaml --output json\n  retrain backtest --chart-dir report/ --apply --dry-run"
    )]
    Backtest {
        /// The model (may be omitted when the config has one).
        #[arg(long)]
        model: Option<String>,
        /// Cut the history into periods of this length by `time_column` (e.g. 7d).
        #[arg(long, value_name = "DURATION")]
        period: Option<Duration>,
        /// Cut the history (in time order) into periods of this many rows.
        #[arg(long, value_name = "N")]
        period_rows: Option<u64>,
        /// Policies to replay (YAML, the shape of a model's `backtest:` section).
        #[arg(long, value_name = "FILE")]
        policies: Option<PathBuf>,
        /// Propose the recommended policy: a pull request changing retrain.yaml (the model's
        /// triggers and window) when a token is set, else the file is written in place.
        #[arg(long)]
        apply: bool,
        /// With --apply: print the changed retrain.yaml instead of writing it.
        #[arg(long, requires = "apply")]
        dry_run: bool,
        /// Write the chart (backtest.svg, backtest.png) and the report (backtest.md) here.
        #[arg(long, value_name = "DIR")]
        chart_dir: Option<PathBuf>,
        /// With --apply and a token (GITHUB_TOKEN or a GitHub App): where the pull
        /// request goes. Without a token, --apply writes the file in place.
        #[command(flatten)]
        github: Where,
    },
    /// Print the JSON Schema of retrain.yaml (--markdown: the reference page)
    Schema {
        /// The reference as Markdown (docs/retrain-yaml.md) instead of the schema.
        #[arg(long)]
        markdown: bool,
    },
}

impl Command {
    /// A `workflow_dispatch`'s inputs add to the flags: `model` where none was given,
    /// `force` and `dry-run` where the command takes them.
    pub fn merge_inputs(&mut self, inputs: &crate::action::DispatchInputs) {
        match self {
            Command::Check { model, force, .. } => {
                *force |= inputs.force;
                if model.is_none() {
                    model.clone_from(&inputs.model);
                }
            }
            Command::Run {
                model,
                force,
                dry_run,
                ..
            } => {
                *force |= inputs.force;
                *dry_run |= inputs.dry_run;
                if model.is_none() {
                    model.clone_from(&inputs.model);
                }
            }
            Command::Promote { model, .. } if model.is_none() => {
                model.clone_from(&inputs.model);
            }
            _ => {}
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Command::Snapshot { .. } => "snapshot",
            Command::Check { .. } => "check",
            Command::Run { .. } => "run",
            Command::Predict { .. } => "predict",
            Command::Promote { .. } => "promote",
            Command::Rollback { .. } => "rollback",
            Command::Backtest { .. } => "backtest",
            Command::Init { .. } => "init",
            Command::Schema { .. } => "schema",
        }
    }
}

/// What a command produced.
pub enum Response {
    Snapshot(SnapshotReport),
    Check {
        report: CheckReport,
        exit_code: bool,
    },
    Run {
        report: RunReport,
        /// Where the documents were written.
        rendered: Option<PathBuf>,
        /// The reply to post for each model, when the context asks for it.
        comments: Vec<String>,
    },
    Predict(PredictReport),
    Promote(PromoteReport),
    Rollback(RollbackReport),
    Backtest(BacktestOutcome),
    Init(InitReport),
    Schema(String),
}

/// Where a command runs: under a GitHub Actions runner (outputs, step summary) or not,
/// and the environment the token is read from.
pub struct Context<'a> {
    pub runner: Option<&'a Runner>,
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// `run` also renders the reply to post for each model (the webhook bot's).
    pub comments: bool,
}

impl Context<'_> {
    /// GitHub and the remote ([`crate::forge::target::from_env`]); a token minted from
    /// App keys is masked under a runner before anything else is printed.
    fn target(&self, place: &Where) -> Result<Option<PublishTarget>, Error> {
        let found = crate::forge::target::from_env(place, self.env)?;
        Ok(found.map(|(target, minted)| {
            if minted && self.runner.is_some() {
                println!("{}", crate::action::mask(target.github.token.expose()));
            }
            target
        }))
    }

    fn step(&self, step: impl FnOnce() -> crate::action::steps::Step) -> Result<(), Error> {
        match self.runner {
            Some(r) => r
                .write(&step())
                .map_err(|m| Error::Usage(format!("GitHub Actions: {m}"))),
            None => Ok(()),
        }
    }
}

/// Carries out the request.
pub fn execute(req: &Request, cx: &Context) -> Result<Response, Error> {
    let workspace = Workspace {
        repo: req.repo.clone(),
        config: req.config.clone(),
    };
    let now = |n: &Option<DateTime<Utc>>| n.unwrap_or_else(Utc::now);
    Ok(match &req.command {
        Command::Snapshot { model } => {
            Response::Snapshot(crate::pipeline::snapshot(&SnapshotRequest {
                workspace,
                model: model.clone(),
            })?)
        }
        Command::Check {
            model,
            reference,
            force,
            exit_code,
            now: at,
            github,
        } => {
            let github = match uses_release_store(&workspace) {
                true => cx.target(github)?.map(|t| t.github),
                false => None,
            };
            let report = crate::pipeline::check(&CheckRequest {
                workspace,
                model: model.clone(),
                reference: reference.clone(),
                force: *force,
                now: now(at),
                github,
            })?;
            cx.step(|| crate::action::steps::check(&report))?;
            Response::Check {
                report,
                exit_code: *exit_code,
            }
        }
        Command::Run {
            model,
            force,
            dry_run,
            allow_dirty,
            artifact_dir,
            now: at,
            github,
        } => {
            // a dry run needs GitHub only to download a champion kept in a release
            let target = match !*dry_run || uses_release_store(&workspace) {
                true => cx.target(github)?,
                false => None,
            };
            let report = crate::pipeline::run(&RunRequest {
                check: CheckRequest {
                    workspace: workspace.clone(),
                    model: model.clone(),
                    reference: None,
                    force: *force,
                    now: now(at),
                    github: target.as_ref().map(|t| t.github.clone()),
                },
                dry_run: *dry_run,
                publish: if *dry_run { None } else { target },
                allow_dirty: *allow_dirty,
            })?;
            // A dry run renders what the pull request would carry where one can open it
            // (`.retrain/proposal/`, git-ignored), or where --artifact-dir says.
            let rendered = match (artifact_dir, dry_run) {
                (Some(dir), _) => Some(dir.clone()),
                (None, true) => Some(req.repo.join(".retrain/proposal")),
                (None, false) => None,
            };
            let mut comments = Vec::new();
            if rendered.is_some() || cx.runner.is_some() || cx.comments {
                // the documents need the models' settings
                let config = workspace.load_config()?;
                if let Some(dir) = &rendered {
                    crate::report::write_artifacts(&report, dir, &config)?;
                }
                cx.step(|| crate::action::steps::run(&report, &config))?;
                if cx.comments {
                    comments = crate::report::comments(&report, &config);
                }
            }
            Response::Run {
                report,
                rendered,
                comments,
            }
        }
        Command::Predict {
            model,
            input,
            output,
            version,
        } => Response::Predict(crate::predict::predict(&PredictRequest {
            repo: req.repo.clone(),
            registry_file: model.clone(),
            input: input.clone(),
            output: output.clone(),
            version: *version,
        })?),
        Command::Promote { model, github } => {
            let target = cx.target(github)?;
            let report = crate::forge::promote::promote(&PromoteRequest {
                workspace,
                model: model.clone(),
                remote: github.remote.clone(),
                github: target.map(|t| t.github),
                identity: crate::config::Identity::default(),
            })?;
            cx.step(|| crate::action::steps::promote(&report))?;
            Response::Promote(report)
        }
        Command::Rollback {
            model,
            to,
            reason,
            dry_run,
            github,
        } => {
            let report = crate::forge::promote::rollback(&RollbackRequest {
                workspace,
                model: model.clone(),
                to: *to,
                reason: reason.clone(),
                dry_run: *dry_run,
                target: if *dry_run { None } else { cx.target(github)? },
            })?;
            cx.step(|| crate::action::steps::rollback(&report))?;
            Response::Rollback(report)
        }
        Command::Backtest {
            model,
            period,
            period_rows,
            policies,
            apply,
            dry_run,
            chart_dir,
            github,
        } => {
            let outcome = crate::backtest::command::backtest(
                &BacktestCommand {
                    request: crate::backtest::BacktestRequest {
                        workspace,
                        model: model.clone(),
                        period: *period,
                        period_rows: *period_rows,
                        policies: policies.clone(),
                    },
                    chart_dir: chart_dir.clone(),
                    apply: *apply,
                    dry_run: *dry_run,
                },
                || cx.target(github),
            )?;
            cx.step(|| crate::action::steps::backtest(&outcome))?;
            Response::Backtest(outcome)
        }
        Command::Init {
            data,
            target,
            time_column,
            model,
            base,
            force,
        } => Response::Init(crate::init::init(&InitRequest {
            repo: req.repo.clone(),
            data: data.clone(),
            target: target.clone(),
            time_column: time_column.clone(),
            model: model.clone(),
            base: base.clone(),
            force: *force,
        })?),
        Command::Schema { markdown: false } => Response::Schema(crate::config::json_schema()),
        Command::Schema { markdown: true } => {
            let schema: serde_json::Value = serde_json::from_str(&crate::config::json_schema())
                .map_err(|e| Error::Usage(format!("the schema is not JSON: {e}")))?;
            Response::Schema(crate::config::reference::markdown(&schema))
        }
    })
}

/// Whether a model keeps its artifacts as release assets (then GitHub is needed to
/// read the champion back). A config that does not load says no: the command itself
/// reports the error.
fn uses_release_store(workspace: &Workspace) -> bool {
    workspace.load_config().is_ok_and(|c| {
        c.models
            .iter()
            .any(|m| m.registry.artifacts == ArtifactStore::Release)
    })
}
