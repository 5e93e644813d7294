//! Gradient histograms: per bin of every column, the sums of the gradients, hessians and
//! row counts of a leaf's rows.
//!
//! One pass over the leaf's rows fills the bins of a group of columns (the rows' bins are
//! stored row-major, so a row's bins and its gradient are read once per group). Groups of
//! columns are filled in parallel; each bin is summed by one thread in row order, so a
//! histogram is the same on any number of threads. The larger child of a split gets the
//! parent's histogram minus the smaller child's ([`subtract`]), as LightGBM does, so a
//! split reads only the smaller child's rows.

use rayon::prelude::*;

use super::bins::Binned;

/// The sums of one bin.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Cell {
    pub g: f64,
    pub h: f64,
    pub n: f64,
}

impl Cell {
    pub fn add(&mut self, o: &Cell) {
        self.g += o.g;
        self.h += o.h;
        self.n += o.n;
    }

    pub fn minus(&self, o: &Cell) -> Cell {
        Cell {
            g: self.g - o.g,
            h: self.h - o.h,
            n: self.n - o.n,
        }
    }
}

/// Gradient and hessian of one row (f32, as LightGBM keeps them; sums are f64).
pub type Grad = [f32; 2];

/// Columns per group: each group is one sequential pass over the rows.
const GROUP: usize = 6;
/// Below this many rows a histogram is built on the calling thread.
const PARALLEL_ROWS: usize = 2048;

/// The histogram of `rows` (length [`Binned::total`]).
pub fn build(b: &Binned, rows: &[u32], grad: &[Grad]) -> Vec<Cell> {
    let mut out = vec![Cell::default(); b.total];
    let groups = b.width.div_ceil(GROUP).max(1);
    if rows.len() < PARALLEL_ROWS || groups == 1 {
        fill(b, rows, grad, 0, b.width, &mut out);
        return out;
    }
    // split `out` at the groups' first bins so that each group writes its own slice
    let mut slices: Vec<(usize, usize, &mut [Cell])> = Vec::with_capacity(groups);
    let mut rest: &mut [Cell] = &mut out;
    let mut consumed = 0;
    for g in 0..groups {
        let (from, to) = (g * GROUP, ((g + 1) * GROUP).min(b.width));
        let end = if to == b.width {
            b.total
        } else {
            b.offsets[to]
        };
        let (head, tail) = rest.split_at_mut(end - consumed);
        slices.push((from, to, head));
        rest = tail;
        consumed = end;
    }
    slices.into_par_iter().for_each(|(from, to, slice)| {
        fill_offset(b, rows, grad, from, to, slice, b.offsets[from]);
    });
    out
}

fn fill(b: &Binned, rows: &[u32], grad: &[Grad], from: usize, to: usize, out: &mut [Cell]) {
    fill_offset(b, rows, grad, from, to, out, 0)
}

/// Adds `rows` into the bins of columns `from..to`; `out[0]` is histogram cell `base`.
fn fill_offset(
    b: &Binned,
    rows: &[u32],
    grad: &[Grad],
    from: usize,
    to: usize,
    out: &mut [Cell],
    base: usize,
) {
    let offsets: Vec<usize> = b.offsets[from..to].iter().map(|o| o - base).collect();
    let w = b.width;
    for &r in rows {
        let r = r as usize;
        let [g, h] = grad[r];
        let (g, h) = (f64::from(g), f64::from(h));
        let row = &b.bins[r * w + from..r * w + to];
        for (bin, off) in row.iter().zip(&offsets) {
            let c = &mut out[off + *bin as usize];
            c.g += g;
            c.h += h;
            c.n += 1.0;
        }
    }
}

/// `parent - small`, in place of `parent`.
pub fn subtract(parent: &mut [Cell], small: &[Cell]) {
    for (p, s) in parent.iter_mut().zip(small) {
        *p = p.minus(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn the_same_histogram_on_any_number_of_threads_and_by_subtraction() {
        let n = 10_000;
        let x = Array2::from_shape_fn((n, 13), |(i, j)| ((i * 7919 + j * 104_729) % 1000) as f64);
        let b = Binned::new(&x, &vec![None; 13], 255);
        let grad: Vec<Grad> = (0..n)
            .map(|i| [((i % 17) as f32 - 8.0) * 0.37, 0.25])
            .collect();
        let rows: Vec<u32> = (0..n as u32).collect();
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let serial = one.install(|| build(&b, &rows, &grad));
        let parallel = build(&b, &rows, &grad);
        assert_eq!(serial, parallel);
        let mut direct = vec![Cell::default(); b.total];
        fill(&b, &rows, &grad, 0, b.width, &mut direct);
        assert_eq!(direct, parallel);
        // the larger half by subtraction has the counts of the half built directly
        let (small, large): (Vec<u32>, Vec<u32>) = rows.iter().partition(|r| **r % 3 == 0);
        let mut parent = parallel;
        subtract(&mut parent, &build(&b, &small, &grad));
        let large_direct = build(&b, &large, &grad);
        for (a, d) in parent.iter().zip(&large_direct) {
            assert_eq!(a.n, d.n);
            assert!((a.g - d.g).abs() < 1e-6 && (a.h - d.h).abs() < 1e-9);
        }
    }
}
