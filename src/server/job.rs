//! Jobs: what a delivery asks the bot to do, stored as JSON in the store, and their
//! execution. `embedded` clones the repository into the data dir (git2, installation
//! token as the password) and runs this same `retrain` binary as a child process, so a
//! crash in training cannot take the server down; `dispatch` starts the repository's
//! retrain workflow instead. Replies to `/retrain` go back as a reaction and a comment.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::checkout::checkout;
use super::event::{Event, Repo, RetrainCommand};
use super::Mode;
use crate::command::{self as request, job::Reply};
use crate::error::exit;
use crate::forge::app::AppAuth;
use crate::forge::git::{GitError, Token};
use crate::forge::github::{GitHub, GitHubConfig, GitHubError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub repo: Repo,
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// Run the models whose data (or config) the push changed.
    Push {
        after: String,
        changed: Option<Vec<String>>,
    },
    /// `/retrain`: check the author's permission, run, reply.
    Command {
        issue: u64,
        comment_id: u64,
        author: String,
        command: Option<RetrainCommand>,
        /// A malformed command: reply with this and do nothing else.
        error: Option<String>,
    },
    /// A retrain pull request was merged.
    Promote { number: u64, model: String },
    /// The bot's own schedule tick for a tracked repository.
    Schedule,
}

impl Job {
    /// The job a delivery creates, if any.
    pub fn from_event(event: &Event) -> Option<Job> {
        let (repo, action) = match event {
            Event::Push {
                repo,
                after,
                changed,
            } => (
                repo,
                Action::Push {
                    after: after.clone(),
                    changed: changed.clone(),
                },
            ),
            Event::Comment {
                repo,
                issue,
                comment_id,
                author,
                command,
            } => (
                repo,
                Action::Command {
                    issue: *issue,
                    comment_id: *comment_id,
                    author: author.clone(),
                    command: command.as_ref().ok().cloned(),
                    error: command.as_ref().err().map(ToString::to_string),
                },
            ),
            Event::Merged {
                repo,
                number,
                model,
            } => (
                repo,
                Action::Promote {
                    number: *number,
                    model: model.clone(),
                },
            ),
            Event::Ping | Event::Track { .. } | Event::Ignored(_) => return None,
        };
        Some(Job {
            repo: repo.clone(),
            action,
        })
    }

    pub fn kind(&self) -> &'static str {
        match self.action {
            Action::Push { .. } => "push",
            Action::Command { .. } => "command",
            Action::Promote { .. } => "promote",
            Action::Schedule => "schedule",
        }
    }
}

/// Why a job failed, and whether trying again may help.
#[derive(Debug)]
pub struct JobError {
    pub message: String,
    pub retry: bool,
}

impl From<GitHubError> for JobError {
    fn from(e: GitHubError) -> Self {
        let retry = !matches!(
            &e,
            GitHubError::Http { status, .. } if (400..500).contains(status) && *status != 429
        );
        let message = match e.hint() {
            Some(h) => format!("{e} (hint: {h})"),
            None => e.to_string(),
        };
        JobError { message, retry }
    }
}

/// How the bot authenticates to GitHub.
pub enum Credentials {
    /// As a GitHub App: installation tokens per repository.
    App(Arc<AppAuth>),
    /// One token for every repository (a single-repository bot, tests).
    Token(SecretString),
}

pub struct Executor {
    pub mode: Mode,
    pub api_url: String,
    pub data_dir: PathBuf,
    pub credentials: Credentials,
    /// The `retrain` binary the pipeline runs in (this one).
    pub exe: PathBuf,
    /// The workflow `dispatch` starts (file name or id).
    pub workflow: String,
}

impl Executor {
    async fn token(&self, repo: &Repo) -> Result<SecretString, JobError> {
        match &self.credentials {
            Credentials::Token(t) => Ok(t.clone()),
            Credentials::App(app) => {
                let installation = match repo.installation {
                    Some(i) => i,
                    None => {
                        let (owner, name) = split(&repo.full_name)?;
                        app.installation_for_repo(&self.api_url, owner, name)
                            .await?
                    }
                };
                Ok(app.installation_token(&self.api_url, installation).await?)
            }
        }
    }

    fn github(&self, repo: &Repo, token: &SecretString) -> Result<GitHub, JobError> {
        Ok(GitHub::new(&GitHubConfig {
            api_url: self.api_url.clone(),
            repository: repo.full_name.clone(),
            token: Token::new(token.expose_secret().to_string()),
            attempts: 4,
            max_backoff: Duration::from_secs(30),
            graphql_url: None,
        })?)
    }

