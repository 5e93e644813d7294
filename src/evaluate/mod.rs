//! Evaluation: champion and candidate scored on the same holdout, paired bootstrap
//! intervals, the gate (TFX "blessing" semantics, [`gate`]) and the infra check
//! ([`infra`]). Pure: takes predictions, returns reports.

pub mod gate;
pub mod infra;
pub use crate::train::metrics;

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

use crate::config::{IntervalConfig, IntervalMethod, Metric};
use crate::train::model::Predictions;
use metrics::{Prepared, Truth};

/// A confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct MetricComparison {
    pub metric: Metric,
    pub higher_is_better: bool,
    pub champion: Option<f64>,
    pub candidate: Option<f64>,
    /// candidate - champion.
    pub diff: Option<f64>,
    pub candidate_interval: Option<Interval>,
    pub champion_interval: Option<Interval>,
    /// Paired bootstrap interval of candidate - champion.
    pub diff_interval: Option<Interval>,
    /// The diff interval excludes 0.
    pub significant: Option<bool>,
}

/// The `evaluation` object: metric maps keyed by metric name.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    pub holdout_rows: usize,
    pub primary: Metric,
    /// The champion's metrics on the holdout; `null` without a champion.
    pub champion: Option<BTreeMap<String, f64>>,
    pub candidate: BTreeMap<String, f64>,
    /// candidate - champion.
    pub diff: Option<BTreeMap<String, f64>>,
    pub intervals: BTreeMap<String, MetricIntervals>,
    /// Why the champion could not be scored, if it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub champion_error: Option<String>,
    /// Confusion matrix of the candidate (`[true][predicted]`), classification only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confusion: Option<Vec<Vec<u64>>>,
    pub resamples: u32,
    pub confidence: f64,
    /// Metrics per slice value: slice column -> value -> metrics of both models.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub slices: BTreeMap<String, BTreeMap<String, SliceMetrics>>,
    #[serde(skip)]
    pub metrics: Vec<MetricComparison>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MetricIntervals {
    pub candidate: Option<Interval>,
    pub champion: Option<Interval>,
    pub diff: Option<Interval>,
    /// The diff interval excludes 0.
    pub significant: Option<bool>,
}

impl Evaluation {
    pub fn new(
        holdout_rows: usize,
        primary: Metric,
        metrics: Vec<MetricComparison>,
        has_champion: bool,
        intervals: &IntervalConfig,
    ) -> Self {
        let map = |f: &dyn Fn(&MetricComparison) -> Option<f64>| -> BTreeMap<String, f64> {
            metrics
                .iter()
                .filter_map(|m| f(m).map(|v| (m.metric.name().to_string(), v)))
                .collect()
        };
        Self {
            holdout_rows,
            primary,
            champion: has_champion.then(|| map(&|m| m.champion)),
            candidate: map(&|m| m.candidate),
            diff: has_champion.then(|| map(&|m| m.diff)),
            intervals: metrics
                .iter()
                .map(|m| {
                    (
                        m.metric.name().to_string(),
                        MetricIntervals {
                            candidate: m.candidate_interval,
                            champion: m.champion_interval,
                            diff: m.diff_interval,
                            significant: m.significant,
                        },
                    )
                })
                .collect(),
            champion_error: None,
            confusion: None,
            resamples: if intervals.method == IntervalMethod::Bootstrap {
                intervals.resamples
            } else {
                0
            },
            confidence: intervals.confidence.get(),
            slices: BTreeMap::new(),
            metrics,
        }
    }

    pub fn get(&self, metric: Metric) -> Option<&MetricComparison> {
        self.metrics.iter().find(|m| m.metric == metric)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SliceMetrics {
    pub rows: usize,
    pub champion: BTreeMap<String, f64>,
    pub candidate: BTreeMap<String, f64>,
}

/// Scores both models on the same holdout and bootstraps the difference.
pub fn compare(
    truth: Truth,
    candidate: &Predictions,
    champion: Option<&Predictions>,
    metrics: &[Metric],
    intervals: &IntervalConfig,
    seed: u64,
) -> Vec<MetricComparison> {
    let cand = Prepared::new(truth, candidate);
    let champ = champion.map(|p| Prepared::new(truth, p));
    let n = match truth {
        Truth::Classes { index, .. } => index.len(),
        Truth::Values(v) => v.len(),
    };
    let resamples = if intervals.method == IntervalMethod::Bootstrap && n > 1 {
        intervals.resamples
    } else {
        0
    };
    // Each resample: (candidate, champion) per metric.
    let draws: Vec<Vec<Pair>> = (0..resamples)
        .into_par_iter()
        .map(|b| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(b as u64 + 1);
            let mut w = vec![0u32; n];
            for _ in 0..n {
                w[rng.gen_range(0..n)] += 1;
            }
            metrics
                .iter()
                .map(|m| {
                    (
                        cand.metric(*m, Some(&w)),
                        champ.as_ref().and_then(|c| c.metric(*m, Some(&w))),
                    )
                })
                .collect()
        })
        .collect();
    let conf = intervals.confidence.get();
    metrics
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let c = cand.metric(*m, None);
            let h = champ.as_ref().and_then(|p| p.metric(*m, None));
            let pick = |f: &dyn Fn(&Pair) -> Option<f64>| {
                let v: Vec<f64> = draws.iter().filter_map(|d| f(&d[i])).collect();
                percentile_interval(v, conf)
            };
            let diff_interval = if champ.is_some() {
                pick(&|d| Some(d.0? - d.1?))
            } else {
                None
            };
            MetricComparison {
                metric: *m,
                higher_is_better: m.higher_is_better(),
                champion: h,
                candidate: c,
                diff: c.zip(h).map(|(c, h)| c - h),
                candidate_interval: pick(&|d| d.0),
                champion_interval: if champ.is_some() {
                    pick(&|d| d.1)
                } else {
                    None
                },
                significant: diff_interval.map(|iv| iv.low > 0.0 || iv.high < 0.0),
                diff_interval,
            }
        })
        .collect()
}

/// A resample's (candidate, champion) value of one metric.
type Pair = (Option<f64>, Option<f64>);

fn percentile_interval(mut v: Vec<f64>, confidence: f64) -> Option<Interval> {
    if v.len() < 2 {
        return None;
    }
    v.sort_unstable_by(f64::total_cmp);
    let alpha = (1.0 - confidence) / 2.0;
    let at = |q: f64| {
        let pos = q * (v.len() - 1) as f64;
        let lo = pos.floor() as usize;
        let hi = pos.ceil() as usize;
        v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
    };
    Some(Interval {
        low: at(alpha),
        high: at(1.0 - alpha),
    })
}
