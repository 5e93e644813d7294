//! Command-line definitions (clap). Parsing only: `main` runs the commands.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

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
    /// Output format on stdout.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// More log lines on stderr (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
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
    },
    /// Print the JSON Schema of retrain.yaml
    Schema,
}
