//! The best split of a leaf, from its histogram (second-order gain, as LightGBM and
//! XGBoost: a side with gradient sum `G` and hessian sum `H` scores `G² / (H + l2)`, a
//! split gains `score(left) + score(right) - score(parent)`).
//!
//! - Numeric columns: every cut between value bins, scanned twice when the leaf has
//!   missing values (missing rows go right, then left) so that the side missing values
//!   take is learned. Without missing values in the leaf, missing values at predict time
//!   go to the side with more training rows (scikit-learn's rule).
//! - Categorical columns (LightGBM's method and defaults): with at most `max_onehot`
//!   bins, one category against the rest; otherwise the categories with at least
//!   `smooth` rows are sorted by `G / (H + smooth)` and the best prefix of that order, from
//!   either end, of at most `max_threshold` categories goes left (`l2 + cat_l2` in the
//!   gain, and each side keeps `min_per_group` rows). Missing is a category like the others.

use super::bins::{Binned, Cuts};
use super::hist::Cell;

#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub l2: f64,
    pub min_samples_leaf: f64,
    pub min_hessian_leaf: f64,
    pub min_gain: f64,
    pub max_onehot: usize,
    pub cat_smooth: f64,
    pub cat_l2: f64,
    pub max_cat_threshold: usize,
    pub min_per_group: f64,
}

impl Default for Rules {
    /// LightGBM's defaults.
    fn default() -> Self {
        Self {
            l2: 0.0,
            min_samples_leaf: 20.0,
            min_hessian_leaf: 1e-3,
            min_gain: 0.0,
            max_onehot: 4,
            cat_smooth: 10.0,
            cat_l2: 10.0,
            max_cat_threshold: 32,
            min_per_group: 100.0,
        }
    }
}

/// Which bins go left.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// Value bins `1..=bin` go left; the missing bin as `missing_left` says.
    Numeric { bin: u8, missing_left: bool },
    /// A bit per bin (bit 0 = missing).
    Categorical { left: [u64; 4] },
}

