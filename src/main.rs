//! The `retrain` binary: parse the command line, run the command, print its result
//! once, and map errors to exit codes.

#![allow(clippy::result_large_err)] // see lib.rs

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use retrain::cli::{Cli, Command, OutputFormat};
use retrain::error::{exit, Error};
use retrain::pipeline::{self, Workspace};
use retrain::report;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::USAGE as u8
            } else {
                exit::OK as u8
            });
        }
    };
    retrain::data::guard_truncated_files();
    // `run` reports its stages (plain lines on stderr, in CI too); -v shows them everywhere.
    let stages = matches!(cli.command, Command::Run { .. } | Command::Serve(_));
    init_logging(cli.verbose.max(u8::from(stages)));
    if stages {
        retrain::progress::enable();
    }
    let json = cli.format() == Some(OutputFormat::Json);
    match run(&cli) {
        Ok((out, code)) => {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(out.as_bytes());
            ExitCode::from(code as u8)
        }
        Err(e) => {
            let code = e.exit_code();
            if retrain::action::Runner::detect().is_some() {
                println!("{}", annotation_for(&e));
            }
            if json {
                let value = serde_json::json!({
                    "error": { "message": e.to_string(), "hint": e.hint(), "exit_code": code }
                });
                println!("{value}");
            }
            eprintln!("error: {e}");
            if let Some(hint) = e.hint() {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(code as u8)
        }
    }
}

/// The text to print and the exit code.
fn run(cli: &Cli) -> Result<(String, i32), Error> {
    let workspace = Workspace {
        repo: cli.repo.clone(),
        config: cli.config.clone(),
    };
    let json = match (&cli.command, cli.format()) {
        (Command::Predict { .. }, _) => false,
        (_, Some(f)) => f == OutputFormat::Json,
        (_, None) => {
            return Err(Error::Usage(format!(
                "--output must be `text` or `json`, got `{}` (a file name is only for `predict`)",
                cli.output
            )))
        }
    };
    let now = |n: &Option<chrono::DateTime<chrono::Utc>>| n.unwrap_or_else(chrono::Utc::now);
    // Under GitHub Actions: the dispatch inputs add to the flags; outputs, summary and
    // annotations go where the runner reads them.
    let runner = retrain::action::Runner::detect();
    let inputs = match &runner {
        Some(r) => r.dispatch_inputs().map_err(Error::Usage)?,
        None => Default::default(),
    };
    let group = runner.is_some() && !json;
    if group {
        println!("::group::retrain {}", command_name(&cli.command));
    }
    let result = dispatch(cli, workspace, json, now, runner.as_ref(), &inputs);
    if group {
        println!("::endgroup::");
    }
    result
}

fn command_name(c: &Command) -> &'static str {
    match c {
        Command::Snapshot { .. } => "snapshot",
        Command::Check { .. } => "check",
        Command::Run { .. } => "run",
        Command::Predict { .. } => "predict",
        Command::Promote { .. } => "promote",
        Command::Rollback { .. } => "rollback",
        Command::Schema { .. } => "schema",
        Command::Init { .. } => "init",
        Command::Serve(_) => "serve",
        Command::Backtest { .. } => "backtest",
    }
}

