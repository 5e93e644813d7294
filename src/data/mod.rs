//! Data sources: resolve a model's `data:` to files inside the repository, or to
//! objects of an object store or web server ([`remote`], copied into the git-ignored
//! [`cache`]), and read them with polars. Owns path safety (nothing outside the
//! repository is read) and the mapping from polars dtypes to retrain's column kinds.
//! It writes only into `.retrain/cache/`.

pub mod atomic;
pub mod cache;
mod csv;
pub mod remote;
pub mod synth;
pub(crate) mod values;

pub use values::{category_key, guard_truncated_files, MAX_CATEGORY_BYTES};

use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::config::{ColumnKind, DataFormat, DataSource};

/// One data file of a source.
#[derive(Debug, Clone)]
pub struct DataFile {
    /// Path relative to the repository root, with `/` separators.
    pub rel: String,
    pub abs: PathBuf,
    pub format: FileFormat,
    pub size: u64,
    /// Learned once per file, before its first scan: for a CSV file, the text columns
    /// that hold numbers and missing-value texts only, and whether any could be a date;
    /// for Parquet, that its footer was checked (empty).
    pub(crate) prepared: std::sync::OnceLock<csv::Prepared>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Csv,
    Parquet,
}

/// Problems with the data that the user must fix.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("data.path `{pattern}` matched no files under {root}")]
    NoMatch { pattern: String, root: PathBuf },
    #[error("`{path}` is outside the repository {root}")]
    OutsideRepo { path: String, root: PathBuf },
    #[error("`{pattern}` is not a valid glob: {message}")]
    BadGlob { pattern: String, message: String },
    #[error("data source `{source_kind}` is not supported yet")]
    Unsupported { source_kind: String },
    #[error("`{url}`: {message}")]
    Remote {
        url: String,
        message: String,
        hint: remote::RemoteHint,
    },
    #[error("`{path}`: cannot tell the format from the extension")]
    UnknownFormat { path: String },
    #[error("`{path}`: {message}")]
    Read { path: String, message: String },
    #[error("`{path}` is empty")]
    Empty { path: String },
    #[error("`{path}` changed while it was being read (it was replaced, truncated or written to); nothing was recorded: run again once it is complete")]
    Changed { path: String },
    #[error("`{path}` has no column `{column}` (declared as {role} in the config)")]
    MissingColumn {
        path: String,
        column: String,
        role: String,
        available: Vec<String>,
    },
    #[error("`{path}`: columns differ from `{first}`: {detail}")]
    SchemaMismatch {
        path: String,
        first: String,
        detail: String,
    },
    #[error("`{path}`: column `{column}` is {dtype}, which retrain cannot use")]
    UnsupportedType {
        path: String,
        column: String,
        dtype: String,
    },
    #[error("`{path}`: column `{column}` cannot be read as {kind}: {message}")]
    BadOverride {
        path: String,
        column: String,
        kind: ColumnKind,
        message: String,
    },
}

impl DataError {
    pub fn hint(&self) -> Option<String> {
        match self {
            DataError::NoMatch { .. } => Some("check `data.path` in retrain.yaml; globs are relative to the repository root (`--repo`)".into()),
            DataError::OutsideRepo { .. } => Some("data must live inside the repository; copy or link it in".into()),
            DataError::Unsupported { .. } => Some("use `data: { path: ... }` with CSV or Parquet files".into()),
            DataError::Remote { hint, url, .. } => Some(hint.text(url)),
            DataError::UnknownFormat { .. } => Some("name files `.csv` or `.parquet`, or set `data.format`".into()),
            DataError::Read { path, .. } => Some(match format_of(path) {
                Some(FileFormat::Parquet) => "the Parquet file is damaged or incomplete (a truncated upload or copy?): write it again, or remove it".into(),
                _ => "fix or remove the file; a CSV needs a header and the same number of fields on every row".into(),
            }),
            DataError::Changed { .. } => Some("write data files elsewhere and rename them into place, so that readers only ever see whole files".into()),
            DataError::Empty { .. } => Some("remove the empty file or fill it".into()),
            DataError::MissingColumn { column, available, .. } => {
                match crate::config::did_you_mean(column, available.iter().map(String::as_str)) {
                    Some(s) => Some(format!("did you mean `{s}`? columns: {}", available.join(", "))),
                    None => Some(format!("columns in the file: {}", available.join(", "))),
                }
            }
            DataError::SchemaMismatch { .. } => Some("all partitions of a source must have the same columns".into()),
            DataError::UnsupportedType { .. } => Some("add the column to `ignore`".into()),
            DataError::BadOverride { .. } => Some("fix the value or change `column_types`".into()),
            DataError::BadGlob { .. } => None,
        }
    }
}

