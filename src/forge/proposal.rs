//! A pull request that proposes files (a rollback's registry pointer, a backtest's
//! retraining policy): the branch is built from the base with the files, pushed, and
//! the pull request opened or brought up to date. The branch name is the proposal's
//! identity, so a re-run with the same content leaves everything unchanged; a branch
//! someone else committed to is never overwritten, and a closed pull request is not
//! reopened.

use crate::error::Error;
use crate::forge::git::{publish_branch, BranchOperation, BranchRequest, Token};
use crate::forge::github::GitHub;
use crate::forge::publish::{PrOperation, PublishTarget, PublishedPr};

/// What to propose.
#[derive(Debug, Clone)]
pub struct FileProposal<'a> {
    pub base: &'a str,
    pub branch: String,
    pub title: String,
    pub body: String,
    /// (path relative to the repository root, content)
    pub files: Vec<(String, Vec<u8>)>,
    pub labels: Vec<String>,
    pub reviewers: Vec<String>,
    /// Who commits (the model's `pull_request.author`), else the target's identity.
    pub identity: Option<crate::forge::git::Identity>,
    /// Files as the proposal read them (path, content; `None`: absent): the base must
    /// still hold them, else nothing is pushed.
    pub expect: Vec<(String, Option<Vec<u8>>)>,
    /// Why a closed pull request is left alone: (merged, closed unmerged).
    pub closed_reasons: (&'a str, &'a str),
    /// The body carries figures that change from run to run (timings): when the
    /// branch is unchanged, the open pull request is left as it is.
    pub volatile_body: bool,
}

/// Pushes the branch and opens (or updates) its pull request.
pub fn propose(
    repo: &std::path::Path,
    target: &PublishTarget,
    p: &FileProposal,
) -> Result<PublishedPr, Error> {
    let token = Token::new(target.github.token.expose().to_string());
    let rt = super::runtime()?;
    let _guard = rt.enter();
    let gh = GitHub::new(&target.github).map_err(Error::GitHub)?;
    let branch = p.branch.clone();
    let existing = rt
        .block_on(gh.find_pull_request(&branch))
        .map_err(Error::GitHub)?;
    if let Some(pr) = existing.as_ref().filter(|pr| pr.state == "closed") {
        return Ok(PublishedPr {
            number: Some(pr.number),
            url: Some(pr.html_url.clone()),
            branch,
            operation: PrOperation::Skipped,
            reason: Some(if pr.merged_at.is_some() {
                p.closed_reasons.0.to_string()
            } else {
                p.closed_reasons.1.to_string()
            }),
            superseded: vec![],
        });
    }
    let pushed = publish_branch(
        repo,
        &BranchRequest {
            remote: &target.remote,
            base: p.base,
            branch: &branch,
            files: &p.files,
            message: &p.title,
            identity: p.identity.as_ref().unwrap_or(&target.identity),
            token: Some(&token),
            expect: &p.expect,
        },
    )
    .map_err(Error::Git)?;
    let published = |number, url, operation, reason| PublishedPr {
        number,
        url,
        branch: branch.clone(),
        operation,
        reason,
        superseded: vec![],
    };
    Ok(match (existing, pushed.operation) {
        (existing, BranchOperation::Skipped) => published(
            existing.as_ref().map(|pr| pr.number),
            existing.map(|pr| pr.html_url),
            PrOperation::Skipped,
            pushed.reason,
        ),
        (Some(pr), op)
            if pr.title == p.title
                && (pr.body.as_deref() == Some(p.body.as_str())
                    || (p.volatile_body && op == BranchOperation::Unchanged)) =>
        {
            let operation = if op == BranchOperation::Unchanged {
                PrOperation::Unchanged
            } else {
                PrOperation::Updated
            };
            published(Some(pr.number), Some(pr.html_url), operation, None)
        }
        (Some(pr), _) => {
            let pr = rt
                .block_on(gh.update_pull_request(pr.number, &p.title, &p.body))
                .map_err(Error::GitHub)?;
            published(
                Some(pr.number),
                Some(pr.html_url),
                PrOperation::Updated,
                None,
            )
        }
        (None, _) => {
            let pr = rt
                .block_on(gh.create_pull_request(&p.title, &p.body, &branch, p.base, false))
                .map_err(Error::GitHub)?;
            rt.block_on(gh.add_labels(pr.number, &p.labels))
                .map_err(Error::GitHub)?;
            rt.block_on(gh.request_reviewers(pr.number, &p.reviewers))
                .map_err(Error::GitHub)?;
            published(
                Some(pr.number),
                Some(pr.html_url),
                PrOperation::Created,
                None,
            )
        }
    })
}