fn dispatch(
    cli: &Cli,
    workspace: Workspace,
    json: bool,
    now: impl Fn(&Option<chrono::DateTime<chrono::Utc>>) -> chrono::DateTime<chrono::Utc>,
    runner: Option<&retrain::action::Runner>,
    inputs: &retrain::action::DispatchInputs,
) -> Result<(String, i32), Error> {
    let model_or = |m: &Option<String>| m.clone().or_else(|| inputs.model.clone());
    match &cli.command {
        Command::Run {
            model,
            force,
            dry_run,
            allow_dirty,
            artifact_dir,
            github,
            now: at,
        } => {
            let dry = *dry_run || inputs.dry_run;
            // a dry run needs GitHub only to download a champion kept in a release
            let target = if !dry || uses_release_store(&workspace) {
                publish_target(github, runner)?
            } else {
                None
            };
            let publish = if dry { None } else { target.clone() };
            let report = pipeline::run(&pipeline::RunRequest {
                check: pipeline::CheckRequest {
                    workspace,
                    model: model_or(model),
                    reference: None,
                    force: *force || inputs.force,
                    now: now(at),
                    github: target.map(|t| t.github),
                },
                dry_run: dry,
                publish,
                allow_dirty: *allow_dirty,
            })?;
            // A dry run renders what the pull request would carry where one can open it
            // (`.retrain/proposal/`, git-ignored), or where --artifact-dir says.
            let rendered = match (artifact_dir, dry) {
                (Some(dir), _) => Some(dir.clone()),
                (None, true) => Some(cli.repo.join(".retrain/proposal")),
                (None, false) => None,
            };
            if rendered.is_some() || runner.is_some() {
                // the documents need the models' settings: the config once more, not twice
                let config = Workspace {
                    repo: cli.repo.clone(),
                    config: cli.config.clone(),
                }
                .load_config()?;
                if let Some(dir) = &rendered {
                    report::write_artifacts(&report, dir, &config)?;
                }
                if let Some(r) = runner {
                    write_step(r, &retrain::action::steps::run(&report, &config))?;
                }
            }
            let text = if json {
                report::run_json(&report)
            } else {
                let mut text = report::run_text(&report);
                if let Some(dir) = &rendered {
                    text.push_str(&report::rendered_text(&report, dir));
                }
                text
            };
            Ok((text, exit::OK))
        }
        Command::Predict {
            model,
            input,
            version,
        } => {
            if cli.output == "text" || cli.output == "json" {
                return Err(Error::Usage(
                    "predict needs `--output FILE` (.csv or .parquet)".into(),
                ));
            }
            let r = pipeline::predict(&pipeline::PredictRequest {
                repo: cli.repo.clone(),
                registry_file: model.clone(),
                input: input.clone(),
                output: cli.output.clone().into(),
                version: *version,
            })?;
            Ok((
                format!(
                    "{} v{}: scored {} rows -> {} (columns: {})\n",
                    r.model,
                    r.version,
                    r.rows,
                    r.output,
                    r.columns.join(", ")
                ),
                exit::OK,
            ))
        }
        Command::Schema { markdown: false } => Ok((retrain::config::json_schema(), exit::OK)),
        Command::Schema { markdown: true } => {
            let schema: serde_json::Value =
                serde_json::from_str(&retrain::config::json_schema())
                    .map_err(|e| Error::Usage(format!("the schema is not JSON: {e}")))?;
            Ok((retrain::config::reference::markdown(&schema), exit::OK))
        }
        Command::Init {
            data,
            target,
            time_column,
            model,
            base,
            force,
        } => {
            let r = retrain::init::init(&retrain::init::InitRequest {
                repo: cli.repo.clone(),
                data: data.clone(),
                target: target.clone(),
                time_column: time_column.clone(),
                model: model.clone(),
                base: base.clone(),
                force: *force,
            })?;
            let text = if json {
                format!("{}\n", serde_json::to_value(&r).expect("report serialises"))
            } else {
                retrain::init::text(&r)
            };
            Ok((text, exit::OK))
        }
        Command::Promote { model, github } => {
            let target = publish_target(github, runner)?;
            let report =
                retrain::forge::promote::promote(&retrain::forge::promote::PromoteRequest {
                    workspace,
                    model: model_or(model),
                    remote: github.remote.clone(),
                    github: target.map(|t| t.github),
                    identity: retrain::forge::git::Identity::default(),
                })?;
            if let Some(r) = runner {
                write_step(r, &retrain::action::steps::promote(&report))?;
            }
            let text = if json {
                report::promote_json(&report)
            } else {
                report::promote_text(&report)
            };
            Ok((text, exit::OK))
        }
        Command::Rollback {
            model,
            to,
            reason,
            dry_run,
            github,
        } => {
            let report =
                retrain::forge::promote::rollback(&retrain::forge::promote::RollbackRequest {
                    workspace,
                    model: model.clone(),
                    to: *to,
                    reason: reason.clone(),
                    dry_run: *dry_run,
                    target: if *dry_run {
                        None
                    } else {
                        publish_target(github, runner)?
                    },
                })?;
            if let Some(r) = runner {
                write_step(r, &retrain::action::steps::rollback(&report))?;
            }
            let text = if json {
                report::rollback_json(&report)
            } else {
                report::rollback_text(&report)
            };
            Ok((text, exit::OK))
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
            let outcome = retrain::backtest::command::backtest(
                &retrain::backtest::command::BacktestCommand {
                    request: retrain::backtest::BacktestRequest {
                        workspace: workspace.clone(),
                        model: model.clone(),
                        period: *period,
                        period_rows: *period_rows,
                        policies: policies.clone(),
                    },
                    chart_dir: chart_dir.clone(),
                    apply: *apply,
                    dry_run: *dry_run,
                },
                || publish_target(github, runner),
            )?;
            if let Some(r) = runner {
                write_step(r, &retrain::action::steps::backtest(&outcome))?;
            }
            let text = if json {
                outcome.json()
            } else {
                format!(
                    "{}{}",
                    report::backtest::text(&outcome.report),
                    outcome.notes()
                )
            };
            Ok((text, exit::OK))
        }
        Command::Check {
            model,
            reference,
            force,
            exit_code,
            now,
            github,
        } => {
            let github = if uses_release_store(&workspace) {
                publish_target(github, runner)?.map(|t| t.github)
            } else {
                None
            };
            let report = pipeline::check(&pipeline::CheckRequest {
                workspace,
                model: model_or(model),
                reference: reference.clone(),
                force: *force || inputs.force,
                now: now.unwrap_or_else(chrono::Utc::now),
                github,
            })?;
            if let Some(r) = runner {
                write_step(r, &retrain::action::steps::check(&report))?;
            }
            let code = if *exit_code && report.retrain_due() {
                exit::RETRAIN_DUE
            } else {
                exit::OK
            };
            let text = if json {
                report::check_json(&report)
            } else {
                report::check_text(&report)
            };
            Ok((text, code))
        }
        Command::Snapshot { model } => {
            let report = pipeline::snapshot(&pipeline::SnapshotRequest {
                workspace,
                model: model.clone(),
            })?;
            let text = if json {
                report::snapshot_json(&report)
            } else {
                report::snapshot_text(&report)
            };
            Ok((text, exit::OK))
        }
        Command::Serve(args) => {
            retrain::server::serve(args)?;
            Ok((String::new(), exit::OK))
        }
    }
}