    /// Runs the job; `Ok` carries a short JSON summary for the store.
    pub async fn execute(&self, job: &Job, last_attempt: bool) -> Result<Value, JobError> {
        let token = self.token(&job.repo).await?;
        let gh = self.github(&job.repo, &token)?;
        match &job.action {
            Action::Command {
                issue,
                comment_id,
                author,
                command,
                error,
            } => {
                let command = match (command, error) {
                    (Some(c), None) => c,
                    (_, e) => {
                        let e = e.clone().unwrap_or_default();
                        gh.react(*comment_id, "confused").await?;
                        gh.comment(*issue, &format!("**retrain**: {e}")).await?;
                        return Ok(json!({ "reply": "usage" }));
                    }
                };
                let role = gh.permission(author).await?;
                if !GitHub::can_write(&role) {
                    gh.react(*comment_id, "-1").await?;
                    gh.comment(
                        *issue,
                        &format!(
                            "**retrain**: `/retrain` needs write access to `{}`; @{author} has `{role}`. Nothing was run.",
                            job.repo.full_name
                        ),
                    )
                    .await?;
                    return Ok(json!({ "reply": "refused", "role": role }));
                }
                gh.react(*comment_id, "rocket").await?;
                let outcome = self.run_models(job, &gh, &token, command).await;
                match outcome {
                    Ok((summary, reply)) => {
                        gh.comment(*issue, &reply).await?;
                        Ok(summary)
                    }
                    Err(e) => {
                        if last_attempt || !e.retry {
                            gh.comment(
                                *issue,
                                &format!("**retrain** failed: {}", first_line(&e.message)),
                            )
                            .await?;
                        }
                        Err(e)
                    }
                }
            }
            Action::Push { .. } | Action::Schedule => {
                let command = RetrainCommand::default();
                if self.mode == Mode::Dispatch {
                    return self.dispatch(&job.repo, &gh, &command).await;
                }
                let (dir, _) = self.sync(&job.repo, &gh, &token).await?;
                // a push runs the models whose data or config it touched; a schedule all
                let changed = match &job.action {
                    Action::Push { changed, .. } => changed.as_deref(),
                    _ => None,
                };
                let models = match affected(&dir, changed)? {
                    Affected::All => vec![None],
                    Affected::Some(models) if models.is_empty() => {
                        return Ok(
                            json!({ "skipped": "the push touched no model's data or config" }),
                        )
                    }
                    Affected::Some(models) => models.into_iter().map(Some).collect(),
                };
                let mut results = Vec::new();
                for model in models {
                    let run = self.run_request(
                        job,
                        &RetrainCommand {
                            model,
                            ..command.clone()
                        },
                    );
                    results.push(self.child(&dir, job, &token, run).await?.0);
                }
                Ok(json!({ "runs": results }))
            }
            Action::Promote { model, .. } => {
                // Promotion is light (tags, a release): it runs here in both modes.
                let (dir, _) = self.sync(&job.repo, &gh, &token).await?;
                let promote = request::Command::Promote {
                    model: Some(model.clone()),
                    github: self.place(job),
                };
                self.child(&dir, job, &token, promote).await.map(|(v, _)| v)
            }
        }
    }

    /// Where the child publishes: this repository, through this API, to `origin` (the
    /// checkout's remote); the token is in the child's environment.
    fn place(&self, job: &Job) -> request::Where {
        request::Where {
            repository: Some(job.repo.full_name.clone()),
            api_url: self.api_url.clone(),
            remote: "origin".into(),
        }
    }

    /// `retrain run` as the bot asks for it.
    fn run_request(&self, job: &Job, c: &RetrainCommand) -> request::Command {
        request::Command::Run {
            model: c.model.clone(),
            force: c.force,
            dry_run: c.dry_run,
            allow_dirty: false,
            artifact_dir: None,
            // the clock `retrain run` reads from RETRAIN_NOW (tests set it)
            now: std::env::var("RETRAIN_NOW")
                .ok()
                .and_then(|v| v.parse().ok()),
            github: self.place(job),
        }
    }

