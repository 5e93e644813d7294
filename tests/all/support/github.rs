//! A stateful GitHub API test server (pull requests, labels, reviewers, comments,
//! check runs) behind prism, which validates every request and response against
//! GitHub's official OpenAPI description. Faults can be queued per endpoint.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::openapi;

#[derive(Debug, Clone)]
pub struct Pr {
    pub number: u64,
    pub title: String,
    pub body: String,
    pub head: String,
    pub head_sha: String,
    pub base: String,
    pub state: String,
    pub draft: bool,
    pub labels: Vec<String>,
    pub reviewers: Vec<String>,
    pub comments: Vec<String>,
    pub merged: bool,
}

#[derive(Debug, Clone)]
pub enum Fault {
    Status(u16, Option<u64>, &'static str),
    /// Headers sent, then the connection breaks mid-body.
    Drop,
    /// The request is carried out, then the connection breaks before the response
    /// (honoured by `POST /pulls`): the client cannot know it succeeded.
    DropAfter,
    /// This status, with a message that echoes the request's `Authorization` header,
    /// as misconfigured proxies and some servers' debug pages do.
    Echo(u16),
    /// Headers sent, then nothing for this many seconds (a server that hangs).
    Slow(u64),
}

/// A response body that sends nothing for a while, then `{}`.
struct Slow(std::pin::Pin<Box<tokio::time::Sleep>>, bool);

impl http_body::Body for Slow {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        use std::future::Future;
        match self.0.as_mut().poll(cx) {
            std::task::Poll::Pending => std::task::Poll::Pending,
            std::task::Poll::Ready(()) if self.1 => std::task::Poll::Ready(None),
            std::task::Poll::Ready(()) => {
                self.1 = true;
                std::task::Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from_static(b"{}")))))
            }
        }
    }
}

/// A response body that fails after the headers: the connection is cut.
struct Broken;

impl http_body::Body for Broken {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "test fault: connection dropped",
        ))))
    }
}

#[derive(Debug, Clone)]
pub struct Release {
    pub id: u64,
    pub tag: String,
    pub name: String,
    pub body: String,
    pub draft: bool,
    pub target: Option<String>,
    /// (name, label, bytes)
    pub assets: Vec<(String, String, Vec<u8>)>,
}

#[derive(Default)]
pub struct World {
    pub prs: Vec<Pr>,
    pub releases: Vec<Release>,
    /// This server's own URL (clients see prism's): where asset downloads are redirected,
    /// like GitHub's storage host, and the `upload_url` of releases, like GitHub's
    /// separate uploads host (prism re-encodes binary request bodies as text, which
    /// would corrupt a `model.onnx`: stoplightio/prism#2349).
    pub raw_url: String,
    drop_next_response: bool,
    pub check_runs: Vec<Value>,
    /// (method, path) of every request that reached the server.
    pub requests: Vec<(String, String)>,
    /// Faults to answer instead, matched by path substring, first come first served.
    pub faults: VecDeque<(String, Fault)>,
    /// The webhook bot's endpoints (support/github_app.rs).
    pub bot: super::github_app::BotWorld,
    /// (path, Authorization header) of every request.
    pub authorizations: Vec<(String, String)>,
}

/// Records who asked (the Authorization header) before any handler runs.
async fn record_authorization(
    State(w): State<Shared>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let auth = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    w.lock()
        .unwrap()
        .authorizations
        .push((request.uri().path().to_string(), auth));
    next.run(request).await
}

pub type Shared = Arc<Mutex<World>>;

pub struct GitHubServer {
    pub world: Shared,
    /// The URL retrain talks to (prism, in front of the server).
    pub url: String,
    _prism: Child,
}

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const OWNER: &str = "acme";
const REPO: &str = "models";

