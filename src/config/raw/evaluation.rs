//! The `evaluation:` section as written: holdout, metrics, gates, intervals.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::*;

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawEvaluation {
    /// The rows both models are scored on.
    #[serde(default)]
    pub holdout: HoldoutConfig,
    /// Metrics to compute. Default: `[accuracy, f1, roc_auc]` (classification),
    /// `[rmse, mae, r2]` (regression).
    #[serde(default)]
    pub metrics: Option<Vec<Metric>>,
    /// The metric that ranks models. Default: `accuracy` / `rmse`.
    #[serde(default)]
    pub primary: Option<Metric>,
    /// Conditions for blessing the candidate. With none, nothing is blessed.
    #[serde(default)]
    pub gates: Vec<Gate>,
    /// Confidence intervals.
    #[serde(default)]
    pub intervals: IntervalConfig,
    /// Categorical columns to report (and gate) metrics per value of.
    #[serde(default)]
    pub slices: Vec<String>,
    /// Once the gate blesses the candidate, train it again on its whole window (the
    /// holdout included) and propose that model: it has seen the newest rows, which
    /// matters when data drifts fast; its reported metrics are those of the fit that
    /// was held out. Default: false (the proposed model is the one evaluated).
    #[serde(default, skip_serializing_if = "is_false")]
    pub refit: bool,
    /// Shadow evaluation: while the model's pull request is open, each later run scores
    /// the candidate and the champion on the labelled rows newer than the candidate's
    /// snapshot (rows neither has seen); the pull request stays a draft and its check
    /// pending until the candidate has been compared on `min_rows` such rows and passes
    /// `gates`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow: Option<RawShadow>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawShadow {
    /// Labelled rows newer than the candidate's snapshot needed before the verdict.
    pub min_rows: u64,
    /// Conditions on those rows (no `slice`). Default: `evaluation.gates`.
    #[serde(default)]
    pub gates: Option<Vec<Gate>>,
    /// Close the pull request (with a comment) when the candidate fails the shadow
    /// gates. Default: false (the pull request says so and stays open as a draft).
    #[serde(default, skip_serializing_if = "is_false")]
    pub close_when_beaten: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HoldoutConfig {
    /// `time`: the newest rows by `time_column` (row order without one); `random`: seeded.
    /// Either way drawn from the rows the training window reaches, so the candidate is
    /// judged on the newest part of its own window.
    #[serde(default)]
    pub kind: HoldoutKind,
    /// Share of the window's rows held out (the candidate trains on the rest).
    #[serde(default = "default_holdout_fraction")]
    pub fraction: Fraction,
    /// Seed of the `random` holdout.
    #[serde(default = "default_seed")]
    pub seed: u64,
}

fn default_holdout_fraction() -> Fraction {
    Fraction(0.2)
}

fn default_seed() -> u64 {
    42
}

impl Default for HoldoutConfig {
    fn default() -> Self {
        Self {
            kind: HoldoutKind::default(),
            fraction: default_holdout_fraction(),
            seed: default_seed(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HoldoutKind {
    #[default]
    Time,
    Random,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    Accuracy,
    BalancedAccuracy,
    Precision,
    Recall,
    F1,
    F1Macro,
    RocAuc,
    LogLoss,
    Rmse,
    Mae,
    R2,
    Mape,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::BalancedAccuracy => "balanced_accuracy",
            Metric::Precision => "precision",
            Metric::Recall => "recall",
            Metric::F1 => "f1",
            Metric::F1Macro => "f1_macro",
            Metric::RocAuc => "roc_auc",
            Metric::LogLoss => "log_loss",
            Metric::Rmse => "rmse",
            Metric::Mae => "mae",
            Metric::R2 => "r2",
            Metric::Mape => "mape",
        }
    }

    pub fn task(self) -> Task {
        match self {
            Metric::Rmse | Metric::Mae | Metric::R2 | Metric::Mape => Task::Regression,
            _ => Task::Classification,
        }
    }

    /// The values the metric can take: (lowest, highest), `None` where unbounded.
    pub fn range(self) -> (Option<f64>, Option<f64>) {
        match self {
            Metric::LogLoss | Metric::Rmse | Metric::Mae | Metric::Mape => (Some(0.0), None),
            Metric::R2 => (None, Some(1.0)),
            _ => (Some(0.0), Some(1.0)),
        }
    }

    pub fn higher_is_better(self) -> bool {
        !matches!(
            self,
            Metric::LogLoss | Metric::Rmse | Metric::Mae | Metric::Mape
        )
    }

    /// Whether score `a` is strictly better than `b` on this metric.
    pub fn better(self, a: f64, b: f64) -> bool {
        if self.higher_is_better() {
            a > b
        } else {
            a < b
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One condition of the gate. At least one of `min`, `max`, `min_change`,
/// `min_relative_change`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Gate {
    pub metric: Metric,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    /// Smallest accepted change vs the champion, in the metric's better direction
    /// (negative = tolerated loss).
    #[serde(default)]
    pub min_change: Option<f64>,
    /// Same as `min_change`, relative to the champion's value.
    #[serde(default)]
    pub min_relative_change: Option<f64>,
    /// Apply to each value of this slice column instead of the whole holdout.
    #[serde(default)]
    pub slice: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IntervalConfig {
    #[serde(default)]
    pub method: IntervalMethod,
    #[serde(default = "default_resamples")]
    pub resamples: u32,
    #[serde(default = "default_confidence")]
    pub confidence: Fraction,
}

fn default_resamples() -> u32 {
    1000
}

fn default_confidence() -> Fraction {
    Fraction(0.95)
}

impl Default for IntervalConfig {
    fn default() -> Self {
        Self {
            method: IntervalMethod::default(),
            resamples: default_resamples(),
            confidence: default_confidence(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IntervalMethod {
    #[default]
    Bootstrap,
    None,
}
