//! Binning for the histogram learners: every input column becomes at most 256 bins of
//! one byte each, stored row-major (`bins[row * width + feature]`) so that one pass over
//! a leaf's rows reads each row's bins and gradient once.
//!
//! Bin 0 of every column holds the missing values (NaN). Numeric columns: the value bins
//! `1..=edges.len() + 1` are cut at `edges` (f32, strictly increasing), so bin `b` holds
//! the values `v` with `edges[b - 2] <= v as f32 < edges[b - 1]`. Columns with at most
//! `max_bins` distinct values keep each value in its own bin (edges at the midpoints, as
//! scikit-learn's and LightGBM's), others are cut at quantiles of a sample of up to
//! 200,000 of their values. The comparison is done in f32 so that a threshold reads the
//! same in `model.json` and in an ONNX tree ensemble (whose thresholds are f32).
//! Categorical columns arrive as codes `0..levels` (the preprocessing puts rare and
//! unseen values in the last code, `other`): bin = code + 1.

use ndarray::Array2;
use rayon::prelude::*;

/// The most bins a column can have, bin 0 (missing) included.
pub const MAX_BINS: usize = 256;
const SAMPLE: usize = 200_000;

/// How one column is cut into bins.
#[derive(Debug, Clone, PartialEq)]
pub enum Cuts {
    /// Value bins cut at these edges.
    Numeric(Vec<f32>),
    /// Category codes `0..levels`.
    Categorical(usize),
}

impl Cuts {
    /// Bins of this column, the missing bin included.
    pub fn bins(&self) -> usize {
        match self {
            Cuts::Numeric(edges) => edges.len() + 2,
            Cuts::Categorical(levels) => levels + 1,
        }
    }

    pub fn bin(&self, v: f64) -> u8 {
        if v.is_nan() {
            return 0;
        }
        match self {
            Cuts::Numeric(edges) => {
                let v = v as f32;
                (1 + edges.partition_point(|e| *e <= v)) as u8
            }
            // codes beyond the fitted levels (cannot come from the preprocessing) are `other`
            Cuts::Categorical(levels) => (1 + (v.max(0.0) as usize).min(levels - 1)) as u8,
        }
    }
}

/// The binned training rows.
pub struct Binned {
    pub rows: usize,
    pub width: usize,
    /// Row-major: `bins[row * width + feature]` (histograms read a row's bins at once).
    pub bins: Vec<u8>,
    /// Column-major: `columns[feature * rows + row]` (a split reads one column of the
    /// leaf's increasing rows: neighbouring rows share cache lines).
    pub columns: Vec<u8>,
    pub cuts: Vec<Cuts>,
    /// Where each column's bins start in a histogram.
    pub offsets: Vec<usize>,
    /// Histogram length (all columns' bins).
    pub total: usize,
}

impl Binned {
    /// Bins `x` (rows × columns); `levels[j]` is `Some(levels)` for a categorical column.
    /// `max_bins` is the most value bins of a numeric column (≤ 255).
    pub fn new(x: &Array2<f64>, levels: &[Option<usize>], max_bins: usize) -> Self {
        let (n, width) = x.dim();
        let max_bins = max_bins.clamp(2, MAX_BINS - 1);
        let cuts: Vec<Cuts> = (0..width)
            .into_par_iter()
            .map(|j| match levels[j] {
                Some(l) => Cuts::Categorical(l.clamp(1, MAX_BINS - 1)),
                None => {
                    let col = x.column(j);
                    let step = n.div_ceil(SAMPLE).max(1);
                    let mut sample: Vec<f32> = col
                        .iter()
                        .step_by(step)
                        .filter(|v| !v.is_nan())
                        .map(|v| *v as f32)
                        .collect();
                    Cuts::Numeric(numeric_edges(&mut sample, max_bins))
                }
            })
            .collect();
        Self::with_cuts(x, cuts)
    }

