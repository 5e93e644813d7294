//! The one place where the stages are wired together. Each command has a request type
//! and a result type; the CLI (and later the webhook bot) build the request and render
//! the result. Nothing here prints.

pub use crate::config::Workspace;
use crate::error::Error;
pub use crate::outcome::{
    CheckReport, ModelCheck, ModelRun, PrPlan, ReferenceSource, RunOutcome, RunReport,
    SnapshotReport, Trained,
};
pub use crate::predict::{predict, PredictReport, PredictRequest};
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

pub(crate) mod champion;
pub(crate) mod shadow;

use crate::checks;
use crate::config::ModelConfig;
use crate::decision::{self, DecisionInput, Unscored};
use crate::evaluate::{self, gate::Verdict, Evaluation};
use crate::registry;
use crate::registry::ModelVersion;
use crate::snapshot::Manifest;
use crate::snapshot::{self, Store};
use crate::train::{
    self,
    model::{ModelArtifact, Predictions},
};

/// `retrain snapshot`.
#[derive(Debug, Clone)]
pub struct SnapshotRequest {
    pub workspace: Workspace,
    pub model: Option<String>,
}

pub fn snapshot(req: &SnapshotRequest) -> Result<SnapshotReport, Error> {
    let config = req.workspace.load_config()?;
    let models = config.select(req.model.as_deref())?;
    let mut snapshots = Vec::with_capacity(models.len());
    for model in models {
        snapshots.push(snapshot::create(&req.workspace.repo, model)?);
    }
    Ok(SnapshotReport { snapshots })
}

/// `retrain check`.
#[derive(Debug, Clone)]
pub struct CheckRequest {
    pub workspace: Workspace,
    pub model: Option<String>,
    /// A stored snapshot id (or unique prefix) to compare with instead of the champion's.
    pub reference: Option<String>,
    pub force: bool,
    /// The clock (tests inject it).
    pub now: DateTime<Utc>,
    /// Where a champion kept as a release asset (store `release`) is downloaded from.
    pub github: Option<crate::forge::github::GitHubConfig>,
}

pub fn check(req: &CheckRequest) -> Result<CheckReport, Error> {
    let config = req.workspace.load_config()?;
    let models = config.select(req.model.as_deref())?;
    let mut checks = Vec::with_capacity(models.len());
    for model in models {
        checks.push(check_model(req, model)?.check);
    }
    Ok(CheckReport { checks })
}

/// A model's check and what later stages reuse from it.
struct Checked {
    check: ModelCheck,
    snapshot: Manifest,
    champion: Option<Champion>,
    /// The registry pointer as the check read it (the proposal builds on it).
    pointer: Option<registry::RegistryPointer>,
    /// Rows from the performance detector's last change to the newest row.
    since_change: Option<usize>,
}

/// The champion's registry entry and its artifact (or why it could not be loaded).
struct Champion {
    version: ModelVersion,
    artifact: Result<ModelArtifact, registry::ArtifactError>,
}

