//! Promotion and rollback (DESIGN.md §3, "Publish and promotion").
//!
//! `promote` runs on the base branch after a model PR was merged: it reads the registry
//! pointer *as committed at HEAD*, verifies the champion's artifact against its digest,
//! tags the commit `model/<m>/v<n>` and creates (or publishes) the GitHub release with
//! the model card. Every step checks first whether it was done already, so running it
//! twice, or after a half-finished run, converges to one tag and one release.
//!
//! `rollback` opens a pull request that points the registry back to an earlier version
//! from its history; merging it (then `promote`) is the rollback.

use super::runtime;
use crate::config::Workspace;
use crate::config::{ArtifactStore, ModelConfig};
use crate::error::Error;
use crate::forge::git::{push_tag, read_at_head, Identity, TagOperation, TagRequest, Token};
use crate::forge::github::{GitHub, GitHubConfig, Release};
use crate::forge::publish::asset_name;
pub use crate::outcome::{
    PromoteReport, Promotion, PromotionStatus, ReleaseOperation, ReleaseOutcome, RollbackReport,
};
use crate::registry::{self, ModelVersion, RegistryError, RegistryPointer};

/// Where promotion writes: the git remote (tags) and, when configured, GitHub (releases).
#[derive(Debug, Clone)]
pub struct PromoteRequest {
    pub workspace: Workspace,
    pub model: Option<String>,
    pub remote: String,
    pub github: Option<GitHubConfig>,
    pub identity: Identity,
}

pub use crate::registry::tag_name;

/// The pointer as committed at HEAD, and HEAD's commit.
fn pointer_at_head(
    repo: &std::path::Path,
    model: &ModelConfig,
) -> Result<(String, Option<RegistryPointer>), Error> {
    let rel = format!("{}/{}", model.registry.path, registry::FILE);
    let (commit, bytes) = read_at_head(repo, &rel).map_err(Error::Git)?;
    let Some(bytes) = bytes else {
        return Ok((commit, None));
    };
    let pointer: RegistryPointer = serde_yaml::from_slice(&bytes).map_err(|e| {
        Error::Registry(RegistryError::Invalid {
            path: rel.clone(),
            message: e.to_string(),
        })
    })?;
    if pointer.format != registry::FORMAT {
        return Err(Error::Registry(RegistryError::Invalid {
            path: rel,
            message: format!("format {} is not supported", pointer.format),
        }));
    }
    Ok((commit, Some(pointer)))
}

/// Checks a version's artifact (and `model.onnx` beside it) against its digest: in
/// HEAD's tree (store `git`), on disk (`dir:`), or as the release asset labelled with
/// the digest (store `release`).
fn verify_artifact(
    repo: &std::path::Path,
    model: &ModelConfig,
    version: &ModelVersion,
    release: Option<&Release>,
) -> Result<(), Error> {
    let files = std::iter::once(("artifact", &version.artifact))
        .chain(version.onnx.as_ref().map(|o| ("ONNX model", o)));
    for (what, artifact) in files {
        verify_file(repo, model, version.version, (what, artifact), release)?;
    }
    Ok(())
}

