//! `retrain run` end to end: a git remote over HTTPS with token auth (the repository's
//! `origin` configured as `actions/checkout` leaves it), the GitHub test server behind
//! prism.

use std::process::Command;

use retrain::data::synth::{OutputFormat, Spec};

use crate::support::git;
use crate::support::git_server::{self, GitServer, TOKEN};
use crate::support::github::GitHubServer;

pub struct Setup {
    pub server: GitHubServer,
    pub git: GitServer,
    /// The bare repository the git server serves as `origin.git`.
    pub origin: std::path::PathBuf,
    pub work: std::path::PathBuf,
    pub root: tempfile::TempDir,
}

pub fn setup() -> Setup {
    setup_with(TOKEN, TOKEN)
}

/// The git server accepts `git_token`; the checkout's extraheader carries
/// `checkout_token` (the workflow's `GITHUB_TOKEN`).
pub fn setup_with(git_token: &str, checkout_token: &str) -> Setup {
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
    retrain::data::synth::write(
        &Spec {
            rows: 2000,
            ..Spec::default()
        },
        &work.join("data"),
        "a",
        1,
        OutputFormat::Parquet,
    )
    .unwrap();
    std::fs::write(
        work.join("retrain.yaml"),
        "version: 1\nmodels:\n  - name: churn\n    task: classification\n    target: label\n    time_column: ts\n    data: { path: data/*.parquet }\n    evaluation:\n      intervals: { resamples: 50 }\n      gates: [ { metric: accuracy, min: 0.6 }, { metric: accuracy, min_change: -0.01 } ]\n    pull_request: { labels: [retrain, model], reviewers: [ada] }\n",
    )
    .unwrap();
    git(&work, &["checkout", "-q", "-b", "main"]);
    git(&work, &["add", "."]);
    git(&work, &["commit", "-q", "-m", "data and config"]);
    git(&work, &["push", "-q", "origin", "main"]);
    let server = GitServer::start(root.path(), git_token, Default::default());
    server.configure_like_checkout(&work, "origin.git", checkout_token);
    Setup {
        server: GitHubServer::start(),
        git: server,
        origin,
        work,
        root,
    }
}

/// The environment a workflow gives retrain: the token in `GITHUB_TOKEN`, the git
/// server's CA in `SSL_CERT_FILE`, the repository and the API of the test server.
pub fn as_workflow<'a>(cmd: &'a mut Command, s: &Setup) -> &'a mut Command {
    cmd.env("GITHUB_TOKEN", TOKEN)
        .env("SSL_CERT_FILE", git_server::ca())
        .env_remove("GIT_SSL_CAINFO")
        .env("GITHUB_REPOSITORY", GitHubServer::repository())
        .env("GITHUB_API_URL", &s.server.url)
        .env("GITHUB_GRAPHQL_URL", s.server.graphql_url())
        .env_remove("RETRAIN_GITHUB_TOKEN")
        // not the Actions runner these tests may themselves run in
        .env_remove("GITHUB_ACTIONS")
}

/// `retrain run --output json` in the work tree as a workflow runs it (then `envs`).
pub fn invoke(s: &Setup, extra: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    as_workflow(&mut Command::new(env!("CARGO_BIN_EXE_retrain")), s)
        .arg("--repo")
        .arg(&s.work)
        .args(["run", "--output", "json", "--now", "2025-06-01T00:00:00Z"])
        .args(extra)
        .envs(envs.iter().copied())
        .output()
        .unwrap()
}

