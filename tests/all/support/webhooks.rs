//! Webhook test support: real payloads from `@octokit/webhooks-examples`, validation
//! of derived payloads against `@octokit/webhooks-schemas` (both pinned in
//! tests/github), signed deliveries over plain HTTP/1.1, and `retrain serve` as a child
//! process with its SQLite database read from the test.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

pub const SECRET: &str = "test-webhook-secret";

fn github_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/github"))
}

/// `{ event: [payload, ...] }`, index 0 of each event skipped (it lacks newer fields).
pub fn examples() -> &'static serde_json::Map<String, Value> {
    static EX: OnceLock<serde_json::Map<String, Value>> = OnceLock::new();
    EX.get_or_init(|| {
        let dir = github_dir();
        assert!(
            dir.join("node_modules/@octokit/webhooks-examples").is_dir()
                && dir.join("node_modules/@octokit/webhooks-schemas").is_dir(),
            "tests/github/node_modules is missing: run `bash tests/run.sh`, which installs it (npm ci, pinned)"
        );
        let out = Command::new("node")
            .arg(dir.join("webhooks.mjs"))
            .arg("examples")
            .output()
            .expect("node runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        match serde_json::from_slice(&out.stdout).unwrap() {
            Value::Object(m) => m,
            _ => panic!("examples are not an object"),
        }
    })
}

/// The first example of `event` (after the skipped index 0) matching `pred`.
pub fn example(event: &str, pred: impl Fn(&Value) -> bool) -> Value {
    examples()[event]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| pred(v))
        .unwrap_or_else(|| panic!("no `{event}` example matches"))
        .clone()
}

/// Fails the test unless `payload` is a valid `event` under GitHub's webhook schemas.
pub fn validate(event: &str, payload: &Value) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), serde_json::to_vec(payload).unwrap()).unwrap();
    let out = Command::new("node")
        .arg(github_dir().join("webhooks.mjs"))
        .args(["validate", event])
        .arg(file.path())
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "derived `{event}` payload is not schema-valid: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Points a payload's repository at the test repository `acme/models`, cloned from
/// `clone_url`.
pub fn retarget(payload: &mut Value, clone_url: Option<&str>) {
    let repo = &mut payload["repository"];
    repo["name"] = "models".into();
    repo["full_name"] = "acme/models".into();
    repo["owner"]["login"] = "acme".into();
    repo["default_branch"] = "main".into();
    if let Some(url) = clone_url {
        repo["clone_url"] = url.into();
    }
    payload["installation"] = serde_json::json!({ "id": super::github_app::INSTALLATION, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ==" });
}

pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// One HTTP/1.1 request (Connection: close).
pub fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    let mut s = std::net::TcpStream::connect(addr).expect("connect to retrain serve");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    // a server may answer (413) before reading a large body: ignore a broken pipe
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Answer { status, body }
}

/// A signed delivery.
pub fn deliver(addr: &str, event: &str, delivery: &str, payload: &Value) -> Answer {
    let body = serde_json::to_vec(payload).unwrap();
    let sig = retrain::server::intake::sign(SECRET, &body);
    http(
        addr,
        "POST",
        "/webhook",
        &[
            ("Content-Type", "application/json"),
            ("X-GitHub-Event", event),
            ("X-GitHub-Delivery", delivery),
            ("X-Hub-Signature-256", &sig),
        ],
        &body,
    )
}

/// `retrain serve` as a child process.
pub struct Bot {
    pub addr: String,
    pub data_dir: PathBuf,
    args: Vec<String>,
    envs: Vec<(String, String)>,
    child: Option<Child>,
    log: PathBuf,
}

impl Bot {
    /// Starts `retrain serve --data-dir DIR ARGS...` on a free port.
    pub fn start(data_dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Bot {
        let mut bot = Bot {
            addr: String::new(),
            data_dir: data_dir.to_path_buf(),
            args: args.iter().map(|s| s.to_string()).collect(),
            envs: envs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            child: None,
            log: data_dir.with_extension("log"),
        };
        bot.spawn();
        bot
    }

    fn spawn(&mut self) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        self.addr = format!("127.0.0.1:{port}");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_retrain"))
            .args(["serve", "--listen", &self.addr, "--data-dir"])
            .arg(&self.data_dir)
            .args(&self.args)
            .envs(self.envs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("RETRAIN_WEBHOOK_SECRET", format!("old-secret,{SECRET}"))
            // the bot trusts the CA of the test git server as a GHES bot trusts its own
            .env("SSL_CERT_FILE", super::git_server::ca())
            .env_remove("GIT_SSL_CAINFO")
            .env("RETRAIN_LOG", "retrain=info,warn")
            .env_remove("GITHUB_TOKEN")
            .env_remove("RETRAIN_GITHUB_TOKEN")
            .env_remove("GITHUB_REPOSITORY")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("retrain serve starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if std::net::TcpStream::connect(&self.addr).is_ok()
                && http(&self.addr, "GET", "/healthz", &[], b"").status == 200
            {
                break;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("retrain serve exited ({status}): {}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "retrain serve did not come up: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, as a deployment would; the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("running");
        let _ = Command::new("kill").arg(c.id().to_string()).status();
        c.wait().unwrap()
    }

    /// kill -9, as a crash or an OOM kill would.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// The server's stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.data_dir.join("retrain-bot.sqlite3")).unwrap()
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.db().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    /// Waits until no job is queued or running; panics after `secs`.
    pub fn settle(&self, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let open =
                self.count("SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')");
            if open == 0 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "jobs still open after {secs} s: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// (status, attempts, error, result) of every job, in order.
    pub fn jobs(&self) -> Vec<(String, i64, Option<String>, Option<String>)> {
        let db = self.db();
        let mut stmt = db
            .prepare("SELECT status, attempts, error, result FROM jobs ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            // SIGTERM first: a graceful stop
            let _ = Command::new("kill").arg(c.id().to_string()).status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if c.try_wait().ok().flatten().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        self.kill();
    }
}