/// [`verify_artifact`] of one file; `what` names it in errors.
fn verify_file(
    repo: &std::path::Path,
    model: &ModelConfig,
    version: u32,
    (what, artifact): (&str, &registry::Artifact),
    release: Option<&Release>,
) -> Result<(), Error> {
    let invalid = |message: String| {
        Error::Registry(RegistryError::Invalid {
            path: format!("{}/{}", model.registry.path, registry::FILE),
            message,
        })
    };
    let uri = &artifact.uri;
    let bytes = if uri.contains("://") {
        crate::data::remote::get(uri).map_err(|e| {
            invalid(format!(
                "v{version}: cannot download the {what} `{uri}`: {e}; nothing was tagged"
            ))
        })?
    } else if let Some(path) = uri.strip_prefix("dir:") {
        let p = repo.join(path);
        std::fs::read(&p).map_err(|e| {
            invalid(format!(
                "v{version}: cannot read the {what} `{}`: {e}",
                p.display()
            ))
        })?
    } else if uri.starts_with("release:") {
        let Some(release) = release else {
            return Err(invalid(format!(
                "v{version}: no release `{}` holds the {what}; `retrain run` uploads it to a draft release when it opens the pull request (store `release`)",
                tag_name(model.name.as_str(), version)
            )));
        };
        let found = release.assets.iter().any(|a| {
            a.label.as_deref() == Some(artifact.digest.as_str()) && a.size == artifact.size
        });
        if !found {
            return Err(invalid(format!(
                "v{version}: the release `{}` has no asset with the {what}'s digest {} and size {}",
                release.tag_name, artifact.digest, artifact.size
            )));
        }
        return Ok(());
    } else {
        let rel = format!("{}/{uri}", model.registry.path);
        read_at_head(repo, &rel)
            .map_err(Error::Git)?
            .1
            .ok_or_else(|| {
                invalid(format!(
                    "v{version}: the {what} `{rel}` is not in the commit"
                ))
            })?
    };
    let digest = format!("blake3:{}", blake3::hash(&bytes).to_hex());
    if digest != artifact.digest {
        return Err(invalid(format!(
            "v{version}: the {what} `{uri}` has digest {digest}, the registry says {}: it was changed or replaced; nothing was tagged",
            artifact.digest
        )));
    }
    Ok(())
}

