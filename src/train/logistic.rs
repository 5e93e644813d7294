//! L2-regularised logistic regression (binary and multinomial), fitted with L-BFGS.
//!
//! The objective is linfa-logistic's and scikit-learn's (`C = 1/alpha`), scaled by
//! `1/n` as scikit-learn does (same optimum; the gradient tolerance then means the
//! same thing as scikit-learn's `tol`):
//!
//! `f(W, b) = (1/n) Σ_i loss_i(W x_i + b) + alpha/(2n) ‖W‖²` (intercepts not penalised),
//!
//! with the log-loss of the sigmoid (binary) or the softmax (multinomial, one weight
//! vector per class). The loss and its gradient are computed in one pass over the rows,
//! in parallel chunks (rayon) that fit in cache; the optimiser is L-BFGS (10 pairs) with
//! a backtracking Armijo line search. It stops when the largest gradient component is
//! at most `tolerance` (scikit-learn's `lbfgs` criterion), when the objective stops
//! moving (relative change ≤ 64 ε, scipy's `ftol`), or after `max_iterations`.
//! The iteration count is reported (warm starts are judged by it).

use ndarray::{s, Array1, Array2, ArrayView2, Axis};
use rayon::prelude::*;

/// Rows per chunk: 1024 rows × 100 features × 8 bytes stay within a core's L2.
const CHUNK: usize = 1024;
const HISTORY: usize = 10;

#[derive(Debug, Clone)]
pub struct Solution {
    /// One row per class (multinomial) or a single row (binary: the positive class).
    pub weights: Array2<f64>,
    pub intercepts: Array1<f64>,
    pub iterations: usize,
    pub converged: bool,
    /// The final objective.
    pub objective: f64,
}

#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub alpha: f64,
    pub max_iterations: u64,
    pub tolerance: f64,
    pub fit_intercept: bool,
}

/// A model's parameters flattened: `k` rows of `d` weights, then `k` intercepts.
struct Shape {
    k: usize,
    d: usize,
}

