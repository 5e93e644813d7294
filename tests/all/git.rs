//! Publishing the proposal's branch to real remotes: a bare repository on disk, git://,
//! and HTTPS with token auth (the path users take).

use std::path::Path;
use std::process::Command;

use crate::support::git;
use crate::support::git_server::{GitServer, Options, TOKEN};
use retrain::forge::git::{
    publish_branch, BranchOperation, BranchRequest, GitError, Identity, Token,
};

/// A bare remote with `main`, and a clone of it (the user's repository).
fn setup() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let origin = root.path().join("origin.git");
    let work = root.path().join("work");
    git(
        root.path(),
        &[
            "init",
            "-q",
            "--bare",
            "-b",
            "main",
            origin.to_str().unwrap(),
        ],
    );
    git(
        root.path(),
        &[
            "clone",
            "-q",
            origin.to_str().unwrap(),
            work.to_str().unwrap(),
        ],
    );
    std::fs::write(work.join("retrain.yaml"), "version: 1\n").unwrap();
    git(&work, &["checkout", "-q", "-b", "main"]);
    git(&work, &["add", "."]);
    git(&work, &["commit", "-q", "-m", "init"]);
    git(&work, &["push", "-q", "origin", "main"]);
    (root, origin, work)
}

fn request<'a>(files: &'a [(String, Vec<u8>)], identity: &'a Identity) -> BranchRequest<'a> {
    BranchRequest {
        remote: "origin",
        base: "main",
        branch: "retrain/m/abcdef123456",
        files,
        message: "retrain: m v1",
        identity,
        token: None,
        expect: &[],
    }
}

#[test]
fn creates_then_leaves_unchanged_then_updates() {
    let (_root, origin, work) = setup();
    let id = Identity::default();
    let files = vec![(
        "models/m/registry.yaml".to_string(),
        b"format: 1\n".to_vec(),
    )];
    let first = publish_branch(&work, &request(&files, &id)).unwrap();
    assert_eq!(first.operation, BranchOperation::Created);
    // the remote has the branch, the file and the bot as author; main is untouched
    assert_eq!(
        git(
            &origin,
            &["show", "retrain/m/abcdef123456:models/m/registry.yaml"]
        ),
        "format: 1"
    );
    assert_eq!(
        git(
            &origin,
            &["log", "-1", "--format=%an <%ae>", "retrain/m/abcdef123456"]
        ),
        "retrain[bot] <retrain[bot]@users.noreply.github.com>"
    );
    assert_eq!(
        git(&origin, &["show", "retrain/m/abcdef123456:retrain.yaml"]),
        "version: 1"
    );
    assert_eq!(git(&origin, &["rev-list", "--count", "main"]), "1");
    // the user's working tree is not touched
    assert!(!work.join("models").exists());

    let again = publish_branch(&work, &request(&files, &id)).unwrap();
    assert_eq!(again.operation, BranchOperation::Unchanged);
    assert_eq!(again.commit, first.commit);

    let changed = vec![(
        "models/m/registry.yaml".to_string(),
        b"format: 1\nmodel: m\n".to_vec(),
    )];
    let updated = publish_branch(&work, &request(&changed, &id)).unwrap();
    assert_eq!(updated.operation, BranchOperation::Updated);
    assert_eq!(
        git(&origin, &["rev-list", "--count", "retrain/m/abcdef123456"]),
        "2",
        "one proposal commit on the base"
    );
}

