//! A seeded generator of tabular data with known structure and injected drift, for
//! tests, benchmarks and demos (`cargo run --example gen-data`).
//!
//! Columns: `ts` (datetime, one `step` apart), `num_00..` (numeric, N(0, 1) before
//! drift), `cat_00..` (categorical, Zipf-like frequencies over `c00..`), and the target
//! `label` (classification, 0/1) or `y` (regression) from a linear concept over the
//! features. Drift is injected from a global row index on: mean shift, variance change,
//! category frequency change, and concept drift (the label relation changes).
//!
//! Rows are generated per partition from `(seed, partition)`, so partitions are
//! generated in parallel with bounded memory and the same spec gives the same bytes.

use std::path::{Path, PathBuf};

use polars::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, StandardNormal};
use rayon::prelude::*;

use crate::config::Task;

/// What to generate.
#[derive(Debug, Clone)]
pub struct Spec {
    pub seed: u64,
    pub rows: usize,
    pub task: Task,
    pub numeric: usize,
    pub categorical: usize,
    /// Number of categories of each categorical column.
    pub categories: usize,
    /// Share of nulls in every numeric feature.
    pub null_fraction: f64,
    /// Probability that a classification label is flipped (0 = separable).
    pub label_noise: f64,
    /// 0: the label is `z > 0` (a step: the same error rate everywhere). Above 0: the
    /// label is drawn with probability `sigmoid(z / label_temperature)`, so rows near
    /// the boundary are uncertain and a shift towards it lowers any model's accuracy.
    pub label_temperature: f64,
    /// Seconds between consecutive rows in `ts`.
    pub step_seconds: i64,
    /// `ts` of row 0, seconds since the Unix epoch.
    pub start: i64,
    pub drifts: Vec<Drift>,
}

impl Default for Spec {
    fn default() -> Self {
        Self {
            seed: 42,
            rows: 10_000,
            task: Task::Classification,
            numeric: 5,
            categorical: 2,
            categories: 5,
            null_fraction: 0.0,
            label_noise: 0.05,
            label_temperature: 0.0,
            step_seconds: 3_600,
            start: 1_704_067_200, // 2024-01-01T00:00:00Z
            drifts: Vec::new(),
        }
    }
}

/// A change applied to every row from `from_row` on.
#[derive(Debug, Clone, PartialEq)]
pub struct Drift {
    pub from_row: usize,
    pub kind: DriftKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DriftKind {
    /// Add `sd` standard deviations to a numeric column.
    MeanShift { column: String, sd: f64 },
    /// Multiply a numeric column's spread by `factor`.
    Scale { column: String, factor: f64 },
    /// With probability `strength`, replace a category by the rarest one.
    CategoryShift { column: String, strength: f64 },
    /// The label relation changes: the weights of the first half of the numeric
    /// features change sign.
    Concept,
}

/// A `--drift` that does not parse, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadDrift(String);

impl std::str::FromStr for Drift {
    type Err = BadDrift;

    /// `num_01:mean:1.5@5000`, `num_02:scale:2@0`, `cat_00:freq:0.5@100`, `concept@5000`.
    fn from_str(text: &str) -> Result<Self, BadDrift> {
        let (what, from) = text.split_once('@').ok_or_else(|| {
            BadDrift(format!(
                "drift `{text}` needs `@ROW`, e.g. `num_01:mean:1.5@5000`"
            ))
        })?;
        let from_row: usize = from
            .parse()
            .map_err(|_| BadDrift(format!("drift `{text}`: `{from}` is not a row number")))?;
        if what == "concept" {
            return Ok(Drift {
                from_row,
                kind: DriftKind::Concept,
            });
        }
        let parts: Vec<&str> = what.split(':').collect();
        let [column, kind, amount] = parts.as_slice() else {
            return Err(BadDrift(format!(
                "drift `{text}` must look like COLUMN:mean|scale|freq:AMOUNT@ROW or concept@ROW"
            )));
        };
        let amount: f64 = amount
            .parse()
            .map_err(|_| BadDrift(format!("drift `{text}`: `{amount}` is not a number")))?;
        let column = (*column).to_string();
        let kind = match *kind {
            "mean" => DriftKind::MeanShift { column, sd: amount },
            "scale" => DriftKind::Scale {
                column,
                factor: amount,
            },
            "freq" => DriftKind::CategoryShift {
                column,
                strength: amount,
            },
            other => {
                return Err(BadDrift(format!(
                    "drift `{text}`: unknown kind `{other}` (mean, scale, freq)"
                )))
            }
        };
        Ok(Drift { from_row, kind })
    }
}

pub fn numeric_name(i: usize) -> String {
    format!("num_{i:02}")
}

pub fn categorical_name(i: usize) -> String {
    format!("cat_{i:02}")
}

impl Spec {
    pub fn target_name(&self) -> &'static str {
        match self.task {
            Task::Classification => "label",
            Task::Regression => "y",
        }
    }

