//! The shape of `retrain.yaml` as written by people: serde types with documented
//! defaults, from which the JSON Schema is generated.
//!
//! Values that can be checked on their own (fractions, durations, enums) are checked
//! while deserialising, so serde_yaml reports them with their line and column.
//! Checks that relate several keys live in [`super::validate`].

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

pub mod backtest;
mod detector;
mod evaluation;
mod triggers;

pub use detector::*;
pub use evaluation::*;
pub use triggers::*;

use super::duration::Duration;

/// `retrain.yaml`: one or several models.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "retrain.yaml")]
pub struct RawConfig {
    /// Format version of this file. Only `1` exists.
    pub version: u32,
    /// The models this repository trains.
    pub models: Vec<RawModel>,
}

/// One model: its data, when to retrain it, how to train and evaluate it, where it is published.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawModel {
    /// Name of the model: lowercase letters, digits and `-`; unique in the file.
    pub name: String,
    /// `classification` or `regression`.
    pub task: Task,
    /// The column to predict.
    pub target: String,
    /// Column that orders the rows in time; drives windows and the time holdout.
    #[serde(default)]
    pub time_column: Option<String>,
    /// Feature columns. Default: every column but the target, the time column and `ignore`.
    #[serde(default)]
    pub features: Option<Vec<String>>,
    /// Columns that are neither features nor target (ids, free text, leaks).
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Override inferred column types, e.g. `{ zip: categorical }`.
    #[serde(default)]
    pub column_types: BTreeMap<String, ColumnKind>,
    /// Where the data is.
    pub data: RawData,
    /// How snapshots profile the data.
    #[serde(default)]
    pub profile: ProfileConfig,
    /// When to retrain.
    #[serde(default)]
    pub triggers: TriggersConfig,
    /// Checks on new data before it is trusted.
    #[serde(default)]
    pub validation: ValidationConfig,
    /// How to train a candidate.
    #[serde(default)]
    pub training: TrainingConfig,
    /// How champion and candidate are compared.
    #[serde(default)]
    pub evaluation: RawEvaluation,
    /// Where the registry pointer and artifacts live.
    #[serde(default)]
    pub registry: RawRegistry,
    /// How the model pull request is opened.
    #[serde(default)]
    pub pull_request: PullRequestConfig,
    /// How `retrain backtest` replays history: periods and candidate policies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backtest: Option<backtest::RawBacktest>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    Classification,
    Regression,
}

/// The logical type of a column.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    /// Integers and floats.
    Numeric,
    /// Strings and booleans (and numbers declared categorical).
    Categorical,
    /// Dates and date-times.
    Datetime,
}

impl fmt::Display for ColumnKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ColumnKind::Numeric => "numeric",
            ColumnKind::Categorical => "categorical",
            ColumnKind::Datetime => "datetime",
        })
    }
}

