//! A git server as GitHub is one: smart HTTP over TLS (git-http-backend behind
//! `tests/fixtures/git_http_server.py`), Basic auth with the token as the password of
//! `x-access-token`, a certificate issued by a private CA (`tests/fixtures/tls/`).
//! Clients trust the CA only when told to (`SSL_CERT_FILE`, `GIT_SSL_CAINFO`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

/// The token the server accepts (GitHub's `x-access-token` scheme).
pub const TOKEN: &str = "ghs_secret_token_value";

/// The CA that issued the server's certificate (valid until 2126).
pub fn ca() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls/ca.pem")
}

#[derive(Default, Clone, Copy)]
pub struct Options {
    /// Plain HTTP instead of TLS.
    pub plain: bool,
    /// Close every push's connection in the middle of the upload.
    pub drop_push: bool,
    /// Leave every push hanging: nothing read, nothing answered.
    pub stall_push: bool,
}

pub struct GitServer {
    child: Child,
    root: PathBuf,
    /// `https://127.0.0.1:<port>`
    pub base: String,
}

impl Drop for GitServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl GitServer {
    /// Serves the repositories under `root`, accepting `password` for `x-access-token`.
    pub fn start(root: &Path, password: &str, options: Options) -> Self {
        let port_file = root.join(format!("git-port-{}", std::process::id()));
        let _ = std::fs::remove_file(&port_file);
        let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
        let mut cmd = Command::new("python3");
        cmd.arg(format!("{fixtures}/git_http_server.py"))
            .arg(root)
            .arg(&port_file)
            .arg("x-access-token")
            .arg(password);
        if !options.plain {
            cmd.arg("--tls")
                .arg(format!("{fixtures}/tls/server.pem"))
                .arg(format!("{fixtures}/tls/server.key"));
        }
        if options.drop_push {
            cmd.arg("--drop-push");
        }
        if options.stall_push {
            cmd.arg("--stall-push");
        }
        let mut child = cmd
            .spawn()
            .expect("python3 runs (the test command installs it)");
        for _ in 0..400 {
            if let Ok(port) = std::fs::read_to_string(&port_file) {
                let scheme = if options.plain { "http" } else { "https" };
                return Self {
                    child,
                    root: root.to_path_buf(),
                    base: format!("{scheme}://127.0.0.1:{port}"),
                };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the git server exited at start: {status}");
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the git server did not start");
    }

    /// The URL of the repository `name` under the root (`origin.git`).
    pub fn url(&self, name: &str) -> String {
        format!("{}/{name}", self.base)
    }

    /// What the server made of each request's credentials: `ok`, `denied`, `none`,
    /// `several` (more than one `Authorization` header).
    pub fn auth_log(&self) -> Vec<String> {
        std::fs::read_to_string(self.root.join("auth.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Configures `work` as `actions/checkout@v4` leaves a checkout: `origin` at the
    /// HTTPS URL and the token as an `http.<url>.extraheader` in the local config
    /// (`persist-credentials: true`, its default).
    pub fn configure_like_checkout(&self, work: &Path, repo: &str, token: &str) {
        use base64::Engine;
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{token}"));
        super::git(work, &["remote", "set-url", "origin", &self.url(repo)]);
        super::git(
            work,
            &[
                "config",
                "--local",
                &format!("http.{}/.extraheader", self.base),
                &format!("AUTHORIZATION: basic {basic}"),
            ],
        );
    }
}
