//! `data.url` sources on a real S3 API (moto over TLS, SigV4 checked; see
//! `support::s3`): listing and globs, each object read once and then known by what the
//! store says about it, multi-part ETags, replaced and deleted objects, and every fault
//! named with nothing written.

use std::path::{Path, PathBuf};

use retrain::data::synth::{self, OutputFormat, Spec};
use serde_json::json;

use crate::support::s3::S3Server;
use crate::support::Repo;

fn config(url: &str) -> String {
    format!(
        "version: 1\nmodels:\n  - name: m\n    task: classification\n    target: label\n    time_column: ts\n    data: {{ url: \"{url}\" }}\n"
    )
}

/// CSV partitions of the generator's data under `dir`.
pub fn partitions(dir: &Path, rows: usize, n: usize, seed: u64) -> Vec<PathBuf> {
    let spec = Spec {
        rows,
        seed,
        ..Spec::default()
    };
    synth::write(&spec, dir, "part", n, OutputFormat::Csv).unwrap()
}

fn env(server: &S3Server) -> Vec<(&'static str, String)> {
    server.env()
}

fn run(repo: &Repo, server: &S3Server, args: &[&str]) -> crate::support::Run {
    let env = env(server);
    let envs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = repo.run_with(args, &envs);
    assert!(
        !run.stdout.contains(&server.secret) && !run.stderr.contains(&server.secret),
        "the secret was printed"
    );
    run
}

fn blake3_of(path: &Path) -> String {
    blake3::hash(&std::fs::read(path).unwrap())
        .to_hex()
        .to_string()
}

