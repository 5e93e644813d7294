//! Gradient histograms: per bin of every column, the sums of the gradients, hessians and
//! row counts of a leaf's rows.
//!
//! One pass over the leaf's rows fills the bins of every column (the rows' bins are
//! stored row-major, so a row's bins and its gradient are read once, fetched a few rows
//! ahead). A large leaf's rows are cut into fixed chunks filled in parallel and added in
//! chunk order, so a histogram is the same on any number of threads. The larger child of a split gets the
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

/// Rows per chunk: a leaf's rows are cut into chunks of this many (whatever the number
/// of threads), each chunk fills a histogram of its own, and the chunks' histograms are
/// added in chunk order, so the sums are the same on any number of threads.
const CHUNK: usize = 8192;
/// How far ahead of the row being added its successors' bins and gradients are fetched
/// (a leaf's rows are increasing but scattered, so each row is a cache miss otherwise).
const AHEAD: usize = 16;

/// The histogram of `rows` (length [`Binned::total`]).
pub fn build(b: &Binned, rows: &[u32], grad: &[Grad]) -> Vec<Cell> {
    if rows.len() <= CHUNK {
        let mut out = vec![Cell::default(); b.total];
        fill(b, rows, grad, &mut out);
        return out;
    }
    let parts: Vec<Vec<Cell>> = rows
        .par_chunks(CHUNK)
        .map(|chunk| {
            let mut out = vec![Cell::default(); b.total];
            fill(b, chunk, grad, &mut out);
            out
        })
        .collect();
    let mut parts = parts.into_iter();
    let mut out = parts.next().expect("at least two chunks");
    for p in parts {
        for (o, c) in out.iter_mut().zip(&p) {
            o.add(c);
        }
    }
    out
}

#[inline(always)]
fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch(p as *const i8, std::arch::x86_64::_MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Adds `rows` into `out` (all columns).
fn fill(b: &Binned, rows: &[u32], grad: &[Grad], out: &mut [Cell]) {
    let w = b.width;
    let offsets = &b.offsets[..w];
    for (i, &r) in rows.iter().enumerate() {
        if let Some(&next) = rows.get(i + AHEAD) {
            let next = next as usize;
            prefetch(b.bins[next * w..].as_ptr());
            prefetch(&grad[next]);
        }
        let r = r as usize;
        let [g, h] = grad[r];
        let (g, h) = (f64::from(g), f64::from(h));
        let row = &b.bins[r * w..r * w + w];
        for (bin, off) in row.iter().zip(offsets) {
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
        fill(&b, &rows[..CHUNK], &grad, &mut direct);
        assert_eq!(direct, build(&b, &rows[..CHUNK], &grad));
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
