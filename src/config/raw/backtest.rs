//! The `backtest:` section of a model (and the `--policies FILE` of `retrain backtest`,
//! which has the same shape): how history is cut into periods and which retraining
//! policies are replayed on it. Raw types (what people write, with the JSON Schema)
//! and the validated [`BacktestSpec`]; validation lives in [`super::validate`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Algorithm, Fraction, Gate, Metric, TriggersConfig, WindowConfig, WindowSize};
use crate::config::duration::Duration;
use crate::config::{Triggers, Window};

/// How `retrain backtest` replays this model's history.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawBacktest {
    /// Length of a period: splits the data by `time_column`; without one it is only the
    /// length a period stands for (schedules, cooldowns). Default when unknown: 7d.
    #[serde(default)]
    pub period: Option<Duration>,
    /// Split the data (in time order) into periods of this many rows.
    #[serde(default)]
    pub period_rows: Option<u64>,
    /// Periods the first model is trained on before scoring starts. Default: 4 (fewer
    /// when there are few periods).
    #[serde(default)]
    pub warmup: Option<u32>,
    /// Periods between a period's end and its labels being known: they can be trained on
    /// and scored for the performance trigger only that many periods later.
    #[serde(default)]
    pub label_delay: u32,
    /// The metric policies are compared on. Default: `evaluation.primary`.
    #[serde(default)]
    pub metric: Option<Metric>,
    /// The recommendation is the policy with the fewest retrains whose mean metric is
    /// within this (absolute) distance of the best policy's. Overrides
    /// `relative_tolerance`.
    #[serde(default)]
    pub tolerance: Option<f64>,
    /// The same as a fraction of the best policy's mean metric (default 0.01: keep
    /// 99% of the best accuracy, or stay within 101% of the best RMSE).
    #[serde(default)]
    pub relative_tolerance: Option<f64>,
    /// A retrain budget: only policies that retrain in at most this share of the
    /// scored periods are recommended (0.25: one period in four; each retrain is a
    /// pull request to review). The tolerance then applies among them.
    #[serde(default)]
    pub max_retrain_share: Option<f64>,
    /// Also run the built-in candidates (never, periodic, drift- and
    /// performance-triggered over a few windows). Default: true when neither `policies`
    /// nor `grid` is given.
    #[serde(default)]
    pub defaults: Option<bool>,
    /// Policies written out one by one.
    #[serde(default)]
    pub policies: Vec<RawPolicy>,
    /// A grid of policies: every trigger value × every window × every warm start.
    #[serde(default)]
    pub grid: Option<RawGrid>,
}

/// One retraining policy. Without `never`, `every` or `triggers`, it never retrains.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    /// Name shown in the report: `[A-Za-z0-9_.+-]+`, unique.
    pub name: String,
    /// Never retrain after the first model.
    #[serde(default)]
    pub never: bool,
    /// Retrain every this many periods.
    #[serde(default)]
    pub every: Option<u32>,
    /// Triggers, as in a model's `triggers:` (schedule, new_data, drift, performance,
    /// mode, cooldown, max_per_period).
    #[serde(default)]
    pub triggers: Option<TriggersConfig>,
    /// Training window. Default: the model's `training.window`.
    #[serde(default)]
    pub window: Option<WindowConfig>,
    /// Warm start from the previous model. Default: the model's `training.warm_start`.
    #[serde(default)]
    pub warm_start: Option<bool>,
    /// The gate a retrained candidate must pass on its holdout (the newest part of its
    /// window) to replace the deployed model, as `evaluation.gates`; a candidate that
    /// fails it is trained but not deployed. `[]`: no gate, every candidate is deployed
    /// (as if every pull request were merged). Default: the model's `evaluation.gates`.
    #[serde(default)]
    pub gates: Option<Vec<Gate>>,
    /// Deploy a refit of the blessed candidate on its whole window, holdout included
    /// (`evaluation.refit`). Default: the model's `evaluation.refit`.
    #[serde(default)]
    pub refit: Option<bool>,
    /// Shadow evaluation (`evaluation.shadow`): a blessed candidate is deployed only
    /// after it passed `gates` (default: the policy's gates, else "at least as good as
    /// the deployed model on the primary metric") against the deployed model on
    /// `min_rows` labelled rows newer than its training data; the deployed model serves
    /// meanwhile and no other candidate is trained. A beaten candidate is dropped. `none`:
    /// no shadow period. Default: the model's `evaluation.shadow`.
    #[serde(default)]
    pub shadow: Option<ShadowChoice>,
    /// Train with this built-in algorithm (`training.algorithm`), so algorithms can be
    /// compared as policies. Default: the model's.
    #[serde(default)]
    pub algorithm: Option<Algorithm>,
    /// The algorithm's params (`training.params`). Default: the model's when the
    /// algorithm is the model's, else the algorithm's defaults.
    #[serde(default)]
    pub params: Option<std::collections::BTreeMap<String, serde_json::Value>>,
}

