//! `retrain init`: look at a data file and write a commented `retrain.yaml` and the
//! two workflows (`.github/workflows/retrain.yml`, `retrain-promote.yml`). Guesses
//! (target, task, time column) are said as such in the file and in the output, and
//! can be confirmed by flags. The config is validated before anything is written;
//! existing files are never overwritten without `--force`; files are written
//! atomically.

use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::Serialize;

use crate::config::ColumnKind;
use crate::data::{DataFile, FileFormat};
use crate::error::Error;

const CONFIG_TEMPLATE: &str = include_str!("../templates/init/retrain.yaml.j2");
const WORKFLOW_TEMPLATE: &str = include_str!("../templates/init/retrain.yml.j2");
const PROMOTE_TEMPLATE: &str = include_str!("../templates/init/retrain-promote.yml.j2");
/// Above this many rows `init` proposes `gradient_boosting` (below, a linear model:
/// boosted trees need data to beat it).
const GRADIENT_BOOSTING_ROWS: u64 = 5_000;

#[derive(Debug, Clone)]
pub struct InitRequest {
    pub repo: PathBuf,
    pub data: Option<PathBuf>,
    pub target: Option<String>,
    pub time_column: Option<String>,
    pub model: Option<String>,
    pub base: String,
    pub force: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct WrittenFile {
    pub path: String,
    /// `created` or `overwritten`.
    pub action: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct InitReport {
    pub model: String,
    pub data: String,
    pub task: String,
    pub target: String,
    pub target_guessed: bool,
    pub time_column: Option<String>,
    pub time_column_guessed: bool,
    pub files: Vec<WrittenFile>,
}

const TARGET_NAMES: &[&str] = &[
    "label", "target", "class", "y", "outcome", "churn", "churned", "is_fraud", "fraud", "default",
];
const TIME_NAMES: &[&str] = &[
    "timestamp",
    "ts",
    "time",
    "datetime",
    "date",
    "event_time",
    "created_at",
];

fn usage(m: String) -> Error {
    Error::Usage(m)
}

/// The first CSV or Parquet file under `data/` (or the repository), for `init` without `--data`.
fn find_data(repo: &Path) -> Option<PathBuf> {
    fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with('.') || name == "target" || name == "node_modules" {
                continue;
            }
            if p.is_dir() && depth < 3 {
                walk(&p, depth + 1, out);
            } else if crate::data::format_of(&name).is_some() {
                out.push(p);
            }
        }
    }
    let mut found = Vec::new();
    walk(repo, 0, &mut found);
    found.sort();
    found.into_iter().next()
}

fn rel_path(repo: &Path, file: &Path) -> Result<String, Error> {
    let repo = repo
        .canonicalize()
        .map_err(|e| usage(format!("`{}`: {e}", repo.display())))?;
    let abs = file
        .canonicalize()
        .map_err(|e| usage(format!("--data `{}`: {e}", file.display())))?;
    let rel = abs.strip_prefix(&repo).map_err(|_| {
        usage(format!(
            "--data `{}` is outside the repository `{}`: copy or link the data into it",
            file.display(),
            repo.display()
        ))
    })?;
    Ok(rel.to_string_lossy().replace('\\', "/"))
}

/// `dir/*.ext` when the file has siblings of its format (partitions), else the file.
fn data_path(repo: &Path, rel: &str) -> String {
    let path = Path::new(rel);
    let (Some(dir), Some(ext)) = (path.parent(), path.extension()) else {
        return rel.to_string();
    };
    let ext = ext.to_string_lossy().to_string();
    let siblings = std::fs::read_dir(repo.join(dir))
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    e.path()
                        .extension()
                        .is_some_and(|x| x.to_string_lossy() == ext)
                })
                .count()
        })
        .unwrap_or(0);
    if siblings > 1 {
        let d = dir.to_string_lossy();
        if d.is_empty() {
            format!("*.{ext}")
        } else {
            format!("{d}/*.{ext}")
        }
    } else {
        rel.to_string()
    }
}

fn model_name(repo: &Path) -> String {
    let raw = repo
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().to_string()))
        .unwrap_or_else(|| "model".into());
    let name: String = raw
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let name = name.trim_matches('-').to_string();
    if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        "model".into()
    } else {
        name
    }
}

fn round_down(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).floor() / f
}

fn significant(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return 0.0;
    }
    let mag = 10f64.powf(x.abs().log10().floor() - 1.0);
    (x / mag).round() * mag
}

