//! A column's partial profile over one or more files ([`Part`]): what a snapshot merges,
//! file by file, into the manifest's profile. Serialisable, so that a file's parts are
//! kept in the local cache ([`super::cache`]) and merged into later snapshots instead of
//! being computed again — the same merge in the same file order, so the same profile.

use polars::prelude::{AnyValue, TimeUnit};
use serde::{Deserialize, Serialize};

use super::profile::{CategoricalPart, DatetimeProfile, KindProfile, NumericPart};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    Empty,
    Numeric(NumericPart),
    Categorical(CategoricalPart),
    Datetime(DatetimePart),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatetimePart {
    pub count: u64,
    pub nulls: u64,
    pub min: Option<TimePoint>,
    pub max: Option<TimePoint>,
}

/// A date or datetime: nanoseconds since the Unix epoch (to compare across files and
/// units), milliseconds, and the value as polars prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimePoint {
    pub ns: i128,
    pub ms: Option<i64>,
    pub shown: String,
}

impl TimePoint {
    /// `None` for a null (or a value that is neither a date nor a datetime).
    pub fn of(v: &AnyValue) -> Option<Self> {
        let ns = match v {
            AnyValue::Date(days) => *days as i128 * 86_400_000_000_000,
            AnyValue::Datetime(t, unit, _) | AnyValue::DatetimeOwned(t, unit, _) => {
                *t as i128
                    * match unit {
                        TimeUnit::Nanoseconds => 1,
                        TimeUnit::Microseconds => 1_000,
                        TimeUnit::Milliseconds => 1_000_000,
                    }
            }
            _ => return None,
        };
        Some(TimePoint {
            ns,
            ms: epoch_ms(v),
            shown: show_time(v),
        })
    }
}

impl Part {
    pub fn merge(&mut self, other: Part) {
        match (self, other) {
            (s @ Part::Empty, o) => *s = o,
            (Part::Numeric(a), Part::Numeric(b)) => a.merge(b),
            (Part::Categorical(a), Part::Categorical(b)) => a.merge(b),
            (Part::Datetime(a), Part::Datetime(b)) => {
                a.count += b.count;
                a.nulls += b.nulls;
                a.min = pick(a.min.take(), b.min, std::cmp::Ordering::Less);
                a.max = pick(a.max.take(), b.max, std::cmp::Ordering::Greater);
            }
            _ => unreachable!("a column has one kind in every file (checked in plan_columns)"),
        }
    }

    pub fn finish(self, top_k: usize) -> (u64, u64, KindProfile) {
        match self {
            Part::Empty => (
                0,
                0,
                KindProfile::Datetime(DatetimeProfile {
                    min: None,
                    max: None,
                    min_ms: None,
                    max_ms: None,
                }),
            ),
            Part::Numeric(p) => (p.count, p.nulls, KindProfile::Numeric(p.finish())),
            Part::Categorical(p) => (p.count, p.nulls, KindProfile::Categorical(p.finish(top_k))),
            Part::Datetime(p) => (
                p.count,
                p.nulls,
                KindProfile::Datetime(DatetimeProfile {
                    min_ms: p.min.as_ref().and_then(|t| t.ms),
                    max_ms: p.max.as_ref().and_then(|t| t.ms),
                    min: p.min.map(|t| t.shown),
                    max: p.max.map(|t| t.shown),
                }),
            ),
        }
    }
}

/// `b` when it is `want` of `a` (strictly), else `a`.
fn pick(a: Option<TimePoint>, b: Option<TimePoint>, want: std::cmp::Ordering) -> Option<TimePoint> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.ns.cmp(&a.ns) == want { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// A date or datetime as polars prints it, unless chrono cannot represent it (polars
/// would panic: found by `tests/all/fuzz.rs` on a damaged Parquet timestamp).
fn show_time(v: &AnyValue) -> String {
    match epoch_ms(v) {
        Some(ms) if chrono::DateTime::from_timestamp_millis(ms).is_none() => {
            format!("out of range ({ms} ms since 1970)")
        }
        _ => v.to_string(),
    }
}

/// Milliseconds since the Unix epoch of a date or datetime value.
pub fn epoch_ms(v: &AnyValue) -> Option<i64> {
    match v {
        AnyValue::Date(days) => Some(*days as i64 * 86_400_000),
        AnyValue::Datetime(t, unit, _) | AnyValue::DatetimeOwned(t, unit, _) => Some(match unit {
            TimeUnit::Nanoseconds => t.div_euclid(1_000_000),
            TimeUnit::Microseconds => t.div_euclid(1_000),
            TimeUnit::Milliseconds => *t,
        }),
        _ => None,
    }
}