    /// Weight of numeric feature `i` in the concept (before concept drift).
    fn weight(&self, i: usize) -> f64 {
        let w = 1.0 / (1.0 + i as f64 * 0.5);
        if i.is_multiple_of(2) {
            w
        } else {
            -w
        }
    }

    /// Rows `[from, to)` as a DataFrame.
    pub fn generate_range(&self, from: usize, to: usize, stream: u64) -> PolarsResult<DataFrame> {
        let n = to.saturating_sub(from);
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(stream);
        let mut nums: Vec<Vec<Option<f64>>> = vec![Vec::with_capacity(n); self.numeric];
        let mut cats: Vec<Vec<&'static str>> = vec![Vec::with_capacity(n); self.categorical];
        let mut target_f: Vec<f64> = Vec::with_capacity(n);
        let mut target_i: Vec<i64> = Vec::with_capacity(n);
        let names = category_names(self.categories);
        // Zipf-like category weights 1/(k+1), as a cumulative table.
        let cum: Vec<f64> = {
            let w: Vec<f64> = (0..self.categories)
                .map(|k| 1.0 / (k as f64 + 1.0))
                .collect();
            let total: f64 = w.iter().sum();
            w.iter()
                .scan(0.0, |acc, x| {
                    *acc += x / total;
                    Some(*acc)
                })
                .collect()
        };
        let cat_effect = |k: usize| if k.is_multiple_of(2) { 0.4 } else { -0.4 };
        let noise = Normal::new(0.0, 0.5).expect("valid normal");
        let mut values = vec![0.0f64; self.numeric];
        for row in from..to {
            let concept = self
                .drifts
                .iter()
                .any(|d| d.kind == DriftKind::Concept && row >= d.from_row);
            let mut z = 0.0;
            for (i, v) in values.iter_mut().enumerate() {
                let mut x: f64 = StandardNormal.sample(&mut rng);
                let name = numeric_name(i);
                for d in self.drifts.iter().filter(|d| row >= d.from_row) {
                    match &d.kind {
                        DriftKind::MeanShift { column, sd } if *column == name => x += sd,
                        DriftKind::Scale { column, factor } if *column == name => x *= factor,
                        _ => {}
                    }
                }
                *v = x;
                let mut w = self.weight(i);
                if concept && i < self.numeric.div_ceil(2) {
                    w = -w;
                }
                z += w * x;
            }
            for (i, v) in values.iter().enumerate() {
                let null = self.null_fraction > 0.0 && rng.gen::<f64>() < self.null_fraction;
                nums[i].push(if null {
                    None
                } else {
                    Some((v * 1e6).round() / 1e6)
                });
            }
            for (j, col) in cats.iter_mut().enumerate() {
                let u: f64 = rng.gen();
                let mut k = cum.partition_point(|c| *c < u).min(self.categories - 1);
                let name = categorical_name(j);
                for d in self.drifts.iter().filter(|d| row >= d.from_row) {
                    if let DriftKind::CategoryShift { column, strength } = &d.kind {
                        if *column == name && rng.gen::<f64>() < *strength {
                            k = self.categories - 1;
                        }
                    }
                }
                let mut effect = cat_effect(k);
                if concept {
                    effect = -effect;
                }
                z += effect;
                col.push(names[k]);
            }
            match self.task {
                Task::Classification => {
                    let mut label = if self.label_temperature > 0.0 {
                        rng.gen::<f64>() < 1.0 / (1.0 + (-z / self.label_temperature).exp())
                    } else {
                        z > 0.0
                    };
                    if self.label_noise > 0.0 && rng.gen::<f64>() < self.label_noise {
                        label = !label;
                    }
                    target_i.push(label as i64);
                }
                Task::Regression => {
                    let e: f64 = noise.sample(&mut rng);
                    target_f.push(((3.0 * z + 10.0 + e) * 1e6).round() / 1e6);
                }
            }
        }
        let mut columns: Vec<Column> = Vec::with_capacity(self.numeric + self.categorical + 2);
        let ts: Vec<i64> = (from..to)
            .map(|r| (self.start + r as i64 * self.step_seconds) * 1000)
            .collect();
        let ts =
            Int64Chunked::from_vec("ts".into(), ts).into_datetime(TimeUnit::Milliseconds, None);
        columns.push(ts.into_series().into());
        for (i, v) in nums.into_iter().enumerate() {
            columns.push(Column::new(numeric_name(i).into(), v));
        }
        for (j, v) in cats.into_iter().enumerate() {
            columns.push(Column::new(categorical_name(j).into(), v));
        }
        match self.task {
            Task::Classification => columns.push(Column::new("label".into(), target_i)),
            Task::Regression => columns.push(Column::new("y".into(), target_f)),
        }
        DataFrame::new(n, columns)
    }
}