/// The files of a source, sorted by relative path.
pub fn resolve(repo: &Path, source: &DataSource) -> Result<Vec<DataFile>, DataError> {
    match source {
        DataSource::Files { pattern, format } => resolve_pattern(repo, pattern, *format),
        DataSource::Dvc { file, format } => {
            let mut files = Vec::new();
            for pattern in dvc_outputs(repo, file)? {
                files.extend(resolve_pattern(repo, &pattern, *format)?);
            }
            files.sort_by(|a, b| a.rel.cmp(&b.rel));
            files.dedup_by(|a, b| a.rel == b.rel);
            Ok(files)
        }
        DataSource::Url { url, format } => {
            let listing = remote::list(url, *format)?;
            materialize(repo, &listing)
        }
    }
}

/// The objects of a listing as local files (from the cache, or downloaded into it), named
/// by their URLs.
pub fn materialize(repo: &Path, listing: &remote::Listing) -> Result<Vec<DataFile>, DataError> {
    let cache = cache::ObjectCache::new(repo);
    listing
        .objects
        .iter()
        .map(|o| {
            let (abs, _) = cache.materialize(listing, o)?;
            Ok(DataFile {
                rel: o.name.clone(),
                abs,
                format: o.format,
                size: o.size,
                prepared: Default::default(),
            })
        })
        .collect()
}

/// The outputs a `.dvc` file tracks, as patterns relative to the repository root
/// (a tracked directory becomes `dir/**/*`). The data itself must be checked out
/// (`dvc pull`); retrain hashes the files, it does not read DVC's cache.
fn dvc_outputs(repo: &Path, dvc_file: &str) -> Result<Vec<String>, DataError> {
    #[derive(serde::Deserialize)]
    struct DvcFile {
        outs: Vec<DvcOut>,
    }
    #[derive(serde::Deserialize)]
    struct DvcOut {
        path: String,
        #[serde(default)]
        md5: Option<String>,
    }
    let read_err = |message: String| DataError::Read {
        path: dvc_file.to_string(),
        message,
    };
    let text = std::fs::read_to_string(repo.join(dvc_file))
        .map_err(|e| read_err(format!("cannot read the .dvc file: {e}")))?;
    let parsed: DvcFile =
        serde_yaml::from_str(&text).map_err(|e| read_err(format!("not a .dvc file: {e}")))?;
    let dir = Path::new(dvc_file)
        .parent()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut out = Vec::new();
    for o in parsed.outs {
        let rel = if dir.is_empty() {
            o.path.clone()
        } else {
            format!("{dir}/{}", o.path)
        };
        crate::config::check_path_inside(&rel).map_err(|_| DataError::OutsideRepo {
            path: rel.clone(),
            root: repo.to_path_buf(),
        })?;
        let full = repo.join(&rel);
        let is_dir = o.md5.as_deref().is_some_and(|m| m.ends_with(".dir")) || full.is_dir();
        if !full.exists() {
            return Err(read_err(format!(
                "`{rel}` is tracked by DVC but not checked out; run `dvc pull` first"
            )));
        }
        out.push(if is_dir {
            format!("{}/**/*", rel.trim_end_matches('/'))
        } else {
            rel
        });
    }
    Ok(out)
}

