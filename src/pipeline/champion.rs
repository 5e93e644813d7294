//! The champion on the new rows, before a retrain is decided: scored on the labelled
//! ones (the performance trigger, with its change detector), its metric estimated on
//! the ones without labels (CBPE), and its outputs on all of them against its outputs on
//! the reference rows (the prediction-drift trigger).

use std::collections::HashSet;

use crate::checks;
use crate::config::ModelConfig;
use crate::decision::{EstimatedPerformance, PerformanceObservation, Unscored};
use crate::evaluate;
use crate::snapshot::Manifest;
use crate::train;

use super::Champion;

/// The loaders of [`train::table`]: which of a file's rows, and columns, are read.
type Loader = fn(
    &std::path::Path,
    &ModelConfig,
    &Manifest,
    Option<&HashSet<String>>,
    Option<polars::prelude::Expr>,
) -> Result<train::table::Table, crate::data::DataError>;

/// The champion's artifact, or why it could not be read.
fn artifact_of(champion: &Champion) -> Result<&train::model::ModelArtifact, Unscored> {
    champion
        .artifact
        .as_ref()
        .map_err(|e| Unscored(format!("the champion's artifact: {e}")))
}

/// The new rows (of the current files, after the reference's newest time) that `load`
/// reads, and `artifact`'s predictions of all of them; `None` without such rows.
fn predict_new_rows(
    repo: &std::path::Path,
    model: &ModelConfig,
    reference: &Manifest,
    snapshot: &Manifest,
    current: &checks::current::CurrentData,
    artifact: &train::model::ModelArtifact,
    load: Loader,
) -> Result<Option<(train::table::Table, train::model::Predictions)>, Unscored> {
    if current.rows == 0 {
        return Ok(None);
    }
    let files: HashSet<String> = current.files.iter().cloned().collect();
    let (filter, _) = checks::current::time_filter(model, reference);
    let table =
        load(repo, model, snapshot, Some(&files), filter).map_err(|e| Unscored(e.to_string()))?;
    if table.rows() == 0 {
        return Ok(None);
    }
    let rows: Vec<usize> = (0..table.rows()).collect();
    let preds = artifact
        .predict_table(repo, &table, &rows)
        .map_err(|e| Unscored(e.to_string()))?;
    Ok(Some((table, preds)))
}

/// The champion scored on the newly labelled rows (the performance trigger).
pub(super) fn score_champion(
    repo: &std::path::Path,
    model: &ModelConfig,
    reference: &Manifest,
    snapshot: &Manifest,
    current: &checks::current::CurrentData,
    champion: &Champion,
    trigger: &crate::config::PerformanceTrigger,
) -> Result<Option<PerformanceObservation>, Unscored> {
    let metric = trigger.metric;
    let artifact = artifact_of(champion)?;
    let load = train::table::load;
    let Some((table, preds)) =
        predict_new_rows(repo, model, reference, snapshot, current, artifact, load)?
    else {
        return Ok(None);
    };
    let rows: Vec<usize> = (0..table.rows()).collect();
    let truth = train::truth_of(&table, &rows);
    let value = evaluate::metrics::Prepared::new(truth.view(), &preds)
        .metric(metric, None)
        .ok_or_else(|| Unscored(format!("{metric} is undefined on the new rows")))?;
    let detector = trigger
        .detector
        .as_ref()
        .map(|spec| detect_changes(model, snapshot, &table, spec, &truth, &preds));
    Ok(Some(PerformanceObservation {
        metric,
        value,
        baseline: champion.version.metrics.get(metric.name()).copied(),
        rows: table.rows() as u64,
        detector,
    }))
}

/// The champion's metric estimated on the new rows without labels from its calibrated
/// scores (`triggers.performance.estimate: cbpe`); `Ok(None)` without such rows.
pub(super) fn estimate_champion(
    repo: &std::path::Path,
    model: &ModelConfig,
    reference: &Manifest,
    snapshot: &Manifest,
    current: &checks::current::CurrentData,
    champion: &Champion,
    metric: crate::config::Metric,
) -> Result<Option<EstimatedPerformance>, Unscored> {
    let artifact = artifact_of(champion)?;
    let calibration = calibration_in(artifact.calibration.as_ref(), artifact.classes.len())?;
    let load = train::table::load_without_labels;
    let Some((_, preds)) =
        predict_new_rows(repo, model, reference, snapshot, current, artifact, load)?
    else {
        return Ok(None);
    };
    let (raw, positive) = class_scores(&preds)?;
    let baseline = champion.version.metrics.get(metric.name()).copied();
    cbpe(calibration, &raw, &positive, metric, baseline).map(Some)
}

/// The calibration a model's artifact records (`classes`: how many it has), or why there
/// is none to estimate with.
pub(crate) fn calibration_in(
    record: Option<&train::model::CalibrationRecord>,
    classes: usize,
) -> Result<&train::calibration::Calibration, Unscored> {
    use train::model::CalibrationRecord;
    match record {
        Some(CalibrationRecord::Fitted(c)) => Ok(c),
        Some(CalibrationRecord::Unavailable { reason }) => Err(Unscored(format!(
            "the champion could not be calibrated when it was trained: {reason}"
        ))),
        None if classes != 2 => Err(Unscored(format!(
            "CBPE estimates binary classifiers; the champion has {classes} classes"
        ))),
        None => Err(Unscored(
            "the champion's artifact has no calibration (it was trained before retrain \
             calibrated models); the next model trained will have one"
                .into(),
        )),
    }
}

