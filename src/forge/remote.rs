//! The network half of git: list, fetch and push through the `git` command line, the
//! way the user's own git (and `actions/checkout`, and create-pull-request) reaches the
//! remote. It owns the child process, its environment and the reading of its errors;
//! building objects, trees and commits stays with libgit2 in [`super::git`].
//!
//! Why the git CLI rather than libgit2's transports: every runner and every server that
//! has a checkout has git, and git already honours what users configured for their
//! remotes — the system trust store, `http.sslCAInfo`, `HTTPS_PROXY`/`NO_PROXY`,
//! `url.<base>.insteadOf`, HTTP/2 — with the TLS stack their distribution ships. A
//! libgit2 with TLS would mean building OpenSSL into the binary and re-implementing
//! those settings.
//!
//! The token reaches git through a credential helper that reads it from the child's
//! environment (`RETRAIN_GIT_TOKEN`), never from the command line, so it shows in no
//! process list. With a token, credentials configured elsewhere are set aside for the
//! call: the helpers of the user's config, and every `http.<url>.extraheader` (where
//! `actions/checkout` leaves its own `Authorization` header), so that the push is
//! made with the token retrain was given and with nothing else. Whatever git prints is
//! scrubbed of the token and of URL credentials before it is shown.
//!
//! Certificates: git's own settings first (`GIT_SSL_CAINFO`, `http.sslCAInfo`); else
//! `SSL_CERT_FILE` and `SSL_CERT_DIR` (what OpenSSL-based tools honour, and how private
//! CAs of GitHub Enterprise are usually given) are passed on as git's CA file and path.
//! A stalled transfer is abandoned after 60 s below 1 KB/s (`http.lowSpeedTime`,
//! overridden by git's own `GIT_HTTP_LOW_SPEED_TIME` / `GIT_HTTP_LOW_SPEED_LIMIT`).

use std::path::Path;
use std::process::{Command, Output, Stdio};

use super::git_error::{GitError, Token};

/// The credential helper: answers `get` with the token from the environment.
const HELPER: &str =
    "!f() { test \"$1\" = get || return 0; printf 'username=x-access-token\\npassword=%s\\n' \"$RETRAIN_GIT_TOKEN\"; }; f";

/// The program to run: `RETRAIN_GIT`, or `git` on the `PATH`.
fn program() -> String {
    std::env::var("RETRAIN_GIT").unwrap_or_else(|_| "git".to_string())
}

/// One remote of a repository on disk, by name (`origin`) or URL.
pub struct Remote<'a> {
    pub repo_dir: &'a Path,
    pub remote: &'a str,
    pub token: Option<&'a Token>,
}

/// A ref the remote advertises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteRef {
    pub name: String,
    pub oid: String,
}

