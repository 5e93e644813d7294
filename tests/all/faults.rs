//! Faults during `retrain run`: GitHub errors that outlast the retries, connections cut
//! before or after GitHub acted, a rejected push. After each, a re-run converges to
//! exactly one correct pull request and nothing is lost.

use crate::publish::{run, setup, Setup};
use crate::support::git;
use crate::support::github::Fault;

fn run_failing(s: &Setup) -> (i32, String) {
    let (code, _, stderr) = crate::promote::retrain(
        s,
        &[
            "run",
            "--output",
            "json",
            "--now",
            "2025-06-01T00:00:00Z",
            "--force",
        ],
    );
    (code, stderr)
}

/// Exactly one open PR, labelled, with a check run, its branch on the remote.
fn assert_one_correct_pr(s: &Setup) {
    let w = s.server.world.lock().unwrap();
    assert_eq!(w.prs.len(), 1, "{:?}", w.prs);
    let pr = &w.prs[0];
    assert_eq!(pr.state, "open");
    assert_eq!(pr.labels, ["retrain", "model"]);
    assert_eq!(pr.reviewers, ["ada"]);
    assert!(pr.body.starts_with("<!-- retrain:"));
    assert!(!w.check_runs.is_empty());
    git(
        &s.origin,
        &[
            "cat-file",
            "-e",
            &format!("{}:models/churn/registry.yaml", pr.head),
        ],
    );
}

#[test]
fn connections_dropped_at_each_step_are_retried_within_the_run() {
    let s = setup();
    {
        let mut w = s.server.world.lock().unwrap();
        for key in [
            "GET /pulls",
            "POST /pulls",
            "POST /labels",
            "POST /requested_reviewers",
            "POST /check-runs",
        ] {
            w.faults.push_back((key.into(), Fault::Drop));
        }
    }
    let v = run(&s, &["--force"]);
    assert_eq!(v["pull_request"]["operation"], "created", "{v}");
    assert!(
        s.server.world.lock().unwrap().faults.is_empty(),
        "every fault was hit"
    );
    assert_one_correct_pr(&s);
}

#[test]
fn a_pull_request_created_before_the_connection_dropped_is_not_duplicated() {
    let s = setup();
    s.server
        .world
        .lock()
        .unwrap()
        .faults
        .push_back(("POST /pulls".into(), Fault::DropAfter));
    let v = run(&s, &["--force"]);
    assert_eq!(v["pull_request"]["number"], 1, "{v}");
    assert_one_correct_pr(&s);
}

#[test]
fn errors_that_outlast_the_retries_fail_the_run_and_a_rerun_converges() {
    let s = setup();
    {
        let mut w = s.server.world.lock().unwrap();
        for _ in 0..5 {
            w.faults.push_back((
                "POST /pulls".into(),
                Fault::Status(500, Some(0), "Internal Server Error"),
            ));
        }
    }
    let (code, err) = run_failing(&s);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("POST /repos/acme/models/pulls: 500") && err.contains("gave up after 5"),
        "{err}"
    );
    assert!(s.server.world.lock().unwrap().prs.is_empty());
    // the branch was pushed before the failure: the re-run reuses it
    let v = run(&s, &["--force"]);
    assert_eq!(v["pull_request"]["operation"], "created", "{v}");
    assert_one_correct_pr(&s);
    let again = run(&s, &["--force"]);
    assert_eq!(again["pull_request"]["operation"], "unchanged", "{again}");
}

#[test]
fn a_rejected_push_fails_the_run_and_a_rerun_converges() {
    let s = setup();
    let hook = s.origin.join("hooks/pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\necho 'branch protection: pushes are closed for maintenance' >&2\nexit 1\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // the hook runs behind the HTTPS server as it would behind GitHub's
    let (code, err) = run_failing(&s);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("rejected"), "{err}");
    assert!(
        s.server.world.lock().unwrap().prs.is_empty(),
        "no PR without its branch"
    );
    std::fs::remove_file(&hook).unwrap();
    let v = run(&s, &["--force"]);
    assert_eq!(v["pull_request"]["operation"], "created", "{v}");
    assert_one_correct_pr(&s);
}

/// Regression (D10): an API error body was printed verbatim, so a server that echoes
/// the `Authorization` header got the token printed.
#[test]
fn a_server_that_echoes_the_token_does_not_get_it_printed() {
    let s = setup();
    s.server
        .world
        .lock()
        .unwrap()
        .faults
        .push_back(("POST /pulls".into(), Fault::Echo(401)));
    // run_failing asserts that no token reaches stdout or stderr
    let (code, err) = run_failing(&s);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains(
            "POST /repos/acme/models/pulls: 401 Bad credentials (got `Authorization: Bearer ***"
        ),
        "{err}"
    );
}

/// A GitHub API that goes silent beyond the read timeout (`RETRAIN_HTTP_TIMEOUT`, default
/// 30 s; 2 s here): the request is abandoned and retried, and the run ends with one PR.
#[test]
fn a_server_that_hangs_beyond_the_timeout_is_retried() {
    let s = setup();
    s.server
        .world
        .lock()
        .unwrap()
        .faults
        .push_back(("POST /pulls".into(), Fault::Slow(20)));
    let started = std::time::Instant::now();
    let out = crate::publish::invoke(&s, &["--force"], &[("RETRAIN_HTTP_TIMEOUT", "2")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(18),
        "the hung request was waited for: {:?}",
        started.elapsed()
    );
    assert!(
        s.server.world.lock().unwrap().faults.is_empty(),
        "the fault was hit"
    );
    assert_one_correct_pr(&s);
}
