//! Reproducible outputs: with `SOURCE_DATE_EPOCH` set (the reproducible-builds
//! convention, seconds since 1970), the facts that would otherwise differ from run to
//! run are fixed: the time a snapshot manifest records is that epoch, and fit times are
//! recorded as 0 ms. The same inputs then give the same bytes (manifest, `model.json`,
//! registry pointer), which is how the example's champion is re-created exactly. It
//! touches nothing else; without the variable, real times are recorded.

use chrono::{DateTime, Utc};

/// `SOURCE_DATE_EPOCH` as a time, when it is set and valid.
pub fn epoch() -> Option<DateTime<Utc>> {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .and_then(|s| DateTime::from_timestamp(s, 0))
}

/// Now, or the epoch under `SOURCE_DATE_EPOCH`.
pub fn now() -> DateTime<Utc> {
    epoch().unwrap_or_else(Utc::now)
}

/// Milliseconds since `started`, or 0 under `SOURCE_DATE_EPOCH`.
pub fn elapsed_ms(started: std::time::Instant) -> u64 {
    if epoch().is_some() {
        0
    } else {
        started.elapsed().as_millis() as u64
    }
}
