//! Change detectors over a stream of per-row errors, in time order: ADWIN (Bifet &
//! Gavaldà 2007), DDM (Gama et al. 2004) and Page-Hinkley (Page 1954), with the
//! semantics and defaults of River 0.26.1 (`river.drift.ADWIN`, `drift.binary.DDM`,
//! `drift.PageHinkley`): each detector starts afresh after it signals a change, and a
//! stream gives the same detection rows as River's (`tests/all/detectors.rs` holds
//! River's answers; `bench/detectors/` runs both side by side).

use serde::Serialize;

use crate::config::{DetectorKind, DetectorSpec, Task};

/// A change a detector signalled.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detection {
    /// Position in the stream (0-based) of the row at which the change was signalled.
    pub row: usize,
    /// DDM only: where the warning zone this change ended began.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning_from: Option<usize>,
    /// The row's time (`time_column`), when the model has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

/// A detector run over the champion's errors on the new labelled rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DetectorReport {
    pub detector: DetectorKind,
    /// Rows in the stream (the new labelled rows, in time order).
    pub rows: usize,
    /// What a row's error is: `misclassified` (0/1) or `absolute_error`.
    pub error: &'static str,
    pub changes: Vec<Detection>,
}

impl DetectorReport {
    /// `spec` over `stream`: the per-row errors (in time order) of a model for `task`.
    pub fn run(spec: &DetectorSpec, stream: &[f64], task: Task) -> Self {
        DetectorReport {
            detector: spec.kind,
            rows: stream.len(),
            error: match task {
                Task::Classification => "misclassified",
                Task::Regression => "absolute_error",
            },
            changes: detect(spec, stream),
        }
    }

    /// Rows from the last change to the end of the stream (the change's row included).
    pub fn rows_since_change(&self) -> Option<usize> {
        self.changes.last().map(|c| self.rows - c.row)
    }
}

/// Every change `spec` signals on `stream`, in order.
pub fn detect(spec: &DetectorSpec, stream: &[f64]) -> Vec<Detection> {
    let mut detector = Detector::new(spec);
    let mut found = Vec::new();
    let mut warning_from = None;
    for (row, &x) in stream.iter().enumerate() {
        match detector.update(x) {
            Signal::None => warning_from = None,
            Signal::Warning => {
                warning_from.get_or_insert(row);
            }
            Signal::Change => {
                found.push(Detection {
                    row,
                    warning_from: warning_from.take(),
                    at: None,
                });
                detector = Detector::new(spec);
            }
        }
    }
    found
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    None,
    Warning,
    Change,
}

enum Detector {
    Adwin(Adwin),
    Ddm(Ddm),
    PageHinkley(PageHinkley),
}

impl Detector {
    fn new(spec: &DetectorSpec) -> Self {
        match spec.kind {
            DetectorKind::Adwin => Detector::Adwin(Adwin::new(spec.delta())),
            DetectorKind::Ddm => Detector::Ddm(Ddm {
                warm_start: spec.min_instances() as f64,
                warning: spec.warning(),
                drift: spec.drift(),
                mean: Mean::default(),
                best: None,
            }),
            DetectorKind::PageHinkley => Detector::PageHinkley(PageHinkley {
                min_instances: spec.min_instances() as f64,
                delta: spec.delta(),
                threshold: spec.threshold(),
                alpha: spec.alpha(),
                mean: Mean::default(),
                up: 0.0,
                down: 0.0,
                lowest_up: f64::INFINITY,
                // River starts the running maximum at -1, not -inf (kept for parity)
                highest_down: -1.0,
            }),
        }
    }

    fn update(&mut self, x: f64) -> Signal {
        match self {
            Detector::Adwin(d) => d.update(x),
            Detector::Ddm(d) => d.update(x),
            Detector::PageHinkley(d) => d.update(x),
        }
    }
}

/// A running mean updated as River's `stats.Mean` is (same rounding).
#[derive(Debug, Default, Clone, Copy)]
struct Mean {
    n: f64,
    mean: f64,
}

impl Mean {
    fn update(&mut self, x: f64) {
        self.n += 1.0;
        self.mean += (1.0 / self.n) * (x - self.mean);
    }
}

/// DDM: the error rate `p` and its binomial deviation `s`; a change when `p + s`
/// exceeds the lowest `p + s` seen by `drift` deviations, a warning by `warning`.
struct Ddm {
    warm_start: f64,
    warning: f64,
    drift: f64,
    mean: Mean,
    /// (p, s) where p + s was lowest.
    best: Option<(f64, f64)>,
}

impl Ddm {
    fn update(&mut self, x: f64) -> Signal {
        self.mean.update(x);
        let (p, n) = (self.mean.mean, self.mean.n);
        let s = (p * (1.0 - p) / n).sqrt();
        if n <= self.warm_start {
            return Signal::None;
        }
        if self.best.is_none_or(|(bp, bs)| p + s <= bp + bs) {
            self.best = Some((p, s));
        }
        let (p_min, s_min) = self.best.unwrap_or((p, s));
        if p + s > p_min + self.drift * s_min {
            Signal::Change
        } else if p + s > p_min + self.warning * s_min {
            Signal::Warning
        } else {
            Signal::None
        }
    }
}

