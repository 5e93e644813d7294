//! Confidence-based performance estimation (NannyML's CBPE) for a binary classifier: on
//! rows without labels, a calibrated probability `p` of the positive class is the
//! expected value of the row's outcome, so the confusion matrix is expected to hold
//! `Σ p` true positives among the rows predicted positive, `Σ (1 − p)` false positives,
//! and so on; the metrics follow from those expected counts. Exact in expectation when
//! the calibration holds on the new rows: under covariate shift it does, under a change
//! of the concept (the same inputs now meaning another outcome) it does not, and the
//! estimate cannot see that change.

use serde::Serialize;

/// Estimated metrics of a binary classifier on unlabelled rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    pub rows: usize,
    pub accuracy: f64,
    /// `None` when no row is predicted positive.
    pub precision: Option<f64>,
    /// `None` when the expected number of positives is 0.
    pub recall: Option<f64>,
    pub f1: Option<f64>,
    /// `None` when every row has the same probability (no ranking to judge).
    pub roc_auc: Option<f64>,
    /// Half-width of the band of the accuracy estimate: three standard errors of a
    /// proportion over `rows` (the band NannyML draws).
    pub accuracy_band: f64,
}

/// The estimate from calibrated probabilities `p` and the predicted classes `positive`
/// (whether each row was predicted positive); `None` without rows.
pub fn estimate(p: &[f64], positive: &[bool]) -> Option<Estimate> {
    let n = p.len().min(positive.len());
    if n == 0 {
        return None;
    }
    let (mut tp, mut fp, mut fn_, mut tn) = (0.0, 0.0, 0.0, 0.0);
    for (&q, &pos) in p.iter().zip(positive) {
        if pos {
            tp += q;
            fp += 1.0 - q;
        } else {
            fn_ += q;
            tn += 1.0 - q;
        }
    }
    let ratio = |a: f64, b: f64| (b > 0.0).then(|| a / b);
    let accuracy = (tp + tn) / n as f64;
    Some(Estimate {
        rows: n,
        accuracy,
        precision: ratio(tp, tp + fp),
        recall: ratio(tp, tp + fn_),
        f1: ratio(2.0 * tp, 2.0 * tp + fp + fn_),
        roc_auc: roc_auc(&p[..n]),
        accuracy_band: 3.0 * (accuracy * (1.0 - accuracy) / n as f64).sqrt(),
    })
}

/// The expected ROC AUC: each row counts as `p` of a positive and `1 − p` of a
/// negative, ranked by `p` (ties share a step of the curve).
fn roc_auc(p: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = p.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let positives: f64 = sorted.iter().sum();
    let negatives: f64 = sorted.len() as f64 - positives;
    if positives <= 0.0 || negatives <= 0.0 {
        return None;
    }
    let (mut tp, mut area) = (0.0, 0.0);
    let mut i = 0;
    while i < sorted.len() {
        let (mut dtp, mut dfp) = (0.0, 0.0);
        let v = sorted[i];
        while i < sorted.len() && sorted[i] == v {
            dtp += sorted[i];
            dfp += 1.0 - sorted[i];
            i += 1;
        }
        // the trapezoid under the step from (fp, tp) to (fp + dfp, tp + dtp)
        area += dfp * (tp + dtp / 2.0);
        tp += dtp;
    }
    let distinct = sorted.first() != sorted.last();
    distinct.then(|| area / (positives * negatives))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_counts_give_the_metrics() {
        // two rows predicted positive at 0.9 and 0.6, two negative at 0.2 and 0.1
        let e = estimate(&[0.9, 0.6, 0.2, 0.1], &[true, true, false, false]).unwrap();
        let (tp, fp, fn_, tn) = (1.5, 0.5, 0.3, 1.7);
        assert!((e.accuracy - (tp + tn) / 4.0).abs() < 1e-12);
        assert!((e.precision.unwrap() - tp / (tp + fp)).abs() < 1e-12);
        assert!((e.recall.unwrap() - tp / (tp + fn_)).abs() < 1e-12);
        assert!((e.f1.unwrap() - 2.0 * tp / (2.0 * tp + fp + fn_)).abs() < 1e-12);
    }

    /// With outcomes drawn at the calibrated rate, the realized metrics are close to the
    /// estimate (here: exactly the expected counts, by construction).
    #[test]
    fn the_estimate_is_the_realized_value_when_the_probabilities_hold() {
        // 10 score levels, 1000 rows each; in each level the outcome is 1 in exactly
        // p·1000 rows, so every realized count equals its expectation
        let mut p = Vec::new();
        let mut y = Vec::new();
        for level in 0..10 {
            let q = 0.05 + 0.1 * level as f64;
            let ones = (q * 1000.0).round() as usize;
            for i in 0..1000 {
                p.push(q);
                y.push(i < ones);
            }
        }
        let predicted: Vec<bool> = p.iter().map(|q| *q >= 0.5).collect();
        let e = estimate(&p, &predicted).unwrap();
        let correct = predicted.iter().zip(&y).filter(|(a, b)| a == b).count();
        assert!((e.accuracy - correct as f64 / p.len() as f64).abs() < 1e-9);
        // realized ROC AUC of these outcomes under this ranking, ties halved
        let pos: Vec<f64> = p
            .iter()
            .zip(&y)
            .filter(|(_, o)| **o)
            .map(|(q, _)| *q)
            .collect();
        let neg: Vec<f64> = p
            .iter()
            .zip(&y)
            .filter(|(_, o)| !**o)
            .map(|(q, _)| *q)
            .collect();
        let mut wins = 0.0;
        for a in &pos {
            for b in &neg {
                wins += if a > b {
                    1.0
                } else if a == b {
                    0.5
                } else {
                    0.0
                };
            }
        }
        let realized = wins / (pos.len() * neg.len()) as f64;
        assert!(
            (e.roc_auc.unwrap() - realized).abs() < 1e-9,
            "{:?} vs {realized}",
            e.roc_auc
        );
        assert!(e.accuracy_band > 0.0 && e.accuracy_band < 0.02);
    }

    #[test]
    fn degenerate_inputs_give_no_value_not_a_crash() {
        assert!(estimate(&[], &[]).is_none());
        let constant = estimate(&[0.7; 5], &[true; 5]).unwrap();
        assert_eq!(constant.roc_auc, None);
        assert!((constant.accuracy - 0.7).abs() < 1e-12);
        let none_positive = estimate(&[0.0, 0.0], &[false, false]).unwrap();
        assert_eq!(none_positive.precision, None);
        assert_eq!(none_positive.recall, None);
    }
}