    /// Bins `x` with cuts found before (validation rows, a continued ensemble).
    pub fn with_cuts(x: &Array2<f64>, cuts: Vec<Cuts>) -> Self {
        let (n, width) = x.dim();
        let mut bins = vec![0u8; n * width];
        const CHUNK: usize = 4096;
        bins.par_chunks_mut(CHUNK * width.max(1))
            .enumerate()
            .for_each(|(c, out)| {
                for (i, row) in out.chunks_mut(width.max(1)).enumerate() {
                    let r = c * CHUNK + i;
                    for (j, b) in row.iter_mut().enumerate().take(width) {
                        *b = cuts[j].bin(x[[r, j]]);
                    }
                }
            });
        let mut columns = vec![0u8; n * width];
        if n > 0 {
            columns.par_chunks_mut(n).enumerate().for_each(|(j, col)| {
                for (r, c) in col.iter_mut().enumerate() {
                    *c = bins[r * width + j];
                }
            });
        }
        let mut offsets = Vec::with_capacity(width);
        let mut total = 0;
        for c in &cuts {
            offsets.push(total);
            total += c.bins();
        }
        Self {
            rows: n,
            width,
            bins,
            columns,
            cuts,
            offsets,
            total,
        }
    }

    #[inline]
    pub fn row(&self, r: usize) -> &[u8] {
        &self.bins[r * self.width..(r + 1) * self.width]
    }
}

/// The midpoint of `a < b` as an f32 strictly above `a` and at most `b`.
fn mid(a: f32, b: f32) -> f32 {
    let m = ((f64::from(a) + f64::from(b)) / 2.0) as f32;
    if m <= a || m > b {
        b
    } else {
        m
    }
}

fn numeric_edges(values: &mut [f32], max_bins: usize) -> Vec<f32> {
    values.sort_unstable_by(|a, b| a.total_cmp(b));
    let mut distinct: Vec<f32> = Vec::new();
    for v in values.iter() {
        if distinct.last() != Some(v) {
            distinct.push(*v);
        }
    }
    if distinct.len() <= max_bins {
        return distinct.windows(2).map(|w| mid(w[0], w[1])).collect();
    }
    let n = values.len();
    let mut edges: Vec<f32> = Vec::with_capacity(max_bins - 1);
    for i in 1..max_bins {
        let r = i * n / max_bins;
        if r == 0 || r >= n {
            continue;
        }
        let (a, b) = (values[r - 1], values[r]);
        if a < b {
            let e = mid(a, b);
            if edges.last().is_none_or(|l| *l < e) {
                edges.push(e);
            }
        }
    }
    edges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_values_keep_their_own_bins_and_missing_is_bin_zero() {
        let x = Array2::from_shape_vec((5, 1), vec![1.0, 2.0, f64::NAN, 2.0, 3.0]).unwrap();
        let b = Binned::new(&x, &[None], 255);
        assert_eq!(b.cuts[0], Cuts::Numeric(vec![1.5, 2.5]));
        assert_eq!(b.bins, vec![1, 2, 0, 2, 3]);
        assert_eq!(b.total, 4);
    }

    #[test]
    fn many_values_are_cut_at_quantiles_into_at_most_max_bins() {
        let x = Array2::from_shape_fn((10_000, 1), |(i, _)| (i as f64).sqrt());
        let b = Binned::new(&x, &[None], 16);
        let Cuts::Numeric(e) = &b.cuts[0] else {
            panic!()
        };
        assert_eq!(e.len(), 15);
        let mut counts = [0usize; 18];
        for v in &b.bins {
            counts[*v as usize] += 1;
        }
        // quantile bins hold about the same number of rows
        assert!(
            counts[1..17].iter().all(|c| (600..=650).contains(c)),
            "{counts:?}"
        );
    }

    #[test]
    fn categorical_codes_map_to_bins_and_adjacent_f32_values_stay_apart() {
        let x = Array2::from_shape_vec((3, 1), vec![0.0, 2.0, f64::NAN]).unwrap();
        let b = Binned::new(&x, &[Some(3)], 255);
        assert_eq!(b.bins, vec![1, 3, 0]);
        let a = 1.0f32;
        let next = f32::from_bits(a.to_bits() + 1);
        let e = mid(a, next);
        assert!(a < e && e <= next);
    }
}