#[test]
fn a_human_commit_on_the_branch_is_never_overwritten() {
    let (root, origin, work) = setup();
    let id = Identity::default();
    let files = vec![(
        "models/m/registry.yaml".to_string(),
        b"format: 1\n".to_vec(),
    )];
    publish_branch(&work, &request(&files, &id)).unwrap();
    // A reviewer edits the model card on the branch.
    let other = root.path().join("other");
    git(
        root.path(),
        &[
            "clone",
            "-q",
            "-b",
            "retrain/m/abcdef123456",
            origin.to_str().unwrap(),
            other.to_str().unwrap(),
        ],
    );
    std::fs::write(other.join("NOTE.md"), "careful\n").unwrap();
    git(&other, &["add", "."]);
    git(&other, &["commit", "-q", "-m", "reviewer note"]);
    git(&other, &["push", "-q", "origin", "retrain/m/abcdef123456"]);
    let human = git(&origin, &["rev-parse", "retrain/m/abcdef123456"]);

    let changed = vec![(
        "models/m/registry.yaml".to_string(),
        b"format: 1\nmodel: m\n".to_vec(),
    )];
    let outcome = publish_branch(&work, &request(&changed, &id)).unwrap();
    assert_eq!(outcome.operation, BranchOperation::Skipped);
    assert!(outcome.reason.unwrap().contains("Ada <ada@example.com>"));
    assert_eq!(
        git(&origin, &["rev-parse", "retrain/m/abcdef123456"]),
        human,
        "the human commit is still the head"
    );
}

