//! The walk-forward: for each policy, score the deployed model on each period before
//! learning from it (test-then-train), then decide with what was known at that time and
//! retrain when the policy says so.
//!
//! Work shared between policies lives in [`Shared`]: the period data, reference
//! profiles per training window, drift reports, trained models (keyed by algorithm,
//! params, window rows and warm-start source) and scores (model × period × metric).
//! Policies run in parallel; a model that two policies need is fitted once (the second
//! waits for the first).

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use chrono::{DateTime, TimeZone, Utc};

use super::periods::{current_columns, empty_drift, merge_current, reference_manifest};
use super::policy::Policy;
use crate::checks::current::CurrentData;
use crate::checks::detect::DetectorReport;
use crate::checks::drift::ColumnDrift;
use crate::checks::drift::CurrentColumn;
use crate::checks::prediction::Outputs;
use crate::checks::DriftReport;
use crate::config::{Duration, Metric, ModelConfig, Rule, Triggers, Window, WindowSize};
use crate::decision::{self, DecisionInput, PerformanceObservation};
use crate::evaluate::metrics::Prepared;
use crate::snapshot::Manifest;
use crate::train::model::ModelArtifact;
use crate::train::table::Table;

mod estimate;
mod shadow;

/// The model's history cut into periods (row positions in time order).
pub struct History {
    pub table: Table,
    /// Position -> row of `table`.
    pub order: Vec<usize>,
    pub periods: Vec<Range<usize>>,
    pub labels: Vec<String>,
    /// What a period stands for in time (schedules, cooldowns).
    pub length: Duration,
}

/// The settings of one replay.
pub struct Setup<'a> {
    pub repo: &'a Path,
    pub model: &'a ModelConfig,
    pub snapshot: &'a str,
    pub metric: Metric,
    pub warmup: usize,
    pub label_delay: usize,
}

/// What one policy did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The metric on each scored period (NaN when undefined).
    pub metrics: Vec<f64>,
    /// Periods (index into the history) from which a retrained model served.
    pub retrain_periods: Vec<usize>,
    /// Candidates trained after the first model: the deployed ones and those the gate
    /// turned down.
    pub trainings: usize,
    pub train_seconds: f64,
    /// Retrains the policy wanted that failed to fit (the old model stayed).
    pub failed_fits: Vec<String>,
}

struct Fit {
    id: u64,
    artifact: ModelArtifact,
    seconds: f64,
    /// Positions its window reached: the rows it was trained on and its holdout.
    rows: Range<usize>,
    /// Rows (of the table) of its evaluation holdout, the newest part of its window.
    holdout: Vec<usize>,
}

type Slot<T> = Arc<OnceLock<Result<Arc<T>, FitFailed>>>;

/// A model to deploy, and the candidate whose holdout calibrates it (when one was read).
type Deployed = (Arc<Fit>, Option<Arc<Fit>>);

/// A model that could not be trained, shared by every policy that asked for it.
#[derive(Debug, Clone, thiserror::Error)]
#[error(transparent)]
pub struct FitFailed(Arc<crate::train::TrainError>);

/// A policy that could not be replayed: its first model could not be trained.
#[derive(Debug, Clone, thiserror::Error)]
#[error("policy `{policy}`: the first model: {source}")]
pub struct ReplayError {
    pub policy: String,
    pub source: FitFailed,
}

/// Each row's error in one period, under one fit.
type Errors = Arc<Vec<f64>>;

/// A fit and a period of its outputs (`None`: its training rows).
type OutputsKey = (u64, Option<usize>);

/// Work shared by every policy of one replay.
pub struct Shared<'a> {
    setup: Setup<'a>,
    history: &'a History,
    /// Per period, per feature: the period's values (sorted finite values or counts).
    period_columns: Vec<BTreeMap<String, CurrentColumn>>,
    fits: Mutex<HashMap<String, Slot<Fit>>>,
    scores: Mutex<HashMap<(u64, usize, Metric), Option<f64>>>,
    /// Per fit and period: each row's error (for change detectors).
    errors: Mutex<HashMap<(u64, usize), Errors>>,
    /// Per fit and period (`None`: its training rows): its outputs (prediction drift).
    outputs: Mutex<HashMap<OutputsKey, Arc<Outputs>>>,
    /// Per candidate (with a holdout) and metric: what a run would record (CBPE).
    calibrations: Mutex<HashMap<(u64, Metric), estimate::HeldOut>>,
    /// Per fit and period: its class scores (CBPE).
    class_scores: Mutex<HashMap<(u64, usize), estimate::ClassScores>>,
    /// (candidate, deployed model, gates) -> the candidate passed.
    verdicts: Mutex<HashMap<(u64, u64, String), bool>>,
    references: Mutex<HashMap<(usize, usize), Slot<Manifest>>>,
    currents: Mutex<HashMap<(usize, usize), Slot<CurrentData>>>,
    drifts: Mutex<HashMap<String, Slot<DriftReport>>>,
    next_id: AtomicU64,
    pub stats: Stats,
}