fn check_model(req: &CheckRequest, model: &ModelConfig) -> Result<Checked, Error> {
    let repo = &req.workspace.repo;
    let store = Store::new(repo);
    let snap = snapshot::create(repo, model)?;
    let pointer = registry::read(repo, &model.registry.path)?;
    if let (Some(version), Some(github)) = (
        pointer.as_ref().and_then(|p| p.champion.as_ref()),
        &req.github,
    ) {
        if version.artifact.uri.starts_with("release:") {
            let rt = crate::forge::runtime()?;
            let _guard = rt.enter();
            let gh = crate::forge::github::GitHub::new(github).map_err(Error::GitHub)?;
            rt.block_on(crate::forge::promote::fetch_release_artifact(
                &gh, repo, model, version,
            ))?;
        }
    }
    let champion = pointer
        .as_ref()
        .and_then(|p| p.champion.clone())
        .map(|version| Champion {
            artifact: registry::load_artifact(
                repo,
                std::path::Path::new(&model.registry.path),
                &version,
            )
            .map(|(a, _)| a),
            version,
        });
    let (reference, source) = match (&req.reference, &champion) {
        (Some(id), _) => {
            let id = store
                .resolve_id(id)
                .map_err(snapshot::SnapshotError::from)?;
            (
                store.read(&id).map_err(snapshot::SnapshotError::from)?,
                ReferenceSource::Given,
            )
        }
        (None, Some(c)) => (
            store
                .read(&c.version.snapshot)
                .map_err(snapshot::SnapshotError::from)?,
            ReferenceSource::Champion,
        ),
        (None, None) => {
            let first = store
                .list()
                .map_err(snapshot::SnapshotError::from)?
                .into_iter()
                .find(|m| {
                    m.columns
                        .iter()
                        .any(|c| c.role.contains_key(model.name.as_str()))
                });
            (
                first.unwrap_or_else(|| snap.manifest.clone()),
                ReferenceSource::FirstSnapshot,
            )
        }
    };
    let current = checks::current::load(repo, model, &reference, &snap.manifest)
        .map_err(snapshot::SnapshotError::from)?;
    let anomalies = checks::validation::validate(model, &reference, &snap.manifest, &current);
    let mut drift = checks::drift_report(model, &reference, &current);
    let prediction_drift = match (&model.triggers.prediction_drift, &champion) {
        (None, _) => Ok(None),
        (Some(_), None) => Err(Unscored("no champion".into())),
        (Some(p), Some(c)) => {
            champion::prediction_drift(repo, model, &reference, &snap.manifest, &current, c, p)
        }
    };
    if let Ok(Some(d)) = &prediction_drift {
        drift.prediction = Some(d.clone());
    }
    let performance = match (&model.triggers.performance, &champion) {
        (None, _) => Ok(None),
        (Some(_), None) => Err(Unscored("no champion".into())),
        (Some(p), Some(c)) => {
            champion::score_champion(repo, model, &reference, &snap.manifest, &current, c, p)
        }
    };
    let estimated = match (&model.triggers.performance, &champion) {
        (Some(p), Some(c)) if p.estimate.is_some() => champion::estimate_champion(
            repo,
            model,
            &reference,
            &snap.manifest,
            &current,
            c,
            p.metric,
        ),
        (Some(p), None) if p.estimate.is_some() => Err(Unscored("no champion".into())),
        _ => Ok(None),
    };
    let since_change = performance
        .as_ref()
        .ok()
        .and_then(|o| o.as_ref()?.detector.as_ref()?.rows_since_change());
    let decision = decision::decide(&DecisionInput {
        triggers: &model.triggers,
        champion_trained_at: champion.as_ref().map(|c| c.version.trained_at),
        trained_times: pointer
            .as_ref()
            .map(|p| p.trained_times())
            .unwrap_or_default(),
        now: req.now,
        force: req.force,
        new_rows: current.rows,
        reference_rows: reference.rows,
        drift: &drift,
        performance,
        estimated,
        prediction_drift,
        anomalies: &anomalies,
    });
    Ok(Checked {
        check: ModelCheck {
            model: model.name.to_string(),
            snapshot: snap.id.clone(),
            snapshot_status: snap.status,
            snapshot_rows: snap.rows,
            snapshot_files: snap.files,
            reference: reference.id.clone(),
            reference_source: source,
            champion: champion.as_ref().map(|c| c.version.version),
            new_rows: current.rows,
            new_files: current.files.clone(),
            time_filter: current.time_filter.clone(),
            anomalies,
            drift,
            decision,
        },
        snapshot: snap.manifest,
        champion,
        pointer,
        since_change,
    })
}

/// `retrain run`.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub check: CheckRequest,
    pub dry_run: bool,
    /// Where to publish (required unless `dry_run`).
    pub publish: Option<crate::forge::publish::PublishTarget>,
    /// Publish although the data or the config differ from the commit.
    pub allow_dirty: bool,
}