fn category_names(k: usize) -> Vec<&'static str> {
    (0..k)
        .map(|i| &*Box::leak(format!("c{i:02}").into_boxed_str()))
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Csv,
    Parquet,
}

/// Writes the data as `partitions` files `<dir>/<prefix>-NNNN.<ext>` (or one file
/// `<dir>/<prefix>.<ext>` when `partitions == 1`); returns the paths.
pub fn write(
    spec: &Spec,
    dir: &Path,
    prefix: &str,
    partitions: usize,
    format: OutputFormat,
) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let partitions = partitions.max(1);
    let ext = match format {
        OutputFormat::Csv => "csv",
        OutputFormat::Parquet => "parquet",
    };
    (0..partitions)
        .into_par_iter()
        .map(|p| {
            let from = p * spec.rows / partitions;
            let to = (p + 1) * spec.rows / partitions;
            let mut df = spec
                .generate_range(from, to, p as u64)
                .map_err(std::io::Error::other)?;
            let path = if partitions == 1 {
                dir.join(format!("{prefix}.{ext}"))
            } else {
                dir.join(format!("{prefix}-{p:04}.{ext}"))
            };
            let tmp = path.with_extension(format!("{ext}.tmp"));
            let file = std::fs::File::create(&tmp)?;
            let mut writer = std::io::BufWriter::new(file);
            match format {
                OutputFormat::Csv => CsvWriter::new(&mut writer)
                    .finish(&mut df)
                    .map_err(std::io::Error::other)?,
                OutputFormat::Parquet => {
                    ParquetWriter::new(&mut writer)
                        .finish(&mut df)
                        .map_err(std::io::Error::other)?;
                }
            }
            std::io::Write::flush(&mut writer)?;
            drop(writer);
            std::fs::rename(&tmp, &path)?;
            Ok(path)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_rows() {
        let spec = Spec {
            rows: 200,
            ..Spec::default()
        };
        let a = spec.generate_range(0, 200, 0).unwrap();
        let b = spec.generate_range(0, 200, 0).unwrap();
        assert!(a.equals_missing(&b));
        let other = Spec {
            seed: 7,
            ..spec.clone()
        }
        .generate_range(0, 200, 0)
        .unwrap();
        assert!(!a.equals_missing(&other));
    }

    #[test]
    fn mean_shift_moves_only_its_column() {
        let spec = Spec {
            rows: 4000,
            drifts: vec!["num_01:mean:2@2000".parse().unwrap()],
            ..Spec::default()
        };
        let df = spec.generate_range(0, 4000, 0).unwrap();
        let mean = |c: &str, a: usize, b: usize| {
            let s = df
                .column(c)
                .unwrap()
                .as_materialized_series()
                .slice(a as i64, b - a);
            s.f64().unwrap().mean().unwrap()
        };
        assert!(mean("num_01", 0, 2000).abs() < 0.1);
        assert!((mean("num_01", 2000, 4000) - 2.0).abs() < 0.1);
        assert!((mean("num_00", 2000, 4000)).abs() < 0.1);
    }

    #[test]
    fn drift_specs_parse() {
        assert_eq!(
            "concept@10".parse::<Drift>().unwrap().kind,
            DriftKind::Concept
        );
        assert!("num_01:wobble:1@3".parse::<Drift>().is_err());
        assert!("num_01:mean:1".parse::<Drift>().is_err());
    }
}
