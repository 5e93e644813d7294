//! git: build the proposal's commit from the base branch without touching the working
//! tree (libgit2), and push it to the PR branch (the git command line, through
//! [`super::remote`]) — unless someone else committed on that branch, whose work is
//! never overwritten.
//!
//! The commit is made from the object database: the base commit's tree plus the
//! proposal's files, committed by the bot identity. Re-running on the same data gives
//! the same tree: the branch is left `unchanged`.

use std::path::Path;

use git2::{build::TreeUpdateBuilder, FileMode, Oid, Repository, Signature};
use serde::Serialize;

pub use super::git_error::{GitError, Token};
use super::remote::Remote;
pub use crate::outcome::TagOperation;

/// Who commits (`pull_request.author` in the config).
pub use crate::config::Identity;

pub(crate) fn git(context: &str) -> impl Fn(git2::Error) -> GitError + '_ {
    move |e| GitError::Git {
        context: context.to_string(),
        message: e.message().to_string(),
    }
}

/// The bytes of the file at `path` in `tree` (`None` when there is none); `context` says
/// where, for errors ("read a file of the base").
pub(crate) fn file_in(
    repo: &Repository,
    tree: &git2::Tree,
    path: &str,
    context: &str,
) -> Result<Option<Vec<u8>>, GitError> {
    match tree.get_path(Path::new(path)) {
        Ok(entry) => Ok(Some(
            entry
                .to_object(repo)
                .and_then(|o| o.peel_to_blob())
                .map_err(git(context))?
                .content()
                .to_vec(),
        )),
        Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
        Err(e) => Err(git(context)(e)),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BranchOperation {
    Created,
    Updated,
    Unchanged,
    /// The branch has commits from someone else: left alone.
    Skipped,
}

#[derive(Debug, Clone, Serialize)]
pub struct BranchOutcome {
    pub branch: String,
    pub operation: BranchOperation,
    /// The branch head after the operation.
    pub commit: String,
    pub base_commit: String,
    /// Why it was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What to publish.
pub struct BranchRequest<'a> {
    pub remote: &'a str,
    pub base: &'a str,
    pub branch: &'a str,
    pub files: &'a [(String, Vec<u8>)],
    pub message: &'a str,
    pub identity: &'a Identity,
    pub token: Option<&'a Token>,
    /// Files the proposal was computed from, as they must be on the base (`None`:
    /// absent). When the base has moved on, nothing is pushed: the proposal would
    /// silently revert someone's change.
    pub expect: &'a [(String, Option<Vec<u8>>)],
}

/// Commits the files on top of the base branch and pushes them to the branch.
pub fn publish_branch(repo_dir: &Path, req: &BranchRequest) -> Result<BranchOutcome, GitError> {
    let repo = Repository::discover(repo_dir).map_err(git("open the repository"))?;
    repo.find_remote(req.remote)
        .map_err(git("find the remote"))?;
    let remote = Remote {
        repo_dir,
        remote: req.remote,
        token: req.token,
    };
    // Which of the base and the PR branch the remote has, then fetch those.
    let (base_head, branch_head) = (
        format!("refs/heads/{}", req.base),
        format!("refs/heads/{}", req.branch),
    );
    let advertised = remote.list(&[base_head.clone(), branch_head.clone()])?;
    let has = |name: &str| advertised.iter().any(|r| r.name == name);
    let base_ref = format!("refs/remotes/{}/{}", req.remote, req.base);
    let branch_ref = format!("refs/remotes/{}/{}", req.remote, req.branch);
    let has_remote_branch = has(&branch_head);
    let mut refspecs = Vec::new();
    if has(&base_head) {
        refspecs.push(format!("+{base_head}:{base_ref}"));
    }
    if has_remote_branch {
        refspecs.push(format!("+{branch_head}:{branch_ref}"));
    }
    if !refspecs.is_empty() {
        remote.fetch("fetch the base branch", &refspecs)?;
    }

    let base = repo
        .find_reference(&base_ref)
        .or_else(|_| repo.find_reference(&format!("refs/heads/{}", req.base)))
        .map_err(|_| GitError::NoBase(req.base.to_string()))?
        .peel_to_commit()
        .map_err(git("read the base commit"))?;

    // Whose commits are on the branch already?
    let existing = if has_remote_branch {
        repo.find_reference(&branch_ref)
            .ok()
            .and_then(|r| r.peel_to_commit().ok())
    } else {
        None
    };
    if let Some(head) = &existing {
        let foreign = foreign_commits(&repo, head.id(), base.id(), &req.identity.email)?;
        if let Some((id, who)) = foreign.first() {
            return Ok(BranchOutcome {
                branch: req.branch.to_string(),
                operation: BranchOperation::Skipped,
                commit: head.id().to_string(),
                base_commit: base.id().to_string(),
                reason: Some(format!(
                    "the branch has {} commit(s) not made by retrain (e.g. {} by {who}); they are left as they are",
                    foreign.len(),
                    &id.to_string()[..8]
                )),
            });
        }
    }

    // The tree: the base's plus the proposal's files.
    let base_tree = base.tree().map_err(git("read the base tree"))?;
    for (path, expected) in req.expect {
        let actual = file_in(&repo, &base_tree, path, "read a file of the base")?;
        if actual != *expected {
            return Err(GitError::BaseMoved {
                base: req.base.to_string(),
                path: path.clone(),
            });
        }
    }
    let mut update = TreeUpdateBuilder::new();
    for (path, bytes) in req.files {
        // A snapshot manifest is named by its data: one the base holds describes the same
        // files (its `created_at` may differ, from another machine), and is kept.
        if path.starts_with(crate::snapshot::manifest::DIR)
            && base_tree.get_path(Path::new(path)).is_ok()
        {
            continue;
        }
        let blob = repo.blob(bytes).map_err(git("write a blob"))?;
        update.upsert(path.as_str(), blob, FileMode::Blob);
    }
    let tree_id = update
        .create_updated(&repo, &base_tree)
        .map_err(git("build the tree"))?;
    if let Some(head) = &existing {
        if head.tree_id() == tree_id {
            return Ok(BranchOutcome {
                branch: req.branch.to_string(),
                operation: BranchOperation::Unchanged,
                commit: head.id().to_string(),
                base_commit: base.id().to_string(),
                reason: None,
            });
        }
    }
    let tree = repo.find_tree(tree_id).map_err(git("read the tree"))?;
    let sig =
        Signature::now(&req.identity.name, &req.identity.email).map_err(git("the bot identity"))?;
    let commit = repo
        .commit(None, &sig, &sig, req.message, &tree, &[&base])
        .map_err(git("commit"))?;

    // Push through a private ref (libgit2 pushes references, not bare ids).
    let local = format!("refs/retrain/{}", req.branch);
    repo.reference(&local, commit, true, "retrain: proposal")
        .map_err(git("create a ref"))?;
    // Force: the branch holds only retrain's commits (checked above), so it may be
    // rewritten onto the current base.
    remote.push(req.branch, &[format!("+{local}:refs/heads/{}", req.branch)])?;
    Ok(BranchOutcome {
        branch: req.branch.to_string(),
        operation: if existing.is_some() {
            BranchOperation::Updated
        } else {
            BranchOperation::Created
        },
        commit: commit.to_string(),
        base_commit: base.id().to_string(),
        reason: None,
    })
}

/// Commits reachable from `head` but not from `base` whose author or committer is not `bot_email`.
fn foreign_commits(
    repo: &Repository,
    head: Oid,
    base: Oid,
    bot_email: &str,
) -> Result<Vec<(Oid, String)>, GitError> {
    let mut walk = repo.revwalk().map_err(git("walk the branch"))?;
    walk.push(head).map_err(git("walk the branch"))?;
    let _ = walk.hide(base);
    let mut out = Vec::new();
    for id in walk {
        let id = id.map_err(git("walk the branch"))?;
        let c = repo.find_commit(id).map_err(git("read a commit"))?;
        for who in [c.author(), c.committer()] {
            let email = who.email().unwrap_or_default().to_string();
            if email != bot_email {
                out.push((id, format!("{} <{email}>", who.name().unwrap_or_default())));
                break;
            }
        }
    }
    Ok(out)
}

/// Of `paths` (relative to `repo_dir`), those whose working-tree state differs from
/// `HEAD`, with how: `modified`, `not committed` (untracked), `deleted`, `staged but not
/// committed`. Git-ignored files are not git's to pin and are left out.
pub fn uncommitted(
    repo_dir: &Path,
    paths: &[String],
) -> Result<Vec<(String, &'static str)>, GitError> {
    let repo = Repository::discover(repo_dir).map_err(git("open the repository"))?;
    let Some(workdir) = repo.workdir() else {
        return Ok(Vec::new());
    };
    let workdir = workdir
        .canonicalize()
        .unwrap_or_else(|_| workdir.to_path_buf());
    let base = repo_dir
        .canonicalize()
        .unwrap_or_else(|_| repo_dir.to_path_buf());
    let prefix = base.strip_prefix(&workdir).unwrap_or(Path::new(""));
    let mut out = Vec::new();
    for rel in paths {
        let in_repo = if Path::new(rel).is_absolute() {
            let abs = Path::new(rel).canonicalize().unwrap_or_else(|_| rel.into());
            match abs.strip_prefix(&workdir) {
                Ok(p) => p.to_path_buf(),
                Err(_) => continue, // outside the repository: not git's to pin
            }
        } else {
            prefix.join(rel)
        };
        let status = match repo.status_file(&in_repo) {
            Ok(s) => s,
            Err(e) if e.code() == git2::ErrorCode::NotFound => continue,
            Err(e) => return Err(git("read the working tree's status")(e)),
        };
        use git2::Status;
        let state = if status.is_empty() || status.contains(Status::IGNORED) {
            continue;
        } else if status.contains(Status::WT_NEW) {
            "not committed"
        } else if status.intersects(Status::WT_DELETED | Status::INDEX_DELETED) {
            "deleted"
        } else if status
            .intersects(Status::WT_MODIFIED | Status::WT_TYPECHANGE | Status::WT_RENAMED)
        {
            "modified"
        } else {
            "staged but not committed"
        };
        out.push((rel.clone(), state));
    }
    Ok(out)
}

/// The commit `HEAD` points to, and the bytes of `path` in its tree (`None` when absent).
pub fn read_at_head(repo_dir: &Path, path: &str) -> Result<(String, Option<Vec<u8>>), GitError> {
    let repo = Repository::discover(repo_dir).map_err(git("open the repository"))?;
    let head = repo
        .head()
        .and_then(|h| h.peel_to_commit())
        .map_err(git("read HEAD"))?;
    let tree = head.tree().map_err(git("read HEAD's tree"))?;
    let bytes = file_in(&repo, &tree, path, "read a file at HEAD")?;
    Ok((head.id().to_string(), bytes))
}

/// An annotated tag to push.
pub struct TagRequest<'a> {
    pub remote: &'a str,
    pub name: &'a str,
    /// The commit it tags (hex).
    pub commit: &'a str,
    pub message: &'a str,
    pub identity: &'a Identity,
    pub token: Option<&'a Token>,
}

/// Creates the annotated tag and pushes it, unless the remote has it already on the
/// same commit. A tag of the same name on another commit is an error: promoted
/// versions are never moved.
pub fn push_tag(repo_dir: &Path, req: &TagRequest) -> Result<TagOperation, GitError> {
    let repo = Repository::discover(repo_dir).map_err(git("open the repository"))?;
    let target = Oid::from_str(req.commit).map_err(git("parse the commit id"))?;
    let full = format!("refs/tags/{}", req.name);
    let peeled = format!("{full}^{{}}");
    let remote = Remote {
        repo_dir,
        remote: req.remote,
        token: req.token,
    };
    let existing = {
        let heads = remote.list(std::slice::from_ref(&full))?;
        // An annotated tag is listed twice: the tag object, then `^{}` with the commit.
        let direct = heads.iter().find(|h| h.name == full).map(|h| h.oid.clone());
        let commit = heads
            .iter()
            .find(|h| h.name == peeled)
            .map(|h| h.oid.clone());
        commit.or(direct)
    };
    if let Some(at) = existing {
        if at == target.to_string() {
            return Ok(TagOperation::Unchanged);
        }
        return Err(GitError::TagMoved {
            tag: req.name.to_string(),
            at: at.to_string(),
            wanted: req.commit.to_string(),
        });
    }
    let object = repo
        .find_object(target, None)
        .map_err(git("find the commit to tag"))?;
    let sig =
        Signature::now(&req.identity.name, &req.identity.email).map_err(git("the bot identity"))?;
    repo.tag(req.name, &object, &sig, req.message, true)
        .map_err(git("create the tag"))?;
    remote.push(&full, &[format!("{full}:{full}")])?;
    Ok(TagOperation::Created)
}

/// Fetches `refs/tags/<tag>` from the remote and returns the bytes of `path` in the
/// tagged commit (`None` when the file is not there).
pub fn read_at_remote_tag(
    repo_dir: &Path,
    remote: &str,
    tag: &str,
    path: &str,
    token: Option<&Token>,
) -> Result<Option<Vec<u8>>, GitError> {
    let repo = Repository::discover(repo_dir).map_err(git("open the repository"))?;
    let local = format!("refs/retrain/tags/{tag}");
    Remote {
        repo_dir,
        remote,
        token,
    }
    .fetch("fetch the tag", &[format!("+refs/tags/{tag}:{local}")])?;
    let commit = repo
        .find_reference(&local)
        .and_then(|r| r.peel_to_commit())
        .map_err(git("read the tagged commit"))?;
    let tree = commit.tree().map_err(git("read the tagged tree"))?;
    file_in(&repo, &tree, path, "read a file at the tag")
}
