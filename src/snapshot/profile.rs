//! Column profiles: the summary of a column kept in a snapshot manifest so that
//! drift against that snapshot never re-reads its data.
//!
//! Profiles are computed per file ("parts") and merged, so memory is bounded by the
//! largest file's columns in one group, and partitions can be profiled in any order.
//!
//! Numeric columns keep exact count, nulls, NaN/Inf counts, min, max, mean, std, and a
//! quantile sketch: `histogram.edges[j]` is the quantile at rank `histogram.ranks[j]`:
//! every `i / 256` (an equi-depth histogram) plus finer ranks in both tails (`2^-13` to
//! `2^-9` and their mirrors), so that heavy tails are not smeared over the last bin
//! (linear interpolation between order statistics, numpy's
//! default). Within one file it is computed from the fully sorted column through a
//! 4096-point summary (rank error ≤ 1/8192); across files the summaries are merged by
//! weight (rank error ≤ 1/8192 + the largest file's share of 1/4096). When a column has
//! at most [`EXACT_VALUES`] distinct values its exact value counts are kept too, which
//! makes tests on small references (KS, chi-square) exact.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

/// Distinct values up to which exact value counts are kept.
pub const EXACT_VALUES: usize = 1000;
/// Points of the per-file summary.
const SUMMARY_POINTS: usize = 4096;
/// Bins of the stored equi-depth histogram.
pub const HISTOGRAM_BINS: usize = 256;
/// Categorical values tracked exactly before the counts are pruned.
const CATEGORY_CAP: usize = 200_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumericProfile {
    /// Finite values (the statistics below are over these).
    pub finite: u64,
    /// NaN values (counted in `count`, excluded from the statistics).
    pub nan: u64,
    /// +/- infinite values (counted in `count`, excluded from the statistics).
    pub inf: u64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub mean: Option<f64>,
    /// Sample standard deviation (n - 1).
    pub std: Option<f64>,
    /// Distinct finite values: exact when `distinct_exact`, else a lower bound.
    pub distinct: u64,
    pub distinct_exact: bool,
    /// p01, p05, p10, p25, p50, p75, p90, p95, p99.
    pub quantiles: BTreeMap<String, f64>,
    pub histogram: Histogram,
    /// Exact `[value, count]` pairs, ascending, when there are at most 1000 distinct values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<(f64, u64)>>,
}

/// Quantile sketch: `edges[j]` is the quantile at rank `ranks[j]` (`i / bins`, refined
/// in the tails); between two edges the reference's CDF is taken as linear. Every bin holds
/// `1 / bins` of the finite values.
///
/// Stored compactly: `ranks` only when they are not [`sketch_ranks`], and no edges at all
/// when the profile keeps the exact values (which say more, in no more room).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "HistogramRepr")]
pub struct Histogram {
    pub bins: usize,
    #[serde(skip_serializing_if = "is_standard_ranks")]
    pub ranks: Vec<f64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub edges: Vec<f64>,
}

fn is_standard_ranks(ranks: &[f64]) -> bool {
    ranks.is_empty() || ranks == sketch_ranks().as_slice()
}

/// A histogram as stored. Manifests written before `ranks` existed hold `bins + 1`
/// equi-depth edges: their ranks are `i / bins`, so they still read (and drift is
/// still tested against them).
#[derive(Deserialize)]
struct HistogramRepr {
    bins: usize,
    #[serde(default)]
    ranks: Vec<f64>,
    #[serde(default)]
    edges: Vec<f64>,
}

