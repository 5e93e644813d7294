//! Validation of new data against the reference (TFX ExampleValidator in spirit):
//! schema changes, row counts, and per-column anomalies of the current rows. Each
//! anomaly is blocking when its kind is in `validation.block_on`, else a warning.

use serde::Serialize;
use serde_json::{json, Value};

use super::current::CurrentData;
use super::drift::CurrentColumn;
use crate::config::{AnomalyKind, ModelConfig};
use crate::snapshot::profile::KindProfile;
use crate::snapshot::{self, Manifest, Role};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Blocking,
    Warning,
}

#[derive(Debug, Clone, Serialize)]
pub struct Anomaly {
    pub kind: AnomalyKind,
    /// `null` for dataset-level anomalies.
    pub column: Option<String>,
    pub observed: Value,
    pub expected: Value,
    pub severity: Severity,
    pub message: String,
}

impl AnomalyKind {
    pub fn name(self) -> &'static str {
        match self {
            AnomalyKind::MissingColumn => "missing_column",
            AnomalyKind::NewColumn => "new_column",
            AnomalyKind::TypeChange => "type_change",
            AnomalyKind::NullFraction => "null_fraction",
            AnomalyKind::OutOfRange => "out_of_range",
            AnomalyKind::UnseenCategories => "unseen_categories",
            AnomalyKind::RowCount => "row_count",
            AnomalyKind::Empty => "empty",
            AnomalyKind::AllNull => "all_null",
            AnomalyKind::Constant => "constant",
            AnomalyKind::NonFinite => "non_finite",
        }
    }
}

