//! `data.url: az://container/...` on a real Azure Blob service (Microsoft's Azurite over
//! TLS, Shared Key checked; see `support::azure`): listing and globs, each blob read once
//! and then known by what the service says about it (ETag, last-modified), a replaced
//! blob read again, and the faults a user meets named with nothing written.

use serde_json::json;

use crate::support::azure::AzureServer;
use crate::support::Repo;

fn config(url: &str) -> String {
    format!(
        "version: 1\nmodels:\n  - name: m\n    task: classification\n    target: label\n    time_column: ts\n    data: {{ url: \"{url}\" }}\n"
    )
}

fn run(
    repo: &Repo,
    server: &AzureServer,
    args: &[&str],
    over: &[(&str, &str)],
) -> crate::support::Run {
    let mut env = server.env();
    for (k, v) in over {
        env.retain(|(key, _)| key != k);
        env.push((k, v.to_string()));
    }
    let envs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = repo.run_with(args, &envs);
    assert!(
        !run.stdout.contains(&server.key) && !run.stderr.contains(&server.key),
        "the account key was printed"
    );
    run
}

#[test]
fn azure_blobs_are_read_once_then_known_by_what_the_service_says() {
    let repo = Repo::new();
    let local = tempfile::tempdir().unwrap();
    let parts = crate::sources::partitions(local.path(), 3000, 3, 1);
    let p = |i: usize| parts[i].to_str().unwrap().to_string();
    let server = AzureServer::start(
        local.path(),
        json!([
            ["container", "lake"],
            ["put", "lake", "events/part-0.csv", p(0)],
            ["put", "lake", "events/part-1.csv", p(1)],
            // not matched: another prefix
            ["put", "lake", "other/part-8.csv", p(2)]
        ]),
    );
    repo.config(&config("az://lake/events/*.csv"));
    server.take_requests();

    let first = run(&repo, &server, &["snapshot", "--output", "json"], &[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let v = first.json();
    assert_eq!(
        (v["status"].as_str(), v["files"].as_u64()),
        (Some("created"), Some(2))
    );
    let mut reads = AzureServer::blob_reads(&server.take_requests());
    reads.sort();
    assert_eq!(
        reads,
        [
            "GET /retrainlake/lake/events/part-0.csv",
            "GET /retrainlake/lake/events/part-1.csv"
        ]
    );
    let id = v["id"].as_str().unwrap().to_string();
    let hash = |i: usize| {
        blake3::hash(&std::fs::read(&parts[i]).unwrap())
            .to_hex()
            .to_string()
    };
    assert_eq!(
        id,
        retrain::snapshot::hash::snapshot_id([
            ("az://lake/events/part-0.csv", hash(0).as_str()),
            ("az://lake/events/part-1.csv", hash(1).as_str()),
        ])
    );

    // unchanged: listed, nothing read
    let again = run(&repo, &server, &["snapshot", "--output", "json"], &[]);
    assert_eq!(again.json()["status"], "unchanged", "{}", again.stderr);
    assert_eq!(
        AzureServer::blob_reads(&server.take_requests()),
        Vec::<String>::new()
    );

    // one new blob: exactly it is read; then one replaced in place: exactly that one
    server.admin(json!([["put", "lake", "events/part-2.csv", p(2)]]));
    server.take_requests();
    let grown = run(&repo, &server, &["snapshot", "--output", "json"], &[]);
    assert_eq!(grown.json()["files"], 3, "{}", grown.stderr);
    assert_eq!(
        AzureServer::blob_reads(&server.take_requests()),
        ["GET /retrainlake/lake/events/part-2.csv"]
    );
    server.admin(json!([["put", "lake", "events/part-1.csv", p(0)]]));
    server.take_requests();
    let replaced = run(&repo, &server, &["snapshot", "--output", "json"], &[]);
    assert_eq!(replaced.json()["status"], "created", "{}", replaced.stderr);
    assert_ne!(replaced.json()["id"], grown.json()["id"]);
    assert_eq!(
        AzureServer::blob_reads(&server.take_requests()),
        ["GET /retrainlake/lake/events/part-1.csv"]
    );

    // the pipeline trains on the blobs
    let trained = run(
        &repo,
        &server,
        &["run", "--dry-run", "--force", "--output", "json"],
        &[],
    );
    assert_eq!(trained.code, 0, "{}", trained.stderr);
    assert!(trained.json()["training"]["rows"].as_u64().unwrap() > 0);

    // faults: a wrong key, a missing container, a glob that matches nothing — each
    // named, with no manifest written
    let before = repo.snapshot_files();
    let _ = std::fs::remove_dir_all(repo.path().join(".retrain/cache"));
    let wrong = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode([7u8; 32])
    };
    let bad = run(
        &repo,
        &server,
        &["snapshot"],
        &[("AZURE_STORAGE_ACCOUNT_KEY", &wrong)],
    );
    assert_ne!(bad.code, 0);
    assert!(
        bad.stderr.contains("az://lake/events/*.csv"),
        "{}",
        bad.stderr
    );
    assert!(
        bad.stderr.contains("403") || bad.stderr.contains("refused"),
        "{}",
        bad.stderr
    );
    assert!(!bad.stderr.contains(&wrong), "{}", bad.stderr);
    repo.config(&config("az://no-such-container/events/*.csv"));
    let missing = run(&repo, &server, &["snapshot"], &[]);
    assert_ne!(missing.code, 0);
    assert!(
        missing.stderr.contains("no-such-container"),
        "{}",
        missing.stderr
    );
    repo.config(&config("az://lake/events/*.parquet"));
    let none = run(&repo, &server, &["snapshot"], &[]);
    assert_ne!(none.code, 0);
    assert!(none.stderr.contains("matched no files"), "{}", none.stderr);
    assert_eq!(
        repo.snapshot_files(),
        before,
        "a failed snapshot wrote a manifest"
    );
}