/// Page-Hinkley, two-sided: cumulative deviations from the running mean (less or plus
/// `delta`, faded by `alpha`) against their running extremes.
struct PageHinkley {
    min_instances: f64,
    delta: f64,
    threshold: f64,
    alpha: f64,
    mean: Mean,
    up: f64,
    down: f64,
    lowest_up: f64,
    highest_down: f64,
}

impl PageHinkley {
    fn update(&mut self, x: f64) -> Signal {
        self.mean.update(x);
        let dev = x - self.mean.mean;
        self.up = self.alpha * self.up + dev - self.delta;
        self.down = self.alpha * self.down + dev + self.delta;
        self.lowest_up = self.lowest_up.min(self.up);
        self.highest_down = self.highest_down.max(self.down);
        let rising = self.up - self.lowest_up;
        let falling = self.highest_down - self.down;
        if self.mean.n >= self.min_instances
            && (rising > self.threshold || falling > self.threshold)
        {
            Signal::Change
        } else {
            Signal::None
        }
    }
}

/// River's ADWIN settings besides `delta`: the window is checked every `CLOCK` rows
/// once it holds more than `GRACE` rows; both sides of a cut hold at least `MIN_SIDE`
/// rows; each level of the exponential histogram keeps up to `PER_LEVEL` buckets.
const CLOCK: u64 = 32;
const GRACE: f64 = 10.0;
const MIN_SIDE: f64 = 5.0;
const PER_LEVEL: usize = 5;

/// A bucket of 2^level rows: their sum, and the sum of squared deviations from their
/// mean.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    sum: f64,
    sq: f64,
}

/// ADWIN: a window kept as an exponential histogram (level `i` holds buckets of 2^i
/// rows, oldest first); every `CLOCK` rows each boundary between buckets is a
/// candidate cut into an older and a newer part, and a change is signalled when the
/// two parts' means differ by more than the Hoeffding-style bound for `delta`.
struct Adwin {
    delta: f64,
    levels: Vec<Vec<Bucket>>,
    width: f64,
    sum: f64,
    sq: f64,
    seen: u64,
}

impl Adwin {
    fn new(delta: f64) -> Self {
        Adwin {
            delta,
            levels: vec![Vec::with_capacity(PER_LEVEL + 1)],
            width: 0.0,
            sum: 0.0,
            sq: 0.0,
            seen: 0,
        }
    }

    fn update(&mut self, x: f64) -> Signal {
        self.push(x);
        self.seen += 1;
        if self.seen.is_multiple_of(CLOCK) && self.width > GRACE && self.has_cut() {
            Signal::Change
        } else {
            Signal::None
        }
    }

    fn push(&mut self, x: f64) {
        self.width += 1.0;
        if self.width > 1.0 {
            let d = x - self.sum / (self.width - 1.0);
            self.sq += (self.width - 1.0) * d * d / self.width;
        }
        self.sum += x;
        self.levels[0].push(Bucket { sum: x, sq: 0.0 });
        let mut level = 0;
        while self.levels[level].len() > PER_LEVEL {
            let rows = (1u64 << level) as f64;
            let (a, b) = (self.levels[level][0], self.levels[level][1]);
            let (ma, mb) = (a.sum / rows, b.sum / rows);
            let merged = Bucket {
                sum: a.sum + b.sum,
                sq: a.sq + b.sq + rows * 0.5 * (ma - mb) * (ma - mb),
            };
            self.levels[level].drain(..2);
            if level + 1 == self.levels.len() {
                self.levels.push(Vec::with_capacity(PER_LEVEL + 1));
            }
            self.levels[level + 1].push(merged);
            level += 1;
        }
    }

    /// Whether some cut, oldest first, splits the window into parts whose means differ
    /// by more than the bound.
    fn has_cut(&self) -> bool {
        let (mut n0, mut s0) = (0.0, 0.0);
        let (mut n1, mut s1) = (self.width, self.sum);
        let variance = self.sq / self.width;
        let log_term = (2.0 * self.width.ln() / self.delta).ln();
        for (level, buckets) in self.levels.iter().enumerate().rev() {
            let rows = (1u64 << level) as f64;
            for (k, b) in buckets.iter().enumerate() {
                n0 += rows;
                n1 -= rows;
                s0 += b.sum;
                s1 -= b.sum;
                if level == 0 && k + 1 == buckets.len() {
                    return false;
                }
                if n0 >= MIN_SIDE && n1 >= MIN_SIDE {
                    let m = 1.0 / (n0 - MIN_SIDE + 1.0) + 1.0 / (n1 - MIN_SIDE + 1.0);
                    let bound = (2.0 * m * variance * log_term).sqrt() + 2.0 / 3.0 * log_term * m;
                    if (s0 / n0 - s1 / n1).abs() > bound {
                        return true;
                    }
                }
            }
        }
        false
    }
}
