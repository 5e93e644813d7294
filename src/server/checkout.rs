//! The bot's working copy of a repository: cloned once, then fetched and checked out
//! at the tip of the default branch for each job.

use std::path::Path;

use crate::forge::git::{GitError, Token};
use crate::forge::remote::Remote;

/// A fresh clone, or a fetch of `branch` (the git command line, with the token), then a
/// forced checkout of its tip.
pub(super) fn checkout(dir: &Path, url: &str, branch: &str, token: &str) -> Result<(), GitError> {
    let local = |context: &'static str| {
        move |e: git2::Error| GitError::Git {
            context: context.to_string(),
            message: e.message().to_string(),
        }
    };
    // a job killed mid-checkout leaves the index locked; jobs of a repository are serial
    let _ = std::fs::remove_file(dir.join(".git/index.lock"));
    let repo = match git2::Repository::open(dir) {
        Ok(r) => r,
        Err(_) => {
            let _ = std::fs::remove_dir_all(dir);
            if let Some(parent) = dir.parent() {
                std::fs::create_dir_all(parent).map_err(|e| GitError::Git {
                    context: format!("create {}", parent.display()),
                    message: e.to_string(),
                })?;
            }
            git2::Repository::init(dir).map_err(local("create the checkout"))?
        }
    };
    if repo.find_remote("origin").is_err() {
        repo.remote("origin", url)
            .map_err(local("add the remote"))?;
    } else {
        repo.remote_set_url("origin", url)
            .map_err(local("set the remote"))?;
    }
    let token = Token::new(token.to_string());
    let tracking = format!("refs/remotes/origin/{branch}");
    Remote {
        repo_dir: dir,
        remote: "origin",
        token: Some(&token),
    }
    .fetch(
        "fetch the default branch",
        &[format!("+refs/heads/{branch}:{tracking}")],
    )?;
    let checkout = || -> Result<(), git2::Error> {
        let oid = repo.refname_to_id(&tracking)?;
        let commit = repo.find_commit(oid)?;
        repo.set_head_detached(oid)?;
        repo.branch(branch, &commit, true)?;
        repo.set_head(&format!("refs/heads/{branch}"))?;
        repo.checkout_head(Some(git2::build::CheckoutBuilder::new().force()))
    };
    checkout().map_err(local("check out the default branch"))
}
