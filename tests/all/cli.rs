use crate::support::*;
use retrain::data::synth::OutputFormat;

#[test]
fn help_lists_every_command_with_one_line() {
    let repo = Repo::new();
    let run = repo.run(&["--help"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for cmd in ["snapshot", "schema"] {
        assert!(
            run.stdout.lines().any(|l| l.trim_start().starts_with(cmd)),
            "`{cmd}` missing from help:\n{}",
            run.stdout
        );
    }
    assert!(run.stdout.contains("Exit codes"));
}

#[test]
fn unknown_subcommand_is_a_usage_error() {
    let run = Repo::new().run(&["frobnicate"]);
    assert_eq!(run.code, 2);
}

#[test]
fn committed_schema_is_up_to_date() {
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schema/retrain.schema.json"
    ))
    .expect("schema/retrain.schema.json is committed");
    let current = retrain::config::json_schema();
    assert!(
        committed == current,
        "schema/retrain.schema.json is stale: run `cargo run -- schema > schema/retrain.schema.json`"
    );
    // and the command prints the same
    let run = Repo::new().run(&["schema"]);
    assert_eq!(run.stdout, current);
    let value: serde_json::Value = serde_json::from_str(&current).unwrap();
    assert_eq!(value["title"], "retrain.yaml");
    // the reference page is generated from it
    let page = Repo::new().run(&["schema", "--markdown"]).stdout;
    assert!(page.contains("## Triggers\n"), "{page}");
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/retrain-yaml.md"))
            .unwrap_or_default();
    assert!(
        docs == page,
        "docs/retrain-yaml.md is stale: run `cargo run -- schema --markdown > docs/retrain-yaml.md`"
    );
}

#[test]
fn reference_example_from_design_parses() {
    // DESIGN.md §5, verbatim: the user-facing contract.
    let text = include_str!("reference.yaml");
    let config = retrain::config::parse(std::path::Path::new("retrain.yaml"), text)
        .expect("reference parses");
    let m = &config.models[0];
    assert_eq!(m.name.as_str(), "elec");
    assert_eq!(m.triggers.schedule.unwrap().as_secs(), 7 * 86_400);
    assert_eq!(m.evaluation.gates.len(), 2);
    assert_eq!(m.registry.path, "models/elec");
}

#[test]
fn bundled_example_snapshots() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/elec");
    let config = retrain::config::load(&std::path::Path::new(example).join("retrain.yaml"))
        .expect("example config");
    assert_eq!(config.models.len(), 1);
    // Copy the example so the test never writes into the source tree.
    let repo = Repo::new();
    repo.write(
        "retrain.yaml",
        std::fs::read(format!("{example}/retrain.yaml")).unwrap(),
    );
    for entry in std::fs::read_dir(format!("{example}/data"))
        .unwrap()
        .take(8)
    {
        let entry = entry.unwrap();
        repo.write(
            &format!("data/{}", entry.file_name().to_string_lossy()),
            std::fs::read(entry.path()).unwrap(),
        );
    }
    let run = repo.run(&["snapshot", "--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["rows"], 8 * 336);
}

/// Copies the example (config, data, champion, the champion's manifest, the script
/// that makes it) so that tests never write into the source tree.
pub(crate) fn copy_example(with_champion: bool) -> Repo {
    let example = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/elec"));
    let repo = Repo::new();
    let mut files = vec!["retrain.yaml".to_string(), "make-champion.sh".to_string()];
    let dirs: &[&str] = if with_champion {
        &["data", "models/elec/versions/1"]
    } else {
        &["data"]
    };
    for dir in dirs {
        for entry in std::fs::read_dir(example.join(dir)).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            files.push(format!("{dir}/{name}"));
        }
    }
    if with_champion {
        files.push("models/elec/registry.yaml".into());
        // the champion's manifest only (a local run of the example leaves others)
        let pointer = std::fs::read_to_string(example.join("models/elec/registry.yaml")).unwrap();
        let id = pointer
            .lines()
            .find_map(|l| l.trim().strip_prefix("snapshot: "))
            .expect("the champion's snapshot");
        files.push(format!(".retrain/snapshots/{id}.yaml"));
    }
    for f in &files {
        repo.write(f, std::fs::read(example.join(f)).unwrap());
    }
    repo
}

