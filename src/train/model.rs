//! The model artifact (`model.json`, format 1) and the built-in trainers on linfa.
//!
//! The artifact is a JSON document: `format`, `algorithm`, `task`, `params`,
//! `features` (input columns), `classes`, `preprocessing` (see [`super::preprocess`]),
//! `estimator`, and `training` facts. Estimators are stored as plain numbers, not as
//! linfa's internal types, so that any tool can read them and predictions after a
//! reload are bit-identical:
//! - `linear`: `y = w·x + b` (regression), `P(classes[1]) = σ(w·x + b)` (binary logistic);
//! - `softmax`: `P(classes[k]) ∝ exp(W[k]·x + b[k])` (multinomial logistic);
//! - `tree`: nodes `split {feature, threshold, left, right}` (go left when
//!   `x[feature] < threshold`) and `leaf {probabilities}` (class shares of the training
//!   rows that reach it) or `leaf {value}` (regression);
//! - `gaussian_nb`: linfa's serialised Gaussian naive Bayes;
//! - `ensemble`: trees of `gradient_boosting` or `random_forest` (see
//!   [`super::boost::ensemble`]);
//! - `external`: the files of a model trained by `training.command`, and its `predict`
//!   command.

use super::tree::{leaf_of, TreeNode};
use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{DateTime, Utc};
use linfa::prelude::*;
use ndarray::{Array1, Array2, Axis};
use serde::{Deserialize, Serialize};

use super::logistic::sigmoid;
use super::preprocess::Preprocessor;
pub use crate::config::params::{algorithm_name, hyper_params, Hyper};
use crate::config::{Algorithm, Task};

pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelArtifact {
    pub format: u32,
    pub algorithm: Algorithm,
    pub task: Task,
    pub params: BTreeMap<String, serde_json::Value>,
    /// Input columns, in order.
    pub features: Vec<String>,
    /// Class labels (classification), sorted; `classes[i]` is class index `i`.
    pub classes: Vec<String>,
    pub preprocessing: Preprocessor,
    pub estimator: Estimator,
    pub training: TrainingFacts,
    /// A binary classifier's calibration for CBPE, fitted on its evaluation holdout.
    /// Absent from artifacts of regressions, of more than two classes, and from before
    /// calibration existed (an estimate is then "not available", with that reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<CalibrationRecord>,
}

