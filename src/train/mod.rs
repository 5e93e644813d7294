//! Training a candidate: data in memory ([`table`]), preprocessing that travels with
//! the model ([`preprocess`]), the built-in linfa trainers and the artifact format
//! ([`model`]), hyper-parameters ([`params`]), and windows. Pure with respect to the
//! outside world: reads data, writes nothing.

pub mod boost;
pub mod calibration;
pub mod external;
pub mod forest;
pub mod logistic;
pub mod metrics;
pub mod model;
pub mod onnx;
pub mod preprocess;
pub mod search;
pub mod table;
pub mod tree;
pub mod warm;

use std::time::Instant;

use chrono::{DateTime, Utc};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::config::{HoldoutKind, ModelConfig, Task, Window, WindowSize};
use metrics::{Prepared, Truth};
use model::{FitError, ModelArtifact, Predictions, TrainingFacts};
use preprocess::Preprocessor;
use table::{Table, Target};

/// Why a model could not score rows.
#[derive(Debug, thiserror::Error)]
pub enum PredictError {
    #[error("an external model predicts through its command")]
    NeedsCommand,
    #[error("gaussian_nb: the stored model does not load: {0}")]
    NaiveBayes(#[source] serde_json::Error),
    #[error(transparent)]
    Input(#[from] crate::train::preprocess::MissingFeature),
    #[error(transparent)]
    External(#[from] Box<crate::train::external::ExternalError>),
}

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Fit(#[from] FitError),
    #[error(transparent)]
    Predict(#[from] PredictError),
    #[error(transparent)]
    External(#[from] external::ExternalError),
    /// `training.warm_start: required` and the champion cannot be continued.
    #[error("training.warm_start is `required`, but the champion cannot be continued: {0}; set `warm_start: true` to train from scratch instead")]
    WarmStart(String),
}

/// What training reports (the `training` object of `retrain run --output json`).
#[derive(Debug, Clone, Serialize)]
pub struct TrainingReport {
    pub algorithm: String,
    pub window: String,
    pub rows: usize,
    pub duration_ms: u64,
    pub warm_start: bool,
    /// Why a requested warm start was a cold one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warm_start_note: Option<String>,
    /// Optimiser iterations (logistic regression), boosting rounds (gradient boosting).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iterations: Option<usize>,
    /// Input columns used.
    pub features: Vec<String>,
    /// Columns left out, with why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
    /// Dynamic windows: every candidate window with its score on the validation slice.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub windows: Vec<WindowScore>,
    /// `training.search`: every trial with its validation score, and which was chosen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search: Option<search::SearchReport>,
    /// The ONNX export (`model.onnx`), or why there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub onnx: Option<OnnxReport>,
    /// `evaluation.refit`: the proposed model was trained again on the whole window
    /// after the gate (its rows and time); `rows` above are those of the evaluated fit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refit: Option<RefitReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RefitReport {
    pub rows: usize,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct WindowScore {
    pub window: String,
    pub rows: usize,
    pub metric: String,
    pub score: Option<f64>,
    pub chosen: bool,
}

/// A trained candidate and its serialised artifact.
pub struct Candidate {
    pub artifact: ModelArtifact,
    pub bytes: Vec<u8>,
    /// `blake3:<hex>` of `bytes`.
    pub digest: String,
    /// `model.onnx` ([`onnx`]), when the trainer can be exported.
    pub onnx: Option<Onnx>,
    pub report: TrainingReport,
}

/// The hyper-parameters a fit uses: the model's, or a search trial's.
#[derive(Clone, Copy)]
struct Choice<'a> {
    hyper: Option<&'a crate::config::params::Hyper>,
    max_categories: usize,
    params: &'a std::collections::BTreeMap<String, serde_json::Value>,
}

impl Candidate {
    /// The candidate with `calibration` recorded in its artifact: serialised and digested
    /// again (the ONNX model does not carry it: predictions are the raw scores).
    pub fn with_calibration(mut self, calibration: model::CalibrationRecord) -> Candidate {
        self.artifact.calibration = Some(calibration);
        let mut bytes = serde_json::to_vec_pretty(&self.artifact).expect("artifact serialises");
        bytes.push(b'\n');
        self.digest = format!("blake3:{}", blake3::hash(&bytes).to_hex());
        self.bytes = bytes;
        self
    }
}

/// The calibration of a binary classifier's scores `preds` against the holdout's
/// outcomes `truth` (CBPE); `None` for regressions and more than two classes.
pub fn calibrate(truth: &TruthOwned, preds: &Predictions) -> Option<model::CalibrationRecord> {
    let (TruthOwned::Classes { index, classes: 2 }, Predictions::Classes(p)) = (truth, preds)
    else {
        return None;
    };
    if p.ncols() != 2 {
        return None;
    }
    let scores: Vec<f64> = p.column(1).to_vec();
    let outcomes: Vec<f64> = index.iter().map(|c| f64::from(u8::from(*c == 1))).collect();
    Some(match calibration::Calibration::fit(&scores, &outcomes) {
        Ok(c) => model::CalibrationRecord::Fitted(c),
        Err(reason) => model::CalibrationRecord::Unavailable { reason },
    })
}

/// The candidate as an ONNX model.
pub struct Onnx {
    pub bytes: Vec<u8>,
    /// `blake3:<hex>` of `bytes`.
    pub digest: String,
}

/// `training.onnx` of the run JSON: the ONNX export, or why there is none.
#[derive(Debug, Clone, Serialize)]
pub struct OnnxReport {
    pub exported: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why_not: Option<String>,
}

/// Exports `artifact` to ONNX (see [`onnx`]).
pub fn onnx_of(artifact: &ModelArtifact) -> (Option<Onnx>, OnnxReport) {
    match onnx::export(artifact) {
        Ok(bytes) => {
            let report = OnnxReport {
                exported: true,
                bytes: Some(bytes.len()),
                why_not: None,
            };
            let digest = format!("blake3:{}", blake3::hash(&bytes).to_hex());
            (Some(Onnx { bytes, digest }), report)
        }
        Err(e) => (
            None,
            OnnxReport {
                exported: false,
                bytes: None,
                why_not: Some(e.to_string()),
            },
        ),
    }
}

/// Rows for training (`pool`, oldest first) and the evaluation holdout.
#[derive(Debug, Clone)]
pub struct Split {
    pub pool: Vec<usize>,
    pub holdout: Vec<usize>,
}

/// The evaluation holdout is drawn from the rows the training window reaches (all rows
/// for `window: all`; the widest candidate of a dynamic window), so a candidate trained on
/// "the last 12 weeks" is trained on those weeks' older part and judged on their newest,
/// never on data from before its window. `time`: the newest `fraction` of those rows by
/// time (row order without a time column); `random`: a seeded sample of them. The pool
/// stays in time order.
pub fn split(model: &ModelConfig, table: &Table) -> Split {
    split_rows(model, table, &table.time_order())
}

/// [`split`] over `order` (rows in time order): the rows known at some point in time,
/// as the backtest replays them.
pub fn split_rows(model: &ModelConfig, table: &Table, order: &[usize]) -> Split {
    let scope = reach_of(model, table, order);
    let n = scope.len();
    let h = ((n as f64) * model.evaluation.holdout.fraction.get()).round() as usize;
    let h = h.clamp(usize::from(n > 1), n.saturating_sub(1));
    match model.evaluation.holdout.kind {
        HoldoutKind::Time => Split {
            pool: scope[..n - h].to_vec(),
            holdout: scope[n - h..].to_vec(),
        },
        HoldoutKind::Random => {
            let mut shuffled = scope.to_vec();
            let mut rng = ChaCha8Rng::seed_from_u64(model.evaluation.holdout.seed);
            shuffled.shuffle(&mut rng);
            let mut holdout: Vec<usize> = shuffled[..h].to_vec();
            holdout.sort_unstable();
            let set: std::collections::HashSet<usize> = holdout.iter().copied().collect();
            Split {
                pool: scope.iter().copied().filter(|r| !set.contains(r)).collect(),
                holdout,
            }
        }
    }
}

/// The newest rows of `order` (rows in time order) the model's window reaches: the window
/// itself, or the widest candidate of a dynamic one (windows are suffixes of `order`, so
/// the widest holds them all). The holdout is drawn from them, and `evaluation.refit`
/// trains the blessed candidate on all of them.
pub fn reach_of<'o>(model: &ModelConfig, table: &Table, order: &'o [usize]) -> &'o [usize] {
    let len = |size: WindowSize| window_rows(table, order, size).len();
    let rows = match &model.training.window {
        Window::All => order.len(),
        Window::Fixed(size) | Window::SinceChange(size) => len(*size),
        Window::Dynamic(candidates) => candidates.iter().map(|c| len(*c)).max().unwrap_or(0),
    };
    &order[order.len() - rows..]
}

/// The rows of `pool` (time-ordered) inside a window.
pub fn window_rows(table: &Table, pool: &[usize], size: WindowSize) -> Vec<usize> {
    match size {
        WindowSize::All => pool.to_vec(),
        WindowSize::Rows(n) => pool[pool.len().saturating_sub(n as usize)..].to_vec(),
        WindowSize::Span(d) => match (&table.time, pool.last()) {
            (Some(t), Some(last)) => {
                let from = t[*last] - d.as_secs() as f64 * 1000.0;
                pool.iter().copied().filter(|r| t[*r] > from).collect()
            }
            _ => pool.to_vec(),
        },
    }
}

/// Trains a candidate on `pool` with the model's window policy.
pub fn train(
    repo: &std::path::Path,
    model: &ModelConfig,
    table: &Table,
    pool: &[usize],
    snapshot: &str,
    champion: Option<&ModelArtifact>,
    now: DateTime<Utc>,
) -> Result<Candidate, TrainError> {
    let started = Instant::now();
    // An external trainer's params are its own business: they are passed through as JSON.
    // validated with the config (`config::params`)
    let default_choice = Choice {
        hyper: model.training.hyper.as_ref(),
        max_categories: model.training.max_categories,
        params: &model.training.params,
    };
    let warm::Warm {
        champion: warm,
        note: warm_note,
    } = warm::choose(model, table, champion)?;
    let fit_with = |rows: &[usize],
                    choice: &Choice<'_>|
     -> Result<(ModelArtifact, bool, Option<usize>), TrainError> {
        let max_categories = choice.max_categories;
        // Preprocessing is always fitted on the window; a warm start carries the
        // champion's linear function over into it (see `translate_linear`).
        let pre = if let Some(c) =
            warm.filter(|c| matches!(c.estimator, model::Estimator::Ensemble(_)))
        {
            // continued trees index the champion's columns and categories
            c.preprocessing.clone()
        } else if model::native_inputs(model.training.algorithm) {
            Preprocessor::fit_native(&table.features, rows, max_categories)
        } else {
            Preprocessor::fit(&table.features, rows, max_categories)
        };
        let warm_estimator = warm.and_then(|c| match &c.estimator {
            model::Estimator::Linear { weights, intercept } => {
                let (weights, intercept) =
                    c.preprocessing.translate_linear(&pre, weights, *intercept);
                Some(model::Estimator::Linear { weights, intercept })
            }
            model::Estimator::Softmax {
                weights,
                intercepts,
            } => {
                let (weights, intercepts) = weights
                    .iter()
                    .zip(intercepts)
                    .map(|(w, b)| c.preprocessing.translate_linear(&pre, w, *b))
                    .unzip();
                Some(model::Estimator::Softmax {
                    weights,
                    intercepts,
                })
            }
            model::Estimator::Ensemble(_) => Some(c.estimator.clone()),
            _ => None,
        });
        let fitted = if let Some(cmd) = &model.training.command {
            let started = Instant::now();
            let files = external::train(
                cmd,
                repo,
                table,
                rows,
                &model.target,
                model.task,
                &model.training.params,
            )?;
            model::Fitted {
                estimator: model::Estimator::External {
                    predict: cmd.predict.clone(),
                    timeout_seconds: cmd.timeout.map(|t| t.as_secs()),
                    files,
                },
                duration_ms: crate::reproducible::elapsed_ms(started),
                warm_started: false,
                iterations: None,
            }
        } else {
            let x = pre
                .transform(&table.features, rows)
                .map_err(PredictError::from)?;
            let target = match &table.target {
                Target::Classes { index, classes } => (
                    Some(rows.iter().map(|r| index[*r]).collect::<Vec<u32>>()),
                    None,
                    classes.len(),
                ),
                Target::Values(v) => (
                    None,
                    Some(rows.iter().map(|r| v[*r]).collect::<Vec<f64>>()),
                    0,
                ),
            };
            let names = classes_of(table);
            let y = match &target {
                (Some(index), _, classes) => model::Target::Classes {
                    index,
                    classes: *classes,
                    names: &names,
                },
                (_, Some(values), _) => model::Target::Values(values),
                _ => unreachable!("one of the two"),
            };
            model::fit(
                model.training.algorithm,
                choice.hyper.expect("parsed for built-in trainers"),
                &x,
                &y,
                warm_estimator.as_ref(),
                &pre,
            )?
        };
        let mut estimator = fitted.estimator;
        if let (Some(c), true, model::Estimator::Ensemble(e)) =
            (warm, fitted.warm_started, &mut estimator)
        {
            e.origins = warm::origins(c, snapshot, e.trees.len());
        }
        let artifact = ModelArtifact {
            format: model::FORMAT,
            algorithm: model.training.algorithm,
            task: model.task,
            params: choice.params.clone(),
            features: table.features.iter().map(|f| f.name.clone()).collect(),
            classes: classes_of(table),
            preprocessing: pre,
            estimator,
            training: TrainingFacts {
                snapshot: snapshot.to_string(),
                rows: rows.len(),
                window: String::new(),
                trained_at: now,
                duration_ms: fitted.duration_ms,
                warm_start: fitted.warm_started,
                retrain_version: env!("CARGO_PKG_VERSION").to_string(),
            },
            calibration: None,
        };
        Ok((artifact, fitted.warm_started, fitted.iterations))
    };
    let fit_rows = |rows: &[usize]| fit_with(rows, &default_choice);

    let mut windows = Vec::new();
    let chosen: WindowSize = match &model.training.window {
        Window::All => WindowSize::All,
        Window::Fixed(w) | Window::SinceChange(w) => *w,
        Window::Dynamic(candidates) => {
            // Choose on the newest slice of the pool; the evaluation holdout stays unseen.
            let v =
                ((pool.len() as f64) * model.evaluation.holdout.fraction.get()).round() as usize;
            let v = v.clamp(1, pool.len().saturating_sub(1).max(1));
            let (fit_pool, validation) = pool.split_at(pool.len() - v);
            let primary = model.evaluation.primary;
            let mut best: Option<(usize, f64)> = None;
            for (i, w) in candidates.iter().enumerate() {
                let rows = window_rows(table, fit_pool, *w);
                let score = fit_rows(&rows).ok().and_then(|(a, _, _)| {
                    let preds = a.predict_table(repo, table, validation).ok()?;
                    score_rows(table, validation, &preds, primary)
                });
                if let Some(s) = score {
                    if best.is_none_or(|(_, b)| primary.better(s, b)) {
                        best = Some((i, s));
                    }
                }
                windows.push(WindowScore {
                    window: w.to_string(),
                    rows: rows.len(),
                    metric: primary.name().to_string(),
                    score,
                    chosen: false,
                });
            }
            let i = best.map(|b| b.0).unwrap_or(0);
            windows[i].chosen = true;
            candidates[i]
        }
    };
    let rows = window_rows(table, pool, chosen);
    let (search_report, choice) = match &model.training.search {
        None => (None, default_choice),
        Some(search) => {
            // one fit's encoded design matrix, gradients and work space: 16 bytes a cell
            let bytes_per_fit = (rows.len() * (table.features.len() + 2) * 16) as u64;
            let (report, best) = search::run(
                search,
                model,
                &rows,
                bytes_per_fit,
                |fit, trial| {
                    let choice = Choice {
                        hyper: Some(&trial.hyper),
                        max_categories: trial.max_categories,
                        params: &trial.params,
                    };
                    fit_with(fit, &choice).map(|(a, _, _)| a)
                },
                |a, validation| {
                    let preds = a.predict_table(repo, table, validation).ok()?;
                    score_rows(table, validation, &preds, model.evaluation.primary)
                },
            );
            let choice = match best {
                Some(t) => Choice {
                    hyper: Some(&t.hyper),
                    max_categories: t.max_categories,
                    params: &t.params,
                },
                None => default_choice,
            };
            (Some(report), choice)
        }
    };
    let (mut artifact, warm_started, iterations) = fit_with(&rows, &choice)?;
    artifact.training.window = chosen.to_string();
    let mut bytes = serde_json::to_vec_pretty(&artifact).expect("artifact serialises");
    bytes.push(b'\n');
    let digest = format!("blake3:{}", blake3::hash(&bytes).to_hex());
    let (onnx, onnx_report) = if model.training.command.is_some() {
        (None, None)
    } else {
        let (o, r) = onnx_of(&artifact);
        (o, Some(r))
    };
    let report = TrainingReport {
        search: search_report,
        onnx: onnx_report,
        algorithm: model::algorithm_name(model.training.algorithm).to_string(),
        window: chosen.to_string(),
        rows: rows.len(),
        duration_ms: crate::reproducible::elapsed_ms(started),
        warm_start: warm_started,
        warm_start_note: warm_note,
        iterations,
        features: artifact
            .preprocessing
            .steps
            .iter()
            .map(|s| s.column().to_string())
            .collect(),
        skipped: table.skipped.clone(),
        windows,
        refit: None,
    };
    Ok(Candidate {
        artifact,
        bytes,
        digest,
        onnx,
        report,
    })
}

pub(crate) fn classes_of(table: &Table) -> Vec<String> {
    match &table.target {
        Target::Classes { classes, .. } => classes.clone(),
        Target::Values(_) => Vec::new(),
    }
}

/// The truth of `rows` in `table`.
pub fn truth_of(table: &Table, rows: &[usize]) -> TruthOwned {
    match &table.target {
        Target::Classes { index, classes } => TruthOwned::Classes {
            index: rows.iter().map(|r| index[*r]).collect(),
            classes: classes.len(),
        },
        Target::Values(v) => TruthOwned::Values(rows.iter().map(|r| v[*r]).collect()),
    }
}

/// Owned truth of a set of rows; borrow it as [`Truth`] with [`TruthOwned::view`].
pub enum TruthOwned {
    Classes { index: Vec<u32>, classes: usize },
    Values(Vec<f64>),
}

impl TruthOwned {
    pub fn view(&self) -> Truth<'_> {
        match self {
            TruthOwned::Classes { index, classes } => Truth::Classes {
                index,
                classes: *classes,
            },
            TruthOwned::Values(v) => Truth::Values(v),
        }
    }
}

pub(crate) fn score_rows(
    table: &Table,
    rows: &[usize],
    preds: &Predictions,
    metric: crate::config::Metric,
) -> Option<f64> {
    let truth = truth_of(table, rows);
    Prepared::new(truth.view(), preds).metric(metric, None)
}

impl ModelArtifact {
    /// Predicts `rows` of `table`; class probabilities come in `table`'s class order.
    /// `repo` is where external predict commands run.
    pub fn predict_table(
        &self,
        repo: &std::path::Path,
        table: &Table,
        rows: &[usize],
    ) -> Result<Predictions, PredictError> {
        let preds = match &self.estimator {
            model::Estimator::External {
                predict,
                timeout_seconds,
                files,
            } => external::predict(
                predict,
                files,
                repo,
                table,
                rows,
                &self.classes,
                timeout_seconds.map(std::time::Duration::from_secs),
            )
            .map_err(Box::new)?,
            _ => {
                let x = self.preprocessing.transform(&table.features, rows)?;
                self.predict_matrix(&x)?
            }
        };
        match (preds, &table.target) {
            (Predictions::Classes(p), Target::Classes { classes, .. })
                if self.task == Task::Classification =>
            {
                if *classes == self.classes {
                    return Ok(Predictions::Classes(p));
                }
                let mut out = ndarray::Array2::<f64>::zeros((p.nrows(), classes.len()));
                for (j, c) in self.classes.iter().enumerate() {
                    if let Some(k) = classes.iter().position(|t| t == c) {
                        out.column_mut(k).assign(&p.column(j));
                    }
                }
                Ok(Predictions::Classes(out))
            }
            (p, _) => Ok(p),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(window: &str, holdout: &str) -> (ModelConfig, Table) {
        let text = format!(
            "version: 1\nmodels:\n  - name: m\n    task: regression\n    target: y\n    data: {{ path: d.csv }}\n    training: {{ algorithm: linear_regression, window: {window} }}\n    evaluation: {{ holdout: {holdout} }}\n"
        );
        let config = crate::config::parse(std::path::Path::new("retrain.yaml"), &text).unwrap();
        let table = Table {
            features: Vec::new(),
            target: Target::Values((0..100).map(f64::from).collect()),
            time: None,
            skipped: Vec::new(),
        };
        (config.models[0].clone(), table)
    }

    #[test]
    fn the_holdout_is_the_newest_part_of_the_window() {
        let (model, table) = setup(
            "{ kind: fixed, last: 40 }",
            "{ kind: time, fraction: 0.25 }",
        );
        let s = split(&model, &table);
        assert_eq!(s.pool, (60..90).collect::<Vec<_>>());
        assert_eq!(s.holdout, (90..100).collect::<Vec<_>>());
        // The rows known earlier (a backtest's view): the same rule on the prefix.
        let order: Vec<usize> = (0..50).collect();
        let s = split_rows(&model, &table, &order);
        assert_eq!(s.pool, (10..40).collect::<Vec<_>>());
        assert_eq!(s.holdout, (40..50).collect::<Vec<_>>());
    }

    #[test]
    fn random_holdouts_and_dynamic_windows_stay_inside_the_widest_window() {
        let (model, table) = setup(
            "{ kind: dynamic, candidates: [10, 30] }",
            "{ kind: random, fraction: 0.5, seed: 7 }",
        );
        let s = split(&model, &table);
        assert_eq!(s.pool.len(), 15);
        assert_eq!(s.holdout.len(), 15);
        assert!(s.pool.iter().chain(&s.holdout).all(|r| *r >= 70));
        assert!(
            s.pool.windows(2).all(|w| w[0] < w[1]),
            "pool stays in time order"
        );
        let (all, table) = setup("{ kind: all }", "{ kind: time, fraction: 0.2 }");
        let s = split(&all, &table);
        assert_eq!((s.pool.len(), s.holdout[0]), (80, 80));
    }
}
