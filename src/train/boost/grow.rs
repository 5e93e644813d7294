//! Growing one tree on binned rows, leaf-wise (best-first) as LightGBM does: the leaf
//! whose best split gains most is split next, until `max_leaves` leaves (or `max_depth`,
//! or no split gains). The rows of each leaf stay contiguous in one index buffer (the
//! split moves them in place, stably, so every leaf's rows stay in increasing order and
//! histograms read memory forwards). Only the smaller child's histogram is built; the
//! larger child's is its parent's minus the smaller's.

use std::ops::Range;

use super::bins::Binned;
use super::hist::{self, Cell, Grads};
use super::split::{self, Candidate, Rule, Rules};

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `None`: grow until no split gains (random forests with `max_depth`).
    pub max_leaves: Option<usize>,
    pub max_depth: Option<usize>,
    pub rules: Rules,
}

/// An internal node in bin space; a child `< 0` is leaf `-1 - child`.
#[derive(Debug, Clone)]
pub struct Node {
    pub feature: usize,
    pub rule: Rule,
    pub left: i32,
    pub right: i32,
}

#[derive(Debug, Clone)]
pub struct Leaf {
    pub sums: Cell,
    /// Its rows: `rows[range]` of the buffer given to [`grow`].
    pub range: Range<usize>,
    pub depth: usize,
}

/// A tree as grown (bins, not values); the caller sets the leaf values.
#[derive(Debug, Clone)]
pub struct Grown {
    pub nodes: Vec<Node>,
    pub leaves: Vec<Leaf>,
}

impl Grown {
    /// The leaf a binned row reaches.
    pub fn leaf_of(&self, row: &[u8]) -> usize {
        if self.nodes.is_empty() {
            return 0;
        }
        let mut i = 0usize;
        loop {
            let n = &self.nodes[i];
            let next = if n.rule.goes_left(row[n.feature]) {
                n.left
            } else {
                n.right
            };
            if next < 0 {
                return (-1 - next) as usize;
            }
            i = next as usize;
        }
    }
}

struct Open {
    hist: Option<Vec<Cell>>,
    best: Option<Candidate>,
    /// The node whose child this leaf is (`None`: the root), and which side.
    parent: Option<(usize, bool)>,
}

