//! Publishing a run: push the proposal's branch and open, update or leave its pull
//! request (the `publish` stage of DESIGN.md §3). The only stage with side effects on
//! git and GitHub; everything it publishes was computed before, in `pipeline`.

use crate::config::ModelConfig;
use crate::error::Error;
use crate::outcome::ModelRun;
pub use crate::outcome::{PrOperation, PublishedPr};

/// Where a run publishes: the git remote and GitHub.
#[derive(Debug, Clone)]
pub struct PublishTarget {
    pub remote: String,
    pub github: crate::forge::github::GitHubConfig,
    pub identity: crate::forge::git::Identity,
}

/// Pushes the proposal's branch and opens or updates its pull request.
pub async fn publish(
    run: &ModelRun,
    model: &ModelConfig,
    repo: &std::path::Path,
    target: &PublishTarget,
) -> Result<Option<PublishedPr>, Error> {
    use crate::forge::git::{publish_branch, BranchOperation, BranchRequest};
    use crate::forge::github::GitHub;
    let Some(proposal) = run.proposal(repo, model)? else {
        return Ok(None);
    };
    let body = run.pr_body(repo, model, &proposal)?;
    let plan = run.pr_plan(model, proposal.version);
    let (branch, title) = (plan.branch.clone(), plan.title.clone());
    let blessed = run.gate.as_ref().is_some_and(|g| g.blessed);
    if !plan.opens {
        return Ok(Some(PublishedPr {
            number: None,
            url: None,
            branch,
            operation: PrOperation::Skipped,
            reason: Some(
                "the candidate is not blessed and `pull_request.open_when_not_blessed` is false"
                    .into(),
            ),
            superseded: vec![],
        }));
    }
    // Store `dir:`: the artifact is on its shared disk before any pointer names it.
    if let (Some(c), Some(champion)) = (&run.artifact, &proposal.pointer.champion) {
        crate::registry::write_dir_artifact(repo, &champion.artifact.uri, &c.bytes).map_err(
            |(path, source)| Error::Io {
                context: format!(
                    "cannot write the artifact `{}` (store `dir:`); nothing was pushed",
                    path.display()
                ),
                source,
            },
        )?;
    }
    let gh = GitHub::new(&target.github).map_err(Error::GitHub)?;
    let existing = gh.find_pull_request(&branch).await.map_err(Error::GitHub)?;
    if let Some(pr) = &existing {
        if pr.state == "closed" {
            let merged = pr.merged_at.is_some();
            return Ok(Some(PublishedPr {
                number: Some(pr.number),
                url: Some(pr.html_url.clone()),
                branch,
                operation: PrOperation::Skipped,
                reason: Some(if merged {
                    "its pull request was merged already".into()
                } else {
                    "reviewers closed its pull request; it is not reopened for the same snapshot"
                        .into()
                }),
                superseded: vec![],
            }));
        }
    }
    // The PR identity is (model, snapshot, config): an open PR that carries it already
    // proposes exactly this, so a re-run changes nothing (trained_at and fit times would
    // otherwise make every re-run look new).
    if let Some(pr) = &existing {
        let same = pr
            .body
            .as_deref()
            .and_then(crate::report::documents::Marker::parse)
            .is_some_and(|m| {
                m.model == model.name.as_str()
                    && m.snapshot == run.check.snapshot
                    && m.config_hash == model.config_hash
            });
        if same {
            return Ok(Some(PublishedPr {
                number: Some(pr.number),
                url: Some(pr.html_url.clone()),
                branch,
                operation: PrOperation::Unchanged,
                reason: None,
                superseded: vec![],
            }));
        }
    }
    let message = format!(
        "retrain: {} v{} (snapshot {})",
        model.name,
        proposal.version,
        &run.check.snapshot[..12]
    );
    let token = crate::forge::git::Token::new(target.github.token.expose().to_string());
    let identity = model
        .pull_request
        .identity()
        .unwrap_or_else(|| target.identity.clone());
    let pushed = publish_branch(
        repo,
        &BranchRequest {
            remote: &target.remote,
            base: &model.pull_request.base,
            branch: &branch,
            files: &proposal.files,
            message: &message,
            identity: &identity,
            token: Some(&token),
            expect: &[],
        },
    )
    .map_err(Error::Git)?;
    if pushed.operation == BranchOperation::Skipped {
        return Ok(Some(PublishedPr {
            number: existing.as_ref().map(|p| p.number),
            url: existing.as_ref().map(|p| p.html_url.clone()),
            branch,
            operation: PrOperation::Skipped,
            reason: pushed.reason,
            superseded: vec![],
        }));
    }
    // Store `release`: the artifact is not in git; it waits in the draft release of its
    // version until `retrain promote` publishes it.
    if model.registry.artifacts == crate::config::ArtifactStore::Release {
        if let Some(c) = &run.artifact {
            crate::forge::promote::stage_release_artifact(
                &gh,
                model,
                proposal.version,
                &pushed.commit,
                &c.bytes,
                &c.digest,
            )
            .await?;
        }
    }
    let (pr, operation) = match existing {
        Some(pr)
            if pr.title == title
                && pr.body.as_deref() == Some(body.as_str())
                && pushed.operation == BranchOperation::Unchanged =>
        {
            (pr, PrOperation::Unchanged)
        }
        Some(pr) => (
            gh.update_pull_request(pr.number, &title, &body)
                .await
                .map_err(Error::GitHub)?,
            PrOperation::Updated,
        ),
        None => {
            let draft = plan.draft;
            let pr = match gh
                .create_pull_request(&title, &body, &branch, &model.pull_request.base, draft)
                .await
            {
                Ok(pr) => pr,
                // An earlier attempt created it but its response was lost (a dropped
                // connection, retried): take the one that exists.
                Err(crate::forge::github::GitHubError::Http {
                    status: 422,
                    message,
                    ..
                }) if message.contains("already exists") => gh
                    .find_pull_request(&branch)
                    .await
                    .map_err(Error::GitHub)?
                    .ok_or_else(|| {
                        Error::GitHub(crate::forge::github::GitHubError::Decode {
                            endpoint: "/pulls".into(),
                            message: format!(
                                "GitHub says a pull request for `{branch}` exists, but none was found"
                            ),
                        })
                    })?,
                Err(e) => return Err(Error::GitHub(e)),
            };
            gh.add_labels(pr.number, &model.pull_request.labels)
                .await
                .map_err(Error::GitHub)?;
            gh.request_reviewers(pr.number, &model.pull_request.reviewers)
                .await
                .map_err(Error::GitHub)?;
            (pr, PrOperation::Created)
        }
    };
    if operation != PrOperation::Unchanged {
        let summary = run
            .gate
            .as_ref()
            .map(|g| {
                g.checks
                    .iter()
                    .map(|c| format!("- [{}] {}", if c.passed { "x" } else { " " }, c.detail))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default();
        gh.check_run(
            &pushed.commit,
            &format!("retrain / {}", model.name),
            blessed,
            if blessed {
                "candidate blessed"
            } else {
                "candidate not blessed"
            },
            &summary,
        )
        .await
        .map_err(Error::GitHub)?;
    }
    // Older proposals of the same model are superseded by this one.
    let prefix = model.branch("");
    let mut superseded = Vec::new();
    for old in gh.open_pull_requests().await.map_err(Error::GitHub)? {
        // Only retrain proposals of this model, as their marker says: a newer candidate
        // closes neither a rollback nor a policy change from `backtest --apply`, nor a
        // person's pull request on a branch under the prefix.
        let proposal_of_this_model = old
            .body
            .as_deref()
            .and_then(crate::report::documents::Marker::parse)
            .is_some_and(|m| m.kind.is_none() && m.model == model.name.as_str());
        if old.number != pr.number && old.head.name.starts_with(&prefix) && proposal_of_this_model {
            gh.comment(
                old.number,
                &format!(
                    "Superseded by #{}: newer data (snapshot `{}`).",
                    pr.number,
                    &run.check.snapshot[..12]
                ),
            )
            .await
            .map_err(Error::GitHub)?;
            gh.close_pull_request(old.number)
                .await
                .map_err(Error::GitHub)?;
            superseded.push(old.number);
        }
    }
    Ok(Some(PublishedPr {
        number: Some(pr.number),
        url: Some(pr.html_url),
        branch,
        operation,
        reason: None,
        superseded,
    }))
}
