//! The snapshot manifest (`.retrain/snapshots/<id>.yaml`) and its store: read, and
//! write atomically (temporary file in the same directory, fsync, rename), so a crash
//! never leaves a half-written manifest behind.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::profile::{CategoricalPart, KindProfile, NumericPart};
use crate::config::ColumnKind;

/// Format version of manifests written by this retrain.
pub const FORMAT: u32 = 1;
/// Directory of manifests, relative to the repository root.
pub const DIR: &str = ".retrain/snapshots";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub id: String,
    pub created_at: DateTime<Utc>,
    /// `retrain <version>` that wrote it.
    pub created_by: String,
    /// The data source as configured (`data/*.csv`).
    pub source: String,
    pub rows: u64,
    pub settings: ProfileSettings,
    pub files: Vec<FileEntry>,
    pub columns: Vec<ColumnEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileSettings {
    pub top_k: usize,
    pub histogram_bins: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub size: u64,
    pub blake3: String,
    pub rows: u64,
    /// What the object store said about an object (`data.url`): with these, a later
    /// snapshot knows its content hash without reading it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<chrono::DateTime<chrono::Utc>>,
}

/// What a column is to a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Feature,
    Target,
    Time,
    Ignored,
    /// Not in the model's explicit `features`.
    Unused,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnEntry {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ColumnKind,
    /// The type in the files (polars dtype).
    pub dtype: String,
    /// Role per model that uses this snapshot.
    pub role: BTreeMap<String, Role>,
    /// Non-null values.
    pub count: u64,
    pub nulls: u64,
    #[serde(flatten)]
    pub profile: KindProfile,
}

impl Manifest {
    /// The manifest as its file holds it (what [`Store::write`] writes and a model pull
    /// request commits).
    pub fn to_yaml(&self) -> Vec<u8> {
        serde_yaml::to_string(self)
            .expect("manifest serialises")
            .into_bytes()
    }

    pub fn column(&self, name: &str) -> Option<&ColumnEntry> {
        self.columns.iter().find(|c| c.name == name)
    }
}

impl ColumnEntry {
    /// A numeric column profiled from its non-missing `values` (no dtype, no roles: a
    /// reference built in memory, as the backtest and prediction drift build them).
    pub fn of_values(name: &str, values: Vec<f64>, nulls: u64) -> Self {
        let count = values.len() as u64;
        let profile = KindProfile::Numeric(NumericPart::from_values(values, nulls).finish());
        Self::in_memory(name, ColumnKind::Numeric, count, nulls, profile)
    }

    /// A categorical column profiled from its category counts (see [`Self::of_values`]).
    pub fn of_counts(name: &str, counts: HashMap<String, u64>, nulls: u64, top_k: usize) -> Self {
        let count = counts.values().sum();
        let profile =
            KindProfile::Categorical(CategoricalPart::from_counts(counts, nulls).finish(top_k));
        Self::in_memory(name, ColumnKind::Categorical, count, nulls, profile)
    }

    fn in_memory(
        name: &str,
        kind: ColumnKind,
        count: u64,
        nulls: u64,
        profile: KindProfile,
    ) -> Self {
        ColumnEntry {
            name: name.to_string(),
            kind,
            dtype: String::new(),
            role: BTreeMap::new(),
            count,
            nulls,
            profile,
        }
    }
}

/// Problems reading or writing manifests.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("snapshot manifest `{path}`: {message}")]
    Corrupt { path: String, message: String },
    #[error("snapshot `{id}` is not in {dir}")]
    NotFound { id: String, dir: String },
    #[error("cannot write `{path}`: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The manifests of one repository.
pub struct Store {
    root: PathBuf,
}

impl Store {
    pub fn new(repo: &Path) -> Self {
        Self {
            root: repo.to_path_buf(),
        }
    }

    /// Manifest path relative to the repository root.
    pub fn rel_path(id: &str) -> String {
        format!("{DIR}/{id}.yaml")
    }

    pub fn path(&self, id: &str) -> PathBuf {
        self.root.join(Self::rel_path(id))
    }

    pub fn exists(&self, id: &str) -> bool {
        self.path(id).is_file()
    }

    pub fn read(&self, id: &str) -> Result<Manifest, StoreError> {
        let path = self.path(id);
        let rel = Self::rel_path(id);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                StoreError::NotFound {
                    id: id.to_string(),
                    dir: DIR.to_string(),
                }
            } else {
                StoreError::Corrupt {
                    path: rel.clone(),
                    message: e.to_string(),
                }
            }
        })?;
        let manifest: Manifest = serde_yaml::from_str(&text).map_err(|e| StoreError::Corrupt {
            path: rel.clone(),
            message: e.to_string(),
        })?;
        if manifest.format != FORMAT || manifest.id != id {
            return Err(StoreError::Corrupt {
                path: rel,
                message: format!(
                    "format {} / id {} do not match",
                    manifest.format, manifest.id
                ),
            });
        }
        Ok(manifest)
    }

    /// Every manifest in the store, oldest first. Unreadable files are errors.
    pub fn list(&self) -> Result<Vec<Manifest>, StoreError> {
        let dir = self.root.join(DIR);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(StoreError::Corrupt {
                    path: DIR.to_string(),
                    message: e.to_string(),
                })
            }
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(id) = name.strip_suffix(".yaml").filter(|id| !id.starts_with('.')) {
                out.push(self.read(id)?);
            }
        }
        out.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(out)
    }

    /// The id of a stored snapshot from its full id or a unique prefix (≥ 6 characters).
    pub fn resolve_id(&self, prefix: &str) -> Result<String, StoreError> {
        if self.exists(prefix) {
            return Ok(prefix.to_string());
        }
        let not_found = || StoreError::NotFound {
            id: prefix.to_string(),
            dir: DIR.to_string(),
        };
        if prefix.len() < 6 || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(not_found());
        }
        let dir = self.root.join(DIR);
        let matches: Vec<String> = std::fs::read_dir(&dir)
            .map_err(|_| not_found())?
            .flatten()
            .filter_map(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|n| n.strip_suffix(".yaml"))
                    .map(str::to_string)
            })
            .filter(|id| id.starts_with(prefix))
            .collect();
        match matches.as_slice() {
            [one] => Ok(one.clone()),
            _ => Err(not_found()),
        }
    }

    pub fn write(&self, manifest: &Manifest) -> Result<(), StoreError> {
        write_atomic(&self.path(&manifest.id), &manifest.to_yaml()).map_err(|source| {
            StoreError::Write {
                path: Self::rel_path(&manifest.id),
                source,
            }
        })
    }
}

pub use crate::data::atomic::write_atomic;
