//! GitHub's webhook payloads, parsed with octocrab's event types, turned into the
//! small [`Event`] the bot acts on. Nothing past this module sees raw JSON.

use octocrab::models::webhook_events::payload::{
    InstallationWebhookEventAction, IssueCommentWebhookEventAction, PullRequestWebhookEventAction,
};
use octocrab::models::webhook_events::{WebhookEvent, WebhookEventPayload};
use serde::{Deserialize, Serialize};

use crate::report::documents::Marker;

/// A repository as the bot needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repo {
    /// `owner/name`.
    pub full_name: String,
    /// Where to clone from (`None`: asked from the API when needed).
    pub clone_url: Option<String>,
    pub default_branch: Option<String>,
    /// The app installation the delivery came through.
    pub installation: Option<u64>,
}

/// `/retrain [model] [--force] [--dry-run]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetrainCommand {
    pub model: Option<String>,
    pub force: bool,
    pub dry_run: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Ping,
    /// A push to the default branch; `changed` is `None` when the payload cannot list
    /// every changed file (GitHub lists at most 20 commits).
    Push {
        repo: Repo,
        after: String,
        changed: Option<Vec<String>>,
    },
    /// A `/retrain` comment; `command` is the parse error to reply with when it is malformed.
    Comment {
        repo: Repo,
        issue: u64,
        comment_id: u64,
        author: String,
        command: Result<RetrainCommand, CommandError>,
    },
    /// A merged retrain pull request.
    Merged {
        repo: Repo,
        number: u64,
        model: String,
    },
    /// The app was installed on / removed from repositories.
    Track {
        installation: u64,
        added: Vec<String>,
        removed: Vec<String>,
    },
    /// Valid, but nothing to do (the reason is recorded as the delivery's outcome).
    Ignored(String),
}

impl Event {
    /// What is recorded for it (metrics label, delivery outcome).
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Ping => "ping",
            Event::Push { .. } => "push",
            Event::Comment { .. } => "command",
            Event::Merged { .. } => "merged",
            Event::Track { .. } => "track",
            Event::Ignored(_) => "ignored",
        }
    }
}

/// The events the bot handles; any other is acknowledged and ignored.
pub const HANDLED: &[&str] = &[
    "ping",
    "push",
    "issue_comment",
    "pull_request",
    "installation",
    "installation_repositories",
];

