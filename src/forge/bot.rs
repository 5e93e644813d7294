//! The GitHub calls only the webhook bot makes: a commenter's permission, reactions,
//! the repository's clone URL and default branch, and `workflow_dispatch`. Same
//! transport, retries and errors as [`super::github`].

use http::Method;
use serde_json::{json, Value};

use super::github::{GitHub, GitHubError};

/// Repository roles allowed to run `/retrain`.
const WRITERS: &[&str] = &["admin", "maintain", "write"];

impl GitHub {
    /// The user's role on the repository (`admin`, `maintain`, `write`, `triage`,
    /// `read` or `none`).
    pub async fn permission(&self, user: &str) -> Result<String, GitHubError> {
        let path = self.repo_path(&format!("/collaborators/{user}/permission"));
        let v = match self.request(Method::GET, &path, None).await {
            // not a collaborator at all
            Err(GitHubError::Http { status: 404, .. }) => return Ok("none".into()),
            other => other?,
        };
        // `role_name` tells maintain and triage apart; `permission` folds them into write/read.
        let role = v
            .get("role_name")
            .and_then(Value::as_str)
            .filter(|r| WRITERS.contains(r) || ["triage", "read"].contains(r))
            .or_else(|| v.get("permission").and_then(Value::as_str))
            .unwrap_or("none");
        Ok(role.to_string())
    }

    /// Whether `role` (from [`GitHub::permission`]) may trigger runs.
    pub fn can_write(role: &str) -> bool {
        WRITERS.contains(&role)
    }

    /// Reacts to an issue or pull-request comment (`+1`, `-1`, `eyes`, `rocket`...).
    pub async fn react(&self, comment_id: u64, content: &str) -> Result<(), GitHubError> {
        let path = self.repo_path(&format!("/issues/comments/{comment_id}/reactions"));
        self.request(Method::POST, &path, Some(&json!({ "content": content })))
            .await
            .map(|_| ())
    }

    /// The clone URL and the default branch.
    pub async fn repository_info(&self) -> Result<(String, String), GitHubError> {
        let path = self.repo_path("");
        let v = self.request(Method::GET, &path, None).await?;
        let field = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| GitHubError::Decode {
                    endpoint: path.clone(),
                    message: format!("no `{k}`"),
                })
        };
        Ok((field("clone_url")?, field("default_branch")?))
    }

    /// Starts the workflow `workflow` (file name or id) on `git_ref` with `inputs`.
    pub async fn dispatch_workflow(
        &self,
        workflow: &str,
        git_ref: &str,
        inputs: &Value,
    ) -> Result<(), GitHubError> {
        let path = self.repo_path(&format!("/actions/workflows/{workflow}/dispatches"));
        self.request(
            Method::POST,
            &path,
            Some(&json!({ "ref": git_ref, "inputs": inputs })),
        )
        .await
        .map(|_| ())
    }
}