fn pr_json(pr: &Pr) -> Value {
    let user = json!({ "login": "retrain[bot]", "id": 1, "type": "Bot" });
    let repo = json!({ "name": REPO, "full_name": format!("{OWNER}/{REPO}"), "owner": user });
    openapi::response(
        "get",
        "/repos/{owner}/{repo}/pulls/{pull_number}",
        json!({
            "number": pr.number,
            "id": pr.number,
            "node_id": node_id(pr.number),
            "title": pr.title,
            "body": pr.body,
            "state": pr.state,
            "draft": pr.draft,
            "html_url": format!("https://github.test/{OWNER}/{REPO}/pull/{}", pr.number),
            "url": format!("https://api.github.test/repos/{OWNER}/{REPO}/pulls/{}", pr.number),
            "head": { "ref": pr.head, "sha": pr.head_sha, "label": format!("{OWNER}:{}", pr.head), "repo": repo, "user": user },
            "base": { "ref": pr.base, "sha": "0000000000000000000000000000000000000000", "label": format!("{OWNER}:{}", pr.base), "repo": repo, "user": user },
            "merged": pr.merged,
            "merged_at": if pr.merged { json!("2025-06-02T00:00:00Z") } else { Value::Null },
            "user": user,
            "labels": pr.labels.iter().map(|l| json!({ "name": l, "id": 1, "node_id": "L", "url": "https://github.test/l", "color": "ededed", "default": false, "description": "" })).collect::<Vec<_>>(),
        }),
    )
}

fn pr_simple_json(pr: &Pr) -> Value {
    let full = pr_json(pr);
    let item_schema =
        openapi::response_schema("get", "/repos/{owner}/{repo}/pulls")["items"].clone();
    let mut v = openapi::minimal(&item_schema);
    // the list returns "pull-request-simple": copy the fields it shares with the full object
    if let (Value::Object(dst), Value::Object(src)) = (&mut v, full) {
        for (k, val) in src {
            if dst.contains_key(&k) || ["draft", "body", "merged_at"].contains(&k.as_str()) {
                dst.insert(k, val);
            }
        }
    }
    v
}

fn fault(world: &Shared, method: &Method, uri: &Uri) -> Option<Response> {
    let mut w = world.lock().unwrap();
    w.requests
        .push((method.to_string(), uri.path().to_string()));
    // A key is a path substring, optionally after a method: "POST /pulls".
    let pos = w
        .faults
        .iter()
        .position(|(key, _)| match key.split_once(' ') {
            Some((m, p)) => m == method.as_str() && uri.path().contains(p),
            None => uri.path().contains(key.as_str()),
        })?;
    let (_, f) = w.faults.remove(pos)?;
    let (code, retry, message) = match f {
        Fault::Status(code, retry, message) => (code, retry, message.to_string()),
        Fault::Echo(code) => {
            let auth = w
                .authorizations
                .last()
                .map(|a| a.1.clone())
                .unwrap_or_default();
            (
                code,
                None,
                format!("Bad credentials (got `Authorization: {auth}`)"),
            )
        }
        Fault::DropAfter => {
            w.drop_next_response = true;
            return None;
        }
        Fault::Slow(secs) => {
            return Some(
                Response::builder()
                    .status(200)
                    .header("content-type", "application/json")
                    .body(axum::body::Body::new(Slow(
                        Box::pin(tokio::time::sleep(std::time::Duration::from_secs(secs))),
                        false,
                    )))
                    .unwrap(),
            )
        }
        Fault::Drop => {
            return Some(
                Response::builder()
                    .status(200)
                    .header("content-type", "application/json")
                    .body(axum::body::Body::new(Broken))
                    .unwrap(),
            )
        }
    };
    let mut headers = HeaderMap::new();
    if let Some(s) = retry {
        headers.insert("retry-after", s.to_string().parse().unwrap());
    }
    let body =
        Json(json!({ "message": message, "documentation_url": "https://docs.github.com/rest" }));
    Some((StatusCode::from_u16(code).unwrap(), headers, body).into_response())
}

