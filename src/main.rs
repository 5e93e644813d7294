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
    // `run` reports its stages (plain lines on stderr, in CI too); -v shows them everywhere.
    let stages = matches!(cli.command, Command::Run { .. });
    init_logging(cli.verbose.max(u8::from(stages)));
    let json = cli.format() == Some(OutputFormat::Json);
    match run(&cli) {
        Ok((out, code)) => {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(out.as_bytes());
            ExitCode::from(code as u8)
        }
        Err(e) => {
            let code = e.exit_code();
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
    match &cli.command {
        Command::Run {
            model,
            force,
            dry_run,
            artifact_dir,
            repository,
            api_url,
            remote,
            now: at,
        } => {
            // The token comes from the environment only (never a flag: flags are logged).
            let token = std::env::var("RETRAIN_GITHUB_TOKEN")
                .or_else(|_| std::env::var("GITHUB_TOKEN"))
                .ok()
                .filter(|t| !t.is_empty());
            let publish = match (repository, token) {
                (Some(repository), Some(token)) => Some(retrain::forge::publish::PublishTarget {
                    remote: remote.clone(),
                    github: retrain::forge::github::GitHubConfig {
                        api_url: api_url.clone(),
                        repository: repository.clone(),
                        token: retrain::forge::git::Token::new(token),
                        attempts: 5,
                        max_backoff: std::time::Duration::from_secs(60),
                    },
                    identity: retrain::forge::git::Identity::default(),
                }),
                _ => None,
            };
            let report = pipeline::run(&pipeline::RunRequest {
                check: pipeline::CheckRequest {
                    workspace,
                    model: model.clone(),
                    reference: None,
                    force: *force,
                    now: now(at),
                },
                dry_run: *dry_run,
                publish,
            })?;
            if let Some(dir) = artifact_dir {
                let config = Workspace {
                    repo: cli.repo.clone(),
                    config: cli.config.clone(),
                }
                .load_config()?;
                report::write_artifacts(&report, dir, &cli.repo, &config)?;
            }
            let text = if json {
                report::run_json(&report)
            } else {
                report::run_text(&report)
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
        Command::Schema => Ok((retrain::config::json_schema(), exit::OK)),
        Command::Backtest {
            model,
            period,
            period_rows,
            policies,
            apply,
            dry_run,
            chart_dir,
        } => {
            let report = retrain::backtest::run(&retrain::backtest::BacktestRequest {
                workspace: workspace.clone(),
                model: model.clone(),
                period: *period,
                period_rows: *period_rows,
                policies: policies.clone(),
            })?;
            let mut extra = serde_json::Map::new();
            let mut notes = String::new();
            if let Some(dir) = chart_dir {
                let io = |e: std::io::Error| Error::Io {
                    context: format!("writing the backtest report into {}", dir.display()),
                    source: e,
                };
                let mut files = retrain::backtest::chart::write(&report, dir).map_err(io)?;
                let md = dir.join("backtest.md");
                std::fs::write(
                    &md,
                    report::backtest::markdown(&report, Some("backtest.png")),
                )
                .map_err(io)?;
                files.push(md);
                notes.push_str(&format!(
                    "report: {}\n",
                    files
                        .iter()
                        .map(|f| f.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                extra.insert("charts".into(), serde_json::json!(files));
            }
            if *apply {
                let file = workspace.config_path();
                let changed = retrain::backtest::apply_recommended(&workspace, &report)?;
                match &changed {
                    None => notes.push_str(
                        "--apply: the current policy is the recommended one; nothing to change\n",
                    ),
                    Some(text) if *dry_run => notes.push_str(&format!(
                        "--apply --dry-run: {} would become:\n{text}",
                        file.display()
                    )),
                    Some(text) => {
                        std::fs::write(&file, text).map_err(|e| Error::Io {
                            context: format!("writing {}", file.display()),
                            source: e,
                        })?;
                        notes.push_str(&format!(
                            "--apply: wrote the policy `{}` into {} (opening a pull request from it is not wired yet: commit it, or use `retrain run`'s publishing)\n",
                            report.recommended,
                            file.display()
                        ));
                    }
                }
                extra.insert(
                    "apply".into(),
                    serde_json::json!({
                        "file": file,
                        "changed": changed.is_some(),
                        "written": changed.is_some() && !*dry_run,
                        "text": changed,
                    }),
                );
            }
            let text = if json {
                report::backtest::json(&report, serde_json::Value::Object(extra))
            } else {
                format!("{}{notes}", report::backtest::text(&report))
            };
            Ok((text, exit::OK))
        }
        Command::Check {
            model,
            reference,
            force,
            exit_code,
            now,
        } => {
            let report = pipeline::check(&pipeline::CheckRequest {
                workspace,
                model: model.clone(),
                reference: reference.clone(),
                force: *force,
                now: now.unwrap_or_else(chrono::Utc::now),
            })?;
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
    }
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