/// [`ModelArtifact::calibration`]: fitted, or why it could not be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CalibrationRecord {
    Fitted(super::calibration::Calibration),
    Unavailable { reason: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingFacts {
    pub snapshot: String,
    pub rows: usize,
    /// The training window, in words.
    pub window: String,
    pub trained_at: DateTime<Utc>,
    pub duration_ms: u64,
    pub warm_start: bool,
    pub retrain_version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Estimator {
    Linear {
        weights: Vec<f64>,
        intercept: f64,
    },
    Softmax {
        weights: Vec<Vec<f64>>,
        intercepts: Vec<f64>,
    },
    Tree {
        nodes: Vec<TreeNode>,
    },
    GaussianNb {
        model: serde_json::Value,
    },
    Ensemble(super::boost::ensemble::Ensemble),
    /// A model trained by `training.command`: its files (base64) and the command that
    /// scores with them (see [`super::external`]).
    External {
        predict: String,
        timeout_seconds: Option<u64>,
        files: BTreeMap<String, String>,
    },
}

/// Model outputs for a batch of rows.
#[derive(Debug, Clone, PartialEq)]
pub enum Predictions {
    /// Class probabilities, rows × classes.
    Classes(Array2<f64>),
    Values(Vec<f64>),
}

impl Predictions {
    pub fn len(&self) -> usize {
        match self {
            Predictions::Classes(p) => p.nrows(),
            Predictions::Values(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Predicted class per row (highest probability; ties -> lowest index).
    /// What prediction drift compares: the positive class's score of a binary
    /// classifier, the predicted class (named by `classes`) of one with more classes, a
    /// regressor's predicted value.
    pub fn outputs(&self, classes: &[String]) -> crate::checks::prediction::Outputs {
        use crate::checks::prediction::Outputs;
        match self {
            Predictions::Classes(p) if p.ncols() == 2 => Outputs::Numeric(p.column(1).to_vec()),
            Predictions::Classes(_) => Outputs::Classes(
                self.labels()
                    .into_iter()
                    .map(|l| {
                        classes
                            .get(l as usize)
                            .cloned()
                            .unwrap_or_else(|| l.to_string())
                    })
                    .collect(),
            ),
            Predictions::Values(v) => Outputs::Numeric(v.clone()),
        }
    }

    pub fn labels(&self) -> Vec<u32> {
        match self {
            Predictions::Classes(p) => p
                .rows()
                .into_iter()
                .map(|r| {
                    let mut best = 0;
                    for (i, v) in r.iter().enumerate() {
                        if *v > r[best] {
                            best = i;
                        }
                    }
                    best as u32
                })
                .collect(),
            Predictions::Values(_) => Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FitError {
    #[error("{algorithm:?} failed to fit: {message}")]
    Fit {
        algorithm: Algorithm,
        message: String,
    },
    #[error(transparent)]
    ClassWeight(#[from] super::boost::config::UnknownClass),
    #[error("the training window has {rows} rows and {classes} class(es); {needed}")]
    NotEnoughData {
        rows: usize,
        classes: usize,
        needed: String,
    },
}

/// Whether the algorithm takes its inputs as they are (`value`/`code` preprocessing
/// steps) rather than imputed, scaled and one-hot encoded.
pub fn native_inputs(algorithm: Algorithm) -> bool {
    matches!(
        algorithm,
        Algorithm::GradientBoosting | Algorithm::RandomForest
    )
}

/// What a fit produced.
pub struct Fitted {
    pub estimator: Estimator,
    pub duration_ms: u64,
    pub warm_started: bool,
    /// Optimiser iterations, for iterative solvers.
    pub iterations: Option<usize>,
}

/// Fits `hyper` on `x` with class indices (`classes` of them) or values `y`.
pub fn fit(
    algorithm: Algorithm,
    hyper: &Hyper,
    x: &Array2<f64>,
    y: &Target<'_>,
    warm: Option<&Estimator>,
    pre: &Preprocessor,
) -> Result<Fitted, FitError> {
    let onehot_groups = &pre.onehot_groups();
    let started = Instant::now();
    let fail = |e: &dyn std::fmt::Display| FitError::Fit {
        algorithm,
        message: e.to_string(),
    };
    let mut warm_started = false;
    let mut iterations = None;
    let estimator = match (hyper, y) {
        (
            Hyper::Logistic {
                alpha,
                max_iterations,
                gradient_tolerance,
                fit_intercept,
            },
            Target::Classes { index, classes, .. },
        ) => {
            let present = count_classes(index, *classes);
            if present < 2 {
                return Err(FitError::NotEnoughData {
                    rows: index.len(),
                    classes: present,
                    needed: "logistic regression needs two classes or more".into(),
                });
            }
            let settings = super::logistic::Settings {
                alpha: *alpha,
                max_iterations: *max_iterations,
                tolerance: *gradient_tolerance,
                fit_intercept: *fit_intercept,
            };
            if *classes == 2 {
                let init = match warm {
                    Some(Estimator::Linear { weights, intercept })
                        if weights.len() == x.ncols() =>
                    {
                        warm_started = true;
                        Some((weights.as_slice(), *intercept))
                    }
                    _ => None,
                };
                let sol = super::logistic::fit_binary(x, index, &settings, init);
                iterations = Some(sol.iterations);
                Estimator::Linear {
                    weights: sol.weights.row(0).to_vec(),
                    intercept: sol.intercepts[0],
                }
            } else {
                // Fit on the classes present (an absent class would never converge),
                // then give absent classes a probability of (practically) zero.
                let mut present_classes: Vec<usize> = index.iter().map(|c| *c as usize).collect();
                present_classes.sort_unstable();
                present_classes.dedup();
                let mut local = vec![u32::MAX; *classes];
                for (i, c) in present_classes.iter().enumerate() {
                    local[*c] = i as u32;
                }
                let y: Vec<u32> = index.iter().map(|c| local[*c as usize]).collect();
                let m = present_classes.len();
                let warm_init = match warm {
                    Some(Estimator::Softmax {
                        weights,
                        intercepts,
                    }) if weights.len() == *classes
                        && present == *classes
                        && weights.iter().all(|w| w.len() == x.ncols()) =>
                    {
                        let w = Array2::from_shape_fn((m, x.ncols()), |(c, j)| {
                            weights[present_classes[c]][j]
                        });
                        let b: Vec<f64> = present_classes.iter().map(|c| intercepts[*c]).collect();
                        warm_started = true;
                        Some((w, b))
                    }
                    _ => None,
                };
                let sol = super::logistic::fit_multinomial(
                    x,
                    &y,
                    m,
                    &settings,
                    warm_init.as_ref().map(|(w, b)| (w, b.as_slice())),
                );
                iterations = Some(sol.iterations);
                let mut weights = vec![vec![0.0; x.ncols()]; *classes];
                let mut intercepts = vec![-1e9; *classes];
                for (row, class) in present_classes.iter().enumerate() {
                    weights[*class] = sol.weights.row(row).to_vec();
                    intercepts[*class] = sol.intercepts[row];
                }
                Estimator::Softmax {
                    weights,
                    intercepts,
                }
            }
        }
        (Hyper::Linear { fit_intercept }, Target::Values(v)) => {
            // Least squares needs a full-rank design: leave out all-zero columns and, with
            // an intercept, one column of each one-hot group (they sum to 1 on every row).
            // Left-out columns get weight 0, which predicts exactly as the reduced model.
            let keep = full_rank_columns(x, onehot_groups, *fit_intercept);
            let reduced = x.select(Axis(1), &keep);
            let data = Dataset::new(reduced, Array1::from(v.to_vec()));
            let fitted = linfa_linear::LinearRegression::new()
                .with_intercept(*fit_intercept)
                .fit(&data)
                .map_err(|e| fail(&e))?;
            let mut weights = vec![0.0; x.ncols()];
            for (w, j) in fitted.params().iter().zip(&keep) {
                weights[*j] = *w;
            }
            Estimator::Linear {
                weights,
                intercept: fitted.intercept(),
            }
        }
        (
            Hyper::ElasticNet {
                penalty,
                l1_ratio,
                max_iterations,
                tolerance,
                fit_intercept,
            },
            Target::Values(v),
        ) => {
            let data = Dataset::new(x.clone(), Array1::from(v.to_vec()));
            let fitted = linfa_elasticnet::ElasticNet::params()
                .penalty(*penalty)
                .l1_ratio(*l1_ratio)
                .max_iterations(*max_iterations as u32)
                .tolerance(*tolerance)
                .with_intercept(*fit_intercept)
                .fit(&data)
                .map_err(|e| fail(&e))?;
            Estimator::Linear {
                weights: fitted.hyperplane().to_vec(),
                intercept: fitted.intercept(),
            }
        }
        (
            Hyper::Tree {
                max_depth,
                min_weight_split,
                min_weight_leaf,
                min_impurity_decrease,
                entropy,
            },
            Target::Classes { index, classes, .. },
        ) => {
            let nodes = super::tree::fit(
                x,
                index,
                *classes,
                &super::tree::TreeSettings {
                    max_depth: max_depth.map(|d| d as usize),
                    min_samples_split: *min_weight_split,
                    min_samples_leaf: *min_weight_leaf,
                    min_impurity_decrease: *min_impurity_decrease,
                    entropy: *entropy,
                },
            );
            Estimator::Tree { nodes }
        }
        (Hyper::GaussianNb { var_smoothing }, Target::Classes { index, .. }) => {
            let targets: Array1<usize> = index.iter().map(|c| *c as usize).collect();
            let data = Dataset::new(x.clone(), targets);
            let fitted = linfa_bayes::GaussianNb::params()
                .var_smoothing(*var_smoothing)
                .fit(&data)
                .map_err(|e| fail(&e))?;
            Estimator::GaussianNb {
                model: serde_json::to_value(&fitted).map_err(|e| fail(&e))?,
            }
        }
        (Hyper::Boosting(b), y) => {
            let weights = tree_class_weights(&b.class_weight, y, "gradient boosting")?;
            let labels = match y {
                Target::Classes { index, classes, .. } => super::boost::Labels::Classes {
                    index,
                    classes: *classes,
                    weights: &weights,
                },
                Target::Values(v) => super::boost::Labels::Values(v),
            };
            let mut settings = super::boost::config::settings(b, x.nrows());
            let outputs = match y {
                Target::Classes { classes, .. } if *classes > 2 => *classes,
                _ => 1,
            };
            let init = match warm {
                Some(Estimator::Ensemble(e)) if e.outputs() == outputs => {
                    warm_started = true;
                    settings.n_estimators = b.warm_start_estimators as usize;
                    Some(e)
                }
                _ => None,
            };
            let fit = super::boost::fit(x, &pre.levels(), &labels, &settings, init);
            iterations = Some(fit.rounds);
            Estimator::Ensemble(fit.ensemble)
        }
        (Hyper::Forest(f), y) => {
            let weights = tree_class_weights(&f.class_weight, y, "a random forest")?;
            let labels = match y {
                Target::Classes { index, classes, .. } => super::forest::Labels::Classes {
                    index,
                    classes: *classes,
                    weights: &weights,
                },
                Target::Values(v) => super::forest::Labels::Values(v),
            };
            let settings = super::forest::Settings {
                n_estimators: f.n_estimators as usize,
                max_depth: f.max_depth.map(|d| d as usize),
                max_leaves: f.max_leaves.map(|l| l as usize),
                min_samples_leaf: f.min_samples_leaf as usize,
                max_features: f.max_features.of(x.ncols()),
                bootstrap: f.bootstrap,
                max_bins: f.max_bins as usize,
                seed: f.seed,
            };
            Estimator::Ensemble(super::forest::fit(x, &pre.levels(), &labels, &settings))
        }
        _ => {
            return Err(FitError::Fit {
                algorithm,
                message: "does not fit this task".into(),
            })
        }
    };
    Ok(Fitted {
        estimator,
        duration_ms: crate::reproducible::elapsed_ms(started),
        warm_started,
        iterations,
    })
}

/// Columns of `x` that keep it full rank for least squares (see [`fit`]).
fn full_rank_columns(
    x: &Array2<f64>,
    onehot_groups: &[std::ops::Range<usize>],
    intercept: bool,
) -> Vec<usize> {
    let nonzero: Vec<bool> = x
        .columns()
        .into_iter()
        .map(|c| c.iter().any(|v| *v != 0.0))
        .collect();
    let mut drop = vec![false; x.ncols()];
    for (j, nz) in nonzero.iter().enumerate() {
        drop[j] = !nz;
    }
    if intercept {
        for g in onehot_groups {
            if let Some(first) = g.clone().find(|j| nonzero[*j]) {
                drop[first] = true;
            }
        }
    }
    (0..x.ncols()).filter(|j| !drop[*j]).collect()
}

/// Class weights of a tree model; two classes or more must be present.
fn tree_class_weights(
    cw: &crate::config::params::ClassWeight,
    y: &Target<'_>,
    what: &str,
) -> Result<Vec<f64>, FitError> {
    match y {
        Target::Classes {
            index,
            classes,
            names,
        } => {
            let present = count_classes(index, *classes);
            if present < 2 {
                return Err(FitError::NotEnoughData {
                    rows: index.len(),
                    classes: present,
                    needed: format!("{what} needs two classes or more"),
                });
            }
            Ok(super::boost::config::class_weights(cw, index, names)?)
        }
        Target::Values(_) => Ok(Vec::new()),
    }
}

/// The training target handed to [`fit`].
pub enum Target<'a> {
    Classes {
        index: &'a [u32],
        classes: usize,
        /// Class labels, `names[i]` for index `i`.
        names: &'a [String],
    },
    Values(&'a [f64]),
}

fn count_classes(index: &[u32], classes: usize) -> usize {
    let mut seen = vec![false; classes.max(1)];
    for c in index {
        if let Some(s) = seen.get_mut(*c as usize) {
            *s = true;
        }
    }
    seen.iter().filter(|s| **s).count()
}

use super::PredictError;

impl ModelArtifact {
    /// Predicts on a preprocessed design matrix.
    pub fn predict_matrix(&self, x: &Array2<f64>) -> Result<Predictions, PredictError> {
        let k = self.classes.len();
        Ok(match (&self.estimator, self.task) {
            (Estimator::Linear { weights, intercept }, Task::Regression) => Predictions::Values(
                x.rows()
                    .into_iter()
                    .map(|r| dot(r, weights) + intercept)
                    .collect(),
            ),
            (Estimator::Linear { weights, intercept }, Task::Classification) => {
                let mut p = Array2::<f64>::zeros((x.nrows(), 2));
                for (i, r) in x.rows().into_iter().enumerate() {
                    let p1 = sigmoid(dot(r, weights) + intercept);
                    p[[i, 0]] = 1.0 - p1;
                    p[[i, 1]] = p1;
                }
                Predictions::Classes(p)
            }
            (
                Estimator::Softmax {
                    weights,
                    intercepts,
                },
                _,
            ) => {
                let mut p = Array2::<f64>::zeros((x.nrows(), k));
                for (i, r) in x.rows().into_iter().enumerate() {
                    let z: Vec<f64> = weights
                        .iter()
                        .zip(intercepts)
                        .map(|(w, b)| dot(r, w) + b)
                        .collect();
                    let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let e: Vec<f64> = z.iter().map(|v| (v - m).exp()).collect();
                    let s: f64 = e.iter().sum();
                    for (j, v) in e.iter().enumerate() {
                        p[[i, j]] = v / s;
                    }
                }
                Predictions::Classes(p)
            }
            (Estimator::Tree { nodes }, Task::Classification) => {
                let mut p = Array2::<f64>::zeros((x.nrows(), k));
                for (i, r) in x.rows().into_iter().enumerate() {
                    if let TreeNode::Leaf { probabilities, .. } = &nodes[leaf_of(nodes, r)] {
                        for (j, v) in probabilities.iter().enumerate() {
                            p[[i, j]] = *v;
                        }
                    }
                }
                Predictions::Classes(p)
            }
            (Estimator::Tree { nodes }, Task::Regression) => Predictions::Values(
                x.rows()
                    .into_iter()
                    .map(|r| match &nodes[leaf_of(nodes, r)] {
                        TreeNode::Leaf { value, .. } => *value,
                        TreeNode::Split { .. } => f64::NAN,
                    })
                    .collect(),
            ),
            (Estimator::Ensemble(e), Task::Classification) => {
                Predictions::Classes(e.probabilities(x, k))
            }
            (Estimator::Ensemble(e), Task::Regression) => {
                Predictions::Values(e.raw(x).column(0).to_vec())
            }
            (Estimator::External { .. }, _) => return Err(PredictError::NeedsCommand),
            (Estimator::GaussianNb { model }, _) => {
                let nb: linfa_bayes::GaussianNb<f64, usize> =
                    serde_json::from_value(model.clone()).map_err(PredictError::NaiveBayes)?;
                let (proba, labels) = linfa_bayes::NaiveBayes::predict_proba(&nb, x.view());
                let mut p = Array2::<f64>::zeros((x.nrows(), k));
                for (col, label) in labels.iter().enumerate() {
                    if **label < k {
                        p.column_mut(**label)
                            .assign(&proba.index_axis(Axis(1), col));
                    }
                }
                Predictions::Classes(p)
            }
        })
    }
}

fn dot(r: ndarray::ArrayView1<f64>, w: &[f64]) -> f64 {
    r.iter().zip(w).map(|(a, b)| a * b).sum()
}
