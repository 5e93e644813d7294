//! What values mean, whatever file they come in: category values cut to a bounded key,
//! CSV text columns that are really numbers (`NA`, `Infinity`), and the SIGBUS guard for
//! files that polars reads through memory maps. Pure functions of values and polars
//! expressions; reading files stays in [`super`].

use polars::prelude::*;

/// Polars reads local files through memory maps; a file truncated while it is mapped
/// raises SIGBUS on the next access, which would kill the process without a word.
/// This turns that signal into a message and exit code 1 (a problem with the data).
/// Nothing is half-written: manifests and artifacts are written by rename. Called once
/// by the binary at start.
pub fn guard_truncated_files() {
    #[cfg(unix)]
    {
        extern "C" fn on_sigbus(_: libc::c_int) {
            const MSG: &[u8] = b"error: a data file was truncated while retrain was reading it (SIGBUS); nothing was recorded\nhint: run again once the file is complete (write data files elsewhere and rename them into place)\n";
            // SAFETY: write(2) and _exit(2) are async-signal-safe.
            unsafe {
                libc::write(2, MSG.as_ptr().cast(), MSG.len());
                libc::_exit(1);
            }
        }
        // SAFETY: installs a handler that only calls async-signal-safe functions.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_sigbus as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut());
        }
    }
}

/// Longest category value kept as it is; a longer one is cut here.
pub const MAX_CATEGORY_BYTES: usize = 256;

/// The key a categorical value is counted, profiled, one-hot encoded and scored under:
/// the value itself, or — longer than [`MAX_CATEGORY_BYTES`] — its first bytes, `…` and
/// 16 hex digits of its BLAKE3 hash (distinct long values stay distinct). Manifests,
/// drift counts and models then hold at most a few hundred bytes per value, whatever
/// the data holds (a 50 MB field once went whole into the manifest and the model).
pub fn category_key(v: &str) -> std::borrow::Cow<'_, str> {
    if v.len() <= MAX_CATEGORY_BYTES {
        return std::borrow::Cow::Borrowed(v);
    }
    let mut cut = MAX_CATEGORY_BYTES - 24;
    while !v.is_char_boundary(cut) {
        cut -= 1;
    }
    let hash = blake3::hash(v.as_bytes()).to_hex();
    std::borrow::Cow::Owned(format!("{}…{}", &v[..cut], &hash.as_str()[..16]))
}

/// Texts that stand for a missing number in CSV files written by pandas (`NA`, `None`,
/// `<NA>`), R (`NA`) and spreadsheets (`#N/A`, `NULL`). `nan`, `NaN`, `inf` and
/// `Infinity` are numbers (non-finite), as polars reads them.
const MISSING_TEXTS: &[&str] = &[
    "", "NA", "N/A", "n/a", "NULL", "null", "None", "<NA>", "#N/A", "#NA",
];

fn is_missing_text(c: &str) -> Expr {
    MISSING_TEXTS
        .iter()
        .map(|t| col(c).eq(lit(*t)))
        .reduce(|a, b| a.or(b))
        .expect("a missing text")
}

/// The column as a number: missing texts are nulls, the rest parsed (`Infinity` too).
pub(super) fn as_number(c: &str) -> Expr {
    when(is_missing_text(c))
        .then(lit(NULL).cast(DataType::Float64))
        .otherwise(col(c).str().strip_chars(lit(NULL)).cast(DataType::Float64))
        .alias(c)
}

/// Whether `v` is a number as [`as_number`] reads it (trimmed, then cast).
fn reads_as_number(v: &str) -> bool {
    Series::new(PlSmallStr::EMPTY, [v.trim()])
        .cast(&DataType::Float64)
        .is_ok_and(|s| s.null_count() == 0)
}

/// The columns polars read as text.
fn text_columns(schema: &Schema) -> Vec<String> {
    schema
        .iter()
        .filter(|(_, dt)| **dt == DataType::String)
        .map(|(n, _)| n.to_string())
        .collect()
}

