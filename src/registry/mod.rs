//! The registry pointer `models/<m>/registry.yaml`: which version is the champion,
//! where its artifact is, what it was trained on, and the append-only history of
//! earlier champions. What `main` says is what production serves. This module reads
//! and (for publishing) serialises the pointer; it does not touch git.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Format version of registry pointers written by this retrain.
pub const FORMAT: u32 = 1;
/// File name inside the model's registry directory.
pub const FILE: &str = "registry.yaml";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryPointer {
    pub format: u32,
    pub model: String,
    /// The version production serves; `None` before the first promotion.
    #[serde(default)]
    pub champion: Option<ModelVersion>,
    /// Earlier champions, oldest first. Append-only.
    #[serde(default)]
    pub history: Vec<ModelVersion>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelVersion {
    pub version: u32,
    /// Id of the snapshot it was trained on.
    pub snapshot: String,
    pub trained_at: DateTime<Utc>,
    pub algorithm: String,
    #[serde(default)]
    pub params: BTreeMap<String, serde_json::Value>,
    pub artifact: Artifact,
    /// `model.onnx` beside the artifact (in the same store), when the trainer can be
    /// exported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onnx: Option<Artifact>,
    /// Metrics on its evaluation holdout.
    #[serde(default)]
    pub metrics: BTreeMap<String, f64>,
    /// `retrain <version>` that trained it.
    pub retrain_version: String,
    #[serde(default)]
    pub config_hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    /// `versions/<v>/model.json` (store `git`), `dir:/path/...`, or a release asset URL.
    pub uri: String,
    /// `blake3:<hex>`.
    pub digest: String,
    pub size: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("`{path}`: {message}")]
    Invalid { path: String, message: String },
}

impl RegistryPointer {
    /// When each version (champion and history) was trained.
    pub fn trained_times(&self) -> Vec<DateTime<Utc>> {
        self.history
            .iter()
            .chain(self.champion.as_ref())
            .map(|v| v.trained_at)
            .collect()
    }
}

/// Reads `<repo>/<registry_dir>/registry.yaml`; `None` when it does not exist yet.
pub fn read(repo: &Path, registry_dir: &str) -> Result<Option<RegistryPointer>, RegistryError> {
    let rel = format!("{registry_dir}/{FILE}");
    let text = match std::fs::read_to_string(repo.join(&rel)) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(RegistryError::Invalid {
                path: rel,
                message: e.to_string(),
            })
        }
    };
    parse(rel, &text).map(Some)
}

/// A registry pointer from its file's text (`rel`: the file, for errors).
pub fn parse(rel: String, text: &str) -> Result<RegistryPointer, RegistryError> {
    let pointer: RegistryPointer =
        serde_yaml::from_str(text).map_err(|e| RegistryError::Invalid {
            path: rel.clone(),
            message: e.to_string(),
        })?;
    if pointer.format != FORMAT {
        return Err(RegistryError::Invalid {
            path: rel,
            message: format!(
                "format {} is not supported (this retrain reads {FORMAT})",
                pointer.format
            ),
        });
    }
    Ok(pointer)
}

/// Where a release asset (store `release`) is kept once downloaded:
/// `.retrain/cache/artifacts/<blake3 hex>.json` (the cache directory holds a
/// `.gitignore` of `*`, so it is never committed).
pub fn release_cache_path(repo: &Path, digest: &str) -> std::path::PathBuf {
    let hex: String = digest
        .trim_start_matches("blake3:")
        .chars()
        .filter(char::is_ascii_hexdigit)
        .collect();
    repo.join(".retrain/cache/artifacts")
        .join(format!("{hex}.json"))
}

/// An artifact in an object store (`s3://…`): the local copy in the git-ignored cache,
/// downloaded (and its digest checked) when missing.
fn fetch_object(repo: &Path, version: &ModelVersion) -> Result<std::path::PathBuf, ArtifactError> {
    let path = release_cache_path(repo, &version.artifact.digest);
    if path.is_file() {
        return Ok(path);
    }
    let uri = &version.artifact.uri;
    let bytes = crate::data::remote::get(uri).map_err(|e| ArtifactError::Remote {
        uri: uri.clone(),
        message: e.to_string(),
        hint: e.hint().unwrap_or_default(),
    })?;
    check_digest(version, &bytes)?;
    let io = |source| ArtifactError::Read {
        path: path.clone(),
        source,
    };
    let cache = repo.join(".retrain/cache");
    crate::data::cache::ensure_ignored(&cache).map_err(io)?;
    crate::data::atomic::write_atomic(&path, &bytes).map_err(io)?;
    Ok(path)
}

