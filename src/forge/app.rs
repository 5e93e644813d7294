//! GitHub App authentication: a JWT signed (RS256) with the app's private key, traded
//! for installation tokens (`POST /app/installations/{id}/access_tokens`) that are
//! cached per API and installation and refreshed five minutes before they expire.
//!
//! This module owns the app's key and the tokens it mints; it never prints them
//! (`Debug` is redacted) and does nothing else with GitHub.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use http_body_util::BodyExt;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::github::GitHubError;

/// Tokens are replaced this long before GitHub says they expire.
const REFRESH_MARGIN: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// (API URL, installation id) -> (token, expiry).
type TokenCache = HashMap<(String, u64), (SecretString, DateTime<Utc>)>;

/// A GitHub App's identity, and the installation tokens it has minted.
pub struct AppAuth {
    app_id: u64,
    key: octocrab::auth::EncodingKey,
    tokens: Mutex<TokenCache>,
}

impl std::fmt::Debug for AppAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppAuth")
            .field("app_id", &self.app_id)
            .field("key", &"***")
            .finish_non_exhaustive()
    }
}

impl AppAuth {
    /// `pem`: the private key GitHub generated for the app (PKCS#1 or PKCS#8 PEM).
    pub fn new(app_id: u64, pem: &[u8]) -> Result<Self, GitHubError> {
        let key = octocrab::auth::EncodingKey::from_rsa_pem(pem).map_err(|e| {
            GitHubError::Setup(format!(
                "GitHub App {app_id}: the private key is not an RSA PEM key ({e}); \
                 use the .pem file downloaded from the app's settings"
            ))
        })?;
        Ok(Self {
            app_id,
            key,
            tokens: Mutex::new(HashMap::new()),
        })
    }

    pub fn app_id(&self) -> u64 {
        self.app_id
    }

    /// A JWT for the app itself (valid for 9 minutes, issued a minute in the past).
    pub fn jwt(&self) -> Result<SecretString, GitHubError> {
        octocrab::auth::create_jwt(octocrab::models::AppId(self.app_id), &self.key)
            .map(SecretString::from)
            .map_err(|e| GitHubError::Setup(format!("GitHub App {}: JWT: {e}", self.app_id)))
    }

    /// An installation access token, from the cache while it has more than five
    /// minutes left, else freshly minted.
    pub async fn installation_token(
        &self,
        api: &str,
        installation_id: u64,
    ) -> Result<SecretString, GitHubError> {
        let api = api.trim_end_matches('/').to_string();
        let key = (api.clone(), installation_id);
        if let Some((token, expires)) = self.lock().get(&key) {
            if *expires - REFRESH_MARGIN > Utc::now() {
                return Ok(token.clone());
            }
        }
        let path = format!("/app/installations/{installation_id}/access_tokens");
        let v = self.send(&api, http::Method::POST, &path).await?;
        let token = v.get("token").and_then(Value::as_str);
        let expires = v
            .get("expires_at")
            .and_then(Value::as_str)
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok());
        let (Some(token), Some(expires)) = (token, expires) else {
            return Err(GitHubError::Decode {
                endpoint: path,
                message: "no `token` / `expires_at` in the answer".into(),
            });
        };
        let token = SecretString::from(token.to_string());
        self.lock()
            .insert(key, (token.clone(), expires.with_timezone(&Utc)));
        Ok(token)
    }

    /// The id of the app's installation on `owner/repo` (`GET /repos/{o}/{r}/installation`).
    pub async fn installation_for_repo(
        &self,
        api: &str,
        owner: &str,
        repo: &str,
    ) -> Result<u64, GitHubError> {
        let path = format!("/repos/{owner}/{repo}/installation");
        let v = self
            .send(api.trim_end_matches('/'), http::Method::GET, &path)
            .await?;
        v.get("id")
            .and_then(Value::as_u64)
            .ok_or_else(|| GitHubError::Decode {
                endpoint: path,
                message: "no installation `id` in the answer".into(),
            })
    }

    /// Forgets a cached token (after GitHub refused it).
    pub fn forget(&self, api: &str, installation_id: u64) {
        self.lock()
            .remove(&(api.trim_end_matches('/').to_string(), installation_id));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TokenCache> {
        self.tokens.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One request authenticated as the app (JWT bearer).
    async fn send(
        &self,
        api: &str,
        method: http::Method,
        path: &str,
    ) -> Result<Value, GitHubError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let transport = |message: String| GitHubError::Transport {
            method: method.to_string(),
            endpoint: path.to_string(),
            message,
        };
        let client = octocrab::Octocrab::builder()
            .base_uri(api)
            .map_err(|e| GitHubError::Setup(format!("API URL `{api}`: {e}")))?
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(Duration::from_secs(30)))
            .build()
            .map_err(|e| GitHubError::Setup(e.to_string()))?;
        let uri = format!("{api}{path}");
        let jwt = self.jwt()?;
        let mut request = http::Request::builder()
            .method(method.clone())
            .uri(uri.as_str())
            .header(http::header::ACCEPT, "application/vnd.github+json")
            .header(
                http::header::AUTHORIZATION,
                format!("Bearer {}", jwt.expose_secret()),
            );
        if method == http::Method::POST {
            request = request.header(http::header::CONTENT_TYPE, "application/json");
        }
        let body = if method == http::Method::POST {
            "{}"
        } else {
            ""
        };
        let request = request
            .body(octocrab::OctoBody::from(body.to_string()))
            .map_err(|e| transport(e.to_string()))?;
        let response = client
            .execute(request)
            .await
            .map_err(|e| transport(e.to_string()))?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| transport(format!("reading the response: {e}")))?
            .to_bytes();
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(value);
        }
        let message = value
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
        // a server may echo the request, JWT and all
        let message = super::github::excerpt(&message, &[jwt.expose_secret()]);
        let hint = match status.as_u16() {
            401 => Some(format!(
                "GitHub refused the app's JWT: check the app id ({}) and that the private key is the app's current one",
                self.app_id
            )),
            404 => Some("the app is not installed there, or the installation was removed".into()),
            _ => None,
        };
        Err(GitHubError::Http {
            method: method.to_string(),
            endpoint: path.to_string(),
            status: status.as_u16(),
            message,
            hint,
        })
    }
}

