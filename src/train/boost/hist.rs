//! Gradient histograms: per bin of every column, the sums of the gradients, hessians and
//! row counts of a leaf's rows.
//!
//! One pass over the leaf's rows fills the bins of every column (the rows' bins are
//! stored row-major, so a row's bins and its gradient are read once, fetched a few rows
//! ahead). A large leaf's rows are cut into fixed chunks filled in parallel and added in
//! chunk order, so a histogram is the same on any number of threads. The larger child of a split gets the
//! parent's histogram minus the smaller child's ([`subtract`]), as LightGBM does, so a
//! split reads only the smaller child's rows. When every row's hessian is the same (squared
//! and absolute error without weights), a pass sums only the gradients and the counts, and
//! the hessian sums are the counts times that hessian (LightGBM's constant-hessian
//! histograms): a third less to add and to keep in cache per bin.

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

/// The gradients of one tree's rows, and the hessian they all share, if they do.
#[derive(Debug, Clone, Copy)]
pub struct Grads<'a> {
    pub rows: &'a [Grad],
    pub constant_hessian: Option<f32>,
}

impl<'a> Grads<'a> {
    /// `rows`, with `constant_hessian` found by one pass over them.
    pub fn new(rows: &'a [Grad]) -> Self {
        let h = rows.first().map(|g| g[1]);
        let constant_hessian = h.filter(|h| rows.iter().all(|g| g[1] == *h));
        Self {
            rows,
            constant_hessian,
        }
    }
}

/// Rows per chunk: a leaf's rows are cut into chunks of this many (whatever the number
/// of threads), each chunk fills a histogram of its own, and the chunks' histograms are
/// added in chunk order, so the sums are the same on any number of threads.
const CHUNK: usize = 8192;
/// How far ahead of the row being added its successors' bins and gradients are fetched
/// (a leaf's rows are increasing but scattered, so each row is a cache miss otherwise).
const AHEAD: usize = 16;

/// The histogram of `rows` (length [`Binned::total`]). Large leaves: fixed row chunks in
/// parallel, added in order. Smaller ones (most leaves of a tree on 100k rows): groups of
/// columns in parallel, each group one pass over all the rows. Each bin is summed in row
/// order either way, so the result does not depend on the number of threads.
pub fn build(b: &Binned, rows: &[u32], grad: Grads<'_>) -> Vec<Cell> {
    let mut out = vec![Cell::default(); b.total];
    if rows.len() >= 4 * CHUNK {
        let parts: Vec<Vec<Cell>> = rows
            .par_chunks(CHUNK)
            .map(|chunk| {
                let mut out = vec![Cell::default(); b.total];
                fill(b, chunk, grad, 0..b.width, &mut out);
                out
            })
            .collect();
        for p in &parts {
            for (o, c) in out.iter_mut().zip(p) {
                o.add(c);
            }
        }
        return out;
    }
    if rows.len() < SMALL || b.width < 2 {
        fill(b, rows, grad, 0..b.width, &mut out);
        return out;
    }
    // columns in groups, one per thread (each bin is still summed in row order, so the
    // grouping does not change the sums), each group writing its own part of the histogram
    let groups = rayon::current_num_threads().clamp(1, b.width);
    let per = b.width.div_ceil(groups);
    let mut parts: Vec<(std::ops::Range<usize>, &mut [Cell])> = Vec::with_capacity(groups);
    let mut rest: &mut [Cell] = &mut out;
    for from in (0..b.width).step_by(per) {
        let to = (from + per).min(b.width);
        let len = if to == b.width {
            b.total
        } else {
            b.offsets[to]
        } - b.offsets[from];
        let (head, tail) = rest.split_at_mut(len);
        parts.push((from..to, head));
        rest = tail;
    }
    parts
        .into_par_iter()
        .for_each(|(columns, part)| fill(b, rows, grad, columns, part));
    out
}

/// Below this many rows a histogram is built on the calling thread.
const SMALL: usize = 1024;

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

/// Adds `rows` into the bins of `columns`; `out` starts at the first of them.
fn fill(
    b: &Binned,
    rows: &[u32],
    grad: Grads<'_>,
    columns: std::ops::Range<usize>,
    out: &mut [Cell],
) {
    match grad.constant_hessian {
        Some(h) => fill_constant(b, rows, grad.rows, columns, out, f64::from(h)),
        None => fill_full(b, rows, grad.rows, columns, out),
    }
}

/// The offsets of `columns`' bins from the first of them.
fn offsets_of(b: &Binned, columns: &std::ops::Range<usize>) -> Vec<usize> {
    let base = b.offsets.get(columns.start).copied().unwrap_or(0);
    b.offsets[columns.clone()]
        .iter()
        .map(|o| o - base)
        .collect()
}