async fn list_pulls(
    State(w): State<Shared>,
    method: Method,
    uri: Uri,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    if let Some(r) = fault(&w, &method, &uri) {
        return r;
    }
    let world = w.lock().unwrap();
    let state = q.get("state").cloned().unwrap_or_else(|| "open".into());
    let head = q.get("head").map(|h| {
        h.split_once(':')
            .map(|(_, b)| b.to_string())
            .unwrap_or_else(|| h.clone())
    });
    let list: Vec<Value> = world
        .prs
        .iter()
        .filter(|p| state == "all" || p.state == state)
        .filter(|p| head.as_ref().is_none_or(|h| &p.head == h))
        .map(pr_simple_json)
        .collect();
    Json(Value::Array(list)).into_response()
}

async fn create_pull(State(w): State<Shared>, method: Method, uri: Uri, body: Bytes) -> Response {
    if let Some(r) = fault(&w, &method, &uri) {
        return r;
    }
    let b: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut world = w.lock().unwrap();
    let head = b["head"].as_str().unwrap_or_default().to_string();
    if world
        .prs
        .iter()
        .any(|p| p.head == head && p.state == "open")
    {
        return (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({ "message": "Validation Failed", "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request", "errors": [{ "resource": "PullRequest", "code": "custom", "message": format!("A pull request already exists for {OWNER}:{head}.") }] }))).into_response();
    }
    let number = world.prs.len() as u64 + 1;
    let pr = Pr {
        number,
        title: b["title"].as_str().unwrap_or_default().into(),
        body: b["body"].as_str().unwrap_or_default().into(),
        head,
        head_sha: "1111111111111111111111111111111111111111".into(),
        base: b["base"].as_str().unwrap_or_default().into(),
        state: "open".into(),
        draft: b["draft"].as_bool().unwrap_or(false),
        labels: vec![],
        reviewers: vec![],
        comments: vec![],
        merged: false,
    };
    let v = pr_json(&pr);
    world.prs.push(pr);
    if std::mem::take(&mut world.drop_next_response) {
        return Response::builder()
            .status(201)
            .header("content-type", "application/json")
            .body(axum::body::Body::new(Broken))
            .unwrap();
    }
    (StatusCode::CREATED, Json(v)).into_response()
}

async fn update_pull(
    State(w): State<Shared>,
    method: Method,
    uri: Uri,
    Path((_, _, n)): Path<(String, String, u64)>,
    body: Bytes,
) -> Response {
    if let Some(r) = fault(&w, &method, &uri) {
        return r;
    }
    let b: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut world = w.lock().unwrap();
    let Some(pr) = world.prs.iter_mut().find(|p| p.number == n) else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "message": "Not Found" })),
        )
            .into_response();
    };
    if let Some(t) = b["title"].as_str() {
        pr.title = t.into();
    }
    if let Some(t) = b["body"].as_str() {
        pr.body = t.into();
    }
    if let Some(s) = b["state"].as_str() {
        pr.state = s.into();
    }
    Json(pr_json(pr)).into_response()
}

async fn add_labels(
    State(w): State<Shared>,
    method: Method,
    uri: Uri,
    Path((_, _, n)): Path<(String, String, u64)>,
    body: Bytes,
) -> Response {
    if let Some(r) = fault(&w, &method, &uri) {
        return r;
    }
    let b: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut world = w.lock().unwrap();
    let Some(pr) = world.prs.iter_mut().find(|p| p.number == n) else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "message": "Not Found" })),
        )
            .into_response();
    };
    for l in b["labels"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !pr.labels.iter().any(|x| x == l) {
            pr.labels.push(l.into());
        }
    }
    let labels: Vec<Value> = pr
        .labels
        .iter()
        .map(|l| {
            openapi::merge_into(
                openapi::minimal(
                    &openapi::response_schema(
                        "post",
                        "/repos/{owner}/{repo}/issues/{issue_number}/labels",
                    )["items"],
                ),
                json!({ "name": l }),
            )
        })
        .collect();
    Json(Value::Array(labels)).into_response()
}