/// The first data file of the work tree.
pub fn first_data_file(s: &Setup) -> std::path::PathBuf {
    std::fs::read_dir(s.work.join("data"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
}

/// Commits every change in the work tree and pushes it to `main`, as a user would
/// before retrain publishes from it.
pub fn commit_and_push(s: &Setup, message: &str) {
    git(&s.work, &["add", "-A"]);
    git(&s.work, &["commit", "-q", "-m", message]);
    git(&s.work, &["push", "-q", "origin", "main"]);
}

pub fn run(s: &Setup, extra: &[&str]) -> serde_json::Value {
    let out = invoke(s, extra, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("ghs_secret_token_value"),
        "the token was printed: {stderr}"
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn first_run_opens_the_pull_request_and_a_rerun_changes_nothing() {
    let s = setup();
    let v = run(&s, &[]);
    let pr = &v["pull_request"];
    assert_eq!(pr["operation"], "created", "{v}");
    assert_eq!(pr["number"], 1);
    let branch = pr["branch"].as_str().unwrap().to_string();
    assert!(branch.starts_with("retrain/churn/"), "{branch}");
    // the branch on the remote carries the proposal
    for f in [
        "models/churn/registry.yaml",
        "models/churn/versions/1/model.json",
        "models/churn/versions/1/MODEL_CARD.md",
        "models/churn/versions/1/metrics.json",
    ] {
        git(&s.origin, &["cat-file", "-e", &format!("{branch}:{f}")]);
    }
    {
        let w = s.server.world.lock().unwrap();
        let p = &w.prs[0];
        assert_eq!(p.head, branch);
        assert_eq!(p.labels, ["retrain", "model"]);
        assert_eq!(p.reviewers, ["ada"]);
        assert!(!p.draft, "blessed: not a draft");
        assert!(p.body.starts_with("<!-- retrain:"));
        assert_eq!(w.check_runs.len(), 1);
    }
    // Same data again: nothing changes, no second pull request.
    let again = run(&s, &["--force"]);
    assert_eq!(again["pull_request"]["operation"], "unchanged", "{again}");
    let w = s.server.world.lock().unwrap();
    assert_eq!(w.prs.len(), 1);
}

#[test]
fn closed_pull_requests_are_not_reopened_and_human_commits_are_kept() {
    let s = setup();
    let v = run(&s, &[]);
    let branch = v["pull_request"]["branch"].as_str().unwrap().to_string();
    s.server.world.lock().unwrap().prs[0].state = "closed".into();
    let again = run(&s, &["--force"]);
    assert_eq!(again["pull_request"]["operation"], "skipped");
    assert!(again["pull_request"]["reason"]
        .as_str()
        .unwrap()
        .contains("not reopened"));
    assert_eq!(s.server.world.lock().unwrap().prs.len(), 1);

    // Reopen it, and let a reviewer push to the branch: retrain leaves it alone.
    s.server.world.lock().unwrap().prs[0].state = "open".into();
    let other = s.origin.parent().unwrap().join("other");
    git(
        s.origin.parent().unwrap(),
        &[
            "clone",
            "-q",
            "-b",
            &branch,
            s.origin.to_str().unwrap(),
            other.to_str().unwrap(),
        ],
    );
    std::fs::write(other.join("NOTE.md"), "checked by Ada\n").unwrap();
    git(&other, &["add", "."]);
    git(&other, &["commit", "-q", "-m", "review note"]);
    git(&other, &["push", "-q", "origin", &branch]);
    let head = git(&s.origin, &["rev-parse", &branch]);
    // new settings -> a different proposal for the same snapshot
    let cfg = std::fs::read_to_string(s.work.join("retrain.yaml"))
        .unwrap()
        .replace("resamples: 50", "resamples: 60");
    std::fs::write(s.work.join("retrain.yaml"), cfg).unwrap();
    commit_and_push(&s, "resamples");
    let third = run(&s, &["--force"]);
    assert_eq!(third["pull_request"]["operation"], "skipped", "{third}");
    assert!(third["pull_request"]["reason"]
        .as_str()
        .unwrap()
        .contains("Ada"));
    assert_eq!(
        git(&s.origin, &["rev-parse", &branch]),
        head,
        "the reviewer's commit is kept"
    );
}

/// Regression (issue 14): a new retrain pull request closed an open policy change from
/// `backtest --apply` as "superseded" (only `rollback-*` branches were exempt). Now
/// only the model's retrain proposals, as their markers say, are superseded: never a
/// policy change, a rollback, another model's proposal or a person's pull request,
/// whatever their branch is called.
#[test]
fn a_new_retrain_pr_supersedes_only_retrain_proposals_never_a_policy_or_rollback_pr() {
    let s = setup();
    let first = run(&s, &[]);
    assert_eq!(first["pull_request"]["number"], 1);
    // new data arrives on main
    let mut late = Spec {
        rows: 1000,
        seed: 3,
        ..Spec::default()
    };
    late.start += 2000 * 3600;
    retrain::data::synth::write(&late, &s.work.join("data"), "b", 1, OutputFormat::Parquet)
        .unwrap();
    git(&s.work, &["add", "."]);
    git(&s.work, &["commit", "-q", "-m", "more data"]);
    git(&s.work, &["push", "-q", "origin", "main"]);
    // regression: a policy change from `backtest --apply` (and a person's PR) on a
    // branch under the model's prefix were closed as "superseded"
    let marker = |kind: Option<&str>, model: &str| {
        retrain::report::documents::Marker {
            kind: kind.map(str::to_string),
            model: model.into(),
            snapshot: "0123456789abcdef".into(),
            config_hash: "c".into(),
            version: 1,
            retrain: "0".into(),
        }
        .render()
    };
    let policy = "<!-- retrain-policy:{\"model\":\"churn\",\"policy\":\"every1\"} -->\n## Retraining policy for `churn`".to_string();
    let rollback = format!("{}\nRoll back churn", marker(Some("rollback"), "churn"));
    let other_model = format!("{}\nretrain: other v2", marker(None, "other"));
    for (number, head, body) in [
        (2, "retrain/churn/policy-0123456789ab", policy.as_str()),
        (3, "retrain/churn/ada-tweaks", "Ada's tweaks"),
        (4, "retrain/churn/rollback-v1-from-v2", rollback.as_str()),
        (5, "retrain/other/0123456789ab", other_model.as_str()),
    ] {
        s.server
            .world
            .lock()
            .unwrap()
            .prs
            .push(crate::support::github::Pr {
                number,
                title: body.into(),
                body: body.into(),
                head: head.into(),
                head_sha: "3333333333333333333333333333333333333333".into(),
                base: "main".into(),
                state: "open".into(),
                draft: false,
                labels: vec![],
                reviewers: vec![],
                comments: vec![],
                merged: false,
            });
    }
    let second = run(&s, &["--force"]);
    assert_eq!(second["pull_request"]["operation"], "created", "{second}");
    assert_eq!(second["pull_request"]["superseded"], serde_json::json!([1]));
    let number = second["pull_request"]["number"].as_u64().unwrap();
    let w = s.server.world.lock().unwrap();
    assert_eq!(w.prs[0].state, "closed");
    assert!(
        w.prs[0].comments[0].contains(&format!("Superseded by #{number}")),
        "{:?}",
        w.prs[0].comments
    );
    for other in &w.prs[1..5] {
        assert_eq!(other.state, "open", "{} was closed", other.head);
        assert!(other.comments.is_empty());
    }
}

/// `pull_request.author` is who commits; a re-run recognises those commits as its own
/// (unchanged), and a malformed author is a config error at its key.
#[test]
fn the_commit_author_is_configurable() {
    let s = setup();
    let config = s.work.join("retrain.yaml");
    let good = std::fs::read_to_string(&config).unwrap().replace(
        "pull_request: { labels",
        "pull_request: { author: \"ML bot <ml-bot@example.com>\", labels",
    );
    std::fs::write(
        &config,
        good.replace("ml-bot@example.com>", "ml-bot@example.com"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_retrain"))
        .arg("--repo")
        .arg(&s.work)
        .args(["run", "--dry-run"])
        .env_remove("GITHUB_ACTIONS")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("pull_request.author"), "{stderr}");
    assert!(stderr.contains("is not `Name <email>`"), "{stderr}");

    std::fs::write(&config, good).unwrap();
    git(&s.work, &["commit", "-q", "-am", "bot identity"]);
    git(&s.work, &["push", "-q", "origin", "main"]);
    let v = run(&s, &[]);
    assert_eq!(v["pull_request"]["operation"], "created", "{v}");
    let branch = v["pull_request"]["branch"].as_str().unwrap();
    assert_eq!(
        git(
            &s.origin,
            &["log", "-1", "--format=%an <%ae>|%cn <%ce>", branch]
        ),
        "ML bot <ml-bot@example.com>|ML bot <ml-bot@example.com>"
    );
    let again = run(&s, &[]);
    assert_eq!(again["pull_request"]["operation"], "unchanged", "{again}");
}

/// A candidate the gate turns down opens a draft by default; with
/// `pull_request.open_when_not_blessed: false` it pushes and opens nothing and says why.
#[test]
fn an_unblessed_candidate_opens_a_draft_or_nothing() {
    let s = setup();
    let config = s.work.join("retrain.yaml");
    let text = std::fs::read_to_string(&config).unwrap();
    // A gate no model passes.
    let strict = text.replace(
        "{ metric: accuracy, min: 0.6 }",
        "{ metric: accuracy, min: 1.01 }",
    );
    std::fs::write(&config, &strict).unwrap();
    commit_and_push(&s, "strict gate");
    let v = run(&s, &["--force"]);
    assert_eq!(v["gate"]["blessed"], false, "{v}");
    assert_eq!(v["pull_request"]["operation"], "created", "{v}");
    assert!(
        s.server.world.lock().unwrap().prs[0].draft,
        "not blessed: a draft"
    );

    let s = setup();
    let config = s.work.join("retrain.yaml");
    let quiet = strict.replace(
        "reviewers: [ada] }",
        "reviewers: [ada], open_when_not_blessed: false }",
    );
    assert_ne!(quiet, strict);
    std::fs::write(&config, quiet).unwrap();
    commit_and_push(&s, "quiet");
    let v = run(&s, &["--force"]);
    assert_eq!(v["gate"]["blessed"], false, "{v}");
    assert_eq!(v["pull_request"]["operation"], "skipped", "{v}");
    assert!(v["pull_request"]["reason"]
        .as_str()
        .unwrap()
        .contains("open_when_not_blessed"));
    assert!(s.server.world.lock().unwrap().prs.is_empty());
    let branches = git(&s.origin, &["branch", "--list", "retrain/*"]);
    assert!(branches.trim().is_empty(), "nothing pushed: {branches}");
}

/// Regression (D6): `run` trained on an uncommitted edit of the data and pushed a
/// commit that records that snapshot over the committed (different) file.
#[test]
fn a_dirty_working_tree_is_not_published_unless_asked() {
    let s = setup();
    let data = first_data_file(&s);
    let rel = format!("data/{}", data.file_name().unwrap().to_string_lossy());
    let other = tempfile::tempdir().unwrap();
    let edit = retrain::data::synth::write(
        &Spec {
            rows: 1500,
            seed: 7,
            ..Spec::default()
        },
        other.path(),
        "x",
        1,
        OutputFormat::Parquet,
    )
    .unwrap();
    std::fs::copy(&edit[0], &data).unwrap();
    let out = invoke(&s, &["--force"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("error: `{rel}` is modified: the pull request would record a snapshot of data that its commit does not hold")),
        "{stderr}"
    );
    assert!(stderr.contains("--allow-dirty"), "{stderr}");
    assert!(git(&s.origin, &["branch", "--list", "retrain/*"]).is_empty());
    assert!(s.server.world.lock().unwrap().prs.is_empty());
    // a new, uncommitted partition is refused the same way
    git(&s.work, &["checkout", "-q", "--", &rel]);
    std::fs::copy(&edit[0], s.work.join("data/new.parquet")).unwrap();
    let out = invoke(&s, &["--force"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`data/new.parquet` is not committed"),
        "{stderr}"
    );
    // those who mean it say so
    let v = run(&s, &["--force", "--allow-dirty"]);
    assert_eq!(v["pull_request"]["operation"], "created", "{v}");
}