impl Remote<'_> {
    /// The refs matching `patterns` (`refs/heads/main`, `refs/tags/x`, with their
    /// peeled `^{}` entries for annotated tags).
    pub fn list(&self, patterns: &[String]) -> Result<Vec<RemoteRef>, GitError> {
        let mut args = vec!["ls-remote".to_string(), self.remote.to_string()];
        args.extend(patterns.iter().cloned());
        let out = self.run("list the remote's refs", &args)?;
        let text = String::from_utf8_lossy(&out.stdout);
        Ok(text
            .lines()
            .filter_map(|l| {
                let (oid, name) = l.split_once('\t')?;
                Some(RemoteRef {
                    name: name.trim().to_string(),
                    oid: oid.trim().to_string(),
                })
            })
            .collect())
    }

    /// Fetches the refspecs (no tags, no `FETCH_HEAD`, no maintenance).
    pub fn fetch(&self, context: &str, refspecs: &[String]) -> Result<(), GitError> {
        let mut args: Vec<String> = [
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-write-fetch-head",
            "--no-recurse-submodules",
        ]
        .map(String::from)
        .to_vec();
        args.push(self.remote.to_string());
        args.extend(refspecs.iter().cloned());
        self.run(context, &args).map(|_| ())
    }

    /// Pushes the refspecs atomically; a ref the remote refuses (a hook, branch
    /// protection, not a fast-forward) is [`GitError::Rejected`] naming `what`. Local
    /// pre-push hooks are not run: retrain pushes objects it made, not the user's work.
    pub fn push(&self, what: &str, refspecs: &[String]) -> Result<(), GitError> {
        let mut args: Vec<String> = ["push", "--porcelain", "--atomic", "--no-verify"]
            .map(String::from)
            .to_vec();
        args.push(self.remote.to_string());
        args.extend(refspecs.iter().cloned());
        let out = self.spawn(&args)?;
        let stdout = self.scrub(&String::from_utf8_lossy(&out.stdout));
        // `!<tab>src:dst<tab>[rejected] (reason)` for every refused ref
        let refused: Vec<&str> = stdout
            .lines()
            .filter(|l| l.starts_with('!'))
            .filter_map(|l| l.split('\t').nth(2))
            .collect();
        if !refused.is_empty() {
            return Err(GitError::Rejected {
                branch: what.to_string(),
                message: refused.join("; "),
            });
        }
        if out.status.success() {
            return Ok(());
        }
        Err(self.failure(&format!("push `{what}`"), &out))
    }

    fn run(&self, context: &str, args: &[String]) -> Result<Output, GitError> {
        let out = self.spawn(args)?;
        if out.status.success() {
            Ok(out)
        } else {
            Err(self.failure(context, &out))
        }
    }

    fn spawn(&self, args: &[String]) -> Result<Output, GitError> {
        let mut cmd = Command::new(program());
        cmd.arg("-C").arg(self.repo_dir);
        for (key, value) in self.config() {
            cmd.arg("-c").arg(format!("{key}={value}"));
        }
        cmd.args(args)
            .stdin(Stdio::null())
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_ASKPASS", "")
            .env("LC_ALL", "C")
            .env_remove("RETRAIN_GIT_TOKEN");
        if let Some(t) = self.token {
            cmd.env("RETRAIN_GIT_TOKEN", t.expose());
        }
        if std::env::var_os("GIT_SSL_CAINFO").is_none() {
            if let Some(file) = std::env::var_os("SSL_CERT_FILE") {
                cmd.env("GIT_SSL_CAINFO", file);
            }
        }
        if std::env::var_os("GIT_SSL_CAPATH").is_none() {
            if let Some(dir) = std::env::var_os("SSL_CERT_DIR") {
                cmd.env("GIT_SSL_CAPATH", dir);
            }
        }
        cmd.output().map_err(|e| GitError::NoGit {
            program: program(),
            message: e.to_string(),
        })
    }

    /// The `-c` settings of every call: no maintenance, a stall timeout and, with a
    /// token, only retrain's credentials.
    fn config(&self) -> Vec<(String, String)> {
        let mut c: Vec<(String, String)> = [
            ("gc.auto", "0"),
            ("maintenance.auto", "false"),
            ("http.lowSpeedLimit", "1000"),
            ("http.lowSpeedTime", "60"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .to_vec();
        if self.token.is_some() {
            // An empty value resets a multi-valued setting for the same key.
            for key in self.configured_credentials() {
                c.push((key, String::new()));
            }
            c.push(("credential.helper".into(), String::new()));
            c.push(("credential.helper".into(), HELPER.into()));
            c.push(("credential.useHttpPath".into(), "false".into()));
        }
        c
    }

    /// The keys of the repository's (and user's, and system's) config that carry
    /// credentials of their own: `http[.<url>].extraheader`, `credential.<url>.helper`.
    fn configured_credentials(&self) -> Vec<String> {
        let out = Command::new(program())
            .arg("-C")
            .arg(self.repo_dir)
            .args([
                "config",
                "--name-only",
                "--get-regexp",
                r"^(http\..*extraheader|credential\..+\.helper)$",
            ])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output();
        let mut keys: Vec<String> = match out {
            Ok(o) => String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(str::to_string)
                .collect(),
            Err(_) => Vec::new(),
        };
        keys.sort();
        keys.dedup();
        keys
    }

    /// The remote's URL (for messages): the configured URL of a named remote.
    fn url(&self) -> String {
        git2::Repository::discover(self.repo_dir)
            .ok()
            .and_then(|r| {
                r.find_remote(self.remote)
                    .ok()
                    .and_then(|rem| rem.url().ok().map(str::to_string))
            })
            .unwrap_or_else(|| self.remote.to_string())
    }

    fn scrub(&self, text: &str) -> String {
        let mut s = text.to_string();
        if let Some(t) = self.token.map(Token::expose).filter(|t| !t.is_empty()) {
            s = s.replace(t, "***");
        }
        strip_userinfo(&s)
            .lines()
            .filter(|l| !l.to_ascii_lowercase().contains("authorization:"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A failed git call as an error that says what to do.
    fn failure(&self, context: &str, out: &Output) -> GitError {
        let stderr = self.scrub(&String::from_utf8_lossy(&out.stderr));
        let url = strip_userinfo(&self.url());
        let lower = stderr.to_ascii_lowercase();
        if lower.contains("authentication failed")
            || lower.contains("returned error: 401")
            || lower.contains("returned error: 403")
            || lower.contains("could not read username")
            || lower.contains("could not read password")
            || lower.contains("permission to") && lower.contains("denied")
        {
            return GitError::Refused {
                url,
                with_token: self.token.is_some(),
            };
        }
        if lower.contains("certificate")
            || lower.contains("self signed")
            || lower.contains("issuer")
        {
            return GitError::Certificate {
                url,
                message: last_lines(&stderr),
            };
        }
        GitError::Git {
            context: context.to_string(),
            message: last_lines(&stderr),
        }
    }
}

/// The lines git printed that say what went wrong, at most a few.
fn last_lines(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let keep = &lines[lines.len().saturating_sub(4)..];
    if keep.is_empty() {
        "git failed without a message".to_string()
    } else {
        keep.join(" / ")
    }
}

/// `https://user:secret@host/x` → `https://host/x`, wherever a URL appears in `text`.
pub fn strip_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c == '/' || c.is_whitespace() || c == '\'' || c == '"')
            .unwrap_or(tail.len());
        match tail[..end].rfind('@') {
            Some(at) => rest = &tail[at + 1..],
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_credentials_are_removed_wherever_they_appear() {
        assert_eq!(
            strip_userinfo(
                "fatal: unable to access 'https://x-access-token:ghs_1@github.com/o/r.git/': 403"
            ),
            "fatal: unable to access 'https://github.com/o/r.git/': 403"
        );
        assert_eq!(
            strip_userinfo("https://github.com/o/r"),
            "https://github.com/o/r"
        );
        assert_eq!(strip_userinfo("/srv/origin.git"), "/srv/origin.git");
        assert_eq!(
            strip_userinfo("a http://u@h/x b https://p:q@k"),
            "a http://h/x b https://k"
        );
    }

    #[test]
    fn the_last_lines_of_git_are_kept() {
        assert_eq!(last_lines(""), "git failed without a message");
        assert_eq!(last_lines("a\n\nb\nc\nd\ne\n"), "b / c / d / e");
    }
}
