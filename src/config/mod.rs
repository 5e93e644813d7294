//! `retrain.yaml`: reading, validating, and the JSON Schema.
//!
//! [`raw`] holds what people write; [`load`] parses it (serde_yaml reports positions)
//! and validates it into [`Config`], a type whose values are known to be consistent.
//! This module reads the config file and nothing else: data and git are not touched.

pub mod duration;
pub mod grid;
pub mod locate;
pub mod params;
pub mod policy;
pub mod raw;
pub use raw::backtest;
pub mod reference;
mod shape;
mod validate;

pub use validate::{check_relative as check_path_inside, PathError};

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub use backtest::{BacktestSpec, PolicySpec, RawBacktest, Rule};
pub use duration::Duration;
pub use raw::*;

/// The name of the default config file at the repository root.
pub const DEFAULT_FILE: &str = "retrain.yaml";
/// The schemes `data.url` accepts.
pub const URL_SCHEMES: &[&str] = &["s3", "gs", "az", "abfs", "abfss", "https", "http"];

/// A validated `retrain.yaml`.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from, as the user named it.
    pub file: PathBuf,
    pub models: Vec<ModelConfig>,
}

impl Config {
    /// The models selected by `--model` (all when `None`).
    pub fn select(&self, name: Option<&str>) -> Result<Vec<&ModelConfig>, ConfigError> {
        match name {
            None => Ok(self.models.iter().collect()),
            Some(name) => match self.models.iter().find(|m| m.name.as_str() == name) {
                Some(m) => Ok(vec![m]),
                None => {
                    let names: Vec<&str> = self.models.iter().map(|m| m.name.as_str()).collect();
                    Err(ConfigError {
                        file: self.file.clone(),
                        line: None,
                        column: None,
                        key: None,
                        message: format!("no model named `{name}` (models: {})", names.join(", ")),
                        hint: did_you_mean(name, names.iter().copied())
                            .map(|s| format!("did you mean `--model {s}`?")),
                    })
                }
            },
        }
    }
}

/// A name [`ModelName::new`] refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("model name `{0}` must be 1-64 characters of lowercase letters, digits and `-` (not at either end)")]
pub struct BadModelName(pub String);

/// A model name: `[a-z0-9-]+`, not starting or ending with `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct ModelName(String);

