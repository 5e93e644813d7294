//! Shadow evaluation on git and GitHub (`evaluation.shadow`): the model's open retrain
//! pull request and its candidate as the branch holds it — the registry pointer, the
//! snapshot manifest and the artifact, whose digest is checked — and the pull request
//! brought up to date with the verdict: the out-of-time section of its body, its check
//! run, ready for review once the candidate passes, closed when it is beaten and
//! `close_when_beaten` is set. The scoring itself is `pipeline::shadow`'s.

use std::path::Path;

use crate::config::ModelConfig;
use crate::error::Error;
use crate::forge::git::{GitError, Token};
use crate::forge::github::{GitHub, PullRequest};
use crate::forge::publish::PublishTarget;
use crate::forge::remote::Remote;
use crate::outcome::{CheckState, Marker, ShadowOperation, ShadowReport, ShadowStatus};
use crate::registry::{self, ModelVersion};
use crate::snapshot::{Manifest, Store};
use crate::train::model::ModelArtifact;

/// The model's open retrain pull request.
pub struct OpenCandidate {
    pub pr: PullRequest,
    /// The branch head the candidate was read from (where its check run goes).
    pub head: String,
    /// The candidate, or why it cannot be trusted.
    pub candidate: Result<Candidate, String>,
}

/// A candidate as its pull request's branch records it.
pub struct Candidate {
    pub version: ModelVersion,
    pub artifact: ModelArtifact,
    /// The manifest of the data it was trained on: rows newer than it are out of time.
    pub snapshot: Manifest,
    /// Whether the gate blessed it on its holdout (an unblessed candidate is not held
    /// under shadow evaluation: nothing would make it ready).
    pub blessed: bool,
}

/// The newest open retrain pull request of `model` (as its marker says), its branch
/// fetched and its candidate read; `None` without one.
pub async fn open_candidate(
    repo: &Path,
    model: &ModelConfig,
    target: &PublishTarget,
) -> Result<Option<OpenCandidate>, Error> {
    let gh = GitHub::new(&target.github).map_err(Error::GitHub)?;
    let token = Token::new(target.github.token.expose().to_string());
    let open = gh.open_pull_requests().await.map_err(Error::GitHub)?;
    let Some(pr) = open
        .into_iter()
        .filter(|pr| {
            pr.body
                .as_deref()
                .and_then(Marker::parse)
                .is_some_and(|m| m.kind.is_none() && m.model == model.name.as_str())
        })
        .max_by_key(|pr| pr.number)
    else {
        return Ok(None);
    };
    let local = format!("refs/retrain/shadow/{}", pr.head.name);
    let fetched = Remote {
        repo_dir: repo,
        remote: &target.remote,
        token: Some(&token),
    }
    .fetch(
        "fetch the open model pull request's branch",
        &[format!("+refs/heads/{}:{local}", pr.head.name)],
    );
    if let Err(e) = fetched {
        // a branch deleted under an open pull request: nothing to read, nothing lost
        return Ok(Some(OpenCandidate {
            head: pr.head.sha.clone(),
            candidate: Err(format!(
                "its branch `{}` cannot be fetched: {e}",
                pr.head.name
            )),
            pr,
        }));
    }
    let (head, read) = read_branch(repo, &local, model).map_err(Error::Git)?;
    let candidate = match read {
        Err(why) => Err(why),
        Ok(b) => load(&gh, repo, model, b).await,
    };
    Ok(Some(OpenCandidate {
        pr,
        head,
        candidate,
    }))
}

/// What the branch holds: the candidate's version, its snapshot's manifest, its
/// artifact's bytes when they are in git, and whether it was blessed.
struct OnBranch {
    version: ModelVersion,
    snapshot: Manifest,
    artifact: Option<Vec<u8>>,
    blessed: bool,
}

/// The branch head, and the candidate it records (or why it records none usable).
fn read_branch(
    repo: &Path,
    local: &str,
    model: &ModelConfig,
) -> Result<(String, Result<OnBranch, String>), GitError> {
    use crate::forge::git::{file_in, git};
    let r = git2::Repository::discover(repo).map_err(git("open the repository"))?;
    let commit = r
        .find_reference(local)
        .and_then(|x| x.peel_to_commit())
        .map_err(git("read the pull request's branch"))?;
    let tree = commit
        .tree()
        .map_err(git("read the pull request's branch"))?;
    let blob = |path: &str| file_in(&r, &tree, path, "read a file of the branch");
    let head = commit.id().to_string();
    let rel = format!("{}/{}", model.registry.path, registry::FILE);
    let Some(text) = blob(&rel)? else {
        return Ok((head, Err(format!("the branch has no `{rel}`"))));
    };
    let version = match registry::parse(rel.clone(), &String::from_utf8_lossy(&text)) {
        Ok(p) => match p.champion {
            Some(v) => v,
            None => return Ok((head, Err(format!("`{rel}` on the branch names no model")))),
        },
        Err(e) => return Ok((head, Err(format!("on the branch: {e}")))),
    };
    let manifest_rel = Store::rel_path(&version.snapshot);
    let snapshot = match blob(&manifest_rel)? {
        Some(bytes) => serde_yaml::from_slice::<Manifest>(&bytes)
            .map_err(|e| format!("`{manifest_rel}` on the branch: {e}"))
            .and_then(|m| match m.id == version.snapshot {
                true => Ok(m),
                false => Err(format!(
                    "`{manifest_rel}` on the branch is the manifest of `{}`",
                    m.id
                )),
            }),
        // a pull request from before retrain committed manifests: the local store's
        None => Store::new(repo).read(&version.snapshot).map_err(|_| {
            format!(
                "the candidate's snapshot manifest `{manifest_rel}` is neither on its branch nor here, so which rows are newer cannot be told"
            )
        }),
    };
    let snapshot = match snapshot {
        Ok(s) => s,
        Err(why) => return Ok((head, Err(why))),
    };
    let in_git = !(version.artifact.uri.starts_with("dir:")
        || version.artifact.uri.starts_with("release:")
        || version.artifact.uri.contains("://"));
    let artifact = match in_git {
        true => {
            let path = format!("{}/{}", model.registry.path, version.artifact.uri);
            match blob(&path)? {
                Some(bytes) => Some(bytes),
                None => {
                    return Ok((
                        head,
                        Err(format!(
                            "the candidate's artifact `{path}` is not on its branch"
                        )),
                    ))
                }
            }
        }
        false => None,
    };
    let metrics = format!(
        "{}/versions/{}/metrics.json",
        model.registry.path, version.version
    );
    let blessed = blob(&metrics)?
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v["gate"]["blessed"].as_bool())
        .unwrap_or(false);
    Ok((
        head,
        Ok(OnBranch {
            version,
            snapshot,
            artifact,
            blessed,
        }),
    ))
}

