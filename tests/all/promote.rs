//! `retrain promote` and `retrain rollback` end to end: a bare git remote, the GitHub
//! test server behind prism, merges simulated with git itself.

use std::process::Command;

use retrain::data::synth::{OutputFormat, Spec};

use crate::publish::{run, setup, Setup};
use crate::support::git;

/// Runs `retrain <args>` against the setup; returns (exit code, stdout JSON or text, stderr).
pub fn retrain(s: &Setup, args: &[&str]) -> (i32, String, String) {
    let out = crate::publish::as_workflow(&mut Command::new(env!("CARGO_BIN_EXE_retrain")), s)
        .arg("--repo")
        .arg(&s.work)
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stdout.contains("ghs_secret") && !stderr.contains("ghs_secret"),
        "the token was printed"
    );
    (out.status.code().unwrap_or(-1), stdout, stderr)
}

fn json(s: &Setup, args: &[&str]) -> serde_json::Value {
    let (code, out, err) = retrain(s, args);
    assert_eq!(code, 0, "{err}\n{out}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// Merges the PR branch into main the way GitHub does (a merge commit), and marks the
/// PR merged on the test server.
pub fn merge(s: &Setup, branch: &str, number: u64) {
    git(&s.work, &["fetch", "-q", "origin", branch]);
    // the run left the snapshot manifest the pull request commits (the same bytes)
    // untracked in the work tree, which git would refuse to overwrite
    let added = git(
        &s.work,
        &[
            "diff",
            "--name-only",
            "HEAD",
            "FETCH_HEAD",
            "--",
            ".retrain/snapshots",
        ],
    );
    for path in added.lines() {
        let _ = std::fs::remove_file(s.work.join(path));
    }
    git(
        &s.work,
        &[
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "Merge pull request",
            "FETCH_HEAD",
        ],
    );
    git(&s.work, &["push", "-q", "origin", "main"]);
    let mut w = s.server.world.lock().unwrap();
    let pr = w.prs.iter_mut().find(|p| p.number == number).unwrap();
    pr.state = "closed".into();
    pr.merged = true;
}

fn run_and_merge(s: &Setup, extra: &[&str]) -> u64 {
    let v = run(s, extra);
    let pr = &v["pull_request"];
    assert!(
        pr["operation"] == "created" || pr["operation"] == "updated",
        "{v}"
    );
    merge(
        s,
        pr["branch"].as_str().unwrap(),
        pr["number"].as_u64().unwrap(),
    );
    pr["number"].as_u64().unwrap()
}

pub fn more_data(s: &Setup, seed: u64, name: &str) {
    let mut late = Spec {
        rows: 1000,
        seed,
        ..Spec::default()
    };
    late.start += 2000 * 3600 * seed as i64;
    retrain::data::synth::write(&late, &s.work.join("data"), name, 1, OutputFormat::Parquet)
        .unwrap();
    git(&s.work, &["add", "."]);
    git(&s.work, &["commit", "-q", "-m", "more data"]);
    git(&s.work, &["push", "-q", "origin", "main"]);
}

/// Regression: the model pull request did not carry its snapshot manifest, so after the
/// merge a fresh checkout (what every workflow run starts from) could not read the
/// champion's snapshot, and `check` and `run` failed ("snapshot ... is not in
/// .retrain/snapshots").
#[test]
fn after_the_merge_a_fresh_checkout_checks_and_retrains_against_the_champion() {
    let mut s = setup();
    run_and_merge(&s, &[]);
    more_data(&s, 3, "b");
    // what actions/checkout gives the next run: a clone of main, and nothing else
    let fresh = s.root.path().join("fresh");
    git(
        s.root.path(),
        &[
            "clone",
            "-q",
            s.origin.to_str().unwrap(),
            fresh.to_str().unwrap(),
        ],
    );
    s.git
        .configure_like_checkout(&fresh, "origin.git", crate::support::git_server::TOKEN);
    s.work = fresh;
    let check = json(&s, &["check", "--output", "json"]);
    let c = &check;
    assert_eq!(
        (c["reference_source"].as_str(), c["champion"].as_u64()),
        (Some("champion"), Some(1)),
        "{check}"
    );
    assert_eq!(c["new_rows"], 1000, "{check}");
    let v = run(&s, &["--force"]);
    assert_eq!(v["pull_request"]["operation"], "created", "{v}");
    // the new pull request carries its own snapshot's manifest, and v1's stays as it was
    let branch = v["pull_request"]["branch"].as_str().unwrap();
    git(&s.work, &["fetch", "-q", "origin", branch]);
    let changed = git(
        &s.work,
        &["diff", "--name-only", "origin/main", "FETCH_HEAD"],
    );
    let snapshot = v["snapshot"].as_str().unwrap();
    assert!(
        changed
            .lines()
            .any(|l| l == format!(".retrain/snapshots/{snapshot}.yaml")),
        "{changed}"
    );
    assert_eq!(
        changed
            .lines()
            .filter(|l| l.starts_with(".retrain/"))
            .count(),
        1,
        "{changed}"
    );
}

#[test]
fn promote_after_merge_tags_and_releases_exactly_once() {
    let s = setup();
    run_and_merge(&s, &[]);
    let head = git(&s.work, &["rev-parse", "HEAD"]);
    let v = json(&s, &["promote", "--output", "json"]);
    assert_eq!(v["status"], "promoted", "{v}");
    assert_eq!(v["version"], 1);
    assert_eq!(v["tag"], "model/churn/v1");
    assert_eq!(v["tag_operation"], "created");
    assert_eq!(v["release"]["operation"], "created");
    // the annotated tag on the remote points at the merge commit and names the artifact
    assert_eq!(
        git(&s.origin, &["rev-parse", "model/churn/v1^{commit}"]),
        head
    );
    let message = git(
        &s.origin,
        &["tag", "-l", "--format=%(contents)", "model/churn/v1"],
    );
    assert!(message.contains("artifact: blake3:"), "{message}");
    {
        let w = s.server.world.lock().unwrap();
        assert_eq!(w.releases.len(), 1);
        let r = &w.releases[0];
        assert_eq!((r.tag.as_str(), r.draft), ("model/churn/v1", false));
        assert!(
            r.body.contains("churn"),
            "the model card is the body: {}",
            r.body
        );
        assert!(
            !r.body.starts_with("---"),
            "no front matter in the release body"
        );
    }
    // Again: nothing new.
    let again = json(&s, &["promote", "--output", "json"]);
    assert_eq!(again["status"], "unchanged", "{again}");
    assert_eq!(again["tag_operation"], "unchanged");
    assert_eq!(again["release"]["operation"], "unchanged");
    assert_eq!(s.server.world.lock().unwrap().releases.len(), 1);
    // Text output says the same for people.
    let (code, text, _) = retrain(&s, &["promote"]);
    assert_eq!(code, 0);
    assert!(text.contains("churn: v1 already promoted"), "{text}");
    insta::assert_snapshot!("promote_text_unchanged", crate::contract::scrub(&text));
}

#[test]
fn promote_refuses_an_artifact_that_does_not_match_its_digest() {
    let s = setup();
    run_and_merge(&s, &[]);
    let artifact = s.work.join("models/churn/versions/1/model.json");
    let mut bytes = std::fs::read(&artifact).unwrap();
    bytes.extend_from_slice(b" ");
    std::fs::write(&artifact, bytes).unwrap();
    git(&s.work, &["commit", "-q", "-am", "tamper"]);
    let (code, out, err) = retrain(&s, &["promote"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("digest") && err.contains("nothing was tagged"),
        "{err}"
    );
    let tags = git(&s.origin, &["tag", "-l"]);
    assert!(tags.is_empty(), "no tag was pushed: {tags}");
    assert!(s.server.world.lock().unwrap().releases.is_empty());
}

#[test]
fn promote_refuses_an_onnx_model_that_does_not_match_its_digest() {
    let s = setup();
    run_and_merge(&s, &[]);
    let onnx = s.work.join("models/churn/versions/1/model.onnx");
    let mut bytes = std::fs::read(&onnx).unwrap();
    bytes.push(0);
    std::fs::write(&onnx, bytes).unwrap();
    git(
        &s.work,
        &["commit", "-q", "-am", "tamper with the ONNX model"],
    );
    let (code, out, err) = retrain(&s, &["promote"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("the ONNX model `versions/1/model.onnx` has digest")
            && err.contains("nothing was tagged"),
        "{err}"
    );
    assert!(git(&s.origin, &["tag", "-l"]).is_empty());
}

#[test]
fn promote_without_a_champion_does_nothing() {
    let s = setup();
    let v = json(&s, &["promote", "--output", "json"]);
    assert_eq!(v["status"], "no_champion", "{v}");
    assert!(git(&s.origin, &["tag", "-l"]).is_empty());
}

#[test]
fn rollback_opens_the_pull_request_and_promote_after_it_converges() {
    let s = setup();
    run_and_merge(&s, &[]);
    json(&s, &["promote", "--output", "json"]);
    more_data(&s, 3, "b");
    run_and_merge(&s, &["--force"]);
    let v2 = json(&s, &["promote", "--output", "json"]);
    assert_eq!(v2["version"], 2, "{v2}");

    // dry run: the pointer it would write
    let dry = json(&s, &["rollback", "churn", "--dry-run", "--output", "json"]);
    assert_eq!(
        (dry["from"].as_u64(), dry["to"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(dry["registry"]["champion"]["version"], 1);
    assert!(dry.get("pull_request").is_none());
    let (_, dry_text, _) = retrain(&s, &["rollback", "churn", "--dry-run"]);
    insta::assert_snapshot!("rollback_dry_run_text", crate::contract::scrub(&dry_text));

    let rb = json(
        &s,
        &[
            "rollback",
            "churn",
            "--reason",
            "v2 <b>misfires</b> @ops",
            "--output",
            "json",
        ],
    );
    let pr = &rb["pull_request"];
    assert_eq!(pr["operation"], "created", "{rb}");
    let branch = pr["branch"].as_str().unwrap().to_string();
    assert_eq!(branch, "retrain/churn/rollback-v1-from-v2");
    let pointer = git(
        &s.origin,
        &["show", &format!("{branch}:models/churn/registry.yaml")],
    );
    let pointer: serde_yaml::Value = serde_yaml::from_str(&pointer).unwrap();
    assert_eq!(pointer["champion"]["version"].as_u64(), Some(1));
    let history: Vec<u64> = pointer["history"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect();
    assert_eq!(history, [1, 2], "append-only history");
    let number = pr["number"].as_u64().unwrap();
    {
        let w = s.server.world.lock().unwrap();
        let p = w.prs.iter().find(|p| p.number == number).unwrap();
        assert!(
            p.body.starts_with("<!-- retrain:{\"kind\":\"rollback\""),
            "{}",
            p.body
        );
        assert!(p.labels.contains(&"rollback".to_string()));
        assert!(
            !p.body.contains("<b>") && !p.body.contains("@ops"),
            "reason escaped: {}",
            p.body
        );
    }
    // the same rollback again changes nothing
    let again = json(&s, &["rollback", "churn", "--output", "json"]);
    assert_eq!(again["pull_request"]["operation"], "updated", "{again}");
    let again = json(&s, &["rollback", "churn", "--output", "json"]);
    assert_eq!(again["pull_request"]["operation"], "unchanged", "{again}");
    let (_, text, _) = retrain(&s, &["rollback", "churn"]);
    insta::assert_snapshot!("rollback_text_unchanged", crate::contract::scrub(&text));

    // merged: promote finds v1's tag in place (on the older commit) and changes nothing
    merge(&s, &branch, number);
    let p = json(&s, &["promote", "--output", "json"]);
    assert_eq!(p["version"], 1, "{p}");
    assert_eq!(p["status"], "unchanged", "{p}");
    assert_eq!(s.server.world.lock().unwrap().releases.len(), 2);

    // errors name the version and what exists
    let (code, _, err) = retrain(&s, &["rollback", "churn", "--to", "9", "--dry-run"]);
    assert_eq!(code, 2);
    assert!(err.contains("v9 is not in the history"), "{err}");
}

#[test]
fn store_release_keeps_the_artifact_in_a_draft_until_promotion() {
    let s = setup();
    let cfg = std::fs::read_to_string(s.work.join("retrain.yaml"))
        .unwrap()
        .replace(
            "    pull_request:",
            "    registry: { artifacts: release }\n    pull_request:",
        );
    std::fs::write(s.work.join("retrain.yaml"), cfg).unwrap();
    git(
        &s.work,
        &["commit", "-q", "-am", "artifacts as release assets"],
    );
    git(&s.work, &["push", "-q", "origin", "main"]);
    let v = run(&s, &[]);
    let branch = v["pull_request"]["branch"].as_str().unwrap().to_string();
    // not in git, but in a draft release of v1, labelled with its digest
    let files = git(&s.origin, &["ls-tree", "-r", "--name-only", &branch]);
    assert!(!files.contains("model.json"), "{files}");
    assert!(files.contains("models/churn/versions/1/MODEL_CARD.md"));
    let pointer: serde_yaml::Value = serde_yaml::from_str(&git(
        &s.origin,
        &["show", &format!("{branch}:models/churn/registry.yaml")],
    ))
    .unwrap();
    let digest = pointer["champion"]["artifact"]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    {
        let w = s.server.world.lock().unwrap();
        assert_eq!(w.releases.len(), 1);
        let r = &w.releases[0];
        assert!(r.draft);
        assert_eq!(r.tag, "model/churn/v1");
        assert_eq!(
            r.target.as_deref(),
            Some(git(&s.origin, &["rev-parse", &branch]).as_str())
        );
        // model.json and model.onnx, each labelled with its own digest
        assert_eq!(r.assets.len(), 2);
        assert_eq!(r.assets[0].1, digest);
        let bytes = &r.assets[0].2;
        assert_eq!(format!("blake3:{}", blake3::hash(bytes).to_hex()), digest);
        let onnx = &pointer["champion"]["onnx"];
        assert_eq!(
            onnx["uri"].as_str(),
            Some("release:model/churn/v1/model.onnx"),
            "{pointer:?}"
        );
        assert_eq!(onnx["digest"].as_str(), Some(r.assets[1].1.as_str()));
        assert_eq!(
            format!("blake3:{}", blake3::hash(&r.assets[1].2).to_hex()),
            r.assets[1].1
        );
        assert_eq!(onnx["size"].as_u64(), Some(r.assets[1].2.len() as u64));
    }
    // a re-run does not upload them twice
    run(&s, &["--force"]);
    assert_eq!(s.server.world.lock().unwrap().releases[0].assets.len(), 2);
    merge(&s, &branch, v["pull_request"]["number"].as_u64().unwrap());
    let p = json(&s, &["promote", "--output", "json"]);
    assert_eq!(p["release"]["operation"], "published", "{p}");
    assert_eq!(p["tag_operation"], "created");
    {
        let w = s.server.world.lock().unwrap();
        assert_eq!(w.releases.len(), 1);
        assert!(!w.releases[0].draft);
        assert!(w.releases[0].body.contains("churn"));
    }

    // The next run reads the champion back from its release to score it on the new
    // holdout: downloaded once, cached outside git, digest checked. (That the
    // redirect to storage drops the token is tested in github.rs: prism follows
    // redirects itself.)
    more_data(&s, 5, "b");
    let v2 = run(&s, &["--force"]);
    let champion = &v2["evaluation"]["champion"];
    assert!(
        champion["accuracy"].is_object() || champion["accuracy"].is_number(),
        "the champion was not scored: {v2}"
    );
    let cached = s
        .work
        .join(".retrain/cache/artifacts")
        .join(format!("{}.json", digest.trim_start_matches("blake3:")));
    assert!(cached.is_file());
    assert_eq!(
        std::fs::read_to_string(s.work.join(".retrain/cache/.gitignore")).unwrap(),
        "*\n"
    );
    assert_eq!(
        git(&s.work, &["status", "--porcelain", "--", ".retrain/cache"]),
        ""
    );
    {
        let w = s.server.world.lock().unwrap();
        let downloads: Vec<&(String, String)> = w
            .authorizations
            .iter()
            .filter(|(p, _)| p.starts_with("/storage/"))
            .collect();
        assert_eq!(downloads.len(), 1, "{:?}", w.authorizations);
    }
    // a replaced asset is refused, not scored
    std::fs::remove_file(&cached).unwrap();
    s.server.world.lock().unwrap().releases[0].assets[0].2 = b"{}".to_vec();
    let (code, out, err) = retrain(&s, &["run", "--force", "--dry-run"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("it was replaced"), "{err}");
    assert!(!cached.exists());
}

/// Sets `registry.artifacts: dir:<store>` and commits it to `main`.
fn use_dir_store(s: &Setup, store: &std::path::Path) {
    let config = s.work.join("retrain.yaml");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "    pull_request:",
        &format!(
            "    registry: {{ artifacts: \"dir:{}\" }}\n    pull_request:",
            store.display()
        ),
    );
    std::fs::write(&config, text).unwrap();
    crate::publish::commit_and_push(s, "artifacts on a shared disk");
}

/// Regression (D3): with `artifacts: dir:<path>` the registry pointer named
/// `<path>/<m>/<v>/model.json` but nothing was written there, so `promote` and
/// `predict` failed after the merge with "cannot read the artifact".
#[test]
fn store_dir_writes_the_artifact_that_promote_then_verifies() {
    let s = setup();
    let store = s.root.path().join("model-store");
    use_dir_store(&s, &store);
    run_and_merge(&s, &[]);
    let artifact = store.join("churn/1/model.json");
    let bytes = std::fs::read(&artifact).expect("the artifact is written to the store");
    let pointer = std::fs::read_to_string(s.work.join("models/churn/registry.yaml")).unwrap();
    let digest = format!("blake3:{}", blake3::hash(&bytes).to_hex());
    assert!(pointer.contains(&digest), "{pointer}");
    assert!(
        git(&s.work, &["ls-files", "models/churn/versions/1"])
            .lines()
            .all(|f| !f.ends_with("model.json")),
        "store dir keeps the model out of git"
    );
    // model.onnx beside it, in the pointer with its digest; no temporary file is left
    let mut names: Vec<String> = std::fs::read_dir(artifact.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["model.json", "model.onnx"]);
    let onnx = store.join("churn/1/model.onnx");
    let onnx_digest = format!(
        "blake3:{}",
        blake3::hash(&std::fs::read(&onnx).unwrap()).to_hex()
    );
    assert!(pointer.contains(&onnx_digest), "{pointer}");
    assert!(
        pointer.contains(&format!("dir:{}", onnx.display())),
        "{pointer}"
    );
    let v = json(&s, &["promote", "--output", "json"]);
    assert_eq!(v["status"], "promoted", "{v}");
    let data = crate::publish::first_data_file(&s);
    let data = data.to_str().unwrap();
    let registry = s.work.join("models/churn/registry.yaml");
    let scores = s.root.path().join("scores.csv");
    let predict = [
        "--output",
        scores.to_str().unwrap(),
        "predict",
        "--model",
        registry.to_str().unwrap(),
        "--input",
        data,
    ];
    let (code, _, err) = retrain(&s, &predict);
    assert_eq!(code, 0, "{err}");
    // a replaced artifact is refused, never served
    std::fs::write(&artifact, b"{}").unwrap();
    let (code, _, err) = retrain(&s, &predict);
    assert_ne!(code, 0);
    assert!(err.contains("digest"), "{err}");
    // and a replaced model.onnx is refused by promote, naming it
    std::fs::write(&artifact, &bytes).unwrap();
    std::fs::write(&onnx, b"not onnx").unwrap();
    let (code, _, err) = retrain(&s, &["promote"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("the ONNX model") && err.contains("model.onnx") && err.contains("digest"),
        "{err}"
    );
}

/// The store `dir:` cannot be written (here: its path runs through a file): the run
/// fails before the pointer is pushed, and nothing is left half-written.
#[test]
fn store_dir_that_cannot_be_written_fails_before_anything_is_pushed() {
    let s = setup();
    let blocker = s.root.path().join("not-a-dir");
    std::fs::write(&blocker, "a file where the store should be").unwrap();
    use_dir_store(&s, &blocker.join("store"));
    let (code, _, err) = retrain(
        &s,
        &["run", "--output", "json", "--now", "2025-06-01T00:00:00Z"],
    );
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("cannot write the artifact"), "{err}");
    assert!(err.contains("nothing was pushed"), "{err}");
    assert!(git(&s.origin, &["branch", "--list", "retrain/*"]).is_empty());
    assert!(s.server.world.lock().unwrap().prs.is_empty());
}

/// Disk full while the artifact is written (store `dir:` on a filesystem with no space
/// left: a full tmpfs in a private mount namespace, `unshare -rm`): the run fails with
/// the write error before the pointer is pushed, and leaves no temporary file.
#[test]
fn store_dir_on_a_full_disk_fails_before_anything_is_pushed() {
    let s = setup();
    let store = s.root.path().join("full");
    std::fs::create_dir_all(&store).unwrap();
    use_dir_store(&s, &store.join("store"));
    let script = r#"mount -t tmpfs -o size=4k tmpfs "$1" && head -c 4096 /dev/zero > "$1/filler" 2>/dev/null; d=$1; shift; "$@"; code=$?; find "$d" -type f > "$d.left"; exit $code"#;
    let out = crate::publish::as_workflow(&mut Command::new("unshare"), &s)
        .args(["-rm", "sh", "-c", script, "sh"])
        .arg(&store)
        .arg(env!("CARGO_BIN_EXE_retrain"))
        .arg("--repo")
        .arg(&s.work)
        .args(["run", "--output", "json", "--now", "2025-06-01T00:00:00Z"])
        .output()
        .expect("unshare (util-linux) runs: user and mount namespaces are needed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("cannot write the artifact") && stderr.contains("No space left on device"),
        "{stderr}"
    );
    assert!(git(&s.origin, &["branch", "--list", "retrain/*"]).is_empty());
    assert!(s.server.world.lock().unwrap().prs.is_empty());
    // on the full disk: the filler only, no half-written artifact or temporary file
    let left = std::fs::read_to_string(store.with_extension("left")).unwrap();
    let files: Vec<&str> = left.lines().collect();
    assert!(files.len() == 1 && files[0].ends_with("/filler"), "{left}");
}

/// Store `s3://…` (a real S3 API, `support::s3`): `run` puts `model.json` and
/// `model.onnx` under keys named by their digests before the pointer is pushed (and
/// not again on a re-run); `promote` downloads and verifies them; the next run scores the
/// champion from a verified local copy; a replaced object is refused, nothing tagged.
#[test]
fn store_s3_keeps_the_artifacts_under_their_digests() {
    use crate::support::s3::S3Server;
    let s = setup();
    let s3 = S3Server::start(s.root.path(), serde_json::json!([["bucket", "models"]]));
    let env = s3.env();
    let envs: Vec<(&str, &str)> = env
        .iter()
        .filter(|(k, _)| *k != "SSL_CERT_FILE")
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    let with_s3 = |args: &[&str]| {
        let out = crate::publish::as_workflow(&mut Command::new(env!("CARGO_BIN_EXE_retrain")), &s)
            .arg("--repo")
            .arg(&s.work)
            .args(args)
            .envs(envs.iter().copied())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!stderr.contains(&s3.secret), "the secret was printed");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr,
        )
    };
    let config = s.work.join("retrain.yaml");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "    pull_request:",
        "    registry: { artifacts: \"s3://models/registry\" }\n    pull_request:",
    );
    std::fs::write(&config, text).unwrap();
    crate::publish::commit_and_push(&s, "artifacts in S3");
    s3.take_requests();
    let run_args = ["run", "--output", "json", "--now", "2025-06-01T00:00:00Z"];
    let (code, out, err) = with_s3(&run_args);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let branch = v["pull_request"]["branch"].as_str().unwrap().to_string();
    let pointer: serde_yaml::Value = serde_yaml::from_str(&git(
        &s.origin,
        &["show", &format!("{branch}:models/churn/registry.yaml")],
    ))
    .unwrap();
    let champion = &pointer["champion"];
    let hex = |d: &serde_yaml::Value| {
        d.as_str()
            .unwrap()
            .trim_start_matches("blake3:")
            .to_string()
    };
    let (json_hex, onnx_hex) = (
        hex(&champion["artifact"]["digest"]),
        hex(&champion["onnx"]["digest"]),
    );
    assert_eq!(
        champion["artifact"]["uri"].as_str().unwrap(),
        format!("s3://models/registry/churn/{json_hex}/model.json")
    );
    assert_eq!(
        champion["onnx"]["uri"].as_str().unwrap(),
        format!("s3://models/registry/churn/{onnx_hex}/model.onnx")
    );
    let files = git(&s.origin, &["ls-tree", "-r", "--name-only", &branch]);
    assert!(
        !files.contains("model.json") && !files.contains("model.onnx"),
        "{files}"
    );
    let puts: Vec<String> = s3
        .take_requests()
        .into_iter()
        .filter(|r| r.starts_with("PUT "))
        .collect();
    assert_eq!(
        puts,
        [
            format!("PUT /models/registry/churn/{json_hex}/model.json?"),
            format!("PUT /models/registry/churn/{onnx_hex}/model.onnx?")
        ]
    );
    // a re-run finds them there and puts nothing
    let (code, _, err) = with_s3(&[&run_args[..], &["--force"]].concat());
    assert_eq!(code, 0, "{err}");
    assert!(
        !s3.take_requests().iter().any(|r| r.starts_with("PUT ")),
        "uploaded twice"
    );
    merge(&s, &branch, v["pull_request"]["number"].as_u64().unwrap());
    let (code, out, err) = with_s3(&["promote", "--output", "json"]);
    assert_eq!(code, 0, "{err}");
    let p: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(p["status"], "promoted", "{p}");

    // the next run scores the champion from a verified local copy
    more_data(&s, 5, "b");
    let (code, out, err) = with_s3(&[&run_args[..], &["--force", "--dry-run"]].concat());
    assert_eq!(code, 0, "{err}");
    let v2: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        v2["evaluation"]["champion"]["accuracy"].is_object()
            || v2["evaluation"]["champion"]["accuracy"].is_number(),
        "the champion was not scored: {v2}"
    );
    assert!(s
        .work
        .join(format!(".retrain/cache/artifacts/{json_hex}.json"))
        .is_file());

    // a replaced object is refused by promote
    let forged = s.root.path().join("forged.json");
    std::fs::write(&forged, b"{}").unwrap();
    s3.admin(serde_json::json!([[
        "put",
        "models",
        format!("registry/churn/{json_hex}/model.json"),
        forged.to_str().unwrap()
    ]]));
    let (code, _, err) = with_s3(&["promote"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("digest") && err.contains("nothing was tagged"),
        "{err}"
    );
}

/// `registry.mlflow` on a real MLflow server (`support::mlflow`, basic auth): promote
/// creates the registered model, version 1 (tagged with the digest) and the alias; again,
/// nothing; v2 becomes MLflow version 2 with the alias; a merged rollback moves the alias
/// back without a new version; a wrong password (401) and an unreachable server fail
/// promote with what to do, after the tag step, and a re-run converges.
#[test]
fn promote_mirrors_the_champion_into_mlflow_and_a_rollback_moves_the_alias() {
    use crate::support::mlflow::{MlflowServer, PASSWORD, USER};
    let s = setup();
    let server = MlflowServer::start(s.root.path());
    let config = s.work.join("retrain.yaml");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "    pull_request:",
        &format!(
            "    registry: {{ mlflow: {{ tracking_uri: \"{}\", model_name: churn-model }} }}\n    pull_request:",
            server.uri
        ),
    );
    std::fs::write(&config, text).unwrap();
    crate::publish::commit_and_push(&s, "mirror into MLflow");
    let promote = |password: &str| {
        let out = crate::publish::as_workflow(&mut Command::new(env!("CARGO_BIN_EXE_retrain")), &s)
            .arg("--repo")
            .arg(&s.work)
            .args(["promote", "--output", "json"])
            .env("MLFLOW_TRACKING_USERNAME", USER)
            .env("MLFLOW_TRACKING_PASSWORD", password)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !stdout.contains(password) && !stderr.contains(password),
            "the password was printed: {stdout}{stderr}"
        );
        (out.status.code().unwrap_or(-1), stdout, stderr)
    };
    let ok = |password: &str| {
        let (code, out, err) = promote(password);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str::<serde_json::Value>(&out).unwrap()
    };
    run_and_merge(&s, &[]);
    // a wrong password: a 401, after the tag is in place
    let (code, _, err) = promote("not-the-password");
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("refused the credentials (401)"), "{err}");
    assert!(err.contains("run `retrain promote` again"), "{err}");
    assert!(git(&s.origin, &["tag", "-l", "model/churn/v1"]).contains("model/churn/v1"));
    // then the right one: converges
    let p = ok(PASSWORD);
    assert_eq!(p["mlflow"]["operation"], "created", "{p}");
    assert_eq!(p["mlflow"]["version"], "1");
    assert_eq!(p["mlflow"]["alias"], "champion");
    assert!(p["mlflow"]["url"]
        .as_str()
        .unwrap()
        .ends_with("/#/models/churn-model/versions/1"));
    let m = server.read("churn-model", "champion");
    assert_eq!(m["alias"], "1", "{m}");
    let v1 = &m["versions"][0];
    let digest = git(&s.work, &["show", "HEAD:models/churn/registry.yaml"]);
    assert!(
        digest.contains(v1["tags"]["retrain.digest"].as_str().unwrap()),
        "{m}"
    );
    assert_eq!(
        v1["source"].as_str().unwrap(),
        "git:/model/churn/v1/models/churn/versions/1/model.json"
    );
    assert!(v1["tags"]["metric.accuracy"].as_str().is_some(), "{m}");
    // again: nothing
    let again = ok(PASSWORD);
    assert_eq!(again["mlflow"]["operation"], "unchanged", "{again}");
    assert_eq!(again["status"], "unchanged", "{again}");
    let text = crate::publish::as_workflow(&mut Command::new(env!("CARGO_BIN_EXE_retrain")), &s)
        .arg("--repo")
        .arg(&s.work)
        .arg("promote")
        .env("MLFLOW_TRACKING_USERNAME", USER)
        .env("MLFLOW_TRACKING_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("MLflow: churn-model version 1 carries `champion` (unchanged): http://"),
        "{text}"
    );
    assert_eq!(
        server.read("churn-model", "champion")["versions"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // v2
    more_data(&s, 3, "b");
    run_and_merge(&s, &["--force"]);
    let p2 = ok(PASSWORD);
    assert_eq!(p2["version"], 2, "{p2}");
    assert_eq!(p2["mlflow"]["version"], "2", "{p2}");
    assert_eq!(server.read("churn-model", "champion")["alias"], "2");
    // a merged rollback to v1 moves the alias back; no new version
    let rb = json(&s, &["rollback", "churn", "--output", "json"]);
    let pr = &rb["pull_request"];
    merge(
        &s,
        pr["branch"].as_str().unwrap(),
        pr["number"].as_u64().unwrap(),
    );
    let back = ok(PASSWORD);
    assert_eq!(back["version"], 1, "{back}");
    assert_eq!(back["mlflow"]["operation"], "alias_moved", "{back}");
    assert_eq!(back["mlflow"]["version"], "1", "{back}");
    let m = server.read("churn-model", "champion");
    assert_eq!(m["alias"], "1", "{m}");
    assert_eq!(m["versions"].as_array().unwrap().len(), 2, "{m}");
    // the server gone: a clear failure, nothing else changes
    drop(server);
    let (code, _, err) = promote(PASSWORD);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("cannot be reached"), "{err}");
}