impl From<HistogramRepr> for Histogram {
    fn from(h: HistogramRepr) -> Self {
        let standard = sketch_ranks();
        let ranks = if h.ranks.is_empty() && h.edges.len() == standard.len() {
            // written without its ranks: they are the standard ones
            standard
        } else if h.ranks.is_empty() && h.edges.len() > 1 {
            let last = (h.edges.len() - 1) as f64;
            (0..h.edges.len()).map(|i| i as f64 / last).collect()
        } else {
            h.ranks
        };
        Self {
            bins: h.bins,
            ranks,
            edges: h.edges,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoricalProfile {
    /// Distinct values: exact when `distinct_exact`.
    pub distinct: u64,
    pub distinct_exact: bool,
    /// The most frequent values with their counts, most frequent first.
    pub top: Vec<(String, u64)>,
    /// Count of values outside `top`.
    pub other: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatetimeProfile {
    pub min: Option<String>,
    pub max: Option<String>,
    /// `min` / `max` as milliseconds since the Unix epoch (UTC).
    #[serde(default)]
    pub min_ms: Option<i64>,
    #[serde(default)]
    pub max_ms: Option<i64>,
}

/// The per-kind part of a profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KindProfile {
    Numeric(NumericProfile),
    Categorical(CategoricalProfile),
    Datetime(DatetimeProfile),
}

/// Partial profile of a numeric column over one or more files. Serialisable, so that a
/// file's part is kept (`.retrain/cache/profiles/`) and merged into later snapshots
/// instead of being computed again.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NumericPart {
    pub count: u64,
    pub nulls: u64,
    nan: u64,
    inf: u64,
    finite: u64,
    mean: f64,
    m2: f64,
    /// NaN while there is no finite value (kept as `null`).
    #[serde(with = "nan_as_null")]
    min: f64,
    #[serde(with = "nan_as_null")]
    max: f64,
    /// (value, weight) summary points, as the little-endian bytes of the values and of
    /// the weights, base64 (a tenth of the text and the time of JSON numbers).
    #[serde(with = "points_as_bytes")]
    points: Vec<(f64, f64)>,
    /// The points of the files merged in, by level ([`super::summary`]): bounded
    /// whatever the number of files. Empty for one file's part.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tower: Vec<Level>,
    /// Exact counts while there are few distinct values (keys are f64 bits).
    values: Option<BTreeMap<u64, u64>>,
    distinct_lower: u64,
    parts: usize,
}

impl NumericPart {
    /// Profiles one file's column: `finite` holds its non-null values (NaN and Inf
    /// included; they are counted and set aside here).
    pub fn from_values(mut finite: Vec<f64>, nulls: u64) -> Self {
        let count = finite.len() as u64; // non-null values, NaN and Inf included
        let before = finite.len();
        let mut nan = 0u64;
        let mut inf = 0u64;
        finite.retain(|v| {
            if v.is_nan() {
                nan += 1;
                false
            } else if v.is_infinite() {
                inf += 1;
                false
            } else {
                true
            }
        });
        debug_assert_eq!(before as u64, finite.len() as u64 + nan + inf);
        crate::data::values::sort_floats(&mut finite);
        let n = finite.len();
        let (mut mean, mut m2) = (0.0, 0.0);
        // Two-pass mean and M2: exact enough and simple on a sorted in-memory column.
        if n > 0 {
            mean = finite.iter().sum::<f64>() / n as f64;
            m2 = finite.iter().map(|v| (v - mean) * (v - mean)).sum();
        }
        // Distinct values from runs of the sorted column.
        let mut values: Option<BTreeMap<u64, u64>> = Some(BTreeMap::new());
        let mut distinct = 0u64;
        let mut i = 0;
        while i < n {
            let v = finite[i];
            let mut j = i + 1;
            while j < n && finite[j] == v {
                j += 1;
            }
            distinct += 1;
            if let Some(map) = values.as_mut() {
                // -0.0 and 0.0 compare equal; store +0.0.
                let key = if v == 0.0 { 0.0f64 } else { v };
                *map.entry(key.to_bits()).or_insert(0) += (j - i) as u64;
                if map.len() > EXACT_VALUES {
                    values = None;
                }
            }
            i = j;
        }
        let points = if n <= SUMMARY_POINTS {
            finite.iter().map(|v| (*v, 1.0)).collect()
        } else {
            (0..SUMMARY_POINTS)
                .map(|k| {
                    let lo = k * n / SUMMARY_POINTS;
                    let hi = (k + 1) * n / SUMMARY_POINTS;
                    // The block's middle order statistic stands for its hi - lo values.
                    (finite[(lo + hi - 1) / 2], (hi - lo) as f64)
                })
                .collect()
        };
        Self {
            count,
            nulls,
            nan,
            inf,
            finite: n as u64,
            mean,
            m2,
            min: finite.first().copied().unwrap_or(f64::NAN),
            max: finite.last().copied().unwrap_or(f64::NAN),
            points,
            tower: Vec::new(),
            values,
            distinct_lower: distinct,
            parts: 1,
        }
    }

    pub fn merge(&mut self, other: NumericPart) {
        if other.parts == 0 {
            return;
        }
        if self.parts == 0 {
            *self = other;
            return;
        }
        let (na, nb) = (self.finite as f64, other.finite as f64);
        if na + nb > 0.0 {
            let delta = other.mean - self.mean;
            let n = na + nb;
            self.mean += delta * nb / n;
            self.m2 += other.m2 + delta * delta * na * nb / n;
        }
        self.count += other.count;
        self.nulls += other.nulls;
        self.nan += other.nan;
        self.inf += other.inf;
        self.finite += other.finite;
        self.min = nan_min(self.min, other.min);
        self.max = nan_max(self.max, other.max);
        // the summary points through the levels, in a fixed order: this part's own, the
        // other's levels, the other's own
        let mut tower: Vec<Vec<(f64, f64)>> = std::mem::take(&mut self.tower)
            .into_iter()
            .map(|l| l.0)
            .collect();
        let own = std::mem::take(&mut self.points);
        if !own.is_empty() {
            super::summary::carry(&mut tower, 0, own);
        }
        for (l, level) in other.tower.into_iter().enumerate() {
            if !level.0.is_empty() {
                super::summary::carry(&mut tower, l, level.0);
            }
        }
        if !other.points.is_empty() {
            super::summary::carry(&mut tower, 0, other.points);
        }
        self.tower = tower.into_iter().map(Level).collect();
        self.values = match (self.values.take(), other.values) {
            (Some(mut a), Some(b)) => {
                for (k, v) in b {
                    *a.entry(k).or_insert(0) += v;
                }
                (a.len() <= EXACT_VALUES).then_some(a)
            }
            _ => None,
        };
        self.distinct_lower = self.distinct_lower.max(other.distinct_lower);
        self.parts += other.parts;
    }

    pub fn finish(mut self) -> NumericProfile {
        // the levels and the own points are sorted runs: the stable sort merges runs;
        // equal values may swap weights, which moves no quantile
        for level in std::mem::take(&mut self.tower) {
            self.points.extend(level.0);
        }
        self.points.sort_by(|a, b| a.0.total_cmp(&b.0));
        let n = self.finite;
        let ranked = Ranked::new(&self.points);
        // with the exact values (few distinct ones), the exact quantiles
        let exact: Option<Vec<(f64, u64)>> = self.values.as_ref().map(|m| {
            let mut v: Vec<(f64, u64)> = m.iter().map(|(k, c)| (f64::from_bits(*k), *c)).collect();
            v.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
            v
        });
        let quantile = |q: f64| match &exact {
            Some(v) => exact_quantile(v, n, q),
            None => ranked.quantile(q),
        };
        let has = n > 0;
        let ranks = sketch_ranks();
        let edges: Vec<f64> = if has {
            ranks
                .iter()
                .map(|&r| {
                    if r <= 0.0 {
                        self.min
                    } else if r >= 1.0 {
                        self.max
                    } else {
                        quantile(r)
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        let mut quantiles = BTreeMap::new();
        if has {
            for (name, q) in [
                ("p01", 0.01),
                ("p05", 0.05),
                ("p10", 0.10),
                ("p25", 0.25),
                ("p50", 0.50),
                ("p75", 0.75),
                ("p90", 0.90),
                ("p95", 0.95),
                ("p99", 0.99),
            ] {
                quantiles.insert(name.to_string(), quantile(q));
            }
        }
        let (distinct, distinct_exact) = match (&self.values, self.parts) {
            (Some(map), _) => (map.len() as u64, true),
            (None, 1) => (self.distinct_lower, true),
            (None, _) => (self.distinct_lower.max(EXACT_VALUES as u64 + 1), false),
        };
        NumericProfile {
            finite: self.finite,
            nan: self.nan,
            inf: self.inf,
            min: has.then_some(self.min),
            max: has.then_some(self.max),
            mean: has.then_some(self.mean),
            std: (n > 1).then(|| (self.m2 / (n as f64 - 1.0)).sqrt()),
            distinct,
            distinct_exact,
            quantiles,
            // with the exact values, the sketch would only repeat them
            histogram: if has && self.values.is_none() {
                Histogram {
                    bins: HISTOGRAM_BINS,
                    ranks,
                    edges,
                }
            } else {
                Histogram {
                    bins: HISTOGRAM_BINS,
                    ranks: Vec::new(),
                    edges: Vec::new(),
                }
            },
            // Keys are f64 bits, whose order is not numeric for negatives: sort by value.
            values: self.values.map(|m| {
                let mut v: Vec<(f64, u64)> =
                    m.into_iter().map(|(k, c)| (f64::from_bits(k), c)).collect();
                v.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
                v
            }),
        }
    }
}

/// One level of merged summary points (sorted by value), stored as [`NumericPart`]'s
/// own points are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Level(#[serde(with = "points_as_bytes")] pub Vec<(f64, f64)>);

/// Ranks of the sketch's edges: `i / 256`, plus `2^-13 .. 2^-9` and `1 - 2^-9 .. 1 - 2^-13`.
pub fn sketch_ranks() -> Vec<f64> {
    let tail: Vec<f64> = (9..=13).rev().map(|k| 0.5f64.powi(k)).collect();
    let mut ranks = vec![0.0];
    ranks.extend(tail.iter().copied());
    ranks.extend((1..HISTOGRAM_BINS).map(|i| i as f64 / HISTOGRAM_BINS as f64));
    ranks.extend(tail.iter().rev().map(|t| 1.0 - t));
    ranks.push(1.0);
    ranks
}

fn nan_min(a: f64, b: f64) -> f64 {
    if a.is_nan() {
        b
    } else if b.is_nan() {
        a
    } else {
        a.min(b)
    }
}

fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() {
        b
    } else if b.is_nan() {
        a
    } else {
        a.max(b)
    }
}

/// numpy's linear quantile `q` of `n` values given as sorted (value, count) runs: rank
/// `q (n - 1)`, interpolated between the two order statistics around it.
fn exact_quantile(runs: &[(f64, u64)], n: u64, q: f64) -> f64 {
    if runs.is_empty() || n == 0 {
        return f64::NAN;
    }
    let rank = q * (n - 1) as f64;
    let (lo, frac) = (rank.floor() as u64, rank - rank.floor());
    let at = |r: u64| {
        let mut seen = 0u64;
        for (v, c) in runs {
            seen += c;
            if r < seen {
                return *v;
            }
        }
        runs[runs.len() - 1].0
    };
    let a = at(lo);
    if frac == 0.0 {
        a
    } else {
        a + frac * (at(lo + 1) - a)
    }
}

/// Quantile `q` of weighted, sorted points. A point of weight `w` stands for `w`
/// consecutive order statistics; it sits at their middle rank. With unit weights this is
/// numpy's linear quantile: rank `q (n - 1)`, interpolated between neighbours.
pub fn weighted_quantile(points: &[(f64, f64)], q: f64) -> f64 {
    Ranked::new(points).quantile(q)
}

/// Weighted, sorted points with each one's middle rank, for many quantiles of the same
/// points: a binary search each (a merged profile holds 4096 points per file, and 267+
/// quantiles are read from it) — the same values as a scan, computed the same way.
struct Ranked<'a> {
    points: &'a [(f64, f64)],
    ranks: Vec<f64>,
    total: f64,
}

impl<'a> Ranked<'a> {
    fn new(points: &'a [(f64, f64)]) -> Self {
        let total: f64 = points.iter().map(|p| p.1).sum();
        let mut before = 0.0;
        let ranks = points
            .iter()
            .map(|&(_, weight)| {
                let rank = before + (weight - 1.0) / 2.0;
                before += weight;
                rank
            })
            .collect();
        Ranked {
            points,
            ranks,
            total,
        }
    }

    fn quantile(&self, q: f64) -> f64 {
        if self.points.is_empty() {
            return f64::NAN;
        }
        let target = q.clamp(0.0, 1.0) * (self.total - 1.0);
        // the first point whose rank reaches the target (ranks only grow)
        let i = self.ranks.partition_point(|&r| r < target);
        if i == self.points.len() {
            return self.points[i - 1].0;
        }
        let (rank, value) = (self.ranks[i], self.points[i].0);
        match i.checked_sub(1) {
            Some(j) if rank > self.ranks[j] => {
                let (prank, pvalue) = (self.ranks[j], self.points[j].0);
                pvalue + (value - pvalue) * (target - prank) / (rank - prank)
            }
            _ => value,
        }
    }
}

/// Partial profile of a categorical column.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CategoricalPart {
    pub count: u64,
    pub nulls: u64,
    counts: HashMap<String, u64>,
    exact: bool,
    parts: usize,
}

impl CategoricalPart {
    pub fn from_counts(counts: HashMap<String, u64>, nulls: u64) -> Self {
        let count = counts.values().sum();
        let mut part = Self {
            count,
            nulls,
            counts,
            exact: true,
            parts: 1,
        };
        part.prune();
        part
    }

    fn prune(&mut self) {
        if self.counts.len() > CATEGORY_CAP {
            let mut all: Vec<(String, u64)> = self.counts.drain().collect();
            all.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            all.truncate(CATEGORY_CAP / 2);
            self.counts = all.into_iter().collect();
            self.exact = false;
        }
    }

    pub fn merge(&mut self, other: CategoricalPart) {
        if self.parts == 0 {
            *self = other;
            return;
        }
        self.count += other.count;
        self.nulls += other.nulls;
        self.exact &= other.exact;
        for (k, v) in other.counts {
            *self.counts.entry(k).or_insert(0) += v;
        }
        self.parts += other.parts;
        self.prune();
    }

    pub fn finish(self, top_k: usize) -> CategoricalProfile {
        let distinct = self.counts.len() as u64;
        let mut all: Vec<(String, u64)> = self.counts.into_iter().collect();
        all.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        all.truncate(top_k);
        let kept: u64 = all.iter().map(|e| e.1).sum();
        CategoricalProfile {
            distinct,
            distinct_exact: self.exact,
            top: all,
            other: self.count - kept,
        }
    }
}

mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_nan() {
            s.serialize_none()
        } else {
            s.serialize_f64(*v)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

mod points_as_bytes {
    use base64::Engine;
    use serde::{de::Error, Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Encoded {
        values: String,
        weights: String,
    }

    fn encode(it: impl Iterator<Item = f64>) -> String {
        let bytes: Vec<u8> = it.flat_map(f64::to_le_bytes).collect();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    fn decode<E: Error>(text: &str) -> Result<Vec<f64>, E> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(E::custom)?;
        if bytes.len() % 8 != 0 {
            return Err(E::custom("summary points are not whole f64s"));
        }
        Ok(bytes
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect())
    }

    pub fn serialize<S: Serializer>(points: &[(f64, f64)], s: S) -> Result<S::Ok, S::Error> {
        Encoded {
            values: encode(points.iter().map(|p| p.0)),
            weights: encode(points.iter().map(|p| p.1)),
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(f64, f64)>, D::Error> {
        let e = Encoded::deserialize(d)?;
        let (v, w) = (
            decode::<D::Error>(&e.values)?,
            decode::<D::Error>(&e.weights)?,
        );
        if v.len() != w.len() {
            return Err(D::Error::custom(
                "summary values and weights differ in length",
            ));
        }
        Ok(v.into_iter().zip(w).collect())
    }
}

#[cfg(test)]
mod tests {
    /// The scan the binary search replaced, kept as the reference.
    fn scanned_quantile(points: &[(f64, f64)], q: f64) -> f64 {
        let total: f64 = points.iter().map(|p| p.1).sum();
        let target = q.clamp(0.0, 1.0) * (total - 1.0);
        let mut before = 0.0;
        let mut prev: Option<(f64, f64)> = None;
        for &(value, weight) in points {
            let rank = before + (weight - 1.0) / 2.0;
            if rank >= target {
                return match prev {
                    Some((prank, pvalue)) if rank > prank => {
                        pvalue + (value - pvalue) * (target - prank) / (rank - prank)
                    }
                    _ => value,
                };
            }
            prev = Some((rank, value));
            before += weight;
        }
        points[points.len() - 1].0
    }

    #[test]
    fn ranked_quantiles_equal_the_scan_bit_for_bit() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for n in [1usize, 2, 3, 10, 4096, 20_000] {
            let mut pts: Vec<(f64, f64)> = (0..n)
                .map(|_| (rng.gen::<f64>() * 100.0, rng.gen_range(1..5) as f64))
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            let ranked = Ranked::new(&pts);
            for k in 0..=1000 {
                let q = k as f64 / 1000.0;
                assert_eq!(
                    ranked.quantile(q).to_bits(),
                    scanned_quantile(&pts, q).to_bits(),
                    "n={n} q={q}"
                );
            }
        }
    }

    use super::*;

    /// A manifest written before `ranks` existed still reads: equi-depth ranks.
    #[test]
    fn histograms_without_ranks_get_equi_depth_ranks() {
        let h: Histogram =
            serde_yaml::from_str("bins: 4\nedges: [0.0, 1.0, 2.0, 3.0, 4.0]\n").unwrap();
        assert_eq!(h.ranks, [0.0, 0.25, 0.5, 0.75, 1.0]);
        let back: Histogram = serde_yaml::from_str(&serde_yaml::to_string(&h).unwrap()).unwrap();
        assert_eq!(back, h);
    }

    #[test]
    fn unit_weight_quantiles_match_numpy_linear() {
        let pts: Vec<(f64, f64)> = [1.0, 2.0, 3.0, 4.0].iter().map(|v| (*v, 1.0)).collect();
        // numpy.quantile([1,2,3,4], [0, .25, .5, .9, 1]) = 1, 1.75, 2.5, 3.7, 4
        for (q, want) in [(0.0, 1.0), (0.25, 1.75), (0.5, 2.5), (0.9, 3.7), (1.0, 4.0)] {
            assert!((weighted_quantile(&pts, q) - want).abs() < 1e-12, "q={q}");
        }
    }

    #[test]
    fn numeric_profile_counts_and_moments() {
        let mut vals: Vec<f64> = (0..1000).map(|i| i as f64).collect();
        vals.push(f64::NAN);
        vals.push(f64::INFINITY);
        let p = NumericPart::from_values(vals, 3).finish();
        assert_eq!((p.nan, p.inf), (1, 1));
        assert_eq!(p.min, Some(0.0));
        assert_eq!(p.max, Some(999.0));
        assert!((p.mean.unwrap() - 499.5).abs() < 1e-9);
        // sample std of 0..999
        assert!((p.std.unwrap() - 288.819_436_095_749_6).abs() < 1e-6);
        assert_eq!(p.quantiles["p50"], 499.5);
        assert_eq!(p.distinct, 1000);
        assert!(p.values.is_some());
        let neg = NumericPart::from_values(vec![-2.0, 3.0, -1.0, 0.0, -2.0], 0).finish();
        // regression: value counts were ordered by f64 bits, not by value
        assert_eq!(
            neg.values.unwrap(),
            vec![(-2.0, 2), (-1.0, 1), (0.0, 1), (3.0, 1)]
        );
        // exact values: no sketch beside them (D8: it cost 12.5 KB a column)
        assert!(p.histogram.edges.is_empty() && p.histogram.ranks.is_empty());
        let many = NumericPart::from_values((0..5000).map(f64::from).collect(), 0).finish();
        assert!(many.values.is_none());
        assert_eq!(many.histogram.edges.len(), HISTOGRAM_BINS + 11);
        assert_eq!(many.histogram.ranks.len(), many.histogram.edges.len());
        assert!(many.histogram.ranks.windows(2).all(|w| w[0] < w[1]));
        // stored without its standard ranks, read back with them
        let text = serde_yaml::to_string(&many.histogram).unwrap();
        assert!(!text.contains("ranks"), "{text}");
        let back: Histogram = serde_yaml::from_str(&text).unwrap();
        assert_eq!(back, many.histogram);
    }

    #[test]
    fn merged_parts_agree_with_one_part() {
        let all: Vec<f64> = (0..100_000)
            .map(|i| ((i * 7919) % 100_000) as f64 / 7.0)
            .collect();
        let whole = NumericPart::from_values(all.clone(), 0).finish();
        let mut merged = NumericPart::default();
        for chunk in all.chunks(30_000) {
            merged.merge(NumericPart::from_values(chunk.to_vec(), 0));
        }
        let merged = merged.finish();
        assert!((whole.mean.unwrap() - merged.mean.unwrap()).abs() < 1e-6);
        assert!((whole.std.unwrap() - merged.std.unwrap()).abs() < 1e-6);
        let range = whole.max.unwrap() - whole.min.unwrap();
        for (a, b) in whole.histogram.edges.iter().zip(&merged.histogram.edges) {
            assert!((a - b).abs() / range < 1e-3, "{a} vs {b}");
        }
        assert!(!merged.distinct_exact && merged.values.is_none());
    }

    #[test]
    fn categorical_top_k_and_other() {
        let counts: HashMap<String, u64> = [("a", 5), ("b", 3), ("c", 1), ("d", 1)]
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect();
        let p = CategoricalPart::from_counts(counts, 2).finish(2);
        assert_eq!(p.top, vec![("a".to_string(), 5), ("b".to_string(), 3)]);
        assert_eq!(p.other, 2);
        assert_eq!(p.distinct, 4);
    }
}
