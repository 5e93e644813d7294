//! Command-line definitions (clap), and the [`Request`] the flags make.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::action::DispatchInputs;
use crate::command::{Command, Format, Request};
use crate::error::Error;

#[derive(Debug, Parser)]
#[command(
    name = "retrain",
    version,
    about = "Continuous training of ML models as pull requests",
    long_about = "retrain snapshots a model's data, decides whether the model must be retrained and why, \
                  retrains it, proves the candidate against the champion, and opens a pull request. \
                  Merging the pull request is the promotion.",
    after_help = "Exit codes: 0 ok, 1 a problem you must fix (bad data...), 2 usage or config error, 3 internal or external failure.\nLogs: -v / -vv, or RETRAIN_LOG (then RUST_LOG), e.g. RETRAIN_LOG=retrain=debug."
)]
pub struct Cli {
    /// The repository root (holds retrain.yaml and the data).
    #[arg(long, global = true, default_value = ".", env = "RETRAIN_REPO")]
    pub repo: PathBuf,
    /// The config file. Default: <repo>/retrain.yaml.
    #[arg(long, global = true, env = "RETRAIN_CONFIG")]
    pub config: Option<PathBuf>,
    /// Output on stdout: `text` or `json` (for `predict`: the file to write).
    #[arg(long, global = true, default_value = "text", value_name = "text|json")]
    pub output: String,
    /// More log lines on stderr (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: CliCommand,
}

impl Cli {
    /// `--output` as a format; `None` when it is neither `text` nor `json`.
    pub fn format(&self) -> Option<Format> {
        match self.output.as_str() {
            "text" => Some(Format::Text),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

/// The subcommands: every request, and the bot.
#[derive(Debug, Subcommand)]
pub enum CliCommand {
    #[command(flatten)]
    Request(Command),
    /// Run the webhook bot (a GitHub App): react to pushes, `/retrain` comments and merged model PRs
    Serve(crate::server::ServeArgs),
    /// The webhook bot's job: a request (JSON) on stdin, the reply (JSON) on stdout
    #[command(hide = true)]
    Job,
}

impl Cli {
    /// The request the flags ask for and how to print its response, with the Action's
    /// dispatch inputs merged in. `serve` and `job` are no request (the bot makes them):
    /// `Ok(None)`.
    pub fn request(&self, inputs: &DispatchInputs) -> Result<Option<(Request, Format)>, Error> {
        let CliCommand::Request(command) = &self.command else {
            return Ok(None);
        };
        let mut command = command.clone();
        let format = match (&mut command, self.format()) {
            (Command::Predict { .. }, Some(_)) => {
                return Err(Error::Usage(
                    "predict needs `--output FILE` (.csv or .parquet)".into(),
                ))
            }
            (Command::Predict { output, .. }, None) => {
                *output = self.output.clone().into();
                Format::Text
            }
            (_, Some(format)) => format,
            (_, None) => {
                return Err(Error::Usage(format!(
                "--output must be `text` or `json`, got `{}` (a file name is only for `predict`)",
                self.output
            )))
            }
        };
        command.merge_inputs(inputs);
        Ok(Some((
            Request {
                repo: self.repo.clone(),
                config: self.config.clone(),
                command,
            },
            format,
        )))
    }
}
