//! The GitHub REST API, through octocrab's HTTP client: pull requests, labels,
//! reviewers, comments, check runs. Requests go to a configurable base URL (GitHub
//! Enterprise, tests). Every error names the method, the endpoint, the status and
//! GitHub's message; a 403 says which token permission is likely missing; 5xx, 429
//! and secondary rate limits are retried with backoff, honouring `Retry-After`.

use std::time::Duration;

use http::{Method, StatusCode};
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::git::Token;

mod releases;

pub use releases::{Release, ReleaseAsset};

#[derive(Debug, thiserror::Error)]
pub enum GitHubError {
    #[error("GitHub {method} {endpoint}: {status} {message}")]
    Http {
        method: String,
        endpoint: String,
        status: u16,
        message: String,
        hint: Option<String>,
    },
    #[error("GitHub {method} {endpoint}: {message}")]
    Transport {
        method: String,
        endpoint: String,
        message: String,
    },
    #[error("GitHub {endpoint}: unexpected response: {message}")]
    Decode { endpoint: String, message: String },
    #[error("GitHub client: {0}")]
    Setup(String),
}

impl GitHubError {
    pub fn hint(&self) -> Option<String> {
        match self {
            GitHubError::Http { hint, .. } => hint.clone(),
            _ => None,
        }
    }
}

/// Where and as whom to talk to GitHub.
#[derive(Debug, Clone)]
pub struct GitHubConfig {
    /// `https://api.github.com`, or `GITHUB_API_URL`.
    pub api_url: String,
    /// `owner/repo`, or `GITHUB_REPOSITORY`.
    pub repository: String,
    pub token: Token,
    /// Attempts per request (first try included).
    pub attempts: u32,
    /// Longest wait between attempts.
    pub max_backoff: Duration,
    /// GitHub's GraphQL endpoint (`GITHUB_GRAPHQL_URL` in a workflow); `None`: beside
    /// the REST API (`https://api.github.com/graphql`, `https://HOST/api/graphql`).
    pub graphql_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PullRequest {
    pub number: u64,
    /// The GraphQL id (marking a draft ready for review is GraphQL only).
    #[serde(default)]
    pub node_id: String,
    pub html_url: String,
    pub state: String,
    pub title: String,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub draft: Option<bool>,
    pub head: BranchRef,
    #[serde(default)]
    pub merged_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BranchRef {
    #[serde(rename = "ref")]
    pub name: String,
    pub sha: String,
}

pub struct GitHub {
    client: octocrab::Octocrab,
    /// To scrub from whatever a server answers.
    token: Token,
    api: String,
    graphql: String,
    owner: String,
    repo: String,
    attempts: u32,
    max_backoff: Duration,
}

/// What of a response body goes into an error message: secrets the server echoed
/// (`secrets`, any `Bearer`/`token`/`Basic` credential, anything shaped like a JWT)
/// replaced by `***`, whitespace collapsed, at most 300 characters.
pub fn excerpt(text: &str, secrets: &[&str]) -> String {
    let mut s = text.to_string();
    for secret in secrets.iter().filter(|x| x.len() >= 4) {
        s = s.replace(secret, "***");
    }
    let mut out: Vec<String> = Vec::new();
    let mut redact_next = false;
    for word in s.split_whitespace() {
        let bare = word
            .trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '.' && c != '_' && c != '-');
        let jwt = bare.starts_with("eyJ") && bare.matches('.').count() == 2;
        if redact_next || jwt {
            out.push("***".into());
        } else {
            out.push(word.to_string());
        }
        let lower = word.to_ascii_lowercase();
        redact_next = matches!(lower.trim_matches('"'), "bearer" | "token" | "basic");
    }
    let joined = out.join(" ");
    if joined.chars().count() > 300 {
        let cut: String = joined.chars().take(300).collect();
        format!("{cut}… ({} bytes in all)", text.len())
    } else {
        joined
    }
}

/// How long a response may go silent before the request is abandoned (and retried):
/// `RETRAIN_HTTP_TIMEOUT` seconds, default 30.
fn read_timeout() -> Duration {
    std::env::var("RETRAIN_HTTP_TIMEOUT")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| *s > 0)
        .map_or(Duration::from_secs(30), Duration::from_secs)
}

/// Which permission a 403 on an endpoint most likely lacks.
fn permission_hint(endpoint: &str) -> String {
    let perm = if endpoint.contains("/check-runs") {
        "checks: write"
    } else if endpoint.contains("/pulls") || endpoint.contains("/requested_reviewers") {
        "pull-requests: write"
    } else if endpoint.contains("/issues") {
        "issues: write (labels and comments on pull requests need pull-requests: write)"
    } else if endpoint.contains("/releases") || endpoint.contains("/git/") {
        "contents: write"
    } else {
        "the permission this endpoint needs"
    };
    format!("the token lacks {perm}; in a workflow set `permissions:` accordingly, or use a GitHub App token")
}

