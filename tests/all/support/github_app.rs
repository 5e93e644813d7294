//! The GitHub test server's endpoints for the webhook bot: installation tokens
//! (checked to come with an RS256 app JWT), the app's installation on a repository,
//! collaborator permissions, reactions and workflow dispatches.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::github::Shared;
use super::openapi;

/// The installation id the test app has on acme/models.
pub const INSTALLATION: u64 = 42;
/// The token the test server mints (tests assert it is never printed).
pub const INSTALLATION_TOKEN: &str = "ghs_installation_token_do_not_print";

#[derive(Debug, Default)]
pub struct BotWorld {
    /// user -> role (`admin`, `maintain`, `write`, `triage`, `read`); absent: not a collaborator.
    pub roles: std::collections::HashMap<String, String>,
    /// (comment id, reaction)
    pub reactions: Vec<(u64, String)>,
    /// (workflow, body)
    pub dispatches: Vec<(String, Value)>,
    /// Installation tokens minted.
    pub tokens_minted: usize,
    /// Bearer values that were not a JWT.
    pub bad_app_auth: Vec<String>,
    /// What `GET /repos/{o}/{r}` answers as `clone_url` (the bare test remote).
    pub clone_url: String,
}

fn record(w: &Shared, method: &Method, uri: &Uri) {
    w.lock()
        .unwrap()
        .requests
        .push((method.to_string(), uri.path().to_string()));
}

fn is_app_jwt(headers: &HeaderMap) -> bool {
    let Some(v) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some(jwt) = v.strip_prefix("Bearer ") else {
        return false;
    };
    let parts: Vec<&str> = jwt.split('.').collect();
    use base64::Engine;
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(parts[0])
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
    parts.len() == 3 && header.is_some_and(|h| h["alg"] == "RS256")
}

async fn access_token(
    State(w): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> Response {
    record(&w, &method, &uri);
    let mut world = w.lock().unwrap();
    if !is_app_jwt(&headers) {
        world.bot.bad_app_auth.push(uri.path().to_string());
        return (StatusCode::UNAUTHORIZED, Json(json!({ "message": "A JSON web token could not be decoded", "documentation_url": "https://docs.github.com/rest" }))).into_response();
    }
    if id != INSTALLATION {
        return (StatusCode::NOT_FOUND, Json(json!({ "message": "Not Found", "documentation_url": "https://docs.github.com/rest" }))).into_response();
    }
    world.bot.tokens_minted += 1;
    let expires = (chrono::Utc::now() + chrono::TimeDelta::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let v = openapi::response(
        "post",
        "/app/installations/{installation_id}/access_tokens",
        json!({ "token": INSTALLATION_TOKEN, "expires_at": expires }),
    );
    (StatusCode::CREATED, Json(v)).into_response()
}

async fn installation(
    State(w): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    record(&w, &method, &uri);
    if !is_app_jwt(&headers) {
        return (StatusCode::UNAUTHORIZED, Json(json!({ "message": "A JSON web token could not be decoded", "documentation_url": "https://docs.github.com/rest" }))).into_response();
    }
    let v = openapi::response(
        "get",
        "/repos/{owner}/{repo}/installation",
        json!({ "id": INSTALLATION }),
    );
    Json(v).into_response()
}

async fn permission(
    State(w): State<Shared>,
    method: Method,
    uri: Uri,
    Path((_, _, user)): Path<(String, String, String)>,
) -> Response {
    record(&w, &method, &uri);
    let world = w.lock().unwrap();
    let Some(role) = world.bot.roles.get(&user) else {
        return (StatusCode::NOT_FOUND, Json(json!({ "message": format!("{user} is not a user"), "documentation_url": "https://docs.github.com/rest" }))).into_response();
    };
    let permission = match role.as_str() {
        "maintain" => "write",
        "triage" => "read",
        r => r,
    };
    let v = openapi::response(
        "get",
        "/repos/{owner}/{repo}/collaborators/{username}/permission",
        json!({ "permission": permission, "role_name": role, "user": { "login": user } }),
    );
    Json(v).into_response()
}

async fn reaction(
    State(w): State<Shared>,
    method: Method,
    uri: Uri,
    Path((_, _, id)): Path<(String, String, u64)>,
    body: Bytes,
) -> Response {
    record(&w, &method, &uri);
    let b: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let content = b["content"].as_str().unwrap_or_default().to_string();
    w.lock().unwrap().bot.reactions.push((id, content.clone()));
    let v = openapi::response(
        "post",
        "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
        json!({ "content": content }),
    );
    (StatusCode::CREATED, Json(v)).into_response()
}

async fn dispatch(
    State(w): State<Shared>,
    method: Method,
    uri: Uri,
    Path((_, _, workflow)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    record(&w, &method, &uri);
    let b: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    w.lock().unwrap().bot.dispatches.push((workflow, b));
    StatusCode::NO_CONTENT.into_response()
}

async fn repository(
    State(w): State<Shared>,
    method: Method,
    uri: Uri,
    Path((o, r)): Path<(String, String)>,
) -> Response {
    record(&w, &method, &uri);
    let world = w.lock().unwrap();
    let v = openapi::response(
        "get",
        "/repos/{owner}/{repo}",
        json!({ "name": r, "full_name": format!("{o}/{r}"), "clone_url": world.bot.clone_url, "default_branch": "main" }),
    );
    Json(v).into_response()
}

pub fn routes(world: Shared) -> Router {
    Router::new()
        .route("/repos/{o}/{r}", get(repository))
        .route("/app/installations/{id}/access_tokens", post(access_token))
        .route("/repos/{o}/{r}/installation", get(installation))
        .route(
            "/repos/{o}/{r}/collaborators/{u}/permission",
            get(permission),
        )
        .route(
            "/repos/{o}/{r}/issues/comments/{id}/reactions",
            post(reaction),
        )
        .route(
            "/repos/{o}/{r}/actions/workflows/{w}/dispatches",
            post(dispatch),
        )
        .with_state(world)
}
