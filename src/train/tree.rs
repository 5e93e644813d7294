//! A classification tree (CART: Gini or entropy) grown on histograms of binned features.
//!
//! Every feature is cut into at most 256 bins once per fit: features with at most 256
//! distinct values keep them all (the split points are the midpoints between
//! consecutive values, exactly as scikit-learn's), others are cut at quantiles of a
//! sample of their values (midpoints again). A node's best split is found from per-bin
//! class counts, one histogram per feature built in parallel; the larger child's
//! histograms are the parent's minus the smaller child's, so each level reads at most
//! half the rows. Leaves hold the class shares of the training rows that reach them.
//! The semantics of the hyper-parameters follow scikit-learn's `DecisionTreeClassifier`
//! (`min_impurity_decrease` is weighted by the node's share of the rows).

use ndarray::Array2;
use rayon::prelude::*;

use serde::{Deserialize, Serialize};

/// A node of a fitted tree: nodes are stored in one vector, children by index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "node", rename_all = "snake_case")]
pub enum TreeNode {
    Split {
        feature: usize,
        threshold: f64,
        left: usize,
        right: usize,
    },
    Leaf {
        probabilities: Vec<f64>,
        value: f64,
    },
}

/// The leaf that `row` reaches.
pub fn leaf_of(nodes: &[TreeNode], row: ndarray::ArrayView1<f64>) -> usize {
    let mut i = 0;
    loop {
        match &nodes[i] {
            TreeNode::Leaf { .. } => return i,
            TreeNode::Split {
                feature,
                threshold,
                left,
                right,
            } => {
                i = if row[*feature] < *threshold {
                    *left
                } else {
                    *right
                }
            }
        }
    }
}

const MAX_BINS: usize = 256;
const SAMPLE: usize = 200_000;

#[derive(Debug, Clone, Copy)]
pub struct TreeSettings {
    pub max_depth: Option<usize>,
    pub min_samples_split: f64,
    pub min_samples_leaf: f64,
    pub min_impurity_decrease: f64,
    pub entropy: bool,
}

/// The cut points of one feature: bin `b` holds values in `[edges[b-1], edges[b])`.
struct Binned {
    edges: Vec<Vec<f64>>,
    /// Column-major bin indices: `bins[j][row]`.
    bins: Vec<Vec<u8>>,
}

fn cut_points(values: &mut [f64]) -> Vec<f64> {
    values.sort_unstable_by(|a, b| a.total_cmp(b));
    let mut distinct: Vec<f64> = Vec::new();
    for v in values.iter() {
        if distinct.last() != Some(v) {
            distinct.push(*v);
        }
    }
    let mid = |a: f64, b: f64| {
        let m = a / 2.0 + b / 2.0;
        // the midpoint of two adjacent floats can round to the upper one
        if m >= b {
            a
        } else {
            m
        }
    };
    if distinct.len() <= MAX_BINS {
        return distinct.windows(2).map(|w| mid(w[0], w[1])).collect();
    }
    // quantile cuts: between the values at ranks i/MAX_BINS of the sample
    let n = values.len();
    let mut edges = Vec::with_capacity(MAX_BINS - 1);
    for i in 1..MAX_BINS {
        let r = i * n / MAX_BINS;
        if r == 0 || r >= n {
            continue;
        }
        let (a, b) = (values[r - 1], values[r]);
        if a < b {
            let e = mid(a, b);
            if edges.last().is_none_or(|l| *l < e) {
                edges.push(e);
            }
        }
    }
    edges
}

fn bin(x: &Array2<f64>) -> Binned {
    let n = x.nrows();
    let columns: Vec<(Vec<f64>, Vec<u8>)> = (0..x.ncols())
        .into_par_iter()
        .map(|j| {
            let col = x.column(j);
            let step = n.div_ceil(SAMPLE).max(1);
            let mut sample: Vec<f64> = col.iter().step_by(step).copied().collect();
            let edges = cut_points(&mut sample);
            let bins = col
                .iter()
                .map(|v| edges.partition_point(|e| e <= v) as u8)
                .collect();
            (edges, bins)
        })
        .collect();
    let (edges, bins) = columns.into_iter().unzip();
    Binned { edges, bins }
}

fn impurity(counts: &[f64], total: f64, entropy: bool) -> f64 {
    if total <= 0.0 {
        return 0.0;
    }
    if entropy {
        -counts
            .iter()
            .filter(|c| **c > 0.0)
            .map(|c| {
                let p = c / total;
                p * p.log2()
            })
            .sum::<f64>()
    } else {
        1.0 - counts
            .iter()
            .map(|c| (c / total) * (c / total))
            .sum::<f64>()
    }
}

/// Per-feature histograms of one node: `[feature][bin * k + class]`.
type Hist = Vec<Vec<u32>>;