/// `bytes` are the artifact the registry records for `version`, or an error naming both
/// digests.
fn check_digest(version: &ModelVersion, bytes: &[u8]) -> Result<(), ArtifactError> {
    let digest = format!("blake3:{}", blake3::hash(bytes).to_hex());
    if digest != version.artifact.digest {
        return Err(ArtifactError::Digest {
            uri: version.artifact.uri.clone(),
            actual: digest,
            expected: version.artifact.digest.clone(),
        });
    }
    Ok(())
}

/// Why a version's artifact could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("cannot download the artifact `{uri}`: {message} ({hint})")]
    Remote {
        uri: String,
        message: String,
        hint: String,
    },
    #[error("artifact `{uri}` is a release asset (store `release`) and was not downloaded: set GITHUB_TOKEN (or a GitHub App) and GITHUB_REPOSITORY so that retrain fetches it from the release `model/…/v{version}`")]
    NotDownloaded { uri: String, version: u32 },
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("`{uri}` has digest {actual}, the registry says {expected}: the artifact was changed or replaced")]
    Digest {
        uri: String,
        actual: String,
        expected: String,
    },
    #[error("`{uri}` is not a retrain model: {source}")]
    NotAModel {
        uri: String,
        source: serde_json::Error,
    },
}

/// Loads a version's artifact and checks its digest. The URI is relative to the
/// model's registry directory (store `git`), or `dir:<path>` (relative to the
/// repository, or absolute).
pub fn load_artifact(
    repo: &Path,
    registry_dir: &Path,
    version: &ModelVersion,
) -> Result<(crate::train::model::ModelArtifact, Vec<u8>), ArtifactError> {
    let uri = &version.artifact.uri;
    let path = match uri.strip_prefix("dir:") {
        Some(p) => repo.join(p),
        None if uri.contains("://") => fetch_object(repo, version)?,
        None if uri.starts_with("release:") => {
            let cached = release_cache_path(repo, &version.artifact.digest);
            if !cached.is_file() {
                return Err(ArtifactError::NotDownloaded {
                    uri: uri.clone(),
                    version: version.version,
                });
            }
            cached
        }
        None => repo.join(registry_dir).join(uri),
    };
    let bytes = std::fs::read(&path).map_err(|source| ArtifactError::Read {
        path: path.clone(),
        source,
    })?;
    let artifact = artifact_from_bytes(version, &bytes)?;
    Ok((artifact, bytes))
}

/// `version`'s artifact from its bytes, once they match the digest the registry records.
pub fn artifact_from_bytes(
    version: &ModelVersion,
    bytes: &[u8],
) -> Result<crate::train::model::ModelArtifact, ArtifactError> {
    check_digest(version, bytes)?;
    serde_json::from_slice(bytes).map_err(|source| ArtifactError::NotAModel {
        uri: version.artifact.uri.clone(),
        source,
    })
}

/// The tag of a promoted version: `model/<m>/v<n>`.
pub fn tag_name(model: &str, version: u32) -> String {
    format!("model/{model}/v{version}")
}

/// Store `dir:`: writes a candidate's artifact where its URI points (relative to the
/// repository, or absolute), atomically, before the pointer that names it is pushed.
/// The same bytes there already: nothing is written. Returns the path, or `None` for
/// a URI of another store.
pub fn write_dir_artifact(
    repo: &Path,
    uri: &str,
    bytes: &[u8],
) -> Result<Option<std::path::PathBuf>, (std::path::PathBuf, std::io::Error)> {
    let Some(rel) = uri.strip_prefix("dir:") else {
        return Ok(None);
    };
    let path = repo.join(rel);
    if std::fs::read(&path).is_ok_and(|b| b == bytes) {
        return Ok(Some(path));
    }
    match crate::snapshot::manifest::write_atomic(&path, bytes) {
        Ok(()) => Ok(Some(path)),
        Err(e) => Err((path, e)),
    }
}

