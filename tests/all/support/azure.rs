//! A real Azure Blob service on 127.0.0.1: Microsoft's Azurite emulator
//! (`tests/azure`, installed pinned by `tests/run.sh`) over TLS with the tests' private
//! CA, with its own storage account whose Shared Key every request is signed with. Its
//! debug log lets a test count the blob bodies it served; `tests/azure/admin.mjs` (the
//! official client) creates containers and puts and deletes blobs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/azure");
const TLS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls");

pub struct AzureServer {
    child: Child,
    log: PathBuf,
    /// `https://127.0.0.1:<port>`
    pub endpoint: String,
    pub account: String,
    /// The account's Shared Key (base64).
    pub key: String,
}

impl Drop for AzureServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl AzureServer {
    /// Starts the Blob service with its data under `dir`, then runs `setup` (admin.mjs
    /// steps, e.g. `[["container", "lake"]]`).
    pub fn start(dir: &Path, setup: serde_json::Value) -> Self {
        let bin = Path::new(DIR).join("node_modules/.bin/azurite-blob");
        // never skipped: a missing server fails the test with the command that installs it
        assert!(
            bin.is_file(),
            "{} is missing: run `bash tests/run.sh`, which installs Azurite (pinned)",
            bin.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let key = {
            use base64::Engine;
            let bytes: Vec<u8> = (0..32).map(|_| rand::random::<u8>()).collect();
            base64::engine::general_purpose::STANDARD.encode(bytes)
        };
        let account = "retrainlake".to_string();
        let data = dir.join("azurite");
        std::fs::create_dir_all(&data).unwrap();
        let log = dir.join("azurite-debug.log");
        let child = Command::new(&bin)
            .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
            .arg("--location")
            .arg(&data)
            .arg("--cert")
            .arg(format!("{TLS}/server.pem"))
            .arg("--key")
            .arg(format!("{TLS}/server.key"))
            .arg("--debug")
            .arg(&log)
            .args(["--skipApiVersionCheck", "--disableTelemetry"])
            .env("AZURITE_ACCOUNTS", format!("{account}:{key}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.join("azurite.err")).unwrap())
            .spawn()
            .expect("start Azurite");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "Azurite did not start within 60 s: {}",
                std::fs::read_to_string(dir.join("azurite.err")).unwrap_or_default()
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let server = AzureServer {
            child,
            log,
            endpoint: format!("https://127.0.0.1:{port}"),
            account,
            key,
        };
        server.admin(setup);
        server
    }

    /// Runs admin.mjs steps (`["put", container, blob, file]`, …).
    pub fn admin(&self, steps: serde_json::Value) {
        let steps: Vec<String> = steps
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|s| s.to_string())
            .collect();
        if steps.is_empty() {
            return;
        }
        let out = Command::new("node")
            .arg(Path::new(DIR).join("admin.mjs"))
            .args([&self.endpoint, &self.account, &self.key])
            .args(&steps)
            .env("NODE_EXTRA_CA_CERTS", format!("{TLS}/ca.pem"))
            .output()
            .expect("node runs admin.mjs");
        assert!(
            out.status.success(),
            "admin.mjs {steps:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// What object_store reads: the account, its key, the account's endpoint, the CA.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AZURE_STORAGE_ACCOUNT_NAME", self.account.clone()),
            ("AZURE_STORAGE_ACCOUNT_KEY", self.key.clone()),
            (
                "AZURE_STORAGE_ENDPOINT",
                format!("{}/{}", self.endpoint, self.account),
            ),
            ("SSL_CERT_FILE", format!("{TLS}/ca.pem")),
        ]
    }

    /// The requests served so far ("METHOD /account/container/blob?query"), and forgets
    /// them.
    pub fn take_requests(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let _ = std::fs::write(&self.log, "");
        text.lines()
            .filter_map(|l| {
                let rest = l.split_once("RequestMethod=")?.1;
                let (method, rest) = rest.split_once(" RequestURL=")?;
                let url = rest.split_whitespace().next()?;
                let path = url.split_once("://").map_or(url, |(_, p)| p);
                let path = &path[path.find('/').unwrap_or(0)..];
                Some(format!("{method} {path}"))
            })
            .collect()
    }

    /// The blob bodies among `requests`: GETs that are not container listings.
    pub fn blob_reads(requests: &[String]) -> Vec<String> {
        requests
            .iter()
            .filter(|r| r.starts_with("GET ") && !r.contains("restype=container"))
            .cloned()
            .collect()
    }
}