/// Exactly one of `path`, `dvc`, `url`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawData {
    /// File or glob of partitions relative to the repository root, e.g. `data/2024-*.parquet`.
    #[serde(default)]
    pub path: Option<String>,
    /// A `.dvc` file (`data/x.dvc`); its outputs must be checked out (`dvc pull`).
    #[serde(default)]
    pub dvc: Option<String>,
    /// Objects in an object store, a glob over keys: `s3://bucket/prefix/*.parquet`,
    /// `gs://...`, `az://container/...` (or `abfs://`); or one file on a web server,
    /// `https://host/data.csv`. Credentials come from the environment.
    #[serde(default)]
    pub url: Option<String>,
    /// File format; `auto` decides by extension (`.csv`, `.parquet`/`.pq`).
    #[serde(default)]
    pub format: DataFormat,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DataFormat {
    #[default]
    Auto,
    Csv,
    Parquet,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProfileConfig {
    /// Categorical columns keep the frequencies of this many most frequent values; the rest
    /// is counted in an `other` bucket (whose inner drift is invisible: keep it above the
    /// columns' cardinality where you can).
    #[serde(default = "default_top_k")]
    pub top_k: usize,
}

fn default_top_k() -> usize {
    1000
}

impl Default for ProfileConfig {
    fn default() -> Self {
        Self {
            top_k: default_top_k(),
        }
    }
}

/// A number [`Fraction::new`] refuses.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("expected a fraction between 0 and 1, got {0}")]
pub struct NotAFraction(pub f64);

/// A number between 0 and 1 inclusive.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Fraction(#[schemars(range(min = 0.0, max = 1.0))] f64);

impl Fraction {
    pub fn new(value: f64) -> Result<Self, NotAFraction> {
        if (0.0..=1.0).contains(&value) {
            Ok(Self(value))
        } else {
            Err(NotAFraction(value))
        }
    }

    pub fn get(self) -> f64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Fraction {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Fraction::new(f64::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrainingConfig {
    /// Built-in trainer.
    #[serde(default)]
    pub algorithm: Algorithm,
    /// Parameters of the algorithm, e.g. `{ max_iterations: 200 }`.
    #[serde(default)]
    pub params: BTreeMap<String, serde_json::Value>,
    /// Which rows to train on.
    #[serde(default)]
    pub window: WindowConfig,
    /// Continue from the champion where the algorithm allows it: `true` (when the
    /// champion cannot be continued, train from scratch and say why), `required` (fail
    /// the run instead; a first model, with no champion yet, is still trained), `false`.
    #[serde(default)]
    pub warm_start: WarmStart,
    /// External trainer instead of the built-in one.
    #[serde(default)]
    pub command: Option<ExternalTrainer>,
    /// Parameter search: trials scored on the newest slice of the training rows (never
    /// on the evaluation holdout); the best trial's params train the candidate.
    // not serialised when absent: the config hash of a model without a search stays
    // what it was before searches existed (open pull requests do not look stale)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<SearchConfig>,
}

/// `training.search` (TFX's Tuner).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SearchConfig {
    /// `grid`: every combination of the values; `random`: `trials` of them, drawn with `seed`.
    #[serde(default)]
    pub method: SearchMethod,
    /// The most trials (default 20): with `grid`, a larger grid is an error; with `random`,
    /// how many combinations are drawn.
    #[serde(default)]
    pub trials: Option<u64>,
    /// Seed of `random`'s draw.
    #[serde(default)]
    pub seed: u64,
    /// Values to try per parameter of the algorithm, e.g. `{ max_leaves: [15, 31, 63] }`;
    /// `training.params` gives the rest.
    pub params: BTreeMap<String, Vec<serde_json::Value>>,
    /// Start no trial after this long, e.g. `10m` (the best trial so far is kept).
    #[serde(default)]
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SearchMethod {
    #[default]
    Grid,
    Random,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    #[default]
    LogisticRegression,
    LinearRegression,
    ElasticNet,
    DecisionTree,
    GaussianNb,
    GradientBoosting,
    RandomForest,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WindowConfig {
    /// `all`, `fixed` (needs `last`), `dynamic` (needs `candidates`) or `since_change`
    /// (needs `triggers.performance.detector`; `last` is the window without a change).
    #[serde(default)]
    pub kind: WindowKind,
    /// For `fixed`: a row count (`5000`) or a duration over `time_column` (`30d`).
    #[serde(default)]
    pub last: Option<WindowSize>,
    /// For `dynamic`: windows to try, e.g. `[all, 5000, 30d]`.
    #[serde(default)]
    pub candidates: Vec<WindowSize>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WindowKind {
    #[default]
    All,
    Fixed,
    Dynamic,
    /// From the last change the performance trigger's `detector` signalled (the rows
    /// since it, time-ordered); `last` (default `all`) when it signalled none.
    SinceChange,
}

/// `all`, a row count, or a duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, JsonSchema)]
#[schemars(untagged)]
pub enum WindowSize {
    #[schemars(with = "AllKeyword")]
    All,
    Rows(u64),
    Span(Duration),
}

impl Serialize for WindowSize {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            WindowSize::All => s.serialize_str("all"),
            WindowSize::Rows(n) => s.serialize_u64(*n),
            WindowSize::Span(d) => d.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for WindowSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Rows(u64),
            Text(String),
        }
        match Repr::deserialize(deserializer)? {
            Repr::Rows(0) => Err(serde::de::Error::custom("a window needs at least 1 row")),
            Repr::Rows(n) => Ok(WindowSize::Rows(n)),
            Repr::Text(t) if t == "all" => Ok(WindowSize::All),
            Repr::Text(t) => t.parse().map(WindowSize::Span).map_err(|e| {
                serde::de::Error::custom(format!(
                    "window must be `all`, a row count or a duration: {e}"
                ))
            }),
        }
    }
}

impl fmt::Display for WindowSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WindowSize::All => f.write_str("all"),
            WindowSize::Rows(n) => write!(f, "last {n} rows"),
            WindowSize::Span(d) => write!(f, "last {d}"),
        }
    }
}

/// External trainer: command templates run with `sh -c`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExternalTrainer {
    /// Trains: must write a model file into the output directory.
    pub train: String,
    /// Scores a holdout file into a predictions file.
    pub predict: String,
    /// Kill the command after this long.
    #[serde(default)]
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawRegistry {
    /// Directory of the registry pointer and versions. Default: `models/<name>`.
    #[serde(default)]
    pub path: Option<String>,
    /// Where artifacts are stored: `git` (in the version directory), `dir:<path>`
    /// (outside the repository), `release` (asset of a GitHub release on promotion), or an
    /// object store prefix (`s3://bucket/prefix`, `gs://…`, `az://…`).
    #[serde(default)]
    pub artifacts: ArtifactStore,
    /// Mirror the registry into an MLflow model registry on `promote`: the champion
    /// becomes a model version there and carries the alias (a rollback moves it back).
    /// `registry.yaml` stays the source of truth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mlflow: Option<RawMlflow>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawMlflow {
    /// The tracking server, e.g. `https://mlflow.example.com`. Credentials from the
    /// environment: `MLFLOW_TRACKING_TOKEN` (bearer), or `MLFLOW_TRACKING_USERNAME` and
    /// `MLFLOW_TRACKING_PASSWORD` (basic auth); never printed.
    pub tracking_uri: String,
    /// The registered model's name. Default: the model's name.
    #[serde(default)]
    pub model_name: Option<String>,
    /// The alias the champion's version carries. Default: `champion`.
    #[serde(default)]
    pub alias: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, JsonSchema)]
