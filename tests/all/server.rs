//! `retrain serve`: real and derived webhook payloads, the intake's answers, and the
//! bot end to end against the GitHub test server (behind prism) and a git remote over
//! HTTPS that takes the installation token.

use std::path::PathBuf;

use retrain::data::synth::{OutputFormat, Spec};
use retrain::server::event::{self, Event};
use serde_json::{json, Value};

use crate::support::git;
use crate::support::git_server::GitServer;
use crate::support::github::{GitHubServer, Pr};
use crate::support::github_app::INSTALLATION_TOKEN;
use crate::support::webhooks::{self, deliver, example, http, retarget, validate, Bot};

const KEY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/app-key.pem");

// ---- payloads -------------------------------------------------------------------

/// A push to the default branch touching `files`, one commit per file (derived from
/// a real push and checked against the schemas).
fn push_payload(clone_url: Option<&str>, files: &[&str]) -> Value {
    let mut p = example("push", |v| v["ref"] == "refs/heads/master");
    retarget(&mut p, clone_url);
    p["ref"] = "refs/heads/main".into();
    let template = p["commits"][0].clone();
    p["commits"] = files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let mut c = template.clone();
            c["id"] = format!("{:040x}", i + 1).into();
            c["message"] = format!("update {f}").into();
            c["added"] = json!([]);
            c["removed"] = json!([]);
            c["modified"] = json!([f]);
            c
        })
        .collect();
    p["head_commit"] = p["commits"][files.len() - 1].clone();
    validate("push", &p);
    p
}

/// `/retrain ...` by `user` on pull request #1.
fn comment_payload(clone_url: Option<&str>, user: &str, body: &str) -> Value {
    let mut p = example("issue_comment", |v| v["action"] == "created");
    retarget(&mut p, clone_url);
    p["issue"]["number"] = 1.into();
    p["issue"]["pull_request"] = json!({
        "url": "https://api.github.com/repos/acme/models/pulls/1",
        "html_url": "https://github.com/acme/models/pull/1",
        "diff_url": "https://github.com/acme/models/pull/1.diff",
        "patch_url": "https://github.com/acme/models/pull/1.patch",
        "merged_at": null
    });
    p["comment"]["id"] = 9001.into();
    p["comment"]["body"] = body.into();
    p["comment"]["user"]["login"] = user.into();
    p["sender"]["login"] = user.into();
    validate("issue_comment", &p);
    p
}

/// A merged pull request whose body is `body`.
fn merged_payload(clone_url: Option<&str>, number: u64, body: &str) -> Value {
    let mut p = example("pull_request", |v| v["action"] == "closed");
    retarget(&mut p, clone_url);
    p["number"] = number.into();
    let pr = &mut p["pull_request"];
    pr["number"] = number.into();
    pr["body"] = body.into();
    pr["merged"] = true.into();
    pr["merged_at"] = "2025-06-02T00:00:00Z".into();
    pr["merge_commit_sha"] = "2222222222222222222222222222222222222222".into();
    pr["merged_by"] = pr["user"].clone();
    validate("pull_request", &p);
    p
}

fn parse(event: &str, payload: &Value) -> Event {
    event::parse(event, &serde_json::to_vec(payload).unwrap())
        .unwrap_or_else(|e| panic!("`{event}` does not parse: {e}"))
}

#[test]
fn githubs_documented_signature_test_vector() {
    assert_eq!(
        retrain::server::intake::sign("It's a Secret to Everybody", b"Hello, World!"),
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    );
}

#[test]
fn every_real_example_parses_into_an_event() {
    for (name, list) in webhooks::examples() {
        for (i, p) in list.as_array().unwrap().iter().enumerate() {
            let e = event::parse(name, &serde_json::to_vec(p).unwrap())
                .unwrap_or_else(|e| panic!("{name}[{}]: {e}", i + 1));
            let expected = match (name.as_str(), p["action"].as_str()) {
                ("ping", _) => "ping",
                (
                    "installation",
                    Some(
                        "created"
                        | "deleted"
                        | "suspend"
                        | "unsuspend"
                        | "new_permissions_accepted",
                    ),
                ) => "track",
                ("installation_repositories", _) => "track",
                ("push", _) if p["ref"] == "refs/heads/master" => "push",
                _ => "ignored",
            };
            assert_eq!(e.kind(), expected, "{name}[{}]: {e:?}", i + 1);
        }
    }
    let p = example("installation_repositories", |v| v["action"] == "removed");
    let Event::Track { removed, .. } = parse("installation_repositories", &p) else {
        panic!()
    };
    assert!(!removed.is_empty());
}

