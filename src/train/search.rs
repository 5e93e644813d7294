//! Parameter search (`training.search`, TFX's Tuner): each trial's params are fitted on
//! the training window without its newest slice and scored there on the primary metric;
//! the best trial's params then train the candidate on the whole window. The evaluation
//! holdout is never seen, so the champion/candidate comparison stays fair. Trials run one
//! after another, each fit on every core (the trainers are parallel inside, and one fit
//! at a time keeps memory at one model's); `timeout` stops starting new ones.

use std::time::Instant;

use serde::Serialize;

use super::model::ModelArtifact;
use super::TrainError;
use crate::config::{ModelConfig, Search, SearchMethod, SearchTrial};

/// `training.search` of the run JSON.
#[derive(Debug, Clone, Serialize)]
pub struct SearchReport {
    pub method: &'static str,
    /// Combinations the space holds.
    pub space: usize,
    pub metric: String,
    pub fit_rows: usize,
    pub validation_rows: usize,
    pub trials: Vec<TrialReport>,
    /// Why fewer trials ran than were drawn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrialReport {
    pub params: std::collections::BTreeMap<String, serde_json::Value>,
    /// On the validation slice; `None` when the fit failed or the metric is undefined.
    pub score: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub duration_ms: u64,
    pub chosen: bool,
}

/// Runs the trials on `rows` (the window, in time order); returns the report and the
/// best trial (`None` when no trial scored: the model's own params are used).
pub fn run<'s>(
    search: &'s Search,
    model: &ModelConfig,
    rows: &[usize],
    fit: impl Fn(&[usize], &SearchTrial) -> Result<ModelArtifact, TrainError>,
    score: impl Fn(&ModelArtifact, &[usize]) -> Option<f64>,
) -> (SearchReport, Option<&'s SearchTrial>) {
    let v = ((rows.len() as f64) * model.evaluation.holdout.fraction.get()).round() as usize;
    let v = v.clamp(1, rows.len().saturating_sub(1).max(1));
    let (fit_rows, validation) = rows.split_at(rows.len().saturating_sub(v));
    let primary = model.evaluation.primary;
    let started = Instant::now();
    let mut trials = Vec::with_capacity(search.trials.len());
    let mut best: Option<(usize, f64)> = None;
    let mut stopped = None;
    let mut progress = crate::progress::Progress::new("search", Some(search.trials.len() as u64));
    for (i, trial) in search.trials.iter().enumerate() {
        if let Some(limit) = search.timeout {
            if started.elapsed() >= limit {
                stopped = Some(format!(
                    "timeout: {} of {} trials ran within {} s",
                    i,
                    search.trials.len(),
                    limit.as_secs()
                ));
                break;
            }
        }
        progress.tick(i as u64, "trials");
        let t0 = Instant::now();
        let (s, error) = match fit(fit_rows, trial) {
            Ok(a) => (score(&a, validation), None),
            Err(e) => (None, Some(e.to_string())),
        };
        if let Some(s) = s {
            let better = best.is_none_or(|(_, b)| {
                if primary.higher_is_better() {
                    s > b
                } else {
                    s < b
                }
            });
            if better {
                best = Some((i, s));
            }
        }
        trials.push(TrialReport {
            params: trial.values.clone(),
            score: s,
            error,
            duration_ms: crate::reproducible::elapsed_ms(t0),
            chosen: false,
        });
    }
    if let Some((i, _)) = best {
        trials[i].chosen = true;
    }
    let report = SearchReport {
        method: match search.method {
            SearchMethod::Grid => "grid",
            SearchMethod::Random => "random",
        },
        space: search.space,
        metric: primary.name().to_string(),
        fit_rows: fit_rows.len(),
        validation_rows: validation.len(),
        trials,
        stopped,
    };
    (report, best.map(|(i, _)| &search.trials[i]))
}
