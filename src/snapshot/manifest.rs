//! The snapshot manifest (`.retrain/snapshots/<id>.yaml`) and its store: read, and
//! write atomically (temporary file in the same directory, fsync, rename), so a crash
//! never leaves a half-written manifest behind.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::profile::KindProfile;
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
    pub fn column(&self, name: &str) -> Option<&ColumnEntry> {
        self.columns.iter().find(|c| c.name == name)
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
        let text = serde_yaml::to_string(manifest).expect("manifest serialises");
        write_atomic(&self.path(&manifest.id), text.as_bytes()).map_err(|source| {
            StoreError::Write {
                path: Self::rel_path(&manifest.id),
                source,
            }
        })
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
/// Temporary files that a killed writer left in that directory (`.<name>.<pid>.tmp` of a
/// process that is gone) are removed first.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    sweep_stale_tmp(dir);
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The pid of a temporary file of [`write_atomic`]: `.<name>.<pid>.tmp`.
fn tmp_pid(file_name: &str) -> Option<u32> {
    let stem = file_name.strip_prefix('.')?.strip_suffix(".tmp")?;
    stem.rsplit_once('.')?.1.parse().ok()
}

fn alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return false;
        };
        // SAFETY: kill with signal 0 only checks that the process exists.
        let r = unsafe { libc::kill(pid, 0) };
        r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        true
    }
}

/// Removes the temporary files of writers that no longer run (a kill -9 mid-write).
fn sweep_stale_tmp(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(tmp_pid) else {
            continue;
        };
        if !alive(pid) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
