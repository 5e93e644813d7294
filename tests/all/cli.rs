use crate::support::*;

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

/// The README's first command, `retrain --repo examples/elec run --dry-run`, on a copy
/// of the whole example: the pipeline runs to a blessed candidate.
#[test]
fn the_readmes_first_command_runs_on_the_bundled_example() {
    let example = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/elec"));
    let repo = Repo::new();
    repo.write(
        "retrain.yaml",
        std::fs::read(example.join("retrain.yaml")).unwrap(),
    );
    let mut files = 0;
    for entry in std::fs::read_dir(example.join("data")).unwrap() {
        let entry = entry.unwrap();
        repo.write(
            &format!("data/{}", entry.file_name().to_string_lossy()),
            std::fs::read(entry.path()).unwrap(),
        );
        files += 1;
    }
    assert!(files > 100, "{files} partitions");
    let run = repo.run(&["--output", "json", "run", "--dry-run"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = run.json();
    assert_eq!(v["decision"]["retrain"], true, "{v}");
    assert_eq!(v["gate"]["blessed"], true, "{v}");
    assert!(v["pull_request"].is_null(), "{v}");
}
