//! The GitHub client against the test server, every exchange validated by prism
//! against GitHub's OpenAPI description.

use std::time::{Duration, Instant};

use retrain::forge::git::Token;
use retrain::forge::github::{GitHub, GitHubConfig, GitHubError};

use crate::support::github::{Fault, GitHubServer};

fn client(server: &GitHubServer) -> GitHub {
    GitHub::new(&GitHubConfig {
        api_url: server.url.clone(),
        repository: GitHubServer::repository(),
        token: Token::new("ghs_test".into()),
        attempts: 4,
        max_backoff: Duration::from_secs(2),
        graphql_url: Some(server.graphql_url()),
    })
    .unwrap()
}

/// GitHub's REST API cannot mark a draft ready for review; retrain sends GraphQL's
/// `markPullRequestReadyForReview`, validated here against GitHub's GraphQL schema
/// (@octokit/graphql-schema, pinned), with a control the validator must refuse.
#[test]
fn the_ready_for_review_mutation_is_valid_against_githubs_graphql_schema() {
    let validate = |document: &str| {
        std::process::Command::new("node")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/github/graphql.mjs"
            ))
            .arg(document)
            .output()
            .expect("node runs (`bash tests/run.sh` installs it)")
    };
    let ok = validate(retrain::forge::github::READY_FOR_REVIEW);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let wrong = validate(&retrain::forge::github::READY_FOR_REVIEW.replace("isDraft", "isDrafted"));
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("isDrafted"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_draft_is_marked_ready_for_review_and_a_graphql_error_is_an_error() {
    let server = GitHubServer::start();
    let gh = client(&server);
    let pr = gh
        .create_pull_request("retrain: m v2", "body", "retrain/m/def", "main", true)
        .await
        .unwrap();
    assert!(!pr.node_id.is_empty());
    gh.ready_for_review(&pr.node_id).await.unwrap();
    assert!(!server.world.lock().unwrap().prs[0].draft);
    // GitHub answers GraphQL errors with status 200
    let err = gh
        .ready_for_review("PR_unknown")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("markPullRequestReadyForReview") && err.contains("Could not resolve"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pull_request_lifecycle_is_valid_against_the_openapi_description() {
    let server = GitHubServer::start();
    let gh = client(&server);
    assert!(gh
        .find_pull_request("retrain/m/abc")
        .await
        .unwrap()
        .is_none());
    let pr = gh
        .create_pull_request("retrain: m v1", "body", "retrain/m/abc", "main", true)
        .await
        .unwrap();
    assert_eq!(pr.number, 1);
    assert_eq!(pr.draft, Some(true));
    gh.add_labels(1, &["retrain".into(), "model".into()])
        .await
        .unwrap();
    gh.request_reviewers(1, &["ada".into()]).await.unwrap();
    gh.comment(1, "superseded").await.unwrap();
    gh.check_run(
        &pr.head.sha,
        "retrain / m",
        retrain::outcome::CheckState::Success,
        "blessed",
        "all gates passed",
    )
    .await
    .unwrap();
    let found = gh
        .find_pull_request("retrain/m/abc")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.number, found.head.name.as_str()),
        (1, "retrain/m/abc")
    );
    let updated = gh
        .update_pull_request(1, "retrain: m v1 (updated)", "new body")
        .await
        .unwrap();
    assert_eq!(updated.title, "retrain: m v1 (updated)");
    gh.close_pull_request(1).await.unwrap();
    let w = server.world.lock().unwrap();
    assert_eq!(w.prs[0].labels, ["retrain", "model"]);
    assert_eq!(w.prs[0].reviewers, ["ada"]);
    assert_eq!(w.prs[0].state, "closed");
    assert_eq!(w.check_runs[0]["conclusion"], "success");
}

#[tokio::test(flavor = "multi_thread")]
async fn server_errors_and_rate_limits_are_retried_honouring_retry_after() {
    let server = GitHubServer::start();
    let gh = client(&server);
    {
        let mut w = server.world.lock().unwrap();
        w.faults
            .push_back(("/pulls".into(), Fault::Status(502, None, "Bad Gateway")));
        w.faults.push_back((
            "/pulls".into(),
            Fault::Status(429, Some(1), "API rate limit exceeded"),
        ));
        w.faults.push_back((
            "/pulls".into(),
            Fault::Status(403, Some(1), "You have exceeded a secondary rate limit"),
        ));
    }
    let started = Instant::now();
    let pr = gh
        .create_pull_request("t", "b", "retrain/m/x", "main", false)
        .await
        .unwrap();
    assert_eq!(pr.number, 1);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "Retry-After was honoured: {:?}",
        started.elapsed()
    );
    let w = server.world.lock().unwrap();
    assert_eq!(
        w.requests
            .iter()
            .filter(|(m, p)| m == "POST" && p.ends_with("/pulls"))
            .count(),
        4
    );
    assert_eq!(w.prs.len(), 1, "exactly one pull request");
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_name_the_endpoint_the_status_and_the_missing_permission() {
    let server = GitHubServer::start();
    let gh = client(&server);
    server.world.lock().unwrap().faults.push_back((
        "/check-runs".into(),
        Fault::Status(403, None, "Resource not accessible by integration"),
    ));
    let err = gh
        .check_run(
            "1111111111111111111111111111111111111111",
            "retrain",
            retrain::outcome::CheckState::Success,
            "t",
            "s",
        )
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(
            "POST /repos/acme/models/check-runs: 403 Resource not accessible by integration"
        ),
        "{text}"
    );
    assert!(
        err.hint().unwrap().contains("checks: write"),
        "{:?}",
        err.hint()
    );
    // GitHub's own validation error comes through
    gh.create_pull_request("t", "b", "retrain/m/y", "main", false)
        .await
        .unwrap();
    let dup = gh
        .create_pull_request("t", "b", "retrain/m/y", "main", false)
        .await
        .unwrap_err();
    assert!(
        matches!(dup, GitHubError::Http { status: 422, .. }),
        "{dup}"
    );
}

