//! The "current" rows of a check: the rows that are new since the reference snapshot.
//!
//! They are the rows of the files that are new or changed since the reference (by
//! content hash). With a `time_column`, rows at or before the reference's newest time
//! are dropped as well, so a file that only grew by appended rows contributes its new
//! rows only. Without one, a changed file counts whole.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use polars::prelude::*;
use rayon::prelude::*;

use super::drift::CurrentColumn;
use crate::config::{ColumnKind, ModelConfig};
use crate::data::{self, DataError};
use crate::snapshot::profile::KindProfile;
use crate::snapshot::Manifest;

#[derive(Debug, Clone, Default)]
pub struct CurrentData {
    /// Files new or changed since the reference.
    pub files: Vec<String>,
    /// New rows (after the time filter).
    pub rows: u64,
    /// The time filter applied, in words.
    pub time_filter: Option<String>,
    pub columns: BTreeMap<String, CurrentColumn>,
}

enum Acc {
    Numeric {
        values: Vec<f64>,
        nulls: u64,
    },
    Categorical {
        counts: HashMap<String, u64>,
        nulls: u64,
    },
    Datetime {
        count: u64,
        nulls: u64,
    },
}

pub fn load(
    repo: &Path,
    model: &ModelConfig,
    reference: &Manifest,
    current: &Manifest,
) -> Result<CurrentData, DataError> {
    let new_files = new_files(reference, current);
    let mut out = CurrentData::default();
    if new_files.is_empty() {
        return Ok(out);
    }
    let files: Vec<data::DataFile> = data::resolve(repo, &model.data)?
        .into_iter()
        .filter(|f| new_files.contains(f.rel.as_str()))
        .collect();
    let (filter, described) = time_filter(model, reference);
    out.time_filter = described;
    let columns: Vec<(String, ColumnKind)> = current
        .columns
        .iter()
        .map(|c| (c.name.clone(), c.kind))
        .collect();
    let mut accs: Vec<Acc> = columns
        .iter()
        .map(|(_, kind)| match kind {
            ColumnKind::Numeric => Acc::Numeric {
                values: Vec::new(),
                nulls: 0,
            },
            ColumnKind::Categorical => Acc::Categorical {
                counts: HashMap::new(),
                nulls: 0,
            },
            ColumnKind::Datetime => Acc::Datetime { count: 0, nulls: 0 },
        })
        .collect();
    for file in &files {
        let df = file.read_columns(&columns, filter.clone())?;
        out.rows += df.height() as u64;
        out.files.push(file.rel.clone());
        accs.par_iter_mut()
            .zip(columns.par_iter())
            .try_for_each(|(acc, (name, _))| {
                let series = df
                    .column(name)
                    .map_err(|e| DataError::Read {
                        path: file.rel.clone(),
                        message: e.to_string(),
                    })?
                    .as_materialized_series();
                accumulate(acc, series).map_err(|e| DataError::Read {
                    path: file.rel.clone(),
                    message: format!("column `{name}`: {e}"),
                })
            })?;
    }
    out.columns = columns
        .into_par_iter()
        .zip(accs)
        .map(|((name, _), acc)| (name, finish(acc)))
        .collect::<Vec<_>>()
        .into_iter()
        .collect();
    Ok(out)
}

/// The files of `current` that are new or changed since `reference` (by path and content).
pub fn new_files<'a>(reference: &Manifest, current: &'a Manifest) -> HashSet<&'a str> {
    let known: HashSet<(&str, &str)> = reference
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.blake3.as_str()))
        .collect();
    current
        .files
        .iter()
        .filter(|f| !known.contains(&(f.path.as_str(), f.blake3.as_str())))
        .map(|f| f.path.as_str())
        .collect()
}

/// The filter that keeps rows newer than the reference's newest time (and its words).
pub fn time_filter(model: &ModelConfig, reference: &Manifest) -> (Option<Expr>, Option<String>) {
    let Some(t) = &model.time_column else {
        return (None, None);
    };
    let Some(c) = reference.column(t) else {
        return (None, None);
    };
    match &c.profile {
        KindProfile::Datetime(p) => match p.max_ms {
            Some(ms) => (
                Some(
                    col(t.as_str())
                        .dt()
                        .timestamp(TimeUnit::Milliseconds)
                        .gt(lit(ms)),
                ),
                Some(format!("{t} > {}", p.max.clone().unwrap_or_default())),
            ),
            None => (None, None),
        },
        KindProfile::Numeric(p) => match p.max {
            Some(max) => (
                Some(col(t.as_str()).cast(DataType::Float64).gt(lit(max))),
                Some(format!("{t} > {max}")),
            ),
            None => (None, None),
        },
        KindProfile::Categorical(_) => (None, None),
    }
}

fn accumulate(acc: &mut Acc, series: &Series) -> PolarsResult<()> {
    match acc {
        Acc::Numeric { values, nulls } => {
            *nulls += series.null_count() as u64;
            data::extend_non_null(values, series)?;
        }
        Acc::Categorical { counts, nulls } => {
            *nulls += series.null_count() as u64;
            for v in series.str()?.iter().flatten() {
                let v = crate::data::category_key(v);
                match counts.get_mut(v.as_ref()) {
                    Some(n) => *n += 1,
                    None => {
                        counts.insert(v.into_owned(), 1);
                    }
                }
            }
        }
        Acc::Datetime { count, nulls } => {
            *nulls += series.null_count() as u64;
            *count += (series.len() - series.null_count()) as u64;
        }
    }
    Ok(())
}

fn finish(acc: Acc) -> CurrentColumn {
    match acc {
        Acc::Numeric { mut values, nulls } => {
            let nan = values.iter().filter(|v| v.is_nan()).count() as u64;
            let inf = values.iter().filter(|v| v.is_infinite()).count() as u64;
            values.retain(|v| v.is_finite());
            crate::data::values::sort_floats(&mut values);
            CurrentColumn::Numeric {
                sorted: values,
                nulls,
                nan,
                inf,
            }
        }
        Acc::Categorical { counts, nulls } => CurrentColumn::Categorical { counts, nulls },
        Acc::Datetime { count, nulls } => CurrentColumn::Datetime { count, nulls },
    }
}
