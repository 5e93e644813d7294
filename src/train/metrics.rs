//! Metrics, computed with integer row weights so that a bootstrap resample is a weight
//! vector (no copies of the data). Classification: the positive class of binary
//! metrics is `classes[1]`; with more classes, precision / recall / F1 / ROC AUC are
//! macro averages (one-vs-rest). Definitions follow scikit-learn.

use ndarray::Array2;

use crate::config::Metric;
use crate::train::model::Predictions;

/// The true outcomes of the holdout.
#[derive(Debug, Clone, Copy)]
pub enum Truth<'a> {
    Classes { index: &'a [u32], classes: usize },
    Values(&'a [f64]),
}

/// Predictions prepared once for repeated (weighted) metric computations.
pub struct Prepared<'a> {
    truth: Truth<'a>,
    proba: Option<&'a Array2<f64>>,
    labels: Vec<u32>,
    values: Option<&'a [f64]>,
    /// Per class: rows sorted by that class's score (for ROC AUC).
    order: Vec<Vec<usize>>,
}

impl<'a> Prepared<'a> {
    pub fn new(truth: Truth<'a>, preds: &'a Predictions) -> Self {
        match preds {
            Predictions::Classes(p) => {
                let k = p.ncols();
                let order = (0..k)
                    .map(|c| {
                        let mut idx: Vec<usize> = (0..p.nrows()).collect();
                        idx.sort_by(|a, b| p[[*a, c]].total_cmp(&p[[*b, c]]));
                        idx
                    })
                    .collect();
                Self {
                    truth,
                    proba: Some(p),
                    labels: preds.labels(),
                    values: None,
                    order,
                }
            }
            Predictions::Values(v) => Self {
                truth,
                proba: None,
                labels: Vec::new(),
                values: Some(v),
                order: Vec::new(),
            },
        }
    }

