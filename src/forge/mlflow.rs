//! The MLflow mirror of the registry (`registry.mlflow`): on `promote`, the champion
//! becomes a model version of the registered model (created when missing), found again
//! by its `retrain.digest` tag, and carries the alias (`champion`); a merged rollback
//! moves the alias back to the version of the earlier champion. Every step reads first,
//! so a re-run changes nothing. `registry.yaml` on the base branch stays the truth.
//!
//! MLflow's REST API 2.0 (`/api/2.0/mlflow/...`), credentials from the environment as
//! MLflow's own client reads them: `MLFLOW_TRACKING_TOKEN` (bearer) or
//! `MLFLOW_TRACKING_USERNAME` + `MLFLOW_TRACKING_PASSWORD` (basic); never printed.

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use crate::config::Mlflow as MlflowConfig;
pub use crate::outcome::{MlflowOperation, MlflowOutcome};
use crate::registry::ModelVersion;

#[derive(Debug, thiserror::Error)]
pub enum MlflowError {
    #[error("MLflow at {uri} cannot be reached: {message}")]
    Unreachable { uri: String, message: String },
    #[error("MLflow at {uri} refused the credentials ({status}): {message}")]
    Auth {
        uri: String,
        status: u16,
        message: String,
    },
    #[error("MLflow at {uri}: {path} answered {status}: {message}")]
    Http {
        uri: String,
        path: String,
        status: u16,
        message: String,
    },
}

impl MlflowError {
    pub fn hint(&self) -> String {
        let again = "the tag and the release are in place; run `retrain promote` again";
        match self {
            MlflowError::Auth { .. } => format!(
                "set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, for a user that may edit the registered model; {again}"
            ),
            MlflowError::Unreachable { .. } => {
                format!("check `registry.mlflow.tracking_uri` and the network; {again}")
            }
            MlflowError::Http { .. } => again.to_string(),
        }
    }
}

enum Auth {
    None,
    Bearer(SecretString),
    Basic(String, SecretString),
}

pub struct Client {
    http: reqwest::Client,
    uri: String,
    auth: Auth,
}