impl GitHub {
    pub fn new(cfg: &GitHubConfig) -> Result<Self, GitHubError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (owner, repo) = cfg
            .repository
            .split_once('/')
            .filter(|(o, r)| !o.is_empty() && !r.is_empty() && !r.contains('/'))
            .ok_or_else(|| {
                GitHubError::Setup(format!(
                    "repository `{}` must be `owner/repo`",
                    cfg.repository
                ))
            })?;
        let client = octocrab::Octocrab::builder()
            .base_uri(cfg.api_url.as_str())
            .map_err(|e| GitHubError::Setup(format!("API URL `{}`: {e}", cfg.api_url)))?
            .personal_token(cfg.token.expose().to_string())
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(read_timeout()))
            .build()
            .map_err(|e| GitHubError::Setup(e.to_string()))?;
        Ok(Self {
            client,
            token: cfg.token.clone(),
            api: cfg.api_url.trim_end_matches('/').to_string(),
            graphql: cfg.graphql_url.clone().unwrap_or_else(|| {
                let api = cfg.api_url.trim_end_matches('/');
                match api.strip_suffix("/v3") {
                    Some(enterprise) => format!("{enterprise}/graphql"),
                    None => format!("{api}/graphql"),
                }
            }),
            owner: owner.to_string(),
            repo: repo.to_string(),
            attempts: cfg.attempts.max(1),
            max_backoff: cfg.max_backoff,
        })
    }

    pub(crate) fn repo_path(&self, rest: &str) -> String {
        format!("/repos/{}/{}{rest}", self.owner, self.repo)
    }

    /// Sends a request with retries; returns the JSON body (`null` for 204).
    pub(crate) async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, GitHubError> {
        let uri = format!("{}{path}", self.api);
        self.send(method, &uri, body, None).await
    }

    /// `request` to an absolute URI, with a JSON body or raw bytes (uploads).
    async fn send(
        &self,
        method: Method,
        uri: &str,
        body: Option<&Value>,
        raw: Option<(&str, &[u8])>,
    ) -> Result<Value, GitHubError> {
        let bytes = self.send_bytes(method, uri, body, raw, None).await?;
        Ok(if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        })
    }

    /// `send`, answering the response's bytes; `accept` replaces the JSON media type
    /// of a GET (asset downloads).
    async fn send_bytes(
        &self,
        method: Method,
        uri: &str,
        body: Option<&Value>,
        raw: Option<(&str, &[u8])>,
        accept: Option<&'static str>,
    ) -> Result<bytes::Bytes, GitHubError> {
        let path = uri.strip_prefix(self.api.as_str()).unwrap_or(uri);
        let path = match path.find("/repos/") {
            Some(i) if !path.starts_with('/') => &path[i..],
            _ => path,
        };
        let endpoint = path.split('?').next().unwrap_or(path).to_string();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent = match (&method, raw) {
                (_, Some((content_type, bytes))) => {
                    let request = http::Request::builder()
                        .method(method.clone())
                        .uri(uri)
                        .header(http::header::CONTENT_TYPE, content_type)
                        .header(http::header::CONTENT_LENGTH, bytes.len())
                        .body(bytes::Bytes::copy_from_slice(bytes));
                    match request {
                        Ok(r) => self.client.execute(r).await,
                        Err(e) => return Err(GitHubError::Setup(format!("{uri}: {e}"))),
                    }
                }
                (&Method::GET, None) => match accept {
                    Some(a) => {
                        let mut headers = http::HeaderMap::new();
                        headers.insert(http::header::ACCEPT, http::HeaderValue::from_static(a));
                        self.client._get_with_headers(uri, Some(headers)).await
                    }
                    None => self.client._get(uri).await,
                },
                (&Method::POST, None) => self.client._post(uri, body).await,
                (&Method::PATCH, None) => self.client._patch(uri, body).await,
                (&Method::PUT, None) => self.client._put(uri, body).await,
                (_, None) => self.client._delete(uri, body).await,
            };
            let response = match sent {
                Ok(r) => r,
                Err(e) => {
                    if attempt < self.attempts {
                        tokio::time::sleep(self.backoff(attempt, None)).await;
                        continue;
                    }
                    return Err(GitHubError::Transport {
                        method: method.to_string(),
                        endpoint,
                        message: excerpt(&e.to_string(), &[self.token.expose()]),
                    });
                }
            };
            let status = response.status();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .map(Duration::from_secs);
            let bytes = match response.into_body().collect().await {
                Ok(b) => b.to_bytes(),
                Err(e) => {
                    if attempt < self.attempts {
                        tokio::time::sleep(self.backoff(attempt, None)).await;
                        continue;
                    }
                    return Err(GitHubError::Transport {
                        method: method.to_string(),
                        endpoint,
                        message: format!("reading the response: {e}"),
                    });
                }
            };
            if status.is_success() {
                return Ok(bytes);
            }
            let value: Value = serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
            let mut message = match value.get("message").and_then(Value::as_str) {
                Some(m) => m.to_string(),
                None if value.is_string() => format!(
                    "the answer is not JSON: {}",
                    String::from_utf8_lossy(&bytes)
                ),
                None => value.to_string(),
            };
            // 422s carry the reason in `errors[]` ("A pull request already exists...").
            if let Some(errors) = value.get("errors").and_then(Value::as_array) {
                let details: Vec<String> = errors
                    .iter()
                    .filter_map(|e| {
                        e.get("message")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                            .or_else(|| {
                                e.get("code").and_then(Value::as_str).map(|c| {
                                    format!(
                                        "{} {c}",
                                        e.get("field").and_then(Value::as_str).unwrap_or("")
                                    )
                                })
                            })
                    })
                    .collect();
                if !details.is_empty() {
                    message = format!("{message}: {}", details.join("; "));
                }
            }
            let secondary = status == StatusCode::FORBIDDEN
                && message.to_ascii_lowercase().contains("rate limit");
            let retryable =
                status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS || secondary;
            if retryable && attempt < self.attempts {
                tracing::warn!(%status, endpoint = %endpoint, attempt, "GitHub asked to retry");
                tokio::time::sleep(self.backoff(attempt, retry_after)).await;
                continue;
            }
            let hint = match status {
                StatusCode::FORBIDDEN if !secondary => Some(permission_hint(&endpoint)),
                StatusCode::UNAUTHORIZED => Some("the token is missing, expired or revoked".into()),
                StatusCode::NOT_FOUND => Some(format!(
                    "check the repository `{}/{}` and that the token can see it",
                    self.owner, self.repo
                )),
                _ if retryable => Some(format!("gave up after {attempt} attempts")),
                _ => None,
            };
            return Err(GitHubError::Http {
                method: method.to_string(),
                endpoint,
                status: status.as_u16(),
                message: excerpt(&message, &[self.token.expose()]),
                hint,
            });
        }
    }

    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exp = Duration::from_millis(200u64.saturating_mul(1 << attempt.min(10)));
        retry_after.unwrap_or(exp).min(self.max_backoff)
    }

    fn decode<T: for<'de> Deserialize<'de>>(endpoint: &str, v: Value) -> Result<T, GitHubError> {
        // an HTML page (a proxy's login page, a captive portal) answered with 200
        let html = v.as_str().is_some_and(|t| t.trim_start().starts_with('<'));
        serde_json::from_value(v).map_err(|e| GitHubError::Decode {
            endpoint: endpoint.to_string(),
            message: if html {
                "an HTML page instead of JSON (is GITHUB_API_URL the API, e.g. https://HOST/api/v3, and not the web site or a proxy's page?)".into()
            } else {
                excerpt(&e.to_string(), &[])
            },
        })
    }

    /// The pull request whose head is `branch` (open or closed, newest first).
    pub async fn find_pull_request(
        &self,
        branch: &str,
    ) -> Result<Option<PullRequest>, GitHubError> {
        let path = self.repo_path(&format!(
            "/pulls?state=all&head={}:{}",
            self.owner,
            urlencode(branch)
        ));
        let list: Vec<PullRequest> =
            Self::decode(&path, self.request(Method::GET, &path, None).await?)?;
        Ok(list.into_iter().max_by_key(|p| p.number))
    }

    /// Open pull requests, all heads.
    pub async fn open_pull_requests(&self) -> Result<Vec<PullRequest>, GitHubError> {
        let path = self.repo_path("/pulls?state=open&per_page=100");
        Self::decode(&path, self.request(Method::GET, &path, None).await?)
    }

    pub async fn create_pull_request(
        &self,
        title: &str,
        body: &str,
        head: &str,
        base: &str,
        draft: bool,
    ) -> Result<PullRequest, GitHubError> {
        let path = self.repo_path("/pulls");
        let v = self
            .request(Method::POST, &path, Some(&json!({ "title": title, "body": body, "head": head, "base": base, "draft": draft })))
            .await?;
        Self::decode(&path, v)
    }

    pub async fn update_pull_request(
        &self,
        number: u64,
        title: &str,
        body: &str,
    ) -> Result<PullRequest, GitHubError> {
        let path = self.repo_path(&format!("/pulls/{number}"));
        let v = self
            .request(
                Method::PATCH,
                &path,
                Some(&json!({ "title": title, "body": body })),
            )
            .await?;
        Self::decode(&path, v)
    }

    pub async fn close_pull_request(&self, number: u64) -> Result<(), GitHubError> {
        let path = self.repo_path(&format!("/pulls/{number}"));
        self.request(Method::PATCH, &path, Some(&json!({ "state": "closed" })))
            .await
            .map(|_| ())
    }

    pub async fn add_labels(&self, number: u64, labels: &[String]) -> Result<(), GitHubError> {
        if labels.is_empty() {
            return Ok(());
        }
        let path = self.repo_path(&format!("/issues/{number}/labels"));
        self.request(Method::POST, &path, Some(&json!({ "labels": labels })))
            .await
            .map(|_| ())
    }

    pub async fn request_reviewers(
        &self,
        number: u64,
        reviewers: &[String],
    ) -> Result<(), GitHubError> {
        if reviewers.is_empty() {
            return Ok(());
        }
        let path = self.repo_path(&format!("/pulls/{number}/requested_reviewers"));
        self.request(
            Method::POST,
            &path,
            Some(&json!({ "reviewers": reviewers })),
        )
        .await
        .map(|_| ())
    }

    pub async fn comment(&self, number: u64, body: &str) -> Result<(), GitHubError> {
        let path = self.repo_path(&format!("/issues/{number}/comments"));
        self.request(Method::POST, &path, Some(&json!({ "body": body })))
            .await
            .map(|_| ())
    }

    /// A completed check run carrying the gate's verdict.
    /// Marks a draft pull request ready for review (`node_id`: its GraphQL id). GitHub's
    /// REST API cannot: this is the GraphQL mutation `markPullRequestReadyForReview`.
    pub async fn ready_for_review(&self, node_id: &str) -> Result<(), GitHubError> {
        let body = json!({ "query": READY_FOR_REVIEW, "variables": { "id": node_id } });
        let v = self
            .send(Method::POST, &self.graphql.clone(), Some(&body), None)
            .await?;
        match v.get("errors").and_then(Value::as_array) {
            Some(errors) if !errors.is_empty() => Err(GitHubError::Http {
                status: 200,
                method: "POST".into(),
                endpoint: "/graphql (markPullRequestReadyForReview)".into(),
                message: excerpt(
                    &errors
                        .iter()
                        .filter_map(|e| e["message"].as_str())
                        .collect::<Vec<_>>()
                        .join("; "),
                    &[self.token.expose()],
                ),
                hint: None,
            }),
            _ => Ok(()),
        }
    }

    pub async fn check_run(
        &self,
        head_sha: &str,
        name: &str,
        state: crate::outcome::CheckState,
        title: &str,
        summary: &str,
    ) -> Result<(), GitHubError> {
        use crate::outcome::CheckState;
        let path = self.repo_path("/check-runs");
        let mut body = json!({
            "name": name,
            "head_sha": head_sha,
            "status": "completed",
            "output": { "title": title, "summary": summary },
        });
        match state {
            CheckState::Pending => body["status"] = json!("in_progress"),
            CheckState::Success => body["conclusion"] = json!("success"),
            CheckState::Failure => body["conclusion"] = json!("failure"),
        }
        self.request(Method::POST, &path, Some(&body))
            .await
            .map(|_| ())
    }
}

