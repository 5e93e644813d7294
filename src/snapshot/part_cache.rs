//! Each file's column parts, kept outside git in `.retrain/cache/profiles/<key>.json` so
//! that a snapshot profiles only the files it has not seen: `key` is the BLAKE3 hash of
//! the file's content hash and of the columns profiled (names, kinds, dtypes), so a file
//! profiled as other columns, or other bytes under the same name, are never mixed up.
//! Parts merge in file order exactly as freshly computed ones do, so a snapshot made from
//! cached parts equals one made from scratch (tested). A damaged or stale entry is
//! ignored and written again.
//!
//! A file's schema is kept beside (`schemas/<content hash>.json`): a CSV file's schema is
//! inferred by parsing its first rows, which a snapshot would otherwise do again for every
//! file of the history just to check that the partitions agree.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use polars::prelude::{DataType, Schema, TimeUnit};
use serde::{Deserialize, Serialize};

use super::part::Part;

/// Bumped whenever a part's meaning changes: older entries are then not read.
const FORMAT: u32 = 1;

#[derive(Deserialize)]
struct Entry {
    format: u32,
    rows: u64,
    parts: Vec<Part>,
}

/// [`Entry`] as written: the parts borrowed (a file's parts are a megabyte or two).
#[derive(Serialize)]
struct EntryRef<'a> {
    format: u32,
    rows: u64,
    parts: &'a [Part],
}

pub struct PartCache {
    dir: PathBuf,
    columns: String,
}

impl PartCache {
    /// The cache for files profiled as `columns` (name, kind, dtype, in order).
    pub fn new(repo: &Path, columns: &[(String, String, String)]) -> Self {
        let mut plan = String::new();
        for (name, kind, dtype) in columns {
            plan.push_str(&format!("{name}\0{kind}\0{dtype}\n"));
        }
        PartCache {
            dir: repo.join(".retrain/cache/profiles"),
            columns: plan,
        }
    }

    fn path(&self, content: &str) -> PathBuf {
        let key = blake3::hash(format!("{FORMAT}\0{content}\0{}", self.columns).as_bytes());
        self.dir.join(format!("{}.json", key.to_hex()))
    }

    /// The rows and parts of the file with content hash `content`, if kept.
    pub fn get(&self, content: &str, columns: usize) -> Option<(u64, Vec<Part>)> {
        let bytes = std::fs::read(self.path(content)).ok()?;
        let entry: Entry = serde_json::from_slice(&bytes).ok()?;
        (entry.format == FORMAT && entry.parts.len() == columns)
            .then_some((entry.rows, entry.parts))
    }

    /// Keeps a file's parts; a cache that cannot be written only costs time later.
    pub fn put(&self, content: &str, rows: u64, parts: &[Part]) {
        let entry = EntryRef {
            format: FORMAT,
            rows,
            parts,
        };
        keep(
            self.dir.parent().expect("under the cache"),
            &self.path(content),
            &entry,
            "the profile of a file",
        );
    }
}

/// Writes `value` as JSON to `path` inside the cache directory `cache` (kept git-ignored);
/// a cache that cannot be written only costs time later, so a failure is logged, not
/// returned.
fn keep(cache: &Path, path: &Path, value: &impl Serialize, what: &str) {
    let written = serde_json::to_vec(value)
        .map_err(std::io::Error::other)
        .and_then(|b| {
            crate::data::cache::ensure_ignored(cache)?;
            crate::data::atomic::write_atomic(path, &b)
        });
    if let Err(e) = written {
        tracing::debug!(error = %e, "{what} was not cached");
    }
}

/// The merged parts of a snapshot's files, in order, and each file's rows, kept under
/// `.retrain/cache/profiles/prefix-<key>.json`: a later snapshot whose first files are
/// the same (by path and content, in order) starts from them and profiles and merges only
/// the files after. `key` chains the column plan and every (path, content hash) of the
/// prefix, so it names exactly that history. With the bounded levels of
/// [`super::summary`] this state is of a size independent of the number of files.
pub struct PrefixCache {
    dir: PathBuf,
    columns: String,
}

#[derive(Deserialize)]
struct PrefixEntry {
    format: u32,
    rows: Vec<u64>,
    parts: Vec<Part>,
}

