//! A fitted tree ensemble as stored in `model.json` (`estimator.kind: ensemble`) and how
//! it predicts. Plain numbers, so that any tool can read it and a reload predicts
//! bit-identically:
//! - `trees[t]` adds to output `t % outputs` (`outputs` = `base_score.len()`: 1 for
//!   regression and binary classification, the number of classes for multiclass);
//! - a node sends a row left when its value is missing and `missing_left`, or, for a
//!   numeric split, when `(value as f32) < threshold`, or, for a categorical split, when
//!   the row's category code is in `categories`; a child `< 0` is leaf `-1 - child`;
//! - `combine: sum` (boosting: `base_score + Σ leaves`) or `mean` (a forest: the mean
//!   of the trees' leaves);
//! - `link`: `identity` (regression), `logistic` (binary: P(classes[1]) = σ(raw)),
//!   `softmax` (multiclass), `probability` (a forest's leaves are class shares).

use ndarray::{Array2, ArrayView1};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::bins::Cuts;
use super::grow::Grown;
use super::split::Rule;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub feature: usize,
    /// Numeric split: left when `value < threshold` (in f32).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f32>,
    /// Categorical split: the category codes that go left.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<u32>,
    pub missing_left: bool,
    pub left: i32,
    pub right: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    pub nodes: Vec<Node>,
    pub leaves: Vec<f64>,
}

impl Tree {
    /// The tree of a grown one, with thresholds read from the bins' cuts.
    pub fn from_grown(g: &Grown, cuts: &[Cuts], leaves: Vec<f64>) -> Self {
        let nodes = g
            .nodes
            .iter()
            .map(|n| match (&n.rule, &cuts[n.feature]) {
                (Rule::Numeric { bin, missing_left }, Cuts::Numeric(edges)) => Node {
                    feature: n.feature,
                    threshold: Some(edges[*bin as usize - 1]),
                    categories: Vec::new(),
                    missing_left: *missing_left,
                    left: n.left,
                    right: n.right,
                },
                (rule, cut) => Node {
                    feature: n.feature,
                    threshold: None,
                    categories: (1..cut.bins() as u32)
                        .filter(|b| rule.goes_left(*b as u8))
                        .map(|b| b - 1)
                        .collect(),
                    missing_left: rule.goes_left(0),
                    left: n.left,
                    right: n.right,
                },
            })
            .collect();
        Self { nodes, leaves }
    }

    pub fn leaf_of(&self, row: ArrayView1<f64>) -> usize {
        if self.nodes.is_empty() {
            return 0;
        }
        let mut i = 0usize;
        loop {
            let n = &self.nodes[i];
            let v = row[n.feature];
            let left = if v.is_nan() {
                n.missing_left
            } else if let Some(t) = n.threshold {
                (v as f32) < t
            } else {
                v >= 0.0 && n.categories.binary_search(&(v as u32)).is_ok()
            };
            let next = if left { n.left } else { n.right };
            if next < 0 {
                return (-1 - next) as usize;
            }
            i = next as usize;
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Combine {
    Sum,
    Mean,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Link {
    Identity,
    Logistic,
    Softmax,
    Probability,
}

/// Which model version a run of trees came from (a warm start keeps the champion's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Origin {
    /// The snapshot the trees were fitted on.
    pub snapshot: String,
    pub trees: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ensemble {
    pub combine: Combine,
    pub link: Link,
    pub base_score: Vec<f64>,
    pub trees: Vec<Tree>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub origins: Vec<Origin>,
}

impl Ensemble {
    pub fn outputs(&self) -> usize {
        self.base_score.len().max(1)
    }

    /// Raw scores, rows × outputs (before the link).
    pub fn raw(&self, x: &Array2<f64>) -> Array2<f64> {
        let k = self.outputs();
        let per_output = (self.trees.len() / k).max(1) as f64;
        let mut out = vec![0.0; x.nrows() * k];
        const CHUNK: usize = 1024;
        out.par_chunks_mut(CHUNK * k)
            .enumerate()
            .for_each(|(c, chunk)| {
                for (i, orow) in chunk.chunks_mut(k).enumerate() {
                    let xrow = x.row(c * CHUNK + i);
                    for (t, tree) in self.trees.iter().enumerate() {
                        orow[t % k] += tree.leaves[tree.leaf_of(xrow)];
                    }
                    for (j, v) in orow.iter_mut().enumerate() {
                        if self.combine == Combine::Mean {
                            *v /= per_output;
                        }
                        *v += self.base_score.get(j).copied().unwrap_or(0.0);
                    }
                }
            });
        Array2::from_shape_vec((x.nrows(), k), out).expect("rows × outputs")
    }

    /// Class probabilities (rows × `classes`) of a classifier.
    pub fn probabilities(&self, x: &Array2<f64>, classes: usize) -> Array2<f64> {
        let raw = self.raw(x);
        let mut p = Array2::<f64>::zeros((x.nrows(), classes));
        for (mut prow, rrow) in p.rows_mut().into_iter().zip(raw.rows()) {
            match (self.link, rrow.len()) {
                (Link::Softmax, _) => {
                    let m = rrow.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let e: Vec<f64> = rrow.iter().map(|v| (v - m).exp()).collect();
                    let s: f64 = e.iter().sum();
                    for (j, v) in e.iter().enumerate().take(classes) {
                        prow[j] = v / s;
                    }
                }
                (Link::Probability, 1) | (Link::Logistic, 1) | (Link::Identity, 1) => {
                    let p1 = if self.link == Link::Logistic {
                        super::super::logistic::sigmoid(rrow[0])
                    } else {
                        rrow[0].clamp(0.0, 1.0)
                    };
                    if classes >= 2 {
                        prow[0] = 1.0 - p1;
                        prow[1] = p1;
                    }
                }
                _ => {
                    let s: f64 = rrow.iter().map(|v| v.max(0.0)).sum();
                    for (j, v) in rrow.iter().enumerate().take(classes) {
                        prow[j] = if s > 0.0 { v.max(0.0) / s } else { 0.0 };
                    }
                }
            }
        }
        p
    }
}