async fn reviewers(
    State(w): State<Shared>,
    method: Method,
    uri: Uri,
    Path((_, _, n)): Path<(String, String, u64)>,
    body: Bytes,
) -> Response {
    if let Some(r) = fault(&w, &method, &uri) {
        return r;
    }
    let b: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut world = w.lock().unwrap();
    let Some(pr) = world.prs.iter_mut().find(|p| p.number == n) else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "message": "Not Found" })),
        )
            .into_response();
    };
    pr.reviewers.extend(
        b["reviewers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string),
    );
    let v = openapi::response(
        "post",
        "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers",
        pr_simple_json(pr),
    );
    (StatusCode::CREATED, Json(v)).into_response()
}

async fn comment(
    State(w): State<Shared>,
    method: Method,
    uri: Uri,
    Path((_, _, n)): Path<(String, String, u64)>,
    body: Bytes,
) -> Response {
    if let Some(r) = fault(&w, &method, &uri) {
        return r;
    }
    let b: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut world = w.lock().unwrap();
    let Some(pr) = world.prs.iter_mut().find(|p| p.number == n) else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "message": "Not Found" })),
        )
            .into_response();
    };
    let text = b["body"].as_str().unwrap_or_default().to_string();
    pr.comments.push(text.clone());
    let v = openapi::response(
        "post",
        "/repos/{owner}/{repo}/issues/{issue_number}/comments",
        json!({ "body": text }),
    );
    (StatusCode::CREATED, Json(v)).into_response()
}

/// GitHub's GraphQL endpoint, for the one mutation retrain sends:
/// `markPullRequestReadyForReview` (errors as GitHub gives them: status 200, `errors`).
async fn graphql(State(w): State<Shared>, method: Method, uri: Uri, body: Bytes) -> Response {
    if let Some(r) = fault(&w, &method, &uri) {
        return r;
    }
    let b: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let query = b["query"].as_str().unwrap_or_default();
    if !query.contains("markPullRequestReadyForReview(input: { pullRequestId: $id })") {
        return Json(json!({ "errors": [{ "message": format!("unexpected document: {query}") }] }))
            .into_response();
    }
    let id = b["variables"]["id"].as_str().unwrap_or_default();
    let mut world = w.lock().unwrap();
    match world.prs.iter_mut().find(|p| node_id(p.number) == id) {
        Some(pr) => {
            pr.draft = false;
            Json(json!({ "data": { "markPullRequestReadyForReview": { "pullRequest": { "number": pr.number, "isDraft": false } } } }))
                .into_response()
        }
        None => Json(json!({ "data": { "markPullRequestReadyForReview": null }, "errors": [{ "type": "NOT_FOUND", "path": ["markPullRequestReadyForReview"], "message": format!("Could not resolve to a node with the global id of '{id}'") }] }))
            .into_response(),
    }
}

/// A pull request's GraphQL id.
pub fn node_id(number: u64) -> String {
    format!("PR_kwDOtest{number}")
}

async fn check_run(State(w): State<Shared>, method: Method, uri: Uri, body: Bytes) -> Response {
    if let Some(r) = fault(&w, &method, &uri) {
        return r;
    }
    let b: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut world = w.lock().unwrap();
    world.check_runs.push(b.clone());
    let v = openapi::response(
        "post",
        "/repos/{owner}/{repo}/check-runs",
        json!({ "name": b["name"], "head_sha": b["head_sha"], "status": b["status"], "conclusion": b["conclusion"], "id": world.check_runs.len() }),
    );
    (StatusCode::CREATED, Json(v)).into_response()
}

