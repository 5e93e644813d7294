//! Histogram gradient boosting (`algorithm: gradient_boosting`), after LightGBM: columns
//! binned once ([`bins`]), gradient histograms with the subtraction trick ([`hist`]),
//! second-order split gains with learned missing-value directions and category-set
//! splits ([`split`]), leaf-wise trees ([`grow`]) and the stored ensemble
//! ([`ensemble`]).
//!
//! Losses: log-loss for classification (one tree per round for two classes, one per
//! class per round with softmax otherwise, LightGBM's `K / (K - 1)` hessian factor),
//! squared or absolute error for regression (absolute error re-fits each leaf to the
//! median residual of its rows, as LightGBM does). The first score is the (weighted)
//! log-odds, log-share, mean or median of the target (`boost_from_average`).
//!
//! Deterministic for a seed on any number of threads: histograms are summed in row order
//! by one thread per bin ([`hist`]), gradients and scores are element-wise, and the row
//! and column samples of a round come from a ChaCha8 stream seeded with `(seed, round)`.
//! Early stopping holds out a seeded sample of the *training* rows (the evaluation
//! holdout is never seen) and keeps the trees up to the round with the best loss there.

pub mod bins;
pub mod config;
pub mod ensemble;
pub mod grow;
pub mod hist;
pub mod split;

use ndarray::Array2;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use bins::Binned;
use ensemble::{Combine, Ensemble, Link, Tree};
use grow::Limits;
use hist::Grad;
use split::Rules;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    LogLoss,
    SquaredError,
    AbsoluteError,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EarlyStopping {
    pub validation_fraction: f64,
    pub rounds: usize,
    pub tol: f64,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub loss: Loss,
    pub n_estimators: usize,
    pub learning_rate: f64,
    pub max_leaves: usize,
    pub max_depth: Option<usize>,
    pub rules: Rules,
    pub max_bins: usize,
    pub subsample: f64,
    pub colsample: f64,
    pub seed: u64,
    pub early_stopping: Option<EarlyStopping>,
}

/// The target: class indices (with a weight per class) or values.
pub enum Labels<'a> {
    Classes {
        index: &'a [u32],
        classes: usize,
        weights: &'a [f64],
    },
    Values(&'a [f64]),
}

/// What a fit produced.
pub struct Boosted {
    pub ensemble: Ensemble,
    /// Boosting rounds kept (this fit's; a warm start's own trees are not counted).
    pub rounds: usize,
    /// Early stopping: validation rows and the best validation loss.
    pub validation: Option<(usize, f64)>,
}

const STREAM: u64 = 0x9E37_79B9_7F4A_7C15;

/// Fits on `x` (rows × columns; `levels[j]` is `Some(levels)` for a categorical column
/// of category codes, NaN = missing).
///
/// `init`: an ensemble to continue (a warm start): its trees are kept, its scores are
/// where boosting starts, and `n_estimators` more rounds are fitted.
pub fn fit(
    x: &Array2<f64>,
    levels: &[Option<usize>],
    y: &Labels<'_>,
    s: &Settings,
    init: Option<&Ensemble>,
) -> Boosted {
    // on a worker of the thread pool: the many small parallel steps of a fit (a
    // histogram, a split search, a partition per leaf) are then forked on the worker,
    // not handed from the calling thread to the pool and back, each a sleep and a wake
    rayon::scope(|_| fit_on_worker(x, levels, y, s, init))
}