impl Client {
    /// A client of `cfg.tracking_uri` with the environment's credentials.
    pub fn from_env(cfg: &MlflowConfig) -> Result<Self, MlflowError> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let auth = match (
            var("MLFLOW_TRACKING_TOKEN"),
            var("MLFLOW_TRACKING_USERNAME"),
            var("MLFLOW_TRACKING_PASSWORD"),
        ) {
            (Some(t), _, _) => Auth::Bearer(t.into()),
            (None, Some(u), Some(p)) => Auth::Basic(u, p.into()),
            _ => Auth::None,
        };
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .user_agent(concat!("retrain/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| MlflowError::Unreachable {
                uri: cfg.tracking_uri.clone(),
                message: e.to_string(),
            })?;
        Ok(Client {
            http,
            uri: cfg.tracking_uri.clone(),
            auth,
        })
    }

    /// `text` without the credentials (a server may echo them).
    fn redact(&self, text: &str) -> String {
        match &self.auth {
            Auth::Bearer(t) | Auth::Basic(_, t) if t.expose_secret().len() >= 4 => {
                text.replace(t.expose_secret(), "***")
            }
            _ => text.to_string(),
        }
    }

    /// One API call; `Ok(None)` for MLflow's RESOURCE_DOES_NOT_EXIST.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> Result<Option<Value>, MlflowError> {
        let url = format!("{}/api/2.0/mlflow/{path}", self.uri);
        let mut req = self.http.request(method, &url).query(query);
        req = match &self.auth {
            Auth::None => req,
            Auth::Bearer(t) => req.bearer_auth(t.expose_secret()),
            Auth::Basic(u, p) => req.basic_auth(u, Some(p.expose_secret())),
        };
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.map_err(|e| MlflowError::Unreachable {
            uri: self.uri.clone(),
            message: self.redact(&e.without_url().to_string()),
        })?;
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        let parsed: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if (200..300).contains(&status) {
            return Ok(Some(parsed));
        }
        if parsed["error_code"] == "RESOURCE_DOES_NOT_EXIST" {
            return Ok(None);
        }
        let message = self.redact(
            parsed["message"]
                .as_str()
                .unwrap_or(text.lines().next().unwrap_or("")),
        );
        Err(match status {
            401 | 403 => MlflowError::Auth {
                uri: self.uri.clone(),
                status,
                message,
            },
            _ => MlflowError::Http {
                uri: self.uri.clone(),
                path: path.to_string(),
                status,
                message,
            },
        })
    }

    /// Makes `version` the registered model's version that carries the alias: creates the
    /// registered model and the version when missing (the version is found again by its
    /// `retrain.digest` tag), then sets the alias unless it is there already.
    pub async fn mirror(
        &self,
        cfg: &MlflowConfig,
        version: &ModelVersion,
        source: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<MlflowOutcome, MlflowError> {
        use reqwest::Method;
        let name = cfg.model_name.as_str();
        let mut operation = MlflowOperation::Unchanged;
        if self
            .call(
                Method::GET,
                "registered-models/get",
                &[("name", name)],
                None,
            )
            .await?
            .is_none()
        {
            self.call(
                Method::POST,
                "registered-models/create",
                &[],
                Some(json!({
                    "name": name,
                    "description": "Mirrored by retrain from registry.yaml (the source of truth).",
                })),
            )
            .await?;
            operation = MlflowOperation::Created;
        }
        let number = match self.find(name, &version.artifact.digest).await? {
            Some(n) => n,
            None => {
                let tags: Vec<Value> = tags
                    .iter()
                    .map(|(k, v)| json!({"key": k, "value": v}))
                    .collect();
                let created = self
                    .call(
                        Method::POST,
                        "model-versions/create",
                        &[],
                        Some(json!({
                            "name": name,
                            "source": source,
                            "description": format!("retrain v{} of `{}`", version.version, name),
                            "tags": tags,
                        })),
                    )
                    .await?
                    .unwrap_or_default();
                operation = MlflowOperation::Created;
                created["model_version"]["version"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            }
        };
        // an alias not set yet is a 400 "alias ... not found" (not RESOURCE_DOES_NOT_EXIST)
        let current = match self
            .call(
                Method::GET,
                "registered-models/alias",
                &[("name", name), ("alias", cfg.alias.as_str())],
                None,
            )
            .await
        {
            Err(MlflowError::Http {
                status: 400 | 404,
                message,
                ..
            }) if message.contains("not found") => None,
            other => other?,
        };
        let carried = current
            .as_ref()
            .and_then(|v| v["model_version"]["version"].as_str())
            == Some(number.as_str());
        if !carried {
            self.call(
                Method::POST,
                "registered-models/alias",
                &[],
                Some(json!({"name": name, "alias": cfg.alias, "version": number})),
            )
            .await?;
            if operation == MlflowOperation::Unchanged {
                operation = MlflowOperation::AliasMoved;
            }
        }
        Ok(MlflowOutcome {
            model_name: name.to_string(),
            version: number.clone(),
            alias: cfg.alias.clone(),
            operation,
            url: format!("{}/#/models/{}/versions/{number}", self.uri, name),
        })
    }

    /// The number of the version tagged with `digest`, if any.
    async fn find(&self, name: &str, digest: &str) -> Result<Option<String>, MlflowError> {
        let filter = format!("name='{}'", name.replace('\'', "\\'"));
        let mut token = String::new();
        loop {
            let mut query = vec![("filter", filter.as_str()), ("max_results", "200")];
            if !token.is_empty() {
                query.push(("page_token", token.as_str()));
            }
            let page = self
                .call(reqwest::Method::GET, "model-versions/search", &query, None)
                .await?
                .unwrap_or_default();
            for v in page["model_versions"].as_array().into_iter().flatten() {
                let tagged =
                    v["tags"].as_array().into_iter().flatten().any(|t| {
                        t["key"] == "retrain.digest" && t["value"].as_str() == Some(digest)
                    });
                if tagged {
                    return Ok(v["version"].as_str().map(str::to_string));
                }
            }
            match page["next_page_token"].as_str() {
                Some(t) if !t.is_empty() => token = t.to_string(),
                _ => return Ok(None),
            }
        }
    }
}