    /// The metric under row weights `w` (`None` = every row once). `None` when it is
    /// undefined (e.g. ROC AUC with one class in the holdout).
    pub fn metric(&self, metric: Metric, w: Option<&[u32]>) -> Option<f64> {
        let weight = |i: usize| w.map_or(1.0, |w| w[i] as f64);
        match (self.truth, metric) {
            (Truth::Classes { index, classes }, m) => {
                let proba = self.proba?;
                let k = classes.max(proba.ncols());
                // confusion counts (weighted): cm[true][pred]
                let mut cm = vec![vec![0.0; k]; k];
                for (i, (&t, &p)) in index.iter().zip(&self.labels).enumerate() {
                    cm[t as usize][p as usize] += weight(i);
                }
                let total: f64 = cm.iter().flatten().sum();
                if total == 0.0 {
                    return None;
                }
                let support: Vec<f64> = cm.iter().map(|r| r.iter().sum()).collect();
                let predicted: Vec<f64> = (0..k).map(|c| cm.iter().map(|r| r[c]).sum()).collect();
                let recall = |c: usize| {
                    if support[c] > 0.0 {
                        Some(cm[c][c] / support[c])
                    } else {
                        None
                    }
                };
                let precision = |c: usize| {
                    if predicted[c] > 0.0 {
                        cm[c][c] / predicted[c]
                    } else {
                        0.0
                    }
                };
                let f1 = |c: usize| {
                    let (p, r) = (precision(c), recall(c).unwrap_or(0.0));
                    if p + r > 0.0 {
                        2.0 * p * r / (p + r)
                    } else {
                        0.0
                    }
                };
                let present: Vec<usize> = (0..k)
                    .filter(|c| support[*c] > 0.0 || predicted[*c] > 0.0)
                    .collect();
                let macro_of = |f: &dyn Fn(usize) -> f64| {
                    present.iter().map(|c| f(*c)).sum::<f64>() / present.len() as f64
                };
                let binary = k == 2;
                match m {
                    Metric::Accuracy => Some((0..k).map(|c| cm[c][c]).sum::<f64>() / total),
                    Metric::BalancedAccuracy => {
                        let r: Vec<f64> = (0..k).filter_map(recall).collect();
                        Some(r.iter().sum::<f64>() / r.len() as f64)
                    }
                    Metric::Precision if binary => Some(precision(1)),
                    Metric::Recall if binary => recall(1).or(Some(0.0)),
                    Metric::F1 if binary => Some(f1(1)),
                    Metric::Precision => Some(macro_of(&precision)),
                    Metric::Recall => Some(macro_of(&|c| recall(c).unwrap_or(0.0))),
                    Metric::F1 | Metric::F1Macro => Some(macro_of(&f1)),
                    Metric::RocAuc if binary => self.auc(1, index, w),
                    Metric::RocAuc => {
                        let aucs: Vec<f64> = (0..k).filter_map(|c| self.auc(c, index, w)).collect();
                        if aucs.is_empty() {
                            None
                        } else {
                            Some(aucs.iter().sum::<f64>() / aucs.len() as f64)
                        }
                    }
                    Metric::LogLoss => {
                        let mut s = 0.0;
                        for (i, &t) in index.iter().enumerate() {
                            let p = proba[[i, t as usize]].clamp(1e-15, 1.0 - 1e-15);
                            s -= weight(i) * p.ln();
                        }
                        Some(s / total)
                    }
                    _ => None,
                }
            }
            (Truth::Values(y), m) => {
                let yhat = self.values?;
                let total: f64 = (0..y.len()).map(weight).sum();
                if total == 0.0 {
                    return None;
                }
                match m {
                    Metric::Rmse => Some(
                        ((0..y.len())
                            .map(|i| weight(i) * (y[i] - yhat[i]).powi(2))
                            .sum::<f64>()
                            / total)
                            .sqrt(),
                    ),
                    Metric::Mae => Some(
                        (0..y.len())
                            .map(|i| weight(i) * (y[i] - yhat[i]).abs())
                            .sum::<f64>()
                            / total,
                    ),
                    Metric::Mape => Some(
                        (0..y.len())
                            .map(|i| {
                                weight(i) * (y[i] - yhat[i]).abs() / y[i].abs().max(f64::EPSILON)
                            })
                            .sum::<f64>()
                            / total,
                    ),
                    Metric::R2 => {
                        let mean = (0..y.len()).map(|i| weight(i) * y[i]).sum::<f64>() / total;
                        let ss_tot: f64 = (0..y.len())
                            .map(|i| weight(i) * (y[i] - mean).powi(2))
                            .sum();
                        let ss_res: f64 = (0..y.len())
                            .map(|i| weight(i) * (y[i] - yhat[i]).powi(2))
                            .sum();
                        if ss_tot == 0.0 {
                            None
                        } else {
                            Some(1.0 - ss_res / ss_tot)
                        }
                    }
                    _ => None,
                }
            }
        }
    }

    /// One-vs-rest ROC AUC of class `c` (ties count one half), weighted.
    fn auc(&self, c: usize, index: &[u32], w: Option<&[u32]>) -> Option<f64> {
        let proba = self.proba?;
        let order = self.order.get(c)?;
        let weight = |i: usize| w.map_or(1.0, |w| w[i] as f64);
        let (mut neg_below, mut sum, mut pos_total, mut neg_total) = (0.0, 0.0, 0.0, 0.0);
        let mut i = 0;
        while i < order.len() {
            let score = proba[[order[i], c]];
            let mut j = i;
            let (mut pos_here, mut neg_here) = (0.0, 0.0);
            while j < order.len() && proba[[order[j], c]] == score {
                let r = order[j];
                if index[r] as usize == c {
                    pos_here += weight(r);
                } else {
                    neg_here += weight(r);
                }
                j += 1;
            }
            sum += pos_here * (neg_below + 0.5 * neg_here);
            neg_below += neg_here;
            pos_total += pos_here;
            neg_total += neg_here;
            i = j;
        }
        if pos_total == 0.0 || neg_total == 0.0 {
            None
        } else {
            Some(sum / (pos_total * neg_total))
        }
    }
}