/// How much work was shared.
#[derive(Debug, Default)]
pub struct Stats {
    pub fits: AtomicUsize,
    pub fits_reused: AtomicUsize,
    pub drift_reports: AtomicUsize,
    pub drift_reused: AtomicUsize,
}

/// `map[key]`, made by `make` (outside the lock) the first time it is asked for.
fn cached<K: std::hash::Hash + Eq, V: Clone>(
    map: &Mutex<HashMap<K, V>>,
    key: K,
    make: impl FnOnce() -> V,
) -> V {
    if let Some(v) = map.lock().expect("cache lock").get(&key) {
        return v.clone();
    }
    let v = make();
    map.lock().expect("cache lock").insert(key, v.clone());
    v
}

fn slot<K: std::hash::Hash + Eq + Clone, T>(
    map: &Mutex<HashMap<K, Slot<T>>>,
    key: &K,
) -> (Slot<T>, bool) {
    let mut m = map.lock().expect("cache lock");
    match m.get(key) {
        Some(s) => (s.clone(), true),
        None => {
            let s: Slot<T> = Arc::new(OnceLock::new());
            m.insert(key.clone(), s.clone());
            (s, false)
        }
    }
}

impl<'a> Shared<'a> {
    pub fn new(setup: Setup<'a>, history: &'a History) -> Self {
        let period_columns = history
            .periods
            .iter()
            .map(|p| current_columns(&history.table, &history.order[p.clone()]))
            .collect();
        Self {
            setup,
            history,
            period_columns,
            fits: Mutex::default(),
            scores: Mutex::default(),
            errors: Mutex::default(),
            outputs: Mutex::default(),
            calibrations: Mutex::default(),
            class_scores: Mutex::default(),
            verdicts: Mutex::default(),
            references: Mutex::default(),
            currents: Mutex::default(),
            drifts: Mutex::default(),
            next_id: AtomicU64::new(1),
            stats: Stats::default(),
        }
    }

    /// The rows a window takes from the labelled positions `[0, to)`; `None` for dynamic
    /// windows (the trainer chooses).
    fn window_range(&self, window: &Window, to: usize) -> Option<Range<usize>> {
        let size = match window {
            Window::All => WindowSize::All,
            Window::Fixed(s) | Window::SinceChange(s) => *s,
            Window::Dynamic(_) => return None,
        };
        let from = match size {
            WindowSize::All => 0,
            WindowSize::Rows(n) => to.saturating_sub(n as usize),
            WindowSize::Span(_) => {
                let pool = &self.history.order[..to];
                to - crate::train::window_rows(&self.history.table, pool, size).len()
            }
        };
        Some(from..to)
    }

