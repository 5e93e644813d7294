//! Publishing (the `publish` stage of DESIGN.md §3): a [`Proposal`] carried out —
//! the artifact uploaded where its store says, the branch pushed, the pull request
//! opened, brought up to date or left alone, its check run reported, and older retrain
//! proposals of the model superseded. The only stage with side effects on git and
//! GitHub; it decides nothing the proposal does not say.

use crate::error::Error;
use crate::forge::git::{publish_branch, BranchOperation, BranchRequest, Token};
use crate::forge::github::{GitHub, GitHubError};
use crate::outcome::{Marker, Proposal, ProposalKind, Upload};
pub use crate::outcome::{PrOperation, PublishedPr};

/// Where a proposal is published: the git remote and GitHub.
#[derive(Debug, Clone)]
pub struct PublishTarget {
    pub remote: String,
    pub github: crate::forge::github::GitHubConfig,
    pub identity: crate::forge::git::Identity,
}

/// Carries out the proposal; the same proposal again changes nothing.
pub async fn open_or_update(
    repo: &std::path::Path,
    p: &Proposal,
    target: &PublishTarget,
) -> Result<PublishedPr, Error> {
    let branch = p.branch.clone();
    let published = |number, url, operation, reason: Option<String>| PublishedPr {
        number,
        url,
        branch: branch.clone(),
        operation,
        reason,
        superseded: vec![],
    };
    if let Some(why) = &p.withheld {
        return Ok(published(
            None,
            None,
            PrOperation::Skipped,
            Some(why.clone()),
        ));
    }
    let gh = GitHub::new(&target.github).map_err(Error::GitHub)?;
    let existing = gh.find_pull_request(&branch).await.map_err(Error::GitHub)?;
    if let Some(pr) = existing.as_ref().filter(|pr| pr.state == "closed") {
        let (merged, closed) = &p.closed_reasons;
        let reason = if pr.merged_at.is_some() {
            merged
        } else {
            closed
        };
        return Ok(published(
            Some(pr.number),
            Some(pr.html_url.clone()),
            PrOperation::Skipped,
            Some(reason.clone()),
        ));
    }
    // A retrain PR's identity is (model, snapshot, config): an open PR that carries it
    // already proposes exactly this, so a re-run changes nothing (trained_at and fit
    // times would otherwise make every re-run look new).
    if let (ProposalKind::Retrain, Some(marker), Some(pr)) = (p.kind, &p.marker, &existing) {
        if pr
            .body
            .as_deref()
            .and_then(Marker::parse)
            .is_some_and(|m| m.same_identity(marker))
        {
            return Ok(published(
                Some(pr.number),
                Some(pr.html_url.clone()),
                PrOperation::Unchanged,
                None,
            ));
        }
    }
    // Store `dir:`: the artifact is on its shared disk before any pointer names it.
    if let Some(crate::outcome::ArtifactUpload {
        to: Upload::Dir,
        files,
    }) = &p.upload
    {
        for f in files {
            crate::registry::write_dir_artifact(repo, &f.uri, &f.bytes).map_err(
                |(path, source)| Error::Io {
                    context: format!(
                        "cannot write the artifact `{}` (store `dir:`); nothing was pushed",
                        path.display()
                    ),
                    source,
                },
            )?;
        }
    }
    // An object store: the same, with one PUT per file (skipped when already there).
    if let Some(crate::outcome::ArtifactUpload {
        to: Upload::Object,
        files,
    }) = &p.upload
    {
        for f in files {
            crate::data::remote::put(&f.uri, f.bytes.clone()).map_err(|e| Error::Io {
                context: format!("cannot upload the artifact `{}`; nothing was pushed", f.uri),
                source: std::io::Error::other(e.to_string()),
            })?;
        }
    }
    let token = Token::new(target.github.token.expose().to_string());
    let pushed = publish_branch(
        repo,
        &BranchRequest {
            remote: &target.remote,
            base: &p.base,
            branch: &branch,
            files: &p.files,
            message: &p.commit_message,
            identity: p.author.as_ref().unwrap_or(&target.identity),
            token: Some(&token),
            expect: &p.expect,
        },
    )
    .map_err(Error::Git)?;
    if pushed.operation == BranchOperation::Skipped {
        return Ok(published(
            existing.as_ref().map(|pr| pr.number),
            existing.map(|pr| pr.html_url),
            PrOperation::Skipped,
            pushed.reason,
        ));
    }
    // Store `release`: the artifact is not in git; it waits in the draft release of its
    // version until `retrain promote` publishes it.
    if let Some(
        u @ crate::outcome::ArtifactUpload {
            to: Upload::Release { .. },
            ..
        },
    ) = &p.upload
    {
        stage_release_artifacts(&gh, u, &pushed.commit).await?;
    }
    let branch_unchanged = pushed.operation == BranchOperation::Unchanged;
    let (pr, operation) = match existing {
        Some(pr)
            if pr.title == p.title
                && (pr.body.as_deref() == Some(p.body.as_str())
                    || (p.volatile_body && branch_unchanged)) =>
        {
            let operation = if branch_unchanged {
                PrOperation::Unchanged
            } else {
                PrOperation::Updated
            };
            (pr, operation)
        }
        Some(pr) => (
            gh.update_pull_request(pr.number, &p.title, &p.body)
                .await
                .map_err(Error::GitHub)?,
            PrOperation::Updated,
        ),
        None => {
            let pr = match gh
                .create_pull_request(&p.title, &p.body, &branch, &p.base, p.draft)
                .await
            {
                Ok(pr) => pr,
                // An earlier attempt created it but its response was lost (a dropped
                // connection, retried): take the one that exists.
                Err(GitHubError::Http {
                    status: 422,
                    message,
                    ..
                }) if message.contains("already exists") => gh
                    .find_pull_request(&branch)
                    .await
                    .map_err(Error::GitHub)?
                    .ok_or_else(|| {
                        Error::GitHub(GitHubError::Decode {
                            endpoint: "/pulls".into(),
                            message: format!(
                                "GitHub says a pull request for `{branch}` exists, but none was found"
                            ),
                        })
                    })?,
                Err(e) => return Err(Error::GitHub(e)),
            };
            gh.add_labels(pr.number, &p.labels)
                .await
                .map_err(Error::GitHub)?;
            gh.request_reviewers(pr.number, &p.reviewers)
                .await
                .map_err(Error::GitHub)?;
            (pr, PrOperation::Created)
        }
    };
    if let (Some(check), false) = (&p.check, operation == PrOperation::Unchanged) {
        gh.check_run(
            &pushed.commit,
            &check.name,
            check.state,
            &check.title,
            &check.summary,
        )
        .await
        .map_err(Error::GitHub)?;
    }
    let superseded = match (p.kind, &p.marker) {
        (ProposalKind::Retrain, Some(marker)) => supersede(&gh, pr.number, marker).await?,
        _ => vec![],
    };
    Ok(PublishedPr {
        number: Some(pr.number),
        url: Some(pr.html_url),
        branch,
        operation,
        reason: None,
        superseded,
    })
}

