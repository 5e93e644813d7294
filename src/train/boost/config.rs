//! From `training.params` (validated in `config::params`) to the learner's settings.

use crate::config::params::{Boosting, ClassWeight, RegressionLoss};

use super::split::Rules;
use super::{EarlyStopping, Loss, Settings};

/// Above this many training rows `early_stopping: auto` is on (scikit-learn's rule).
pub const AUTO_EARLY_STOPPING_ROWS: usize = 10_000;

pub fn settings(b: &Boosting, rows: usize) -> Settings {
    let early = b.early_stopping.unwrap_or(rows > AUTO_EARLY_STOPPING_ROWS);
    Settings {
        loss: match b.loss {
            RegressionLoss::SquaredError => Loss::SquaredError,
            RegressionLoss::AbsoluteError => Loss::AbsoluteError,
        },
        n_estimators: b.n_estimators as usize,
        learning_rate: b.learning_rate,
        max_leaves: b.max_leaves as usize,
        max_depth: b.max_depth.map(|d| d as usize),
        rules: Rules {
            l2: b.l2,
            min_samples_leaf: b.min_samples_leaf as f64,
            min_hessian_leaf: b.min_hessian_leaf,
            min_gain: b.min_gain,
            max_onehot: b.max_cat_to_onehot as usize,
            cat_smooth: b.cat_smooth,
            cat_l2: b.cat_l2,
            max_cat_threshold: b.max_cat_threshold as usize,
            min_per_group: b.min_data_per_group as f64,
        },
        max_bins: b.max_bins as usize,
        subsample: b.subsample,
        colsample: b.colsample,
        seed: b.seed,
        early_stopping: early.then_some(EarlyStopping {
            validation_fraction: b.validation_fraction,
            rounds: b.n_iter_no_change as usize,
            tol: b.tol,
        }),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("training.params.class_weight: class `{label}` is not in the training window (classes: {classes})")]
pub struct UnknownClass {
    pub label: String,
    pub classes: String,
}

/// A weight per class index (`names[i]` is class `i`).
pub fn class_weights(
    cw: &ClassWeight,
    index: &[u32],
    names: &[String],
) -> Result<Vec<f64>, UnknownClass> {
    let k = names.len().max(2);
    Ok(match cw {
        ClassWeight::None => vec![1.0; k],
        ClassWeight::Balanced => {
            let mut counts = vec![0usize; k];
            index.iter().for_each(|c| counts[*c as usize] += 1);
            let present = counts.iter().filter(|c| **c > 0).count().max(1);
            counts
                .iter()
                .map(|c| {
                    if *c > 0 {
                        index.len() as f64 / (present as f64 * *c as f64)
                    } else {
                        1.0
                    }
                })
                .collect()
        }
        ClassWeight::Given(map) => {
            for label in map.keys() {
                if !names.contains(label) {
                    return Err(UnknownClass {
                        label: label.clone(),
                        classes: names.join(", "),
                    });
                }
            }
            (0..k)
                .map(|i| {
                    names
                        .get(i)
                        .and_then(|n| map.get(n))
                        .copied()
                        .unwrap_or(1.0)
                })
                .collect()
        }
    })
}