/// Writes a command's outputs and step summary where the runner reads them.
fn write_step(
    runner: &retrain::action::Runner,
    step: &retrain::action::steps::Step,
) -> Result<(), Error> {
    runner
        .write(step)
        .map_err(|m| Error::Usage(format!("GitHub Actions: {m}")))
}

/// The error as a workflow annotation; config errors point at their file, line and
/// column (relative to the workspace, as GitHub wants).
fn annotation_for(e: &Error) -> String {
    use retrain::action::{annotation, Location};
    match e {
        Error::Config(c) => {
            // GitHub wants the path relative to the workspace (the repository root).
            let absolute = std::env::current_dir()
                .map(|d| d.join(&c.file))
                .unwrap_or_else(|_| c.file.clone());
            let file = std::env::var("GITHUB_WORKSPACE")
                .ok()
                .and_then(|w| {
                    let w = std::path::Path::new(&w);
                    let w = w.canonicalize().unwrap_or_else(|_| w.to_path_buf());
                    let a = absolute.canonicalize().unwrap_or_else(|_| absolute.clone());
                    a.strip_prefix(w).ok().map(|p| p.to_path_buf())
                })
                .unwrap_or_else(|| c.file.clone());
            let file = file.strip_prefix("./").unwrap_or(&file).to_path_buf();
            let mut message = c.message.clone();
            if let Some(k) = &c.key {
                message = format!("{k}: {message}");
            }
            if let Some(h) = &c.hint {
                message = format!("{message}\nhint: {h}");
            }
            annotation(
                "error",
                &Location {
                    title: Some("retrain: config error".into()),
                    file: Some(file.display().to_string()),
                    line: c.line,
                    col: c.column,
                    ..Default::default()
                },
                &message,
            )
        }
        e => {
            let mut message = e.to_string();
            if let Some(h) = e.hint() {
                message = format!("{message}\nhint: {h}");
            }
            annotation(
                "error",
                &Location {
                    title: Some("retrain".into()),
                    ..Default::default()
                },
                &message,
            )
        }
    }
}

/// Whether a model keeps its artifacts as release assets (then GitHub is needed to
/// read the champion back). A config that does not load says no: the command itself
/// reports the error.
fn uses_release_store(workspace: &Workspace) -> bool {
    workspace.load_config().is_ok_and(|c| {
        c.models
            .iter()
            .any(|m| m.registry.artifacts == retrain::config::ArtifactStore::Release)
    })
}

/// GitHub and the remote from the flags and the environment
/// ([`retrain::forge::target::from_env`]); a minted App token is masked under a runner
/// before anything else is printed.
fn publish_target(
    github: &retrain::cli::GitHubArgs,
    runner: Option<&retrain::action::Runner>,
) -> Result<Option<retrain::forge::publish::PublishTarget>, Error> {
    let found = retrain::forge::target::from_env(
        &retrain::forge::target::Where {
            repository: github.repository.clone(),
            api_url: github.api_url.clone(),
            remote: github.remote.clone(),
        },
        |name| std::env::var(name).ok(),
    )?;
    Ok(found.map(|(target, minted)| {
        if minted && runner.is_some() {
            println!("{}", retrain::action::mask(target.github.token.expose()));
        }
        target
    }))
}

fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let filter = std::env::var("RETRAIN_LOG")
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| match verbose {
            0 => "warn".into(),
            1 => "retrain=info,warn".into(),
            _ => "retrain=debug,info".into(),
        });
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .without_time()
        .try_init();
}
