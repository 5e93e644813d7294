//! The summary points of a column merged over many files, kept bounded: a binary counter
//! of levels, as mergeable quantile sketches (KLL, DataSketches) keep theirs. A file's
//! points (at most 4096, [`super::profile`]) enter at level 0; two occupied levels merge
//! into the next one, compacted to [`LEVEL_POINTS`] equal-weight points when they hold
//! more (twice what one file keeps: the kept history stays a few megabytes, and the
//! example's drift statistics move by at most 0.15%). So N files are held in at most log2(N) + 1 levels of at most [`LEVEL_POINTS`]
//! each, whatever N; a value goes through at most log2(N) compactions, each of which moves
//! its rank by at most half a block (1 / (2 · [`LEVEL_POINTS`]) of the level's weight).
//! The levels of a history are what a snapshot keeps (`part_cache::PrefixCache`), so the
//! next one merges only the new files into them. The merge is the same in file order,
//! with or without the cache: the same profile.

/// Points a merged level is compacted to.
pub const LEVEL_POINTS: usize = 8192;

/// Puts `points` (sorted by value) at level `l` of `tower`, merging into the next level
/// while the level is occupied.
pub fn carry(tower: &mut Vec<Vec<(f64, f64)>>, mut l: usize, mut points: Vec<(f64, f64)>) {
    loop {
        if tower.len() <= l {
            tower.resize(l + 1, Vec::new());
        }
        if tower[l].is_empty() {
            tower[l] = points;
            return;
        }
        let merged = merge_sorted(std::mem::take(&mut tower[l]), points);
        points = compact(merged, LEVEL_POINTS);
        l += 1;
    }
}

/// Two runs sorted by value as one (ties: `a`'s first).
fn merge_sorted(a: Vec<(f64, f64)>, b: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if b[j].0.total_cmp(&a[i].0).is_lt() {
            out.push(b[j]);
            j += 1;
        } else {
            out.push(a[i]);
            i += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// At most `k` points of equal weight for sorted weighted `points`: the total weight
/// cut into `k` blocks, each stood for by the point at its middle rank.
fn compact(points: Vec<(f64, f64)>, k: usize) -> Vec<(f64, f64)> {
    if points.len() <= k {
        return points;
    }
    let total: f64 = points.iter().map(|p| p.1).sum();
    let block = total / k as f64;
    let mut out = Vec::with_capacity(k);
    let (mut i, mut before) = (0usize, 0.0f64);
    for b in 0..k {
        let middle = (b as f64 + 0.5) * block;
        while i + 1 < points.len() && before + points[i].1 <= middle {
            before += points[i].1;
            i += 1;
        }
        out.push((points[i].0, block));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rank_of(points: &[(f64, f64)], x: f64) -> f64 {
        let total: f64 = points.iter().map(|p| p.1).sum();
        points.iter().filter(|p| p.0 <= x).map(|p| p.1).sum::<f64>() / total
    }

    #[test]
    fn levels_stay_bounded_and_ranks_stay_within_the_bound() {
        // 256 "files" of 4096 points of one weight each (a 1M-value column)
        let mut tower = Vec::new();
        let mut all = Vec::new();
        for f in 0..256u64 {
            let pts: Vec<(f64, f64)> = (0..4096u64)
                .map(|i| (((i * 7919 + f * 104_729) % 1_000_003) as f64, 1.0))
                .collect::<Vec<_>>();
            let mut pts = pts;
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            all.extend(pts.iter().copied());
            carry(&mut tower, 0, pts);
        }
        assert!(tower.len() <= 9, "{} levels", tower.len());
        assert!(tower.iter().all(|l| l.len() <= LEVEL_POINTS));
        let mut kept: Vec<(f64, f64)> = tower.concat();
        kept.sort_by(|a, b| a.0.total_cmp(&b.0));
        let total: f64 = kept.iter().map(|p| p.1).sum();
        assert!(
            (total - all.len() as f64).abs() < 1e-3,
            "weight kept: {total}"
        );
        all.sort_by(|a, b| a.0.total_cmp(&b.0));
        // log2(256) = 8 compactions at most, half a block each
        let bound = 8.0 / (2.0 * LEVEL_POINTS as f64) + 1.0 / all.len() as f64;
        for q in 1..100 {
            let x = all[q * all.len() / 100].0;
            let err = (rank_of(&kept, x) - rank_of(&all, x)).abs();
            assert!(err <= bound, "rank error {err} > {bound} at q{q}");
        }
    }

    #[test]
    fn few_points_are_kept_exactly() {
        let mut tower = Vec::new();
        carry(&mut tower, 0, vec![(1.0, 1.0), (3.0, 1.0)]);
        carry(&mut tower, 0, vec![(2.0, 1.0)]);
        assert_eq!(
            tower,
            vec![vec![], vec![(1.0, 1.0), (2.0, 1.0), (3.0, 1.0)]]
        );
    }
}