impl Rule {
    #[inline]
    pub fn goes_left(&self, bin: u8) -> bool {
        match self {
            Rule::Numeric {
                bin: t,
                missing_left,
            } => {
                if bin == 0 {
                    *missing_left
                } else {
                    bin <= *t
                }
            }
            Rule::Categorical { left } => left[(bin >> 6) as usize] >> (bin & 63) & 1 == 1,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Candidate {
    pub feature: usize,
    pub rule: Rule,
    pub gain: f64,
    pub left: Cell,
    pub right: Cell,
}

pub fn score(c: &Cell, l2: f64) -> f64 {
    c.g * c.g / (c.h + l2)
}

fn fits(c: &Cell, r: &Rules) -> bool {
    c.n >= r.min_samples_leaf && c.h >= r.min_hessian_leaf
}

/// The best split of a leaf over the columns `features` (in increasing order); `None`
/// when no split gains more than `min_gain` within the limits.
pub fn best(
    b: &Binned,
    hist: &[Cell],
    total: &Cell,
    features: &[usize],
    r: &Rules,
) -> Option<Candidate> {
    let mut best: Option<Candidate> = None;
    for &f in features {
        let cells = &hist[b.offsets[f]..b.offsets[f] + b.cuts[f].bins()];
        let found = match &b.cuts[f] {
            Cuts::Numeric(_) => numeric(f, cells, total, r),
            Cuts::Categorical(_) => categorical(f, cells, total, r),
        };
        if let Some(c) = found {
            if best.as_ref().is_none_or(|b| c.gain > b.gain) {
                best = Some(c);
            }
        }
    }
    best
}

fn numeric(f: usize, cells: &[Cell], total: &Cell, r: &Rules) -> Option<Candidate> {
    let parent = score(total, r.l2);
    let missing = cells[0];
    let mut best: Option<Candidate> = None;
    let passes: &[bool] = if missing.n > 0.0 {
        &[false, true]
    } else {
        &[false]
    };
    for &missing_left in passes {
        let mut left = if missing_left {
            missing
        } else {
            Cell::default()
        };
        for (t, cell) in cells.iter().enumerate().take(cells.len() - 1).skip(1) {
            if cell.n == 0.0 {
                continue;
            }
            left.add(cell);
            let right = total.minus(&left);
            if right.n < r.min_samples_leaf {
                break;
            }
            if !fits(&left, r) || !fits(&right, r) {
                continue;
            }
            let gain = score(&left, r.l2) + score(&right, r.l2) - parent;
            if gain > r.min_gain && best.as_ref().is_none_or(|b| gain > b.gain) {
                best = Some(Candidate {
                    feature: f,
                    rule: Rule::Numeric {
                        bin: t as u8,
                        missing_left: if missing.n > 0.0 {
                            missing_left
                        } else {
                            left.n >= right.n
                        },
                    },
                    gain,
                    left,
                    right,
                });
            }
        }
    }
    best
}

fn bits(bins: &[usize]) -> [u64; 4] {
    let mut out = [0u64; 4];
    for b in bins {
        out[b >> 6] |= 1 << (b & 63);
    }
    out
}

fn categorical(f: usize, cells: &[Cell], total: &Cell, r: &Rules) -> Option<Candidate> {
    let mut best: Option<Candidate> = None;
    let consider = |left: Cell, bins: &[usize], l2: f64, best: &mut Option<Candidate>| {
        let right = total.minus(&left);
        if !fits(&left, r) || !fits(&right, r) {
            return;
        }
        let gain = score(&left, l2) + score(&right, l2) - score(total, l2);
        if gain > r.min_gain && best.as_ref().is_none_or(|b| gain > b.gain) {
            *best = Some(Candidate {
                feature: f,
                rule: Rule::Categorical { left: bits(bins) },
                gain,
                left,
                right,
            });
        }
    };
    if cells.len() <= r.max_onehot {
        for (bin, c) in cells.iter().enumerate() {
            if c.n > 0.0 {
                consider(*c, &[bin], r.l2, &mut best);
            }
        }
        return best;
    }
    let mut sorted: Vec<usize> = (0..cells.len())
        .filter(|b| cells[*b].n >= r.cat_smooth)
        .collect();
    let ctr = |b: usize| cells[b].g / (cells[b].h + r.cat_smooth);
    sorted.sort_by(|a, b| ctr(*a).total_cmp(&ctr(*b)));
    let used = sorted.len();
    let max_cats = r.max_cat_threshold.min(used.div_ceil(2).max(1));
    let l2 = r.l2 + r.cat_l2;
    for reverse in [false, true] {
        let order: Vec<usize> = if reverse {
            sorted.iter().rev().copied().collect()
        } else {
            sorted.clone()
        };
        let mut left = Cell::default();
        let mut group = 0.0;
        for i in 0..used.min(max_cats) {
            let c = &cells[order[i]];
            left.add(c);
            group += c.n;
            if !fits(&left, r) {
                continue;
            }
            let right = total.minus(&left);
            if right.n < r.min_samples_leaf
                || right.n < r.min_per_group
                || right.h < r.min_hessian_leaf
            {
                break;
            }
            if group < r.min_per_group {
                continue;
            }
            group = 0.0;
            consider(left, &order[..=i], l2, &mut best);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(g: f64, n: f64) -> Cell {
        Cell { g, h: n, n }
    }

    #[test]
    fn missing_values_go_to_the_side_they_resemble() {
        // bins: missing (gradient like the high values), 1, 2 (low), 3, 4 (high)
        let cells = [
            cell(-50.0, 50.0),
            cell(40.0, 40.0),
            cell(40.0, 40.0),
            cell(-40.0, 40.0),
            cell(-40.0, 40.0),
        ];
        let mut total = Cell::default();
        cells.iter().for_each(|c| total.add(c));
        let c = numeric(0, &cells, &total, &Rules::default()).unwrap();
        assert_eq!(
            c.rule,
            Rule::Numeric {
                bin: 2,
                missing_left: false
            }
        );
        assert_eq!((c.left.n, c.right.n), (80.0, 130.0));
    }

    #[test]
    fn categories_are_grouped_by_their_mean_gradient() {
        // 8 categories; 1, 4, 6 have negative gradients and go together
        let g = [5.0, -30.0, 6.0, 7.0, -35.0, 4.0, -32.0, 5.5];
        let mut cells = vec![Cell::default()];
        cells.extend(g.iter().map(|g| cell(*g * 10.0, 200.0)));
        let mut total = Cell::default();
        cells.iter().for_each(|c| total.add(c));
        let c = categorical(0, &cells, &total, &Rules::default()).unwrap();
        let Rule::Categorical { left } = c.rule else {
            panic!()
        };
        let chosen: Vec<u8> = (0..=8u8)
            .filter(|b| Rule::Categorical { left }.goes_left(*b))
            .collect();
        assert_eq!(chosen, vec![2, 5, 7], "bins of categories 1, 4, 6");
    }
}
