//! `training.params`: validated into typed hyper-parameters ([`Hyper`]) when the config
//! is loaded, with errors that name the key and reject keys the algorithm does not
//! know (with a "did you mean"); `retrain check` reports them at their line and column.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::Algorithm;

#[derive(Debug, Clone, thiserror::Error)]
#[error("training.params.{key}: {message}")]
pub struct ParamError {
    pub key: String,
    pub message: String,
    pub hint: Option<String>,
}

/// `params.max_categories` when not given (also an external trainer's preprocessing).
pub const DEFAULT_MAX_CATEGORIES: usize = 20;

pub struct Params<'a> {
    map: &'a BTreeMap<String, Value>,
    known: BTreeSet<&'static str>,
}

impl<'a> Params<'a> {
    pub fn new(map: &'a BTreeMap<String, Value>) -> Self {
        Self {
            map,
            known: BTreeSet::new(),
        }
    }

    fn err(key: &str, message: String) -> ParamError {
        ParamError {
            key: key.to_string(),
            message,
            hint: None,
        }
    }

    pub fn f64(
        &mut self,
        key: &'static str,
        default: f64,
        valid: impl Fn(f64) -> bool,
        what: &str,
    ) -> Result<f64, ParamError> {
        self.known.insert(key);
        match self.map.get(key) {
            None => Ok(default),
            Some(v) => match v.as_f64() {
                Some(x) if x.is_finite() && valid(x) => Ok(x),
                _ => Err(Self::err(key, format!("expected {what}, got {v}"))),
            },
        }
    }

    pub fn u64(&mut self, key: &'static str, default: u64, min: u64) -> Result<u64, ParamError> {
        self.known.insert(key);
        match self.map.get(key) {
            None => Ok(default),
            Some(v) => match v.as_u64() {
                Some(x) if x >= min => Ok(x),
                _ => Err(Self::err(
                    key,
                    format!("expected a whole number ≥ {min}, got {v}"),
                )),
            },
        }
    }

    /// A whole number, or `null` for "no limit".
    pub fn opt_u64(
        &mut self,
        key: &'static str,
        default: Option<u64>,
        min: u64,
    ) -> Result<Option<u64>, ParamError> {
        self.known.insert(key);
        match self.map.get(key) {
            None => Ok(default),
            Some(Value::Null) => Ok(None),
            Some(v) => match v.as_u64() {
                Some(x) if x >= min => Ok(Some(x)),
                _ => Err(Self::err(
                    key,
                    format!("expected a whole number ≥ {min} or null, got {v}"),
                )),
            },
        }
    }

    pub fn bool(&mut self, key: &'static str, default: bool) -> Result<bool, ParamError> {
        self.known.insert(key);
        match self.map.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| Self::err(key, format!("expected true or false, got {v}"))),
        }
    }

    pub fn choice(
        &mut self,
        key: &'static str,
        default: &'static str,
        options: &[&'static str],
    ) -> Result<&'static str, ParamError> {
        self.known.insert(key);
        match self.map.get(key) {
            None => Ok(default),
            Some(v) => options
                .iter()
                .find(|o| v.as_str() == Some(**o))
                .copied()
                .ok_or_else(|| {
                    Self::err(
                        key,
                        format!("expected one of {}, got {v}", options.join(", ")),
                    )
                }),
        }
    }

    /// `true`, `false` or `"auto"`.
    pub fn auto_bool(&mut self, key: &'static str) -> Result<Option<bool>, ParamError> {
        self.known.insert(key);
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s == "auto" => Ok(None),
            Some(v) => Err(Self::err(
                key,
                format!("expected true, false or auto, got {v}"),
            )),
        }
    }

    /// `null`, `balanced`, or a map of class label to a weight > 0.
    pub fn class_weight(&mut self, key: &'static str) -> Result<ClassWeight, ParamError> {
        self.known.insert(key);
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(ClassWeight::None),
            Some(Value::String(s)) if s == "balanced" => Ok(ClassWeight::Balanced),
            Some(Value::Object(m)) => {
                let mut out = BTreeMap::new();
                for (label, w) in m {
                    match w.as_f64() {
                        Some(x) if x.is_finite() && x > 0.0 => {
                            out.insert(label.clone(), x);
                        }
                        _ => {
                            return Err(Self::err(
                                key,
                                format!("class `{label}`: expected a weight > 0, got {w}"),
                            ))
                        }
                    }
                }
                Ok(ClassWeight::Given(out))
            }
            Some(v) => Err(ParamError {
                key: key.to_string(),
                message: format!("expected null, balanced or a map of class to weight, got {v}"),
                hint: Some("e.g. `class_weight: balanced` or `class_weight: { fraud: 10 }`".into()),
            }),
        }
    }

    /// `sqrt`, `log2`, a fraction in (0, 1) of the columns, or a count ≥ 1.
    pub fn max_features(
        &mut self,
        key: &'static str,
        default: MaxFeatures,
    ) -> Result<MaxFeatures, ParamError> {
        self.known.insert(key);
        match self.map.get(key) {
            None => Ok(default),
            Some(Value::String(s)) if s == "sqrt" => Ok(MaxFeatures::Sqrt),
            Some(Value::String(s)) if s == "log2" => Ok(MaxFeatures::Log2),
            Some(v) if v.as_u64().is_some_and(|n| n >= 1) => {
                Ok(MaxFeatures::Count(v.as_u64().unwrap_or(1)))
            }
            Some(v) if v.as_f64().is_some_and(|x| x > 0.0 && x <= 1.0) => {
                Ok(MaxFeatures::Fraction(v.as_f64().unwrap_or(1.0)))
            }
            Some(v) => Err(Self::err(
                key,
                format!("expected sqrt, log2, a fraction in (0, 1] or a count ≥ 1, got {v}"),
            )),
        }
    }

    /// Fails on keys that were never asked for.
    pub fn finish(self, algorithm: &str) -> Result<(), ParamError> {
        for key in self.map.keys() {
            if !self.known.contains(key.as_str()) {
                let valid: Vec<&str> = self.known.iter().copied().collect();
                return Err(ParamError {
                    key: key.clone(),
                    message: format!("unknown parameter for {algorithm}"),
                    hint: Some(match super::did_you_mean(key, valid.iter().copied()) {
                        Some(s) => format!("did you mean `{s}`? valid: {}", valid.join(", ")),
                        None => format!("valid: {}", valid.join(", ")),
                    }),
                });
            }
        }
        Ok(())
    }
}