/// The registry change that promotes a candidate: the new pointer and the files to
/// write, relative to the repository root. Pure: publishing writes them to a branch.
#[derive(Debug, Clone)]
pub struct Proposal {
    pub version: u32,
    pub pointer: RegistryPointer,
    pub files: Vec<(String, Vec<u8>)>,
}

/// What is recorded about a candidate when it is proposed.
pub struct ProposedVersion<'a> {
    pub model: &'a crate::config::ModelConfig,
    pub artifact_bytes: &'a [u8],
    pub digest: &'a str,
    /// `model.onnx`: its bytes and digest.
    pub onnx: Option<(&'a [u8], &'a str)>,
    pub artifact: &'a crate::train::model::ModelArtifact,
    pub metrics: BTreeMap<String, f64>,
    /// The full evaluation, written as `metrics.json`.
    pub report: serde_json::Value,
}

pub fn propose(previous: Option<&RegistryPointer>, new: &ProposedVersion) -> Proposal {
    let model = new.model;
    let version = previous
        .map(|p| {
            p.history
                .iter()
                .chain(&p.champion)
                .map(|v| v.version)
                .max()
                .unwrap_or(0)
        })
        .unwrap_or(0)
        + 1;
    let dir = format!("{}/versions/{version}", model.registry.path);
    // (file name, its digest): an object store's keys are named by the digest
    let uri = |file: &str, digest: &str| match &model.registry.artifacts {
        crate::config::ArtifactStore::Object(prefix) => format!(
            "{prefix}/{}/{}/{file}",
            model.name,
            digest.trim_start_matches("blake3:")
        ),
        crate::config::ArtifactStore::Git => format!("versions/{version}/{file}"),
        crate::config::ArtifactStore::Dir(d) => format!(
            "dir:{}/{}/{version}/{file}",
            d.trim_end_matches('/'),
            model.name
        ),
        crate::config::ArtifactStore::Release => {
            format!("release:model/{}/v{version}/{file}", model.name)
        }
    };
    let champion = ModelVersion {
        version,
        snapshot: new.artifact.training.snapshot.clone(),
        trained_at: new.artifact.training.trained_at,
        algorithm: crate::train::model::algorithm_name(new.artifact.algorithm).to_string(),
        params: new.artifact.params.clone(),
        artifact: Artifact {
            uri: uri("model.json", new.digest),
            digest: new.digest.to_string(),
            size: new.artifact_bytes.len() as u64,
        },
        onnx: new.onnx.map(|(bytes, digest)| Artifact {
            uri: uri("model.onnx", digest),
            digest: digest.to_string(),
            size: bytes.len() as u64,
        }),
        metrics: new.metrics.clone(),
        retrain_version: new.artifact.training.retrain_version.clone(),
        config_hash: Some(model.config_hash.clone()),
    };
    let mut history = previous.map(|p| p.history.clone()).unwrap_or_default();
    if let Some(old) = previous.and_then(|p| p.champion.clone()) {
        history.push(old);
    }
    let pointer = RegistryPointer {
        format: FORMAT,
        model: model.name.to_string(),
        champion: Some(champion),
        history,
    };
    let mut files = vec![(
        format!("{}/{FILE}", model.registry.path),
        serde_yaml::to_string(&pointer)
            .expect("pointer serialises")
            .into_bytes(),
    )];
    if model.registry.artifacts == crate::config::ArtifactStore::Git {
        files.push((format!("{dir}/model.json"), new.artifact_bytes.to_vec()));
        if let Some((bytes, _)) = new.onnx {
            files.push((format!("{dir}/model.onnx"), bytes.to_vec()));
        }
    }
    let mut metrics = serde_json::to_vec_pretty(&new.report).expect("report serialises");
    metrics.push(b'\n');
    files.push((format!("{dir}/metrics.json"), metrics));
    Proposal {
        version,
        pointer,
        files,
    }
}

/// The pointer that makes an earlier version the champion again: the current champion
/// joins the history (append-only), the chosen version (default: the newest earlier
/// champion) becomes the champion. Returns the new pointer, the current champion and
/// the version rolled back to.
/// Why a pointer cannot be rolled back as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RollbackError {
    #[error("model `{model}` has no champion: there is nothing to roll back")]
    NoChampion { model: String },
    #[error("v{version} is the champion of `{model}` already")]
    AlreadyChampion { model: String, version: u32 },
    #[error("v{version} is not in the history of `{model}` (earlier versions: {known})")]
    NotInHistory {
        model: String,
        version: u32,
        known: String,
    },
    #[error("model `{model}` has no version older than v{version} to roll back to")]
    NothingOlder { model: String, version: u32 },
}