/// Parses a delivery (its signature already verified).
pub fn parse(kind: &str, body: &[u8]) -> Result<Event, serde_json::Error> {
    if !HANDLED.contains(&kind) {
        serde_json::from_slice::<serde::de::IgnoredAny>(body)?;
        return Ok(Event::Ignored(format!("event `{kind}` is not handled")));
    }
    let event = WebhookEvent::try_from_header_and_body(kind, body)?;
    let installation = event.installation.as_ref().map(|i| i.id().0);
    let repo = event.repository.as_ref().and_then(|r| {
        Some(Repo {
            full_name: r.full_name.clone()?,
            clone_url: r.clone_url.as_ref().map(|u| u.to_string()),
            default_branch: r.default_branch.clone(),
            installation,
        })
    });
    let ignored = |why: &str| Ok(Event::Ignored(why.to_string()));
    Ok(match event.specific {
        WebhookEventPayload::Ping(_) => Event::Ping,
        WebhookEventPayload::Push(p) => {
            let Some(repo) = repo else {
                return ignored("push without a repository");
            };
            let default = repo.default_branch.clone().unwrap_or_else(|| "main".into());
            if p.deleted || p.r#ref != format!("refs/heads/{default}") {
                return ignored("push to another branch than the default");
            }
            let mut commits: Vec<_> = p.commits.iter().collect();
            if commits.is_empty() {
                commits.extend(p.head_commit.as_ref());
            }
            let changed = (p.commits.len() < 20 && !commits.is_empty()).then(|| {
                let mut files: Vec<String> = commits
                    .iter()
                    .flat_map(|c| c.added.iter().chain(&c.modified).chain(&c.removed))
                    .cloned()
                    .collect();
                files.sort();
                files.dedup();
                files
            });
            Event::Push {
                repo,
                after: p.after.clone(),
                changed,
            }
        }
        WebhookEventPayload::IssueComment(p) => {
            let Some(repo) = repo else {
                return ignored("comment without a repository");
            };
            if p.action != IssueCommentWebhookEventAction::Created {
                return ignored("comment edited or deleted");
            }
            let body = p.comment.body.as_deref().unwrap_or_default();
            let Some(command) = parse_command(body) else {
                return ignored("comment without /retrain");
            };
            if p.comment.user.r#type == "Bot" {
                return ignored("comment by a bot");
            }
            Event::Comment {
                repo,
                issue: p.issue.number,
                comment_id: p.comment.id.0,
                author: p.comment.user.login.clone(),
                command,
            }
        }
        WebhookEventPayload::PullRequest(p) => {
            let Some(repo) = repo else {
                return ignored("pull request without a repository");
            };
            let merged = p.pull_request.merged_at.is_some() || p.pull_request.merged == Some(true);
            if p.action != PullRequestWebhookEventAction::Closed || !merged {
                return ignored("pull request not merged");
            }
            let marker = p.pull_request.body.as_deref().and_then(Marker::parse);
            let Some(marker) = marker else {
                return ignored("merged pull request without the retrain marker");
            };
            Event::Merged {
                repo,
                number: p.number,
                model: marker.model,
            }
        }
        WebhookEventPayload::Installation(p) => {
            let Some(installation) = installation else {
                return ignored("installation event without an installation");
            };
            let names: Vec<String> = p
                .repositories
                .iter()
                .flatten()
                .map(|r| r.full_name.clone())
                .collect();
            match p.action {
                InstallationWebhookEventAction::Created
                | InstallationWebhookEventAction::Unsuspend
                | InstallationWebhookEventAction::NewPermissionsAccepted => Event::Track {
                    installation,
                    added: names,
                    removed: vec![],
                },
                InstallationWebhookEventAction::Deleted
                | InstallationWebhookEventAction::Suspend => Event::Track {
                    installation,
                    added: vec![],
                    removed: names,
                },
                _ => return ignored("installation action not handled"),
            }
        }
        WebhookEventPayload::InstallationRepositories(p) => {
            let Some(installation) = installation else {
                return ignored("installation event without an installation");
            };
            Event::Track {
                installation,
                added: p
                    .repositories_added
                    .iter()
                    .map(|r| r.full_name.clone())
                    .collect(),
                removed: p
                    .repositories_removed
                    .iter()
                    .map(|r| r.full_name.clone())
                    .collect(),
            }
        }
        _ => return ignored("event not handled"),
    })
}

/// A malformed `/retrain` command (the bot replies with it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("unknown option `{0}`; usage: `/retrain [model] [--force] [--dry-run]`")]
    UnknownOption(String),
    #[error("`{0}` is not a model name; usage: `/retrain [model] [--force] [--dry-run]`")]
    NotAModel(String),
}

/// `/retrain [model] [--force] [--dry-run]` on the comment's first non-empty line;
/// `None` when the comment is not a command, `Err` when it is a malformed one.
pub fn parse_command(body: &str) -> Option<Result<RetrainCommand, CommandError>> {
    let line = body.lines().map(str::trim).find(|l| !l.is_empty())?;
    let mut words = line.split_whitespace();
    if words.next() != Some("/retrain") {
        return None;
    }
    let mut cmd = RetrainCommand {
        model: None,
        force: false,
        dry_run: false,
    };
    for w in words {
        match w {
            "--force" => cmd.force = true,
            "--dry-run" => cmd.dry_run = true,
            w if w.starts_with('-') => {
                return Some(Err(CommandError::UnknownOption(w.to_string())))
            }
            w if cmd.model.is_none()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') =>
            {
                cmd.model = Some(w.to_string())
            }
            w => return Some(Err(CommandError::NotAModel(w.to_string()))),
        }
    }
    Some(Ok(cmd))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands() {
        assert_eq!(parse_command("looks good"), None);
        assert_eq!(parse_command("/retrainer"), None);
        assert_eq!(
            parse_command("\n  /retrain elec --force\nthanks"),
            Some(Ok(RetrainCommand {
                model: Some("elec".into()),
                force: true,
                dry_run: false
            }))
        );
        assert!(parse_command("/retrain --now").unwrap().is_err());
        assert!(parse_command("/retrain a b").unwrap().is_err());
    }
}
