//! Parameter search (`training.search`, TFX's Tuner): each trial's params are fitted on
//! the training window without its newest slice and scored there on the primary metric;
//! the best trial's params then train the candidate on the whole window. The evaluation
//! holdout is never seen, so the champion/candidate comparison stays fair. Trials run in
//! batches of one per core ([`concurrency`]; fewer when that many fits would not fit in
//! half of the memory available), each fit still parallel inside (rayon steals work
//! across both levels); `timeout` stops starting new batches. Scores and the choice do
//! not depend on how many ran at once: every trainer is deterministic for its seed on
//! any thread count, and ties go to the earlier trial.

use std::time::Instant;

use rayon::prelude::*;
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
/// `bytes_per_fit` is what one fit holds beside the table (for [`concurrency`]).
pub fn run<'s>(
    search: &'s Search,
    model: &ModelConfig,
    rows: &[usize],
    bytes_per_fit: u64,
    fit: impl Fn(&[usize], &SearchTrial) -> Result<ModelArtifact, TrainError> + Sync,
    score: impl Fn(&ModelArtifact, &[usize]) -> Option<f64> + Sync,
) -> (SearchReport, Option<&'s SearchTrial>) {
    let v = ((rows.len() as f64) * model.evaluation.holdout.fraction.get()).round() as usize;
    let v = v.clamp(1, rows.len().saturating_sub(1).max(1));
    let (fit_rows, validation) = rows.split_at(rows.len().saturating_sub(v));
    let primary = model.evaluation.primary;
    let started = Instant::now();
    let mut trials = Vec::with_capacity(search.trials.len());
    let mut stopped = None;
    let mut progress = crate::progress::Progress::new("search", Some(search.trials.len() as u64));
    let at_once = concurrency(search.trials.len(), bytes_per_fit);
    for batch in search.trials.chunks(at_once) {
        if let Some(limit) = search.timeout {
            if started.elapsed() >= limit {
                stopped = Some(format!(
                    "timeout: {} of {} trials ran within {} s",
                    trials.len(),
                    search.trials.len(),
                    limit.as_secs()
                ));
                break;
            }
        }
        progress.tick(trials.len() as u64, "trials");
        let done: Vec<TrialReport> = batch
            .par_iter()
            .map(|trial| {
                let t0 = Instant::now();
                let (score, error) = match fit(fit_rows, trial) {
                    Ok(a) => (score(&a, validation), None),
                    Err(e) => (None, Some(e.to_string())),
                };
                TrialReport {
                    params: trial.values.clone(),
                    score,
                    error,
                    duration_ms: crate::reproducible::elapsed_ms(t0),
                    chosen: false,
                }
            })
            .collect();
        trials.extend(done);
    }
    let mut best: Option<(usize, f64)> = None;
    for (i, s) in trials.iter().enumerate() {
        let Some(s) = s.score else { continue };
        if best.is_none_or(|(_, b)| primary.better(s, b)) {
            best = Some((i, s));
        }
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

/// How many trials run at once: one per thread of rayon's pool (the cores, or
/// `RAYON_NUM_THREADS`), fewer when that many fits
/// (`bytes_per_fit` each) would pass half of the memory the system has available
/// (`MemAvailable`; one at a time where it cannot be read).
fn concurrency(trials: usize, bytes_per_fit: u64) -> usize {
    let cores = rayon::current_num_threads();
    let by_memory = available_memory().map_or(1, |m| (m / 2 / bytes_per_fit.max(1)) as usize);
    cores.min(by_memory).min(trials).max(1)
}

/// `MemAvailable` of `/proc/meminfo`, in bytes.
fn available_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrency_is_bounded_by_cores_memory_and_trials() {
        let cores = rayon::current_num_threads();
        assert_eq!(concurrency(1, 1), 1);
        assert_eq!(concurrency(1000, 1), cores);
        // a fit bigger than any machine's memory: one at a time
        assert_eq!(concurrency(1000, u64::MAX), 1);
        assert!(available_memory().is_some_and(|m| m > 0));
    }
}
