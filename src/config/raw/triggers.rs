//! The `triggers:` and `validation:` sections as written.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use super::*;

/// When to retrain. Each trigger is off unless present.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TriggersConfig {
    /// `any`: retrain when one trigger fires; `all`: only when every configured trigger fires.
    #[serde(default)]
    pub mode: TriggerMode,
    /// Retrain when the champion is older than `every`.
    #[serde(default)]
    pub schedule: Option<ScheduleTrigger>,
    /// Retrain when enough rows were added since the champion's snapshot.
    #[serde(default)]
    pub new_data: Option<NewDataTrigger>,
    /// Retrain when the data drifted from the champion's training data.
    #[serde(default)]
    pub drift: Option<DriftTrigger>,
    /// Retrain when the champion's quality on newly labelled data falls.
    #[serde(default)]
    pub performance: Option<PerformanceTrigger>,
    /// Retrain when the champion's outputs on the new rows (labelled or not) drifted from
    /// its outputs on the reference rows: the positive class's score (binary), the
    /// predicted class (more classes), the predicted value (regression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prediction_drift: Option<PredictionDriftTrigger>,
    /// Do not retrain within this time after the champion was trained (`--force` overrides).
    #[serde(default)]
    pub cooldown: Option<Duration>,
    /// At most `count` retrains within any `period`.
    #[serde(default)]
    pub max_per_period: Option<MaxPerPeriod>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TriggerMode {
    #[default]
    Any,
    All,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScheduleTrigger {
    pub every: Duration,
}

/// Exactly one of `min_rows` and `min_fraction`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NewDataTrigger {
    #[serde(default)]
    pub min_rows: Option<u64>,
    #[serde(default)]
    pub min_fraction: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DriftTrigger {
    /// Test per column; `auto` follows Evidently's defaults (KS / chi-square / Z on small
    /// references, normalised Wasserstein / Jensen-Shannon distance on large ones).
    #[serde(default)]
    pub method: DriftMethod,
    /// Threshold of the method; `auto` = the method's default.
    #[serde(default)]
    pub threshold: Threshold,
    /// Dataset drift when this share of the tested columns drifted.
    #[serde(default = "default_share")]
    pub share: Fraction,
    /// Columns to test: `all` (every feature) or a list.
    #[serde(default)]
    pub columns: ColumnSelection,
    /// Method and threshold per column, e.g. `{ nswprice: { method: psi, threshold: 0.2 } }`.
    #[serde(default)]
    pub per_column: BTreeMap<String, ColumnDrift>,
}

fn default_share() -> Fraction {
    Fraction(0.5)
}

/// `triggers.prediction_drift`: the test of the champion's outputs.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PredictionDriftTrigger {
    /// As for feature drift; `auto` picks by the outputs' type and the reference's size.
    #[serde(default)]
    pub method: DriftMethod,
    /// Threshold of the method; `auto` = the method's default.
    #[serde(default)]
    pub threshold: Threshold,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ColumnDrift {
    #[serde(default)]
    pub method: DriftMethod,
    #[serde(default)]
    pub threshold: Threshold,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DriftMethod {
    #[default]
    Auto,
    Ks,
    Chi2,
    Z,
    Psi,
    Wasserstein,
    JensenShannon,
    Hellinger,
    Kl,
}

/// `auto` or a number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Threshold {
    #[default]
    #[schemars(with = "AutoKeyword")]
    Auto,
    Value(f64),
}

#[derive(JsonSchema)]
#[allow(dead_code)]
pub(super) enum AutoKeyword {
    #[serde(rename = "auto")]
    Auto,
}

impl Serialize for AutoKeyword {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("auto")
    }
}

impl<'de> Deserialize<'de> for Threshold {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Number(f64),
            Text(String),
        }
        match Repr::deserialize(deserializer)? {
            Repr::Number(v) if v.is_finite() && v >= 0.0 => Ok(Threshold::Value(v)),
            Repr::Number(v) => Err(serde::de::Error::custom(format!(
                "threshold must be a non-negative number or `auto`, got {v}"
            ))),
            Repr::Text(t) if t == "auto" => Ok(Threshold::Auto),
            Repr::Text(t) => Err(serde::de::Error::custom(format!(
                "threshold must be a number or `auto`, got `{t}`"
            ))),
        }
    }
}