fn histograms(b: &Binned, rows: &[u32], y: &[u32], k: usize) -> Hist {
    b.bins
        .par_iter()
        .map(|col| {
            let mut h = vec![0u32; MAX_BINS * k];
            for &r in rows {
                h[col[r as usize] as usize * k + y[r as usize] as usize] += 1;
            }
            h
        })
        .collect()
}

struct Split {
    feature: usize,
    /// Rows with bin < `bin` go left.
    bin: usize,
    gain: f64,
}

fn best_split(
    hist: &Hist,
    b: &Binned,
    parent: &[f64],
    n_node: f64,
    k: usize,
    s: &TreeSettings,
) -> Option<Split> {
    let parent_impurity = impurity(parent, n_node, s.entropy);
    hist.par_iter()
        .enumerate()
        .filter_map(|(j, h)| {
            let nb = b.edges[j].len() + 1;
            let mut left = vec![0.0; k];
            let mut n_left = 0.0;
            let mut best: Option<(f64, usize)> = None;
            for bin in 1..nb {
                for c in 0..k {
                    let v = f64::from(h[(bin - 1) * k + c]);
                    left[c] += v;
                    n_left += v;
                }
                let n_right = n_node - n_left;
                if n_left < s.min_samples_leaf || n_right < s.min_samples_leaf {
                    continue;
                }
                let right: Vec<f64> = parent.iter().zip(&left).map(|(p, l)| p - l).collect();
                let child = (n_left * impurity(&left, n_left, s.entropy)
                    + n_right * impurity(&right, n_right, s.entropy))
                    / n_node;
                let gain = parent_impurity - child;
                if best.is_none_or(|(g, _)| gain > g) {
                    best = Some((gain, bin));
                }
            }
            best.map(|(gain, bin)| Split {
                feature: j,
                bin,
                gain,
            })
        })
        // the largest gain; on ties the lowest feature index (deterministic)
        .reduce_with(|a, c| {
            if c.gain > a.gain || (c.gain == a.gain && c.feature < a.feature) {
                c
            } else {
                a
            }
        })
}

/// A node to grow: (node index to fill, rows, histograms (None: compute), class
/// counts, depth).
type Pending = (usize, Vec<u32>, Option<Hist>, Vec<f64>, usize);