fn resolve_pattern(
    repo: &Path,
    pattern: &String,
    format: DataFormat,
) -> Result<Vec<DataFile>, DataError> {
    let root = repo.canonicalize().map_err(|e| DataError::Read {
        path: repo.display().to_string(),
        message: format!("cannot open the repository directory: {e}"),
    })?;
    crate::config::check_path_inside(pattern).map_err(|_| DataError::OutsideRepo {
        path: pattern.clone(),
        root: root.clone(),
    })?;
    let full = root.join(pattern);
    let full = full.to_str().ok_or_else(|| DataError::BadGlob {
        pattern: pattern.clone(),
        message: "the repository path is not UTF-8".into(),
    })?;
    let escaped_root = glob::Pattern::escape(root.to_str().unwrap_or_default());
    let glob_text = format!(
        "{escaped_root}{}",
        &full[root.to_str().unwrap_or_default().len()..]
    );
    let entries = glob::glob(&glob_text).map_err(|e| DataError::BadGlob {
        pattern: pattern.clone(),
        message: e.to_string(),
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| DataError::Read {
            path: e.path().display().to_string(),
            message: e.error().to_string(),
        })?;
        if !path.is_file() {
            continue;
        }
        // Symlinks may point anywhere: check where the file really is.
        let real = path.canonicalize().map_err(|e| DataError::Read {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let rel_path = path.strip_prefix(&root).unwrap_or(&path).to_path_buf();
        let rel = rel_path
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        if !real.starts_with(&root) {
            return Err(DataError::OutsideRepo { path: rel, root });
        }
        let size = real
            .metadata()
            .map_err(|e| DataError::Read {
                path: rel.clone(),
                message: e.to_string(),
            })?
            .len();
        let format = match format {
            DataFormat::Csv => FileFormat::Csv,
            DataFormat::Parquet => FileFormat::Parquet,
            DataFormat::Auto => {
                format_of(&rel).ok_or_else(|| DataError::UnknownFormat { path: rel.clone() })?
            }
        };
        files.push(DataFile {
            rel,
            abs: real,
            format,
            size,
            prepared: Default::default(),
        });
    }
    if files.is_empty() {
        return Err(DataError::NoMatch {
            pattern: pattern.clone(),
            root,
        });
    }
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    files.dedup_by(|a, b| a.rel == b.rel);
    Ok(files)
}

/// The format a file name says (`.csv`, `.parquet`, `.pq`).
pub fn format_of(path: &str) -> Option<FileFormat> {
    let lower = path.to_ascii_lowercase();
    if lower.ends_with(".csv") {
        Some(FileFormat::Csv)
    } else if lower.ends_with(".parquet") || lower.ends_with(".pq") {
        Some(FileFormat::Parquet)
    } else {
        None
    }
}

/// What the file system says about a file: equal stamps before and after reading mean
/// the bytes read are the bytes that were hashed (a replaced file has another inode, a
/// rewritten one another size or modification time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
    inode: (u64, u64),
    /// The inode's change time (seconds, nanoseconds): set by the kernel on every write
    /// and metadata change, and unlike the modification time not settable by a user.
    changed: Option<(i64, i64)>,
}

impl FileStamp {
    /// The stamp as text (device, inode, size, modification and change times in
    /// nanoseconds), when the platform gives all of them: what a content-hash cache is
    /// keyed by, as git's index is.
    pub fn key(&self) -> Option<String> {
        let modified = self.modified?.duration_since(std::time::UNIX_EPOCH).ok()?;
        let (cs, cn) = self.changed?;
        let (dev, ino) = self.inode;
        Some(format!(
            "{dev}:{ino}:{}:{}:{cs}.{cn:09}",
            self.len,
            modified.as_nanos()
        ))
    }

    /// Whether the file was last written or changed at least `margin` before `t`: a file
    /// written within the timestamps' granularity of its hashing could be written again
    /// with the same stamp, so its hash is not kept by stamp (git's "racily clean").
    pub fn settled_before(&self, t: std::time::SystemTime, margin: std::time::Duration) -> bool {
        let Some(limit) = t.checked_sub(margin) else {
            return false;
        };
        let changed = self.changed.and_then(|(s, n)| {
            let d = std::time::Duration::new(u64::try_from(s).ok()?, u32::try_from(n).ok()?);
            std::time::UNIX_EPOCH.checked_add(d)
        });
        matches!((self.modified, changed), (Some(m), Some(c)) if m <= limit && c <= limit)
    }
}

impl DataFile {
    /// The file's stamp now.
    pub fn stamp(&self) -> Result<FileStamp, DataError> {
        let m = std::fs::metadata(&self.abs).map_err(|e| DataError::Read {
            path: self.rel.clone(),
            message: e.to_string(),
        })?;
        #[cfg(unix)]
        let inode = {
            use std::os::unix::fs::MetadataExt;
            (m.dev(), m.ino())
        };
        #[cfg(not(unix))]
        let inode = (0, 0);
        #[cfg(unix)]
        let changed = {
            use std::os::unix::fs::MetadataExt;
            Some((m.ctime(), m.ctime_nsec()))
        };
        #[cfg(not(unix))]
        let changed = None;
        Ok(FileStamp {
            len: m.len(),
            modified: m.modified().ok(),
            inode,
            changed,
        })
    }

    /// Fails with [`DataError::Changed`] when the file is no longer what `before` saw.
    pub fn unchanged_since(&self, before: &FileStamp) -> Result<(), DataError> {
        match self.stamp() {
            Ok(now) if now == *before => Ok(()),
            _ => Err(DataError::Changed {
                path: self.rel.clone(),
            }),
        }
    }

    fn read_error(&self, e: impl std::fmt::Display) -> DataError {
        DataError::Read {
            path: self.rel.clone(),
            message: clean_polars_message(&e.to_string()),
        }
    }

    /// A lazy scan of the whole file.
    pub fn scan(&self) -> Result<LazyFrame, DataError> {
        if self.size == 0 {
            return Err(DataError::Empty {
                path: self.rel.clone(),
            });
        }
        let path = self.abs.to_str().ok_or_else(|| DataError::Read {
            path: self.rel.clone(),
            message: "path is not UTF-8".into(),
        })?;
        let prepared = self.prepared(path)?;
        let lf = match self.format {
            FileFormat::Csv => csv::scan(path, &prepared),
            FileFormat::Parquet => {
                LazyFrame::scan_parquet(PlRefPath::new(path), ScanArgsParquet::default())
            }
        };
        lf.map_err(|e| self.read_error(e))
    }

    /// What the file's first scan learned (see [`csv::Prepared`]), learned once.
    fn prepared(&self, path: &str) -> Result<csv::Prepared, DataError> {
        if let Some(p) = self.prepared.get() {
            return Ok(p.clone());
        }
        let found = match self.format {
            // a file that cannot be prepared is scanned as polars alone would, which
            // then reports the problem
            FileFormat::Csv => self.guarded(|| csv::prepare(path))?.unwrap_or_default(),
            FileFormat::Parquet => {
                self.check_parquet_footer()?;
                csv::Prepared::default()
            }
        };
        let _ = self.prepared.set(found.clone());
        Ok(found)
    }

    /// Refuses a Parquet file whose footer places column chunks outside the file
    /// (damaged, or crafted): polars' reader slices the file by those ranges without
    /// checking them (found by `tests/all/fuzz.rs`: an out-of-bounds slice, an abort).
    fn check_parquet_footer(&self) -> Result<(), DataError> {
        let file = std::fs::File::open(&self.abs).map_err(|e| self.read_error(e))?;
        let len = file.metadata().map_err(|e| self.read_error(e))?.len();
        let mut reader = ParquetReader::new(file);
        // polars' footer parser panics on some malformed footers ("thrift bool field")
        let meta = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            reader.get_metadata().cloned()
        }))
        .map_err(|_| DataError::Read {
            path: self.rel.clone(),
            message: "parquet: the footer (file metadata) cannot be read: the file is damaged"
                .into(),
        })?
        .map_err(|e| self.read_error(e))?;
        for (i, group) in meta.row_groups.iter().enumerate() {
            let outside = |r: &std::ops::Range<u64>| r.start > r.end || r.end > len;
            if outside(&group.full_byte_range()) || group.byte_ranges_iter().any(|r| outside(&r)) {
                return Err(DataError::Read {
                    path: self.rel.clone(),
                    message: format!(
                        "parquet: row group {i} points outside the file ({len} bytes): the file is damaged"
                    ),
                });
            }
        }
        Ok(())
    }

    /// Runs a polars read, turning a panic inside polars into an error: its Parquet and
    /// CSV readers assert on some damaged input instead of failing (found by
    /// `tests/all/fuzz.rs`; e.g. "assertion failed: self.total_num_values >= 0").
    fn guarded<T>(&self, read: impl FnOnce() -> T) -> Result<T, DataError> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)).map_err(|panic| {
            let detail = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            DataError::Read {
                path: self.rel.clone(),
                message: format!("the file is damaged (the reader gave up: {detail})"),
            }
        })
    }

    /// The columns `sources` of a small CSV file, read whole ([`csv::read`]); `None`
    /// for other files, which are scanned.
    fn read_whole_csv<'a>(
        &self,
        sources: impl Iterator<Item = &'a str>,
    ) -> Result<Option<PolarsResult<LazyFrame>>, DataError> {
        if self.format != FileFormat::Csv || self.size == 0 || self.size > csv::READ_WHOLE_BYTES {
            return Ok(None);
        }
        let Some(path) = self.abs.to_str() else {
            return Ok(None);
        };
        let prepared = self.prepared(path)?;
        let mut names: Vec<PlSmallStr> = Vec::new();
        for name in sources {
            let name = PlSmallStr::from_str(name);
            if !names.contains(&name) {
                names.push(name);
            }
        }
        self.guarded(|| csv::read(path, &prepared, &names))
    }

    /// Column names and dtypes, without reading the data.
    pub fn schema(&self) -> Result<Schema, DataError> {
        let mut lf = self.scan()?;
        let schema = self
            .guarded(|| lf.collect_schema())?
            .map_err(|e| self.read_error(e))?;
        if schema.is_empty() {
            return Err(DataError::Empty {
                path: self.rel.clone(),
            });
        }
        Ok(schema.as_ref().clone())
    }

    /// Number of rows (cheap for Parquet: read from the footer).
    pub fn row_count(&self) -> Result<u64, DataError> {
        let lf = self.scan()?.select([len()]);
        let df = self
            .guarded(|| lf.collect())?
            .map_err(|e| self.read_error(e))?;
        let n = df
            .column("len")
            .ok()
            .and_then(|c| c.get(0).ok())
            .and_then(|v| v.extract::<u64>())
            .unwrap_or(0);
        Ok(n)
    }

    /// Reads `columns` of the whole file into memory, converted to their kinds
    /// (numeric -> Float64, categorical -> String, datetime -> as is).
    /// `filter`, when given, keeps only the rows it selects.
    pub fn read_columns(
        &self,
        columns: &[(String, ColumnKind)],
        filter: Option<Expr>,
    ) -> Result<DataFrame, DataError> {
        self.read_exprs(columns, Vec::new(), filter)
    }

    /// [`Self::read_columns`] plus extra computed columns (`extra`: the column each is
    /// computed from, and the expression, already aliased).
    pub fn read_exprs(
        &self,
        columns: &[(String, ColumnKind)],
        extra: Vec<(String, Expr)>,
        filter: Option<Expr>,
    ) -> Result<DataFrame, DataError> {
        let mut exprs: Vec<Expr> = columns
            .iter()
            .map(|(name, kind)| match kind {
                ColumnKind::Numeric => col(name.as_str()).strict_cast(DataType::Float64),
                ColumnKind::Categorical => col(name.as_str()).strict_cast(DataType::String),
                ColumnKind::Datetime => col(name.as_str()),
            })
            .collect();
        let names = columns.iter().map(|(n, _)| n.as_str());
        let sources = names.chain(extra.iter().map(|(n, _)| n.as_str()));
        let read = match filter {
            None => self.read_whole_csv(sources)?,
            Some(_) => None,
        };
        exprs.extend(extra.into_iter().map(|(_, e)| e));
        let lf = match read {
            Some(lf) => lf,
            None => {
                let lf = self.scan()?;
                Ok(match filter {
                    Some(f) => lf.filter(f),
                    None => lf,
                })
            }
        };
        let collected = match lf {
            Ok(lf) => {
                let lf = lf.select(exprs);
                self.guarded(|| lf.collect())?
            }
            Err(e) => Err(e),
        };
        collected.map_err(|e| {
            let message = clean_polars_message(&e.to_string());
            // A failed cast names its column; report it as a type problem.
            if let Some((name, kind)) = columns.iter().find(|(n, _)| {
                message.contains(&format!("'{n}'")) || message.contains(&format!("\"{n}\""))
            }) {
                if message.contains("conversion") || message.contains("cast") {
                    return DataError::BadOverride {
                        path: self.rel.clone(),
                        column: name.clone(),
                        kind: *kind,
                        message,
                    };
                }
            }
            DataError::Read {
                path: self.rel.clone(),
                message,
            }
        })
    }
}

