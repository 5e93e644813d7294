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

/// Behind a corporate proxy: git reaches the remote through `HTTPS_PROXY` (a CONNECT
/// tunnel, TLS end to end), and `NO_PROXY` exempts the host.
#[test]
fn pushes_through_the_https_proxy_and_honours_no_proxy() {
    let s = setup();
    let log = s.root.path().join("proxy.log");
    let port_file = s.root.path().join("proxy-port");
    let mut proxy = std::process::Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/connect_proxy.py"
        ))
        .arg(&port_file)
        .arg(&log)
        .spawn()
        .expect("python3 runs");
    let port = (0..400)
        .find_map(|_| {
            std::thread::sleep(std::time::Duration::from_millis(25));
            std::fs::read_to_string(&port_file).ok()
        })
        .expect("the proxy starts");
    let proxy_url = format!("http://127.0.0.1:{port}");
    let ok = |out: std::process::Output| {
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    // every git request goes through the tunnel
    let v = ok(invoke(
        &s,
        &["--force"],
        &[("HTTPS_PROXY", &proxy_url), ("NO_PROXY", "")],
    ));
    assert_eq!(v["pull_request"]["operation"], "created", "{v}");
    let tunnels = std::fs::read_to_string(&log).unwrap_or_default();
    let git_port = s.git.base.rsplit(':').next().unwrap();
    assert!(
        tunnels.contains(&format!("CONNECT 127.0.0.1:{git_port}")),
        "{tunnels}"
    );
    // NO_PROXY names the git server: the proxy is not used (new data: a new push)
    let before = tunnels.lines().count();
    let mut late = retrain::data::synth::Spec {
        rows: 500,
        seed: 9,
        ..Default::default()
    };
    late.start += 5000 * 3600;
    retrain::data::synth::write(
        &late,
        &s.work.join("data"),
        "late",
        1,
        retrain::data::synth::OutputFormat::Parquet,
    )
    .unwrap();
    crate::publish::commit_and_push(&s, "more data");
    let v = ok(invoke(
        &s,
        &["--force"],
        &[("HTTPS_PROXY", &proxy_url), ("NO_PROXY", "127.0.0.1")],
    ));
    let _ = proxy.kill();
    let _ = proxy.wait();
    assert_eq!(v["pull_request"]["operation"], "created", "{v}");
    let after = std::fs::read_to_string(&log).unwrap().lines().count();
    assert_eq!(after, before, "NO_PROXY was not honoured");
}

/// A server that stops answering in the middle of a push: git gives up when the transfer
/// stays below `http.lowSpeedLimit` for `http.lowSpeedTime` (retrain's default 60 s,
/// shortened here through git's own `GIT_HTTP_LOW_SPEED_TIME`); nothing is half-pushed and
/// a re-run converges.
#[test]
fn a_server_that_hangs_mid_push_is_abandoned_and_a_rerun_converges() {
    let mut s = setup();
    restart_git(
        &mut s,
        Options {
            stall_push: true,
            ..Default::default()
        },
    );
    let started = std::time::Instant::now();
    let f = failing(&s, &[("GIT_HTTP_LOW_SPEED_TIME", "2")]);
    assert_eq!(f.code, Some(3), "{}", f.stderr);
    assert!(
        f.stderr.contains("error: git: push `retrain/churn/"),
        "{}",
        f.stderr
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(50),
        "git waited for the hung server: {:?}",
        started.elapsed()
    );
    no_branch_pushed(&s);
    restart_git(&mut s, Options::default());
    let v = run(&s, &["--force"]);
    assert_eq!(v["pull_request"]["operation"], "created", "{v}");
    assert_eq!(s.server.world.lock().unwrap().prs.len(), 1);
}
