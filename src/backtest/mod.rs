//! `retrain backtest`: replay a model's history under candidate retraining policies and
//! recommend one.
//!
//! The history is the sequence of the model's data partitions (one period per file), or
//! its rows in time order cut by `--period` (over `time_column`) or `--period-rows`.
//! Each policy walks forward test-then-train ([`replay`]); the results are summarised
//! ([`summary`]) and drawn ([`chart`]); [`apply`] writes the recommended policy into
//! `retrain.yaml` text. Reads data and writes a snapshot manifest (like `retrain
//! snapshot`) and, when asked, charts; never touches git.

pub mod apply;
pub mod command;

pub use crate::config::policy;
mod periods;
pub mod replay;
pub mod summary;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Instant;

use rayon::prelude::*;

use crate::config::Workspace;
use crate::config::{BacktestSpec, Duration, ModelConfig};
use crate::error::Error;
pub use crate::outcome::{BacktestReport, Work};
use policy::Policy;
use replay::{History, Setup, Shared};
use summary::PolicyResult;

/// `retrain backtest`.
#[derive(Debug, Clone)]
pub struct BacktestRequest {
    pub workspace: Workspace,
    /// The model (may be omitted when the config has one model).
    pub model: Option<String>,
    pub period: Option<Duration>,
    pub period_rows: Option<u64>,
    /// A policies file (the shape of a `backtest:` section).
    pub policies: Option<PathBuf>,
}