#[derive(Serialize)]
struct PrefixEntryRef<'a> {
    format: u32,
    rows: &'a [u64],
    parts: &'a [Part],
}

impl PrefixCache {
    pub fn new(repo: &Path, columns: &[(String, String, String)]) -> Self {
        let parts = PartCache::new(repo, columns);
        PrefixCache {
            dir: parts.dir,
            columns: parts.columns,
        }
    }

    /// The key of every prefix: `keys[k]` names the first `k + 1` files.
    pub fn keys<'a>(&self, files: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<String> {
        let mut key = blake3::hash(format!("prefix {FORMAT}\0{}", self.columns).as_bytes());
        files
            .map(|(path, content)| {
                let mut h = blake3::Hasher::new();
                h.update(key.as_bytes());
                h.update(path.as_bytes());
                h.update(b"\0");
                h.update(content.as_bytes());
                key = h.finalize();
                key.to_hex().to_string()
            })
            .collect()
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("prefix-{key}.json"))
    }

    /// The longest kept prefix among `keys` with `columns` parts: its length, the rows of
    /// its files and its merged parts.
    pub fn longest(&self, keys: &[String], columns: usize) -> Option<(usize, Vec<u64>, Vec<Part>)> {
        keys.iter().enumerate().rev().find_map(|(i, key)| {
            let path = self.path(key);
            if !path.is_file() {
                return None;
            }
            let entry: PrefixEntry = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
            (entry.format == FORMAT && entry.rows.len() == i + 1 && entry.parts.len() == columns)
                .then_some((i + 1, entry.rows, entry.parts))
        })
    }

    /// Keeps the merged parts of the files `key` names; a cache that cannot be written
    /// only costs time later.
    pub fn put(&self, key: &str, rows: &[u64], parts: &[Part]) {
        let entry = PrefixEntryRef {
            format: FORMAT,
            rows,
            parts,
        };
        keep(
            self.dir.parent().expect("under the cache"),
            &self.path(key),
            &entry,
            "the merged profile of the files",
        );
    }

    /// Forgets a prefix that a longer one replaces.
    pub fn remove(&self, key: &str) {
        let _ = std::fs::remove_file(self.path(key));
    }
}

/// The schemas of files by content hash, under `.retrain/cache/schemas/`.
pub struct SchemaCache {
    dir: PathBuf,
}

impl SchemaCache {
    pub fn new(repo: &Path) -> Self {
        SchemaCache {
            dir: repo.join(".retrain/cache/schemas"),
        }
    }

    fn path(&self, content: &str, csv: bool) -> PathBuf {
        let ext = if csv { "csv" } else { "parquet" };
        self.dir.join(format!("{FORMAT}-{content}-{ext}.json"))
    }

    pub fn get(&self, content: &str, csv: bool) -> Option<Schema> {
        let bytes = std::fs::read(self.path(content, csv)).ok()?;
        let columns: Vec<(String, String)> = serde_json::from_slice(&bytes).ok()?;
        columns
            .into_iter()
            .map(|(name, t)| Some((name.into(), dtype_from_text(&t)?)))
            .collect::<Option<Schema>>()
    }

    /// Keeps a schema whose every type can be written down (else nothing: inferred again).
    pub fn put(&self, content: &str, csv: bool, schema: &Schema) {
        let Some(columns) = schema
            .iter()
            .map(|(n, t)| Some((n.to_string(), dtype_text(t)?)))
            .collect::<Option<Vec<(String, String)>>>()
        else {
            return;
        };
        keep(
            self.dir.parent().expect("under the cache"),
            &self.path(content, csv),
            &columns,
            "the schema of a file",
        );
    }
}

/// The types a CSV or Parquet file's columns have that retrain reads, as text.
fn dtype_text(t: &DataType) -> Option<String> {
    Some(
        match t {
            DataType::Boolean => "bool",
            DataType::Int8 => "i8",
            DataType::Int16 => "i16",
            DataType::Int32 => "i32",
            DataType::Int64 => "i64",
            DataType::UInt8 => "u8",
            DataType::UInt16 => "u16",
            DataType::UInt32 => "u32",
            DataType::UInt64 => "u64",
            DataType::Float32 => "f32",
            DataType::Float64 => "f64",
            DataType::String => "str",
            DataType::Date => "date",
            DataType::Time => "time",
            DataType::Datetime(TimeUnit::Nanoseconds, None) => "datetime[ns]",
            DataType::Datetime(TimeUnit::Microseconds, None) => "datetime[us]",
            DataType::Datetime(TimeUnit::Milliseconds, None) => "datetime[ms]",
            _ => return None,
        }
        .to_string(),
    )
}