#[test]
fn derived_payloads_are_schema_valid_and_become_the_right_events() {
    let p = push_payload(None, &["README.md", "data/a-0000.parquet", "README.md"]);
    assert_eq!(
        parse("push", &p),
        Event::Push {
            repo: event::Repo {
                full_name: "acme/models".into(),
                clone_url: p["repository"]["clone_url"].as_str().map(str::to_string),
                default_branch: Some("main".into()),
                installation: Some(42),
            },
            after: p["after"].as_str().unwrap().into(),
            changed: Some(vec!["README.md".into(), "data/a-0000.parquet".into()]),
        }
    );
    let c = comment_payload(None, "ada", "/retrain churn --force");
    match parse("issue_comment", &c) {
        Event::Comment {
            issue,
            comment_id,
            author,
            command: Ok(cmd),
            ..
        } => {
            assert_eq!((issue, comment_id, author.as_str()), (1, 9001, "ada"));
            assert_eq!(cmd.model.as_deref(), Some("churn"));
            assert!(cmd.force && !cmd.dry_run);
        }
        other => panic!("{other:?}"),
    }
    let marker = r#"<!-- retrain:{"model":"churn","snapshot":"ab","config_hash":"cd","version":1,"retrain":"0.1.0"} -->"#;
    match parse(
        "pull_request",
        &merged_payload(None, 7, &format!("{marker}\n## churn")),
    ) {
        Event::Merged { number, model, .. } => assert_eq!((number, model.as_str()), (7, "churn")),
        other => panic!("{other:?}"),
    }
    // merged, but not a retrain pull request
    assert_eq!(
        parse("pull_request", &merged_payload(None, 8, "a fix")).kind(),
        "ignored"
    );
}

// ---- the intake ---------------------------------------------------------------

#[test]
fn bad_deliveries_get_the_right_status_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let bot = Bot::start(&dir.path().join("bot"), &["--mode", "none"], &[]);
    let push = push_payload(None, &["data/a-0000.parquet"]);
    let body = serde_json::to_vec(&push).unwrap();
    let sig = retrain::server::intake::sign(webhooks::SECRET, &body);
    let post =
        |headers: &[(&str, &str)], body: &[u8]| http(&bot.addr, "POST", "/webhook", headers, body);
    let base = [("X-GitHub-Event", "push"), ("X-GitHub-Delivery", "d-bad")];
    // unsigned
    assert_eq!(post(&base, &body).status, 401);
    // signed with another secret
    let wrong = retrain::server::intake::sign("not-the-secret", &body);
    assert_eq!(
        post(&[base[0], base[1], ("X-Hub-Signature-256", &wrong)], &body).status,
        401
    );
    // signed, but the body was changed
    let mut tampered = body.clone();
    tampered[10] ^= 1;
    assert_eq!(
        post(
            &[base[0], base[1], ("X-Hub-Signature-256", &sig)],
            &tampered
        )
        .status,
        401
    );
    // over GitHub's 25 MB cap
    let big = vec![b' '; 25 * 1024 * 1024 + 1];
    let big_sig = retrain::server::intake::sign(webhooks::SECRET, &big);
    assert_eq!(
        post(&[base[0], base[1], ("X-Hub-Signature-256", &big_sig)], &big).status,
        413
    );
    // signed, but not JSON / not a push
    for bad in [&b"{not json"[..], &b"{\"ref\": 3}"[..]] {
        let s = retrain::server::intake::sign(webhooks::SECRET, bad);
        let a = post(&[base[0], base[1], ("X-Hub-Signature-256", &s)], bad);
        assert_eq!(a.status, 400, "{}", a.body);
    }
    // no delivery id
    assert_eq!(
        post(&[base[0], ("X-Hub-Signature-256", &sig)], &body).status,
        400
    );
    assert_eq!(bot.count("SELECT count(*) FROM deliveries"), 0);
    assert_eq!(bot.count("SELECT count(*) FROM jobs"), 0);

    // ping is answered, not stored
    let ping = example("ping", |_| true);
    assert_eq!(deliver(&bot.addr, "ping", "d-ping", &ping).status, 200);
    // every real example is accepted
    let mut stored = 0;
    for (name, list) in webhooks::examples() {
        for (i, p) in list.as_array().unwrap().iter().enumerate() {
            let a = deliver(&bot.addr, name, &format!("{name}-{i}"), p);
            if name == "ping" {
                assert_eq!(a.status, 200);
            } else {
                assert_eq!(a.status, 202, "{name}[{}]: {}", i + 1, a.body);
                stored += 1;
            }
        }
    }
    assert_eq!(bot.count("SELECT count(*) FROM deliveries"), stored);
    // the two real pushes to the default branch became jobs (queued: --mode none runs nothing)
    assert_eq!(
        bot.count("SELECT count(*) FROM jobs WHERE status = 'queued'"),
        2
    );
    // the installation examples add (and remove) repositories to track
    assert!(bot.count("SELECT count(*) FROM repos") > 0);

    let metrics = http(&bot.addr, "GET", "/metrics", &[], b"").body;
    for line in [
        "retrain_webhook_deliveries_total{event=\"push\",outcome=\"bad_signature\"} 2",
        "retrain_webhook_deliveries_total{event=\"push\",outcome=\"unsigned\"} 1",
        "retrain_webhook_deliveries_total{event=\"push\",outcome=\"malformed\"} 3",
        "retrain_webhook_deliveries_total{event=\"ping\",outcome=\"pong\"}",
        "retrain_jobs{status=\"queued\"} 2",
        "retrain_webhook_ack_seconds_count",
    ] {
        assert!(metrics.contains(line), "{line} not in:\n{metrics}");
    }
    assert_eq!(http(&bot.addr, "GET", "/readyz", &[], b"").status, 200);

    // SIGTERM: a clean stop; what was stored survives it
    let mut bot = bot;
    assert!(bot.terminate().success(), "{}", bot.log());
    assert_eq!(
        bot.count("SELECT count(*) FROM jobs WHERE status = 'queued'"),
        2
    );
}