/// Whether polars' date inference could make a date of any text column of `head` (the
/// rows the schema is inferred from, read without it): only when some text column's
/// first non-null value starts with a digit, after blanks and a sign — every date, time
/// and datetime pattern polars tries starts with a number (`%Y`, `%d`, `%H`, ISO 8601),
/// and a column is a date only when all its values are.
pub(super) fn may_hold_dates(head: &DataFrame) -> PolarsResult<bool> {
    for c in text_columns(head.schema()) {
        let first = head.column(&c)?.str()?.iter().flatten().next();
        if first.is_some_and(|v| {
            let v = v.trim_start();
            let v = v.strip_prefix(['+', '-']).unwrap_or(v);
            v.starts_with(|c: char| c.is_ascii_digit())
        }) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The text columns of `head` (the rows polars infers a CSV file's schema from) whose
/// values are all numbers or missing texts, with at least one number: polars reads a
/// numeric column with one `NA` or `Infinity` as text, which would make it categorical.
pub(super) fn numeric_text_columns(head: &DataFrame) -> PolarsResult<Vec<String>> {
    // a column whose first value is neither missing nor a number is text (most text
    // columns: decided without a query)
    let mut text = Vec::new();
    for c in text_columns(head.schema()) {
        let first = head
            .column(&c)?
            .str()?
            .iter()
            .flatten()
            .find(|v| !MISSING_TEXTS.contains(v));
        if first.is_some_and(reads_as_number) {
            text.push(c);
        }
    }
    if text.is_empty() {
        return Ok(Vec::new());
    }
    // per column: values that are neither missing nor numbers, and numbers
    let mut checks = Vec::new();
    for (i, c) in text.iter().enumerate() {
        let value = col(c.as_str()).is_not_null().and(is_missing_text(c).not());
        let number = as_number(c).is_not_null();
        let bad = value.clone().and(number.clone().not());
        checks.push(bad.sum().alias(format!("bad{i}")));
        checks.push(value.and(number).sum().alias(format!("num{i}")));
    }
    let df = head.clone().lazy().select(checks).collect()?;
    let get = |name: &str| -> u64 {
        df.column(name)
            .ok()
            .and_then(|s| s.get(0).ok())
            .and_then(|v| v.extract::<u64>())
            .unwrap_or(0)
    };
    Ok(text
        .into_iter()
        .enumerate()
        .filter(|(i, _)| get(&format!("bad{i}")) == 0 && get(&format!("num{i}")) > 0)
        .map(|(_, c)| c)
        .collect())
}

/// Sorts `v` in `f64::total_cmp` order (the same result as
/// `v.sort_unstable_by(f64::total_cmp)`), by an LSD radix sort of the order-preserving
/// bit patterns for long slices: 8 passes of a byte, each skipped when every value has
/// the same byte there. A profile sorts every numeric column of every file; for a
/// million values this is several times faster than a comparison sort.
pub fn sort_floats(v: &mut [f64]) {
    if v.len() < 4096 {
        v.sort_unstable_by(f64::total_cmp);
        return;
    }
    // total_cmp's order as unsigned keys: negative values have every bit flipped,
    // the others their sign bit
    let key = |x: f64| {
        let b = x.to_bits();
        if b >> 63 == 1 {
            !b
        } else {
            b | (1 << 63)
        }
    };
    let unkey = |k: u64| {
        if k >> 63 == 1 {
            f64::from_bits(k & !(1 << 63))
        } else {
            f64::from_bits(!k)
        }
    };
    let mut keys: Vec<u64> = v.iter().map(|x| key(*x)).collect();
    let mut spare = vec![0u64; keys.len()];
    for pass in 0..8 {
        let shift = pass * 8;
        let mut counts = [0usize; 256];
        for k in &keys {
            counts[((k >> shift) & 0xff) as usize] += 1;
        }
        if counts.contains(&keys.len()) {
            continue; // every key has this byte: the order stays
        }
        let mut at = [0usize; 256];
        let mut sum = 0;
        for (a, c) in at.iter_mut().zip(&counts) {
            *a = sum;
            sum += c;
        }
        for k in &keys {
            let b = ((k >> shift) & 0xff) as usize;
            spare[at[b]] = *k;
            at[b] += 1;
        }
        std::mem::swap(&mut keys, &mut spare);
    }
    for (x, k) in v.iter_mut().zip(keys) {
        *x = unkey(k);
    }
}

#[cfg(test)]
mod sort_tests {
    #[test]
    fn the_radix_sort_gives_total_cmp_order() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut v: Vec<f64> = (0..50_000)
            .map(|i| match i % 7 {
                0 => -0.0,
                1 => 0.0,
                2 => f64::INFINITY,
                3 => f64::NEG_INFINITY,
                4 => rng.gen_range(-1e6..1e6),
                5 => rng.gen_range(-1e-300..1e-300),
                _ => (rng.gen_range(0..100) as f64) * 0.5,
            })
            .collect();
        v.push(f64::NAN);
        v.push(-f64::NAN);
        let mut expected = v.clone();
        expected.sort_unstable_by(f64::total_cmp);
        super::sort_floats(&mut v);
        let bits = |s: &[f64]| s.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&v), bits(&expected));
    }
}