/// The GraphQL mutation that marks a draft ready for review (checked against GitHub's
/// GraphQL schema by `tests/github/graphql.mjs`).
pub const READY_FOR_REVIEW: &str = "mutation($id: ID!) { markPullRequestReadyForReview(input: { pullRequestId: $id }) { pullRequest { number isDraft } } }";

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::excerpt;

    /// An HTML page answered with 200 (a proxy's login page) was printed whole in one line.
    #[test]
    fn an_html_page_instead_of_json_is_named_not_printed() {
        let page = format!(
            "<!DOCTYPE html><html>{}</html>",
            "<p>sign in</p>".repeat(500)
        );
        let err =
            super::GitHub::decode::<Vec<u64>>("/repos/o/r/pulls", serde_json::Value::String(page))
                .unwrap_err()
                .to_string();
        assert!(err.contains("an HTML page instead of JSON"), "{err}");
        assert!(err.len() < 300, "{err}");
    }

    #[test]
    fn echoed_credentials_are_scrubbed_and_long_bodies_cut() {
        assert_eq!(
            excerpt(
                "Bad credentials: Authorization: token ghs_abcdef",
                &["ghs_abcdef"]
            ),
            "Bad credentials: Authorization: token ***"
        );
        assert_eq!(
            excerpt("auth was Bearer xyz123 here", &[]),
            "auth was Bearer *** here"
        );
        assert_eq!(
            excerpt("jwt eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOjF9.c2ln rejected", &[]),
            "jwt *** rejected"
        );
        let html = format!("<html>\n<body>{}</body>\n</html>", "x ".repeat(1000));
        let e = excerpt(&html, &[]);
        assert!(
            e.chars().count() < 340 && e.ends_with("bytes in all)"),
            "{e}"
        );
        assert!(!e.contains('\n'));
    }
}
