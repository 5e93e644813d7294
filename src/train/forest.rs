//! Random forests (`algorithm: random_forest`): bagged trees grown on the same binned
//! columns and histograms as gradient boosting ([`super::boost`]), one tree per bootstrap
//! sample, a fresh sample of `max_features` columns at every split, trees fitted in
//! parallel. Each tree fits the target by least squares (unit hessians): for a 0/1 target
//! the split gain is exactly the Gini decrease (Gini of two classes is twice the
//! variance), so a binary forest is scikit-learn's; regression leaves hold the mean
//! target. With more than two classes a forest grows one such tree per class per
//! bootstrap sample (one-vs-rest; the class shares are normalised to sum to 1), where
//! scikit-learn grows one tree on the multiclass Gini.
//!
//! Deterministic for a seed on any number of threads: tree `t` draws its bootstrap and
//! its column samples from a ChaCha8 stream seeded with `(seed, t)`.

use ndarray::Array2;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::boost::bins::Binned;
use super::boost::ensemble::{Combine, Ensemble, Link, Tree};
use super::boost::grow::{self, Limits};
use super::boost::hist::{Grad, Grads};
use super::boost::split::Rules;

#[derive(Debug, Clone)]
pub struct Settings {
    pub n_estimators: usize,
    pub max_depth: Option<usize>,
    pub max_leaves: Option<usize>,
    pub min_samples_leaf: usize,
    /// Columns tried at each split.
    pub max_features: usize,
    pub bootstrap: bool,
    pub max_bins: usize,
    pub seed: u64,
}

/// The target: class indices (`classes` of them, with a weight per class) or values.
pub enum Labels<'a> {
    Classes {
        index: &'a [u32],
        classes: usize,
        weights: &'a [f64],
    },
    Values(&'a [f64]),
}

const STREAM: u64 = 0x9E37_79B9_7F4A_7C15;

