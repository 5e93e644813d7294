//! What the replay reads of each period without re-reading files: the current
//! columns of a period (merged over several), and a reference manifest built from rows.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;

use crate::checks::drift::CurrentColumn;
use crate::checks::DriftReport;
use crate::config::ModelConfig;
use crate::snapshot::{ColumnEntry, Manifest, ProfileSettings};
use crate::train::table::{Table, Values};

pub(super) fn empty_drift() -> DriftReport {
    DriftReport {
        method: crate::config::DriftMethod::Auto,
        columns: Vec::new(),
        tested: 0,
        drifted: 0,
        share: 0.0,
        share_threshold: 0.0,
        dataset_drift: false,
        label: None,
        prediction: None,
        reference_rows: 0,
        current_rows: 0,
    }
}

/// How often each category occurs in `rows`, and the missing values.
pub(super) fn category_counts(
    codes: &[Option<u32>],
    dict: &[String],
    rows: &[usize],
) -> (HashMap<String, u64>, u64) {
    let mut counts: HashMap<String, u64> = HashMap::new();
    let mut nulls = 0u64;
    for r in rows {
        match codes[*r] {
            Some(c) => *counts.entry(dict[c as usize].clone()).or_insert(0) += 1,
            None => nulls += 1,
        }
    }
    (counts, nulls)
}

/// The features of `rows` as drift's "current" columns.
pub(super) fn current_columns(table: &Table, rows: &[usize]) -> BTreeMap<String, CurrentColumn> {
    table
        .features
        .iter()
        .map(|f| {
            let c = match &f.values {
                Values::Numeric(v) => {
                    let mut sorted = Vec::with_capacity(rows.len());
                    let (mut nulls, mut inf) = (0u64, 0u64);
                    for r in rows {
                        let x = v[*r];
                        if x.is_nan() {
                            nulls += 1;
                        } else if x.is_infinite() {
                            inf += 1;
                        } else {
                            sorted.push(x);
                        }
                    }
                    sorted.sort_unstable_by(f64::total_cmp);
                    CurrentColumn::Numeric {
                        sorted,
                        nulls,
                        nan: 0,
                        inf,
                    }
                }
                Values::Categorical { codes, dict } => {
                    let (counts, nulls) = category_counts(codes, dict, rows);
                    CurrentColumn::Categorical { counts, nulls }
                }
            };
            (f.name.clone(), c)
        })
        .collect()
}

pub(super) fn merge_current(acc: &mut CurrentColumn, other: &CurrentColumn) {
    match (acc, other) {
        (
            CurrentColumn::Numeric {
                sorted,
                nulls,
                nan,
                inf,
            },
            CurrentColumn::Numeric {
                sorted: s2,
                nulls: n2,
                nan: a2,
                inf: i2,
            },
        ) => {
            sorted.extend_from_slice(s2);
            *nulls += n2;
            *nan += a2;
            *inf += i2;
        }
        (
            CurrentColumn::Categorical { counts, nulls },
            CurrentColumn::Categorical {
                counts: c2,
                nulls: n2,
            },
        ) => {
            for (k, v) in c2 {
                *counts.entry(k.clone()).or_insert(0) += v;
            }
            *nulls += n2;
        }
        _ => {}
    }
}

/// A manifest holding only the profiles of the features over `rows` (drift's reference).
pub(super) fn reference_manifest(model: &ModelConfig, table: &Table, rows: &[usize]) -> Manifest {
    let columns = table
        .features
        .iter()
        .map(|f| match &f.values {
            Values::Numeric(v) => {
                let values: Vec<f64> = rows.iter().map(|r| v[*r]).filter(|x| !x.is_nan()).collect();
                let nulls = (rows.len() - values.len()) as u64;
                ColumnEntry::of_values(&f.name, values, nulls)
            }
            Values::Categorical { codes, dict } => {
                let (counts, nulls) = category_counts(codes, dict, rows);
                ColumnEntry::of_counts(&f.name, counts, nulls, model.profile.top_k)
            }
        })
        .collect();
    Manifest {
        format: crate::snapshot::manifest::FORMAT,
        id: String::new(),
        created_at: Utc::now(),
        created_by: String::new(),
        source: model.data.to_string(),
        rows: rows.len() as u64,
        settings: ProfileSettings {
            top_k: model.profile.top_k,
            histogram_bins: crate::snapshot::profile::HISTOGRAM_BINS,
        },
        files: Vec::new(),
        columns,
    }
}