/// The README's first command, `retrain --repo examples/elec run --dry-run`, on a copy
/// of the whole example: against the committed champion (v1, trained on weeks 0–99)
/// it shows the whole loop on the later 34 weeks — new rows, drift against the
/// champion's snapshot, the champion scored on the new labels, the triggers, both
/// models on the same holdout, the gate.
#[test]
fn the_readmes_first_command_shows_the_whole_loop_on_the_bundled_example() {
    let repo = copy_example(true);
    let run = repo.run(&["--output", "json", "run", "--dry-run"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = run.json();
    let text = v.to_string();
    assert_eq!(v["decision"]["retrain"], true, "{v}");
    assert_eq!(v["gate"]["blessed"], true, "{v}");
    assert!(v["pull_request"].is_null(), "{v}");
    // the champion is there, and the 34 later weeks are new
    assert!(text.contains("\"new_rows\":11424"), "{text}");
    for fired in ["schedule", "new_data", "drift", "performance"] {
        let reasons = v["decision"]["reasons"].to_string();
        assert!(reasons.contains(fired), "{fired} did not fire: {reasons}");
    }
    // both models on the same holdout: the drifted champion loses
    let e = &v["evaluation"];
    assert!(e["champion"]["accuracy"].as_f64().unwrap() < 0.6, "{e}");
    assert!(e["candidate"]["accuracy"].as_f64().unwrap() > 0.75, "{e}");
    // the dry run shows the pull request it would open (issue 14: the proposal as a value)
    assert_eq!(v["proposal"]["title"], "retrain: elec v2", "{v}");
    assert_eq!(v["proposal"]["draft"], false);
    let branch = v["proposal"]["branch"].as_str().unwrap();
    assert!(
        branch.starts_with("retrain/elec/") && branch.len() == 25,
        "{branch}"
    );
    // the columns that really moved are flagged, the time of day is not
    let human = repo.run(&["run", "--dry-run"]).stdout;
    assert!(
        human.contains(&format!(
            "proposal: `retrain: elec v2` on branch `{branch}`"
        )),
        "{human}"
    );
    for (column, drifted) in [
        ("period", "no"),
        ("nswprice", "YES"),
        ("nswdemand", "YES"),
        ("vicdemand", "YES"),
        ("transfer", "YES"),
    ] {
        let line = human
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{column} ")))
            .unwrap_or_else(|| panic!("no drift row for {column}: {human}"));
        assert!(line.trim_end().ends_with(drifted), "{line}");
    }
}

/// The first run of a repository without a champion: the first model is trained and
/// its change conditions are waived.
#[test]
fn without_a_champion_the_first_model_is_proposed() {
    let repo = copy_example(false);
    let run = repo.run(&["--output", "json", "run", "--dry-run"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = run.json();
    assert_eq!(v["decision"]["retrain"], true, "{v}");
    assert_eq!(v["gate"]["blessed"], true, "{v}");
}

/// `make-champion.sh`, the documented command, re-creates the committed champion and
/// its snapshot manifest byte for byte.
#[test]
fn the_example_champion_is_recreated_byte_for_byte() {
    let committed = copy_example(true);
    let fresh = copy_example(false);
    let out = std::process::Command::new("bash")
        .arg(fresh.path().join("make-champion.sh"))
        .env("RETRAIN", env!("CARGO_BIN_EXE_retrain"))
        .env_remove("RETRAIN_LOG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut compared = 0;
    for dir in [
        "models/elec",
        "models/elec/versions/1",
        ".retrain/snapshots",
    ] {
        for entry in std::fs::read_dir(committed.path().join(dir)).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                continue;
            }
            let rel = format!("{dir}/{}", entry.file_name().to_string_lossy());
            let made = std::fs::read(fresh.path().join(&rel))
                .unwrap_or_else(|e| panic!("{rel} was not made: {e}"));
            assert!(
                made == std::fs::read(entry.path()).unwrap(),
                "{rel} differs: run examples/elec/make-champion.sh"
            );
            compared += 1;
        }
    }
    assert_eq!(
        compared, 6,
        "registry.yaml, model.json, model.onnx, metrics.json, MODEL_CARD.md, the manifest"
    );
}

/// The README links a rendered pull-request body of the example (`docs/example-pr-body.md`):
/// it is exactly what `run --dry-run` renders today. Regenerate it with
/// `SOURCE_DATE_EPOCH=1780272000 cargo run -- --repo examples/elec run --dry-run --now
/// 2026-12-01T00:00:00Z` and copy `examples/elec/.retrain/proposal/elec/PR_BODY.md`.
#[test]
fn the_committed_example_pr_body_is_what_a_dry_run_renders() {
    let repo = copy_example(true);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_retrain"))
        .arg("--repo")
        .arg(repo.path())
        .args(["run", "--dry-run", "--now", "2026-12-01T00:00:00Z"])
        .env("SOURCE_DATE_EPOCH", "1780272000")
        .env_remove("GITHUB_ACTIONS")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // the dry run says where the rendered documents are
    let body_path = repo.path().join(".retrain/proposal/elec/PR_BODY.md");
    assert!(
        stdout.contains(&format!(
            "elec: the pull request's body: {}",
            body_path.display()
        )),
        "{stdout}"
    );
    assert!(stdout.contains("elec: the model card: "), "{stdout}");
    let rendered = std::fs::read_to_string(&body_path).unwrap();
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/example-pr-body.md"
    ))
    .unwrap_or_default();
    assert!(
        rendered == committed,
        "docs/example-pr-body.md is stale: regenerate it (see this test's comment)\n{rendered}"
    );
    // the chart's axis stays within what accuracy can be
    let axis = rendered
        .lines()
        .find(|l| l.trim_start().starts_with("y-axis"))
        .expect("a chart");
    let high: f64 = axis.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(high <= 1.0, "{axis}");
}

/// `retrain job` (the webhook bot's child process): a request as JSON on stdin, the
/// reply as JSON on stdout, for a success and for each kind of failure; nothing needs
/// reading from stderr.
#[test]
fn the_bots_job_speaks_json_both_ways() {
    let repo = Repo::new();
    repo.generate(&small_spec(400), "data", 1, OutputFormat::Csv);
    repo.config(&basic_config("data/*.csv"));
    let job = |stdin: &str| {
        use std::io::Write;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_retrain"))
            .arg("job")
            .env_remove("GITHUB_TOKEN")
            .env_remove("GITHUB_ACTIONS")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start retrain job");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let reply: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "no JSON reply ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        });
        (out.status.code(), reply)
    };
    let check = serde_json::json!({
        "repo": repo.path(),
        "command": {
            "name": "check", "model": null, "reference": null, "force": false,
            "exit_code": false, "now": null,
            "github": { "repository": null, "api_url": "https://api.github.com", "remote": "origin" }
        }
    })
    .to_string();
    let (code, reply) = job(&check);
    assert_eq!(code, Some(0), "{reply}");
    assert_eq!(reply["done"]["output"]["model"], "m", "{reply}");
    assert_eq!(reply["done"]["comments"], serde_json::json!([]), "{reply}");

    // a config error: exit 2 in the reply (the bot does not retry it), naming the file
    repo.write(
        "retrain.yaml",
        "version: 1\nmodels:\n  - name: m\n    tsk: classification\n",
    );
    let (code, reply) = job(&check);
    assert_eq!(code, Some(2), "{reply}");
    assert_eq!(reply["failed"]["exit_code"], 2, "{reply}");
    let message = reply["failed"]["message"].as_str().unwrap();
    assert!(message.contains("retrain.yaml"), "{message}");

    // not a request at all: a usage error that says so
    let (code, reply) = job("{\"command\": \"rm -rf\"}");
    assert_eq!(code, Some(2), "{reply}");
    let message = reply["failed"]["message"].as_str().unwrap();
    assert!(message.contains("not a retrain request"), "{message}");
}