pub fn promote(req: &PromoteRequest) -> Result<PromoteReport, Error> {
    let config = req.workspace.load_config()?;
    let models = config.select(req.model.as_deref())?;
    let rt = runtime()?;
    // octocrab's client spawns its worker on the current runtime.
    let _guard = rt.enter();
    let gh = req
        .github
        .as_ref()
        .map(|c| GitHub::new(c).map_err(Error::GitHub))
        .transpose()?;
    let token = req
        .github
        .as_ref()
        .map(|c| Token::new(c.token.expose().to_string()));
    let repo = &req.workspace.repo;
    let mut promotions = Vec::new();
    for model in models {
        let (commit, pointer) = pointer_at_head(repo, model)?;
        let Some(champion) = pointer.and_then(|p| p.champion) else {
            promotions.push(Promotion {
                model: model.name.to_string(),
                status: PromotionStatus::NoChampion,
                version: None,
                tag: None,
                commit: None,
                tag_operation: None,
                artifact: None,
                release: None,
                mlflow: None,
                note: Some("the registry has no champion: nothing to promote".into()),
            });
            continue;
        };
        let tag = tag_name(model.name.as_str(), champion.version);
        let release = match &gh {
            Some(gh) => rt.block_on(gh.find_release(&tag)).map_err(Error::GitHub)?,
            None => None,
        };
        verify_artifact(repo, model, &champion, release.as_ref())?;
        let message = format!(
            "retrain: {} v{}\n\nartifact: {} ({} bytes)\nsnapshot: {}\nalgorithm: {}\n",
            model.name,
            champion.version,
            champion.artifact.digest,
            champion.artifact.size,
            champion.snapshot,
            champion.algorithm
        );
        let pushed = push_tag(
            repo,
            &TagRequest {
                remote: &req.remote,
                name: &tag,
                commit: &commit,
                message: &message,
                identity: &model
                    .pull_request
                    .identity()
                    .unwrap_or_else(|| req.identity.clone()),
                token: token.as_ref(),
            },
        );
        let (tag_operation, commit) = match pushed {
            Ok(op) => (op, commit),
            // The version was promoted from another commit (e.g. this is the merge of a
            // rollback to it): fine when that commit's registry has the same artifact.
            Err(crate::forge::git::GitError::TagMoved { at, .. }) => {
                let same =
                    same_version_at_tag(repo, &req.remote, token.as_ref(), model, &tag, &champion)?;
                if !same {
                    return Err(Error::Registry(RegistryError::Invalid {
                        path: format!("{}/{}", model.registry.path, registry::FILE),
                        message: format!(
                            "the tag `{tag}` (commit {}) holds a different v{} than HEAD's registry ({}): versions are never reused; fix the registry",
                            &at[..at.len().min(12)],
                            champion.version,
                            champion.artifact.digest
                        ),
                    }));
                }
                (TagOperation::Unchanged, at)
            }
            Err(e) => return Err(Error::Git(e)),
        };
        let card_path = format!(
            "{}/versions/{}/MODEL_CARD.md",
            model.registry.path, champion.version
        );
        let card = read_at_head(repo, &card_path)
            .map_err(Error::Git)?
            .1
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_else(|| {
                format!(
                    "{} v{} (no model card in `{card_path}`)",
                    model.name, champion.version
                )
            });
        let body = release_body(&card);
        let (release, note) = match &gh {
            None => (
                None,
                Some("no GitHub token/repository: tagged only, no release".to_string()),
            ),
            Some(gh) => {
                let outcome = match release {
                    Some(r) if r.draft => {
                        let r = rt
                            .block_on(gh.publish_release(r.id, &body))
                            .map_err(Error::GitHub)?;
                        ReleaseOutcome {
                            url: r.html_url,
                            operation: ReleaseOperation::Published,
                        }
                    }
                    Some(r) => ReleaseOutcome {
                        url: r.html_url,
                        operation: ReleaseOperation::Unchanged,
                    },
                    None => {
                        let r = rt
                            .block_on(gh.create_release(
                                &tag,
                                &format!("{} v{}", model.name, champion.version),
                                &body,
                                false,
                                None,
                            ))
                            .map_err(Error::GitHub)?;
                        ReleaseOutcome {
                            url: r.html_url,
                            operation: ReleaseOperation::Created,
                        }
                    }
                };
                (Some(outcome), None)
            }
        };
        // the MLflow mirror, after the tag and the release (which a re-run leaves as
        // they are): an MLflow failure is retried by running promote again
        let mlflow = match &model.registry.mlflow {
            None => None,
            Some(cfg) => {
                let client = crate::forge::mlflow::Client::from_env(cfg).map_err(Error::Mlflow)?;
                let (source, tags) = mlflow_version(model, &champion, &tag, &commit, req);
                Some(
                    rt.block_on(client.mirror(cfg, &champion, &source, &tags))
                        .map_err(Error::Mlflow)?,
                )
            }
        };
        let changed = tag_operation == TagOperation::Created
            || release
                .as_ref()
                .is_some_and(|r| r.operation != ReleaseOperation::Unchanged)
            || mlflow
                .as_ref()
                .is_some_and(|m| m.operation != crate::forge::mlflow::MlflowOperation::Unchanged);
        promotions.push(Promotion {
            model: model.name.to_string(),
            status: if changed {
                PromotionStatus::Promoted
            } else {
                PromotionStatus::Unchanged
            },
            version: Some(champion.version),
            tag: Some(tag),
            commit: Some(commit),
            tag_operation: Some(tag_operation),
            artifact: Some(champion.artifact.clone()),
            release,
            mlflow,
            note,
        });
    }
    Ok(PromoteReport { promotions })
}