/// A binary classifier's positive-class scores and whether it predicts the positive class,
/// row by row.
pub(crate) fn class_scores(
    preds: &train::model::Predictions,
) -> Result<(Vec<f64>, Vec<bool>), Unscored> {
    let train::model::Predictions::Classes(p) = preds else {
        return Err(Unscored("the champion does not give class scores".into()));
    };
    let raw = p.column(1).to_vec();
    let positive = preds.labels().iter().map(|c| *c == 1).collect();
    Ok((raw, positive))
}

/// CBPE's estimate of `metric` from raw positive-class scores and predicted classes,
/// the scores mapped by `calibration` (`baseline`: the model's value on its holdout).
pub(crate) fn cbpe(
    calibration: &train::calibration::Calibration,
    raw: &[f64],
    positive: &[bool],
    metric: crate::config::Metric,
    baseline: Option<f64>,
) -> Result<EstimatedPerformance, Unscored> {
    use crate::config::Metric;
    let scores: Vec<f64> = raw.iter().map(|s| calibration.apply(*s)).collect();
    let e = checks::estimate::estimate(&scores, positive)
        .ok_or_else(|| Unscored("no rows to estimate on".into()))?;
    let value = match metric {
        Metric::Accuracy => Some(e.accuracy),
        Metric::Precision => e.precision,
        Metric::Recall => e.recall,
        Metric::F1 => e.f1,
        Metric::RocAuc => e.roc_auc,
        other => {
            return Err(Unscored(format!("CBPE does not estimate {other}")));
        }
    }
    .ok_or_else(|| {
        Unscored(format!(
            "the estimated {metric} is undefined on the {} new rows without labels",
            e.rows
        ))
    })?;
    Ok(EstimatedPerformance {
        method: "cbpe",
        metric,
        value,
        band: (metric == Metric::Accuracy).then_some(e.accuracy_band),
        rows: e.rows as u64,
        baseline,
        calibrated: calibration.isotonic.is_some(),
    })
}

/// The detector `spec` over the champion's per-row errors on `table` (the new rows), in
/// time order; each change with its row's time.
fn detect_changes(
    model: &ModelConfig,
    snapshot: &Manifest,
    table: &train::table::Table,
    spec: &crate::config::DetectorSpec,
    truth: &train::TruthOwned,
    preds: &train::model::Predictions,
) -> checks::detect::DetectorReport {
    let errors = evaluate::metrics::row_errors(truth.view(), preds);
    let order = table.time_order();
    let stream: Vec<f64> = order
        .iter()
        .filter_map(|r| errors.get(*r).copied())
        .collect();
    let datetime = model
        .time_column
        .as_ref()
        .and_then(|t| snapshot.column(t))
        .is_some_and(|c| c.kind == crate::config::ColumnKind::Datetime);
    let mut report = checks::detect::DetectorReport::run(spec, &stream, model.task);
    if let Some(time) = &table.time {
        for c in &mut report.changes {
            let t = time[order[c.row]];
            c.at = Some(if datetime {
                chrono::DateTime::from_timestamp_millis(t as i64)
                    .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
                    .unwrap_or_else(|| t.to_string())
            } else {
                t.to_string()
            });
        }
    }
    report
}

/// At most this many reference rows (evenly spaced in time order) are scored for the
/// prediction-drift reference: enough for any of the drift tests.
const REFERENCE_SAMPLE: usize = 200_000;

/// The champion's outputs on the new rows (labelled or not) against its outputs on the
/// reference rows (`triggers.prediction_drift`).
#[allow(clippy::too_many_arguments)]
pub(super) fn prediction_drift(
    repo: &std::path::Path,
    model: &ModelConfig,
    reference: &Manifest,
    snapshot: &Manifest,
    current: &checks::current::CurrentData,
    champion: &Champion,
    trigger: &crate::config::PredictionDriftTrigger,
) -> Result<Option<checks::drift::ColumnDrift>, Unscored> {
    let artifact = artifact_of(champion)?;
    if current.rows == 0 {
        return Ok(None);
    }
    let (filter, _) = checks::current::time_filter(model, reference);
    let outputs = |manifest: &Manifest, files: HashSet<String>, filter, sample: bool| {
        let table = train::table::load_unlabelled(repo, model, manifest, Some(&files), filter)
            .map_err(|e| Unscored(e.to_string()))?;
        let order = table.time_order();
        let rows: Vec<usize> = if sample && order.len() > REFERENCE_SAMPLE {
            (0..REFERENCE_SAMPLE)
                .map(|i| order[i * order.len() / REFERENCE_SAMPLE])
                .collect()
        } else {
            order
        };
        let preds = artifact
            .predict_table(repo, &table, &rows)
            .map_err(|e| Unscored(e.to_string()))?;
        Ok::<_, Unscored>(preds.outputs(&artifact.classes))
    };
    let current_files: HashSet<String> = current.files.iter().cloned().collect();
    let now = outputs(snapshot, current_files, filter.clone(), false)?;
    if now.is_empty() {
        return Ok(None);
    }
    let reference_files: HashSet<String> = reference.files.iter().map(|f| f.path.clone()).collect();
    // rows of the reference's files up to its newest time (a file may have grown since)
    let then = outputs(reference, reference_files, filter.map(|f| f.not()), true)?;
    if then.is_empty() {
        return Err(Unscored(
            "none of the reference's rows are in the data any more".into(),
        ));
    }
    Ok(Some(checks::prediction::prediction_drift(
        &checks::prediction::output_name(&now, &artifact.classes),
        &then,
        &now,
        trigger.method,
        trigger.threshold,
        model.profile.top_k,
    )))
}