#[schemars(with = "String")]
pub enum ArtifactStore {
    #[default]
    Git,
    Dir(String),
    Release,
    /// An object store prefix, e.g. `s3://bucket/models`.
    Object(String),
}

impl Serialize for ArtifactStore {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ArtifactStore::Git => s.serialize_str("git"),
            ArtifactStore::Dir(p) => s.serialize_str(&format!("dir:{p}")),
            ArtifactStore::Release => s.serialize_str("release"),
            ArtifactStore::Object(url) => s.serialize_str(url),
        }
    }
}

impl<'de> Deserialize<'de> for ArtifactStore {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.as_str() {
            "git" => Ok(ArtifactStore::Git),
            "release" => Ok(ArtifactStore::Release),
            other => match other.strip_prefix("dir:") {
                // an empty path is refused by validation, at this key
                Some(path) => Ok(ArtifactStore::Dir(path.trim().to_string())),
                None if ["s3://", "gs://", "az://", "abfs://", "abfss://"]
                    .iter()
                    .any(|s| other.starts_with(s)) =>
                {
                    Ok(ArtifactStore::Object(other.trim_end_matches('/').to_string()))
                }
                None => Err(serde::de::Error::custom(format!(
                    "artifacts must be `git`, `dir:<path>`, `release` or an object store prefix (`s3://bucket/prefix`, `gs://…`, `az://…`), got `{other}`"
                ))),
            },
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PullRequestConfig {
    /// Branch the model PR targets.
    #[serde(default = "default_base")]
    pub base: String,
    /// Prefix of PR branches: `<prefix><model>/<snapshot12>`.
    #[serde(default = "default_branch_prefix")]
    pub branch_prefix: String,
    #[serde(default = "default_labels")]
    pub labels: Vec<String>,
    #[serde(default)]
    pub reviewers: Vec<String>,
    /// Open the PR as a draft when the candidate is not blessed.
    #[serde(default = "default_true")]
    pub draft_when_not_blessed: bool,
    /// Open a PR at all when the candidate is not blessed. `false`: a candidate the gate
    /// turned down is reported (run output, step summary) but proposes nothing, so
    /// reviewers see only models that passed (champion/challenger policies train often and
    /// deploy rarely).
    #[serde(default = "default_true", skip_serializing_if = "is_true")]
    pub open_when_not_blessed: bool,
    /// Who commits the proposals and tags, as `Name <email>` (default
    /// `retrain[bot] <retrain[bot]@users.noreply.github.com>`). Commits on a PR branch by
    /// anyone else are never overwritten.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
}

impl PullRequestConfig {
    /// The configured commit identity (`author`), if any and well-formed.
    pub fn identity(&self) -> Option<Identity> {
        parse_author(self.author.as_deref()?)
    }
}

/// Who commits: `pull_request.author`, else the bot.
#[derive(Debug, Clone)]
pub struct Identity {
    pub name: String,
    pub email: String,
}

impl Default for Identity {
    fn default() -> Self {
        Self {
            name: "retrain[bot]".into(),
            email: "retrain[bot]@users.noreply.github.com".into(),
        }
    }
}

/// `Name <email>` → identity.
pub fn parse_author(s: &str) -> Option<Identity> {
    let (name, rest) = s.trim().split_once('<')?;
    let email = rest.strip_suffix('>')?.trim();
    let name = name.trim();
    (!name.is_empty() && email.contains('@') && !email.contains(['<', '>', ' '])).then(|| {
        Identity {
            name: name.to_string(),
            email: email.to_string(),
        }
    })
}

fn default_base() -> String {
    "main".into()
}

fn default_branch_prefix() -> String {
    "retrain/".into()
}

fn default_labels() -> Vec<String> {
    vec!["retrain".into()]
}

// Keys added with their default value are left out of the serialised config, so the
// config hash (the identity of a model PR) does not change when retrain is upgraded.
fn is_false(v: &bool) -> bool {
    !*v
}

fn is_true(v: &bool) -> bool {
    *v
}

fn default_true() -> bool {
    true
}

impl Default for PullRequestConfig {
    fn default() -> Self {
        Self {
            base: default_base(),
            branch_prefix: default_branch_prefix(),
            labels: default_labels(),
            reviewers: Vec::new(),
            draft_when_not_blessed: true,
            open_when_not_blessed: true,
            author: None,
        }
    }
}

/// `training.warm_start`: `true`, `false` or `required`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(untagged)]
pub enum WarmStart {
    Flag(bool),
    Mode(WarmMode),
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum WarmMode {
    /// A champion that cannot be continued fails the run.
    Required,
}

impl Default for WarmStart {
    fn default() -> Self {
        WarmStart::Flag(false)
    }
}

impl WarmStart {
    pub fn enabled(self) -> bool {
        !matches!(self, WarmStart::Flag(false))
    }
}