    /// Trains (or reuses) the model of `window` on labelled positions `[0, to)`,
    /// warm-started from `warm` when given. `held_out`: as `retrain run` trains a
    /// candidate, the newest part of the window held out (`evaluation.holdout`) and the
    /// rest trained on; otherwise on the whole window (`evaluation.refit`).
    fn fit(
        &self,
        policy: &Policy,
        to: usize,
        warm: Option<&Fit>,
        held_out: bool,
    ) -> Result<Arc<Fit>, FitFailed> {
        let m = self.setup.model;
        let window = &policy.window;
        let range = self.window_range(window, to);
        let (algorithm, params) = match &policy.training {
            Some(t) => (t.algorithm, t.params.clone().unwrap_or_default()),
            None => (m.training.algorithm, m.training.params.clone()),
        };
        let key = format!(
            "{:?}|{:?}|{}|{}|{:?}",
            algorithm,
            params,
            match &range {
                Some(r) => format!("rows {}..{}", r.start, r.end),
                None => format!("{window:?} ..{to}"),
            },
            if held_out {
                format!("{:?}", m.evaluation.holdout)
            } else {
                "whole".into()
            },
            warm.map(|w| w.id)
        );
        let (cell, existed) = slot(&self.fits, &key);
        if existed {
            self.stats.fits_reused.fetch_add(1, Ordering::Relaxed);
        }
        cell.get_or_init(|| {
            self.stats.fits.fetch_add(1, Ordering::Relaxed);
            let mut cfg = m.clone();
            if let Some(t) = &policy.training {
                cfg.training.algorithm = t.algorithm;
                cfg.training.params = t.params.clone().unwrap_or_default();
                cfg.training.hyper = Some(t.hyper.clone());
                cfg.training.max_categories = t.max_categories;
                // the model's search is over its own algorithm's params
                cfg.training.search = None;
            }
            cfg.training.warm_start = warm.is_some();
            // a replay never fails on a warm start it cannot make: it trains cold
            cfg.training.warm_start_required = false;
            let known = match &range {
                Some(r) => {
                    cfg.training.window = Window::All;
                    &self.history.order[r.clone()]
                }
                None => {
                    cfg.training.window = window.clone();
                    &self.history.order[..to]
                }
            };
            let split = if held_out {
                crate::train::split_rows(&cfg, &self.history.table, known)
            } else {
                crate::train::Split {
                    pool: crate::train::reach_of(&cfg, &self.history.table, known).to_vec(),
                    holdout: Vec::new(),
                }
            };
            let reach = split.pool.len() + split.holdout.len();
            let started = Instant::now();
            let c = crate::train::train(
                self.setup.repo,
                &cfg,
                &self.history.table,
                &split.pool,
                self.setup.snapshot,
                warm.map(|w| &w.artifact),
                Utc::now(),
            )
            .map_err(|e| FitFailed(Arc::new(e)))?;
            let seconds = started.elapsed().as_secs_f64();
            Ok(Arc::new(Fit {
                id: self.next_id.fetch_add(1, Ordering::Relaxed),
                artifact: c.artifact,
                seconds,
                rows: to - reach.min(to)..to,
                holdout: split.holdout,
            }))
        })
        .clone()
    }

    /// One retrain of `policy` on labelled positions `[0, to)`: the candidate, judged by
    /// the policy's gate against the deployed model, and the model to deploy when it
    /// passes (the candidate, or its refit on the whole window). Returns the training
    /// seconds spent and that model with the candidate it came from (`None` when nothing
    /// read a holdout), `None` when the gate turned the candidate down. `holdout`: the
    /// candidate's holdout is needed even without gates (to calibrate it for CBPE).
    fn candidate(
        &self,
        policy: &Policy,
        to: usize,
        warm: Option<&Fit>,
        deployed: &Fit,
        holdout: bool,
    ) -> Result<(f64, Option<Deployed>), FitFailed> {
        if policy.gates.is_empty() && !holdout {
            // Nothing reads the holdout: what is deployed is all that is trained.
            let new = self.fit(policy, to, warm, !policy.refit)?;
            return Ok((new.seconds, Some((new, None))));
        }
        let candidate = self.fit(policy, to, warm, true)?;
        if !policy.gates.is_empty() && !self.blessed(&candidate, deployed, policy) {
            return Ok((candidate.seconds, None));
        }
        if !policy.refit {
            return Ok((
                candidate.seconds,
                Some((candidate.clone(), Some(candidate))),
            ));
        }
        let refit = self.fit(policy, to, warm, false)?;
        Ok((
            candidate.seconds + refit.seconds,
            Some((refit, Some(candidate))),
        ))
    }

    /// Whether `candidate` passes `policy`'s gates against the deployed model on the
    /// candidate's holdout, judged as `retrain run` judges it (cached).
    fn blessed(&self, candidate: &Fit, deployed: &Fit, policy: &Policy) -> bool {
        let key = (candidate.id, deployed.id, format!("{:?}", policy.gates));
        cached(&self.verdicts, key, || {
            let mut model = self.setup.model.clone();
            model.evaluation.gates = policy.gates.clone();
            // The gate reads point values; intervals would only cost time.
            model.evaluation.intervals.method = crate::config::IntervalMethod::None;
            for g in &policy.gates {
                if !model.evaluation.metrics.contains(&g.metric) {
                    model.evaluation.metrics.push(g.metric);
                }
            }
            crate::pipeline::judge_candidate(
                self.setup.repo,
                &model,
                &self.history.table,
                &candidate.holdout,
                &candidate.artifact,
                Some(Ok(&deployed.artifact)),
            )
            .is_ok_and(|j| j.gate.blessed)
        })
    }

