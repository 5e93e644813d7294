//! Progress of long steps on stderr: one line redrawn in place on a terminal, plain
//! log lines (at most one every 5 s) elsewhere, e.g. in CI logs. Silent unless
//! enabled (`retrain run` enables it with its stage lines).

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Turns progress reporting on for this process.
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

pub struct Progress {
    label: String,
    total: Option<u64>,
    started: Instant,
    last: Option<Instant>,
    terminal: bool,
    enabled: bool,
    drawn: bool,
}

impl Progress {
    pub fn new(label: impl Into<String>, total: Option<u64>) -> Self {
        Self {
            label: label.into(),
            total,
            started: Instant::now(),
            last: None,
            terminal: std::io::stderr().is_terminal(),
            enabled: ENABLED.load(Ordering::Relaxed),
            drawn: false,
        }
    }

    /// Reports `done` (of `total`) and a detail, rate-limited.
    pub fn tick(&mut self, done: u64, detail: &str) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        let every = if self.terminal {
            Duration::from_millis(100)
        } else {
            Duration::from_secs(5)
        };
        // nothing for steps shorter than a second
        if now.duration_since(self.started) < Duration::from_secs(1)
            || self.last.is_some_and(|l| now.duration_since(l) < every)
        {
            return;
        }
        self.last = Some(now);
        let of = match self.total {
            Some(t) if t > 0 => format!("{done}/{t} ({:.0}%)", 100.0 * done as f64 / t as f64),
            _ => done.to_string(),
        };
        let line = format!(
            "{}: {of}, {detail}, {:.1}s",
            self.label,
            now.duration_since(self.started).as_secs_f64()
        );
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(err, "\r\x1b[2K{line}");
            self.drawn = true;
        } else {
            let _ = writeln!(err, "{line}");
        }
        let _ = err.flush();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if self.drawn {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }
}
