//! Isotonic calibration of a classifier's scores (for estimating its performance on
//! unlabelled rows, CBPE): the non-decreasing step function of the score that best fits
//! the observed outcomes (pool adjacent violators), read between its points by linear
//! interpolation and clipped at its ends — scikit-learn's
//! `IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1)`, which NannyML's CBPE
//! uses.

use serde::{Deserialize, Serialize};

/// Bins of [`calibration_error`] when a calibration is judged (NannyML's default).
pub const BINS: usize = 10;
/// Folds a calibration is judged on.
const FOLDS: usize = 3;

/// What a binary classifier's artifact records of its calibration, fitted on its
/// evaluation holdout at training time: the isotonic map when it lowered the
/// calibration error there (NannyML keeps the raw scores otherwise), and both errors.
/// CBPE estimates with the map, or with the raw scores when there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Holdout rows it was judged on.
    pub rows: usize,
    /// Calibration error of the raw scores on those rows (the mean over three folds).
    pub error_raw: f64,
    /// Calibration error of the calibrated scores, each fold's map fitted on the other
    /// two folds (out of sample).
    pub error_calibrated: f64,
    /// The map, when it lowered the error; `None`: the raw scores are used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isotonic: Option<Isotonic>,
}

impl Calibration {
    /// Fits and judges the calibration of scores `p` (of the positive class) against
    /// outcomes `y` (0/1). `Err` with the reason when it cannot be fitted: no rows, one
    /// class only, or a score that is the same on every row.
    pub fn fit(p: &[f64], y: &[f64]) -> Result<Calibration, String> {
        if p.is_empty() {
            return Err("the evaluation holdout has no rows".into());
        }
        let positives = y.iter().filter(|v| **v == 1.0).count();
        if positives == 0 || positives == y.len() {
            return Err(format!(
                "the evaluation holdout holds one class only ({} rows)",
                y.len()
            ));
        }
        let iso = Isotonic::fit(p, y)
            .ok_or_else(|| "the score is the same on every holdout row".to_string())?;
        // judged out of sample, as NannyML does: fitted on two folds, measured on the
        // third (folds by row: every third row), the errors averaged over the folds
        let (mut raw, mut calibrated, mut folds) = (0.0, 0.0, 0);
        let pick = |v: &[f64], rows: &[usize]| -> Vec<f64> { rows.iter().map(|i| v[*i]).collect() };
        for fold in 0..FOLDS {
            let (fit_rows, test_rows): (Vec<usize>, Vec<usize>) =
                (0..p.len()).partition(|i| i % FOLDS != fold);
            if test_rows.is_empty() {
                continue;
            }
            let Some(f) = Isotonic::fit(&pick(p, &fit_rows), &pick(y, &fit_rows)) else {
                continue;
            };
            let (tp, ty) = (pick(p, &test_rows), pick(y, &test_rows));
            let mapped: Vec<f64> = tp.iter().map(|s| f.apply(*s)).collect();
            raw += calibration_error(&tp, &ty, BINS);
            calibrated += calibration_error(&mapped, &ty, BINS);
            folds += 1;
        }
        let (error_raw, error_calibrated) = if folds == 0 {
            // too few rows to hold any out: in sample
            let mapped: Vec<f64> = p.iter().map(|s| iso.apply(*s)).collect();
            (
                calibration_error(p, y, BINS),
                calibration_error(&mapped, y, BINS),
            )
        } else {
            (raw / folds as f64, calibrated / folds as f64)
        };
        Ok(Calibration {
            rows: p.len(),
            error_raw,
            error_calibrated,
            isotonic: (error_calibrated < error_raw).then_some(iso),
        })
    }

    /// The probability CBPE takes for raw score `s`.
    pub fn apply(&self, s: f64) -> f64 {
        self.isotonic.as_ref().map_or(s, |i| i.apply(s))
    }
}

/// A fitted isotonic map from a score to a probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Isotonic {
    /// Distinct scores seen, ascending.
    pub x: Vec<f64>,
    /// The calibrated probability at each of `x`, non-decreasing.
    pub y: Vec<f64>,
}