    /// `metric` of a model on one period (cached).
    fn score(&self, fit: &Fit, period: usize, metric: Metric) -> Option<f64> {
        cached(&self.scores, (fit.id, period, metric), || {
            let rows = &self.history.order[self.history.periods[period].clone()];
            fit.artifact
                .predict_table(self.setup.repo, &self.history.table, rows)
                .ok()
                .and_then(|preds| {
                    let truth = crate::train::truth_of(&self.history.table, rows);
                    Prepared::new(truth.view(), &preds).metric(metric, None)
                })
        })
    }

    /// Each row's error under `fit` in `period`, in time order (cached).
    fn errors(&self, fit: &Fit, period: usize) -> Errors {
        cached(&self.errors, (fit.id, period), || {
            let rows = &self.history.order[self.history.periods[period].clone()];
            let errors = fit
                .artifact
                .predict_table(self.setup.repo, &self.history.table, rows)
                .map(|preds| {
                    let truth = crate::train::truth_of(&self.history.table, rows);
                    crate::train::metrics::row_errors(truth.view(), &preds)
                })
                .unwrap_or_default();
            Arc::new(errors)
        })
    }

    /// `spec` over `fit`'s errors in periods `periods` (all labelled since it was
    /// deployed), as `retrain check` runs it over the rows since the champion's snapshot.
    fn detect(
        &self,
        fit: &Fit,
        periods: std::ops::RangeInclusive<usize>,
        spec: &crate::config::DetectorSpec,
    ) -> DetectorReport {
        let stream: Vec<f64> = periods
            .flat_map(|p| self.errors(fit, p).iter().copied().collect::<Vec<_>>())
            .collect();
        DetectorReport::run(spec, &stream, self.setup.model.task)
    }

    /// `fit`'s outputs, as prediction drift compares them, on period `period` or (`None`)
    /// on its training rows (cached).
    fn outputs(&self, fit: &Fit, period: Option<usize>) -> Arc<Outputs> {
        cached(&self.outputs, (fit.id, period), || {
            let range = match period {
                Some(p) => self.history.periods[p].clone(),
                None => fit.rows.clone(),
            };
            Arc::new(
                match fit.artifact.predict_table(
                    self.setup.repo,
                    &self.history.table,
                    &self.history.order[range],
                ) {
                    Ok(preds) => preds.outputs(&fit.artifact.classes),
                    Err(_) => Outputs::Numeric(Vec::new()),
                },
            )
        })
    }

    /// The prediction-drift test of `fit` over `periods` against its training rows.
    fn prediction_drift(
        &self,
        fit: &Fit,
        periods: std::ops::RangeInclusive<usize>,
        cfg: &crate::config::PredictionDriftTrigger,
    ) -> ColumnDrift {
        let mut now = Outputs::Numeric(Vec::new());
        for p in periods {
            now.append(&self.outputs(fit, Some(p)));
        }
        let reference = self.outputs(fit, None);
        crate::checks::prediction::prediction_drift(
            &crate::checks::prediction::output_name(&now, &fit.artifact.classes),
            &reference,
            &now,
            cfg.method,
            cfg.threshold,
            self.setup.model.profile.top_k,
        )
    }

    /// The profile of the training rows `range`, as a reference manifest (cached).
    fn reference(&self, range: &Range<usize>) -> Arc<Manifest> {
        let (cell, _) = slot(&self.references, &(range.start, range.end));
        cell.get_or_init(|| {
            Ok(Arc::new(reference_manifest(
                self.setup.model,
                &self.history.table,
                &self.history.order[range.clone()],
            )))
        })
        .clone()
        .expect("profiles do not fail")
    }