// ---- end to end -----------------------------------------------------------------

struct Setup {
    server: GitHubServer,
    /// The bot clones `origin.git` over HTTPS with the installation token.
    _git: GitServer,
    url: String,
    root: tempfile::TempDir,
    origin: PathBuf,
    work: PathBuf,
    data_file: String,
}

fn setup() -> Setup {
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
    let files = retrain::data::synth::write(
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
    let data_file = files[0]
        .strip_prefix(&work)
        .unwrap()
        .to_string_lossy()
        .into_owned();
    std::fs::write(
        work.join("retrain.yaml"),
        "version: 1\nmodels:\n  - name: churn\n    task: classification\n    target: label\n    time_column: ts\n    data: { path: data/*.parquet }\n    evaluation:\n      intervals: { resamples: 50 }\n      gates: [ { metric: accuracy, min: 0.6 }, { metric: accuracy, min_change: -0.01 } ]\n    pull_request: { labels: [retrain] }\n",
    )
    .unwrap();
    git(&work, &["checkout", "-q", "-b", "main"]);
    git(&work, &["add", "."]);
    git(&work, &["commit", "-q", "-m", "data and config"]);
    git(&work, &["push", "-q", "origin", "main"]);
    let git_server = GitServer::start(
        root.path(),
        crate::support::github_app::INSTALLATION_TOKEN,
        Default::default(),
    );
    Setup {
        server: GitHubServer::start(),
        url: git_server.url("origin.git"),
        _git: git_server,
        root,
        origin,
        work,
        data_file,
    }
}

fn start_bot(s: &Setup, mode: &str) -> Bot {
    Bot::start(
        &s.root.path().join("bot"),
        &[
            "--mode",
            mode,
            "--api-url",
            &s.server.url,
            "--app-id",
            "1234",
            "--private-key-file",
            KEY,
            "--retry-backoff",
            "1s",
            "--no-schedule",
        ],
        &[("RETRAIN_NOW", "2025-06-01T00:00:00Z")],
    )
}

/// A pull request by a person, for `/retrain` comments to land on.
fn seed_pr(s: &Setup) {
    s.server.world.lock().unwrap().prs.push(Pr {
        number: 1,
        title: "More data".into(),
        body: "new rows".into(),
        head: "ada/more-data".into(),
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

fn assert_no_secret(bot: &Bot) {
    let log = bot.log();
    assert!(
        !log.contains(INSTALLATION_TOKEN),
        "the installation token was printed: {log}"
    );
    assert!(
        !log.contains(webhooks::SECRET),
        "the webhook secret was printed"
    );
    assert!(!log.contains("PRIVATE KEY"), "the key was printed");
}

#[test]
fn a_push_of_data_opens_one_pull_request_even_when_delivered_twice() {
    let s = setup();
    let bot = start_bot(&s, "embedded");
    let p = push_payload(Some(s.url.as_str()), &["README.md", &s.data_file]);
    let a = deliver(&bot.addr, "push", "push-1", &p);
    assert_eq!(a.status, 202, "{}", a.body);
    assert_eq!(a.json()["outcome"], "queued");
    let again = deliver(&bot.addr, "push", "push-1", &p);
    assert_eq!(again.status, 202);
    assert_eq!(again.json()["outcome"], "duplicate");
    // a push that touches no model's data is a job that runs nothing
    let other = push_payload(Some(s.url.as_str()), &["docs/notes.md"]);
    assert_eq!(
        deliver(&bot.addr, "push", "push-2", &other).json()["outcome"],
        "queued"
    );
    bot.settle(180);
    let jobs = bot.jobs();
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    assert!(
        jobs.iter().all(|j| j.0 == "done"),
        "{jobs:?}\n{}",
        bot.log()
    );
    assert!(
        jobs[1].3.as_deref().unwrap().contains("touched no model"),
        "{jobs:?}"
    );
    let w = s.server.world.lock().unwrap();
    assert_eq!(w.prs.len(), 1, "exactly one pull request");
    assert!(w.prs[0].head.starts_with("retrain/churn/"));
    assert_eq!(w.bot.bad_app_auth, Vec::<String>::new());
    assert_eq!(
        w.bot.tokens_minted, 1,
        "the installation token is cached across jobs"
    );
    drop(w);
    git(
        &s.origin,
        &[
            "rev-parse",
            "--verify",
            &format!("refs/heads/{}", s.server.world.lock().unwrap().prs[0].head),
        ],
    );
    assert_no_secret(&bot);
}

#[test]
fn retrain_from_a_reader_is_refused_with_a_reply() {
    let s = setup();
    seed_pr(&s);
    s.server
        .world
        .lock()
        .unwrap()
        .bot
        .roles
        .insert("rita".into(), "read".into());
    let bot = start_bot(&s, "embedded");
    let c = comment_payload(Some(s.url.as_str()), "rita", "/retrain churn --force");
    assert_eq!(deliver(&bot.addr, "issue_comment", "c-1", &c).status, 202);
    bot.settle(60);
    assert_eq!(bot.jobs()[0].0, "done", "{}", bot.log());
    let w = s.server.world.lock().unwrap();
    assert_eq!(w.prs.len(), 1, "nothing was run");
    let replies = &w.prs[0].comments;
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert!(
        replies[0].contains("needs write access") && replies[0].contains("`read`"),
        "{replies:?}"
    );
    assert_eq!(w.bot.reactions, [(9001, "-1".to_string())]);
}

#[test]
fn retrain_from_a_writer_runs_and_replies_with_the_outcome() {
    let s = setup();
    seed_pr(&s);
    s.server
        .world
        .lock()
        .unwrap()
        .bot
        .roles
        .insert("wes".into(), "maintain".into());
    let bot = start_bot(&s, "embedded");
    let c = comment_payload(Some(s.url.as_str()), "wes", "/retrain churn --force");
    assert_eq!(deliver(&bot.addr, "issue_comment", "c-2", &c).status, 202);
    // a malformed command gets the usage back
    let bad = comment_payload(Some(s.url.as_str()), "wes", "/retrain churn --yolo");
    assert_eq!(deliver(&bot.addr, "issue_comment", "c-3", &bad).status, 202);
    bot.settle(180);
    assert!(
        bot.jobs().iter().all(|j| j.0 == "done"),
        "{:?}\n{}",
        bot.jobs(),
        bot.log()
    );
    let w = s.server.world.lock().unwrap();
    assert_eq!(w.prs.len(), 2, "the run opened the model's pull request");
    let replies = &w.prs[0].comments;
    assert_eq!(replies.len(), 2, "{replies:?}");
    assert!(replies[0].contains("retrain `churn`"), "{}", replies[0]);
    assert!(replies[0].contains("/acme/models/pull/2"), "{}", replies[0]);
    assert!(
        replies[1].contains("unknown option `--yolo`"),
        "{}",
        replies[1]
    );
    assert_eq!(
        w.bot.reactions,
        [(9001, "rocket".to_string()), (9001, "confused".to_string())]
    );
    drop(w);
    assert_no_secret(&bot);
}

#[test]
fn dispatch_mode_starts_the_repositorys_workflow() {
    let s = setup();
    seed_pr(&s);
    s.server
        .world
        .lock()
        .unwrap()
        .bot
        .roles
        .insert("wes".into(), "admin".into());
    let bot = start_bot(&s, "dispatch");
    let c = comment_payload(Some(s.url.as_str()), "wes", "/retrain churn --dry-run");
    assert_eq!(deliver(&bot.addr, "issue_comment", "c-4", &c).status, 202);
    bot.settle(60);
    let w = s.server.world.lock().unwrap();
    assert_eq!(
        w.bot.dispatches,
        [(
            "retrain.yml".to_string(),
            json!({ "ref": "main", "inputs": { "model": "churn", "force": "false", "dry-run": "true" } })
        )]
    );
    assert_eq!(w.prs.len(), 1, "nothing ran here");
    assert!(w.prs[0].comments[0].contains("started the `retrain.yml` workflow"));
}

#[test]
fn killed_mid_job_the_job_completes_after_a_restart_with_exactly_one_pull_request() {
    let s = setup();
    let mut bot = start_bot(&s, "embedded");
    let p = push_payload(Some(s.url.as_str()), &[&s.data_file]);
    assert_eq!(deliver(&bot.addr, "push", "push-k", &p).status, 202);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while bot.count("SELECT count(*) FROM jobs WHERE status = 'running'") == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the job never started: {}",
            bot.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    bot.kill();
    assert_eq!(
        bot.count("SELECT count(*) FROM jobs WHERE status = 'running'"),
        1
    );
    bot.restart();
    bot.settle(180);
    let jobs = bot.jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        (jobs[0].0.as_str(), jobs[0].1),
        ("done", 2),
        "{jobs:?}\n{}",
        bot.log()
    );
    assert_eq!(
        s.server.world.lock().unwrap().prs.len(),
        1,
        "exactly one pull request"
    );
    // the redelivery GitHub would make after the crash changes nothing
    assert_eq!(
        deliver(&bot.addr, "push", "push-k", &p).json()["outcome"],
        "duplicate"
    );
}

#[test]
fn an_installed_repository_is_run_on_the_bots_schedule() {
    let s = setup();
    s.server.world.lock().unwrap().bot.clone_url = s.url.clone();
    let mut p = example("installation", |v| v["action"] == "created");
    p["installation"]["id"] = crate::support::github_app::INSTALLATION.into();
    p["repositories"] = json!([{ "id": 1, "node_id": "R_1", "name": "models", "full_name": "acme/models", "private": true }]);
    validate("installation", &p);
    let bot = Bot::start(
        &s.root.path().join("bot"),
        &[
            "--api-url",
            &s.server.url,
            "--app-id",
            "1234",
            "--private-key-file",
            KEY,
            "--retry-backoff",
            "1s",
            "--schedule-interval",
            "1h",
        ],
        &[("RETRAIN_NOW", "2025-06-01T00:00:00Z")],
    );
    assert_eq!(
        deliver(&bot.addr, "installation", "i-1", &p).json()["outcome"],
        "tracked"
    );
    // a newly tracked repository is evaluated at once (then once per interval)
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    while bot.count("SELECT count(*) FROM jobs WHERE kind = 'schedule' AND status = 'done'") == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}\n{}",
            bot.jobs(),
            bot.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let w = s.server.world.lock().unwrap();
    assert_eq!(
        w.prs.len(),
        1,
        "no champion yet: the scheduled run proposes one"
    );
    assert!(w
        .requests
        .iter()
        .any(|(m, p)| m == "GET" && p == "/repos/acme/models"));
}

#[test]
fn a_merged_retrain_pull_request_is_promoted_once() {
    let s = setup();
    let bot = start_bot(&s, "embedded");
    let p = push_payload(Some(s.url.as_str()), &[&s.data_file]);
    assert_eq!(deliver(&bot.addr, "push", "push-m", &p).status, 202);
    bot.settle(180);
    let (branch, body) = {
        let w = s.server.world.lock().unwrap();
        (w.prs[0].head.clone(), w.prs[0].body.clone())
    };
    // the reviewers merge it
    git(&s.work, &["fetch", "-q", "origin", &branch]);
    git(&s.work, &["merge", "-q", "--ff-only", "FETCH_HEAD"]);
    git(&s.work, &["push", "-q", "origin", "main"]);
    let m = merged_payload(Some(s.url.as_str()), 1, &body);
    assert_eq!(
        deliver(&bot.addr, "pull_request", "pr-m", &m).json()["outcome"],
        "queued"
    );
    assert_eq!(
        deliver(&bot.addr, "pull_request", "pr-m", &m).json()["outcome"],
        "duplicate"
    );
    bot.settle(120);
    assert!(bot.jobs().iter().all(|j| j.0 == "done"), "{:?}", bot.jobs());
    assert_eq!(
        bot.count("SELECT count(*) FROM jobs WHERE kind = 'promote'"),
        1
    );
    let tags = git(&s.origin, &["tag", "--list", "model/churn/*"]);
    assert_eq!(tags, "model/churn/v1");
}
