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
}

/// Reads and checks `training.params`; also returns `max_categories` (preprocessing).
pub fn hyper_params(
    algorithm: Algorithm,
    map: &BTreeMap<String, serde_json::Value>,
) -> Result<(Hyper, usize), ParamError> {
    let mut p = Params::new(map);
    let max_categories = p.u64("max_categories", DEFAULT_MAX_CATEGORIES as u64, 1)? as usize;
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
    }
}
