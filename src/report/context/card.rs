//! The model card's context.

use serde::Serialize;

use super::{dash, metric_rows, pct, severity, MetricRow};
use crate::config::{HoldoutKind, ModelConfig, Task};
use crate::outcome::ModelRun;
use crate::registry::Proposal;

#[derive(Serialize)]
pub struct SliceRow {
    pub slice: String,
    pub rows: usize,
    pub values: Vec<String>,
}

#[derive(Serialize)]
pub struct ConfusionRow {
    pub label: String,
    pub counts: Vec<u64>,
}

/// The model card of a proposed version.
#[derive(Serialize)]
pub struct CardContext {
    pub model: String,
    pub version: u32,
    pub task: &'static str,
    /// Hugging Face's task name (the front matter).
    pub hf_task: &'static str,
    pub target: String,
    pub classes: Vec<String>,
    pub algorithm: String,
    /// `k=v, k=v`.
    pub params: String,
    pub artifact_uri: String,
    pub artifact_bytes: u64,
    pub digest: String,
    pub numeric_steps: usize,
    pub onehot_steps: usize,
    /// Tree models: inputs as they are (`value`/`code` steps), not scaled or one-hot.
    pub native_inputs: bool,
    /// A tree ensemble: its trees and, after warm starts, where they came from.
    pub trees: Option<TreeCounts>,
    /// `model.onnx`: its file name, inputs (name, ONNX type) and outputs; or why not.
    pub onnx: Option<OnnxCard>,
    pub onnx_why_not: Option<String>,
    /// CBPE's calibration of a binary classifier: the words of the card's line.
    pub calibration: Option<String>,
    /// `training.search`: the trials.
    pub search: Option<super::pr::SearchView>,
    pub trained_at: String,
    pub retrain_version: String,
    pub slices: Vec<String>,
    pub metrics: Vec<MetricRow>,
    pub metric_names: Vec<String>,
    pub slice_rows: Vec<SliceRow>,
    pub confusion: Option<Vec<ConfusionRow>>,
    pub holdout: String,
    pub holdout_rows: usize,
    pub confidence_pct: String,
    pub resamples: u32,
    pub snapshot: String,
    pub snapshot_short: String,
    pub data_source: String,
    pub snapshot_rows: u64,
    pub snapshot_files: usize,
    pub window: String,
    pub training_rows: usize,
    pub refit_rows: Option<usize>,
    pub features: Vec<String>,
    pub caveats: Vec<String>,
}