/// The candidate's artifact, from the branch or its store, its digest checked.
async fn load(
    gh: &GitHub,
    repo: &Path,
    model: &ModelConfig,
    b: OnBranch,
) -> Result<Candidate, String> {
    let why = |e: String| format!("the candidate's artifact: {e}");
    let artifact = match &b.artifact {
        Some(bytes) => registry::artifact_from_bytes(&b.version, bytes).map_err(|e| e.to_string()),
        None => {
            if b.version.artifact.uri.starts_with("release:") {
                crate::forge::promote::fetch_release_artifact(gh, repo, model, &b.version)
                    .await
                    .map_err(|e| why(e.to_string()))?;
            }
            registry::load_artifact(repo, Path::new(&model.registry.path), &b.version)
                .map(|(a, _)| a)
                .map_err(|e| e.to_string())
        }
    }
    .map_err(why)?;
    Ok(Candidate {
        version: b.version,
        artifact,
        snapshot: b.snapshot,
        blessed: b.blessed,
    })
}

/// Brings the pull request up to date with `report`: its body's shadow section and its
/// check run when they changed; ready for review once the candidate passed (a draft);
/// closed, with a comment, when it is beaten and `close_when_beaten` is set. The same
/// report again changes nothing.
pub async fn publish(
    target: &PublishTarget,
    model: &ModelConfig,
    open: &OpenCandidate,
    report: &ShadowReport,
) -> Result<ShadowOperation, Error> {
    let gh = GitHub::new(&target.github).map_err(Error::GitHub)?;
    let close_when_beaten = model
        .evaluation
        .shadow
        .as_ref()
        .is_some_and(|s| s.close_when_beaten);
    let number = open.pr.number;
    let body = open.pr.body.clone().unwrap_or_default();
    let section = crate::report::shadow::section(report, close_when_beaten);
    let updated = crate::report::shadow::with_section(&body, &section);
    let changed = updated != body;
    if changed {
        gh.update_pull_request(number, &open.pr.title, &updated)
            .await
            .map_err(Error::GitHub)?;
        let (state, title) = match report.status {
            ShadowStatus::Pending => (
                CheckState::Pending,
                format!(
                    "shadow evaluation pending ({} of {} newer rows)",
                    report.rows, report.min_rows
                ),
            ),
            ShadowStatus::Passed => (
                CheckState::Success,
                format!(
                    "candidate passed the shadow evaluation ({} newer rows)",
                    report.rows
                ),
            ),
            ShadowStatus::Failed => (
                CheckState::Failure,
                format!(
                    "candidate beaten in the shadow evaluation ({} newer rows)",
                    report.rows
                ),
            ),
            ShadowStatus::Refused => (
                CheckState::Failure,
                "shadow evaluation refused the candidate".to_string(),
            ),
        };
        gh.check_run(
            &open.head,
            &format!("retrain / {}", model.name),
            state,
            &title,
            &section,
        )
        .await
        .map_err(Error::GitHub)?;
    }
    // acted on whether or not the body changed, so that a run cut off after the update
    // converges on the next one
    match report.status {
        ShadowStatus::Passed if open.pr.draft == Some(true) => {
            gh.ready_for_review(&open.pr.node_id)
                .await
                .map_err(Error::GitHub)?;
            Ok(ShadowOperation::Ready)
        }
        ShadowStatus::Failed if close_when_beaten => {
            gh.comment(
                number,
                &format!(
                    "Closed: the champion beat this candidate on {} labelled rows newer than its snapshot (`evaluation.shadow.close_when_beaten`).",
                    report.rows
                ),
            )
            .await
            .map_err(Error::GitHub)?;
            gh.close_pull_request(number).await.map_err(Error::GitHub)?;
            Ok(ShadowOperation::Closed)
        }
        _ if changed => Ok(ShadowOperation::Updated),
        _ => Ok(ShadowOperation::Unchanged),
    }
}