/// The model selected by `--model` (the only one when omitted).
pub fn select_model<'a>(
    config: &'a crate::config::Config,
    name: Option<&str>,
) -> Result<&'a ModelConfig, Error> {
    let models = config.select(name)?;
    match models.as_slice() {
        [one] => Ok(one),
        _ => Err(Error::Usage(format!(
            "{} models in {}: choose one with --model ({})",
            models.len(),
            config.file.display(),
            models
                .iter()
                .map(|m| m.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Runs the backtest.
pub fn run(req: &BacktestRequest) -> Result<BacktestReport, Error> {
    let started = Instant::now();
    let config = req.workspace.load_config()?;
    let model = select_model(&config, req.model.as_deref())?;
    let repo = &req.workspace.repo;
    let mut spec = model.backtest.clone().unwrap_or(BacktestSpec {
        defaults: true,
        ..Default::default()
    });
    if let Some(file) = &req.policies {
        let from_file =
            crate::config::load_policies(file, model.task, model.time_column.is_some())?;
        spec = merge_specs(spec, from_file);
    }
    if req.period.is_some() || req.period_rows.is_some() {
        spec.period = req.period.or(spec.period);
        spec.period_rows = req.period_rows;
    }
    if model.training.command.is_some() {
        return Err(Error::Usage(format!(
            "model `{}` trains with an external command; backtest replays built-in trainers only",
            model.name
        )));
    }

    let snap = crate::snapshot::create(repo, model)?;
    let history = history(repo, model, &snap.manifest, &spec)?;
    let n = history.periods.len();
    let warmup = spec.warmup.unwrap_or_else(|| 4.min((n / 5).max(1)));
    if n < warmup + 2 {
        return Err(Error::Usage(format!(
            "the history of `{}` has {n} period{}; a backtest needs the {warmup} warm-up period{} and 2 more",
            model.name,
            if n == 1 { "" } else { "s" },
            if warmup == 1 { "" } else { "s" },
        )));
    }
    let metric = spec.metric.unwrap_or(model.evaluation.primary);
    let typical_rows = history.periods[..warmup]
        .iter()
        .map(|p| p.len())
        .max()
        .unwrap_or(1);
    let mut specs = spec.policies.clone();
    if spec.defaults {
        specs.extend(policy::default_candidates(model, typical_rows));
    }
    let policies = policy::resolve(model, &specs);
    tracing::info!(
        model = %model.name,
        periods = n,
        policies = policies.len(),
        "backtest: replaying"
    );
    let shared = Shared::new(
        Setup {
            repo,
            model,
            snapshot: &snap.id,
            metric,
            warmup,
            label_delay: spec.label_delay,
        },
        &history,
    );
    let outcomes: Vec<Result<replay::Outcome, replay::ReplayError>> = policies
        .par_iter()
        .map(|p| {
            let r = shared.replay(p);
            tracing::info!(policy = %p.name, "backtest: policy replayed");
            r
        })
        .collect();
    let hib = metric.higher_is_better();
    // Only some algorithms continue from the champion (`train::warm::continues`); for
    // the others a warm start is a cold one, and the report says so. (External trainers
    // were refused above.)
    let mut results = Vec::with_capacity(policies.len());
    for (p, o) in policies.iter().zip(outcomes) {
        let o = o.map_err(|e| Error::Usage(format!("backtest of `{}`: {e}", model.name)))?;
        let (mean, worst) = summary::mean_worst(&o.metrics, hib);
        let mut description = p.describe();
        let algorithm = crate::train::model::algorithm_name(p.algorithm(model));
        if p.warm_start && !crate::train::warm::continues(p.algorithm(model)) {
            description.push_str(&format!(" (no effect for {algorithm})"));
        }
        results.push(PolicyResult {
            name: p.name.clone(),
            description,
            current: p.current,
            warm_start: p.warm_start,
            algorithm: algorithm.to_string(),
            mean_metric: mean,
            worst_metric: worst,
            retrains: o.retrain_periods.len(),
            trainings: o.trainings,
            train_seconds: o.train_seconds,
            pareto: false,
            retrain_periods: o.retrain_periods,
            failed_fits: o.failed_fits,
            metrics: o
                .metrics
                .iter()
                .map(|v| v.is_finite().then_some(*v))
                .collect(),
        });
    }
    summary::mark_pareto(&mut results, hib);
    // What "retraining every period" means in the reason: deploying a model every
    // period, so policies without a gate (any every-period policy when none is ungated).
    let every_period: Vec<String> = {
        let all: Vec<&Policy> = policies.iter().filter(|p| every_period(p)).collect();
        let ungated: Vec<&Policy> = all.iter().copied().filter(|p| p.gates.is_empty()).collect();
        if ungated.is_empty() { all } else { ungated }
            .iter()
            .map(|p| p.name.clone())
            .collect()
    };
    let tolerance = match spec.tolerance {
        Some(t) => summary::Tolerance::Absolute(t),
        None => summary::Tolerance::Relative(spec.relative_tolerance.unwrap_or(0.01)),
    };
    let budget = spec
        .max_retrain_share
        .map(|share| (share * (n - warmup) as f64).floor() as usize);
    let rec = summary::recommend(&results, metric, tolerance, budget, &every_period).ok_or_else(
        || {
            Error::Usage(format!(
                "backtest of `{}`: no policy has a defined {metric} on the scored periods",
                model.name
            ))
        },
    )?;
    let assumptions = vec![
        format!(
            "label delay: {} period{} — the labels of a period are known {} (they are trained on and scored for the performance trigger from then on)",
            spec.label_delay,
            if spec.label_delay == 1 { "" } else { "s" },
            if spec.label_delay == 0 {
                "as soon as it ends".to_string()
            } else {
                format!("{} period(s) after it ends", spec.label_delay)
            }
        ),
        format!(
            "test-then-train: each period is scored by the model deployed before it; a retrain decided after period t serves from period t+1 on, trained on the labelled rows up to then (through the policy's window)"
        ),
        format!(
            "the first {warmup} period{} train the first model and are not scored; retrains count the models after it",
            if warmup == 1 { "" } else { "s" }
        ),
        format!(
            "one period stands for {} (schedules, cooldowns, max_per_period)",
            history.length
        ),
        "drift compares the rows since the deployed model's training data with that training window's profile".into(),
        "performance drop compares a period's metric with the deployed model's metric on its first scored period".into(),
        "train seconds count every model a policy used, also when another policy had trained the same model (shared in the replay)".into(),
    ];
    let pareto = results
        .iter()
        .filter(|p| p.pareto)
        .map(|p| p.name.clone())
        .collect();
    Ok(BacktestReport {
        model: model.name.to_string(),
        metric,
        higher_is_better: hib,
        split: split_words(&spec, model, n),
        periods: n,
        warmup,
        scored_periods: n - warmup,
        period_labels: history.labels[warmup..].to_vec(),
        period_length: history.length.to_string(),
        label_delay: spec.label_delay,
        assumptions,
        policies: results,
        pareto,
        recommended: rec.name,
        tolerance: rec.tolerance,
        reason: rec.reason,
        best: rec.best,
        wall_seconds: started.elapsed().as_secs_f64(),
        work: Work {
            threads: rayon::current_num_threads(),
            fits: shared.stats.fits.load(Ordering::Relaxed),
            fits_reused: shared.stats.fits_reused.load(Ordering::Relaxed),
            drift_reports: shared.stats.drift_reports.load(Ordering::Relaxed),
            drift_reports_reused: shared.stats.drift_reused.load(Ordering::Relaxed),
        },
        length: history.length,
        resolved: policies.clone(),
    })
}

/// The config file's text with the recommended policy written into the model (see
/// [`apply::apply_policy`]); `None` when the recommendation is the current policy.
pub fn apply_recommended(
    workspace: &Workspace,
    report: &BacktestReport,
) -> Result<Option<String>, Error> {
    let file = workspace.config_path();
    let text = std::fs::read_to_string(&file).map_err(|e| Error::Io {
        context: format!("reading {}", file.display()),
        source: e,
    })?;
    let config = crate::config::parse(&file, &text)?;
    let index = config
        .models
        .iter()
        .position(|m| m.name.as_str() == report.model)
        .ok_or_else(|| {
            Error::Usage(format!(
                "model `{}` is no longer in {}",
                report.model,
                file.display()
            ))
        })?;
    let policy = report
        .resolved
        .iter()
        .find(|p| p.name == report.recommended)
        .expect("the recommendation is a replayed policy");
    if policy.current {
        return Ok(None);
    }
    Ok(Some(apply::apply_policy(
        &file,
        &text,
        index,
        policy,
        report.length,
    )?))
}

/// A policies file adds to (and may override the settings of) the config's section.
fn merge_specs(base: BacktestSpec, file: BacktestSpec) -> BacktestSpec {
    let mut policies = file.policies;
    for p in base.policies {
        if !policies.iter().any(|q| q.name == p.name) {
            policies.push(p);
        }
    }
    BacktestSpec {
        period: file.period.or(base.period),
        period_rows: file.period_rows.or(base.period_rows),
        warmup: file.warmup.or(base.warmup),
        label_delay: file.label_delay.max(base.label_delay),
        metric: file.metric.or(base.metric),
        tolerance: file.tolerance.or(base.tolerance),
        relative_tolerance: file.relative_tolerance.or(base.relative_tolerance),
        max_retrain_share: file.max_retrain_share.or(base.max_retrain_share),
        defaults: file.defaults,
        policies,
    }
}

/// Retrains at every period, unconditionally.
fn every_period(p: &Policy) -> bool {
    matches!(&p.rule, crate::config::Rule::Retrain { every: Some(1), triggers } if triggers.cooldown.is_none() && triggers.max_per_period.is_none())
}

fn split_words(spec: &BacktestSpec, model: &ModelConfig, n: usize) -> String {
    match (spec.period_rows, spec.period, &model.time_column) {
        (Some(r), _, _) => format!("{n} periods of {r} rows (in time order)"),
        (None, Some(d), Some(t)) => format!("{n} periods of {d} by `{t}`"),
        _ => format!("{n} periods: one per data file ({})", model.data),
    }
}

/// Cuts the model's data into periods.
fn history(
    repo: &std::path::Path,
    model: &ModelConfig,
    manifest: &crate::snapshot::Manifest,
    spec: &BacktestSpec,
) -> Result<History, Error> {
    let table = crate::train::table::load(repo, model, manifest, None, None)
        .map_err(|e| Error::Snapshot(e.into()))?;
    let order = table.time_order();
    let rows = order.len();
    let mut labels = Vec::new();
    let periods: Vec<std::ops::Range<usize>> = match (spec.period_rows, spec.period, &table.time) {
        (Some(r), _, _) => {
            let r = r as usize;
            (0..rows.div_ceil(r))
                .map(|i| {
                    labels.push(format!("{}", i));
                    i * r..((i + 1) * r).min(rows)
                })
                .collect()
        }
        (None, Some(d), Some(time)) => {
            let len = d.as_secs() as f64 * 1000.0;
            let t0 = order.first().map(|r| time[*r]).unwrap_or(0.0);
            let mut out: Vec<std::ops::Range<usize>> = Vec::new();
            let mut current = None;
            for (pos, r) in order.iter().enumerate() {
                let bucket = ((time[*r] - t0) / len).floor() as i64;
                if current != Some(bucket) {
                    out.push(pos..pos + 1);
                    current = Some(bucket);
                    let start =
                        chrono::DateTime::from_timestamp_millis((t0 + bucket as f64 * len) as i64)
                            .map(|t| t.format("%Y-%m-%d").to_string())
                            .unwrap_or_else(|| bucket.to_string());
                    labels.push(start);
                } else if let Some(last) = out.last_mut() {
                    last.end = pos + 1;
                }
            }
            out
        }
        (None, Some(_), None) => {
            return Err(Error::Usage(format!(
                "--period splits by `time_column`, and model `{}` has none; cut it by rows with --period-rows N",
                model.name
            )))
        }
        (None, None, _) => {
            let files = &manifest.files;
            let counted: u64 = files.iter().map(|f| f.rows).sum();
            if files.len() < 2 || counted as usize != rows || table.time.is_some() {
                return Err(Error::Usage(format!(
                    "cannot cut the history of `{}` into periods: give --period-rows N{} (or `backtest.period_rows` in {})",
                    model.name,
                    if table.time.is_some() { " or --period 7d" } else { "" },
                    crate::config::DEFAULT_FILE
                )));
            }
            let mut from = 0usize;
            files
                .iter()
                .map(|f| {
                    labels.push(f.path.rsplit('/').next().unwrap_or(&f.path).to_string());
                    let r = from..from + f.rows as usize;
                    from = r.end;
                    r
                })
                .collect()
        }
    };
    let periods: Vec<_> = periods.into_iter().filter(|p| !p.is_empty()).collect();
    Ok(History {
        table,
        order,
        periods,
        labels,
        length: spec.period.unwrap_or(Duration::from_secs(7 * 86_400)),
    })
}

/// `retrain backtest --apply` with GitHub: opens the pull request
/// ([`crate::proposal::policy`]) that changes the config file to `new_text` (from
/// [`apply_recommended`]).
pub fn propose_policy(
    workspace: &Workspace,
    report: &BacktestReport,
    new_text: &str,
    target: &crate::forge::publish::PublishTarget,
) -> Result<crate::forge::publish::PublishedPr, Error> {
    let file = workspace.config_path();
    let repo = std::fs::canonicalize(&workspace.repo).unwrap_or_else(|_| workspace.repo.clone());
    let abs = std::fs::canonicalize(&file).unwrap_or_else(|_| file.clone());
    let rel = abs
        .strip_prefix(&repo)
        .map_err(|_| {
            Error::Usage(format!(
                "{} is outside the repository {}: a pull request cannot change it",
                file.display(),
                repo.display()
            ))
        })?
        .to_string_lossy()
        .replace('\\', "/");
    let old = std::fs::read_to_string(&file).map_err(|e| Error::Io {
        context: format!("reading {}", file.display()),
        source: e,
    })?;
    let config = workspace.load_config()?;
    let model = config
        .select(Some(&report.model))?
        .into_iter()
        .next()
        .expect("select returns the named model");
    let proposal = crate::proposal::policy(model, report, &rel, &old, new_text);
    crate::forge::runtime()?.block_on(crate::forge::publish::open_or_update(
        &workspace.repo,
        &proposal,
        target,
    ))
}