fn dtype_from_text(t: &str) -> Option<DataType> {
    Some(match t {
        "bool" => DataType::Boolean,
        "i8" => DataType::Int8,
        "i16" => DataType::Int16,
        "i32" => DataType::Int32,
        "i64" => DataType::Int64,
        "u8" => DataType::UInt8,
        "u16" => DataType::UInt16,
        "u32" => DataType::UInt32,
        "u64" => DataType::UInt64,
        "f32" => DataType::Float32,
        "f64" => DataType::Float64,
        "str" => DataType::String,
        "date" => DataType::Date,
        "time" => DataType::Time,
        "datetime[ns]" => DataType::Datetime(TimeUnit::Nanoseconds, None),
        "datetime[us]" => DataType::Datetime(TimeUnit::Microseconds, None),
        "datetime[ms]" => DataType::Datetime(TimeUnit::Milliseconds, None),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_written_type_reads_back() {
        for t in [
            DataType::Boolean,
            DataType::Int8,
            DataType::Int64,
            DataType::UInt32,
            DataType::Float32,
            DataType::Float64,
            DataType::String,
            DataType::Date,
            DataType::Time,
            DataType::Datetime(TimeUnit::Microseconds, None),
            DataType::Datetime(TimeUnit::Nanoseconds, None),
        ] {
            assert_eq!(dtype_from_text(&dtype_text(&t).unwrap()), Some(t));
        }
        assert_eq!(dtype_text(&DataType::Null), None);
    }
}

/// Files' content hashes by stamp, in `.retrain/cache/hashes.json`: a file whose stamp
/// (device, inode, size, modification and change times) is the one recorded with its hash
/// is not read again (git's index and DVC's state do the same). Only settled files are
/// recorded ([`crate::data::FileStamp::settled_before`]); a damaged cache is ignored.
pub struct HashCache {
    path: PathBuf,
    known: BTreeMap<String, HashEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct HashEntry {
    stamp: String,
    size: u64,
    blake3: String,
}

#[derive(Serialize, Deserialize)]
struct HashFile {
    format: u32,
    files: BTreeMap<String, HashEntry>,
}

/// A file changed less than this before its hashing is hashed again next time.
const SETTLE: std::time::Duration = std::time::Duration::from_secs(1);

impl HashCache {
    pub fn load(repo: &Path) -> Self {
        let path = repo.join(".retrain/cache/hashes.json");
        let known = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<HashFile>(&b).ok())
            .filter(|f| f.format == FORMAT)
            .map(|f| f.files)
            .unwrap_or_default();
        HashCache { path, known }
    }

    /// The content hash (hex) and size recorded for `rel` with this stamp.
    pub fn get(&self, rel: &str, stamp: &crate::data::FileStamp) -> Option<(String, u64)> {
        let e = self.known.get(rel)?;
        (Some(&e.stamp) == stamp.key().as_ref()).then(|| (e.blake3.clone(), e.size))
    }

    /// Records the hashes of the settled files among `hashed` (hashing began at
    /// `started`); writes only when something changed.
    pub fn record(
        mut self,
        hashed: &[(&super::hash::FileHash, &crate::data::FileStamp)],
        started: std::time::SystemTime,
    ) {
        let mut changed = false;
        for (h, stamp) in hashed {
            let Some(key) = stamp
                .key()
                .filter(|_| stamp.settled_before(started, SETTLE))
            else {
                continue;
            };
            let entry = HashEntry {
                stamp: key,
                size: h.size,
                blake3: h.blake3.clone(),
            };
            if self.known.get(&h.rel) != Some(&entry) {
                self.known.insert(h.rel.clone(), entry);
                changed = true;
            }
        }
        if !changed {
            return;
        }
        let file = HashFile {
            format: FORMAT,
            files: self.known,
        };
        keep(
            self.path.parent().expect("under the cache"),
            &self.path,
            &file,
            "the table of file hashes",
        );
    }
}