/// Appends the non-null values of a Float64 column to `values` (one copy per chunk
/// when the chunk has no nulls).
pub fn extend_non_null(values: &mut Vec<f64>, series: &Series) -> PolarsResult<()> {
    for arr in series.f64()?.downcast_iter() {
        match arr.validity() {
            None => values.extend_from_slice(arr.values().as_slice()),
            Some(_) => values.extend(arr.iter().flatten().copied()),
        }
    }
    Ok(())
}

/// The logical kind of a polars dtype; `None` for types retrain cannot use.
pub fn kind_of(dtype: &DataType) -> Option<ColumnKind> {
    if dtype.is_primitive_numeric() {
        Some(ColumnKind::Numeric)
    } else if dtype.is_bool()
        || dtype.is_string()
        || matches!(dtype, DataType::Categorical(..) | DataType::Enum(..))
    {
        Some(ColumnKind::Categorical)
    } else if matches!(dtype, DataType::Date | DataType::Datetime(..)) {
        Some(ColumnKind::Datetime)
    } else {
        None
    }
}

/// Whether a column of `dtype` can be read as `kind` (a `column_types` override).
pub fn can_convert(dtype: &DataType, kind: ColumnKind) -> bool {
    match kind {
        ColumnKind::Numeric => dtype.is_primitive_numeric() || dtype.is_bool() || dtype.is_string(),
        ColumnKind::Categorical => kind_of(dtype).is_some(),
        ColumnKind::Datetime => matches!(dtype, DataType::Date | DataType::Datetime(..)),
    }
}

/// polars errors carry backtrace hints and multi-line context; keep the first line.
fn clean_polars_message(message: &str) -> String {
    let first = message
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(message)
        .trim();
    first.to_string()
}
