//! A real S3 API on 127.0.0.1: moto's server (`tests/fixtures/s3_server.py`, installed
//! pinned by `tests/run.sh` in `$RETRAIN_S3_VENV`) over TLS with the tests' private CA,
//! checking every request's SigV4 signature against an IAM user's key once set up. Its
//! request log lets a test count the object bodies it served; its fault file makes it
//! truncate a body or change objects between a listing and the reads.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

/// The Python of the venv that holds moto and boto3.
pub fn python() -> PathBuf {
    let venv = std::env::var("RETRAIN_S3_VENV").map_or_else(
        |_| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/retrain/venv-s3"),
        PathBuf::from,
    );
    let py = venv.join("bin/python");
    // never skipped: a missing server fails the test with the command that installs it
    assert!(
        py.is_file(),
        "{} is missing: run `bash tests/run.sh`, which installs moto and boto3 (pinned)",
        py.display()
    );
    py
}

pub struct S3Server {
    child: Child,
    log: PathBuf,
    /// `https://127.0.0.1:<port>`
    pub endpoint: String,
    pub key_id: String,
    pub secret: String,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

impl S3Server {
    /// Starts the server under `dir`, runs `setup` (s3_admin.py steps, e.g.
    /// `["bucket", "lake"]`), creates the IAM user and turns on authentication.
    pub fn start(dir: &Path, setup: serde_json::Value) -> Self {
        let port_file = dir.join("s3-port");
        let log = dir.join("s3-requests.log");
        let child = Command::new(python())
            .arg(format!("{FIXTURES}/s3_server.py"))
            .arg(&port_file)
            .arg(&log)
            .arg(format!("{FIXTURES}/tls/server.pem"))
            .arg(format!("{FIXTURES}/tls/server.key"))
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.join("s3-server.err")).unwrap())
            .spawn()
            .expect("start the S3 server");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let port = loop {
            if let Ok(p) = std::fs::read_to_string(&port_file) {
                break p;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the S3 server did not start within 60 s: {}",
                std::fs::read_to_string(dir.join("s3-server.err")).unwrap_or_default()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        let mut server = S3Server {
            child,
            log,
            endpoint: format!("https://127.0.0.1:{}", port.trim()),
            key_id: String::new(),
            secret: String::new(),
        };
        let mut steps = setup.as_array().cloned().unwrap_or_default();
        steps.push(serde_json::json!(["user"]));
        steps.push(serde_json::json!(["auth"]));
        let out = server.admin_as(&serde_json::Value::Array(steps), None);
        let (id, secret) = out.trim().split_once(' ').expect("the user's access key");
        server.key_id = id.to_string();
        server.secret = secret.to_string();
        server
    }

    /// Runs s3_admin.py steps as the IAM user (after authentication is on).
    pub fn admin(&self, steps: serde_json::Value) {
        self.admin_as(&steps, Some((&self.key_id, &self.secret)));
    }

    fn admin_as(&self, steps: &serde_json::Value, keys: Option<(&str, &str)>) -> String {
        let mut cmd = Command::new(python());
        cmd.arg(format!("{FIXTURES}/s3_admin.py"))
            .arg(&self.endpoint)
            .arg(super::git_server::ca())
            .arg(steps.to_string());
        if let Some((id, secret)) = keys {
            cmd.arg(id).arg(secret);
        }
        let out = cmd.output().expect("run s3_admin.py");
        assert!(
            out.status.success(),
            "s3_admin.py {steps}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// What retrain needs to reach the server as the IAM user.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", self.key_id.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret.clone()),
            ("AWS_REGION", "us-east-1".into()),
            ("SSL_CERT_FILE", super::git_server::ca().into()),
        ]
    }

    /// The requests served so far ("METHOD PATH?QUERY"), and forgets them.
    pub fn take_requests(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let _ = std::fs::write(&self.log, "");
        text.lines().map(str::to_string).collect()
    }

    /// The object bodies among `requests`: GETs that are not listings.
    pub fn object_reads(requests: &[String]) -> Vec<String> {
        requests
            .iter()
            .filter(|r| {
                r.starts_with("GET ") && !r.contains("list-type=") && !r.contains("/moto-api")
            })
            .cloned()
            .collect()
    }

    /// Sets the fault file (see s3_server.py).
    pub fn faults(&self, faults: serde_json::Value) {
        std::fs::write(format!("{}.faults", self.log.display()), faults.to_string()).unwrap();
    }
}
