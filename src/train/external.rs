//! The external trainer: `training.command` runs any program (Python, Spark, a
//! remote job) as the trainer while retrain keeps the triggers, the evaluation and the
//! gate. The contract:
//!
//! - `train` is run with `sh -c` in the repository root. `{{ data }}` is a CSV of the
//!   training window (feature columns and the target), `{{ output_dir }}` an empty
//!   directory it must fill with the model's files, `{{ params }}` the
//!   `training.params` as JSON. Values are substituted shell-quoted, and are also in
//!   the environment as `RETRAIN_DATA`, `RETRAIN_OUTPUT_DIR`, `RETRAIN_PARAMS`,
//!   `RETRAIN_TARGET`, `RETRAIN_TASK`.
//! - `predict` gets `{{ model_dir }}` (the files `train` wrote), `{{ input }}` (a CSV of
//!   feature columns) and `{{ predictions }}` (the CSV it must write: one row per input
//!   row, a `prediction` column with the class label or value, and for classifiers
//!   optionally `proba_<class>` columns). Environment: `RETRAIN_MODEL_DIR`,
//!   `RETRAIN_INPUT`, `RETRAIN_PREDICTIONS`.
//!
//! The model's files travel inside retrain's artifact (`estimator.kind: external`), so
//! the champion can be scored again later, exactly like a built-in model.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use polars::prelude::*;

use super::table::{Table, Target, Values};
use crate::config::{ExternalTrainer, Task};

