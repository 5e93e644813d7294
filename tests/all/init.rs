//! `retrain init`: guesses from real files, a config that validates and runs, workflows
//! that lint, and nothing overwritten without --force.

use retrain::config::Task;
use retrain::data::synth::{OutputFormat, Spec};

use crate::support::Repo;

const FILES: [&str; 3] = [
    "retrain.yaml",
    ".github/workflows/retrain.yml",
    ".github/workflows/retrain-promote.yml",
];

#[test]
fn init_guesses_target_and_time_writes_a_config_that_runs() {
    let repo = Repo::new();
    repo.generate(
        &Spec {
            rows: 1500,
            ..Spec::default()
        },
        "data",
        3,
        OutputFormat::Parquet,
    );
    let r = repo.run(&["init", "--output", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["target"], "label");
    assert_eq!(v["target_guessed"], true);
    assert_eq!(v["time_column"], "ts");
    assert_eq!(v["task"], "classification");
    assert_eq!(v["data"], "data/*.parquet", "partitions become a glob");
    for f in FILES {
        assert!(repo.path().join(f).is_file(), "{f}");
    }
    let yaml = std::fs::read_to_string(repo.path().join("retrain.yaml")).unwrap();
    assert!(yaml.contains("target: label   # guessed"), "{yaml}");
    assert!(yaml.contains("time_column: ts   # guessed"), "{yaml}");
    assert!(
        yaml.contains("roc_auc"),
        "binary: ROC AUC among the metrics"
    );
    let wf = std::fs::read_to_string(repo.path().join(".github/workflows/retrain.yml")).unwrap();
    assert!(
        wf.contains("\"data/*.parquet\""),
        "push paths follow the data: {wf}"
    );
    assert!(wf.contains("workflow_dispatch:") && wf.contains("concurrency:"));
    // the written config is what `run` reads
    let run = repo.run(&["run", "--dry-run", "--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["outcome"], "trained", "{}", run.stdout);
}

#[test]
fn init_never_overwrites_without_force() {
    let repo = Repo::new();
    repo.generate(
        &Spec {
            rows: 300,
            ..Spec::default()
        },
        "data",
        1,
        OutputFormat::Csv,
    );
    repo.write(".github/workflows/retrain.yml", "# mine\n");
    let r = repo.run(&["init"]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(
        r.stderr.contains("`.github/workflows/retrain.yml`") && r.stderr.contains("--force"),
        "{}",
        r.stderr
    );
    assert!(
        !repo.path().join("retrain.yaml").exists(),
        "nothing was written"
    );
    assert_eq!(
        std::fs::read_to_string(repo.path().join(".github/workflows/retrain.yml")).unwrap(),
        "# mine\n"
    );
    let r = repo.run(&[
        "init",
        "--force",
        "--target",
        "label",
        "--time-column",
        "ts",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("overwritten .github/workflows/retrain.yml"),
        "{}",
        r.stdout
    );
    let yaml = std::fs::read_to_string(repo.path().join("retrain.yaml")).unwrap();
    assert!(
        yaml.contains("target: label\n"),
        "confirmed by flag: no 'guessed' note"
    );
    assert!(
        yaml.contains("path: data/part.csv"),
        "one file: its path: {yaml}"
    );
}

#[test]
fn init_detects_regression_and_names_bad_columns() {
    let repo = Repo::new();
    repo.generate(
        &Spec {
            rows: 400,
            task: Task::Regression,
            ..Spec::default()
        },
        "data",
        1,
        OutputFormat::Parquet,
    );
    let r = repo.run(&["init", "--target", "yy"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("`yy` is not a column") && r.stderr.contains("did you mean `y`"),
        "{}",
        r.stderr
    );
    let r = repo.run(&["init", "--model", "price", "--output", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_eq!(
        (v["task"].as_str(), v["model"].as_str()),
        (Some("regression"), Some("price"))
    );
    let yaml = std::fs::read_to_string(repo.path().join("retrain.yaml")).unwrap();
    assert!(
        yaml.contains("algorithm: linear_regression") && yaml.contains("primary: rmse"),
        "{yaml}"
    );
}

/// The example's workflows are exactly what `retrain init` writes for it.
#[test]
fn the_example_workflows_are_the_ones_init_writes() {
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/elec");
    let repo = Repo::new();
    let data = example.join("data");
    for e in std::fs::read_dir(&data).unwrap() {
        let e = e.unwrap();
        std::fs::create_dir_all(repo.path().join("data")).unwrap();
        std::fs::copy(e.path(), repo.path().join("data").join(e.file_name())).unwrap();
    }
    let r = repo.run(&["init", "--model", "elec", "--target", "class"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for f in &FILES[1..] {
        let want = std::fs::read_to_string(repo.path().join(f)).unwrap();
        let have = std::fs::read_to_string(example.join(f))
            .unwrap_or_else(|e| panic!("examples/elec/{f}: {e}"));
        assert_eq!(
            have, want,
            "examples/elec/{f} differs from `retrain init`'s: regenerate it"
        );
    }
}

/// `init --data s3://…`: the first object is inspected, the config reads the URL, and the
/// workflow gets the OIDC permission and the step that turns the job's token into AWS
/// credentials (actionlint-clean); the written config snapshots the objects.
#[test]
fn init_on_an_s3_prefix_writes_the_url_and_the_oidc_step() {
    use crate::support::s3::S3Server;
    let repo = Repo::new();
    let local = tempfile::tempdir().unwrap();
    let parts = retrain::data::synth::write(
        &Spec {
            rows: 3000,
            ..Spec::default()
        },
        local.path(),
        "part",
        2,
        OutputFormat::Parquet,
    )
    .unwrap();
    let server = S3Server::start(
        local.path(),
        serde_json::json!([
            ["bucket", "lake"],
            [
                "put",
                "lake",
                "events/part-0.parquet",
                parts[0].to_str().unwrap()
            ],
            [
                "put",
                "lake",
                "events/part-1.parquet",
                parts[1].to_str().unwrap()
            ]
        ]),
    );
    let env = server.env();
    let envs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = repo.run_with(
        &[
            "init",
            "--data",
            "s3://lake/events/*.parquet",
            "--output",
            "json",
        ],
        &envs,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["target"], "label");
    let yaml = std::fs::read_to_string(repo.path().join("retrain.yaml")).unwrap();
    assert!(
        yaml.contains("url: \"s3://lake/events/*.parquet\""),
        "{yaml}"
    );
    let wf_path = repo.path().join(".github/workflows/retrain.yml");
    let wf = std::fs::read_to_string(&wf_path).unwrap();
    assert!(wf.contains("id-token: write"), "{wf}");
    assert!(
        wf.contains("aws-actions/configure-aws-credentials@v4"),
        "{wf}"
    );
    assert!(wf.contains("vars.RETRAIN_AWS_ROLE_ARN"), "{wf}");
    assert!(
        !wf.contains("s3://"),
        "no data path among the push paths: {wf}"
    );
    let lint = std::process::Command::new("node")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/action/actionlint.mjs"
        ))
        .arg(&wf_path)
        .output()
        .expect("node runs actionlint (bash tests/run.sh installs it)");
    assert!(
        lint.status.success(),
        "actionlint: {}{}",
        String::from_utf8_lossy(&lint.stdout),
        String::from_utf8_lossy(&lint.stderr)
    );
    let snap = repo.run_with(&["snapshot", "--output", "json"], &envs);
    assert_eq!(snap.code, 0, "{}", snap.stderr);
    assert_eq!(snap.json()["files"], 2);
}