impl Isotonic {
    /// Fits scores `x` to 0/1 outcomes `y` (non-finite scores are left out); `None`
    /// without two distinct scores.
    pub fn fit(x: &[f64], y: &[f64]) -> Option<Isotonic> {
        let mut pairs: Vec<(f64, f64)> = x
            .iter()
            .zip(y)
            .filter(|(s, o)| s.is_finite() && o.is_finite())
            .map(|(s, o)| (*s, *o))
            .collect();
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        // distinct scores, each with the mean outcome and the weight of its ties
        let mut xs: Vec<f64> = Vec::new();
        let mut sums: Vec<(f64, f64)> = Vec::new();
        for (s, o) in pairs {
            match xs.last() {
                Some(last) if *last == s => {
                    let w = sums.last_mut().expect("a block per score");
                    w.0 += o;
                    w.1 += 1.0;
                }
                _ => {
                    xs.push(s);
                    sums.push((o, 1.0));
                }
            }
        }
        if xs.len() < 2 {
            return None;
        }
        // pool adjacent violators: blocks of (sum of outcomes, weight, scores covered)
        let mut blocks: Vec<(f64, f64, usize)> = Vec::with_capacity(xs.len());
        for &(sum, w) in &sums {
            blocks.push((sum, w, 1));
            while blocks.len() > 1 {
                let (s1, w1, n1) = blocks[blocks.len() - 1];
                let (s0, w0, n0) = blocks[blocks.len() - 2];
                if s0 / w0 < s1 / w1 {
                    break;
                }
                blocks.pop();
                *blocks.last_mut().expect("two blocks") = (s0 + s1, w0 + w1, n0 + n1);
            }
        }
        let mut ys = Vec::with_capacity(xs.len());
        for (sum, w, n) in blocks {
            let v = (sum / w).clamp(0.0, 1.0);
            ys.extend(std::iter::repeat_n(v, n));
        }
        // a point between two of the same value changes nothing: kept are the ends of
        // each run (scikit-learn keeps the same thresholds)
        let keep: Vec<bool> = (0..xs.len())
            .map(|i| i == 0 || i + 1 == xs.len() || ys[i - 1] != ys[i] || ys[i] != ys[i + 1])
            .collect();
        let pick = |v: Vec<f64>| -> Vec<f64> {
            v.into_iter()
                .zip(&keep)
                .filter(|(_, k)| **k)
                .map(|(v, _)| v)
                .collect()
        };
        Some(Isotonic {
            x: pick(xs),
            y: pick(ys),
        })
    }

    /// The calibrated probability of score `s`.
    pub fn apply(&self, s: f64) -> f64 {
        let (x, y) = (&self.x, &self.y);
        if s.is_nan() {
            return f64::NAN;
        }
        if s <= x[0] {
            return y[0];
        }
        if s >= x[x.len() - 1] {
            return y[y.len() - 1];
        }
        let i = x.partition_point(|v| *v <= s);
        let (x0, x1, y0, y1) = (x[i - 1], x[i], y[i - 1], y[i]);
        y0 + (y1 - y0) * (s - x0) / (x1 - x0)
    }
}