impl ModelName {
    pub fn new(name: &str) -> Result<Self, BadModelName> {
        let ok = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !name.starts_with('-')
            && !name.ends_with('-');
        if ok {
            Ok(Self(name.to_string()))
        } else {
            Err(BadModelName(name.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ModelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One validated model.
#[derive(Debug, Clone)]
pub struct ModelConfig {
    pub name: ModelName,
    pub task: Task,
    pub target: String,
    pub time_column: Option<String>,
    /// `None`: every column but target, time column and `ignore`.
    pub features: Option<Vec<String>>,
    pub ignore: Vec<String>,
    pub column_types: BTreeMap<String, ColumnKind>,
    pub data: DataSource,
    pub profile: ProfileConfig,
    pub triggers: Triggers,
    pub validation: ValidationConfig,
    pub training: Training,
    pub evaluation: Evaluation,
    pub registry: Registry,
    pub pull_request: PullRequestConfig,
    /// The `backtest:` section, if any.
    pub backtest: Option<BacktestSpec>,
    /// blake3 of the model's configuration (part of the PR identity), 16 hex digits.
    pub config_hash: String,
}

impl ModelConfig {
    /// The branch `<branch_prefix><model>/<leaf>`: every branch retrain pushes for this
    /// model (a proposal's snapshot, `rollback-…`, `policy-…`) is one; `leaf = ""` is the
    /// prefix they share.
    pub fn branch(&self, leaf: &str) -> String {
        format!("{}{}/{leaf}", self.pull_request.branch_prefix, self.name)
    }
}

/// Where a model's data comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataSource {
    /// A file or a glob of partitions, relative to the repository root.
    Files { pattern: String, format: DataFormat },
    /// A `.dvc` file; its outputs are read from the working tree.
    Dvc { file: String, format: DataFormat },
    /// Objects of an object store (`s3://`, `gs://`, `az://`, `abfs://`) or one file of
    /// a web server (`https://`).
    Url { url: String, format: DataFormat },
}

impl fmt::Display for DataSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataSource::Files { pattern, .. } => f.write_str(pattern),
            DataSource::Dvc { file, .. } => write!(f, "dvc:{file}"),
            DataSource::Url { url, .. } => f.write_str(url),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Triggers {
    pub mode: TriggerMode,
    pub schedule: Option<Duration>,
    pub new_data: Option<NewDataRule>,
    pub drift: Option<DriftTrigger>,
    pub performance: Option<PerformanceTrigger>,
    pub prediction_drift: Option<PredictionDriftTrigger>,
    pub cooldown: Option<Duration>,
    pub max_per_period: Option<MaxPerPeriod>,
}

impl Triggers {
    /// No trigger at all (a model that is retrained only by hand).
    pub fn none() -> Self {
        Self {
            mode: TriggerMode::Any,
            schedule: None,
            new_data: None,
            drift: None,
            performance: None,
            prediction_drift: None,
            cooldown: None,
            max_per_period: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NewDataRule {
    Rows(u64),
    Fraction(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Training {
    pub algorithm: Algorithm,
    /// As written: passed to an external trainer as JSON, recorded with the artifact.
    pub params: BTreeMap<String, serde_json::Value>,
    /// `params` validated for a built-in algorithm (`None` with an external trainer,
    /// whose params are its own business).
    pub hyper: Option<params::Hyper>,
    /// `params.max_categories`: categories one-hot encoded per column (default 20).
    pub max_categories: usize,
    pub window: Window,
    pub warm_start: bool,
    /// `warm_start: required`: a champion that cannot be continued fails the run.
    pub warm_start_required: bool,
    pub command: Option<ExternalTrainer>,
    /// `training.search`, validated: every trial's params checked like `params`.
    pub search: Option<Search>,
}

/// A validated parameter search.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    pub method: SearchMethod,
    /// The combinations to try, in order.
    pub trials: Vec<SearchTrial>,
    /// How many combinations the space holds.
    pub space: usize,
    pub timeout: Option<std::time::Duration>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchTrial {
    /// The searched keys and their values for this trial.
    pub values: BTreeMap<String, serde_json::Value>,
    /// `training.params` with `values` over them.
    pub params: BTreeMap<String, serde_json::Value>,
    pub hyper: params::Hyper,
    pub max_categories: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Window {
    All,
    Fixed(WindowSize),
    Dynamic(Vec<WindowSize>),
    /// The rows since the detector's last change; the window given when there is none.
    /// `pipeline` turns it into a fixed window before training.
    SinceChange(WindowSize),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub holdout: HoldoutConfig,
    pub metrics: Vec<Metric>,
    pub primary: Metric,
    pub gates: Vec<Gate>,
    pub intervals: IntervalConfig,
    /// Refit the blessed candidate on its whole window, holdout included.
    pub refit: bool,
    pub slices: Vec<String>,
    /// `evaluation.shadow`, its gates resolved.
    pub shadow: Option<Shadow>,
}

/// Shadow evaluation of an open model pull request (`evaluation.shadow`).
#[derive(Debug, Clone, PartialEq)]
pub struct Shadow {
    pub min_rows: u64,
    pub gates: Vec<Gate>,
    pub close_when_beaten: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Registry {
    /// Relative to the repository root.
    pub path: String,
    pub artifacts: ArtifactStore,
    pub mlflow: Option<Mlflow>,
}

/// `registry.mlflow`: the MLflow model registry `promote` mirrors the champion into.
#[derive(Debug, Clone, PartialEq)]
pub struct Mlflow {
    /// Without a trailing `/`.
    pub tracking_uri: String,
    pub model_name: String,
    pub alias: String,
}

/// A config problem, with where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based.
    pub line: Option<usize>,
    /// 1-based.
    pub column: Option<usize>,
    /// The key path, e.g. `models[0].triggers.drift.share`.
    pub key: Option<String>,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        write!(f, ": ")?;
        if let Some(key) = &self.key {
            write!(f, "{key}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Where the repository and its config are.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub repo: PathBuf,
    /// Default: `<repo>/retrain.yaml`.
    pub config: Option<PathBuf>,
}

impl Workspace {
    pub fn config_path(&self) -> PathBuf {
        self.config
            .clone()
            .unwrap_or_else(|| self.repo.join(DEFAULT_FILE))
    }

    pub fn load_config(&self) -> Result<Config, LoadError> {
        if !self.repo.is_dir() {
            return Err(LoadError::NoRepository(self.repo.clone()));
        }
        Ok(load(&self.config_path())?)
    }
}

/// `retrain.yaml` could not be edited to a policy (`backtest --apply`).
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{file}: cannot edit `{key}`: {message}")]
    Unsupported {
        file: String,
        key: String,
        message: String,
    },
    #[error("{file}: the edited config does not read back as the policy: {message}")]
    Mismatch { file: String, message: String },
}

/// Why a workspace's config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("repository directory `{}` does not exist", .0.display())]
    NoRepository(PathBuf),
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// Reads and validates the config file.
pub fn load(file: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        let (message, hint) = if e.kind() == std::io::ErrorKind::NotFound {
            (
                "config file not found".to_string(),
                Some(
                    "create one with `retrain init`, or point at it with `--config FILE`"
                        .to_string(),
                ),
            )
        } else {
            (format!("cannot read config file: {e}"), None)
        };
        ConfigError {
            file: file.to_path_buf(),
            line: None,
            column: None,
            key: None,
            message,
            hint,
        }
    })?;
    parse(file, &text)
}

/// Parses and validates config text; `file` is used in error messages only.
pub fn parse(file: &Path, text: &str) -> Result<Config, ConfigError> {
    shape::check(file, text)?;
    let raw: RawConfig = serde_yaml::from_str(text).map_err(|e| from_yaml_error(file, text, &e))?;
    validate::validate(file, text, raw)
}

/// Reads and validates a policies file (`retrain backtest --policies FILE`) for a model
/// of `task` (`has_time`: the model has a `time_column`).
pub fn load_policies(file: &Path, task: Task, has_time: bool) -> Result<BacktestSpec, ConfigError> {
    let text = std::fs::read_to_string(file).map_err(|e| ConfigError {
        file: file.to_path_buf(),
        line: None,
        column: None,
        key: None,
        message: format!("cannot read the policies file: {e}"),
        hint: None,
    })?;
    parse_policies(file, &text, task, has_time)
}

/// Parses and validates policies text; `file` is used in error messages only.
pub fn parse_policies(
    file: &Path,
    text: &str,
    task: Task,
    has_time: bool,
) -> Result<BacktestSpec, ConfigError> {
    shape::check(file, text)?;
    let raw: RawBacktest =
        serde_yaml::from_str(text).map_err(|e| from_yaml_error(file, text, &e))?;
    validate::validate_policies_file(file, text, task, has_time, raw)
}

fn from_yaml_error(file: &Path, text: &str, err: &serde_yaml::Error) -> ConfigError {
    let full = err.to_string();
    let (line, column) = match err.location() {
        Some(loc) => (Some(loc.line()), Some(loc.column())),
        None => (None, None),
    };
    // serde_yaml appends " at line L column C"; we print the position in front instead.
    let body = match full.find(" at line ") {
        Some(pos) if line.is_some() && !full.contains(", while ") => full[..pos].to_string(),
        _ => full.clone(),
    };
    // "models[0].triggers: unknown field `x`, expected one of ..." -> key + message
    let (key, message) = match body.split_once(": ") {
        Some((k, m)) if !k.contains(' ') && !k.is_empty() => (Some(k.to_string()), m.to_string()),
        _ => (None, body),
    };
    // "duplicate field `x`" is reported where the mapping starts: point at the second `x`.
    if let (Some(k), Some(l), Some(c)) = (&key, line, column) {
        let dup = message
            .strip_prefix("duplicate field `")
            .and_then(|m| m.split_once('`'))
            .map(|(name, _)| name.to_string());
        if let Some((name, (dl, dc))) =
            dup.and_then(|n| duplicate_at(text, l, c, &n).map(|p| (n, p)))
        {
            return ConfigError {
                file: file.to_path_buf(),
                line: Some(dl),
                column: Some(dc),
                key: Some(format!("{k}.{name}")),
                message: format!("`{name}` is given twice in this mapping"),
                hint: Some("keep one of them".into()),
            };
        }
    }
    // Errors raised by our validating types are reported at the key; name the key too.
    let key = match (key, line, column) {
        (Some(k), Some(l), Some(c))
            if !message.starts_with("unknown field") && !message.starts_with("missing field") =>
        {
            match key_at(text, l, c) {
                Some(name) if !k.ends_with(&format!(".{name}")) => Some(format!("{k}.{name}")),
                _ => Some(k),
            }
        }
        (k, _, _) => k,
    };
    let hint = unknown_field_hint(&message).or_else(|| {
        if message.contains("missing field") {
            Some("see the reference example in the README or run `retrain schema`".to_string())
        } else {
            None
        }
    });
    ConfigError {
        file: file.to_path_buf(),
        line,
        column,
        key,
        message,
        hint,
    }
}

/// Where `name` is written the second time in the block mapping that starts at 1-based
/// (line, column).
fn duplicate_at(text: &str, line: usize, column: usize, name: &str) -> Option<(usize, usize)> {
    let at = column.checked_sub(1)?;
    let mut seen = 0;
    for (i, l) in text.lines().enumerate().skip(line.checked_sub(1)?) {
        let trimmed = l.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let (Some(prefix), Some(rest)) = (l.get(..at), l.get(at..)) else {
            break;
        };
        let inside = prefix
            .chars()
            .all(|ch| ch == ' ' || (i + 1 == line && ch == '-'));
        if !inside {
            break; // the mapping ended (a line less indented)
        }
        if rest
            .strip_prefix(name)
            .is_some_and(|r| r.trim_start().starts_with(':'))
        {
            seen += 1;
            if seen == 2 {
                return Some((i + 1, column));
            }
        }
    }
    None
}

/// The mapping key written at 1-based (line, column), if one is.
fn key_at(text: &str, line: usize, column: usize) -> Option<String> {
    let l = text.lines().nth(line.checked_sub(1)?)?;
    let rest = l.get(column.checked_sub(1)?..)?;
    let (name, _) = rest.split_once(':')?;
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    ok.then(|| name.to_string())
}

/// "unknown field `tigers`, expected one of `mode`, `schedule`" -> did you mean `triggers`?
fn unknown_field_hint(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))?;
    let (name, rest) = rest.split_once('`')?;
    let expected: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    match did_you_mean(name, expected.iter().copied()) {
        Some(best) => Some(format!("did you mean `{best}`?")),
        None if !expected.is_empty() => Some(format!("valid: {}", expected.join(", "))),
        None => None,
    }
}

/// The candidate closest to `word`, when it is close enough to be a typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// The JSON Schema of `retrain.yaml`, pretty-printed.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(RawConfig);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serialises");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn did_you_mean_finds_typos_only() {
        assert_eq!(
            did_you_mean("tigers", ["mode", "triggers", "training"]),
            Some("triggers")
        );
        assert_eq!(did_you_mean("zzz", ["mode", "triggers"]), None);
    }

    #[test]
    fn model_names_are_checked() {
        assert!(ModelName::new("elec-2").is_ok());
        for bad in ["", "Elec", "-a", "a-", "a_b", "a b"] {
            assert!(ModelName::new(bad).is_err(), "{bad}");
        }
    }
}