/// `git daemon` serving the remote over git:// (hooks run there, unlike local pushes).
pub struct Daemon(std::process::Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn serve(root: &Path) -> (Daemon, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // Run git-daemon itself (not `git daemon`, which would leave it orphaned on kill).
    let exec_path = git(root, &["--exec-path"]);
    let child = Command::new(Path::new(&exec_path).join("git-daemon"))
        .args([
            "--reuseaddr",
            "--export-all",
            "--enable=receive-pack",
            "--listen=127.0.0.1",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .arg(format!("--port={port}"))
        .arg(format!("--base-path={}", root.display()))
        .arg(root)
        .spawn()
        .expect("git daemon starts");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    (Daemon(child), format!("git://127.0.0.1:{port}/origin.git"))
}

#[test]
fn a_rejected_push_is_an_error_and_changes_nothing() {
    let (root, origin, work) = setup();
    let hook = origin.join("hooks/pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\necho 'branch protection: retrain/* is read-only' >&2\nexit 1\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let (_daemon, url) = serve(root.path());
    git(&work, &["remote", "set-url", "origin", &url]);
    let id = Identity::default();
    let files = vec![("a.txt".to_string(), b"x".to_vec())];
    let err = publish_branch(&work, &request(&files, &id)).unwrap_err();
    assert!(matches!(err, GitError::Rejected { .. }), "{err}");
    assert!(git(&origin, &["branch", "--list", "retrain/*"]).is_empty());
    // Without the hook, the same push over git:// goes through.
    std::fs::remove_file(&hook).unwrap();
    let ok = publish_branch(&work, &request(&files, &id)).unwrap();
    assert_eq!(ok.operation, BranchOperation::Created);
}

#[test]
fn a_missing_base_branch_is_named() {
    let (_root, _origin, work) = setup();
    let id = Identity::default();
    let files = vec![("a.txt".to_string(), b"x".to_vec())];
    let mut req = request(&files, &id);
    req.base = "develop";
    let err = publish_branch(&work, &req).unwrap_err();
    assert!(err.to_string().contains("`develop`"), "{err}");
}

/// `origin` at the smart-HTTP server with token auth. In-process tests use plain HTTP:
/// which CA git trusts is read from the process environment (`GIT_SSL_CAINFO`,
/// `SSL_CERT_FILE`), which one test thread cannot set for itself; the same faults over
/// TLS are tested through the binary in publish.rs.
fn over_http(root: &Path, work: &Path, options: Options) -> GitServer {
    let server = GitServer::start(
        root,
        TOKEN,
        Options {
            plain: true,
            ..options
        },
    );
    git(
        work,
        &["remote", "set-url", "origin", &server.url("origin.git")],
    );
    server
}

fn with_token<'a>(req: BranchRequest<'a>, token: &'a Token) -> BranchRequest<'a> {
    BranchRequest {
        token: Some(token),
        ..req
    }
}

#[test]
fn pushes_with_the_token_and_stops_when_it_is_refused() {
    let (root, origin, work) = setup();
    let server = over_http(root.path(), &work, Options::default());
    let id = Identity::default();
    let files = vec![("a.txt".to_string(), b"x".to_vec())];

    // A refused token is an error after one attempt.
    let wrong = Token::new("ghs_wrong_token".into());
    let err = publish_branch(&work, &with_token(request(&files, &id), &wrong)).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, GitError::Refused { .. }), "{message}");
    assert!(
        message.contains("refused by http://127.0.0.1:"),
        "{message}"
    );
    assert!(
        !message.contains("ghs_wrong_token"),
        "the token is printed: {message}"
    );
    assert!(err.hint().unwrap().contains("contents: write"));
    let denied = server.auth_log().iter().filter(|l| *l == "denied").count();
    assert!((1..=2).contains(&denied), "{:?}", server.auth_log());

    let right = Token::new(TOKEN.into());
    let ok = publish_branch(&work, &with_token(request(&files, &id), &right)).unwrap();
    assert_eq!(ok.operation, BranchOperation::Created);
    assert_eq!(
        git(&origin, &["rev-parse", "retrain/m/abcdef123456"]),
        ok.commit
    );
    assert!(server.auth_log().iter().any(|l| l == "ok"));
    // and again: the branch is fetched with the token and found unchanged
    let again = publish_branch(&work, &with_token(request(&files, &id), &right)).unwrap();
    assert_eq!(again.operation, BranchOperation::Unchanged);
}

#[test]
fn no_token_for_a_remote_that_asks_for_one_says_what_to_set() {
    let (root, _origin, work) = setup();
    let _server = over_http(root.path(), &work, Options::default());
    let id = Identity::default();
    let files = vec![("a.txt".to_string(), b"x".to_vec())];
    let err = publish_branch(&work, &request(&files, &id)).unwrap_err();
    assert!(err.to_string().contains("set GITHUB_TOKEN"), "{err}");
}

#[test]
fn a_connection_dropped_mid_push_is_an_error_and_the_branch_is_not_half_pushed() {
    let (root, origin, work) = setup();
    let server = over_http(
        root.path(),
        &work,
        Options {
            drop_push: true,
            ..Default::default()
        },
    );
    let id = Identity::default();
    let files = vec![("a.txt".to_string(), b"x".to_vec())];
    let token = Token::new(TOKEN.into());
    let err = publish_branch(&work, &with_token(request(&files, &id), &token)).unwrap_err();
    let message = err.to_string();
    assert!(message.starts_with("git: "), "{message}");
    assert!(!message.contains(TOKEN), "{message}");
    assert!(git(&origin, &["branch", "--list", "retrain/*"]).is_empty());
    // the server comes back: the same request converges
    drop(server);
    let _server = over_http(root.path(), &work, Options::default());
    let ok = publish_branch(&work, &with_token(request(&files, &id), &token)).unwrap();
    assert_eq!(ok.operation, BranchOperation::Created);
    assert_eq!(
        git(&origin, &["rev-parse", "retrain/m/abcdef123456"]),
        ok.commit
    );
}

/// actions/checkout leaves its own token in `http.<url>.extraheader`. retrain pushes
/// with the token it was given, and only with it: were the header sent as well, the
/// server would see two `Authorization` headers and refuse.
#[test]
fn the_checkout_extraheader_is_neither_sent_nor_needed() {
    let (root, origin, work) = setup();
    let server = over_http(root.path(), &work, Options::default());
    server.configure_like_checkout(&work, "origin.git", "ghs_stale_checkout_token");
    let id = Identity::default();
    let files = vec![("a.txt".to_string(), b"x".to_vec())];
    let token = Token::new(TOKEN.into());
    let ok = publish_branch(&work, &with_token(request(&files, &id), &token)).unwrap();
    assert_eq!(ok.operation, BranchOperation::Created);
    assert_eq!(
        git(&origin, &["rev-parse", "retrain/m/abcdef123456"]),
        ok.commit
    );
    let log = server.auth_log();
    assert!(
        !log.iter().any(|l| l == "several" || l == "denied"),
        "{log:?}"
    );
    // the checkout's header is still there for the user's own git
    let header = git(&work, &["config", "--get-regexp", "extraheader"]);
    assert!(header.contains("AUTHORIZATION: basic"), "{header}");
}