/// Validated hyper-parameters of an algorithm.
#[derive(Debug, Clone, PartialEq)]
pub enum Hyper {
    Logistic {
        alpha: f64,
        max_iterations: u64,
        gradient_tolerance: f64,
        fit_intercept: bool,
    },
    Linear {
        fit_intercept: bool,
    },
    ElasticNet {
        penalty: f64,
        l1_ratio: f64,
        max_iterations: u64,
        tolerance: f64,
        fit_intercept: bool,
    },
    Tree {
        max_depth: Option<u64>,
        min_weight_split: f64,
        min_weight_leaf: f64,
        min_impurity_decrease: f64,
        entropy: bool,
    },
    GaussianNb {
        var_smoothing: f64,
    },
    Boosting(Boosting),
    Forest(Forest),
}

/// Columns tried at each split of a random forest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MaxFeatures {
    Sqrt,
    Log2,
    Fraction(f64),
    Count(u64),
}

impl MaxFeatures {
    /// The count for `columns` input columns (at least 1).
    pub fn of(self, columns: usize) -> usize {
        let c = columns as f64;
        let n = match self {
            MaxFeatures::Sqrt => c.sqrt().floor() as usize,
            MaxFeatures::Log2 => c.log2().floor() as usize,
            MaxFeatures::Fraction(f) => (f * c).floor() as usize,
            MaxFeatures::Count(n) => n as usize,
        };
        n.clamp(1, columns.max(1))
    }
}

/// `random_forest` (scikit-learn's names; `max_depth` defaults to 12 so that artifacts
/// stay small — scikit-learn grows trees to purity).
#[derive(Debug, Clone, PartialEq)]
pub struct Forest {
    pub n_estimators: u64,
    pub max_depth: Option<u64>,
    pub max_leaves: Option<u64>,
    pub min_samples_leaf: u64,
    pub max_features: MaxFeatures,
    pub bootstrap: bool,
    pub max_bins: u64,
    pub seed: u64,
    pub class_weight: ClassWeight,
}

fn forest(p: &mut Params<'_>, regression: bool) -> Result<Forest, ParamError> {
    let max_bins = p.u64("max_bins", 255, 2)?;
    if max_bins > 255 {
        return Err(Params::err(
            "max_bins",
            format!("expected at most 255, got {max_bins}"),
        ));
    }
    Ok(Forest {
        n_estimators: p.u64("n_estimators", 100, 1)?,
        max_depth: p.opt_u64("max_depth", Some(12), 1)?,
        max_leaves: p.opt_u64("max_leaves", None, 2)?,
        min_samples_leaf: p.u64("min_samples_leaf", 1, 1)?,
        max_features: p.max_features(
            "max_features",
            if regression {
                MaxFeatures::Fraction(1.0)
            } else {
                MaxFeatures::Sqrt
            },
        )?,
        bootstrap: p.bool("bootstrap", true)?,
        max_bins,
        seed: p.u64("seed", 0, 0)?,
        class_weight: if regression {
            ClassWeight::None
        } else {
            p.class_weight("class_weight")?
        },
    })
}

