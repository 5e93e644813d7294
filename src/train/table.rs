//! Training data in memory: the model's features and target read from a snapshot's
//! files into plain columns (numeric as f64 with NaN for missing, categorical as
//! dictionary codes), plus the time key that orders rows. Rows without a target are
//! dropped (they cannot be learned from or scored).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use polars::prelude::*;

use crate::config::{ColumnKind, ModelConfig, Task};
use crate::data::{self, DataError};
use crate::snapshot::{self, Manifest, Role};

#[derive(Debug, Clone)]
pub enum Values {
    /// NaN = missing.
    Numeric(Vec<f64>),
    /// Codes into `dict`; `None` = missing.
    Categorical {
        codes: Vec<Option<u32>>,
        dict: Vec<String>,
    },
}

#[derive(Debug, Clone)]
pub struct Feature {
    pub name: String,
    pub values: Values,
}

#[derive(Debug, Clone)]
pub enum Target {
    /// Class index per row into `classes` (sorted; numerically when all are numbers).
    Classes {
        index: Vec<u32>,
        classes: Vec<String>,
    },
    Values(Vec<f64>),
}

impl Target {
    pub fn len(&self) -> usize {
        match self {
            Target::Classes { index, .. } => index.len(),
            Target::Values(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Clone)]
pub struct Table {
    pub features: Vec<Feature>,
    pub target: Target,
    /// Time key per row (ms since the epoch, or the numeric time column); `None`
    /// without a time column (row order is time order).
    pub time: Option<Vec<f64>>,
    /// Features left out (datetime columns), with why.
    pub skipped: Vec<String>,
}

impl Table {
    pub fn rows(&self) -> usize {
        self.target.len()
    }

    /// Row indices in time order (stable).
    pub fn time_order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.rows()).collect();
        if let Some(t) = &self.time {
            order.sort_by(|a, b| t[*a].total_cmp(&t[*b]));
        }
        order
    }
}

/// The feature columns of `model` in `manifest`, in manifest order, with their kinds.
pub fn feature_columns(
    model: &ModelConfig,
    manifest: &Manifest,
) -> (Vec<(String, ColumnKind)>, Vec<String>) {
    let roles = snapshot::roles(model, manifest.columns.iter().map(|c| c.name.as_str()));
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    let order: Vec<&str> = match &model.features {
        Some(f) => f.iter().map(String::as_str).collect(),
        None => manifest.columns.iter().map(|c| c.name.as_str()).collect(),
    };
    for name in order {
        let Some(c) = manifest.column(name) else {
            continue;
        };
        if roles.get(name) != Some(&Role::Feature) {
            continue;
        }
        if c.kind == ColumnKind::Datetime {
            skipped.push(format!(
                "{name} (datetime columns are not used as features)"
            ));
            continue;
        }
        out.push((c.name.clone(), c.kind));
    }
    (out, skipped)
}

/// Reads the model's features and target from `manifest`'s files (only `only` when
/// given), keeping the rows `filter` selects.
pub fn load(
    repo: &Path,
    model: &ModelConfig,
    manifest: &Manifest,
    only: Option<&HashSet<String>>,
    filter: Option<Expr>,
) -> Result<Table, DataError> {
    load_rows(repo, model, manifest, only, filter, Labels::Required)
}

/// [`load`] for scoring only: every row, labelled or not, and the target not read (the
/// table's target is NaN throughout; files may lack the target column).
pub fn load_unlabelled(
    repo: &Path,
    model: &ModelConfig,
    manifest: &Manifest,
    only: Option<&HashSet<String>>,
    filter: Option<Expr>,
) -> Result<Table, DataError> {
    load_rows(repo, model, manifest, only, filter, Labels::Ignored)
}

/// [`load_unlabelled`] of only the rows without a label: the target null, or absent
/// from the file (CBPE estimates on them).
pub fn load_without_labels(
    repo: &Path,
    model: &ModelConfig,
    manifest: &Manifest,
    only: Option<&HashSet<String>>,
    filter: Option<Expr>,
) -> Result<Table, DataError> {
    load_rows(repo, model, manifest, only, filter, Labels::Missing)
}

/// The column of [`Labels::Missing`]'s null test.
const UNLABELLED: &str = "__unlabelled";

/// Which rows [`load_rows`] keeps, and whether it reads the target.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Labels {
    /// Rows with a label; the target is read.
    Required,
    /// Every row; the target is not read.
    Ignored,
    /// Rows without a label; the target is not read.
    Missing,
}