    /// The rows of periods `first..=last` as "current" data (cached).
    fn current(&self, first: usize, last: usize) -> Arc<CurrentData> {
        let (cell, _) = slot(&self.currents, &(first, last));
        cell.get_or_init(|| {
            let mut columns: BTreeMap<String, CurrentColumn> = BTreeMap::new();
            for p in first..=last {
                for (name, c) in &self.period_columns[p] {
                    match columns.get_mut(name) {
                        None => {
                            columns.insert(name.clone(), c.clone());
                        }
                        Some(acc) => merge_current(acc, c),
                    }
                }
            }
            for c in columns.values_mut() {
                if let CurrentColumn::Numeric { sorted, .. } = c {
                    sorted.sort_unstable_by(f64::total_cmp);
                }
            }
            let rows = (first..=last)
                .map(|p| self.history.periods[p].len() as u64)
                .sum();
            Ok(Arc::new(CurrentData {
                files: Vec::new(),
                rows,
                time_filter: None,
                columns,
            }))
        })
        .clone()
        .expect("current data does not fail")
    }

    /// Drift of periods `first..=last` against the training rows of `fit`, judged with
    /// `triggers.drift`.
    fn drift(&self, fit: &Fit, first: usize, last: usize, triggers: &Triggers) -> DriftReport {
        let cfg = triggers
            .drift
            .as_ref()
            .expect("called with a drift trigger");
        let key = format!(
            "{}..{}|{first}..{last}|{:?}|{:?}|{:?}|{:?}",
            fit.rows.start, fit.rows.end, cfg.method, cfg.threshold, cfg.columns, cfg.per_column
        );
        let (cell, existed) = slot(&self.drifts, &key);
        if existed {
            self.stats.drift_reused.fetch_add(1, Ordering::Relaxed);
        }
        let report = cell
            .get_or_init(|| {
                self.stats.drift_reports.fetch_add(1, Ordering::Relaxed);
                let mut model = self.setup.model.clone();
                model.triggers.drift = Some(cfg.clone());
                let reference = self.reference(&fit.rows);
                let current = self.current(first, last);
                Ok(Arc::new(crate::checks::drift_report(
                    &model, &reference, &current,
                )))
            })
            .clone()
            .expect("drift does not fail");
        let mut r = (*report).clone();
        r.share_threshold = cfg.share.get();
        r.dataset_drift = r.tested > 0 && r.share >= cfg.share.get();
        r
    }

    /// Virtual time at the end of period `p` (decisions are taken then).
    fn time_after(&self, p: usize) -> DateTime<Utc> {
        let origin = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap();
        origin + chrono::Duration::seconds(self.history.length.as_secs() as i64 * (p as i64 + 1))
    }