#[derive(Debug, thiserror::Error)]
pub enum ExternalError {
    #[error("external trainer: the `{step}` command {problem}")]
    Command { step: &'static str, problem: String },
    #[error("external trainer: {0}")]
    Io(String),
}

fn io(e: impl std::fmt::Display) -> ExternalError {
    ExternalError::Io(e.to_string())
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn render(template: &str, vars: &BTreeMap<&str, String>) -> Result<String, minijinja::Error> {
    let env = minijinja::Environment::new();
    let quoted: BTreeMap<&str, String> = vars.iter().map(|(k, v)| (*k, quote(v))).collect();
    env.render_str(template, quoted)
}

/// Runs a rendered command with a timeout; fails with the tail of its stderr.
fn run(
    step: &'static str,
    template: &str,
    vars: &BTreeMap<&str, String>,
    env: &[(&str, String)],
    cwd: &Path,
    timeout: Option<Duration>,
) -> Result<(), ExternalError> {
    let command = render(template, vars).map_err(|e| ExternalError::Command {
        step,
        problem: format!("template does not render: {e}"),
    })?;
    tracing::info!(step, %command, "running external trainer");
    let stderr_path =
        std::env::temp_dir().join(format!("retrain-{step}-{}.stderr", std::process::id()));
    let stderr = std::fs::File::create(&stderr_path).map_err(io)?;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(&command)
        .current_dir(cwd)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .map_err(|e| ExternalError::Command {
            step,
            problem: format!("cannot start: {e}"),
        })?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(io)? {
            break status;
        }
        if timeout.is_some_and(|t| started.elapsed() > t) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(ExternalError::Command {
                step,
                problem: format!("timed out after {:?}", timeout.unwrap_or_default()),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let err_text = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let _ = std::fs::remove_file(&stderr_path);
    if !status.success() {
        let tail: Vec<&str> = err_text
            .lines()
            .rev()
            .take(10)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        return Err(ExternalError::Command {
            step,
            problem: format!("failed ({status}):\n{}", tail.join("\n")),
        });
    }
    Ok(())
}

/// Writes `rows` of `table` (features, and the target when `with_target`) as CSV.
fn write_csv(
    table: &Table,
    rows: &[usize],
    target: Option<&str>,
    path: &Path,
) -> Result<(), ExternalError> {
    let mut cols: Vec<Column> = Vec::new();
    for f in &table.features {
        let c = match &f.values {
            Values::Numeric(v) => Column::new(
                f.name.as_str().into(),
                rows.iter()
                    .map(|r| Some(v[*r]).filter(|x| !x.is_nan()))
                    .collect::<Vec<Option<f64>>>(),
            ),
            Values::Categorical { codes, dict } => Column::new(
                f.name.as_str().into(),
                rows.iter()
                    .map(|r| codes[*r].map(|c| dict[c as usize].clone()))
                    .collect::<Vec<Option<String>>>(),
            ),
        };
        cols.push(c);
    }
    if let Some(t) = target {
        let c = match &table.target {
            Target::Classes { index, classes } => Column::new(
                t.into(),
                rows.iter()
                    .map(|r| classes[index[*r] as usize].clone())
                    .collect::<Vec<String>>(),
            ),
            Target::Values(v) => {
                Column::new(t.into(), rows.iter().map(|r| v[*r]).collect::<Vec<f64>>())
            }
        };
        cols.push(c);
    }
    let mut df = DataFrame::new(rows.len(), cols).map_err(io)?;
    let file = std::fs::File::create(path).map_err(io)?;
    CsvWriter::new(file).finish(&mut df).map_err(io)
}

/// Trains with the external command; returns the model's files (name -> base64).
pub fn train(
    cfg: &ExternalTrainer,
    repo: &Path,
    table: &Table,
    rows: &[usize],
    target: &str,
    task: Task,
    params: &BTreeMap<String, serde_json::Value>,
) -> Result<BTreeMap<String, String>, ExternalError> {
    let work = tempfile::tempdir().map_err(io)?;
    let data = work.path().join("train.csv");
    let out = work.path().join("model");
    std::fs::create_dir_all(&out).map_err(io)?;
    write_csv(table, rows, Some(target), &data)?;
    let params_json = serde_json::to_string(params).map_err(io)?;
    let vars = BTreeMap::from([
        ("data", data.display().to_string()),
        ("output_dir", out.display().to_string()),
        ("params", params_json.clone()),
    ]);
    let env = [
        ("RETRAIN_DATA", data.display().to_string()),
        ("RETRAIN_OUTPUT_DIR", out.display().to_string()),
        ("RETRAIN_PARAMS", params_json),
        ("RETRAIN_TARGET", target.to_string()),
        (
            "RETRAIN_TASK",
            if task == Task::Classification {
                "classification".into()
            } else {
                "regression".into()
            },
        ),
    ];
    run(
        "train",
        &cfg.train,
        &vars,
        &env,
        repo,
        cfg.timeout.map(|t| Duration::from_secs(t.as_secs())),
    )?;
    let mut files = BTreeMap::new();
    collect(&out, &out, &mut files)?;
    if files.is_empty() {
        return Err(ExternalError::Command {
            step: "train",
            problem: format!(
                "wrote no files into {{{{ output_dir }}}} ({})",
                out.display()
            ),
        });
    }
    Ok(files)
}

fn collect(
    root: &Path,
    dir: &Path,
    out: &mut BTreeMap<String, String>,
) -> Result<(), ExternalError> {
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_dir() {
            collect(root, &path, out)?;
        } else {
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            let bytes = std::fs::read(&path).map_err(io)?;
            out.insert(rel, base64::engine::general_purpose::STANDARD.encode(bytes));
        }
    }
    Ok(())
}

/// Scores `rows` of `table` with an external model: class labels/probabilities or values.
pub fn predict(
    predict_cmd: &str,
    files: &BTreeMap<String, String>,
    repo: &Path,
    table: &Table,
    rows: &[usize],
    classes: &[String],
    timeout: Option<Duration>,
) -> Result<super::model::Predictions, ExternalError> {
    let work = tempfile::tempdir().map_err(io)?;
    let model_dir: PathBuf = work.path().join("model");
    for (name, b64) in files {
        let path = model_dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap_or(&model_dir)).map_err(io)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(io)?;
        std::fs::write(&path, bytes).map_err(io)?;
    }
    let input = work.path().join("input.csv");
    let predictions = work.path().join("predictions.csv");
    write_csv(table, rows, None, &input)?;
    let vars = BTreeMap::from([
        ("model_dir", model_dir.display().to_string()),
        ("input", input.display().to_string()),
        ("predictions", predictions.display().to_string()),
    ]);
    let env = [
        ("RETRAIN_MODEL_DIR", model_dir.display().to_string()),
        ("RETRAIN_INPUT", input.display().to_string()),
        ("RETRAIN_PREDICTIONS", predictions.display().to_string()),
    ];
    run("predict", predict_cmd, &vars, &env, repo, timeout)?;
    let bad = |problem: String| ExternalError::Command {
        step: "predict",
        problem,
    };
    let df = LazyCsvReader::new(PlRefPath::new(predictions.to_str().unwrap_or_default()))
        .with_has_header(true)
        .finish()
        .and_then(|lf| lf.collect())
        .map_err(|e| bad(format!("wrote no readable {{{{ predictions }}}} CSV: {e}")))?;
    if df.height() != rows.len() {
        return Err(bad(format!(
            "wrote {} predictions for {} rows",
            df.height(),
            rows.len()
        )));
    }
    let col = df
        .column("prediction")
        .map_err(|_| bad("wrote no `prediction` column".into()))?
        .as_materialized_series()
        .clone();
    if classes.is_empty() {
        let v = col
            .cast(&DataType::Float64)
            .map_err(|e| bad(e.to_string()))?;
        let v: Vec<f64> = v
            .f64()
            .map_err(|e| bad(e.to_string()))?
            .iter()
            .map(|x| x.unwrap_or(f64::NAN))
            .collect();
        return Ok(super::model::Predictions::Values(v));
    }
    let mut p = ndarray::Array2::<f64>::zeros((rows.len(), classes.len()));
    let probas: Vec<Option<Vec<f64>>> = classes
        .iter()
        .map(|c| {
            df.column(&format!("proba_{c}"))
                .ok()
                .and_then(|s| s.as_materialized_series().cast(&DataType::Float64).ok())
                .and_then(|s| {
                    s.f64()
                        .ok()
                        .map(|ca| ca.iter().map(|x| x.unwrap_or(0.0)).collect())
                })
        })
        .collect();
    if probas.iter().all(Option::is_some) {
        for (k, col) in probas.into_iter().enumerate() {
            for (i, v) in col.unwrap_or_default().into_iter().enumerate() {
                p[[i, k]] = v;
            }
        }
    } else {
        let labels = col
            .cast(&DataType::String)
            .map_err(|e| bad(e.to_string()))?;
        for (i, l) in labels
            .str()
            .map_err(|e| bad(e.to_string()))?
            .iter()
            .enumerate()
        {
            let l = l.unwrap_or_default();
            let k = classes
                .iter()
                .position(|c| {
                    c == l
                        || c.parse::<f64>()
                            .ok()
                            .zip(l.parse::<f64>().ok())
                            .is_some_and(|(a, b)| a == b)
                })
                .ok_or_else(|| {
                    bad(format!(
                        "predicted class `{l}`, which is not one of {}",
                        classes.join(", ")
                    ))
                })?;
            p[[i, k]] = 1.0;
        }
    }
    Ok(super::model::Predictions::Classes(p))
}
