//! Special functions and sampling distributions behind the drift tests: the normal
//! and chi-square tails (through the regularized incomplete gamma function) and the
//! two-sample Kolmogorov-Smirnov distribution (exact for small samples, asymptotic
//! for large ones, the same split as scipy's `ks_2samp(method="auto")`).

/// ln Γ(x) (Lanczos, g = 7, n = 9), relative error < 1e-14 for x > 0.
pub fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = G[0];
    let t = x + 7.5;
    for (i, g) in G.iter().enumerate().skip(1) {
        a += g / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Regularized upper incomplete gamma Q(a, x) = Γ(a, x) / Γ(a).
pub fn gamma_q(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    if x < a + 1.0 {
        1.0 - gamma_p_series(a, x)
    } else {
        gamma_q_fraction(a, x)
    }
}

fn gamma_p_series(a: f64, x: f64) -> f64 {
    let mut sum = 1.0 / a;
    let mut term = sum;
    let mut ap = a;
    for _ in 0..10_000 {
        ap += 1.0;
        term *= x / ap;
        sum += term;
        if term.abs() < sum.abs() * 1e-16 {
            break;
        }
    }
    sum * (-x + a * x.ln() - ln_gamma(a)).exp()
}

fn gamma_q_fraction(a: f64, x: f64) -> f64 {
    // Modified Lentz continued fraction.
    let tiny = 1e-300;
    let mut b = x + 1.0 - a;
    let mut c = 1.0 / tiny;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..10_000 {
        let an = -(i as f64) * (i as f64 - a);
        b += 2.0;
        d = an * d + b;
        if d.abs() < tiny {
            d = tiny;
        }
        c = b + an / c;
        if c.abs() < tiny {
            c = tiny;
        }
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < 1e-16 {
            break;
        }
    }
    (-x + a * x.ln() - ln_gamma(a)).exp() * h
}

/// P(X > x) for X ~ chi-square with `dof` degrees of freedom.
pub fn chi2_sf(x: f64, dof: f64) -> f64 {
    gamma_q(dof / 2.0, x / 2.0)
}

/// P(|Z| > |z|) for a standard normal Z.
pub fn normal_two_sided(z: f64) -> f64 {
    // erfc(|z| / sqrt 2) = Q(1/2, z^2 / 2)
    gamma_q(0.5, z * z / 2.0)
}

/// Limiting Kolmogorov distribution: P(K > lambda).
pub fn kolmogorov_sf(lambda: f64) -> f64 {
    if lambda <= 0.0 {
        return 1.0;
    }
    if lambda < 0.2 {
        return 1.0;
    }
    let mut sum = 0.0;
    for k in 1..=100 {
        let kf = k as f64;
        let term = (-2.0 * kf * kf * lambda * lambda).exp();
        sum += if k % 2 == 1 { term } else { -term };
        if term < 1e-17 {
            break;
        }
    }
    (2.0 * sum).clamp(0.0, 1.0)
}

/// Sample size up to which the exact two-sample KS distribution is used (scipy's
/// `MAX_AUTO_N`).
pub const KS_EXACT_MAX_N: usize = 10_000;

/// Two-sided p-value of the two-sample KS statistic `d` for sample sizes `m`, `n`.
pub fn ks_two_sample_p(d: f64, m: usize, n: usize) -> f64 {
    if m == 0 || n == 0 {
        return 1.0;
    }
    if m.max(n) <= KS_EXACT_MAX_N && (m as u64) * (n as u64) <= 20_000_000 {
        (1.0 - ks_exact_cdf(d, m, n)).clamp(0.0, 1.0)
    } else {
        let en = (m as f64) * (n as f64) / (m + n) as f64;
        kolmogorov_sf(en.sqrt() * d)
    }
}

/// P(D < d) exactly, by counting lattice paths that stay within the band
/// (the recurrence of R's `psmirnov`, without ties).
fn ks_exact_cdf(d: f64, m: usize, n: usize) -> f64 {
    let (m, n) = if m > n { (n, m) } else { (m, n) };
    let (md, nd) = (m as f64, n as f64);
    let q = (0.5 + (d * md * nd - 1e-7).floor()) / (md * nd);
    let mut u: Vec<f64> = (0..=n)
        .map(|j| if j as f64 / nd > q { 0.0 } else { 1.0 })
        .collect();
    // The row values shrink like 1 / C(i + n, i) and underflow for large samples:
    // keep them near 1 and carry the scale in a logarithm.
    let mut log_scale = 0.0f64;
    for i in 1..=m {
        let w = i as f64 / (i + n) as f64;
        let fi = i as f64 / md;
        u[0] = if fi > q { 0.0 } else { w * u[0] };
        let mut max = u[0];
        for j in 1..=n {
            u[j] = if (fi - j as f64 / nd).abs() > q {
                0.0
            } else {
                w * u[j] + u[j - 1]
            };
            max = max.max(u[j]);
        }
        if max > 0.0 && !(1e-100..=1e100).contains(&max) {
            for v in u.iter_mut() {
                *v /= max;
            }
            log_scale += max.ln();
        }
    }
    if u[n] <= 0.0 {
        return 0.0;
    }
    (u[n].ln() + log_scale).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1e-300)
    }

    #[test]
    fn known_values() {
        // scipy.stats.chi2.sf(3.84, 1) = 0.05004352124870519
        assert!(close(chi2_sf(3.84, 1.0), 0.050_043_521_248_705_19, 1e-9));
        // chi2.sf(20, 10) = 0.029252688076961127
        assert!(close(chi2_sf(20.0, 10.0), 0.029_252_688_076_961_127, 1e-9));
        // 2 * norm.sf(1.96) = 0.04999579029644087
        assert!(close(
            normal_two_sided(1.96),
            0.049_995_790_296_440_87,
            1e-9
        ));
        // scipy.stats.kstwobign.sf(1.36) = 0.049485876755377876
        assert!(close(kolmogorov_sf(1.36), 0.049_485_876_755_377_876, 1e-9));
        assert!(close(ln_gamma(10.0), (362_880f64).ln(), 1e-12));
    }

    #[test]
    fn exact_ks_small_samples() {
        // scipy.stats.ks_2samp([1,2,3],[4,5,6]).pvalue = 0.1
        assert!(close(ks_two_sample_p(1.0, 3, 3), 0.1, 1e-9));
        // ks_2samp(range(10), range(5, 15)): D = 0.5, p = 0.16782134274394334
        assert!(close(
            ks_two_sample_p(0.5, 10, 10),
            0.167_821_342_743_943_34,
            1e-6
        ));
    }
}