/// Each row's error, for change detectors: 1 when the predicted class is wrong, else
/// 0; for regression, the absolute error.
pub fn row_errors(truth: Truth, preds: &Predictions) -> Vec<f64> {
    match (truth, preds) {
        (Truth::Classes { index, .. }, _) => index
            .iter()
            .zip(preds.labels())
            .map(|(t, p)| f64::from(u8::from(*t != p)))
            .collect(),
        (Truth::Values(y), Predictions::Values(v)) => {
            y.iter().zip(v).map(|(a, b)| (a - b).abs()).collect()
        }
        // a regression target scored by a classifier: no error is defined
        (Truth::Values(_), Predictions::Classes(_)) => Vec::new(),
    }
}

/// Confusion matrix `[true][predicted]` (unweighted).
pub fn confusion(index: &[u32], preds: &Predictions, classes: usize) -> Vec<Vec<u64>> {
    let mut cm = vec![vec![0u64; classes]; classes];
    for (t, p) in index.iter().zip(preds.labels()) {
        cm[*t as usize][p as usize] += 1;
    }
    cm
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn binary_metrics_match_sklearn() {
        // y = [0, 0, 1, 1, 1], p1 = [0.1, 0.6, 0.4, 0.8, 0.9]
        let truth = [0u32, 0, 1, 1, 1];
        let p = Predictions::Classes(array![
            [0.9, 0.1],
            [0.4, 0.6],
            [0.6, 0.4],
            [0.2, 0.8],
            [0.1, 0.9]
        ]);
        let prep = Prepared::new(
            Truth::Classes {
                index: &truth,
                classes: 2,
            },
            &p,
        );
        let m = |metric| prep.metric(metric, None).unwrap();
        assert!((m(Metric::Accuracy) - 0.6).abs() < 1e-12);
        // sklearn: precision 2/3, recall 2/3, f1 2/3, roc_auc 5/6, balanced acc (0.5 + 2/3)/2
        assert!((m(Metric::Precision) - 2.0 / 3.0).abs() < 1e-12);
        assert!((m(Metric::Recall) - 2.0 / 3.0).abs() < 1e-12);
        assert!((m(Metric::F1) - 2.0 / 3.0).abs() < 1e-12);
        assert!((m(Metric::RocAuc) - 5.0 / 6.0).abs() < 1e-12);
        assert!((m(Metric::BalancedAccuracy) - (0.5 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
        // log_loss = -(ln .9 + ln .4 + ln .4 + ln .8 + ln .9)/5 = 0.4946...
        let ll =
            -((0.9f64).ln() + (0.4f64).ln() + (0.4f64).ln() + (0.8f64).ln() + (0.9f64).ln()) / 5.0;
        assert!((m(Metric::LogLoss) - ll).abs() < 1e-12);
        // weights: row 1 counted twice
        let w = [1u32, 2, 1, 1, 1];
        assert!((prep.metric(Metric::Accuracy, Some(&w)).unwrap() - 3.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn regression_metrics() {
        let y = [1.0, 2.0, 3.0, 4.0];
        let p = Predictions::Values(vec![1.5, 2.0, 2.5, 4.0]);
        let prep = Prepared::new(Truth::Values(&y), &p);
        let m = |metric| prep.metric(metric, None).unwrap();
        assert!((m(Metric::Mae) - 0.25).abs() < 1e-12);
        assert!((m(Metric::Rmse) - (0.125f64).sqrt()).abs() < 1e-12);
        assert!((m(Metric::R2) - (1.0 - 0.5 / 5.0)).abs() < 1e-12);
        assert!((m(Metric::Mape) - (0.5 + 0.0 + 0.5 / 3.0 + 0.0) / 4.0).abs() < 1e-12);
    }
}