fn fit_on_worker(
    x: &Array2<f64>,
    levels: &[Option<usize>],
    y: &Labels<'_>,
    s: &Settings,
    init: Option<&Ensemble>,
) -> Boosted {
    let n = x.nrows();
    let binned = Binned::new(x, levels, s.max_bins);
    let k = match y {
        Labels::Classes { classes, .. } if *classes > 2 => *classes,
        _ => 1,
    };
    // rows: training and (early stopping) validation
    let all: Vec<u32> = (0..n as u32).collect();
    let (train, valid) = match s.early_stopping {
        Some(es) if n >= 4 => {
            let mut shuffled = all.clone();
            shuffled.shuffle(&mut ChaCha8Rng::seed_from_u64(s.seed ^ STREAM));
            let v = ((n as f64 * es.validation_fraction).round() as usize).clamp(1, n - 1);
            let mut valid = shuffled[..v].to_vec();
            let mut train = shuffled[v..].to_vec();
            valid.sort_unstable();
            train.sort_unstable();
            (train, valid)
        }
        _ => (all, Vec::new()),
    };
    let weight: Vec<f64> = match y {
        Labels::Classes { index, weights, .. } => {
            index.iter().map(|c| weights[*c as usize]).collect()
        }
        Labels::Values(_) => vec![1.0; n],
    };
    let (base, mut score, mut trees) = match init {
        Some(e) => (e.base_score.clone(), e.raw(x), e.trees.clone()),
        None => {
            let base = base_score(y, &train, &weight, k, s.loss);
            let mut score = Array2::<f64>::zeros((n, k));
            for mut row in score.rows_mut() {
                row.assign(&ndarray::ArrayView1::from(&base[..]));
            }
            (base, score, Vec::new())
        }
    };
    let kept = trees.len();
    let limits = Limits {
        max_leaves: Some(s.max_leaves.max(2)),
        max_depth: s.max_depth,
        rules: s.rules,
    };
    let mut grad: Vec<Grad> = vec![[0.0, 0.0]; n];
    let mut best: Option<(usize, f64)> = None;
    let mut progress =
        crate::progress::Progress::new("gradient boosting", Some(s.n_estimators as u64));
    for round in 0..s.n_estimators {
        progress.tick(round as u64, "rounds");
        let mut rng =
            ChaCha8Rng::seed_from_u64(s.seed.wrapping_add((round as u64 + 1).wrapping_mul(STREAM)));
        // in-bag rows, and the rows outside the bag (scored through the tree)
        let (bag, outside): (Vec<u32>, Vec<u32>) = if s.subsample < 1.0 {
            let draws: Vec<bool> = train
                .iter()
                .map(|_| rng.gen::<f64>() < s.subsample)
                .collect();
            let mut out = valid.clone();
            out.extend(
                train
                    .iter()
                    .zip(&draws)
                    .filter(|(_, d)| !**d)
                    .map(|(r, _)| *r),
            );
            (
                train
                    .iter()
                    .zip(&draws)
                    .filter(|(_, d)| **d)
                    .map(|(r, _)| *r)
                    .collect(),
                out,
            )
        } else {
            (train.clone(), valid.clone())
        };
        let columns: Vec<usize> = if s.colsample < 1.0 && binned.width > 1 {
            let m = ((binned.width as f64 * s.colsample).ceil() as usize).clamp(1, binned.width);
            let mut c: Vec<usize> = (0..binned.width).collect();
            c.shuffle(&mut rng);
            c.truncate(m);
            c.sort_unstable();
            c
        } else {
            (0..binned.width).collect()
        };
        let probs = (y_is_classes(y) && k > 1).then(|| softmax(&score));
        let mut round_trees = Vec::with_capacity(k);
        for class in 0..k {
            gradients(
                y,
                &score,
                probs.as_ref(),
                class,
                k,
                &weight,
                s.loss,
                &mut grad,
            );
            let mut rows = bag.clone();
            let grads = hist::Grads::new(&grad);
            let grown = grow::grow(&binned, &mut rows, grads, &limits, &mut || columns.clone());
            let values: Vec<f64> = grown
                .leaves
                .iter()
                .map(|leaf| {
                    let raw = match (s.loss, y) {
                        (Loss::AbsoluteError, Labels::Values(v)) => median(
                            rows[leaf.range.clone()]
                                .iter()
                                .map(|r| v[*r as usize] - score[[*r as usize, 0]])
                                .collect(),
                        ),
                        _ => -leaf.sums.g / (leaf.sums.h + s.rules.l2),
                    };
                    raw * s.learning_rate
                })
                .collect();
            // scores: in-bag rows by their leaf, the others through the tree
            for (leaf, v) in grown.leaves.iter().zip(&values) {
                for r in &rows[leaf.range.clone()] {
                    score[[*r as usize, class]] += v;
                }
            }
            for r in &outside {
                let r = *r as usize;
                score[[r, class]] += values[grown.leaf_of(binned.row(r))];
            }
            round_trees.push(Tree::from_grown(&grown, &binned.cuts, values));
        }
        let stalled = round_trees.iter().all(|t| t.nodes.is_empty());
        trees.extend(round_trees);
        if let Some(es) = s.early_stopping.filter(|_| !valid.is_empty()) {
            let l = loss(y, &score, &valid, &weight, k, s.loss);
            match best {
                Some((_, b)) if l >= b - es.tol => {}
                _ => best = Some((round, l)),
            }
            if best.is_some_and(|(r, _)| round - r >= es.rounds) {
                break;
            }
        }
        if stalled {
            break;
        }
    }
    if let Some((r, _)) = best {
        trees.truncate(kept + (r + 1) * k);
    }
    let rounds = (trees.len() - kept) / k;
    let link = match (y, k) {
        (Labels::Values(_), _) => Link::Identity,
        (_, 1) => Link::Logistic,
        _ => Link::Softmax,
    };
    Boosted {
        ensemble: Ensemble {
            combine: Combine::Sum,
            link,
            base_score: base,
            trees,
            origins: init.map(|e| e.origins.clone()).unwrap_or_default(),
        },
        rounds,
        validation: best.map(|(_, l)| (valid.len(), l)),
    }
}