    /// `/retrain`: the run (or dispatch) and the reply to post.
    async fn run_models(
        &self,
        job: &Job,
        gh: &GitHub,
        token: &SecretString,
        command: &RetrainCommand,
    ) -> Result<(Value, String), JobError> {
        if self.mode == Mode::Dispatch {
            let v = self.dispatch(&job.repo, gh, command).await?;
            return Ok((
                v,
                format!(
                    "**retrain**: started the `{}` workflow{}; its run will open or update the pull request.",
                    self.workflow,
                    command.model.as_deref().map(|m| format!(" for `{m}`")).unwrap_or_default()
                ),
            ));
        }
        let (dir, _) = self.sync(&job.repo, gh, token).await?;
        let run = self.run_request(job, command);
        let (v, mut replies) = self.child(&dir, job, token, run).await?;
        if replies.is_empty() {
            replies.push("**retrain**: the run finished; no model report was written.".into());
        }
        Ok((v, replies.join("\n\n---\n\n")))
    }

    async fn dispatch(
        &self,
        repo: &Repo,
        gh: &GitHub,
        command: &RetrainCommand,
    ) -> Result<Value, JobError> {
        let branch = match &repo.default_branch {
            Some(b) => b.clone(),
            None => gh.repository_info().await?.1,
        };
        let inputs = json!({
            "model": command.model.clone().unwrap_or_default(),
            "force": command.force.to_string(),
            "dry-run": command.dry_run.to_string(),
        });
        gh.dispatch_workflow(&self.workflow, &branch, &inputs)
            .await?;
        Ok(json!({ "dispatched": self.workflow, "ref": branch, "inputs": inputs }))
    }

    /// Clones or fetches the repository into `<data-dir>/repos/<owner>/<repo>` and
    /// checks out the tip of its default branch.
    async fn sync(
        &self,
        repo: &Repo,
        gh: &GitHub,
        token: &SecretString,
    ) -> Result<(PathBuf, String), JobError> {
        let (url, branch) = match (&repo.clone_url, &repo.default_branch) {
            (Some(u), Some(b)) => (u.clone(), b.clone()),
            _ => gh.repository_info().await?,
        };
        let (owner, name) = split(&repo.full_name)?;
        let dir = self.data_dir.join("repos").join(owner).join(name);
        let token = token.clone();
        let d = dir.clone();
        let b = branch.clone();
        tokio::task::spawn_blocking(move || checkout(&d, &url, &b, token.expose_secret()))
            .await
            .map_err(|e| JobError {
                message: format!("git: {e}"),
                retry: true,
            })?
            .map_err(|e| JobError {
                retry: !matches!(e, GitError::Refused { .. } | GitError::NoGit { .. }),
                message: format!("`{}`: {e}", repo.full_name),
            })?;
        Ok((dir, branch))
    }

    /// Runs the command in the checkout in a child process (`retrain job`; why a
    /// process: [`crate::command::job`]): the request as JSON on stdin, the reply as JSON
    /// on stdout. Returns the command's JSON and, for `run`, the comment for each model.
    async fn child(
        &self,
        dir: &Path,
        job: &Job,
        token: &SecretString,
        command: request::Command,
    ) -> Result<(Value, Vec<String>), JobError> {
        use tokio::io::AsyncWriteExt;
        let name = command.name();
        let request = serde_json::to_vec(&request::Request {
            repo: dir.to_path_buf(),
            config: None,
            command,
        })
        .expect("a request serialises");
        let mut cmd = tokio::process::Command::new(&self.exe);
        cmd.arg("job")
            .env("GITHUB_TOKEN", token.expose_secret())
            .env("GITHUB_API_URL", &self.api_url)
            .env("GITHUB_REPOSITORY", &job.repo.full_name)
            .env_remove("RETRAIN_GITHUB_TOKEN")
            // the child gets the installation token above; it must not mint its own
            .env_remove("RETRAIN_APP_ID")
            .env_remove("RETRAIN_APP_PRIVATE_KEY")
            .env_remove("RETRAIN_CONFIG")
            .env_remove("RETRAIN_REPO")
            // the server may itself run in a workflow; the child is not that workflow's step
            .env_remove("GITHUB_ACTIONS")
            .env_remove("GITHUB_EVENT_NAME")
            .env_remove("GITHUB_EVENT_PATH")
            .env_remove("GITHUB_OUTPUT")
            .env_remove("GITHUB_STEP_SUMMARY")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        // The child dies with the server (kill -9 included): the job is then resumed by
        // the next start instead of racing it from an orphan.
        #[cfg(target_os = "linux")]
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        tracing::info!(repo = %job.repo.full_name, command = name, "running retrain");
        let started = |e: std::io::Error| JobError {
            message: format!("cannot start `{} job`: {e}", self.exe.display()),
            retry: true,
        };
        let mut child = cmd.spawn().map_err(started)?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(&request).await.map_err(started)?;
        }
        let out = child.wait_with_output().await.map_err(started)?;
        match serde_json::from_slice::<Reply>(&out.stdout) {
            Ok(Reply::Done { output, comments }) => Ok((output, comments)),
            Ok(Reply::Failed(e)) => Err(JobError {
                message: format!(
                    "`retrain {name}` exited with {}: {}{}",
                    e.exit_code,
                    e.message,
                    e.hint.map(|h| format!("\nhint: {h}")).unwrap_or_default()
                ),
                // a problem with the data, usage or config will not change by retrying
                retry: !matches!(e.exit_code, exit::PROBLEM | exit::USAGE),
            }),
            Err(_) => {
                // no reply: the process was killed (out of memory, a signal) or crashed;
                // what it last wrote is kept for the log as it is
                let stderr = String::from_utf8_lossy(&out.stderr);
                let s = stderr.trim();
                let mut cut = s.len().saturating_sub(1000);
                while !s.is_char_boundary(cut) {
                    cut += 1;
                }
                Err(JobError {
                    message: format!(
                        "`retrain {name}` ended without a reply ({}): {}",
                        out.status,
                        &s[cut..]
                    ),
                    retry: true,
                })
            }
        }
    }
}