pub fn validate(
    model: &ModelConfig,
    reference: &Manifest,
    snapshot: &Manifest,
    current: &CurrentData,
) -> Vec<Anomaly> {
    let v = &model.validation;
    let mut out = Vec::new();
    let mut push = |kind: AnomalyKind,
                    column: Option<&str>,
                    observed: Value,
                    expected: Value,
                    message: String| {
        let severity = if v.block_on.contains(&kind) {
            Severity::Blocking
        } else {
            Severity::Warning
        };
        out.push(Anomaly {
            kind,
            column: column.map(str::to_string),
            observed,
            expected,
            severity,
            message,
        });
    };

    if snapshot.rows == 0 {
        push(
            AnomalyKind::Empty,
            None,
            json!(0),
            json!("> 0 rows"),
            "the data has no rows".into(),
        );
    }
    if reference.rows > 0 {
        let ratio = snapshot.rows as f64 / reference.rows as f64;
        let too_few = ratio < v.min_rows_fraction;
        let too_many = v.max_rows_fraction.is_some_and(|m| ratio > m);
        if too_few || too_many {
            let expected = match v.max_rows_fraction {
                Some(m) => format!(
                    "{:.2}x to {m:.2}x the reference's {}",
                    v.min_rows_fraction, reference.rows
                ),
                None => format!(
                    "≥ {:.2}x the reference's {}",
                    v.min_rows_fraction, reference.rows
                ),
            };
            push(
                AnomalyKind::RowCount,
                None,
                json!(snapshot.rows),
                json!(expected),
                format!(
                    "{} rows, {ratio:.2}x the reference's {}",
                    snapshot.rows, reference.rows
                ),
            );
        }
    }

    let roles = snapshot::roles(model, reference.columns.iter().map(|c| c.name.as_str()));
    for rc in &reference.columns {
        let role = roles[&rc.name];
        if matches!(role, Role::Ignored | Role::Unused) {
            continue;
        }
        let Some(cc) = snapshot.column(&rc.name) else {
            push(
                AnomalyKind::MissingColumn,
                Some(&rc.name),
                json!(null),
                json!(rc.kind),
                format!("column `{}` ({}) is missing", rc.name, rc.kind),
            );
            continue;
        };
        if cc.kind != rc.kind {
            push(
                AnomalyKind::TypeChange,
                Some(&rc.name),
                json!(cc.kind),
                json!(rc.kind),
                format!(
                    "column `{}` is {} now, {} in the reference",
                    rc.name, cc.kind, rc.kind
                ),
            );
            continue;
        }
        let Some(cur) = current.columns.get(&rc.name) else {
            continue;
        };
        let rows = cur.rows();
        if rows == 0 {
            continue;
        }
        let nulls = cur.nulls();
        let null_fraction = nulls as f64 / rows as f64;
        if nulls == rows && rc.count > 0 {
            push(
                AnomalyKind::AllNull,
                Some(&rc.name),
                json!(nulls),
                json!("some values"),
                format!("column `{}` is null in all {rows} new rows", rc.name),
            );
            continue;
        }
        if null_fraction > v.max_null_fraction.get() {
            push(
                AnomalyKind::NullFraction,
                Some(&rc.name),
                json!(round(null_fraction)),
                json!(format!("≤ {}", v.max_null_fraction.get())),
                format!(
                    "column `{}`: {:.1}% nulls in the new rows (limit {:.1}%)",
                    rc.name,
                    100.0 * null_fraction,
                    100.0 * v.max_null_fraction.get()
                ),
            );
        }
        match (&rc.profile, cur) {
            (
                KindProfile::Numeric(p),
                CurrentColumn::Numeric {
                    sorted, nan, inf, ..
                },
            ) => {
                if nan + inf > 0 {
                    push(
                        AnomalyKind::NonFinite,
                        Some(&rc.name),
                        json!({ "nan": nan, "inf": inf }),
                        json!("finite values"),
                        format!("column `{}`: {nan} NaN and {inf} infinite values", rc.name),
                    );
                }
                if sorted.is_empty() {
                    continue;
                }
                if let (Some(min), Some(max)) = (p.min, p.max) {
                    if role != Role::Time {
                        let below = sorted.partition_point(|x| *x < min);
                        let above = sorted.len() - sorted.partition_point(|x| *x <= max);
                        let share = (below + above) as f64 / sorted.len() as f64;
                        if share > v.max_out_of_range_share.get() {
                            push(
                                AnomalyKind::OutOfRange,
                                Some(&rc.name),
                                json!({ "share": round(share), "min": sorted[0], "max": sorted[sorted.len() - 1] }),
                                json!({ "min": min, "max": max, "share": format!("≤ {}", v.max_out_of_range_share.get()) }),
                                format!(
                                    "column `{}`: {:.1}% of new values outside the reference range [{min}, {max}]",
                                    rc.name,
                                    100.0 * share
                                ),
                            );
                        }
                    }
                }
                if sorted.len() > 1 && sorted[0] == sorted[sorted.len() - 1] && p.distinct > 1 {
                    push(
                        AnomalyKind::Constant,
                        Some(&rc.name),
                        json!(sorted[0]),
                        json!(format!("{} distinct values", p.distinct)),
                        format!(
                            "column `{}` is constant ({}) in the new rows",
                            rc.name, sorted[0]
                        ),
                    );
                }
            }
            (KindProfile::Categorical(p), CurrentColumn::Categorical { counts, .. }) => {
                let total: u64 = counts.values().sum();
                if total == 0 {
                    continue;
                }
                if counts.len() == 1 && p.distinct > 1 {
                    let only = counts.keys().next().cloned().unwrap_or_default();
                    push(
                        AnomalyKind::Constant,
                        Some(&rc.name),
                        json!(only),
                        json!(format!("{} distinct values", p.distinct)),
                        format!("column `{}` is constant in the new rows", rc.name),
                    );
                }
                // Unseen categories are known only when the reference kept every value.
                if p.other == 0 {
                    let mut unseen: Vec<(&String, u64)> = counts
                        .iter()
                        .filter(|(k, _)| !p.top.iter().any(|(t, _)| t == *k))
                        .map(|(k, n)| (k, *n))
                        .collect();
                    let n: u64 = unseen.iter().map(|e| e.1).sum();
                    let share = n as f64 / total as f64;
                    if share > v.max_unseen_category_share.get() {
                        unseen.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
                        let examples: Vec<&String> = unseen.iter().take(5).map(|e| e.0).collect();
                        push(
                            AnomalyKind::UnseenCategories,
                            Some(&rc.name),
                            json!({ "share": round(share), "values": examples }),
                            json!(format!("≤ {}", v.max_unseen_category_share.get())),
                            format!(
                                "column `{}`: {:.1}% of new values are categories the reference never had",
                                rc.name,
                                100.0 * share
                            ),
                        );
                    }
                }
            }
            _ => {}
        }
    }
    for cc in &snapshot.columns {
        if reference.column(&cc.name).is_none() {
            push(
                AnomalyKind::NewColumn,
                Some(&cc.name),
                json!(cc.kind),
                json!(null),
                format!("new column `{}` ({})", cc.name, cc.kind),
            );
        }
    }
    out
}

fn round(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}