/// The MLflow model version of a champion: its source (the artifact's URI where that is
/// one — an object store, `dir:`, `release:` — else `git:/<tag>/<path>` in the repository)
/// and its tags (retrain's version, the snapshot, the digest, the commit, the metrics).
fn mlflow_version(
    model: &ModelConfig,
    v: &ModelVersion,
    tag: &str,
    commit: &str,
    req: &PromoteRequest,
) -> (String, std::collections::BTreeMap<String, String>) {
    // MLflow takes a source with a scheme and an absolute path
    let uri = &v.artifact.uri;
    let source = if uri.contains("://") {
        uri.clone()
    } else if let Some(p) = uri.strip_prefix("dir:") {
        format!("dir:{}", req.workspace.repo.join(p).display())
    } else if let Some(p) = uri.strip_prefix("release:") {
        format!("release:/{p}")
    } else {
        format!("git:/{tag}/{}/{uri}", model.registry.path)
    };
    let mut tags = std::collections::BTreeMap::from([
        ("retrain.version".to_string(), v.retrain_version.clone()),
        ("retrain.model".to_string(), model.name.to_string()),
        (
            "retrain.registry_version".to_string(),
            v.version.to_string(),
        ),
        ("retrain.snapshot".to_string(), v.snapshot.clone()),
        ("retrain.digest".to_string(), v.artifact.digest.clone()),
        ("retrain.algorithm".to_string(), v.algorithm.clone()),
        ("retrain.tag".to_string(), tag.to_string()),
        ("retrain.commit".to_string(), commit.to_string()),
    ]);
    if let Some(gh) = &req.github {
        tags.insert("retrain.repository".into(), gh.repository.to_string());
    }
    for (k, m) in &v.metrics {
        tags.insert(format!("metric.{k}"), format!("{m}"));
    }
    (source, tags)
}

/// Whether the registry at the remote tag records `version` with the same artifact.
fn same_version_at_tag(
    repo: &std::path::Path,
    remote: &str,
    token: Option<&Token>,
    model: &ModelConfig,
    tag: &str,
    version: &ModelVersion,
) -> Result<bool, Error> {
    let rel = format!("{}/{}", model.registry.path, registry::FILE);
    let Some(bytes) = crate::forge::git::read_at_remote_tag(repo, remote, tag, &rel, token)
        .map_err(Error::Git)?
    else {
        return Ok(false);
    };
    let Ok(pointer) = serde_yaml::from_slice::<RegistryPointer>(&bytes) else {
        return Ok(false);
    };
    Ok(pointer
        .history
        .iter()
        .chain(&pointer.champion)
        .any(|v| v.version == version.version && v.artifact.digest == version.artifact.digest))
}

/// The release body: the model card without its YAML front matter, within GitHub's
/// 125,000-character limit on release bodies.
fn release_body(card: &str) -> String {
    let body = card
        .strip_prefix("---\n")
        .and_then(|rest| rest.split_once("\n---\n").map(|(_, b)| b))
        .unwrap_or(card)
        .trim_start();
    let mut out: String = body.chars().take(120_000).collect();
    if out.len() < body.len() {
        out.push_str("\n\n… (truncated; the full model card is in the tagged commit)\n");
    }
    out
}

/// Downloads a version's artifact from its release (store `release`: the asset of
/// `model/<m>/v<n>` labelled with the digest) into the local cache
/// ([`registry::release_cache_path`]), after checking the digest. A cached copy is
/// used as it is (its digest is checked when it is loaded).
pub async fn fetch_release_artifact(
    gh: &GitHub,
    repo: &std::path::Path,
    model: &ModelConfig,
    version: &ModelVersion,
) -> Result<std::path::PathBuf, Error> {
    let path = registry::release_cache_path(repo, &version.artifact.digest);
    if path.is_file() {
        return Ok(path);
    }
    let tag = tag_name(model.name.as_str(), version.version);
    let digest = &version.artifact.digest;
    let invalid = |message: String| {
        Error::Registry(RegistryError::Invalid {
            path: format!("{}/{}", model.registry.path, registry::FILE),
            message,
        })
    };
    let release = gh
        .find_release(&tag)
        .await
        .map_err(Error::GitHub)?
        .ok_or_else(|| {
            invalid(format!(
                "v{}'s artifact is a release asset, but there is no release `{tag}`",
                version.version
            ))
        })?;
    let asset = release
        .assets
        .iter()
        .find(|a| {
            a.label.as_deref() == Some(digest.as_str())
                || a.name == asset_name(digest, &version.artifact.uri)
        })
        .ok_or_else(|| {
            invalid(format!(
                "the release `{tag}` has no asset labelled {digest}"
            ))
        })?;
    let bytes = gh.download_asset(asset.id).await.map_err(Error::GitHub)?;
    let got = format!("blake3:{}", blake3::hash(&bytes).to_hex());
    if got != *digest {
        return Err(invalid(format!(
            "the asset `{}` of `{tag}` has digest {got}, the registry says {digest}: it was replaced",
            asset.name
        )));
    }
    let io = |e: std::io::Error| Error::Io {
        context: format!("caching the artifact in {}", path.display()),
        source: e,
    };
    let dir = path.parent().expect("a cache file has a directory");
    std::fs::create_dir_all(dir).map_err(io)?;
    let ignore = repo.join(".retrain/cache/.gitignore");
    if !ignore.exists() {
        crate::snapshot::manifest::write_atomic(&ignore, b"*\n").map_err(io)?;
    }
    crate::snapshot::manifest::write_atomic(&path, &bytes).map_err(io)?;
    Ok(path)
}