impl Shape {
    fn len(&self) -> usize {
        self.k * (self.d + 1)
    }
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// `log(1 + exp(z))` without overflow.
fn softplus(z: f64) -> f64 {
    if z > 0.0 {
        z + (-z).exp().ln_1p()
    } else {
        z.exp().ln_1p()
    }
}

/// Loss sum and gradient (unscaled) over one chunk of rows.
fn chunk_binary(x: ArrayView2<f64>, y: &[u32], w: &[f64], b: f64, grad: &mut [f64]) -> f64 {
    let d = w.len();
    let wv = ndarray::ArrayView1::from(w);
    let z = x.dot(&wv);
    let mut r = Array1::<f64>::zeros(z.len());
    let mut loss = 0.0;
    for i in 0..z.len() {
        let zi = z[i] + b;
        let yi = f64::from(y[i]);
        // -[y log σ(z) + (1-y) log(1-σ(z))] = softplus(z) - y z
        loss += softplus(zi) - yi * zi;
        r[i] = sigmoid(zi) - yi;
    }
    let g = x.t().dot(&r);
    for j in 0..d {
        grad[j] += g[j];
    }
    grad[d] += r.sum();
    loss
}

fn chunk_softmax(
    x: ArrayView2<f64>,
    y: &[u32],
    w: ArrayView2<f64>,
    b: &[f64],
    grad: &mut [f64],
    shape: &Shape,
) -> f64 {
    let (k, d) = (shape.k, shape.d);
    // z: rows × k
    let mut z = x.dot(&w.t());
    let mut loss = 0.0;
    for (i, mut row) in z.axis_iter_mut(Axis(0)).enumerate() {
        let mut max = f64::NEG_INFINITY;
        for c in 0..k {
            row[c] += b[c];
            max = max.max(row[c]);
        }
        let mut sum = 0.0;
        for c in 0..k {
            sum += (row[c] - max).exp();
        }
        let lse = max + sum.ln();
        let yi = y[i] as usize;
        loss += lse - row[yi];
        for c in 0..k {
            row[c] = (row[c] - lse).exp();
        }
        row[yi] -= 1.0;
    }
    // gradient: R^T X (k × d), intercepts: column sums of R
    let g = z.t().dot(&x);
    for c in 0..k {
        for j in 0..d {
            grad[c * d + j] += g[[c, j]];
        }
        grad[k * d + c] += z.column(c).sum();
    }
    loss
}

/// The scaled objective and its gradient at `p`.
fn evaluate(
    x: &Array2<f64>,
    y: &[u32],
    p: &[f64],
    shape: &Shape,
    s: &Settings,
    binary: bool,
) -> (f64, Vec<f64>) {
    let n = x.nrows();
    let (k, d) = (shape.k, shape.d);
    let starts: Vec<usize> = (0..n).step_by(CHUNK).collect();
    let (loss, mut grad) = starts
        .par_iter()
        .fold(
            || (0.0, vec![0.0; shape.len()]),
            |(mut loss, mut grad), &start| {
                let end = (start + CHUNK).min(n);
                let xc = x.slice(s![start..end, ..]);
                let yc = &y[start..end];
                loss += if binary {
                    chunk_binary(xc, yc, &p[..d], p[d], &mut grad)
                } else {
                    let w = ArrayView2::from_shape((k, d), &p[..k * d]).expect("shape");
                    chunk_softmax(xc, yc, w, &p[k * d..], &mut grad, shape)
                };
                (loss, grad)
            },
        )
        .reduce(
            || (0.0, vec![0.0; shape.len()]),
            |(l1, mut g1), (l2, g2)| {
                for (a, b) in g1.iter_mut().zip(g2) {
                    *a += b;
                }
                (l1 + l2, g1)
            },
        );
    let scale = 1.0 / n.max(1) as f64;
    let mut value = loss * scale;
    for g in grad.iter_mut() {
        *g *= scale;
    }
    // L2 on the weights only
    let reg = s.alpha * scale;
    for j in 0..k * d {
        value += 0.5 * reg * p[j] * p[j];
        grad[j] += reg * p[j];
    }
    if !s.fit_intercept {
        for g in grad[k * d..].iter_mut() {
            *g = 0.0;
        }
    }
    (value, grad)
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn max_abs(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// Minimises with L-BFGS from `p`; returns (p, objective, iterations, converged).
fn lbfgs(
    mut p: Vec<f64>,
    s: &Settings,
    mut f: impl FnMut(&[f64]) -> (f64, Vec<f64>),
) -> (Vec<f64>, f64, usize, bool) {
    let (mut value, mut grad) = f(&p);
    let mut hist_s: std::collections::VecDeque<Vec<f64>> = Default::default();
    let mut hist_y: std::collections::VecDeque<Vec<f64>> = Default::default();
    let mut iterations = 0;
    let mut progress =
        crate::progress::Progress::new("logistic regression", Some(s.max_iterations));
    loop {
        progress.tick(
            iterations as u64,
            &format!("loss {value:.6}, max |gradient| {:.2e}", max_abs(&grad)),
        );
        if max_abs(&grad) <= s.tolerance {
            return (p, value, iterations, true);
        }
        if iterations as u64 >= s.max_iterations {
            return (p, value, iterations, false);
        }
        iterations += 1;
        // two-loop recursion: d = -H g
        let mut q = grad.clone();
        let m = hist_s.len();
        let mut a = vec![0.0; m];
        for i in (0..m).rev() {
            let rho = 1.0 / dot(&hist_y[i], &hist_s[i]);
            a[i] = rho * dot(&hist_s[i], &q);
            for (qj, yj) in q.iter_mut().zip(&hist_y[i]) {
                *qj -= a[i] * yj;
            }
        }
        let gamma = if m > 0 {
            dot(&hist_s[m - 1], &hist_y[m - 1]) / dot(&hist_y[m - 1], &hist_y[m - 1])
        } else {
            1.0 / max_abs(&grad)
                .max(1e-12)
                .max(grad.iter().map(|g| g * g).sum::<f64>().sqrt())
        };
        for qj in q.iter_mut() {
            *qj *= gamma;
        }
        for i in 0..m {
            let rho = 1.0 / dot(&hist_y[i], &hist_s[i]);
            let beta = rho * dot(&hist_y[i], &q);
            for (qj, sj) in q.iter_mut().zip(&hist_s[i]) {
                *qj += (a[i] - beta) * sj;
            }
        }
        let mut dir: Vec<f64> = q.iter().map(|v| -v).collect();
        let mut slope = dot(&grad, &dir);
        if slope >= 0.0 {
            // not a descent direction: restart from steepest descent
            hist_s.clear();
            hist_y.clear();
            dir = grad.iter().map(|g| -g).collect();
            slope = dot(&grad, &dir);
        }
        // backtracking Armijo
        let mut step = 1.0;
        let mut accepted = None;
        for _ in 0..40 {
            let trial: Vec<f64> = p.iter().zip(&dir).map(|(x, d)| x + step * d).collect();
            let (tv, tg) = f(&trial);
            if tv.is_finite() && tv <= value + 1e-4 * step * slope {
                accepted = Some((trial, tv, tg));
                break;
            }
            step *= 0.5;
        }
        let Some((next, next_value, next_grad)) = accepted else {
            return (p, value, iterations, false);
        };
        let sv: Vec<f64> = next.iter().zip(&p).map(|(a, b)| a - b).collect();
        let yv: Vec<f64> = next_grad.iter().zip(&grad).map(|(a, b)| a - b).collect();
        if dot(&sv, &yv) > 1e-12 * dot(&yv, &yv).max(1e-300) {
            if hist_s.len() == HISTORY {
                hist_s.pop_front();
                hist_y.pop_front();
            }
            hist_s.push_back(sv);
            hist_y.push_back(yv);
        }
        let moved = (value - next_value).abs();
        let done = moved <= 64.0 * f64::EPSILON * value.abs().max(next_value.abs()).max(1.0);
        p = next;
        value = next_value;
        grad = next_grad;
        if done {
            return (p, value, iterations, max_abs(&grad) <= s.tolerance);
        }
    }
}

/// Binary logistic regression; `y` holds 0/1 (1 is the positive class). `init` is a
/// warm start: weights and intercept.
pub fn fit_binary(
    x: &Array2<f64>,
    y: &[u32],
    s: &Settings,
    init: Option<(&[f64], f64)>,
) -> Solution {
    let x = x.as_standard_layout();
    let x = x.to_owned();
    let d = x.ncols();
    let shape = Shape { k: 1, d };
    let mut p = vec![0.0; shape.len()];
    if let Some((w, b)) = init {
        if w.len() == d {
            p[..d].copy_from_slice(w);
            p[d] = if s.fit_intercept { b } else { 0.0 };
        }
    }
    let (p, objective, iterations, converged) =
        lbfgs(p, s, |p| evaluate(&x, y, p, &shape, s, true));
    Solution {
        weights: Array2::from_shape_vec((1, d), p[..d].to_vec()).expect("shape"),
        intercepts: Array1::from(vec![p[d]]),
        iterations,
        converged,
        objective,
    }
}

/// Multinomial logistic regression over `k` classes (`y` in `0..k`). `init`: a warm
/// start, `k` rows of weights and `k` intercepts.
pub fn fit_multinomial(
    x: &Array2<f64>,
    y: &[u32],
    k: usize,
    s: &Settings,
    init: Option<(&Array2<f64>, &[f64])>,
) -> Solution {
    let x = x.as_standard_layout().to_owned();
    let d = x.ncols();
    let shape = Shape { k, d };
    let mut p = vec![0.0; shape.len()];
    if let Some((w, b)) = init {
        if w.dim() == (k, d) && b.len() == k {
            p[..k * d].copy_from_slice(w.as_standard_layout().as_slice().expect("contiguous"));
            if s.fit_intercept {
                p[k * d..].copy_from_slice(b);
            }
        }
    }
    let (p, objective, iterations, converged) =
        lbfgs(p, s, |p| evaluate(&x, y, p, &shape, s, false));
    Solution {
        weights: Array2::from_shape_vec((k, d), p[..k * d].to_vec()).expect("shape"),
        intercepts: Array1::from(p[k * d..].to_vec()),
        iterations,
        converged,
        objective,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            alpha: 1.0,
            max_iterations: 500,
            tolerance: 1e-8,
            fit_intercept: true,
        }
    }

    /// Finite differences agree with the analytic gradient.
    #[test]
    fn gradients_are_right() {
        let x = Array2::from_shape_fn((37, 3), |(i, j)| ((i * 7 + j * 3) % 11) as f64 / 5.0 - 1.0);
        let y2: Vec<u32> = (0..37).map(|i| (i % 3 == 0) as u32).collect();
        let y3: Vec<u32> = (0..37).map(|i| (i % 3) as u32).collect();
        for (k, y, binary) in [(1, &y2, true), (3, &y3, false)] {
            let shape = Shape { k, d: 3 };
            let p: Vec<f64> = (0..shape.len()).map(|i| (i as f64 * 0.37).sin()).collect();
            let (_, g) = evaluate(&x, y, &p, &shape, &settings(), binary);
            for j in 0..p.len() {
                let h = 1e-6;
                let mut a = p.clone();
                a[j] += h;
                let mut b = p.clone();
                b[j] -= h;
                let num = (evaluate(&x, y, &a, &shape, &settings(), binary).0
                    - evaluate(&x, y, &b, &shape, &settings(), binary).0)
                    / (2.0 * h);
                assert!((num - g[j]).abs() < 1e-7, "k={k} j={j}: {num} vs {}", g[j]);
            }
        }
    }

    /// At the optimum the gradient vanishes; a warm start from it needs no iteration.
    #[test]
    fn converges_and_warm_starts_from_the_optimum() {
        let x = Array2::from_shape_fn((500, 2), |(i, j)| {
            (((i * 31 + j * 17) % 97) as f64) / 48.0 - 1.0
        });
        let y: Vec<u32> = (0..500)
            .map(|i| (x[[i, 0]] + 0.5 * x[[i, 1]] + 0.1 * ((i % 7) as f64 - 3.0) > 0.0) as u32)
            .collect();
        let cold = fit_binary(&x, &y, &settings(), None);
        assert!(cold.converged, "{cold:?}");
        assert!(cold.weights[[0, 0]] > cold.weights[[0, 1]] && cold.weights[[0, 1]] > 0.0);
        let w = cold.weights.row(0).to_vec();
        let warm = fit_binary(&x, &y, &settings(), Some((&w, cold.intercepts[0])));
        assert!(warm.iterations <= 1, "{}", warm.iterations);
        // multinomial with two classes: the difference of the rows is the binary solution
        let m = fit_multinomial(&x, &y, 2, &settings(), None);
        assert!(m.converged);
        let diff = m.weights[[1, 0]] - m.weights[[0, 0]];
        assert!(diff > 0.0);
    }
}