/// Grows a tree on `rows` (the in-bag rows, increasing; reordered in place so that each
/// leaf's rows are `rows[leaf.range]`). `features` picks the columns a leaf may split on
/// (all of them, a per-tree sample, or a per-split sample for random forests).
pub fn grow(
    b: &Binned,
    rows: &mut [u32],
    grad: Grads<'_>,
    limits: &Limits,
    features: &mut dyn FnMut() -> Vec<usize>,
) -> Grown {
    let root_hist = hist::build(b, rows, grad);
    let total = total_of(b, &root_hist, rows, grad);
    let mut leaves = vec![Leaf {
        sums: total,
        range: 0..rows.len(),
        depth: 0,
    }];
    let mut open = vec![Open {
        hist: None,
        best: None,
        parent: None,
    }];
    let splittable = |leaf: &Leaf| {
        leaf.sums.n >= 2.0 * limits.rules.min_samples_leaf
            && limits.max_depth.is_none_or(|d| leaf.depth < d)
    };
    let mut pending: Vec<usize> = Vec::new();
    if splittable(&leaves[0]) {
        open[0].best = split::best(b, &root_hist, &total, &features(), &limits.rules);
        if open[0].best.is_some() {
            open[0].hist = Some(root_hist);
            pending.push(0);
        }
    }
    let mut nodes: Vec<Node> = Vec::new();
    let mut scratch: Vec<u32> = Vec::new();
    while limits.max_leaves.is_none_or(|m| leaves.len() < m) {
        // the open leaf with the largest gain (ties: the lowest leaf); without a leaf
        // limit the order does not change the tree, so the newest (depth first: few
        // histograms are kept at a time)
        let pick = if limits.max_leaves.is_some() {
            let mut pick: Option<(usize, f64)> = None;
            for &i in &pending {
                let g = open[i].best.as_ref().map_or(f64::NEG_INFINITY, |c| c.gain);
                if pick.is_none_or(|(p, b)| g > b || (g == b && i < p)) {
                    pick = Some((i, g));
                }
            }
            pick.map(|(i, _)| i)
        } else {
            pending.last().copied()
        };
        let Some(i) = pick else { break };
        pending.retain(|p| *p != i);
        let cand = open[i].best.take().expect("picked");
        let parent_hist = open[i]
            .hist
            .take()
            .expect("a splittable leaf keeps its histogram");
        let range = leaves[i].range.clone();
        let mid = partition(b, &mut rows[range.clone()], &cand, &mut scratch) + range.start;
        let depth = leaves[i].depth + 1;
        let j = leaves.len();
        let k = nodes.len();
        nodes.push(Node {
            feature: cand.feature,
            rule: cand.rule.clone(),
            left: -1 - i as i32,
            right: -1 - j as i32,
        });
        if let Some((p, is_left)) = open[i].parent {
            if is_left {
                nodes[p].left = k as i32;
            } else {
                nodes[p].right = k as i32;
            }
        }
        leaves[i] = Leaf {
            sums: cand.left,
            range: range.start..mid,
            depth,
        };
        leaves.push(Leaf {
            sums: cand.right,
            range: mid..range.end,
            depth,
        });
        open[i].parent = Some((k, true));
        open.push(Open {
            hist: None,
            best: None,
            parent: Some((k, false)),
        });
        let (left_ok, right_ok) = (splittable(&leaves[i]), splittable(&leaves[j]));
        // the last split a tree may make: its children are never split
        let full = limits.max_leaves.is_some_and(|m| leaves.len() >= m);
        if full || (!left_ok && !right_ok) {
            continue;
        }
        let left_small = mid - range.start <= range.end - mid;
        let small_range = if left_small {
            range.start..mid
        } else {
            mid..range.end
        };
        let small = hist::build(b, &rows[small_range], grad);
        let mut large = parent_hist;
        hist::subtract(&mut large, &small);
        let (lh, rh) = if left_small {
            (small, large)
        } else {
            (large, small)
        };
        // both children's best splits at once (their feature samples drawn in the order
        // of a search one after the other)
        let lf = if left_ok { features() } else { Vec::new() };
        let rf = if right_ok { features() } else { Vec::new() };
        let (li, ri) = (&leaves[i], &leaves[j]);
        let (lb, rb) = rayon::join(
            || {
                left_ok
                    .then(|| split::best(b, &lh, &li.sums, &lf, &limits.rules))
                    .flatten()
            },
            || {
                right_ok
                    .then(|| split::best(b, &rh, &ri.sums, &rf, &limits.rules))
                    .flatten()
            },
        );
        for (leaf, h, best) in [(i, lh, lb), (j, rh, rb)] {
            if best.is_some() {
                open[leaf].best = best;
                open[leaf].hist = Some(h);
                pending.push(leaf);
            }
        }
    }
    Grown { nodes, leaves }
}

/// The sums over all rows, from the first column's bins (every row is in one of them).
fn total_of(b: &Binned, hist: &[Cell], rows: &[u32], grad: Grads<'_>) -> Cell {
    let mut t = Cell::default();
    if b.width == 0 {
        for r in rows {
            let [g, h] = grad.rows[*r as usize];
            t.add(&Cell {
                g: f64::from(g),
                h: f64::from(h),
                n: 1.0,
            });
        }
        return t;
    }
    for c in &hist[..b.cuts[0].bins()] {
        t.add(c);
    }
    t
}