impl CardContext {
    /// `None` unless the run trained and evaluated a candidate.
    pub fn new(run: &ModelRun, model: &ModelConfig, proposal: &Proposal) -> Option<Self> {
        let trained = run.trained()?;
        let (c, e, t) = (
            &trained.artifact,
            &trained.evaluation,
            &trained.artifact.report,
        );
        let version = proposal.pointer.champion.as_ref()?;
        let a = &c.artifact;
        let mut caveats: Vec<String> = run
            .check
            .anomalies
            .iter()
            .map(|x| format!("data validation ({}): {}", severity(x.severity), x.message))
            .collect();
        caveats.extend(
            t.skipped
                .iter()
                .map(|s| format!("not used as a feature: {s}")),
        );
        if e.champion.is_none() {
            caveats.push("first version: there was no champion to compare with".into());
        }
        if !trained.gate.blessed {
            caveats.push("the candidate was NOT blessed by the gate; see the pull request".into());
        }
        let holdout = &model.evaluation.holdout;
        caveats.push(format!(
            "metrics come from a {} holdout of the data available at training time; they do not guarantee performance on future data, which drifts",
            match holdout.kind {
                HoldoutKind::Time => "time-ordered (newest rows)",
                HoldoutKind::Random => "random",
            }
        ));
        let metric_names: Vec<String> = e
            .metrics
            .iter()
            .map(|m| m.metric.name().to_string())
            .collect();
        let slice_rows = e
            .slices
            .iter()
            .flat_map(|(col, values)| {
                let names = &metric_names;
                values.iter().map(move |(v, s)| SliceRow {
                    slice: format!("{col} = {v}"),
                    rows: s.rows,
                    values: names
                        .iter()
                        .map(|n| dash(s.candidate.get(n).copied()))
                        .collect(),
                })
            })
            .collect();
        let confusion = e.confusion.as_ref().map(|cm| {
            cm.iter()
                .enumerate()
                .map(|(i, row)| ConfusionRow {
                    label: a.classes.get(i).cloned().unwrap_or_default(),
                    counts: row.clone(),
                })
                .collect()
        });
        let numeric_steps = a
            .preprocessing
            .steps
            .iter()
            .filter(|s| {
                matches!(
                    s,
                    crate::train::preprocess::Step::Numeric { .. }
                        | crate::train::preprocess::Step::Value { .. }
                )
            })
            .count();
        let trees = match &a.estimator {
            crate::train::model::Estimator::Ensemble(e) => Some(TreeCounts {
                total: e.trees.len(),
                origins: e
                    .origins
                    .iter()
                    .map(|o| TreeOrigin {
                        snapshot: o.snapshot.chars().take(12).collect(),
                        trees: o.trees,
                        this_run: o.snapshot == a.training.snapshot,
                    })
                    .collect(),
            }),
            _ => None,
        };
        let onnx = c.onnx.as_ref().map(|_| OnnxCard {
            file: version
                .onnx
                .as_ref()
                .map(|o| o.uri.clone())
                .unwrap_or_else(|| "model.onnx".into()),
            inputs: a
                .preprocessing
                .steps
                .iter()
                .map(|s| OnnxInput {
                    name: s.column().to_string(),
                    literal: python_string(s.column()),
                    kind: match s {
                        crate::train::preprocess::Step::Numeric { .. }
                        | crate::train::preprocess::Step::Value { .. } => "float32",
                        _ => "string",
                    },
                })
                .collect(),
            outputs: if model.task == Task::Classification {
                "label (string, [N]), probabilities (float32, [N, classes] in the order of the classes above)"
            } else {
                "prediction (float32, [N, 1])"
            },
        });
        let onnx_why_not = t.onnx.as_ref().and_then(|o| o.why_not.clone());
        let calibration = a.calibration.as_ref().map(calibration_words);
        let native_inputs = a.preprocessing.steps.iter().any(|s| {
            matches!(
                s,
                crate::train::preprocess::Step::Value { .. }
                    | crate::train::preprocess::Step::Code { .. }
            )
        });
        let (task, hf_task) = match model.task {
            Task::Classification => ("classification", "tabular-classification"),
            Task::Regression => ("regression", "tabular-regression"),
        };
        let share = holdout.fraction.get() * 100.0;
        Some(Self {
            model: model.name.to_string(),
            version: proposal.version,
            task,
            hf_task,
            target: model.target.clone(),
            classes: a.classes.clone(),
            algorithm: t.algorithm.clone(),
            params: a
                .params
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", "),
            artifact_uri: version.artifact.uri.clone(),
            artifact_bytes: version.artifact.size,
            digest: version.artifact.digest.clone(),
            numeric_steps,
            onehot_steps: a.preprocessing.steps.len() - numeric_steps,
            native_inputs,
            trees,
            onnx,
            onnx_why_not,
            calibration,
            search: t.search.as_ref().map(super::pr::SearchView::of),
            trained_at: a
                .training
                .trained_at
                .format("%Y-%m-%d %H:%M UTC")
                .to_string(),
            retrain_version: a.training.retrain_version.clone(),
            slices: e.slices.keys().cloned().collect(),
            metrics: metric_rows(run),
            metric_names,
            slice_rows,
            confusion,
            holdout: match holdout.kind {
                HoldoutKind::Time => {
                    format!("the newest {share:.0}% of the training window's rows by time")
                }
                HoldoutKind::Random => format!(
                    "a random {share:.0}% of the training window's rows (seed {})",
                    holdout.seed
                ),
            },
            holdout_rows: e.holdout_rows,
            confidence_pct: pct(e.confidence),
            resamples: e.resamples,
            snapshot: run.check.snapshot.clone(),
            snapshot_short: run.check.snapshot[..12].to_string(),
            data_source: model.data.to_string(),
            snapshot_rows: run.check.snapshot_rows,
            snapshot_files: run.check.snapshot_files,
            window: t.window.clone(),
            training_rows: t.rows,
            refit_rows: t.refit.as_ref().map(|r| r.rows),
            features: t.features.clone(),
            caveats,
        })
    }
}

#[derive(Debug, Serialize)]
pub struct TreeCounts {
    pub total: usize,
    pub origins: Vec<TreeOrigin>,
}

#[derive(Debug, Serialize)]
pub struct TreeOrigin {
    pub snapshot: String,
    pub trees: usize,
    pub this_run: bool,
}

#[derive(Debug, Serialize)]
pub struct OnnxCard {
    pub file: String,
    pub inputs: Vec<OnnxInput>,
    pub outputs: &'static str,
}

/// `s` as a Python string literal that cannot be read as Markdown, HTML or a mention
/// (`<`, `>`, `&`, `'`, `@`, `` ` `` and controls as `\uXXXX`).
fn python_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '<' | '>' | '&' | '\'' | '@' | '`' | '[' | ']' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[derive(Debug, Serialize)]
pub struct OnnxInput {
    pub name: String,
    /// `name` as a Python string literal, safe in the card.
    pub literal: String,
    pub kind: &'static str,
}

/// "isotonic, fitted on the 2000 holdout rows: calibration error 0.041 → 0.006 …".
fn calibration_words(c: &crate::train::model::CalibrationRecord) -> String {
    use crate::train::model::CalibrationRecord;
    match c {
        CalibrationRecord::Fitted(c) => {
            let errors = format!(
                "calibration error {:.4} raw, {:.4} calibrated, on the {} holdout rows",
                c.error_raw, c.error_calibrated, c.rows
            );
            if c.isotonic.is_some() {
                format!("isotonic map of the score kept ({errors})")
            } else {
                format!("raw scores kept, the isotonic map did not lower the error ({errors})")
            }
        }
        CalibrationRecord::Unavailable { reason } => format!("not available: {reason}"),
    }
}
