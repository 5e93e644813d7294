//! `retrain run` publishing over HTTPS as GitHub serves git: the faults a user meets on
//! that path (an untrusted certificate, a refused token, a push cut mid-transfer), each
//! a clear error that leaves nothing half-pushed, after which a re-run converges.

use crate::publish::{invoke, run, setup, Setup};
use crate::support::git;
use crate::support::git_server::{GitServer, Options, TOKEN};

struct Failed {
    code: Option<i32>,
    stderr: String,
}

fn failing(s: &Setup, envs: &[(&str, &str)]) -> Failed {
    let out = invoke(s, &["--force"], envs);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&out.stdout);
    for secret in [TOKEN, "ghs_wrong_token"] {
        assert!(
            !stderr.contains(secret) && !stdout.contains(secret),
            "a token was printed: {stderr}"
        );
    }
    Failed {
        code: out.status.code(),
        stderr,
    }
}

fn no_branch_pushed(s: &Setup) {
    let branches = git(&s.origin, &["branch", "--list", "retrain/*"]);
    assert!(branches.is_empty(), "pushed: {branches}");
    assert!(s.server.world.lock().unwrap().prs.is_empty());
}

/// Replaces the git server with one started with `options`; `origin` follows it.
fn restart_git(s: &mut Setup, options: Options) {
    s.git = GitServer::start(s.root.path(), TOKEN, options);
    s.git.configure_like_checkout(&s.work, "origin.git", TOKEN);
}

#[test]
fn an_untrusted_certificate_is_a_clear_error_and_no_credential_is_sent() {
    let s = setup();
    // the system's trust store only, as on a runner that was not given the CA
    let f = failing(
        &s,
        &[("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt")],
    );
    assert_eq!(f.code, Some(3), "{}", f.stderr);
    assert!(
        f.stderr
            .contains("error: git: the TLS connection to https://127.0.0.1:"),
        "{}",
        f.stderr
    );
    assert!(f.stderr.contains("certificate"), "{}", f.stderr);
    assert!(
        f.stderr
            .contains("hint: if the server's certificate is issued by a private CA"),
        "{}",
        f.stderr
    );
    assert!(s.git.auth_log().is_empty(), "{:?}", s.git.auth_log());
    no_branch_pushed(&s);
    // given the CA, the same run goes through
    let v = run(&s, &["--force"]);
    assert_eq!(v["pull_request"]["operation"], "created", "{v}");
}

#[test]
fn a_refused_token_is_a_clear_error_that_names_the_permission() {
    let s = setup();
    let f = failing(&s, &[("GITHUB_TOKEN", "ghs_wrong_token")]);
    assert_eq!(f.code, Some(3), "{}", f.stderr);
    assert!(
        f.stderr
            .contains("error: git: the token was refused by https://127.0.0.1:"),
        "{}",
        f.stderr
    );
    assert!(f.stderr.contains("contents: write"), "{}", f.stderr);
    no_branch_pushed(&s);
}

#[test]
fn a_push_cut_mid_transfer_leaves_nothing_and_a_rerun_converges() {
    let mut s = setup();
    restart_git(
        &mut s,
        Options {
            drop_push: true,
            ..Default::default()
        },
    );
    let f = failing(&s, &[]);
    assert_eq!(f.code, Some(3), "{}", f.stderr);
    assert!(
        f.stderr.contains("error: git: push `retrain/churn/"),
        "{}",
        f.stderr
    );
    no_branch_pushed(&s);
    restart_git(&mut s, Options::default());
    let v = run(&s, &["--force"]);
    assert_eq!(v["pull_request"]["operation"], "created", "{v}");
    let branch = v["pull_request"]["branch"].as_str().unwrap();
    git(
        &s.origin,
        &[
            "cat-file",
            "-e",
            &format!("{branch}:models/churn/registry.yaml"),
        ],
    );
    assert_eq!(s.server.world.lock().unwrap().prs.len(), 1);
}

/// The checkout's `extraheader` holds a token that has expired: retrain's own token
/// is the only credential sent.
#[test]
fn a_stale_checkout_credential_is_not_sent() {
    let s = setup();
    s.git
        .configure_like_checkout(&s.work, "origin.git", "ghs_expired_checkout_token");
    let v = run(&s, &["--force"]);
    assert_eq!(v["pull_request"]["operation"], "created", "{v}");
    // git asks without credentials first (`none`), then answers the 401 with the token
    let log = s.git.auth_log();
    assert!(log.iter().any(|l| l == "ok"), "{log:?}");
    assert!(log.iter().all(|l| l == "ok" || l == "none"), "{log:?}");
}
