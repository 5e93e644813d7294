//! Preprocessing that travels with the model: mean imputation and standardisation of
//! numeric features, one-hot encoding of categorical features (the most frequent
//! `max_categories` values, everything else — rare, unseen or missing — in one
//! `other` column). Tree models take their inputs as they are instead (`value`: the
//! number, missing stays missing; `code`: the category's index among the most frequent
//! `max_categories` values, one shared code for every other value, missing stays
//! missing), since trees need neither scaling nor one-hot columns and learn where
//! missing values go. Fitted on the training window only; applied identically at
//! predict time from the serialised parameters.

use std::collections::HashMap;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::table::{Feature, Values};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preprocessor {
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Step {
    /// `(x - mean) / scale`; missing -> mean (0 after scaling).
    Numeric {
        column: String,
        mean: f64,
        scale: f64,
    },
    /// One column per category, then one `other` column.
    OneHot {
        column: String,
        categories: Vec<String>,
    },
    /// The value as it is; missing -> NaN (tree models).
    Value { column: String },
    /// The index of the value in `categories`, `categories.len()` for any other value;
    /// missing -> NaN (tree models).
    Code {
        column: String,
        categories: Vec<String>,
    },
}

impl Step {
    fn width(&self) -> usize {
        match self {
            Step::Numeric { .. } | Step::Value { .. } | Step::Code { .. } => 1,
            Step::OneHot { categories, .. } => categories.len() + 1,
        }
    }

    pub fn column(&self) -> &str {
        match self {
            Step::Numeric { column, .. }
            | Step::OneHot { column, .. }
            | Step::Value { column }
            | Step::Code { column, .. } => column,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("column `{0}` is missing from the data to predict on")]
pub struct MissingFeature(pub String);

impl Preprocessor {
    /// Fits on the rows `rows` of `features`.
    pub fn fit(features: &[Feature], rows: &[usize], max_categories: usize) -> Self {
        let steps = features
            .iter()
            .map(|f| match &f.values {
                Values::Numeric(v) => {
                    let (mut n, mut sum) = (0usize, 0.0);
                    for &r in rows {
                        if v[r].is_finite() {
                            n += 1;
                            sum += v[r];
                        }
                    }
                    let mean = if n > 0 { sum / n as f64 } else { 0.0 };
                    let var = if n > 1 {
                        rows.iter()
                            .filter(|r| v[**r].is_finite())
                            .map(|r| (v[*r] - mean).powi(2))
                            .sum::<f64>()
                            / n as f64
                    } else {
                        0.0
                    };
                    let scale = if var > 0.0 { var.sqrt() } else { 1.0 };
                    Step::Numeric {
                        column: f.name.clone(),
                        mean,
                        scale,
                    }
                }
                Values::Categorical { codes, dict } => Step::OneHot {
                    column: f.name.clone(),
                    categories: frequent(codes, dict, rows, max_categories),
                },
            })
            .collect();
        Self { steps }
    }

    /// Fits the inputs of a tree model (`value` and `code` steps) on `rows`.
    pub fn fit_native(features: &[Feature], rows: &[usize], max_categories: usize) -> Self {
        let steps = features
            .iter()
            .map(|f| match &f.values {
                Values::Numeric(_) => Step::Value {
                    column: f.name.clone(),
                },
                Values::Categorical { codes, dict } => Step::Code {
                    column: f.name.clone(),
                    categories: frequent(codes, dict, rows, max_categories),
                },
            })
            .collect();
        Self { steps }
    }

    /// Per design column: `Some(levels)` for a `code` column (its categories and
    /// `other`), `None` otherwise.
    pub fn levels(&self) -> Vec<Option<usize>> {
        self.steps
            .iter()
            .flat_map(|s| match s {
                Step::Code { categories, .. } => vec![Some(categories.len() + 1)],
                other => vec![None; other.width()],
            })
            .collect()
    }

    pub fn width(&self) -> usize {
        self.steps.iter().map(Step::width).sum()
    }

    /// A linear function of this preprocessing's design (weights `w`, intercept `b`)
    /// written over `to`'s design: exactly the same function of the raw numeric
    /// columns (`w·(x-μ)/σ` re-expressed with `to`'s μ and σ); a category keeps its
    /// weight when `to` still lists it and takes the old `other` weight when it was
    /// in `other` before. Warm starts use it so that the candidate gets preprocessing
    /// fitted on its own window (the champion's may be badly scaled for today's data)
    /// and still starts from the champion's decision function.
    pub fn translate_linear(&self, to: &Preprocessor, w: &[f64], b: f64) -> (Vec<f64>, f64) {
        let mut out = vec![0.0; to.width()];
        let mut intercept = b;
        let mut old_at = HashMap::new();
        let mut offset = 0;
        for s in &self.steps {
            old_at.insert(s.column(), (s, offset));
            offset += s.width();
        }
        let mut offset = 0;
        for s in &to.steps {
            match (s, old_at.get(s.column())) {
                (
                    Step::Numeric { mean, scale, .. },
                    Some((
                        Step::Numeric {
                            mean: old_mean,
                            scale: old_scale,
                            ..
                        },
                        j,
                    )),
                ) => {
                    let wj = w.get(*j).copied().unwrap_or(0.0);
                    out[offset] = wj * scale / old_scale;
                    intercept += wj * (mean - old_mean) / old_scale;
                }
                (
                    Step::OneHot { categories, .. },
                    Some((
                        Step::OneHot {
                            categories: old, ..
                        },
                        j,
                    )),
                ) => {
                    let old_other = w.get(j + old.len()).copied().unwrap_or(0.0);
                    for (k, c) in categories.iter().enumerate() {
                        out[offset + k] = match old.binary_search(c) {
                            Ok(i) => w.get(j + i).copied().unwrap_or(0.0),
                            Err(_) => old_other,
                        };
                    }
                    out[offset + categories.len()] = old_other;
                }
                // a column new to the model, or whose kind changed: starts at 0
                _ => {}
            }
            offset += s.width();
        }
        (out, intercept)
    }

    /// Column ranges of each one-hot group in the design matrix.
    pub fn onehot_groups(&self) -> Vec<std::ops::Range<usize>> {
        let mut out = Vec::new();
        let mut offset = 0;
        for s in &self.steps {
            if let Step::OneHot { .. } = s {
                out.push(offset..offset + s.width());
            }
            offset += s.width();
        }
        out
    }

    /// Names of the model's input columns after preprocessing.
    pub fn output_names(&self) -> Vec<String> {
        let mut out = Vec::with_capacity(self.width());
        for s in &self.steps {
            match s {
                Step::Numeric { column, .. }
                | Step::Value { column }
                | Step::Code { column, .. } => out.push(column.clone()),
                Step::OneHot { column, categories } => {
                    out.extend(categories.iter().map(|c| format!("{column}={c}")));
                    out.push(format!("{column}=<other>"));
                }
            }
        }
        out
    }

    /// The design matrix of `rows` (features matched by name).
    pub fn transform(
        &self,
        features: &[Feature],
        rows: &[usize],
    ) -> Result<Array2<f64>, MissingFeature> {
        let by_name: HashMap<&str, &Feature> =
            features.iter().map(|f| (f.name.as_str(), f)).collect();
        let mut x = Array2::<f64>::zeros((rows.len(), self.width()));
        let mut offset = 0;
        for step in &self.steps {
            let f = by_name
                .get(step.column())
                .ok_or_else(|| MissingFeature(step.column().to_string()))?;
            match (step, &f.values) {
                (Step::Value { .. }, Values::Numeric(v)) => {
                    for (i, &r) in rows.iter().enumerate() {
                        x[[i, offset]] = v[r];
                    }
                }
                (Step::Value { .. }, Values::Categorical { codes, dict }) => {
                    for (i, &r) in rows.iter().enumerate() {
                        x[[i, offset]] = codes[r]
                            .and_then(|c| dict[c as usize].parse::<f64>().ok())
                            .unwrap_or(f64::NAN);
                    }
                }
                (Step::Code { categories, .. }, Values::Categorical { codes, dict }) => {
                    let other = categories.len() as f64;
                    let map: Vec<f64> = dict
                        .iter()
                        .map(|d| categories.binary_search(d).map_or(other, |i| i as f64))
                        .collect();
                    for (i, &r) in rows.iter().enumerate() {
                        x[[i, offset]] = codes[r].map_or(f64::NAN, |c| map[c as usize]);
                    }
                }
                (Step::Code { categories, .. }, Values::Numeric(v)) => {
                    let other = categories.len() as f64;
                    for (i, &r) in rows.iter().enumerate() {
                        x[[i, offset]] = if v[r].is_nan() {
                            f64::NAN
                        } else {
                            categories
                                .binary_search(&format_number(v[r]))
                                .map_or(other, |i| i as f64)
                        };
                    }
                }
                (Step::Numeric { mean, scale, .. }, Values::Numeric(v)) => {
                    for (i, &r) in rows.iter().enumerate() {
                        let raw = v[r];
                        x[[i, offset]] = if raw.is_finite() {
                            (raw - mean) / scale
                        } else {
                            0.0
                        };
                    }
                }
                (Step::OneHot { categories, .. }, Values::Categorical { codes, dict }) => {
                    // Map the data's dictionary to output columns once.
                    let other = categories.len();
                    let map: Vec<usize> = dict
                        .iter()
                        .map(|d| categories.binary_search(d).unwrap_or(other))
                        .collect();
                    for (i, &r) in rows.iter().enumerate() {
                        let j = codes[r].map(|c| map[c as usize]).unwrap_or(other);
                        x[[i, offset + j]] = 1.0;
                    }
                }
                (Step::Numeric { .. }, Values::Categorical { codes, dict }) => {
                    // A numeric feature read as text at predict time: parse it.
                    let Step::Numeric { mean, scale, .. } = step else {
                        unreachable!()
                    };
                    for (i, &r) in rows.iter().enumerate() {
                        let raw = codes[r]
                            .and_then(|c| dict[c as usize].parse::<f64>().ok())
                            .unwrap_or(f64::NAN);
                        x[[i, offset]] = if raw.is_finite() {
                            (raw - mean) / scale
                        } else {
                            0.0
                        };
                    }
                }
                (Step::OneHot { categories, .. }, Values::Numeric(v)) => {
                    let other = categories.len();
                    for (i, &r) in rows.iter().enumerate() {
                        let j = if v[r].is_nan() {
                            other
                        } else {
                            categories
                                .binary_search(&format_number(v[r]))
                                .unwrap_or(other)
                        };
                        x[[i, offset + j]] = 1.0;
                    }
                }
            }
            offset += step.width();
        }
        Ok(x)
    }
}

/// The `max` most frequent values of `rows` (ties by value), sorted.
fn frequent(codes: &[Option<u32>], dict: &[String], rows: &[usize], max: usize) -> Vec<String> {
    let mut counts = vec![0u64; dict.len()];
    for &r in rows {
        if let Some(c) = codes[r] {
            counts[c as usize] += 1;
        }
    }
    let mut order: Vec<usize> = (0..dict.len()).filter(|i| counts[*i] > 0).collect();
    order.sort_by(|a, b| {
        counts[*b]
            .cmp(&counts[*a])
            .then_with(|| dict[*a].cmp(&dict[*b]))
    });
    order.truncate(max);
    let mut categories: Vec<String> = order.iter().map(|i| dict[*i].clone()).collect();
    categories.sort();
    categories
}

/// How polars writes a float as text when a numeric column is cast to a string.
fn format_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features() -> Vec<Feature> {
        vec![
            Feature {
                name: "x".into(),
                values: Values::Numeric(vec![1.0, 2.0, f64::NAN, 3.0]),
            },
            Feature {
                name: "c".into(),
                values: Values::Categorical {
                    codes: vec![Some(0), Some(1), Some(0), None],
                    dict: vec!["a".into(), "b".into()],
                },
            },
        ]
    }

    #[test]
    fn fits_on_training_rows_and_handles_unseen_values() {
        let f = features();
        let p = Preprocessor::fit(&f, &[0, 1, 2], 1);
        assert_eq!(p.width(), 3);
        assert_eq!(p.output_names(), ["x", "c=a", "c=<other>"]);
        let x = p.transform(&f, &[0, 1, 2, 3]).unwrap();
        // mean of 1 and 2 (training rows only), population std 0.5
        assert_eq!(x[[0, 0]], -1.0);
        assert_eq!(x[[2, 0]], 0.0, "missing -> mean");
        assert_eq!(x[[3, 0]], 3.0);
        assert_eq!(
            (x[[1, 1]], x[[1, 2]]),
            (0.0, 1.0),
            "b is beyond max_categories -> other"
        );
        assert_eq!((x[[3, 1]], x[[3, 2]]), (0.0, 1.0), "missing -> other");
        // unseen category at predict time
        let new = vec![
            Feature {
                name: "x".into(),
                values: Values::Numeric(vec![1.5]),
            },
            Feature {
                name: "c".into(),
                values: Values::Categorical {
                    codes: vec![Some(0)],
                    dict: vec!["zzz".into()],
                },
            },
        ];
        let y = p.transform(&new, &[0]).unwrap();
        assert_eq!(y.row(0).to_vec(), vec![0.0, 0.0, 1.0]);
    }
}

#[cfg(test)]
mod translate_tests {
    use super::*;

    #[test]
    fn a_linear_function_is_the_same_over_the_new_preprocessing() {
        let old = Preprocessor {
            steps: vec![
                Step::Numeric {
                    column: "a".into(),
                    mean: 1.0,
                    scale: 2.0,
                },
                Step::OneHot {
                    column: "c".into(),
                    categories: vec!["x".into(), "y".into()],
                },
            ],
        };
        let new = Preprocessor {
            steps: vec![
                Step::Numeric {
                    column: "a".into(),
                    mean: 5.0,
                    scale: 0.5,
                },
                Step::OneHot {
                    column: "c".into(),
                    categories: vec!["y".into(), "z".into()],
                },
            ],
        };
        let (w, b) = ([3.0, -1.0, 2.0, 0.25], 0.7);
        let (w2, b2) = old.translate_linear(&new, &w, b);
        for raw in [-3.0, 0.0, 4.0, 11.5] {
            let f_old = w[0] * (raw - 1.0) / 2.0 + b;
            let f_new = w2[0] * (raw - 5.0) / 0.5 + b2;
            assert!((f_old - f_new).abs() < 1e-12, "{raw}: {f_old} vs {f_new}");
        }
        // y keeps its weight; z was in `other`; `other` keeps the old `other`
        assert_eq!(&w2[1..], &[2.0, 0.25, 0.25]);
    }
}