pub fn run(req: &RunRequest) -> Result<RunReport, Error> {
    let target = match (&req.publish, req.dry_run) {
        (_, true) => None,
        (Some(t), false) => Some(t),
        (None, false) => {
            return Err(Error::Usage(
                "publishing needs GitHub: set GITHUB_TOKEN and GITHUB_REPOSITORY (or --repository), or use --dry-run".into(),
            ))
        }
    };
    let config = req.check.workspace.load_config()?;
    let models = config.select(req.check.model.as_deref())?;
    if target.is_some() && !req.allow_dirty {
        ensure_committed(&req.check.workspace, &models)?;
    }
    let mut runs = Vec::with_capacity(models.len());
    for model in models {
        // the open candidate under shadow evaluation, read from its pull request's branch
        let open = match (target, &model.evaluation.shadow) {
            (Some(t), Some(_)) => crate::forge::runtime()?.block_on(
                crate::forge::shadow::open_candidate(&req.check.workspace.repo, model, t),
            )?,
            _ => None,
        };
        let mut r = run_model(req, model, open.as_ref())?;
        if let (Some(t), Some(open), Some(report)) = (target, &open, r.shadow.as_mut()) {
            report.operation = Some(
                crate::forge::runtime()?
                    .block_on(crate::forge::shadow::publish(t, model, open, report))?,
            );
        }
        if let (Some(t), Some(p)) = (target, r.proposal()) {
            r.pull_request = Some(crate::forge::runtime()?.block_on(
                crate::forge::publish::open_or_update(&req.check.workspace.repo, p, t),
            )?);
        }
        runs.push(r);
    }
    Ok(RunReport { runs })
}

/// A pull request records the snapshot of the data it was trained on, next to a commit
/// of the base branch: publishing from a working tree whose data or config differ from
/// that commit would record a snapshot the commit cannot reproduce.
fn ensure_committed(workspace: &Workspace, models: &[&ModelConfig]) -> Result<(), Error> {
    let mut paths = vec![workspace
        .config
        .as_ref()
        .map(|c| c.to_string_lossy().into_owned())
        .unwrap_or_else(|| crate::config::DEFAULT_FILE.to_string())];
    for model in models {
        match &model.data {
            // DVC keeps the data out of git; its .dvc file is what the commit pins
            crate::config::DataSource::Dvc { file, .. } => paths.push(file.clone()),
            source => paths.extend(
                crate::data::resolve(&workspace.repo, source)
                    .map_err(|e| Error::Snapshot(e.into()))?
                    .into_iter()
                    .map(|f| f.rel),
            ),
        }
    }
    let dirty = crate::forge::git::uncommitted(&workspace.repo, &paths).map_err(Error::Git)?;
    let Some((first, state)) = dirty.first() else {
        return Ok(());
    };
    let more = match dirty.len() {
        1 => String::new(),
        n => format!(" (and {} more)", n - 1),
    };
    Err(Error::Usage(format!(
        "`{first}` is {state}{more}: the pull request would record a snapshot of data that its commit does not hold\nhint: commit and push the data and retrain.yaml first, or pass --allow-dirty to publish anyway"
    )))
}

fn run_model(
    req: &RunRequest,
    model: &ModelConfig,
    open: Option<&crate::forge::shadow::OpenCandidate>,
) -> Result<ModelRun, Error> {
    let mut checked = check_model(&req.check, model)?;
    let shadow =
        open.and_then(|o| shadow::report_of(&req.check.workspace.repo, model, &checked, o));
    if let Some(s) = &shadow {
        shadow::hold(&mut checked.check.decision, s, req.check.force);
    }
    let mut run = train_checked(req, model, checked)?;
    run.shadow = shadow;
    Ok(run)
}