/// `all` or a list of column names.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum ColumnSelection {
    #[default]
    #[schemars(with = "AllKeyword")]
    All,
    List(Vec<String>),
}

#[derive(JsonSchema)]
#[allow(dead_code)]
pub(super) enum AllKeyword {
    #[serde(rename = "all")]
    All,
}

impl<'de> Deserialize<'de> for ColumnSelection {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            List(Vec<String>),
            Text(String),
        }
        match Repr::deserialize(deserializer)? {
            Repr::List(list) => Ok(ColumnSelection::List(list)),
            Repr::Text(t) if t == "all" => Ok(ColumnSelection::All),
            Repr::Text(t) => Err(serde::de::Error::custom(format!(
                "columns must be `all` or a list of column names, got `{t}`"
            ))),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PerformanceTrigger {
    /// Metric the champion is scored with on newly labelled rows.
    pub metric: Metric,
    /// Retrain when the metric is below this value (above, for lower-is-better metrics).
    #[serde(default)]
    pub min: Option<f64>,
    /// Retrain when the metric got worse by more than this (absolute) since training.
    #[serde(default)]
    pub max_drop: Option<f64>,
    /// Retrain when a change detector, run over the champion's per-row errors on the
    /// new labelled rows in time order, signals a change: `adwin`, `ddm` or
    /// `page_hinkley` (River's defaults), or `{ kind: adwin, delta: 0.001 }`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::detector::kind_or_settings"
    )]
    #[schemars(with = "Option<DetectorSchema>")]
    pub detector: Option<DetectorSpec>,
    /// `cbpe`: on new rows without labels (the target missing or null), the metric is
    /// estimated from the champion's calibrated scores (NannyML's confidence-based
    /// performance estimation; binary classifiers; accuracy, precision, recall, f1,
    /// roc_auc). The trigger fires on the estimate for those rows and on the realized
    /// value for the labelled ones. Blind to a change of concept: see docs/monitoring.md.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate: Option<EstimateMethod>,
}

/// How a metric is estimated on rows without labels.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum EstimateMethod {
    /// Confidence-based performance estimation (NannyML's CBPE).
    Cbpe,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MaxPerPeriod {
    pub count: u32,
    pub period: Duration,
}

/// Checks on new data (TFX ExampleValidator in spirit).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ValidationConfig {
    /// Anomaly kinds that stop a retrain; the others are warnings.
    #[serde(default = "default_block_on")]
    pub block_on: Vec<AnomalyKind>,
    /// Largest tolerated share of nulls in a column.
    #[serde(default = "default_max_null_fraction")]
    pub max_null_fraction: Fraction,
    /// Largest tolerated share of numeric values outside the reference's [min, max].
    #[serde(default = "default_small_share")]
    pub max_out_of_range_share: Fraction,
    /// Largest tolerated share of categorical values never seen in the reference.
    #[serde(default = "default_small_share")]
    pub max_unseen_category_share: Fraction,
    /// Fewest rows, as a fraction of the reference's row count.
    #[serde(default = "default_min_rows_fraction")]
    pub min_rows_fraction: f64,
    /// Most rows, as a multiple of the reference's row count (none = no limit).
    #[serde(default)]
    pub max_rows_fraction: Option<f64>,
}

fn default_block_on() -> Vec<AnomalyKind> {
    vec![
        AnomalyKind::MissingColumn,
        AnomalyKind::TypeChange,
        AnomalyKind::Empty,
    ]
}

fn default_max_null_fraction() -> Fraction {
    Fraction(0.2)
}

fn default_small_share() -> Fraction {
    Fraction(0.05)
}

fn default_min_rows_fraction() -> f64 {
    0.5
}

impl Default for ValidationConfig {
    fn default() -> Self {
        Self {
            block_on: default_block_on(),
            max_null_fraction: default_max_null_fraction(),
            max_out_of_range_share: default_small_share(),
            max_unseen_category_share: default_small_share(),
            min_rows_fraction: default_min_rows_fraction(),
            max_rows_fraction: None,
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    MissingColumn,
    NewColumn,
    TypeChange,
    NullFraction,
    OutOfRange,
    UnseenCategories,
    RowCount,
    Empty,
    AllNull,
    Constant,
    NonFinite,
}