pub fn init(req: &InitRequest) -> Result<InitReport, Error> {
    let repo = &req.repo;
    if !repo.is_dir() {
        return Err(usage(format!(
            "repository directory `{}` does not exist",
            repo.display()
        )));
    }
    // `--data s3://bucket/prefix/*.parquet` (or gs://, az://, https://): the first object
    // is inspected (read into the local cache), and the config reads the URL
    let url = req
        .data
        .as_ref()
        .and_then(|d| d.to_str())
        .filter(|d| {
            d.split_once("://")
                .is_some_and(|(s, _)| crate::config::URL_SCHEMES.contains(&s))
        })
        .map(str::to_string);
    let remote = match &url {
        Some(u) => {
            let err = |e: crate::data::DataError| Error::Snapshot(e.into());
            let listing =
                crate::data::remote::list(u, crate::config::DataFormat::Auto).map_err(err)?;
            let first = listing.objects[0].clone();
            let (abs, _) = crate::data::cache::ObjectCache::new(repo)
                .materialize(&listing, &first)
                .map_err(err)?;
            Some((abs, first.name))
        }
        None => None,
    };
    let data = match &req.data {
        _ if remote.is_some() => remote.as_ref().expect("remote").0.clone(),
        Some(d) if d.is_absolute() => d.clone(),
        Some(d) => {
            // relative to the current directory, as shells complete it
            let here = std::env::current_dir()
                .map(|c| c.join(d))
                .unwrap_or(d.clone());
            if here.exists() {
                here
            } else {
                repo.join(d)
            }
        }
        None => find_data(repo).ok_or_else(|| {
            usage(format!(
                "no CSV or Parquet file found in `{}`: pass --data FILE",
                repo.display()
            ))
        })?,
    };
    let rel = match &remote {
        Some((_, name)) => name.clone(),
        None => rel_path(repo, &data)?,
    };
    let format = crate::data::format_of(&rel).ok_or_else(|| {
        usage(format!(
            "--data `{rel}`: only .csv and .parquet files can be inspected"
        ))
    })?;
    let size = std::fs::metadata(&data).map(|m| m.len()).unwrap_or(0);
    let file = DataFile {
        rel: rel.clone(),
        abs: data.clone(),
        format,
        size,
        prepared: Default::default(),
    };
    let schema = file.schema().map_err(|e| usage(e.to_string()))?;
    let columns: Vec<(String, DataType)> = schema
        .iter()
        .map(|(n, t)| (n.to_string(), t.clone()))
        .collect();
    let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
    let pick = |flag: &Option<String>, what: &str| -> Result<Option<String>, Error> {
        match flag {
            Some(c) if names.contains(&c.as_str()) => Ok(Some(c.clone())),
            Some(c) => Err(usage(format!(
                "--{what} `{c}` is not a column of `{rel}` (columns: {}){}",
                names.join(", "),
                crate::config::did_you_mean(c, names.iter().copied())
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default()
            ))),
            None => Ok(None),
        }
    };
    let time_flag = pick(&req.time_column, "time-column")?;
    let (time_column, time_guessed) = match time_flag {
        Some(t) => (Some(t), false),
        None => {
            let by_type = columns
                .iter()
                .find(|(_, t)| crate::data::kind_of(t) == Some(ColumnKind::Datetime))
                .map(|(n, _)| n.clone());
            let by_name = || {
                TIME_NAMES.iter().find_map(|want| {
                    columns
                        .iter()
                        .find(|(n, t)| {
                            n.eq_ignore_ascii_case(want)
                                && crate::data::kind_of(t) == Some(ColumnKind::Datetime)
                        })
                        .map(|(n, _)| n.clone())
                })
            };
            let g = by_type.or_else(by_name);
            let guessed = g.is_some();
            (g, guessed)
        }
    };
    let (target, target_guessed) = match pick(&req.target, "target")? {
        Some(t) => (t, false),
        None => {
            let by_name = TARGET_NAMES.iter().find_map(|want| {
                names
                    .iter()
                    .find(|n| n.eq_ignore_ascii_case(want))
                    .map(|n| n.to_string())
            });
            let last = names
                .iter()
                .rev()
                .find(|n| Some(n.to_string()) != time_column)
                .map(|n| n.to_string());
            (
                by_name
                    .or(last)
                    .ok_or_else(|| usage(format!("`{rel}` has no columns")))?,
                true,
            )
        }
    };
    if Some(&target) == time_column.as_ref() {
        return Err(usage(format!(
            "the target `{target}` cannot also be the time column"
        )));
    }
    let dtype = columns
        .iter()
        .find(|(n, _)| *n == target)
        .map(|(_, t)| t.clone())
        .expect("target is a column");
    // What the target looks like decides the task.
    let stats = file
        .scan()
        .map_err(|e| usage(e.to_string()))?
        .select([
            len().alias("rows"),
            col(target.as_str()).n_unique().alias("distinct"),
        ])
        .collect()
        .map_err(|e| usage(format!("`{rel}`: {e}")))?;
    let get = |c: &str| {
        stats
            .column(c)
            .ok()
            .and_then(|s| s.get(0).ok())
            .and_then(|v| v.extract::<u64>())
            .unwrap_or(0)
    };
    let (rows, distinct) = (get("rows"), get("distinct"));
    let kind = crate::data::kind_of(&dtype);
    let is_int = dtype.is_integer();
    let classification = match kind {
        Some(ColumnKind::Categorical) => true,
        Some(ColumnKind::Numeric) => (is_int && distinct <= 20) || distinct <= 10,
        _ => {
            return Err(usage(format!(
                "the target `{target}` is a {dtype} column: pick another with --target"
            )))
        }
    };
    let task_reason = if classification {
        format!("`{target}` has {distinct} distinct values: classification")
    } else {
        format!("`{target}` is numeric with {distinct} distinct values: regression")
    };
    let binary = classification && distinct <= 2;
    let (metrics, primary, gates, max_drop, algorithm) = if classification {
        // The majority class rate: a model must beat always answering it.
        let majority = file
            .scan()
            .map_err(|e| usage(e.to_string()))?
            .select([col(target.as_str())
                .value_counts(true, false, "count", false)
                .struct_()
                .field_by_name("count")
                .first()
                .alias("top")])
            .collect()
            .ok()
            .and_then(|df| {
                df.column("top")
                    .ok()
                    .and_then(|c| c.get(0).ok())
                    .and_then(|v| v.extract::<u64>())
            })
            .unwrap_or(0);
        let base_rate = if rows > 0 {
            majority as f64 / rows as f64
        } else {
            0.5
        };
        let mut metrics = vec!["accuracy", "balanced_accuracy"];
        if binary {
            metrics.extend(["f1", "roc_auc"]);
        } else {
            metrics.push("f1_macro");
        }
        (
            metrics,
            "accuracy",
            vec![
                format!(
                    "{{ metric: accuracy, min: {} }}   # the majority class alone scores {:.3}",
                    round_down(base_rate, 2),
                    base_rate
                ),
                "{ metric: accuracy, min_change: -0.005 }   # at most 0.5 points worse than the champion".to_string(),
            ],
            "0.03".to_string(),
            if rows > GRADIENT_BOOSTING_ROWS {
                "gradient_boosting"
            } else {
                "logistic_regression"
            },
        )
    } else {
        let std = file
            .scan()
            .map_err(|e| usage(e.to_string()))?
            .select([col(target.as_str())
                .cast(DataType::Float64)
                .std(1)
                .alias("s")])
            .collect()
            .ok()
            .and_then(|df| {
                df.column("s")
                    .ok()
                    .and_then(|c| c.get(0).ok())
                    .and_then(|v| v.extract::<f64>())
            })
            .unwrap_or(1.0);
        (
            vec!["rmse", "mae", "r2"],
            "rmse",
            vec![
                "{ metric: r2, min: 0.0 }   # better than predicting the mean".to_string(),
                "{ metric: rmse, min_relative_change: -0.01 }   # at most 1% worse than the champion".to_string(),
            ],
            format!("{}", significant(0.1 * std)),
            if rows > GRADIENT_BOOSTING_ROWS {
                "gradient_boosting"
            } else {
                "linear_regression"
            },
        )
    };
    let model = req.model.clone().unwrap_or_else(|| model_name(repo));
    let data_path = match &url {
        Some(u) => u.clone(),
        None => data_path(repo, &rel),
    };
    let store = url
        .as_deref()
        .and_then(|u| u.split_once("://"))
        .map(|(s, _)| match s {
            "s3" => "s3",
            "gs" => "gs",
            "az" | "abfs" | "abfss" => "azure",
            _ => "https",
        });
    let features: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| *n != target && Some(n.to_string()) != time_column)
        .collect();
    let ctx = minijinja::context! {
        data_file => rel,
        rows,
        columns => names,
        model,
        task => if classification { "classification" } else { "regression" },
        task_reason,
        target,
        target_guessed,
        time_column,
        time_guessed,
        features,
        categorical_target => classification && kind == Some(ColumnKind::Numeric),
        data_path,
        data_url => url,
        store,
        format => if format == FileFormat::Csv { "csv" } else { "parquet" },
        min_rows => (rows / 10).clamp(100, 100_000),
        primary,
        max_drop,
        algorithm,
        algorithm_reason => if algorithm == "gradient_boosting" {
            format!("{rows} rows: boosted trees, the model most teams ship on tabular data")
        } else {
            format!("{rows} rows: a linear model (gradient_boosting above {GRADIENT_BOOSTING_ROWS} rows)")
        },
        holdout => "time",
        metrics,
        gates,
        base => req.base,
        data_glob => data_path,
    };
    let mut env = minijinja::Environment::new();
    env.set_keep_trailing_newline(true);
    let render = |name: &str, src: &str| {
        env.render_str(src, &ctx)
            .map_err(|e| usage(format!("template {name}: {e}")))
    };
    let files = [
        (
            "retrain.yaml".to_string(),
            render("retrain.yaml", CONFIG_TEMPLATE)?,
        ),
        (
            ".github/workflows/retrain.yml".to_string(),
            render("retrain.yml", WORKFLOW_TEMPLATE)?,
        ),
        (
            ".github/workflows/retrain-promote.yml".to_string(),
            render("retrain-promote.yml", PROMOTE_TEMPLATE)?,
        ),
    ];
    // The config must load as it is written, before anything is written.
    crate::config::parse(&repo.join("retrain.yaml"), &files[0].1).map_err(|mut e| {
        e.message = format!(
            "the generated config does not validate (a bug in `retrain init`): {}",
            e.message
        );
        Error::Config(e)
    })?;
    let existing: Vec<&str> = files
        .iter()
        .filter(|(p, _)| repo.join(p).exists())
        .map(|(p, _)| p.as_str())
        .collect();
    if !existing.is_empty() && !req.force {
        return Err(usage(format!(
            "{} exist(s) already; nothing was written (use --force to overwrite)",
            existing
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let mut written = Vec::new();
    for (path, text) in &files {
        let abs = repo.join(path);
        let action = if abs.exists() {
            "overwritten"
        } else {
            "created"
        };
        let dir = abs.parent().expect("a file has a parent");
        std::fs::create_dir_all(dir).map_err(|e| Error::Io {
            context: format!("create `{}`", dir.display()),
            source: e,
        })?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::Io {
            context: format!("write `{path}`"),
            source: e,
        })?;
        std::io::Write::write_all(&mut tmp, text.as_bytes()).map_err(|e| Error::Io {
            context: format!("write `{path}`"),
            source: e,
        })?;
        tmp.persist(&abs).map_err(|e| Error::Io {
            context: format!("write `{path}`"),
            source: e.error,
        })?;
        written.push(WrittenFile {
            path: path.clone(),
            action,
        });
    }
    Ok(InitReport {
        model: ctx
            .get_attr("model")
            .map(|v| v.to_string())
            .unwrap_or_default(),
        data: ctx
            .get_attr("data_path")
            .map(|v| v.to_string())
            .unwrap_or_default(),
        task: ctx
            .get_attr("task")
            .map(|v| v.to_string())
            .unwrap_or_default(),
        target: ctx
            .get_attr("target")
            .map(|v| v.to_string())
            .unwrap_or_default(),
        target_guessed,
        time_column: ctx
            .get_attr("time_column")
            .ok()
            .filter(|v| !v.is_none())
            .map(|v| v.to_string()),
        time_column_guessed: time_guessed,
        files: written,
    })
}

pub fn text(r: &InitReport) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "model `{}`: {} of `{}`{} on {}",
        r.model,
        r.task,
        r.target,
        if r.target_guessed {
            " (guessed: confirm with --target)"
        } else {
            ""
        },
        r.data
    );
    match &r.time_column {
        Some(t) => {
            let _ = writeln!(
                out,
                "time column `{t}`{}",
                if r.time_column_guessed {
                    " (guessed: confirm with --time-column)"
                } else {
                    ""
                }
            );
        }
        None => {
            let _ = writeln!(out, "no time column: rows are taken to be in time order");
        }
    }
    for f in &r.files {
        let _ = writeln!(out, "{} {}", f.action, f.path);
    }
    let _ = writeln!(
        out,
        "next: `retrain run --dry-run`, then commit the files and push; the workflow runs weekly, on data pushes and on demand"
    );
    out
}