/// Class weights of a classifier: row weights `w[class]` scale gradients and hessians.
#[derive(Debug, Clone, PartialEq)]
pub enum ClassWeight {
    None,
    /// `n / (classes × n_class)`, as scikit-learn's `balanced`.
    Balanced,
    /// By class label; classes not named keep weight 1.
    Given(BTreeMap<String, f64>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegressionLoss {
    SquaredError,
    AbsoluteError,
}

/// `gradient_boosting` (LightGBM's names and defaults where it has them).
#[derive(Debug, Clone, PartialEq)]
pub struct Boosting {
    pub n_estimators: u64,
    /// Trees added to the champion's on a warm start.
    pub warm_start_estimators: u64,
    /// The most boosting rounds a warm start may reach: a champion that would pass it
    /// is not continued (a cold start, with a note), so a stream's stale trees do not
    /// pile up. Default: twice `n_estimators`.
    pub warm_start_max_estimators: u64,
    pub learning_rate: f64,
    pub max_leaves: u64,
    pub max_depth: Option<u64>,
    pub min_samples_leaf: u64,
    pub min_hessian_leaf: f64,
    pub l2: f64,
    pub min_gain: f64,
    pub max_bins: u64,
    pub subsample: f64,
    pub colsample: f64,
    pub seed: u64,
    /// `None`: auto (on above 10,000 training rows, as scikit-learn's).
    pub early_stopping: Option<bool>,
    pub validation_fraction: f64,
    pub n_iter_no_change: u64,
    pub tol: f64,
    pub class_weight: ClassWeight,
    pub loss: RegressionLoss,
    pub max_cat_to_onehot: u64,
    pub cat_smooth: f64,
    pub cat_l2: f64,
    pub max_cat_threshold: u64,
    pub min_data_per_group: u64,
}

/// The most categories a tree model keeps per column (the other values share one code).
pub const MAX_TREE_CATEGORIES: usize = 254;

fn boosting(p: &mut Params<'_>, regression: bool) -> Result<Boosting, ParamError> {
    let pos = |x: f64| x > 0.0;
    let nonneg = |x: f64| x >= 0.0;
    let fraction = |x: f64| x > 0.0 && x <= 1.0;
    let loss = if regression {
        match p.choice(
            "loss",
            "squared_error",
            &["squared_error", "absolute_error"],
        )? {
            "absolute_error" => RegressionLoss::AbsoluteError,
            _ => RegressionLoss::SquaredError,
        }
    } else {
        p.choice("loss", "log_loss", &["log_loss"])?;
        RegressionLoss::SquaredError
    };
    let max_bins = p.u64("max_bins", 255, 2)?;
    if max_bins > 255 {
        return Err(Params::err(
            "max_bins",
            format!("expected at most 255, got {max_bins}"),
        ));
    }
    let n_estimators = p.u64("n_estimators", 100, 1)?;
    Ok(Boosting {
        n_estimators,
        warm_start_estimators: p.u64("warm_start_estimators", 20, 1)?,
        warm_start_max_estimators: p.u64(
            "warm_start_max_estimators",
            n_estimators.saturating_mul(2),
            1,
        )?,
        learning_rate: p.f64("learning_rate", 0.1, pos, "a number > 0")?,
        max_leaves: p.u64("max_leaves", 31, 2)?,
        max_depth: p.opt_u64("max_depth", None, 1)?,
        min_samples_leaf: p.u64("min_samples_leaf", 20, 1)?,
        min_hessian_leaf: p.f64("min_hessian_leaf", 1e-3, nonneg, "a number ≥ 0")?,
        l2: p.f64("l2", 0.0, nonneg, "a number ≥ 0")?,
        min_gain: p.f64("min_gain", 0.0, nonneg, "a number ≥ 0")?,
        max_bins,
        subsample: p.f64("subsample", 1.0, fraction, "a fraction in (0, 1]")?,
        colsample: p.f64("colsample", 1.0, fraction, "a fraction in (0, 1]")?,
        seed: p.u64("seed", 0, 0)?,
        early_stopping: p.auto_bool("early_stopping")?,
        validation_fraction: p.f64(
            "validation_fraction",
            0.1,
            |x| x > 0.0 && x < 1.0,
            "a fraction in (0, 1)",
        )?,
        n_iter_no_change: p.u64("n_iter_no_change", 10, 1)?,
        tol: p.f64("tol", 1e-7, nonneg, "a number ≥ 0")?,
        class_weight: if regression {
            ClassWeight::None
        } else {
            p.class_weight("class_weight")?
        },
        loss,
        max_cat_to_onehot: p.u64("max_cat_to_onehot", 4, 1)?,
        cat_smooth: p.f64("cat_smooth", 10.0, nonneg, "a number ≥ 0")?,
        cat_l2: p.f64("cat_l2", 10.0, nonneg, "a number ≥ 0")?,
        max_cat_threshold: p.u64("max_cat_threshold", 32, 1)?,
        min_data_per_group: p.u64("min_data_per_group", 100, 1)?,
    })
}

/// Reads and checks `training.params`; also returns `max_categories` (preprocessing).
pub fn hyper_params(
    algorithm: Algorithm,
    regression: bool,
    map: &BTreeMap<String, serde_json::Value>,
) -> Result<(Hyper, usize), ParamError> {
    let mut p = Params::new(map);
    let trees = matches!(
        algorithm,
        Algorithm::GradientBoosting | Algorithm::RandomForest
    );
    let max_categories = if trees {
        let m = p.u64("max_categories", MAX_TREE_CATEGORIES as u64, 1)?;
        if m > MAX_TREE_CATEGORIES as u64 {
            return Err(ParamError {
                key: "max_categories".into(),
                message: format!("expected at most {MAX_TREE_CATEGORIES}, got {m}"),
                hint: Some(
                    "tree models keep up to 254 categories per column and put the rarer ones in one `other` code".into(),
                ),
            });
        }
        m as usize
    } else {
        p.u64("max_categories", DEFAULT_MAX_CATEGORIES as u64, 1)? as usize
    };
    let pos = |x: f64| x > 0.0;
    let nonneg = |x: f64| x >= 0.0;
    let hyper = match algorithm {
        Algorithm::LogisticRegression => Hyper::Logistic {
            alpha: p.f64("alpha", 1.0, nonneg, "a number ≥ 0 (L2 penalty)")?,
            max_iterations: p.u64("max_iterations", 100, 1)?,
            gradient_tolerance: p.f64("gradient_tolerance", 1e-4, pos, "a number > 0")?,
            fit_intercept: p.bool("fit_intercept", true)?,
        },
        Algorithm::LinearRegression => Hyper::Linear {
            fit_intercept: p.bool("fit_intercept", true)?,
        },
        Algorithm::ElasticNet => Hyper::ElasticNet {
            penalty: p.f64("penalty", 1.0, nonneg, "a number ≥ 0")?,
            l1_ratio: p.f64(
                "l1_ratio",
                0.5,
                |x| (0.0..=1.0).contains(&x),
                "a number in [0, 1]",
            )?,
            max_iterations: p.u64("max_iterations", 1000, 1)?,
            tolerance: p.f64("tolerance", 1e-4, pos, "a number > 0")?,
            fit_intercept: p.bool("fit_intercept", true)?,
        },
        Algorithm::DecisionTree => Hyper::Tree {
            max_depth: p.opt_u64("max_depth", Some(10), 1)?,
            min_weight_split: p.f64("min_weight_split", 2.0, pos, "a number > 0")?,
            min_weight_leaf: p.f64("min_weight_leaf", 1.0, pos, "a number > 0")?,
            min_impurity_decrease: p.f64("min_impurity_decrease", 0.0, nonneg, "a number ≥ 0")?,
            entropy: p.choice("criterion", "gini", &["gini", "entropy"])? == "entropy",
        },
        Algorithm::GaussianNb => Hyper::GaussianNb {
            var_smoothing: p.f64("var_smoothing", 1e-9, nonneg, "a number ≥ 0")?,
        },
        Algorithm::GradientBoosting => Hyper::Boosting(boosting(&mut p, regression)?),
        Algorithm::RandomForest => Hyper::Forest(forest(&mut p, regression)?),
    };
    p.finish(algorithm_name(algorithm))?;
    Ok((hyper, max_categories))
}

pub fn algorithm_name(a: Algorithm) -> &'static str {
    match a {
        Algorithm::LogisticRegression => "logistic_regression",
        Algorithm::LinearRegression => "linear_regression",
        Algorithm::ElasticNet => "elastic_net",
        Algorithm::DecisionTree => "decision_tree",
        Algorithm::GaussianNb => "gaussian_nb",
        Algorithm::GradientBoosting => "gradient_boosting",
        Algorithm::RandomForest => "random_forest",
    }
}