/// [`fill`] when every hessian is `h`: sums of gradients and counts only.
fn fill_constant(
    b: &Binned,
    rows: &[u32],
    grad: &[Grad],
    columns: std::ops::Range<usize>,
    out: &mut [Cell],
    h: f64,
) {
    let mut sums = vec![[0.0f64; 2]; out.len()];
    pass(
        b,
        rows,
        grad,
        columns,
        &mut sums,
        |[g, _]| f64::from(g),
        |c, g| {
            c[0] += g;
            c[1] += 1.0;
        },
    );
    for (o, [g, n]) in out.iter_mut().zip(sums) {
        o.g += g;
        o.h += n * h;
        o.n += n;
    }
}

fn fill_full(
    b: &Binned,
    rows: &[u32],
    grad: &[Grad],
    columns: std::ops::Range<usize>,
    out: &mut [Cell],
) {
    pass(
        b,
        rows,
        grad,
        columns,
        out,
        |[g, h]| (f64::from(g), f64::from(h)),
        |c, (g, h)| {
            c.g += g;
            c.h += h;
            c.n += 1.0;
        },
    );
}

/// One pass over `rows`: each row's gradient, made once by `each_row`, is added by `add`
/// into its bin of every column of `columns` (`cells` starts at the first of them); the
/// rows' bins and gradients are fetched a few rows ahead.
#[inline(always)]
fn pass<C, T: Copy>(
    b: &Binned,
    rows: &[u32],
    grad: &[Grad],
    columns: std::ops::Range<usize>,
    cells: &mut [C],
    each_row: impl Fn(Grad) -> T,
    add: impl Fn(&mut C, T),
) {
    let w = b.width;
    let offsets = offsets_of(b, &columns);
    for (i, &r) in rows.iter().enumerate() {
        if let Some(&next) = rows.get(i + AHEAD) {
            let next = next as usize;
            prefetch(b.bins[next * w..].as_ptr());
            prefetch(&grad[next]);
        }
        let r = r as usize;
        let v = each_row(grad[r]);
        let row = &b.bins[r * w + columns.start..r * w + columns.end];
        for (bin, off) in row.iter().zip(&offsets) {
            add(&mut cells[off + *bin as usize], v);
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
        let n = 40_000;
        let x = Array2::from_shape_fn((n, 13), |(i, j)| ((i * 7919 + j * 104_729) % 1000) as f64);
        let b = Binned::new(&x, &vec![None; 13], 255);
        let g = |i: usize| ((i % 17) as f32 - 8.0) * 0.37;
        let constant: Vec<Grad> = (0..n).map(|i| [g(i), 0.25]).collect();
        let varying: Vec<Grad> = (0..n).map(|i| [g(i), 0.25 + (i % 5) as f32]).collect();
        for grad in [&constant, &varying] {
            let grad = Grads::new(grad);
            let rows: Vec<u32> = (0..n as u32).collect();
            let one = rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .unwrap();
            let serial = one.install(|| build(&b, &rows, grad));
            let parallel = build(&b, &rows, grad);
            assert_eq!(serial, parallel);
            let mut direct = vec![Cell::default(); b.total];
            fill(&b, &rows, grad, 0..b.width, &mut direct);
            for (d, p) in direct.iter().zip(&parallel) {
                assert_eq!(d.n, p.n, "row chunks");
                assert!((d.g - p.g).abs() < 1e-6 && (d.h - p.h).abs() < 1e-9);
            }
            let mut direct = vec![Cell::default(); b.total];
            fill(&b, &rows[..CHUNK], grad, 0..b.width, &mut direct);
            assert_eq!(direct, build(&b, &rows[..CHUNK], grad), "column groups");
            // the larger half by subtraction has the counts of the half built directly
            let (small, large): (Vec<u32>, Vec<u32>) = rows.iter().partition(|r| **r % 3 == 0);
            let mut parent = parallel;
            subtract(&mut parent, &build(&b, &small, grad));
            let large_direct = build(&b, &large, grad);
            for (a, d) in parent.iter().zip(&large_direct) {
                assert_eq!(a.n, d.n);
                assert!((a.g - d.g).abs() < 1e-6 && (a.h - d.h).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn a_constant_hessian_gives_the_sums_of_the_full_pass() {
        let n = 5000;
        let x = Array2::from_shape_fn((n, 4), |(i, j)| ((i * 31 + j * 7) % 97) as f64);
        let b = Binned::new(&x, &[None; 4], 64);
        let grad: Vec<Grad> = (0..n).map(|i| [(i % 11) as f32 - 5.0, 1.0]).collect();
        let g = Grads::new(&grad);
        assert_eq!(g.constant_hessian, Some(1.0));
        let rows: Vec<u32> = (0..n as u32).filter(|r| r % 7 != 0).collect();
        let mut full = vec![Cell::default(); b.total];
        fill_full(&b, &rows, &grad, 0..b.width, &mut full);
        assert_eq!(build(&b, &rows, g), full, "the same sums, bit for bit");
        assert_eq!(Grads::new(&[[1.0, 1.0], [1.0, 2.0]]).constant_hessian, None);
    }
}