/// The rest of the run once the model is checked: the decision followed, the candidate
/// trained and judged, the proposal made.
fn train_checked(
    req: &RunRequest,
    model: &ModelConfig,
    checked: Checked,
) -> Result<ModelRun, Error> {
    let check = checked.check;
    let stop = |check, outcome| ModelRun {
        check,
        outcome,
        dry_run: req.dry_run,
        pull_request: None,
        shadow: None,
    };
    if check.decision.blocked {
        return Ok(stop(check, RunOutcome::Blocked));
    }
    if !check.decision.retrain {
        return Ok(stop(check, RunOutcome::NoRetrain));
    }
    let repo = &req.check.workspace.repo;
    let resolved;
    let model = match (&model.training.window, checked.since_change) {
        (crate::config::Window::SinceChange(_), Some(rows)) => {
            let mut m = model.clone();
            m.training.window =
                crate::config::Window::Fixed(crate::config::WindowSize::Rows(rows as u64));
            resolved = m;
            &resolved
        }
        _ => model,
    };
    tracing::info!(model = %model.name, "loading training data");
    let table = train::table::load(repo, model, &checked.snapshot, None, None)
        .map_err(snapshot::SnapshotError::from)?;
    // Time order once: the split and the refit both take the window's rows from it.
    let order = table.time_order();
    let split = train::split_rows(model, &table, &order);
    let champion_artifact = checked
        .champion
        .as_ref()
        .and_then(|c| c.artifact.as_ref().ok());
    tracing::info!(model = %model.name, rows = split.pool.len(), holdout = split.holdout.len(), "training");
    let candidate = train::train(
        repo,
        model,
        &table,
        &split.pool,
        &check.snapshot,
        champion_artifact,
        req.check.now,
    )?;
    tracing::info!(model = %model.name, ms = candidate.report.duration_ms, "trained; evaluating");

    let champion = checked.champion.as_ref().map(|c| c.artifact.as_ref());
    let judged = judge_candidate(
        repo,
        model,
        &table,
        &split.holdout,
        &candidate.artifact,
        champion,
    )
    .map_err(|e| Error::Train(train::TrainError::Predict(e)))?;
    let (evaluation, mut gate, preds) = (judged.evaluation, judged.gate, judged.predictions);
    // CBPE's calibration, on the same holdout, recorded in the artifact before the infra
    // check reads its final bytes.
    let calibration = train::calibrate(&judged.truth, &preds);
    let candidate = match &calibration {
        Some(c) => candidate.with_calibration(c.clone()),
        None => candidate,
    };
    // Serialise, reload, predict the holdout again: bit-identical.
    let infra_check = |c: &train::Candidate, preds: &Predictions| {
        evaluate::infra::check(&c.artifact, &c.bytes, split.holdout.len(), preds, |a| {
            a.predict_table(repo, &table, &split.holdout)
        })
    };
    let mut infra = infra_check(&candidate, &preds);
    if !infra.passed {
        gate.blessed = false;
        gate.notes
            .push(format!("not blessed: infra check failed: {}", infra.detail));
    }
    let mut candidate = candidate;
    if model.evaluation.refit && gate.blessed {
        tracing::info!(model = %model.name, "blessed; refitting on the whole window");
        let refit = train::train(
            repo,
            model,
            &table,
            train::reach_of(model, &table, &order),
            &check.snapshot,
            champion_artifact,
            req.check.now,
        )?;
        let refit_preds = refit
            .artifact
            .predict_table(repo, &table, &split.holdout)
            .map_err(|e| Error::Train(train::TrainError::Predict(e)))?;
        // The refitted model has seen the holdout: it keeps the calibration fitted there
        // on the model before the refit.
        let refit = match &calibration {
            Some(c) => refit.with_calibration(c.clone()),
            None => refit,
        };
        // The infra check reported is the proposed model's.
        infra = infra_check(&refit, &refit_preds);
        if !infra.passed {
            gate.blessed = false;
            gate.notes.push(format!(
                "not blessed: infra check of the refitted model failed: {}",
                infra.detail
            ));
        }
        let mut report = candidate.report.clone();
        report.refit = Some(train::RefitReport {
            rows: refit.report.rows,
            duration_ms: refit.report.duration_ms,
        });
        report.onnx = refit.report.onnx.clone();
        candidate = train::Candidate { report, ..refit };
    }
    let trained = Trained {
        artifact: candidate,
        evaluation,
        gate,
        infra,
        proposal: None,
    };
    let mut run = stop(check, RunOutcome::Trained(Box::new(trained)));
    // the proposal stage: once, from the run and the pointer its check read
    let proposal =
        crate::proposal::retrain(&run, model, checked.pointer.as_ref(), &checked.snapshot);
    if let RunOutcome::Trained(t) = &mut run.outcome {
        t.proposal = proposal;
    }
    Ok(run)
}

/// The candidate judged against the champion on the holdout.
pub(crate) struct Judged {
    pub evaluation: Evaluation,
    pub gate: Verdict,
    /// The candidate's predictions on the holdout.
    pub predictions: Predictions,
    /// The holdout's outcomes.
    pub truth: train::TruthOwned,
}