/// A private key as it arrives through an environment variable or an action input:
/// Windows line ends and a key pasted with literal `\n` escapes (common in secret
/// stores that take one line) become a PEM again; surrounding blanks are dropped.
pub fn normalise_pem(key: &str) -> String {
    let key = key.trim().replace("\r\n", "\n").replace('\r', "\n");
    let key = if !key.contains('\n') && key.contains("\\n") {
        key.replace("\\n", "\n")
    } else {
        key
    };
    format!("{}\n", key.trim_end())
}

/// The installation token of `app_id` on `owner/repo`, minted once (for a command
/// line run: `retrain run` / `promote` / `rollback` in a workflow with an App).
pub fn token_for_repository(
    app_id: u64,
    pem: &str,
    api: &str,
    repository: &str,
) -> Result<SecretString, GitHubError> {
    let app = AppAuth::new(app_id, normalise_pem(pem).as_bytes())?;
    let (owner, repo) = repository.split_once('/').ok_or_else(|| {
        GitHubError::Setup(format!(
            "the repository `{repository}` is not `owner/repo` (GITHUB_REPOSITORY or --repository)"
        ))
    })?;
    let rt = super::runtime().map_err(|e| GitHubError::Setup(format!("tokio runtime: {e}")))?;
    rt.block_on(async {
        let installation = app.installation_for_repo(api, owner, repo).await?;
        app.installation_token(api, installation).await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_key() {
        // A throwaway key (tests/fixtures/app-key.pem), only for this test.
        let pem = include_bytes!("../../tests/fixtures/app-key.pem");
        let auth = AppAuth::new(42, pem).expect("key");
        let shown = format!("{auth:?}");
        assert!(shown.contains("42") && shown.contains("***"));
        assert!(!shown.contains("BEGIN"));
        let jwt = auth.jwt().expect("jwt");
        assert_eq!(jwt.expose_secret().split('.').count(), 3);
        assert!(!format!("{jwt:?}").contains(jwt.expose_secret()));
    }

    #[test]
    fn a_bad_key_says_what_to_use() {
        let e = AppAuth::new(7, b"not a key").unwrap_err();
        assert!(e.to_string().contains("RSA PEM"), "{e}");
    }

    #[test]
    fn keys_from_environment_variables_become_pem_again() {
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIB\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        assert_eq!(normalise_pem(pem), pem);
        assert_eq!(normalise_pem(&pem.replace('\n', "\r\n")), pem);
        assert_eq!(normalise_pem(&format!("  {}\n\n", pem.trim_end())), pem);
        assert_eq!(normalise_pem(&pem.trim_end().replace('\n', "\\n")), pem);
        let key = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/app-key.pem"
        ))
        .unwrap();
        let one_line = key.trim_end().replace('\n', "\\n");
        assert!(AppAuth::new(1, normalise_pem(&one_line).as_bytes()).is_ok());
        assert!(AppAuth::new(1, normalise_pem(&key.replace('\n', "\r\n")).as_bytes()).is_ok());
    }
}