fn y_is_classes(y: &Labels<'_>) -> bool {
    matches!(y, Labels::Classes { .. })
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_unstable_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

fn base_score(y: &Labels<'_>, rows: &[u32], w: &[f64], k: usize, loss: Loss) -> Vec<f64> {
    const EPS: f64 = 1e-15;
    match y {
        Labels::Classes { index, .. } => {
            let mut share = vec![0.0; k.max(2)];
            let mut total = 0.0;
            for r in rows {
                let r = *r as usize;
                share[index[r] as usize] += w[r];
                total += w[r];
            }
            if total <= 0.0 {
                return vec![0.0; k];
            }
            if k == 1 {
                let p = (share[1] / total).clamp(EPS, 1.0 - EPS);
                vec![(p / (1.0 - p)).ln()]
            } else {
                share
                    .iter()
                    .take(k)
                    .map(|c| (c / total).clamp(EPS, 1.0).ln())
                    .collect()
            }
        }
        Labels::Values(v) => {
            let vals: Vec<f64> = rows.iter().map(|r| v[*r as usize]).collect();
            if vals.is_empty() {
                return vec![0.0];
            }
            vec![match loss {
                Loss::AbsoluteError => median(vals),
                _ => vals.iter().sum::<f64>() / vals.len() as f64,
            }]
        }
    }
}

fn softmax(score: &Array2<f64>) -> Array2<f64> {
    let k = score.ncols();
    let mut p: Vec<f64> = score.iter().copied().collect();
    p.par_chunks_mut(4096 * k).for_each(|chunk| {
        for row in chunk.chunks_mut(k) {
            let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            row.iter_mut().for_each(|v| *v = (*v - m).exp());
            let s: f64 = row.iter().sum();
            row.iter_mut().for_each(|v| *v /= s);
        }
    });
    Array2::from_shape_vec(score.dim(), p).expect("same shape")
}

#[allow(clippy::too_many_arguments)]
fn gradients(
    y: &Labels<'_>,
    score: &Array2<f64>,
    probs: Option<&Array2<f64>>,
    class: usize,
    k: usize,
    w: &[f64],
    loss: Loss,
    out: &mut [Grad],
) {
    let factor = if k > 1 {
        k as f64 / (k as f64 - 1.0)
    } else {
        1.0
    };
    out.par_chunks_mut(4096).enumerate().for_each(|(c, chunk)| {
        for (i, o) in chunk.iter_mut().enumerate() {
            let r = c * 4096 + i;
            let (g, h) = match y {
                Labels::Classes { index, .. } => {
                    let (p, t) = match probs {
                        Some(p) => (
                            p[[r, class]],
                            f64::from(u8::from(index[r] as usize == class)),
                        ),
                        None => (
                            super::logistic::sigmoid(score[[r, 0]]),
                            f64::from(u8::from(index[r] == 1)),
                        ),
                    };
                    (p - t, (factor * p * (1.0 - p)).max(1e-16))
                }
                Labels::Values(v) => {
                    let d = score[[r, 0]] - v[r];
                    match loss {
                        Loss::AbsoluteError => (d.signum() * f64::from(u8::from(d != 0.0)), 1.0),
                        _ => (d, 1.0),
                    }
                }
            };
            *o = [(g * w[r]) as f32, (h * w[r]) as f32];
        }
    });
}

/// The mean loss of `rows` (log-loss, squared or absolute error), weighted.
fn loss(y: &Labels<'_>, score: &Array2<f64>, rows: &[u32], w: &[f64], k: usize, l: Loss) -> f64 {
    let mut total = 0.0;
    let mut wsum = 0.0;
    for r in rows {
        let r = *r as usize;
        let v = match y {
            Labels::Classes { index, .. } => {
                let c = index[r] as usize;
                if k == 1 {
                    let p = super::logistic::sigmoid(score[[r, 0]]).clamp(1e-15, 1.0 - 1e-15);
                    -(if c == 1 { p } else { 1.0 - p }).ln()
                } else {
                    let row = score.row(r);
                    let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let lse = m + row.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
                    lse - row[c]
                }
            }
            Labels::Values(v) => {
                let d = score[[r, 0]] - v[r];
                if l == Loss::AbsoluteError {
                    d.abs()
                } else {
                    d * d
                }
            }
        };
        total += w[r] * v;
        wsum += w[r];
    }
    if wsum > 0.0 {
        total / wsum
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests;
