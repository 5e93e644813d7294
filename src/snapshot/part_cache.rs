//! Each file's column parts, kept outside git in `.retrain/cache/profiles/<key>.json` so
//! that a snapshot profiles only the files it has not seen: `key` is the BLAKE3 hash of
//! the file's content hash and of the columns profiled (names, kinds, dtypes), so a file
//! profiled as other columns, or other bytes under the same name, are never mixed up.
//! Parts merge in file order exactly as freshly computed ones do, so a snapshot made from
//! cached parts equals one made from scratch (tested). A damaged or stale entry is
//! ignored and written again.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::part::Part;

/// Bumped whenever a part's meaning changes: older entries are then not read.
const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Entry {
    format: u32,
    rows: u64,
    parts: Vec<Part>,
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
        let entry = Entry {
            format: FORMAT,
            rows,
            parts: parts.to_vec(),
        };
        let written = serde_json::to_vec(&entry)
            .map_err(std::io::Error::other)
            .and_then(|b| {
                crate::data::cache::ensure_ignored(self.dir.parent().expect("under the cache"))?;
                crate::data::atomic::write_atomic(&self.path(content), &b)
            });
        if let Err(e) = written {
            tracing::debug!(error = %e, "the profile of a file was not cached");
        }
    }
}
