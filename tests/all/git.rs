//! Publishing the proposal's branch to a real (bare, on-disk) remote with libgit2.

use std::path::Path;
use std::process::Command;

use crate::support::git;
use retrain::forge::git::{publish_branch, BranchOperation, BranchRequest, GitError, Identity};

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

/// git-http-backend behind HTTP Basic auth (tests/fixtures/git_http_server.py).
struct HttpGit {
    child: std::process::Child,
    url: String,
}

impl Drop for HttpGit {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve_http(root: &Path, password: &str) -> HttpGit {
    let port_file = root.join("port");
    let mut child = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/git_http_server.py"
        ))
        .arg(root)
        .arg(&port_file)
        .arg("x-access-token")
        .arg(password)
        .spawn()
        .expect("python3 runs");
    for _ in 0..200 {
        if let Ok(port) = std::fs::read_to_string(&port_file) {
            return HttpGit {
                child,
                url: format!("http://127.0.0.1:{port}/origin.git"),
            };
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the git HTTP server did not start");
}

#[test]
fn pushes_over_http_with_the_token_and_stops_when_it_is_refused() {
    let (root, origin, work) = setup();
    let server = serve_http(root.path(), "ghs_right_token");
    git(&work, &["remote", "set-url", "origin", &server.url]);
    let id = Identity::default();
    let files = vec![("a.txt".to_string(), b"x".to_vec())];

    // A refused token is an error after one attempt (libgit2 would ask again forever).
    let wrong = retrain::forge::git::Token::new("ghs_wrong_token".into());
    let err = publish_branch(
        &work,
        &BranchRequest {
            token: Some(&wrong),
            ..request(&files, &id)
        },
    )
    .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("refused"), "{message}");
    assert!(
        !message.contains("ghs_wrong_token"),
        "the token is not printed: {message}"
    );
    let log = std::fs::read_to_string(root.path().join("auth.log")).unwrap();
    assert!(log.lines().filter(|l| *l == "denied").count() <= 2, "{log}");

    let right = retrain::forge::git::Token::new("ghs_right_token".into());
    let ok = publish_branch(
        &work,
        &BranchRequest {
            token: Some(&right),
            ..request(&files, &id)
        },
    )
    .unwrap();
    assert_eq!(ok.operation, BranchOperation::Created);
    assert_eq!(
        git(&origin, &["rev-parse", "retrain/m/abcdef123456"]),
        ok.commit
    );
    let log = std::fs::read_to_string(root.path().join("auth.log")).unwrap();
    assert!(log.lines().any(|l| l == "ok"), "{log}");
}
