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
        /// Where a champion kept as a release asset is downloaded from (with a token).
        #[command(flatten)]
        github: GitHubArgs,
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
        github: GitHubArgs,
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
    /// After a model PR was merged: verify the champion's artifact, tag model/<m>/v<n>, release it
    Promote {
        /// Only this model (default: every model in the config).
        #[arg(long)]
        model: Option<String>,
        #[command(flatten)]
        github: GitHubArgs,
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
        github: GitHubArgs,
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
        period: Option<crate::config::Duration>,
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
        github: GitHubArgs,
    },
    /// Print the JSON Schema of retrain.yaml (--markdown: the reference page)
    Schema {
        /// The reference as Markdown (docs/retrain-yaml.md) instead of the schema.
        #[arg(long)]
        markdown: bool,
    },
    /// Run the webhook bot (a GitHub App): react to pushes, `/retrain` comments and merged model PRs
    Serve(crate::server::ServeArgs),
}

/// Where GitHub and the git remote are. The token comes from the environment only
/// (GITHUB_TOKEN or RETRAIN_GITHUB_TOKEN): flags end up in logs.
#[derive(Debug, Clone, clap::Args)]
pub struct GitHubArgs {
    /// The GitHub repository (`owner/repo`).
    #[arg(long, env = "GITHUB_REPOSITORY")]
    pub repository: Option<String>,
    /// The GitHub API (GitHub Enterprise: https://HOST/api/v3).
    #[arg(long, env = "GITHUB_API_URL", default_value = "https://api.github.com")]
    pub api_url: String,
    /// The git remote branches and tags are pushed to.
    #[arg(long, default_value = "origin")]
    pub remote: String,
}
