//! Data and files that fight back: leftovers of a writer killed mid-write, files that
//! change while they are read, values Python writes, columns without end.

use retrain::data::synth::OutputFormat;

use crate::support::*;

/// A pid that no running process has: a child that has exited.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

/// Regression (D11): a kill -9 during the manifest write left `.<id>.yaml.<pid>.tmp`
/// files (tens of MB each) that nothing removed.
#[test]
fn temporary_files_of_a_killed_writer_are_removed_by_the_next_write() {
    let repo = Repo::new();
    repo.generate(&small_spec(500), "data", 1, OutputFormat::Csv);
    repo.config(&basic_config("data/*.csv"));
    let stale = format!(".{}.yaml.{}.tmp", "f".repeat(64), dead_pid());
    repo.write(&format!(".retrain/snapshots/{stale}"), "half a manifest");
    let run = repo.run(&["snapshot", "--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let id = run.json()["id"].as_str().unwrap().to_string();
    assert_eq!(repo.snapshot_files(), [format!("{id}.yaml")]);
}

/// Starts `retrain snapshot` on `repo`, waits until it starts profiling `file`, then
/// does `act` to the file; returns the exit code (`None`: killed by a signal), stderr
/// and whether a manifest was written.
fn change_during_profiling(repo: &Repo, file: &str, act: impl FnOnce()) -> (Option<i32>, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_retrain"))
        .arg("--repo")
        .arg(repo.path())
        .args(["snapshot", "--output", "json"])
        .env("RETRAIN_LOG", "retrain=debug")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let mut act = Some(act);
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 {
        if line.contains("profiling") && line.contains(file) {
            if let Some(act) = act.take() {
                act();
            }
        }
        seen.push_str(&line);
        line.clear();
    }
    assert!(
        act.is_none(),
        "profiling of {file} was never logged: {seen}"
    );
    let status = child.wait().unwrap();
    (status.code(), seen)
}

fn big_csv(repo: &Repo) -> std::path::PathBuf {
    let files = repo.generate(&small_spec(150_000), "data", 1, OutputFormat::Csv);
    repo.config(&basic_config("data/*.csv"));
    files[0].clone()
}

/// Regression (D4): a file replaced by rename between hashing and profiling was
/// recorded with the old content's hash and the new content's rows, for good.
#[test]
fn a_file_replaced_while_it_is_profiled_is_refused_and_nothing_is_recorded() {
    let repo = Repo::new();
    let file = big_csv(&repo);
    let other = Repo::new();
    let replacement = other.generate(&small_spec(1_000), "data", 1, OutputFormat::Csv);
    let rel = "data/part.csv";
    let (code, stderr) = change_during_profiling(&repo, rel, || {
        std::fs::copy(&replacement[0], file.with_extension("new")).unwrap();
        std::fs::rename(file.with_extension("new"), &file).unwrap();
    });
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("error: `{rel}` changed while it was being read")),
        "{stderr}"
    );
    assert!(
        repo.snapshot_files().is_empty(),
        "{:?}",
        repo.snapshot_files()
    );
    // a re-run records the file as it is now
    let again = repo.run(&["snapshot", "--output", "json"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.json()["rows"], 1_000);
}

/// Regression (D4): truncating a file in place while it was memory-mapped killed the
/// process with SIGBUS (exit 135, no message).
#[test]
fn a_file_truncated_while_it_is_read_is_an_error_not_a_crash() {
    let repo = Repo::new();
    let file = big_csv(&repo);
    let (code, stderr) = change_during_profiling(&repo, "data/part.csv", || {
        let f = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
        f.set_len(100).unwrap();
    });
    assert_eq!(code, Some(1), "killed by a signal? {stderr}");
    assert!(
        stderr.contains("changed while it was being read")
            || stderr.contains("truncated while retrain was reading it"),
        "{stderr}"
    );
    assert!(
        repo.snapshot_files().is_empty(),
        "{:?}",
        repo.snapshot_files()
    );
}

/// Regression (D8): a manifest cost about 12.5 KB per numeric column whatever the row
/// count (a 3.7 MB CSV of 10,000 columns × 60 rows made a 125 MB manifest), and one
/// 50 MB string field was copied whole into the manifest and the model.
#[test]
fn a_manifest_grows_with_what_it_keeps_not_with_the_column_count() {
    let repo = Repo::new();
    let columns = 1500;
    let mut csv: Vec<String> = vec![(0..columns)
        .map(|c| format!("c{c}"))
        .chain(["label".to_string()])
        .collect::<Vec<_>>()
        .join(",")];
    for r in 0..60 {
        let row: Vec<String> = (0..columns)
            .map(|c| format!("{}.25", (r * 7 + c) % 97))
            .chain([(r % 2).to_string()])
            .collect();
        csv.push(row.join(","));
    }
    let text = csv.join("\n") + "\n";
    repo.write("data/wide.csv", &text);
    repo.config("version: 1\nmodels:\n  - name: m\n    task: classification\n    target: label\n    data: { path: data/wide.csv }\n");
    let run = repo.run(&["snapshot", "--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let manifest = repo.path().join(run.json()["path"].as_str().unwrap());
    let size = std::fs::metadata(&manifest).unwrap().len() as usize;
    // the exact values of 60 rows (about 40 bytes each in YAML), not a 267-edge
    // sketch per column besides them (before: 12.5 KB a column)
    assert!(
        size < columns * (40 * 60 + 500),
        "manifest {size} bytes for {} of CSV",
        text.len()
    );

    // one huge field: cut in the manifest, still told apart by its hash
    let repo = Repo::new();
    let huge = "x".repeat(1 << 20);
    repo.write(
        "data/a.csv",
        format!("c,label\n{huge},0\nshort,1\n{huge}y,0\n"),
    );
    repo.config("version: 1\nmodels:\n  - name: m\n    task: classification\n    target: label\n    data: { path: data/a.csv }\n");
    let run = repo.run(&["snapshot", "--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let manifest = repo.path().join(run.json()["path"].as_str().unwrap());
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(text.len() < 20_000, "manifest {} bytes", text.len());
    assert_eq!(
        text.matches("…").count(),
        2,
        "two distinct long values, two keys"
    );
}

/// Regression (D9): a numeric column holding `NA` (R, pandas), `None`, `Infinity` or
/// `-Infinity` was read as text and silently became categorical.
#[test]
fn numbers_with_missing_and_infinite_texts_stay_numeric() {
    let repo = Repo::new();
    let mut csv = String::from("x,c,label\n");
    for i in 0..200 {
        let x = match i % 50 {
            7 => "NA".to_string(),
            8 => "None".to_string(),
            9 => "Infinity".to_string(),
            10 => "-Infinity".to_string(),
            11 => "nan".to_string(),
            _ => format!("{i}.5"),
        };
        // `c` is a real category that happens to contain "NA" (Namibia): it stays text
        csv.push_str(&format!("{x},{},{}\n", ["NA", "FR", "DE"][i % 3], i % 2));
    }
    repo.write("data/a.csv", csv);
    repo.config("version: 1\nmodels:\n  - name: m\n    task: classification\n    target: label\n    data: { path: data/a.csv }\n");
    let run = repo.run(&["snapshot", "--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let path = repo.path().join(run.json()["path"].as_str().unwrap());
    let m: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let column = |name: &str| {
        m["columns"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()
            .clone()
    };
    let x = column("x");
    assert_eq!(x["type"], "numeric", "{:?}", x["type"]);
    assert_eq!(x["nulls"], 8, "NA and None are missing");
    assert_eq!(x["numeric"]["inf"], 8, "±Infinity are numbers");
    assert_eq!(x["numeric"]["nan"], 4, "nan is a number (not a number)");
    assert_eq!(column("c")["type"], "categorical");
}

/// A CSV column's type is what polars infers from the first 10,000 rows, though a quick
/// inference looks at 100 first: a float, a text or a first value after row 100 still
/// counts. One file per case (a value that does not parse sends the whole file to the
/// full inference).
#[test]
fn csv_types_come_from_the_first_ten_thousand_rows() {
    let late = |at: usize, value: &'static str| {
        move |i: usize| {
            if i == at {
                value.to_string()
            } else {
                i.to_string()
            }
        }
    };
    type Column = Box<dyn Fn(usize) -> String>;
    let cases: [(&str, Column, &str, &str); 6] = [
        (
            "a float at row 5000",
            Box::new(late(5_000, "2.5")),
            "numeric",
            "f64",
        ),
        (
            "a text at row 4000",
            Box::new(late(4_000, "abc")),
            "categorical",
            "str",
        ),
        (
            "a boolean column with a text at row 3000",
            Box::new(|i| {
                if i == 3_000 {
                    "maybe".into()
                } else {
                    ["true", "false"][i % 2].into()
                }
            }),
            "categorical",
            "str",
        ),
        (
            "empty in the first 150 rows",
            Box::new(|i| {
                if i < 150 {
                    String::new()
                } else {
                    i.to_string()
                }
            }),
            "numeric",
            "i64",
        ),
        (
            "booleans after 150 empty rows",
            Box::new(|i| match i {
                0..150 => String::new(),
                _ => ["true", "false"][i % 2].into(),
            }),
            "categorical",
            "bool",
        ),
        ("integers", Box::new(|i| i.to_string()), "numeric", "i64"),
    ];
    for (case, value, kind, dtype) in cases {
        let repo = Repo::new();
        let mut csv = String::from("x,label\n");
        for i in 0..12_000 {
            csv.push_str(&format!("{},{}\n", value(i), i % 2));
        }
        repo.write("data/a.csv", csv);
        repo.config("version: 1\nmodels:\n  - name: m\n    task: classification\n    target: label\n    data: { path: data/a.csv }\n");
        let run = repo.run(&["snapshot", "--output", "json"]);
        assert_eq!(run.code, 0, "{case}: {}", run.stderr);
        let path = repo.path().join(run.json()["path"].as_str().unwrap());
        let m: serde_yaml::Value =
            serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let x = &m["columns"][0];
        assert_eq!(x["name"], "x");
        assert_eq!(
            (x["type"].as_str(), x["dtype"].as_str()),
            (Some(kind), Some(dtype)),
            "{case}"
        );
        assert_eq!(m["rows"], 12_000, "{case}");
    }
}