fn release_json(base: &str, r: &Release) -> Value {
    openapi::response(
        "post",
        "/repos/{owner}/{repo}/releases",
        json!({
            "id": r.id,
            "tag_name": r.tag,
            "name": r.name,
            "body": r.body,
            "draft": r.draft,
            "prerelease": false,
            "html_url": format!("https://github.test/{OWNER}/{REPO}/releases/tag/{}", r.tag),
            "upload_url": format!("{base}/repos/{OWNER}/{REPO}/releases/{}/assets{{?name,label}}", r.id),
            "assets": r.assets.iter().enumerate().map(|(i, (name, label, bytes))| asset_json(r.id * 1000 + i as u64, name, label, bytes.len())).collect::<Vec<_>>(),
        }),
    )
}

fn asset_json(id: u64, name: &str, label: &str, size: usize) -> Value {
    openapi::response(
        "post",
        "/repos/{owner}/{repo}/releases/{release_id}/assets",
        json!({ "id": id, "name": name, "label": label, "size": size, "state": "uploaded", "content_type": "application/octet-stream" }),
    )
}

async fn list_releases(State(w): State<Shared>, method: Method, uri: Uri) -> Response {
    if let Some(r) = fault(&w, &method, &uri) {
        return r;
    }
    let world = w.lock().unwrap();
    let list: Vec<Value> = world
        .releases
        .iter()
        .rev()
        .map(|r| release_json(&world.raw_url, r))
        .collect();
    Json(Value::Array(list)).into_response()
}

async fn create_release(
    State(w): State<Shared>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    if let Some(r) = fault(&w, &method, &uri) {
        return r;
    }
    let b: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut world = w.lock().unwrap();
    let tag = b["tag_name"].as_str().unwrap_or_default().to_string();
    if world.releases.iter().any(|r| r.tag == tag) {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "message": "Validation Failed", "errors": [{ "resource": "Release", "code": "already_exists", "field": "tag_name" }] })),
        )
            .into_response();
    }
    let r = Release {
        id: world.releases.len() as u64 + 1,
        tag,
        name: b["name"].as_str().unwrap_or_default().to_string(),
        body: b["body"].as_str().unwrap_or_default().to_string(),
        draft: b["draft"].as_bool().unwrap_or(false),
        target: b["target_commitish"].as_str().map(str::to_string),
        assets: vec![],
    };
    let v = release_json(&world.raw_url, &r);
    world.releases.push(r);
    (StatusCode::CREATED, Json(v)).into_response()
}

async fn update_release(
    State(w): State<Shared>,
    method: Method,
    uri: Uri,
    Path((_, _, id)): Path<(String, String, u64)>,
    body: Bytes,
) -> Response {
    if let Some(r) = fault(&w, &method, &uri) {
        return r;
    }
    let b: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut world = w.lock().unwrap();
    let base = world.raw_url.clone();
    let Some(r) = world.releases.iter_mut().find(|r| r.id == id) else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "message": "Not Found" })),
        )
            .into_response();
    };
    if let Some(d) = b["draft"].as_bool() {
        r.draft = d;
    }
    if let Some(t) = b["body"].as_str() {
        r.body = t.to_string();
    }
    Json(release_json(&base, r)).into_response()
}

async fn upload_asset(
    State(w): State<Shared>,
    method: Method,
    uri: Uri,
    Path((_, _, id)): Path<(String, String, u64)>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    body: Bytes,
) -> Response {
    if let Some(r) = fault(&w, &method, &uri) {
        return r;
    }
    let mut world = w.lock().unwrap();
    let Some(r) = world.releases.iter_mut().find(|r| r.id == id) else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "message": "Not Found" })),
        )
            .into_response();
    };
    let name = q.get("name").cloned().unwrap_or_default();
    let label = q.get("label").cloned().unwrap_or_default();
    r.assets.push((name.clone(), label.clone(), body.to_vec()));
    let v = asset_json(
        id * 1000 + r.assets.len() as u64 - 1,
        &name,
        &label,
        body.len(),
    );
    (StatusCode::CREATED, Json(v)).into_response()
}