/// Expected calibration error of probabilities `p` against 0/1 outcomes `y`, over
/// `bins` bins of equal counts (by `p`): the count-weighted mean of |mean p − mean y|.
pub fn calibration_error(p: &[f64], y: &[f64], bins: usize) -> f64 {
    let mut pairs: Vec<(f64, f64)> = p.iter().copied().zip(y.iter().copied()).collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = pairs.len();
    if n == 0 {
        return 0.0;
    }
    let bins = bins.clamp(1, n);
    let mut total = 0.0;
    for b in 0..bins {
        let chunk = &pairs[b * n / bins..(b + 1) * n / bins];
        if chunk.is_empty() {
            continue;
        }
        let k = chunk.len() as f64;
        let mp: f64 = chunk.iter().map(|c| c.0).sum::<f64>() / k;
        let my: f64 = chunk.iter().map(|c| c.1).sum::<f64>() / k;
        total += k * (mp - my).abs();
    }
    total / n as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// scikit-learn 1.9.1: `IsotonicRegression(out_of_bounds="clip", increasing=True,
    /// y_min=0, y_max=1).fit(x, y).predict(q)` (ties in x included).
    #[test]
    fn matches_scikit_learn() {
        let x = [
            0.09, 0.24, 0.8, 0.58, 0.09, 0.58, 0.48, 0.16, 0.73, 0.58, 0.39, 0.52, 0.43, 0.59,
            0.74, 0.96, 0.28, 0.65, 0.7, 0.29, 0.0, 0.97, 0.3, 0.31,
        ];
        let y = [
            0., 0., 1., 0., 1., 0., 1., 1., 1., 0., 1., 0., 1., 0., 1., 1., 0., 0., 1., 0., 0., 1.,
            0., 1.,
        ];
        let q = [-0.1, 0.0, 0.05, 0.2, 0.33, 0.5, 0.61, 0.77, 0.9, 1.0, 1.2];
        let sklearn = [
            0.0,
            0.0,
            0.15873015873,
            0.285714285714,
            0.4,
            0.4,
            0.4,
            1.0,
            1.0,
            1.0,
            1.0,
        ];
        let iso = Isotonic::fit(&x, &y).unwrap();
        for (s, want) in q.iter().zip(sklearn) {
            let got = iso.apply(*s);
            assert!((got - want).abs() < 1e-9, "at {s}: {got} vs {want}");
        }
        assert!(iso.y.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn a_calibration_is_kept_only_when_it_lowers_the_error() {
        // 10 score levels k/16 of 160 rows each (one per bin of the error); `ones(k)`
        // of them have the outcome 1
        let rows = |ones: &dyn Fn(usize) -> usize| {
            let (mut p, mut y) = (Vec::new(), Vec::new());
            for k in 3..13 {
                for i in 0..160 {
                    p.push(k as f64 / 16.0);
                    y.push(f64::from(u8::from(i < ones(k))));
                }
            }
            (p, y)
        };
        // scores too spread out: outcomes at the rate 1/4 + s/2
        let (p, y) = rows(&|k| 40 + 5 * k);
        let c = Calibration::fit(&p, &y).unwrap();
        assert!(c.error_raw > 0.05 && c.error_calibrated < 0.02, "{c:?}");
        assert!(c.isotonic.is_some());
        assert_eq!(c.apply(3.0 / 16.0), 55.0 / 160.0);
        // outcomes exactly at the scores' rates: nothing to lower, the raw scores stay
        let (p, y) = rows(&|k| 10 * k);
        let c = Calibration::fit(&p, &y).unwrap();
        assert!(c.error_calibrated > c.error_raw, "{c:?}");
        assert!(c.isotonic.is_none(), "{c:?}");
        assert_eq!(c.apply(0.375), 0.375);
    }

    #[test]
    fn a_holdout_of_one_class_or_of_one_score_cannot_be_calibrated() {
        let e = Calibration::fit(&[0.2, 0.7], &[1.0, 1.0]).unwrap_err();
        assert!(e.contains("one class"), "{e}");
        let e = Calibration::fit(&[0.4, 0.4, 0.4], &[0.0, 1.0, 0.0]).unwrap_err();
        assert!(e.contains("same on every"), "{e}");
        assert!(Calibration::fit(&[], &[]).is_err());
    }

    #[test]
    fn one_distinct_score_cannot_be_calibrated() {
        assert!(Isotonic::fit(&[0.5, 0.5, 0.5], &[0.0, 1.0, 1.0]).is_none());
        assert!(Isotonic::fit(&[], &[]).is_none());
    }

    #[test]
    fn calibration_error_of_a_calibrated_and_a_biased_score() {
        // outcomes exactly at the rate the score says, per bin
        let p: Vec<f64> = (0..1000).map(|i| if i < 500 { 0.2 } else { 0.8 }).collect();
        let y: Vec<f64> = (0..1000)
            .map(|i| {
                let in_bin = i % 500;
                let rate = if i < 500 { 100 } else { 400 };
                f64::from(u8::from(in_bin < rate))
            })
            .collect();
        assert!(calibration_error(&p, &y, 2) < 1e-12);
        let biased: Vec<f64> = p.iter().map(|v| v * 0.5).collect();
        assert!((calibration_error(&biased, &y, 2) - 0.25).abs() < 1e-12);
    }
}
