//! The `retrain` binary: parse the command line into a request, carry it out, print
//! its response once, and exit with its code.

#![allow(clippy::result_large_err)] // see lib.rs

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use retrain::action::Runner;
use retrain::cli::{Cli, CliCommand};
use retrain::command::{self, Command, Context, Format};
use retrain::error::{exit, Error};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            return ExitCode::from(code as u8);
        }
    };
    retrain::data::guard_truncated_files();
    // `run` reports its stages (plain lines on stderr, in CI too); -v shows them everywhere.
    let stages = matches!(
        cli.command,
        CliCommand::Request(Command::Run { .. }) | CliCommand::Serve(_)
    );
    init_logging(cli.verbose.max(u8::from(stages)));
    if stages {
        retrain::progress::enable();
    }
    let code = match &cli.command {
        CliCommand::Serve(args) => retrain::server::serve(args).map(|()| exit::OK),
        CliCommand::Job => Ok(command::job::serve_stdio()),
        _ => run(&cli),
    };
    match code {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            if Runner::detect().is_some() {
                println!("{}", retrain::action::error_annotation(&e));
            }
            if cli.format() == Some(Format::Json) {
                print!("{}", command::error_json(&e));
            }
            eprintln!("error: {e}");
            if let Some(hint) = e.hint() {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

/// Under GitHub Actions the dispatch inputs add to the flags, the logs are grouped, and
/// outputs and the step summary go where the runner reads them.
fn run(cli: &Cli) -> Result<i32, Error> {
    let runner = Runner::detect();
    let inputs = match &runner {
        Some(r) => r
            .dispatch_inputs()
            .map_err(|e| Error::Usage(e.to_string()))?,
        None => Default::default(),
    };
    let Some((request, format)) = cli.request(&inputs)? else {
        return Ok(exit::OK);
    };
    let group = runner.is_some() && format == Format::Text;
    if group {
        println!("::group::retrain {}", request.command.name());
    }
    let env = |name: &str| std::env::var(name).ok();
    let cx = Context {
        runner: runner.as_ref(),
        env: &env,
        comments: false,
    };
    let response = command::execute(&request, &cx);
    if group {
        println!("::endgroup::");
    }
    let response = response?;
    let _ = std::io::stdout()
        .lock()
        .write_all(response.render(format).as_bytes());
    Ok(response.exit_code())
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