/// Scores the candidate and the champion on the same holdout rows (metrics with the
/// configured intervals, confusion, slices) and applies `model.evaluation.gates`. A
/// champion that cannot be read (`Err`) or cannot score the holdout leaves the candidate
/// unblessed, with the reason in the notes. Shared by `run` and the backtest's replay;
/// fails only when the candidate cannot predict.
pub(crate) fn judge_candidate(
    repo: &std::path::Path,
    model: &ModelConfig,
    table: &train::table::Table,
    holdout: &[usize],
    candidate: &train::model::ModelArtifact,
    champion: Option<Result<&train::model::ModelArtifact, &registry::ArtifactError>>,
) -> Result<Judged, train::PredictError> {
    let preds = candidate.predict_table(repo, table, holdout)?;
    let has_champion = champion.is_some();
    let (champion_preds, champion_error) = match champion {
        None => (None, None),
        Some(Err(e)) => (None, Some(format!("the champion's artifact: {e}"))),
        Some(Ok(a)) => match a.predict_table(repo, table, holdout) {
            Ok(p) => (Some(p), None),
            Err(e) => (
                None,
                Some(format!("the champion cannot score the holdout: {e}")),
            ),
        },
    };
    let truth = train::truth_of(table, holdout);
    let comparisons = evaluate::compare(
        truth.view(),
        &preds,
        champion_preds.as_ref(),
        &model.evaluation.metrics,
        &model.evaluation.intervals,
        model.evaluation.holdout.seed,
    );
    let mut evaluation = Evaluation::new(
        holdout.len(),
        model.evaluation.primary,
        comparisons,
        champion_preds.is_some(),
        &model.evaluation.intervals,
    );
    evaluation.champion_error = champion_error.clone();
    if let train::TruthOwned::Classes { index, classes } = &truth {
        evaluation.confusion = Some(evaluate::metrics::confusion(index, &preds, *classes));
    }
    evaluation.slices = slice_metrics(table, holdout, &preds, champion_preds.as_ref(), model);
    let mut gate = evaluate::gate::judge(&model.evaluation.gates, &evaluation, has_champion);
    if let Some(e) = champion_error {
        gate.blessed = false;
        gate.notes.push(format!("not blessed: {e}"));
    }
    Ok(Judged {
        evaluation,
        gate,
        predictions: preds,
        truth,
    })
}

/// Metrics of both models per value of each slice column (values with ≥ 1 row).
fn slice_metrics(
    table: &train::table::Table,
    holdout: &[usize],
    cand: &Predictions,
    champ: Option<&Predictions>,
    model: &ModelConfig,
) -> BTreeMap<String, BTreeMap<String, evaluate::SliceMetrics>> {
    let mut out = BTreeMap::new();
    for col in &model.evaluation.slices {
        let Some(f) = table.features.iter().find(|f| &f.name == col) else {
            continue;
        };
        let key = |r: usize| match &f.values {
            train::table::Values::Categorical { codes, dict } => codes[r]
                .map(|c| dict[c as usize].clone())
                .unwrap_or_else(|| "(null)".into()),
            train::table::Values::Numeric(v) => format!("{}", v[r]),
        };
        let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, r) in holdout.iter().enumerate() {
            groups.entry(key(*r)).or_default().push(i);
        }
        let mut per_value = BTreeMap::new();
        for (value, idx) in groups.into_iter().take(50) {
            let rows: Vec<usize> = idx.iter().map(|i| holdout[*i]).collect();
            let truth = train::truth_of(table, &rows);
            let subset = |p: &Predictions| match p {
                Predictions::Classes(a) => Predictions::Classes(a.select(ndarray::Axis(0), &idx)),
                Predictions::Values(v) => Predictions::Values(idx.iter().map(|i| v[*i]).collect()),
            };
            let score = |p: &Predictions| -> BTreeMap<String, f64> {
                let sp = subset(p);
                let prep = evaluate::metrics::Prepared::new(truth.view(), &sp);
                model
                    .evaluation
                    .metrics
                    .iter()
                    .filter_map(|m| prep.metric(*m, None).map(|v| (m.name().to_string(), v)))
                    .collect()
            };
            per_value.insert(
                value,
                evaluate::SliceMetrics {
                    rows: rows.len(),
                    candidate: score(cand),
                    champion: champ.map(score).unwrap_or_default(),
                },
            );
        }
        out.insert(col.clone(), per_value);
    }
    out
}