pub fn fit(x: &Array2<f64>, levels: &[Option<usize>], y: &Labels<'_>, s: &Settings) -> Ensemble {
    let n = x.nrows();
    let binned = Binned::new(x, levels, s.max_bins);
    // one regression target per output: the class indicator (one output for two classes)
    let outputs = match y {
        Labels::Classes { classes, .. } if *classes > 2 => *classes,
        _ => 1,
    };
    let target = |r: usize, k: usize| -> f64 {
        match y {
            Labels::Classes { index, classes, .. } => {
                let c = index[r] as usize;
                f64::from(u8::from(if *classes > 2 { c == k } else { c == 1 }))
            }
            Labels::Values(v) => v[r],
        }
    };
    let weight = |r: usize| -> f64 {
        match y {
            Labels::Classes { index, weights, .. } => weights[index[r] as usize],
            Labels::Values(_) => 1.0,
        }
    };
    let limits = Limits {
        max_leaves: s.max_leaves,
        max_depth: s.max_depth,
        rules: Rules {
            l2: 0.0,
            min_samples_leaf: s.min_samples_leaf as f64,
            min_hessian_leaf: 0.0,
            min_gain: 1e-12,
            ..Rules::default()
        },
    };
    let width = binned.width;
    let max_features = s.max_features.clamp(1, width.max(1));
    let mut progress = crate::progress::Progress::new("random forest", Some(s.n_estimators as u64));
    progress.tick(0, "trees");
    let trees: Vec<Vec<Tree>> = (0..s.n_estimators)
        .into_par_iter()
        .map(|t| {
            let mut rng =
                ChaCha8Rng::seed_from_u64(s.seed.wrapping_add((t as u64 + 1).wrapping_mul(STREAM)));
            // bootstrap: how many times each row is drawn (n draws with replacement)
            let mut times = vec![0u32; n];
            if s.bootstrap {
                for _ in 0..n {
                    times[rng.gen_range(0..n)] += 1;
                }
            } else {
                times.iter_mut().for_each(|m| *m = 1);
            }
            let bag: Vec<u32> = (0..n as u32).filter(|r| times[*r as usize] > 0).collect();
            (0..outputs)
                .map(|k| {
                    let grad: Vec<Grad> = (0..n)
                        .map(|r| {
                            let m = f64::from(times[r]) * weight(r);
                            [(-target(r, k) * m) as f32, m as f32]
                        })
                        .collect();
                    let mut rows = bag.clone();
                    let mut pick = || {
                        let mut c: Vec<usize> = (0..width).collect();
                        if max_features < width {
                            c.shuffle(&mut rng);
                            c.truncate(max_features);
                            c.sort_unstable();
                        }
                        c
                    };
                    let grads = Grads::new(&grad);
                    let grown = grow::grow(&binned, &mut rows, grads, &limits, &mut pick);
                    let values = grown
                        .leaves
                        .iter()
                        .map(|l| {
                            if l.sums.h > 0.0 {
                                -l.sums.g / l.sums.h
                            } else {
                                0.0
                            }
                        })
                        .collect();
                    Tree::from_grown(&grown, &binned.cuts, values)
                })
                .collect()
        })
        .collect();
    Ensemble {
        combine: Combine::Mean,
        link: match y {
            Labels::Classes { .. } => Link::Probability,
            Labels::Values(_) => Link::Identity,
        },
        base_score: vec![0.0; outputs],
        trees: trees.into_iter().flatten().collect(),
        origins: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uniform(seed: u64, n: usize) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| rng.gen::<f64>()).collect()
    }

    fn settings() -> Settings {
        Settings {
            n_estimators: 20,
            max_depth: Some(8),
            max_leaves: None,
            min_samples_leaf: 1,
            max_features: 1,
            bootstrap: true,
            max_bins: 255,
            seed: 3,
        }
    }

    #[test]
    fn a_forest_learns_xor_and_is_the_same_on_any_number_of_threads() {
        let n = 4000;
        let u = uniform(1, 2 * n);
        let x = Array2::from_shape_fn((n, 2), |(i, j)| u[2 * i + j]);
        let y: Vec<u32> = (0..n)
            .map(|i| u32::from((x[[i, 0]] > 0.5) != (x[[i, 1]] > 0.5)))
            .collect();
        let w = [1.0, 1.0];
        let labels = Labels::Classes {
            index: &y,
            classes: 2,
            weights: &w,
        };
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let serial = one.install(|| fit(&x, &[None, None], &labels, &settings()));
        let parallel = fit(&x, &[None, None], &labels, &settings());
        assert_eq!(serial, parallel);
        assert_eq!(serial.trees.len(), 20);
        let p = serial.probabilities(&x, 2);
        let right = (0..n)
            .filter(|i| (p[[*i, 1]] > 0.5) == (y[*i] == 1))
            .count();
        assert!(right as f64 / n as f64 > 0.97, "{right}");
        // leaves are class shares
        assert!(serial
            .trees
            .iter()
            .flat_map(|t| &t.leaves)
            .all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn multiclass_forests_grow_a_tree_per_class_and_regression_leaves_are_means() {
        let n = 3000;
        let u = uniform(2, n);
        let x = Array2::from_shape_fn((n, 1), |(i, _)| u[i]);
        let y: Vec<u32> = u.iter().map(|v| (v * 3.0).floor() as u32).collect();
        let w = [1.0; 3];
        let mut s = settings();
        s.n_estimators = 5;
        let e = fit(
            &x,
            &[None],
            &Labels::Classes {
                index: &y,
                classes: 3,
                weights: &w,
            },
            &s,
        );
        assert_eq!(e.trees.len(), 15);
        let p = e.probabilities(&x, 3);
        assert!(p.rows().into_iter().all(|r| (r.sum() - 1.0).abs() < 1e-9));
        let right = (0..n)
            .filter(|i| {
                let r = p.row(*i);
                (0..3).max_by(|a, b| r[*a].total_cmp(&r[*b])).unwrap() == y[*i] as usize
            })
            .count();
        assert!(right as f64 / n as f64 > 0.99);
        let v: Vec<f64> = u.iter().map(|x| 10.0 * x).collect();
        s.bootstrap = false;
        s.n_estimators = 1;
        s.max_depth = Some(1);
        let r = fit(&x, &[None], &Labels::Values(&v), &s);
        let t = &r.trees[0];
        assert_eq!(t.leaves.len(), 2);
        let mean = v.iter().sum::<f64>() / n as f64;
        let split = t.nodes[0].threshold.unwrap() as f64;
        let left: Vec<f64> = (0..n).filter(|i| u[*i] < split).map(|i| v[i]).collect();
        assert!((t.leaves[0] - left.iter().sum::<f64>() / left.len() as f64).abs() < 1e-3);
        assert!((mean - 5.0).abs() < 0.2);
    }
}