fn load_rows(
    repo: &Path,
    model: &ModelConfig,
    manifest: &Manifest,
    only: Option<&HashSet<String>>,
    filter: Option<Expr>,
    labels: Labels,
) -> Result<Table, DataError> {
    let labelled = labels == Labels::Required;
    let (features, skipped) = feature_columns(model, manifest);
    let files: Vec<data::DataFile> = data::resolve(repo, &model.data)?
        .into_iter()
        .filter(|f| only.is_none_or(|o| o.contains(&f.rel)))
        .collect();
    let target_kind = match model.task {
        Task::Classification => ColumnKind::Categorical,
        Task::Regression => ColumnKind::Numeric,
    };
    let mut wanted = features.clone();
    if labelled {
        wanted.push((model.target.clone(), target_kind));
    }
    let time_kind = model
        .time_column
        .as_ref()
        .and_then(|t| manifest.column(t).map(|c| (t.clone(), c.kind)));
    let mut frames = Vec::new();
    for file in &files {
        // Time: datetime -> ms since the epoch, numeric as is.
        let extra = match &time_kind {
            Some((t, ColumnKind::Datetime)) => vec![(
                t.clone(),
                col(t.as_str())
                    .dt()
                    .timestamp(TimeUnit::Milliseconds)
                    .cast(DataType::Float64)
                    .alias("__time"),
            )],
            Some((t, _)) => vec![(
                t.clone(),
                col(t.as_str()).cast(DataType::Float64).alias("__time"),
            )],
            None => vec![],
        };
        // rows without labels: the target's null test where the file has it, else all
        let has_target =
            labels == Labels::Missing && file.schema()?.contains(model.target.as_str());
        let mut extra = extra;
        if has_target {
            let target = model.target.as_str();
            extra.push((
                model.target.clone(),
                col(target).is_null().alias(UNLABELLED),
            ));
        }
        let mut frame = file.read_exprs(&wanted, extra, filter.clone())?;
        if labels == Labels::Missing && !has_target {
            let all = Column::new(UNLABELLED.into(), vec![true; frame.height()]);
            frame.with_column(all).map_err(|e| DataError::Read {
                path: file.rel.clone(),
                message: e.to_string(),
            })?;
        }
        frames.push(frame);
    }
    let err = |e: PolarsError| DataError::Read {
        path: model.data.to_string(),
        message: e.to_string(),
    };
    let mut df = match frames.len() {
        0 => DataFrame::empty(),
        _ => {
            let mut it = frames.into_iter();
            let mut first = it.next().expect("one frame");
            for f in it {
                first.vstack_mut(&f).map_err(err)?;
            }
            first
        }
    };
    if labels == Labels::Missing && df.height() > 0 {
        let mask = df
            .column(UNLABELLED)
            .map_err(err)?
            .as_materialized_series()
            .bool()
            .map_err(err)?
            .clone();
        df = df.filter(&mask).map_err(err)?;
    }
    // Rows without a target cannot be learned from or scored.
    if labelled && df.height() > 0 {
        let mask = df
            .column(&model.target)
            .map_err(err)?
            .as_materialized_series()
            .is_not_null();
        df = df.filter(&mask).map_err(err)?;
    }
    let n = df.height();
    let mut out_features = Vec::with_capacity(features.len());
    for (name, kind) in &features {
        let s = df
            .column(name)
            .map_err(err)?
            .as_materialized_series()
            .clone();
        let values = match kind {
            ColumnKind::Numeric => Values::Numeric(
                s.f64()
                    .map_err(err)?
                    .iter()
                    .map(|v| v.unwrap_or(f64::NAN))
                    .collect(),
            ),
            _ => {
                let mut dict: Vec<String> = Vec::new();
                let mut index: HashMap<String, u32> = HashMap::new();
                let codes = s
                    .str()
                    .map_err(err)?
                    .iter()
                    .map(|v| {
                        v.map(|v| {
                            let v = crate::data::category_key(v);
                            match index.get(v.as_ref()) {
                                Some(c) => *c,
                                None => {
                                    let c = dict.len() as u32;
                                    dict.push(v.to_string());
                                    index.insert(v.into_owned(), c);
                                    c
                                }
                            }
                        })
                    })
                    .collect();
                Values::Categorical { codes, dict }
            }
        };
        out_features.push(Feature {
            name: name.clone(),
            values,
        });
    }
    let target = if !labelled {
        Target::Values(vec![f64::NAN; n])
    } else if n == 0 {
        match model.task {
            Task::Classification => Target::Classes {
                index: vec![],
                classes: vec![],
            },
            Task::Regression => Target::Values(vec![]),
        }
    } else {
        let s = df
            .column(&model.target)
            .map_err(err)?
            .as_materialized_series()
            .clone();
        match model.task {
            Task::Classification => {
                let labels: Vec<String> = s
                    .str()
                    .map_err(err)?
                    .iter()
                    .map(|v| v.unwrap_or_default().to_string())
                    .collect();
                let mut classes: Vec<String> = labels
                    .iter()
                    .cloned()
                    .collect::<HashSet<_>>()
                    .into_iter()
                    .collect();
                sort_classes(&mut classes);
                let pos: HashMap<&str, u32> = classes
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (c.as_str(), i as u32))
                    .collect();
                let index = labels.iter().map(|l| pos[l.as_str()]).collect();
                Target::Classes { index, classes }
            }
            Task::Regression => Target::Values(
                s.f64()
                    .map_err(err)?
                    .iter()
                    .map(|v| v.unwrap_or(f64::NAN))
                    .collect(),
            ),
        }
    };
    let time = match &time_kind {
        Some(_) if n > 0 => Some(
            df.column("__time")
                .map_err(err)?
                .as_materialized_series()
                .f64()
                .map_err(err)?
                .iter()
                .map(|v| v.unwrap_or(f64::NAN))
                .collect(),
        ),
        Some(_) => Some(vec![]),
        None => None,
    };
    Ok(Table {
        features: out_features,
        target,
        time,
        skipped,
    })
}

/// Sorts class labels numerically when they all are numbers, else as text.
pub fn sort_classes(classes: &mut [String]) {
    let numeric: Option<Vec<f64>> = classes.iter().map(|c| c.parse::<f64>().ok()).collect();
    if numeric.is_some() {
        classes.sort_by(|a, b| {
            a.parse::<f64>()
                .unwrap()
                .total_cmp(&b.parse::<f64>().unwrap())
        });
    } else {
        classes.sort();
    }
}
