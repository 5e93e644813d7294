//! Command-line definitions (clap). Parsing only: `main` runs the commands.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

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
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Text,
    Json,
}

impl Cli {
    /// `--output` as a format; `None` when it is neither `text` nor `json`.
    pub fn format(&self) -> Option<OutputFormat> {
        match self.output.as_str() {
            "text" => Some(OutputFormat::Text),
            "json" => Some(OutputFormat::Json),
            _ => None,
        }
    }
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
        /// Also write the candidate (`<model>/model.json`) and the report (`<model>/report.json`) here.
        #[arg(long, value_name = "DIR")]
        artifact_dir: Option<PathBuf>,
        /// The GitHub repository (`owner/repo`) pull requests go to.
        #[arg(long, env = "GITHUB_REPOSITORY")]
        repository: Option<String>,
        /// The GitHub API (GitHub Enterprise: https://HOST/api/v3).
        #[arg(long, env = "GITHUB_API_URL", default_value = "https://api.github.com")]
        api_url: String,
        /// The git remote the branch is pushed to.
        #[arg(long, default_value = "origin")]
        remote: String,
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
        period: Option<crate::config::Duration>,
        /// Cut the history (in time order) into periods of this many rows.
        #[arg(long, value_name = "N")]
        period_rows: Option<u64>,
        /// Policies to replay (YAML, the shape of a model's `backtest:` section).
        #[arg(long, value_name = "FILE")]
        policies: Option<PathBuf>,
        /// Write the recommended policy into retrain.yaml (the model's triggers and window).
        #[arg(long)]
        apply: bool,
        /// With --apply: print the changed retrain.yaml instead of writing it.
        #[arg(long, requires = "apply")]
        dry_run: bool,
        /// Write the chart (backtest.svg, backtest.png) and the report (backtest.md) here.
        #[arg(long, value_name = "DIR")]
        chart_dir: Option<PathBuf>,
    },
    /// Print the JSON Schema of retrain.yaml
    Schema,
}