/// What `retrain rollback` needs.
#[derive(Debug, Clone)]
pub struct RollbackRequest {
    pub workspace: Workspace,
    pub model: String,
    pub to: Option<u32>,
    pub reason: Option<String>,
    pub dry_run: bool,
    pub target: Option<crate::forge::publish::PublishTarget>,
}

pub fn rollback(req: &RollbackRequest) -> Result<RollbackReport, Error> {
    let config = req.workspace.load_config()?;
    let model = config
        .select(Some(&req.model))?
        .into_iter()
        .next()
        .expect("select returns the named model");
    let repo = &req.workspace.repo;
    let (_, pointer) = pointer_at_head(repo, model)?;
    let path = format!("{}/{}", model.registry.path, registry::FILE);
    let pointer = pointer.ok_or_else(|| {
        Error::Usage(format!(
            "`{path}` does not exist at HEAD: model `{}` was never promoted",
            model.name
        ))
    })?;
    let (new, from, to) =
        registry::rollback(&pointer, req.to).map_err(|m| Error::Usage(format!("{path}: {m}")))?;
    // The version rolled back to must still be servable.
    if model.registry.artifacts != ArtifactStore::Release {
        verify_artifact(repo, model, &to, None)?;
    }
    let mut report = RollbackReport {
        model: model.name.to_string(),
        from: from.version,
        to: to.version,
        dry_run: req.dry_run,
        registry: new.clone(),
        pull_request: None,
    };
    if req.dry_run {
        return Ok(report);
    }
    let target = req.target.as_ref().ok_or_else(|| {
        Error::Usage(
            "a rollback opens a pull request: set GITHUB_TOKEN and GITHUB_REPOSITORY (or --repository), or use --dry-run".into(),
        )
    })?;
    // the pointer as read at HEAD: the base must still hold it
    let (_, at_head) = read_at_head(repo, &path).map_err(Error::Git)?;
    let proposal =
        crate::proposal::rollback(model, (&from, &to), &new, at_head, req.reason.as_deref());
    let pr = runtime()?.block_on(crate::forge::publish::open_or_update(
        repo, &proposal, target,
    ))?;
    report.pull_request = Some(pr);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_body_drops_the_front_matter() {
        let card = "---\nlicense: other\nmodel-index: []\n---\n\n# churn v2\n\ntext\n";
        assert_eq!(release_body(card), "# churn v2\n\ntext\n");
        assert_eq!(release_body("# plain\n"), "# plain\n");
    }

    #[test]
    fn asset_names_carry_the_digest_prefix() {
        assert_eq!(
            asset_name("blake3:0123456789abcdef", "release:model/m/v1/model.json"),
            "model-0123456789ab.json"
        );
        assert_eq!(
            asset_name("blake3:0123456789abcdef", "release:model/m/v1/model.onnx"),
            "model-0123456789ab.onnx"
        );
    }
}