fn split(full_name: &str) -> Result<(&str, &str), JobError> {
    full_name
        .split_once('/')
        .filter(|(o, r)| !o.is_empty() && !r.is_empty() && !r.contains('/') && !o.contains(".."))
        .ok_or_else(|| JobError {
            message: format!("repository `{full_name}` is not `owner/name`"),
            retry: false,
        })
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// Which models a push concerns.
#[derive(Debug, PartialEq)]
enum Affected {
    All,
    Some(Vec<String>),
}

fn affected(dir: &Path, changed: Option<&[String]>) -> Result<Affected, JobError> {
    let Some(changed) = changed else {
        return Ok(Affected::All);
    };
    if changed.iter().any(|f| f == crate::config::DEFAULT_FILE) {
        return Ok(Affected::All);
    }
    let config = crate::config::Workspace {
        repo: dir.to_path_buf(),
        config: None,
    }
    .load_config()
    .map_err(|e| JobError {
        message: format!("retrain.yaml: {e}"),
        retry: false,
    })?;
    Ok(Affected::Some(models_touched(&config, changed)))
}

fn models_touched(config: &crate::config::Config, changed: &[String]) -> Vec<String> {
    use crate::config::DataSource;
    config
        .models
        .iter()
        .filter(|m| match &m.data {
            DataSource::Files { pattern, .. } => {
                let p = pattern.trim_start_matches("./");
                let glob = glob::Pattern::new(p).ok();
                changed.iter().any(|f| {
                    f == p
                        || f.starts_with(&format!("{}/", p.trim_end_matches('/')))
                        || glob.as_ref().is_some_and(|g| g.matches(f))
                })
            }
            DataSource::Dvc { file, .. } => changed.iter().any(|f| f == file),
            DataSource::Url { .. } => false,
        })
        .map(|m| m.name.as_str().to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_push_concerns_the_models_whose_data_or_config_it_touched() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("retrain.yaml"),
            "version: 1\nmodels:\n  - name: a\n    task: classification\n    target: y\n    data: { path: data/a/*.csv }\n  - name: b\n    task: classification\n    target: y\n    data: { dvc: data/b.dvc }\n",
        )
        .unwrap();
        let touched = |files: &[&str]| {
            let files: Vec<String> = files.iter().map(|f| f.to_string()).collect();
            affected(dir.path(), Some(&files)).unwrap()
        };
        assert_eq!(
            touched(&["data/a/2024-05.csv"]),
            Affected::Some(vec!["a".into()])
        );
        assert_eq!(
            touched(&["data/b.dvc", "README.md"]),
            Affected::Some(vec!["b".into()])
        );
        assert_eq!(
            touched(&["README.md", "data/a/notes.txt"]),
            Affected::Some(vec![])
        );
        assert_eq!(touched(&["retrain.yaml"]), Affected::All);
        assert_eq!(affected(dir.path(), None).unwrap(), Affected::All);
    }
}