/// A policy's `shadow`: a shadow period, or `none`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(untagged)]
pub enum ShadowChoice {
    On(super::evaluation::RawShadow),
    Off(NoGate),
}

/// A value of the grid's `gate_min_change`: a smallest change of the metric, or `none`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(untagged)]
pub enum GateChoice {
    /// The candidate replaces the deployed model only when its metric on the holdout is
    /// better by at least this much (negative: a tolerated loss).
    MinChange(f64),
    /// No gate: every candidate is deployed.
    No(NoGate),
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum NoGate {
    None,
}

/// A grid of policies. Each trigger value gives one policy per window and warm start.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawGrid {
    /// Periodic policies: retrain every k periods.
    #[serde(default)]
    pub every: Vec<u32>,
    /// Drift-triggered policies: dataset drift at this share of drifted columns.
    #[serde(default)]
    pub drift_share: Vec<Fraction>,
    /// Performance-triggered policies: the metric dropped by more than this since the
    /// model's first scored period.
    #[serde(default)]
    pub performance_drop: Vec<f64>,
    /// Performance-triggered policies: the metric fell below this value (above, for
    /// lower-is-better metrics) on the newest labelled period.
    #[serde(default)]
    pub performance_min: Vec<f64>,
    /// New-data policies: this many labelled rows since the last training.
    #[serde(default)]
    pub new_data_rows: Vec<u64>,
    /// Also every drift share combined (`any`) with every performance drop.
    #[serde(default)]
    pub combine: bool,
    /// Windows: `all`, a row count or a duration. Default: the model's window.
    #[serde(default)]
    pub windows: Vec<WindowSize>,
    /// Warm starts to try. Default: the model's `training.warm_start`.
    #[serde(default)]
    pub warm_start: Vec<bool>,
    /// Gates to try, each one condition on accuracy (classification) or RMSE
    /// (regression), like the grid's performance triggers: the candidate must beat the
    /// deployed model on its holdout by at least this much (`0.02`), or `none` (every
    /// candidate is deployed). Default: the model's `evaluation.gates`.
    #[serde(default)]
    pub gate_min_change: Vec<GateChoice>,
    /// Refits to try (`evaluation.refit`). Default: the model's.
    #[serde(default)]
    pub refit: Vec<bool>,
    /// Built-in algorithms to try, each with its default params (the model's own
    /// algorithm keeps the model's params). Default: the model's.
    #[serde(default)]
    pub algorithms: Vec<Algorithm>,
}

/// A validated backtest section or policies file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BacktestSpec {
    pub period: Option<Duration>,
    pub period_rows: Option<u64>,
    pub warmup: Option<usize>,
    pub label_delay: usize,
    pub metric: Option<Metric>,
    pub tolerance: Option<f64>,
    pub relative_tolerance: Option<f64>,
    pub max_retrain_share: Option<f64>,
    /// Run the built-in candidates too.
    pub defaults: bool,
    /// Written-out policies, then the grid's.
    pub policies: Vec<PolicySpec>,
}

/// A validated policy. `window` / `warm_start` `None` = the model's own.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicySpec {
    pub name: String,
    pub rule: Rule,
    pub window: Option<Window>,
    pub warm_start: Option<bool>,
    /// `None` = the model's `evaluation.gates`; `Some([])` = no gate.
    pub gates: Option<Vec<Gate>>,
    /// `None` = the model's `evaluation.refit`.
    pub refit: Option<bool>,
    /// `None` = the model's `evaluation.shadow`; `Some(None)` = no shadow period;
    /// `Some(Some((min_rows, gates)))`, gates `None` = the policy's.
    pub shadow: Option<Option<(u64, Option<Vec<Gate>>)>>,
    /// `None` = the model's trainer.
    pub training: Option<PolicyTraining>,
}

/// A policy's own built-in trainer, its params validated as `training.params` are.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyTraining {
    pub algorithm: Algorithm,
    /// `None`: not given (the algorithm's defaults; the model's params when it is the
    /// model's algorithm).
    pub params: Option<std::collections::BTreeMap<String, serde_json::Value>>,
    pub hyper: crate::config::params::Hyper,
    pub max_categories: usize,
}

/// When a policy retrains.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    Never,
    /// Every `every` periods (if set) or when the triggers decide so.
    Retrain {
        every: Option<u32>,
        triggers: Box<Triggers>,
    },
}