/// The asset `id` (release id × 1000 + its index, as `upload_asset` numbers them).
fn asset(world: &World, id: u64) -> Option<&(String, String, Vec<u8>)> {
    world
        .releases
        .iter()
        .find(|r| r.id == id / 1000)
        .and_then(|r| r.assets.get((id % 1000) as usize))
}

/// `GET .../releases/assets/{id}` with `Accept: application/octet-stream`: 302 to the
/// storage URL (another origin, so clients must not forward the token); else the
/// asset's JSON.
async fn get_asset(
    State(w): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path((_, _, id)): Path<(String, String, u64)>,
) -> Response {
    if let Some(r) = fault(&w, &method, &uri) {
        return r;
    }
    let world = w.lock().unwrap();
    let found =
        asset(&world, id).map(|(name, label, bytes)| (name.clone(), label.clone(), bytes.len()));
    let Some((name, label, size)) = found else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "message": "Not Found", "documentation_url": "https://docs.github.com/rest" })),
        )
            .into_response();
    };
    let wants_bytes = headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/octet-stream"));
    if wants_bytes {
        return Response::builder()
            .status(StatusCode::FOUND)
            .header("location", format!("{}/storage/assets/{id}", world.raw_url))
            .body(axum::body::Body::empty())
            .unwrap();
    }
    Json(asset_json(id, &name, &label, size)).into_response()
}

/// The storage host's answer: the asset's bytes.
async fn storage(State(w): State<Shared>, Path(id): Path<u64>) -> Response {
    let world = w.lock().unwrap();
    match asset(&world, id) {
        Some((_, _, bytes)) => (
            [("content-type", "application/octet-stream")],
            bytes.clone(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

impl GitHubServer {
    /// Starts the server and prism in front of it.
    pub fn start() -> Self {
        let world: Shared = Arc::default();
        let app = Router::new()
            .route("/repos/{o}/{r}/pulls", get(list_pulls).post(create_pull))
            .route("/repos/{o}/{r}/pulls/{n}", patch(update_pull))
            .route("/repos/{o}/{r}/issues/{n}/labels", post(add_labels))
            .route(
                "/repos/{o}/{r}/pulls/{n}/requested_reviewers",
                post(reviewers),
            )
            .route("/repos/{o}/{r}/issues/{n}/comments", post(comment))
            .route("/repos/{o}/{r}/check-runs", post(check_run))
            .route("/graphql", post(graphql))
            .route(
                "/repos/{o}/{r}/releases",
                get(list_releases).post(create_release),
            )
            .route("/repos/{o}/{r}/releases/{id}", patch(update_release))
            .route("/repos/{o}/{r}/releases/{id}/assets", post(upload_asset))
            .route("/repos/{o}/{r}/releases/assets/{id}", get(get_asset))
            .route("/storage/assets/{id}", get(storage))
            .with_state(world.clone())
            .merge(super::github_app::routes(world.clone()))
            .layer(axum::middleware::from_fn_with_state(
                world.clone(),
                record_authorization,
            ));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        });
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/github");
        let prism = std::process::Command::new(format!("{dir}/node_modules/.bin/prism"))
            .args([
                "proxy",
                "--errors",
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .arg(openapi::spec_path())
            .arg(format!("http://{addr}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("prism starts (`bash tests/run.sh` installs it)");
        let prism = Child(prism);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "prism did not start within 60 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        {
            let mut w = world.lock().unwrap();
            w.raw_url = format!("http://{addr}");
        }
        Self {
            world,
            url: format!("http://127.0.0.1:{port}"),
            _prism: prism,
        }
    }

    /// The GraphQL endpoint (`GITHUB_GRAPHQL_URL`): this server's own, as prism validates
    /// the REST description only; `tests/github/graphql.mjs` checks retrain's GraphQL
    /// documents against GitHub's GraphQL schema instead.
    pub fn graphql_url(&self) -> String {
        format!("{}/graphql", self.world.lock().unwrap().raw_url)
    }

    pub fn repository() -> String {
        format!("{OWNER}/{REPO}")
    }
}