/// Grows the tree on `x` (rows × features) with class indices `y` in `0..k`.
pub fn fit(x: &Array2<f64>, y: &[u32], k: usize, s: &TreeSettings) -> Vec<TreeNode> {
    let n = x.nrows();
    let b = bin(x);
    let n_total = n as f64;
    let mut nodes: Vec<TreeNode> = Vec::new();
    let leaf = |counts: &[f64]| {
        let total: f64 = counts.iter().sum();
        let value = counts
            .iter()
            .enumerate()
            .fold((0, f64::NEG_INFINITY), |best, (c, v)| {
                if *v > best.1 {
                    (c, *v)
                } else {
                    best
                }
            })
            .0 as f64;
        TreeNode::Leaf {
            probabilities: counts
                .iter()
                .map(|c| if total > 0.0 { c / total } else { 0.0 })
                .collect(),
            value,
        }
    };
    let counts_of = |rows: &[u32]| {
        let mut c = vec![0.0; k];
        for r in rows {
            c[y[*r as usize] as usize] += 1.0;
        }
        c
    };
    let rows: Vec<u32> = (0..n as u32).collect();
    let root_counts = counts_of(&rows);
    let mut stack: Vec<Pending> = Vec::new();
    nodes.push(leaf(&root_counts));
    stack.push((0, rows, None, root_counts, 0));
    let mut progress = crate::progress::Progress::new("decision tree", None);
    while let Some((at, rows, hist, counts, depth)) = stack.pop() {
        progress.tick(nodes.len() as u64, &format!("nodes, depth {depth}"));
        let n_node = rows.len() as f64;
        let pure = counts.iter().filter(|c| **c > 0.0).count() <= 1;
        if pure
            || n_node < s.min_samples_split
            || n_node < 2.0 * s.min_samples_leaf
            || s.max_depth.is_some_and(|d| depth >= d)
        {
            nodes[at] = leaf(&counts);
            continue;
        }
        let hist = hist.unwrap_or_else(|| histograms(&b, &rows, y, k));
        let Some(split) = best_split(&hist, &b, &counts, n_node, k, s) else {
            nodes[at] = leaf(&counts);
            continue;
        };
        // scikit-learn: N_t / N * (impurity - weighted child impurity) ≥ min_impurity_decrease
        if split.gain <= 0.0 || n_node / n_total * split.gain < s.min_impurity_decrease {
            nodes[at] = leaf(&counts);
            continue;
        }
        let col = &b.bins[split.feature];
        let (left, right): (Vec<u32>, Vec<u32>) = rows
            .iter()
            .partition(|r| (col[**r as usize] as usize) < split.bin);
        drop(rows);
        let left_counts = counts_of(&left);
        let right_counts: Vec<f64> = counts
            .iter()
            .zip(&left_counts)
            .map(|(p, l)| p - l)
            .collect();
        // histograms: the smaller child's are counted, the larger's are the difference
        let (small, small_is_left) = if left.len() <= right.len() {
            (&left, true)
        } else {
            (&right, false)
        };
        let small_hist = histograms(&b, small, y, k);
        let large_hist: Hist = hist
            .into_iter()
            .zip(&small_hist)
            .map(|(mut p, s)| {
                for (a, b) in p.iter_mut().zip(s) {
                    *a -= b;
                }
                p
            })
            .collect();
        let (left_hist, right_hist) = if small_is_left {
            (small_hist, large_hist)
        } else {
            (large_hist, small_hist)
        };
        let l = nodes.len();
        nodes.push(leaf(&left_counts));
        let r = nodes.len();
        nodes.push(leaf(&right_counts));
        nodes[at] = TreeNode::Split {
            feature: split.feature,
            threshold: b.edges[split.feature][split.bin - 1],
            left: l,
            right: r,
        };
        stack.push((r, right, Some(right_hist), right_counts, depth + 1));
        stack.push((l, left, Some(left_hist), left_counts, depth + 1));
    }
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> TreeSettings {
        TreeSettings {
            max_depth: None,
            min_samples_split: 2.0,
            min_samples_leaf: 1.0,
            min_impurity_decrease: 0.0,
            entropy: false,
        }
    }

    /// The leaf's probabilities, through the walk the artifact predicts with.
    fn predict(nodes: &[TreeNode], row: &[f64]) -> Vec<f64> {
        let row = ndarray::ArrayView1::from(row);
        match &nodes[super::leaf_of(nodes, row)] {
            TreeNode::Leaf { probabilities, .. } => probabilities.clone(),
            TreeNode::Split { .. } => unreachable!("leaf_of ends at a leaf"),
        }
    }

    #[test]
    fn learns_an_axis_aligned_concept_with_midpoint_thresholds() {
        // class = x0 > 0.5 (x1 is noise); 0.5 lies between the values 0.4 and 0.6
        let x = Array2::from_shape_fn((200, 2), |(i, j)| {
            if j == 0 {
                (i % 10) as f64 / 10.0
            } else {
                ((i * 7) % 13) as f64
            }
        });
        let y: Vec<u32> = (0..200)
            .map(|i| u32::from((i % 10) as f64 / 10.0 > 0.5))
            .collect();
        let nodes = fit(&x, &y, 2, &settings());
        match &nodes[0] {
            TreeNode::Split {
                feature, threshold, ..
            } => {
                assert_eq!(*feature, 0);
                assert!((threshold - 0.55).abs() < 1e-12, "{threshold}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(nodes.len(), 3, "one split separates it");
        assert_eq!(predict(&nodes, &[0.9, 3.0]), vec![0.0, 1.0]);
        assert_eq!(predict(&nodes, &[0.2, 3.0]), vec![1.0, 0.0]);
    }

    #[test]
    fn depth_and_leaf_size_limits_hold_and_leaves_hold_shares() {
        let n = 5000;
        let x = Array2::from_shape_fn((n, 3), |(i, j)| ((i * (j + 3) * 2654435761) % 1000) as f64);
        let y: Vec<u32> = (0..n).map(|i| ((i * 40503) % 3) as u32).collect();
        let s = TreeSettings {
            max_depth: Some(4),
            min_samples_leaf: 50.0,
            ..settings()
        };
        let nodes = fit(&x, &y, 3, &s);
        fn depth(nodes: &[TreeNode], at: usize) -> usize {
            match &nodes[at] {
                TreeNode::Split { left, right, .. } => {
                    1 + depth(nodes, *left).max(depth(nodes, *right))
                }
                TreeNode::Leaf { .. } => 0,
            }
        }
        assert!(depth(&nodes, 0) <= 4);
        for node in &nodes {
            if let TreeNode::Leaf { probabilities, .. } = node {
                assert!((probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            }
        }
        // every leaf receives at least 50 training rows
        let mut reach = vec![0usize; nodes.len()];
        for i in 0..n {
            let row: Vec<f64> = x.row(i).to_vec();
            let mut at = 0;
            while let TreeNode::Split {
                feature,
                threshold,
                left,
                right,
            } = &nodes[at]
            {
                at = if row[*feature] < *threshold {
                    *left
                } else {
                    *right
                };
            }
            reach[at] += 1;
        }
        for (i, node) in nodes.iter().enumerate() {
            if matches!(node, TreeNode::Leaf { .. }) {
                assert!(reach[i] >= 50, "leaf {i}: {}", reach[i]);
            }
        }
    }
}