/// Closes the open retrain proposals of the same model, as their markers say: a newer
/// candidate closes neither a rollback nor a policy change from `backtest --apply`, nor
/// a person's pull request, whatever its branch is called.
async fn supersede(gh: &GitHub, number: u64, marker: &Marker) -> Result<Vec<u64>, Error> {
    let mut superseded = Vec::new();
    for old in gh.open_pull_requests().await.map_err(Error::GitHub)? {
        let retrain_proposal_of_the_model = old
            .body
            .as_deref()
            .and_then(Marker::parse)
            .is_some_and(|m| m.kind.is_none() && m.model == marker.model);
        if old.number == number || !retrain_proposal_of_the_model {
            continue;
        }
        gh.comment(
            old.number,
            &format!(
                "Superseded by #{number}: newer data (snapshot `{}`).",
                &marker.snapshot[..marker.snapshot.len().min(12)]
            ),
        )
        .await
        .map_err(Error::GitHub)?;
        gh.close_pull_request(old.number)
            .await
            .map_err(Error::GitHub)?;
        superseded.push(old.number);
    }
    Ok(superseded)
}

/// Uploads a candidate's artifact files to the draft release of its version (store
/// `release`), so that promotion can publish them. Idempotent: an asset with the same
/// digest is not uploaded twice.
async fn stage_release_artifacts(
    gh: &GitHub,
    upload: &crate::outcome::ArtifactUpload,
    commit: &str,
) -> Result<(), Error> {
    let Upload::Release {
        tag,
        title,
        registry_file,
    } = &upload.to
    else {
        return Ok(());
    };
    let release = match gh.find_release(tag).await.map_err(Error::GitHub)? {
        Some(r) if !r.draft => {
            return Err(Error::Registry(crate::registry::RegistryError::Invalid {
                path: registry_file.clone(),
                message: format!(
                    "the release `{tag}` is published already; the registry on the base branch is behind its releases"
                ),
            }))
        }
        Some(r) => r,
        None => gh
            .create_release(
                tag,
                title,
                "Draft made by `retrain run` for the candidate's artifact. `retrain promote` publishes it when the model pull request is merged.",
                true,
                Some(commit),
            )
            .await
            .map_err(Error::GitHub)?,
    };
    for f in &upload.files {
        let digest = f.digest.as_str();
        if release
            .assets
            .iter()
            .any(|a| a.label.as_deref() == Some(digest))
        {
            continue;
        }
        gh.upload_asset(&release, &asset_name(digest, &f.uri), digest, &f.bytes)
            .await
            .map_err(Error::GitHub)?;
    }
    Ok(())
}

/// The name of a release asset: `model-<digest prefix>.<extension of uri>` (the label
/// carries the whole digest, which promotion checks).
pub(crate) fn asset_name(digest: &str, uri: &str) -> String {
    let hex = digest.split_once(':').map_or(digest, |(_, h)| h);
    let ext = uri.rsplit_once('.').map_or("json", |(_, e)| e);
    format!("model-{}.{ext}", &hex[..hex.len().min(12)])
}
