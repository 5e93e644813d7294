//! Reading CSV files: what a file's first rows say about its columns (learned once per
//! file, [`prepare`]), then lazy scans ([`scan`]) and whole reads of small files
//! ([`read`]) that all see the same columns.

use polars::prelude::*;

use super::values::{self, as_number};

/// What a CSV file's first scan learned (see [`DataFile::scan`]).
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    numeric: Vec<String>,
    /// Some text column's first value starts with a digit, so polars' date inference
    /// may turn it into a date; without one, no column can be a date and the inference
    /// (which tries every date pattern on every text value of the first 10,000 rows —
    /// once 65% of profiling a 10k-row file) is left out. Same schema either way.
    dates: bool,
    /// The schema inferred from the first 10,000 rows, inferred once: every later scan of
    /// the file is given it (inferring it again parsed a 10k-row partition whole on each
    /// scan).
    schema: Option<SchemaRef>,
    /// The whole file as [`read`] reads it, when the first read covered every row (a
    /// partition of at most [`INFER_ROWS`] rows): the next whole read takes it instead of
    /// parsing the file a second time. Shared by the clones of this value, taken once.
    whole: std::sync::Arc<std::sync::Mutex<Option<DataFrame>>>,
}

impl Prepared {
    fn take_whole(&self) -> Option<DataFrame> {
        self.whole.lock().ok()?.take()
    }
}

/// Rows of a CSV file its schema is inferred from (polars' `infer_schema_length`).
const INFER_ROWS: usize = 10_000;

/// Rows a first, quick inference looks at (polars' default): inferring from all
/// [`INFER_ROWS`] rows runs three regular expressions on every field, 22 ms for a
/// 10k-row, 24-column file, four times the time of reading it.
const QUICK_INFER_ROWS: usize = 100;

/// Learns how to read a CSV file, from its first [`INFER_ROWS`] rows: the schema polars
/// infers from them, whether dates must be tried, and the text columns that hold numbers.
///
/// The schema is inferred from the first [`QUICK_INFER_ROWS`] rows, then those rows are
/// read with it: when every value parses, the inference from all of them gives the
/// same schema (a later value of another type would have failed to parse), except for a
/// column that is empty in the first rows only (read as text). Then, and on a value
/// that does not parse, the inference looks at all of them, as before.
pub(super) fn prepare(path: &str) -> PolarsResult<Prepared> {
    let head = |infer: usize, dates: bool, schema: Option<SchemaRef>| {
        CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(infer))
            .with_schema(schema)
            // one row more than is looked at: fewer rows read means the file was read whole
            .with_n_rows(Some(INFER_ROWS + 1))
            .with_raise_if_empty(true)
            .with_parse_options(CsvParseOptions::default().with_try_parse_dates(dates))
            .try_into_reader_with_file_path(Some(path.into()))?
            .finish()
    };
    let quick = head(QUICK_INFER_ROWS, false, None).ok().filter(|df| {
        let first = df.height().min(QUICK_INFER_ROWS);
        df.columns().iter().all(|c| {
            c.dtype() != &DataType::String
                || c.null_count() == c.len()
                || c.slice(0, first).null_count() < first
        })
    });
    let mut df = match quick {
        Some(df) => df,
        None => head(INFER_ROWS, false, None)?,
    };
    let dates = values::may_hold_dates(&df)?;
    if dates {
        df = head(INFER_ROWS, true, None)?;
    }
    let whole = df.height() <= INFER_ROWS;
    Ok(Prepared {
        numeric: values::numeric_text_columns(&df)?,
        dates,
        schema: Some(df.schema().clone()),
        whole: std::sync::Arc::new(std::sync::Mutex::new(whole.then_some(df))),
    })
}

/// A lazy scan of the file at `path`, its text columns of numbers read as numbers.
pub(super) fn scan(path: &str, prepared: &Prepared) -> PolarsResult<LazyFrame> {
    let lf = LazyCsvReader::new(PlRefPath::new(path))
        .with_has_header(true)
        .with_infer_schema_length(Some(INFER_ROWS))
        .with_try_parse_dates(prepared.dates)
        .with_schema(prepared.schema.clone())
        .with_raise_if_empty(true)
        .finish()?;
    Ok(numbers(lf, prepared, |_| true))
}