#[test]
fn objects_are_read_once_then_known_by_what_the_store_says() {
    let repo = Repo::new();
    let local = tempfile::tempdir().unwrap();
    let parts = partitions(local.path(), 3000, 3, 1);
    let p = |i: usize| parts[i].to_str().unwrap().to_string();
    let server = S3Server::start(
        local.path(),
        json!([
            ["bucket", "lake"],
            ["put", "lake", "events/part-0.csv", p(0)],
            ["put", "lake", "events/part-1.csv", p(1)],
            // not matched: `*` stays within one segment, and another prefix
            ["put", "lake", "events/nested/part-9.csv", p(2)],
            ["put", "lake", "other/part-8.csv", p(2)]
        ]),
    );
    repo.config(&config("s3://lake/events/*.csv"));
    server.take_requests();

    let first = run(&repo, &server, &["snapshot", "--output", "json"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let v = first.json();
    assert_eq!(v["status"], "created");
    assert_eq!(v["files"], 2);
    let mut reads = S3Server::object_reads(&server.take_requests());
    reads.sort();
    assert_eq!(
        reads,
        [
            "GET /lake/events/part-0.csv?",
            "GET /lake/events/part-1.csv?"
        ]
    );
    // same bytes under the same names, same id: the id of (URL, content hash)
    let id = v["id"].as_str().unwrap().to_string();
    assert_eq!(
        id,
        retrain::snapshot::hash::snapshot_id([
            ("s3://lake/events/part-0.csv", blake3_of(&parts[0]).as_str()),
            ("s3://lake/events/part-1.csv", blake3_of(&parts[1]).as_str()),
        ])
    );
    let manifest: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(repo.path().join(format!(".retrain/snapshots/{id}.yaml")))
            .unwrap(),
    )
    .unwrap();
    assert!(
        manifest["files"][0]["etag"].as_str().is_some(),
        "{manifest:?}"
    );

    // unchanged: listed, nothing read
    let again = run(&repo, &server, &["snapshot", "--output", "json"]);
    assert_eq!(again.json()["status"], "unchanged", "{}", again.stderr);
    assert_eq!(
        S3Server::object_reads(&server.take_requests()),
        Vec::<String>::new()
    );

    // one new object, uploaded in two parts (its ETag is not an MD5): exactly it is read
    let big = partitions(&local.path().join("big"), 90_000, 1, 2).remove(0);
    assert!(std::fs::metadata(&big).unwrap().len() > 5 << 20);
    server.admin(json!([[
        "put_multipart",
        "lake",
        "events/part-2.csv",
        big.to_str().unwrap()
    ]]));
    server.take_requests();
    let grown = run(&repo, &server, &["snapshot", "--output", "json"]);
    assert_eq!(grown.code, 0, "{}", grown.stderr);
    assert_eq!(grown.json()["status"], "created");
    assert_eq!(grown.json()["files"], 3);
    assert_eq!(
        S3Server::object_reads(&server.take_requests()),
        ["GET /lake/events/part-2.csv?"]
    );
    let grown_id = grown.json()["id"].as_str().unwrap().to_string();
    let text = std::fs::read_to_string(
        repo.path()
            .join(format!(".retrain/snapshots/{grown_id}.yaml")),
    )
    .unwrap();
    assert!(text.contains("-2\""), "a multi-part ETag: {text}");

    // a fresh checkout (no local cache): the committed manifests know every object
    std::fs::remove_dir_all(repo.path().join(".retrain/cache")).unwrap();
    let fresh = run(&repo, &server, &["snapshot", "--output", "json"]);
    assert_eq!(fresh.json()["status"], "unchanged", "{}", fresh.stderr);
    assert_eq!(fresh.json()["id"], grown_id.as_str());
    assert_eq!(
        S3Server::object_reads(&server.take_requests()),
        Vec::<String>::new()
    );

    // the pipeline trains on the objects (read now, since the cache is gone)
    let trained = run(
        &repo,
        &server,
        &["run", "--dry-run", "--force", "--output", "json"],
    );
    assert_eq!(trained.code, 0, "{}", trained.stderr);
    assert!(trained.json()["training"]["rows"].as_u64().unwrap() > 0);
    assert_eq!(S3Server::object_reads(&server.take_requests()).len(), 3);

    // an object rewritten in place: a new snapshot reads exactly that one
    let other = partitions(&local.path().join("other"), 500, 1, 3).remove(0);
    server.admin(json!([[
        "put",
        "lake",
        "events/part-1.csv",
        other.to_str().unwrap()
    ]]));
    server.take_requests();
    let replaced = run(&repo, &server, &["snapshot", "--output", "json"]);
    assert_eq!(replaced.json()["status"], "created", "{}", replaced.stderr);
    assert_ne!(replaced.json()["id"], grown_id.as_str());
    assert_eq!(
        S3Server::object_reads(&server.take_requests()),
        ["GET /lake/events/part-1.csv?"]
    );
}

/// Every fault: a clear error naming the object and what to do, no manifest written, no
/// partial download left, no secret printed.
#[test]
fn store_faults_are_named_and_write_nothing() {
    let repo = Repo::new();
    let local = tempfile::tempdir().unwrap();
    let parts = partitions(local.path(), 2000, 2, 4);
    let p = |i: usize| parts[i].to_str().unwrap().to_string();
    let server = S3Server::start(
        local.path(),
        json!([
            ["bucket", "lake"],
            ["put", "lake", "events/a.csv", p(0)],
            ["put", "lake", "events/b.csv", p(1)],
            ["put", "lake", "denied/a.csv", p(0)]
        ]),
    );
    let fails = |url: &str, env_override: &[(&str, &str)], expect: &[&str]| {
        // every object is read again (an earlier case may have cached some)
        let _ = std::fs::remove_dir_all(repo.path().join(".retrain/cache"));
        repo.config(&config(url));
        let mut env = env(&server);
        for (k, v) in env_override {
            env.retain(|(key, _)| key != k);
            env.push((k, v.to_string()));
        }
        let envs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let run = repo.run_with(&["snapshot"], &envs);
        assert_ne!(run.code, 0, "{url}: {}", run.stdout);
        for e in expect {
            assert!(run.stderr.contains(e), "{url}: `{e}` not in {}", run.stderr);
        }
        assert!(!run.stderr.contains(&server.secret), "{}", run.stderr);
        for (_, v) in env_override {
            assert!(
                v.len() < 8 || !run.stderr.contains(v),
                "a credential was printed: {}",
                run.stderr
            );
        }
        assert_eq!(repo.snapshot_files(), Vec::<String>::new(), "{url}");
        let left: Vec<String> = std::fs::read_dir(repo.path().join(".retrain/cache/objects"))
            .map(|d| {
                d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .filter(|n| n.starts_with('.'))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(left, Vec::<String>::new(), "a partial download was left");
        run.stderr
    };
    let url = "s3://lake/events/*.csv";
    fails(
        url,
        &[("AWS_SECRET_ACCESS_KEY", "not-the-secret-at-all")],
        &["refused access", "SignatureDoesNotMatch", "hint:"],
    );
    fails(
        url,
        &[("AWS_ACCESS_KEY_ID", "AKIAUNKNOWN000000000")],
        &["refused access", "InvalidAccessKeyId"],
    );
    fails(
        "s3://no-such-bucket/events/*.csv",
        &[],
        &["bucket does not exist", "NoSuchBucket"],
    );
    fails(
        "s3://lake/denied/*.csv",
        &[],
        &["refused access to `denied/a.csv`", "AccessDenied"],
    );
    fails("s3://lake/events/*.parquet", &[], &["matched no files"]);
    server.faults(json!({ "truncate": ["/lake/events/b.csv"] }));
    fails(url, &[], &["s3://lake/events/b.csv", "cut short"]);
    server.faults(json!({}));
    server
        .faults(json!({ "after_list": { "replace": [["lake", "events/b.csv", "ts,x,label\n"]] } }));
    fails(
        url,
        &[],
        &["s3://lake/events/b.csv", "replaced after it was listed"],
    );
    server.faults(json!({ "after_list": { "delete": [["lake", "events/a.csv"]] } }));
    fails(
        url,
        &[],
        &["s3://lake/events/a.csv", "deleted after it was listed"],
    );
}

/// `tests/fixtures/http_files.py` serving `root`; its port and request log.
struct WebServer {
    child: std::process::Child,
    url: String,
    log: PathBuf,
}

impl Drop for WebServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl WebServer {
    fn start(root: &Path, state: &Path, validators: bool) -> Self {
        let port_file = state.join(format!("http-port-{validators}"));
        let log = state.join(format!("http-{validators}.log"));
        let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
        let mut cmd = std::process::Command::new("python3");
        cmd.arg(format!("{fixtures}/http_files.py"))
            .arg(root)
            .arg(&port_file)
            .arg(&log)
            .arg(format!("{fixtures}/tls/server.pem"))
            .arg(format!("{fixtures}/tls/server.key"));
        if !validators {
            cmd.arg("--no-validators");
        }
        let child = cmd.spawn().expect("start the web server");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let port = loop {
            if let Ok(p) = std::fs::read_to_string(&port_file) {
                break p;
            }
            assert!(std::time::Instant::now() < deadline, "no web server");
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        WebServer {
            child,
            url: format!("https://127.0.0.1:{}", port.trim()),
            log,
        }
    }

    fn take_gets(&self) -> usize {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let _ = std::fs::write(&self.log, "");
        text.lines().filter(|l| l.starts_with("GET ")).count()
    }
}

/// One file on a web server: with ETag / Last-Modified an unchanged file is not read
/// again; without them it must be (only its bytes tell), and the snapshot is the same.
#[test]
fn an_https_file_is_read_again_only_when_the_server_cannot_vouch_for_it() {
    let local = tempfile::tempdir().unwrap();
    let served = local.path().join("www");
    partitions(&served.join("data"), 1000, 1, 5);
    let name = std::fs::read_dir(served.join("data"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .file_name()
        .to_string_lossy()
        .into_owned();
    let ca = [("SSL_CERT_FILE", crate::support::git_server::ca())];
    for validators in [true, false] {
        let repo = Repo::new();
        let web = WebServer::start(&served, local.path(), validators);
        repo.config(&config(&format!("{}/data/{name}", web.url)));
        let first = repo.run_with(&["snapshot", "--output", "json"], &ca);
        assert_eq!(first.code, 0, "{}", first.stderr);
        assert_eq!(first.json()["status"], "created");
        assert_eq!(web.take_gets(), 1);
        let again = repo.run_with(&["snapshot", "--output", "json"], &ca);
        assert_eq!(again.json()["status"], "unchanged", "{}", again.stderr);
        assert_eq!(again.json()["id"], first.json()["id"]);
        assert_eq!(
            web.take_gets(),
            if validators { 0 } else { 1 },
            "validators: {validators}"
        );
    }
    // a web server cannot be listed: a glob is refused at once
    let repo = Repo::new();
    repo.config(&config("https://127.0.0.1:1/data/*.csv"));
    let run = repo.run_with(&["snapshot"], &ca);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("globs need an object store"),
        "{}",
        run.stderr
    );
}