/// A release asset download follows GitHub's 302 to the storage host without the
/// token (S3 refuses a second credential, and the token must not leave GitHub), and
/// the bytes arrive intact. Plain servers here: prism, in front of the stateful test
/// server, would follow the redirect itself.
#[tokio::test(flavor = "multi_thread")]
async fn asset_downloads_follow_the_redirect_without_the_token() {
    use axum::extract::State;
    use axum::http::HeaderMap;
    use axum::response::IntoResponse;
    use std::sync::{Arc, Mutex};
    type Seen = Arc<Mutex<Vec<(String, String, String)>>>;
    async fn serve(app: axum::Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}")
    }
    let seen: Seen = Arc::default();
    let record = |seen: &Seen, who: &str, h: &HeaderMap| {
        let get = |k: &str| {
            h.get(k)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        seen.lock()
            .unwrap()
            .push((who.into(), get("authorization"), get("accept")));
    };
    let storage = serve(
        axum::Router::new()
            .route(
                "/blob",
                axum::routing::get(move |State(s): State<Seen>, h: HeaderMap| async move {
                    record(&s, "storage", &h);
                    vec![0u8, 159, 146, 150, 255].into_response()
                }),
            )
            .with_state(seen.clone()),
    )
    .await;
    let api = serve(
        axum::Router::new()
            .route(
                "/repos/acme/models/releases/assets/7",
                axum::routing::get(
                    move |State((s, to)): State<(Seen, String)>, h: HeaderMap| async move {
                        record(&s, "api", &h);
                        axum::response::Response::builder()
                            .status(302)
                            .header("location", format!("{to}/blob?X-Amz-Signature=abc"))
                            .body(axum::body::Body::empty())
                            .unwrap()
                    },
                ),
            )
            .with_state((seen.clone(), storage)),
    )
    .await;
    let gh = GitHub::new(&GitHubConfig {
        api_url: api,
        repository: GitHubServer::repository(),
        token: Token::new("ghs_test".into()),
        attempts: 2,
        max_backoff: Duration::from_secs(1),
        graphql_url: None,
    })
    .unwrap();
    let bytes = gh.download_asset(7).await.unwrap();
    assert_eq!(bytes, [0u8, 159, 146, 150, 255]);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].0, "api");
    assert_eq!(seen[0].1, "Bearer ghs_test");
    assert_eq!(seen[0].2, "application/octet-stream");
    assert_eq!(seen[1].0, "storage");
    assert_eq!(seen[1].1, "", "the token was sent to the storage host");
}