pub fn rollback(
    pointer: &RegistryPointer,
    to: Option<u32>,
) -> Result<(RegistryPointer, ModelVersion, ModelVersion), RollbackError> {
    let model = || pointer.model.clone();
    let current = pointer
        .champion
        .clone()
        .ok_or_else(|| RollbackError::NoChampion { model: model() })?;
    let known = || {
        let mut v: Vec<String> = pointer
            .history
            .iter()
            .map(|v| format!("v{}", v.version))
            .collect();
        v.dedup();
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    let target = match to {
        Some(n) if n == current.version => {
            return Err(RollbackError::AlreadyChampion {
                model: model(),
                version: n,
            })
        }
        Some(n) => pointer
            .history
            .iter()
            .rev()
            .find(|v| v.version == n)
            .cloned()
            .ok_or_else(|| RollbackError::NotInHistory {
                model: model(),
                version: n,
                known: known(),
            })?,
        // The newest version older than the champion: rolling back twice goes further
        // back, never forward again.
        None => pointer
            .history
            .iter()
            .filter(|v| v.version < current.version)
            .max_by_key(|v| v.version)
            .cloned()
            .ok_or_else(|| RollbackError::NothingOlder {
                model: model(),
                version: current.version,
            })?,
    };
    let mut history = pointer.history.clone();
    history.push(current.clone());
    Ok((
        RegistryPointer {
            format: FORMAT,
            model: pointer.model.clone(),
            champion: Some(target.clone()),
            history,
        },
        current,
        target,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(n: u32) -> ModelVersion {
        ModelVersion {
            version: n,
            snapshot: format!("{n:064}"),
            trained_at: "2025-01-01T00:00:00Z".parse().unwrap(),
            algorithm: "logistic_regression".into(),
            params: BTreeMap::new(),
            artifact: Artifact {
                uri: format!("versions/{n}/model.json"),
                digest: format!("blake3:{n}"),
                size: 1,
            },
            onnx: None,
            metrics: BTreeMap::new(),
            retrain_version: "0".into(),
            config_hash: None,
        }
    }

    fn pointer(champion: u32, history: &[u32]) -> RegistryPointer {
        RegistryPointer {
            format: FORMAT,
            model: "m".into(),
            champion: Some(version(champion)),
            history: history.iter().map(|n| version(*n)).collect(),
        }
    }

    #[test]
    fn rollback_defaults_to_the_previous_champion_and_keeps_history() {
        let (p, from, to) = rollback(&pointer(3, &[1, 2]), None).unwrap();
        assert_eq!((from.version, to.version), (3, 2));
        assert_eq!(p.champion.unwrap().version, 2);
        let h: Vec<u32> = p.history.iter().map(|v| v.version).collect();
        assert_eq!(h, [1, 2, 3]);
    }

    #[test]
    fn rollback_to_a_named_version_and_its_errors() {
        let (p, _, to) = rollback(&pointer(3, &[1, 2]), Some(1)).unwrap();
        assert_eq!((to.version, p.champion.unwrap().version), (1, 1));
        let e = rollback(&pointer(3, &[1, 2]), Some(7))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("v7 is not in the history") && e.contains("v1, v2"),
            "{e}"
        );
        let e = rollback(&pointer(3, &[1, 2]), Some(3))
            .unwrap_err()
            .to_string();
        assert!(e.contains("champion of `m` already"), "{e}");
        let e = rollback(&pointer(1, &[]), None).unwrap_err().to_string();
        assert!(e.contains("no version older than v1"), "{e}");
        // after a rollback to v2, the default goes further back, not forward to v3
        let (p, _, _) = rollback(&pointer(3, &[1, 2]), None).unwrap();
        let (p, from, to) = rollback(&p, None).unwrap();
        assert_eq!((from.version, to.version), (2, 1));
        let h: Vec<u32> = p.history.iter().map(|v| v.version).collect();
        assert_eq!(h, [1, 2, 3, 2]);
    }
}