    /// Replays one policy.
    pub fn replay(&self, policy: &Policy) -> Result<Outcome, ReplayError> {
        let h = self.history;
        let n = h.periods.len();
        let warmup = self.setup.warmup;
        let delay = self.setup.label_delay;
        let metric = self.setup.metric;
        let mut fit = self
            .fit(policy, h.periods[warmup - 1].end, None, !policy.refit)
            .map_err(|source| ReplayError {
                policy: policy.name.clone(),
                source,
            })?;
        let cbpe = match &policy.rule {
            Rule::Retrain { triggers, .. } => triggers
                .performance
                .as_ref()
                .is_some_and(|p| p.estimate.is_some()),
            Rule::Never => false,
        };
        // the candidate whose holdout calibrates the deployed model (CBPE)
        let mut held = match (cbpe, policy.refit) {
            (false, _) => None,
            (true, false) => Some(fit.clone()),
            (true, true) => self.fit(policy, h.periods[warmup - 1].end, None, true).ok(),
        };
        let mut train_seconds = fit.seconds;
        let mut deployed = warmup;
        let mut trained_times = vec![self.time_after(warmup - 1)];
        let mut out = Outcome {
            metrics: Vec::with_capacity(n - warmup),
            retrain_periods: Vec::new(),
            trainings: 0,
            train_seconds: 0.0,
            failed_fits: Vec::new(),
        };
        let triggers = match &policy.rule {
            Rule::Never => None,
            Rule::Retrain { every, triggers } => {
                let mut t = (**triggers).clone();
                if let Some(k) = every {
                    let every = Duration::from_secs(h.length.as_secs() * u64::from(*k));
                    t.schedule = Some(t.schedule.map_or(every, |s| s.min(every)));
                }
                Some(t)
            }
        };
        // A blessed candidate in its shadow period: (model, calibrating candidate, first
        // period newer than its training data).
        let mut waiting: Option<(Deployed, usize)> = None;
        for t in warmup..n {
            out.metrics
                .push(self.score(&fit, t, metric).unwrap_or(f64::NAN));
            let Some(triggers) = &triggers else { continue };
            if t + 1 == n {
                break;
            }
            // Labels of periods [0, labelled) are known after period t.
            let labelled = (t + 1).saturating_sub(delay);
            if let (Some(((new, _), from)), Some(shadow)) = (&waiting, &policy.shadow) {
                let newer = *from..labelled.max(*from);
                if (self.rows_in(newer.clone()) as u64) < shadow.min_rows {
                    continue; // held: the candidate is still in its shadow period
                }
                let wins = self.shadow_wins(new, &fit, shadow, newer);
                let ((new, candidate), _) = waiting.take().expect("waiting");
                if wins {
                    fit = new;
                    held = candidate;
                    deployed = t + 1;
                    trained_times.push(self.time_after(t));
                    out.retrain_periods.push(t + 1);
                    continue;
                }
                // beaten: dropped; the decision below may train the next candidate
            }
            let labelled_to = if labelled == 0 {
                0
            } else {
                h.periods[labelled - 1].end
            };
            let performance = match &triggers.performance {
                None => Ok(None),
                Some(p) => {
                    // The newest period whose labels are known, scored by this model.
                    match labelled.checked_sub(1).filter(|last| *last >= deployed) {
                        None => Ok(None),
                        Some(last) => Ok(self.score(&fit, last, p.metric).map(|value| {
                            PerformanceObservation {
                                metric: p.metric,
                                value,
                                baseline: self.score(&fit, deployed, p.metric),
                                rows: h.periods[last].len() as u64,
                                detector: p
                                    .detector
                                    .as_ref()
                                    .map(|spec| self.detect(&fit, deployed..=last, spec)),
                            }
                        })),
                    }
                }
            };
            // The deployed model's outputs on every period since it was deployed (no labels
            // needed) against its outputs on its training rows.
            let prediction_drift = match &triggers.prediction_drift {
                None => Ok(None),
                Some(p) => Ok(Some(self.prediction_drift(&fit, deployed..=t, p))),
            };
            let drift = match &triggers.drift {
                Some(_) if fit.rows.end < h.periods[t].end => {
                    let first = h.periods.partition_point(|p| p.end <= fit.rows.end);
                    self.drift(&fit, first, t, triggers)
                }
                _ => empty_drift(),
            };
            // `window: since_change` starts at the detector's last change
            let since_change = match (&policy.window, &performance) {
                (Window::SinceChange(_), Ok(Some(o))) => {
                    o.detector.as_ref().and_then(|d| d.rows_since_change())
                }
                _ => None,
            };
            let decision = decision::decide(&DecisionInput {
                triggers,
                champion_trained_at: trained_times.last().copied(),
                trained_times: trained_times.clone(),
                now: self.time_after(t),
                force: false,
                new_rows: labelled_to.saturating_sub(fit.rows.end) as u64,
                reference_rows: fit.rows.len() as u64,
                drift: &drift,
                performance,
                // the periods since deployment whose labels are not known yet
                estimated: match triggers
                    .performance
                    .as_ref()
                    .filter(|p| p.estimate.is_some())
                {
                    Some(p) => {
                        self.estimate(&fit, held.as_deref(), labelled.max(deployed)..=t, p.metric)
                    }
                    None => Ok(None),
                },
                prediction_drift,
                anomalies: &[],
            });
            if !decision.retrain || labelled_to <= fit.rows.end {
                continue;
            }
            let warm = policy.warm_start.then_some(&*fit);
            let resolved;
            let policy = match since_change {
                Some(rows) => {
                    let mut p = policy.clone();
                    p.window = Window::Fixed(WindowSize::Rows(rows as u64));
                    resolved = p;
                    &resolved
                }
                None => policy,
            };
            match self.candidate(policy, labelled_to, warm, &fit, cbpe) {
                Ok((seconds, new)) => {
                    train_seconds += seconds;
                    out.trainings += 1;
                    if let (Some(deploy), Some(_)) = (&new, &policy.shadow) {
                        waiting = Some((deploy.clone(), labelled));
                    } else if let Some((new, candidate)) = new {
                        fit = new;
                        held = candidate;
                        deployed = t + 1;
                        trained_times.push(self.time_after(t));
                        out.retrain_periods.push(t + 1);
                    }
                }
                Err(e) => out.failed_fits.push(format!("after period {t}: {e}")),
            }
        }
        out.train_seconds = train_seconds;
        Ok(out)
    }
}