/// Moves the rows going left to the front, both sides keeping their order; returns the
/// number going left. Large ranges are split in fixed chunks in parallel and joined in
/// chunk order, which is the sequential result.
fn partition(b: &Binned, rows: &mut [u32], cand: &Candidate, scratch: &mut Vec<u32>) -> usize {
    const CHUNK: usize = 32_768;
    let column = &b.columns[cand.feature * b.rows..(cand.feature + 1) * b.rows];
    let goes_left = |r: u32| cand.rule.goes_left(column[r as usize]);
    if rows.len() > 2 * CHUNK {
        use rayon::prelude::*;
        let parts: Vec<(Vec<u32>, Vec<u32>)> = rows
            .par_chunks(CHUNK)
            .map(|c| {
                let (mut l, mut r) = (vec![0u32; c.len()], vec![0u32; c.len()]);
                let (nl, nr) = split_into(c, &goes_left, &mut l, &mut r);
                l.truncate(nl);
                r.truncate(nr);
                (l, r)
            })
            .collect();
        let mut at = 0;
        for (l, _) in &parts {
            rows[at..at + l.len()].copy_from_slice(l);
            at += l.len();
        }
        let left = at;
        for (_, r) in &parts {
            rows[at..at + r.len()].copy_from_slice(r);
            at += r.len();
        }
        return left;
    }
    scratch.clear();
    scratch.resize(rows.len(), 0);
    let mut left = vec![0u32; rows.len()];
    let (nl, nr) = split_into(rows, &goes_left, &mut left, scratch);
    rows[..nl].copy_from_slice(&left[..nl]);
    rows[nl..].copy_from_slice(&scratch[..nr]);
    nl
}

/// Writes every row to both outputs and advances the side it goes to (no branch on the
/// row's side, which is a coin flip the processor cannot predict).
fn split_into(
    rows: &[u32],
    goes_left: &impl Fn(u32) -> bool,
    left: &mut [u32],
    right: &mut [u32],
) -> (usize, usize) {
    let (mut nl, mut nr) = (0usize, 0usize);
    for &r in rows {
        let l = usize::from(goes_left(r));
        left[nl] = r;
        right[nr] = r;
        nl += l;
        nr += 1 - l;
    }
    (nl, nr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn grows_the_most_gaining_leaf_first_up_to_max_leaves() {
        // y = 3 if x0 > 0.5, plus 1 if x1 > 0.5 (within x0 > 0.5 only): the second split
        // must be taken in the right half
        let n = 4000;
        let x = Array2::from_shape_fn((n, 2), |(i, j)| {
            if j == 0 {
                (i % 100) as f64 / 100.0
            } else {
                ((i / 100) % 40) as f64 / 40.0
            }
        });
        let y: Vec<f64> = (0..n)
            .map(|i| {
                let (a, c) = (x[[i, 0]], x[[i, 1]]);
                if a > 0.5 {
                    3.0 + f64::from(u8::from(c > 0.5))
                } else {
                    0.0
                }
            })
            .collect();
        let b = Binned::new(&x, &[None, None], 255);
        // squared error from 0: g = -y, h = 1
        let grad: Vec<hist::Grad> = y.iter().map(|v| [-*v as f32, 1.0]).collect();
        let grad = Grads::new(&grad);
        let mut rows: Vec<u32> = (0..n as u32).collect();
        let limits = Limits {
            max_leaves: Some(3),
            max_depth: None,
            rules: Rules::default(),
        };
        let t = grow(&b, &mut rows, grad, &limits, &mut || vec![0, 1]);
        assert_eq!(t.leaves.len(), 3);
        assert_eq!(t.nodes[0].feature, 0);
        assert_eq!(t.nodes[1].feature, 1);
        assert_eq!(t.nodes[0].right, 1, "the right half was split");
        for leaf in &t.leaves {
            let rs = &rows[leaf.range.clone()];
            assert!(rs.windows(2).all(|w| w[0] < w[1]), "rows stay in order");
            let mean = -leaf.sums.g / leaf.sums.h;
            for r in rs {
                assert_eq!(y[*r as usize], mean, "pure leaves");
                assert_eq!(
                    t.leaf_of(b.row(*r as usize)),
                    t.leaves.iter().position(|l| l.range == leaf.range).unwrap()
                );
            }
        }
    }
}
