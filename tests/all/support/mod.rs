//! Test support: a temporary repository, running the real `retrain` binary, and
//! seeded data from the library's generator.

use std::path::{Path, PathBuf};
use std::process::Command;

pub mod azure;
pub mod git_server;
pub mod github;
pub mod github_app;
pub mod mlflow;
pub mod openapi;
pub mod s3;
pub mod webhooks;

use retrain::data::synth::{self, OutputFormat, Spec};

pub struct Repo {
    pub dir: tempfile::TempDir,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }
}

impl Repo {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        path
    }

    pub fn config(&self, yaml: &str) {
        self.write("retrain.yaml", yaml);
    }

    /// Generated data under `dir` (relative), `partitions` files named `part-NNNN`.
    pub fn generate(
        &self,
        spec: &Spec,
        dir: &str,
        partitions: usize,
        format: OutputFormat,
    ) -> Vec<PathBuf> {
        synth::write(spec, &self.path().join(dir), "part", partitions, format)
            .expect("generate data")
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[])
    }

    /// [`Repo::run`] with these environment variables set.
    pub fn run_with(&self, args: &[&str], envs: &[(&str, &str)]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_retrain"))
            .arg("--repo")
            .arg(self.path())
            .args(args)
            .env_remove("RETRAIN_LOG")
            .env_remove("RUST_LOG")
            .env_remove("GITHUB_TOKEN")
            .env_remove("RETRAIN_GITHUB_TOKEN")
            .env_remove("GITHUB_REPOSITORY")
            // not the Actions runner these tests may themselves run in
            .env_remove("GITHUB_ACTIONS")
            .env("NO_COLOR", "1")
            .envs(envs.iter().copied())
            .output()
            .expect("run retrain");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr)
                .replace(&self.path().display().to_string(), "[REPO]"),
        }
    }

    /// Files under `.retrain/snapshots` (manifests and anything left behind).
    pub fn snapshot_files(&self) -> Vec<String> {
        let dir = self.path().join(".retrain/snapshots");
        let mut names: Vec<String> = match std::fs::read_dir(dir) {
            Ok(rd) => rd
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => Vec::new(),
        };
        names.sort();
        names
    }
}

/// A minimal config for the generator's classification data.
pub fn basic_config(path: &str) -> String {
    format!(
        "version: 1\nmodels:\n  - name: m\n    task: classification\n    target: label\n    time_column: ts\n    data:\n      path: {path}\n"
    )
}

pub fn small_spec(rows: usize) -> Spec {
    Spec {
        rows,
        ..Spec::default()
    }
}

/// The clock of tests that decide (schedules, cooldowns, trained_at).
/// Writes synthetic rows to `data/<name>.csv` in `repo`, the label left empty (not known
/// yet) on the rows `blank` picks.
pub fn synth_csv(repo: &Repo, spec: &Spec, name: &str, blank: impl Fn(usize) -> bool) {
    let dir = tempfile::tempdir().unwrap();
    let files = synth::write(spec, dir.path(), "x", 1, OutputFormat::Csv).unwrap();
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let label = header.split(',').position(|c| c == "label").unwrap();
    let mut out = format!("{header}\n");
    for (i, line) in lines.enumerate() {
        let mut fields: Vec<&str> = line.split(',').collect();
        if blank(i) {
            fields[label] = "";
        }
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    repo.write(&format!("data/{name}.csv"), out);
}

pub const NOW: &str = "2025-06-01T00:00:00Z";

/// `retrain run --dry-run` through the library at [`NOW`]; the first model's run.
pub fn dry_run(repo: &Path, force: bool) -> retrain::pipeline::ModelRun {
    use retrain::pipeline::{CheckRequest, RunRequest, Workspace};
    retrain::pipeline::run(&RunRequest {
        check: CheckRequest {
            workspace: Workspace {
                repo: repo.to_path_buf(),
                config: None,
            },
            model: None,
            reference: None,
            force,
            now: NOW.parse().unwrap(),
            github: None,
        },
        dry_run: true,
        publish: None,
        allow_dirty: false,
    })
    .unwrap()
    .runs
    .remove(0)
}

/// Runs the git CLI as a human (Ada) in `dir`; fails the test on error.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Ada")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        // Ada trusts the CA of the test git server
        .env("GIT_SSL_CAINFO", git_server::ca())
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
