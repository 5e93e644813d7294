//! A real MLflow tracking server on 127.0.0.1 (`mlflow server`, pinned; `tests/run.sh`
//! installs it in `$RETRAIN_MLFLOW_VENV`): SQLite backend, MLflow's basic-auth app (so a
//! wrong password is a real 401), admin password [`PASSWORD`].

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

pub const USER: &str = "admin";
pub const PASSWORD: &str = "mlflow-admin-secret-42";

pub fn venv() -> PathBuf {
    let venv = std::env::var("RETRAIN_MLFLOW_VENV").map_or_else(
        |_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".cache/retrain/venv-mlflow")
        },
        PathBuf::from,
    );
    assert!(
        venv.join("bin/mlflow").is_file(),
        "{} is missing: run `bash tests/run.sh`, which installs mlflow (pinned)",
        venv.display()
    );
    venv
}

pub struct MlflowServer {
    child: Child,
    pub uri: String,
}

impl Drop for MlflowServer {
    fn drop(&mut self) {
        // `mlflow server` runs its workers as children: end the whole process group
        // SAFETY: kill(2) on the group this server leads; no memory is touched.
        unsafe { libc::kill(-(self.child.id() as i32), libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

impl MlflowServer {
    pub fn start(dir: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = dir.join("mlflow");
        std::fs::create_dir_all(&dir).unwrap();
        let child = Command::new(venv().join("bin/mlflow"))
            .args(["server", "--host", "127.0.0.1", "--port", &port.to_string()])
            .arg("--backend-store-uri")
            .arg(format!("sqlite:///{}", dir.join("mlflow.db").display()))
            .arg("--default-artifact-root")
            .arg(dir.join("artifacts"))
            .args(["--app-name", "basic-auth", "--workers", "1"])
            .current_dir(&dir)
            .process_group(0)
            .env("MLFLOW_FLASK_SERVER_SECRET_KEY", "retrain-tests")
            .env("MLFLOW_AUTH_ADMIN_PASSWORD", PASSWORD)
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.join("server.err")).unwrap())
            .spawn()
            .expect("start mlflow server");
        let server = MlflowServer {
            child,
            uri: format!("http://127.0.0.1:{port}"),
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
        loop {
            let up = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok_and(|mut s| {
                use std::io::{Read, Write};
                let _ = s.write_all(b"GET /health HTTP/1.0\r\n\r\n");
                let mut out = String::new();
                let _ = s.read_to_string(&mut out);
                out.starts_with("HTTP/1.1 200") || out.starts_with("HTTP/1.0 200")
            });
            if up {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "mlflow server did not start within 180 s: {}",
                std::fs::read_to_string(dir.join("server.err")).unwrap_or_default()
            );
            std::thread::sleep(std::time::Duration::from_millis(250));
        }
        server
    }

    /// The registered model's alias and versions, read with MLflow's own client.
    pub fn read(&self, model: &str, alias: &str) -> serde_json::Value {
        let script = format!(
            "import json; from mlflow import MlflowClient; c = MlflowClient('{}');\n\
             vs = c.search_model_versions(\"name='{model}'\");\n\
             a = c.get_model_version_by_alias('{model}', '{alias}');\n\
             print(json.dumps({{'alias': a.version, 'versions': sorted([{{'version': v.version, 'source': v.source, 'tags': v.tags}} for v in vs], key=lambda v: int(v['version']))}}))",
            self.uri
        );
        let out = Command::new(venv().join("bin/python"))
            .args(["-c", &script])
            .env("MLFLOW_TRACKING_USERNAME", USER)
            .env("MLFLOW_TRACKING_PASSWORD", PASSWORD)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}