/// Files up to this size are read whole by [`read`] rather than scanned: polars'
/// reader of a whole file takes 5.8 ms for a 10k-row, 24-column partition where the
/// streaming scan takes 10 (it counts the lines first).
pub(super) const READ_WHOLE_BYTES: u64 = 64 << 20;

/// The columns `names` of the whole file at `path`, read at once, as [`scan`] sees
/// them; `None` when the file could not be prepared (then [`scan`] reports why).
pub(super) fn read(
    path: &str,
    prepared: &Prepared,
    names: &[PlSmallStr],
) -> Option<PolarsResult<LazyFrame>> {
    let schema = prepared.schema.clone()?;
    if let Some(df) = prepared.take_whole() {
        // the rows the first read parsed, with the schema it inferred: what this read gives
        let lf = df
            .lazy()
            .select(names.iter().map(|n| col(n.clone())).collect::<Vec<_>>());
        return Some(Ok(numbers(lf, prepared, |c| names.iter().any(|n| n == c))));
    }
    let read = || -> PolarsResult<LazyFrame> {
        let df = CsvReadOptions::default()
            .with_has_header(true)
            .with_schema(Some(schema))
            .with_columns(Some(names.into()))
            .with_raise_if_empty(true)
            .with_parse_options(CsvParseOptions::default().with_try_parse_dates(prepared.dates))
            .try_into_reader_with_file_path(Some(path.into()))?
            .finish()?;
        Ok(numbers(df.lazy(), prepared, |c| {
            names.iter().any(|n| n == c)
        }))
    };
    Some(read())
}

/// `lf` with the prepared text columns of numbers (those `keep` keeps) as numbers.
fn numbers(lf: LazyFrame, prepared: &Prepared, keep: impl Fn(&str) -> bool) -> LazyFrame {
    let exprs: Vec<Expr> = prepared
        .numeric
        .iter()
        .filter(|c| keep(c))
        .map(|c| as_number(c))
        .collect();
    if exprs.is_empty() {
        lf
    } else {
        lf.with_columns(exprs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ColumnKind;
    use crate::data::{DataFile, FileFormat};

    fn file(dir: &std::path::Path, rows: usize) -> DataFile {
        let mut text = String::from("x,n,c,d\n");
        for i in 0..rows {
            let x = if i % 7 == 0 {
                String::new()
            } else {
                format!("{}.5", i % 100)
            };
            let n = if i % 11 == 0 {
                "NA".to_string()
            } else {
                (i % 13).to_string()
            };
            text.push_str(&format!("{x},{n},c{},2024-01-{:02}\n", i % 5, 1 + i % 28));
        }
        let abs = dir.join(format!("part-{rows}.csv"));
        std::fs::write(&abs, &text).unwrap();
        DataFile {
            rel: format!("part-{rows}.csv"),
            abs,
            format: FileFormat::Csv,
            size: text.len() as u64,
            prepared: Default::default(),
        }
    }

    #[test]
    fn a_small_file_is_parsed_once_and_reads_as_a_second_parse_does() {
        let dir = tempfile::tempdir().unwrap();
        let columns = [
            ("x".to_string(), ColumnKind::Numeric),
            ("n".to_string(), ColumnKind::Numeric),
            ("c".to_string(), ColumnKind::Categorical),
            ("d".to_string(), ColumnKind::Datetime),
        ];
        for (rows, whole) in [(INFER_ROWS, true), (INFER_ROWS + 1, false)] {
            let f = file(dir.path(), rows);
            f.schema().unwrap();
            let prepared = f.prepared.get().unwrap().clone();
            assert_eq!(
                prepared.whole.lock().unwrap().is_some(),
                whole,
                "{rows} rows"
            );
            let first = f.read_columns(&columns, None).unwrap();
            assert!(prepared.whole.lock().unwrap().is_none(), "taken once");
            let again = f.read_columns(&columns, None).unwrap();
            assert_eq!(first.height(), rows);
            assert!(
                first.equals_missing(&again),
                "{rows} rows: {first} vs {again}"
            );
            assert_eq!(first.column("d").unwrap().dtype(), &DataType::Date);
            assert_eq!(first.column("n").unwrap().null_count(), rows.div_ceil(11));
        }
    }
}
