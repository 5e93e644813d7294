//! The distances and tests between a reference and the current values: KS,
//! Wasserstein, chi-square, Z, and the binned PSI / Jensen-Shannon / Hellinger / KL.

use super::*;

pub(super) fn fill_zeroes(p: &mut [f64]) {
    let min = p
        .iter()
        .copied()
        .filter(|v| *v > 0.0)
        .fold(f64::INFINITY, f64::min);
    if !min.is_finite() {
        return;
    }
    let fill = if min <= 1e-4 { min / 1e6 } else { 1e-4 };
    for v in p.iter_mut().filter(|v| **v == 0.0) {
        *v = fill;
    }
}

pub(super) fn normalised(p: &[f64]) -> Vec<f64> {
    let s: f64 = p.iter().sum();
    p.iter().map(|v| v / s).collect()
}

/// scipy.spatial.distance.jensenshannon (natural log): the square root of the divergence.
pub(super) fn jensen_shannon(r: &[f64], c: &[f64]) -> f64 {
    let (r, c) = (normalised(r), normalised(c));
    let mut div = 0.0;
    for (p, q) in r.iter().zip(&c) {
        let m = (p + q) / 2.0;
        if *p > 0.0 {
            div += 0.5 * p * (p / m).ln();
        }
        if *q > 0.0 {
            div += 0.5 * q * (q / m).ln();
        }
    }
    div.max(0.0).sqrt()
}

pub(super) fn hellinger(r: &[f64], c: &[f64]) -> f64 {
    let (r, c) = (normalised(r), normalised(c));
    let s: f64 = r
        .iter()
        .zip(&c)
        .map(|(p, q)| (p.sqrt() - q.sqrt()).powi(2))
        .sum();
    (s / 2.0).sqrt()
}

/// scipy.stats.entropy(reference, current).
pub(super) fn kl(r: &[f64], c: &[f64]) -> f64 {
    let (r, c) = (normalised(r), normalised(c));
    r.iter()
        .zip(&c)
        .filter(|(p, _)| **p > 0.0)
        .map(|(p, q)| p * (p / q).ln())
        .sum()
}

/// Two-sample KS statistic: sup |F_ref - F_cur|.
pub fn ks_statistic(r: &RefNumeric, cur: &[f64]) -> f64 {
    let n = cur.len() as f64;
    let mut d: f64 = 0.0;
    let mut cdf = r.cursor();
    let mut check = |x: f64, below: usize, at_or_below: usize| {
        let fr = cdf.at(x);
        d = d.max((fr - at_or_below as f64 / n).abs());
        if !r.is_exact() {
            // F_ref is continuous here: compare with the current's left limit too.
            d = d.max((fr - below as f64 / n).abs());
        }
    };
    let support = r.support();
    let mut i = 0;
    let mut j = 0;
    while i < support.len() || j < cur.len() {
        let x = match (support.get(i), cur.get(j)) {
            (Some(a), Some(b)) => a.min(*b),
            (Some(a), None) => *a,
            (None, Some(b)) => *b,
            (None, None) => break,
        };
        let below = j;
        while j < cur.len() && cur[j] <= x {
            j += 1;
        }
        while i < support.len() && support[i] <= x {
            i += 1;
        }
        check(x, below, j);
    }
    d
}

/// First Wasserstein distance ∫ |F_ref - F_cur| dx.
pub fn wasserstein(r: &RefNumeric, cur: &[f64]) -> f64 {
    // the reference's support and the (sorted) current values, merged without repeats
    let support = r.support();
    let mut points = Vec::with_capacity(support.len() + cur.len());
    let (mut i, mut k) = (0, 0);
    while i < support.len() || k < cur.len() {
        let take_support = k == cur.len() || (i < support.len() && support[i] <= cur[k]);
        let x = if take_support {
            i += 1;
            support[i - 1]
        } else {
            k += 1;
            cur[k - 1]
        };
        if points.last() != Some(&x) {
            points.push(x);
        }
    }
    let n = cur.len() as f64;
    let mut total = 0.0;
    let mut j = 0;
    let mut cdf = r.cursor();
    let mut fr_next = points.first().map(|x| cdf.at(*x)).unwrap_or(0.0);
    for w in points.windows(2) {
        let (a, b) = (w[0], w[1]);
        while j < cur.len() && cur[j] <= a {
            j += 1;
        }
        let fc = j as f64 / n;
        let fr_a = fr_next;
        fr_next = cdf.at(b);
        let fa = fr_a - fc;
        let fb = if r.is_exact() { fa } else { fr_next - fc };
        let width = b - a;
        total += if fa * fb >= 0.0 {
            (fa.abs() + fb.abs()) / 2.0 * width
        } else {
            (fa * fa + fb * fb) / (2.0 * (fa.abs() + fb.abs())) * width
        };
    }
    total
}

/// scipy.stats.chi2_contingency on the 2 x K table (Yates' correction when dof = 1).
pub fn chi2_contingency(r: &[f64], c: &[f64]) -> (f64, f64) {
    let cols: Vec<(f64, f64)> = r
        .iter()
        .zip(c)
        .map(|(a, b)| (*a, *b))
        .filter(|(a, b)| a + b > 0.0)
        .collect();
    if cols.len() < 2 {
        return (0.0, 1.0);
    }
    let (rs, cs): (f64, f64) = cols
        .iter()
        .fold((0.0, 0.0), |acc, (a, b)| (acc.0 + a, acc.1 + b));
    let total = rs + cs;
    let dof = (cols.len() - 1) as f64;
    let mut chi2 = 0.0;
    for (a, b) in &cols {
        let col = a + b;
        for (obs, row) in [(*a, rs), (*b, cs)] {
            let exp = row * col / total;
            let mut diff = (obs - exp).abs();
            if dof == 1.0 {
                diff = (diff - 0.5).max(0.0);
            }
            chi2 += diff * diff / exp;
        }
    }
    (chi2, stats::chi2_sf(chi2, dof))
}

/// Evidently's two-proportion Z-test on the first key.
pub fn z_test(r: &[f64], c: &[f64]) -> (f64, f64) {
    let (n1, n2): (f64, f64) = (r.iter().sum(), c.iter().sum());
    let present: Vec<usize> = (0..r.len()).filter(|i| r[*i] + c[*i] > 0.0).collect();
    if present.len() < 2 {
        return (0.0, 1.0);
    }
    let k = present[0];
    let p1 = 1.0 - r[k] / n1;
    let p2 = 1.0 - c[k] / n2;
    let pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if se == 0.0 {
        return (0.0, 1.0);
    }
    let z = (p1 - p2) / se;
    (z, stats::normal_two_sided(z))
}
