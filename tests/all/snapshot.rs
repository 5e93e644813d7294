//! `retrain snapshot`: content addressing, manifests, profiles, bad data.

use retrain::data::synth::{OutputFormat, Spec};

use crate::support::*;

fn manifest(repo: &Repo, id: &str) -> serde_yaml::Value {
    let text =
        std::fs::read_to_string(repo.path().join(format!(".retrain/snapshots/{id}.yaml"))).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

fn column<'a>(m: &'a serde_yaml::Value, name: &str) -> &'a serde_yaml::Value {
    m["columns"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|c| c["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("column {name}"))
}

#[test]
fn creates_then_reports_unchanged() {
    let repo = Repo::new();
    repo.generate(&small_spec(3000), "data", 3, OutputFormat::Csv);
    repo.config(&basic_config("data/part-*.csv"));
    let first = repo.run(&["snapshot", "--output", "json"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let v = first.json();
    assert_eq!(v["status"], "created");
    assert_eq!(v["rows"], 3000);
    assert_eq!(v["files"], 3);
    let id = v["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 64);
    assert_eq!(v["path"], format!(".retrain/snapshots/{id}.yaml"));
    let path = repo.path().join(v["path"].as_str().unwrap());
    let bytes = std::fs::read(&path).unwrap();

    let second = repo.run(&["snapshot", "--output", "json"]);
    assert_eq!(second.json()["status"], "unchanged");
    assert_eq!(second.json()["id"], id.as_str());
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bytes,
        "an unchanged re-run must not rewrite the manifest"
    );
    let text = repo.run(&["snapshot"]);
    assert!(text.stdout.contains("data unchanged"), "{}", text.stdout);
    assert_eq!(
        repo.snapshot_files().len(),
        1,
        "no temporary files left: {:?}",
        repo.snapshot_files()
    );
}

#[test]
fn id_depends_on_bytes_and_names_only() {
    let a = Repo::new();
    let b = Repo::new();
    for r in [&a, &b] {
        r.generate(&small_spec(500), "data", 2, OutputFormat::Parquet);
        r.config(&basic_config("data/*.parquet"));
    }
    let id = |r: &Repo| {
        r.run(&["snapshot", "--output", "json"]).json()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let id_a = id(&a);
    assert_eq!(
        id_a,
        id(&b),
        "same bytes in another directory give the same id"
    );

    // Renaming a file changes the id.
    std::fs::rename(
        b.path().join("data/part-0001.parquet"),
        b.path().join("data/part-0009.parquet"),
    )
    .unwrap();
    let renamed = id(&b);
    assert_ne!(renamed, id_a);

    // Changing one byte changes the id (CSV, so the file stays readable).
    let c = Repo::new();
    c.write("data/a.csv", "x,label\n1.5,0\n2.5,1\n3.5,0\n");
    c.config(&basic_config("data/a.csv").replace("    time_column: ts\n", ""));
    let before = id(&c);
    c.write("data/a.csv", "x,label\n1.5,0\n2.6,1\n3.5,0\n");
    assert_ne!(id(&c), before);
}

#[test]
fn profile_matches_the_generated_truth() {
    let repo = Repo::new();
    let spec = Spec {
        rows: 20_000,
        null_fraction: 0.1,
        drifts: vec![
            "num_01:mean:3@0".parse().unwrap(),
            "num_02:scale:2@0".parse().unwrap(),
        ],
        ..Spec::default()
    };
    repo.generate(&spec, "data", 4, OutputFormat::Parquet);
    repo.config(&basic_config("data/*.parquet"));
    let run = repo.run(&["snapshot", "--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let m = manifest(&repo, run.json()["id"].as_str().unwrap());
    assert_eq!(m["rows"].as_u64(), Some(20_000));

    let num = |name: &str, key: &str| column(&m, name)["numeric"][key].as_f64().unwrap();
    assert!(num("num_00", "mean").abs() < 0.05);
    assert!((num("num_00", "std") - 1.0).abs() < 0.05);
    assert!((num("num_01", "mean") - 3.0).abs() < 0.05);
    assert!((num("num_02", "std") - 2.0).abs() < 0.1);
    // ~10% nulls, counted apart from values
    let c0 = column(&m, "num_00");
    let nulls = c0["nulls"].as_u64().unwrap();
    assert!((1700..2300).contains(&nulls), "nulls {nulls}");
    assert_eq!(c0["count"].as_u64().unwrap() + nulls, 20_000);
    // quantiles of N(0,1): median ~0, p95 ~1.645
    let q = &c0["numeric"]["quantiles"];
    assert!(q["p50"].as_f64().unwrap().abs() < 0.05);
    assert!((q["p95"].as_f64().unwrap() - 1.645).abs() < 0.06);
    let edges = c0["numeric"]["histogram"]["edges"].as_sequence().unwrap();
    assert_eq!(edges.len(), 267);
    assert!(edges.windows(2).all(|w| w[0].as_f64() <= w[1].as_f64()));

    // categorical: frequencies sum to the count, Zipf order
    let cat = column(&m, "cat_00");
    assert_eq!(cat["type"], "categorical");
    let top = cat["categorical"]["top"].as_sequence().unwrap();
    assert_eq!(top.len(), 5);
    assert_eq!(top[0][0], "c00");
    let total: u64 = top.iter().map(|e| e[1].as_u64().unwrap()).sum();
    assert_eq!(total, 20_000);

    // roles, types, the target profiled too
    assert_eq!(column(&m, "label")["role"]["m"], "target");
    assert_eq!(column(&m, "ts")["role"]["m"], "time");
    assert_eq!(column(&m, "ts")["type"], "datetime");
    assert_eq!(column(&m, "num_03")["role"]["m"], "feature");
    assert_eq!(column(&m, "label")["numeric"]["distinct"], 2);
}

#[test]
fn type_overrides_and_top_k() {
    let repo = Repo::new();
    repo.generate(
        &Spec {
            rows: 1000,
            categories: 12,
            ..Spec::default()
        },
        "data",
        1,
        OutputFormat::Csv,
    );
    repo.config(&(basic_config("data/part.csv") + "    column_types: { label: categorical }\n    profile: { top_k: 3 }\n    ignore: [num_04]\n"));
    let run = repo.run(&["snapshot", "--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let m = manifest(&repo, run.json()["id"].as_str().unwrap());
    let label = column(&m, "label");
    assert_eq!(label["type"], "categorical");
    let cat = &column(&m, "cat_01")["categorical"];
    assert_eq!(cat["top"].as_sequence().unwrap().len(), 3);
    assert_eq!(cat["distinct"], 12);
    let kept: u64 = cat["top"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|e| e[1].as_u64().unwrap())
        .sum();
    assert_eq!(kept + cat["other"].as_u64().unwrap(), 1000);
    assert_eq!(column(&m, "num_04")["role"]["m"], "ignored");
}

#[test]
fn two_models_share_a_snapshot_and_record_both_roles() {
    let repo = Repo::new();
    repo.generate(&small_spec(400), "data", 1, OutputFormat::Csv);
    repo.config(
        "version: 1\nmodels:\n  - name: a\n    task: classification\n    target: label\n    data: { path: data/part.csv }\n  - name: b\n    task: regression\n    target: num_00\n    ignore: [label]\n    training: { algorithm: linear_regression }\n    data: { path: data/part.csv }\n",
    );
    let run = repo.run(&["snapshot", "--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = run.json();
    let snaps = v["snapshots"].as_array().unwrap();
    assert_eq!(snaps[0]["status"], "created");
    assert_eq!(snaps[1]["status"], "unchanged");
    assert_eq!(snaps[0]["id"], snaps[1]["id"]);
    let m = manifest(&repo, snaps[0]["id"].as_str().unwrap());
    assert_eq!(column(&m, "num_00")["role"]["a"], "feature");
    assert_eq!(column(&m, "num_00")["role"]["b"], "target");
    assert_eq!(column(&m, "label")["role"]["b"], "ignored");
    let only_b = repo.run(&["snapshot", "--model", "b", "--output", "json"]);
    assert_eq!(only_b.json()["model"], "b");
}

// ---- bad data: a clear error naming the file, and no manifest written ----

fn bad(setup: impl FnOnce(&Repo), path: &str) -> Run {
    let repo = Repo::new();
    setup(&repo);
    repo.config(&basic_config(path).replace("    time_column: ts\n", ""));
    let run = repo.run(&["snapshot"]);
    assert_ne!(run.code, 0);
    assert!(
        repo.snapshot_files().is_empty(),
        "no manifest on failure: {:?}",
        repo.snapshot_files()
    );
    run
}

#[test]
fn glob_that_matches_nothing() {
    let run = bad(
        |r| {
            r.write("data/a.csv", "x,label\n1,0\n");
        },
        "data/2024-*.parquet",
    );
    assert_eq!(run.code, 1);
    insta::assert_snapshot!(run.stderr, @r"
    error: data.path `data/2024-*.parquet` matched no files under [REPO]
    hint: check `data.path` in retrain.yaml; globs are relative to the repository root (`--repo`)
    ");
}

#[test]
fn corrupt_parquet_names_the_file() {
    let run = bad(
        |r| {
            r.write("data/a.parquet", b"PAR1 this is not parquet at all PAR1");
        },
        "data/*.parquet",
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with("error: `data/a.parquet`: "),
        "{}",
        run.stderr
    );
    // a Parquet file gets a Parquet hint, not the CSV one
    assert!(
        run.stderr
            .contains("hint: the Parquet file is damaged or incomplete"),
        "{}",
        run.stderr
    );
}

#[test]
fn truncated_parquet_names_the_file() {
    let run = bad(
        |r| {
            let paths = r.generate(&small_spec(500), "data", 1, OutputFormat::Parquet);
            let bytes = std::fs::read(&paths[0]).unwrap();
            std::fs::write(&paths[0], &bytes[..bytes.len() / 2]).unwrap();
        },
        "data/*.parquet",
    );
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("`data/part.parquet`"), "{}", run.stderr);
}

#[test]
fn ragged_csv_names_the_file() {
    let run = bad(
        |r| {
            r.write("data/a.csv", "x,label\n1,0\n2,1,7\n3,0\n");
        },
        "data/a.csv",
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with("error: `data/a.csv`: "),
        "{}",
        run.stderr
    );
}

#[test]
fn empty_file() {
    let run = bad(
        |r| {
            r.write("data/a.csv", "");
        },
        "data/a.csv",
    );
    assert_eq!(run.code, 1);
    insta::assert_snapshot!(run.stderr, @r"
    error: `data/a.csv` is empty
    hint: remove the empty file or fill it
    ");
}

#[test]
fn declared_column_absent_from_the_data() {
    let run = bad(
        |r| {
            r.write("data/a.csv", "x,lable\n1,0\n");
        },
        "data/a.csv",
    );
    assert_eq!(run.code, 1);
    insta::assert_snapshot!(run.stderr, @r"
    error: `data/a.csv` has no column `label` (declared as `target` in the config)
    hint: did you mean `lable`? columns: x, lable
    ");
}

#[test]
fn partitions_with_different_columns() {
    let run = bad(
        |r| {
            r.write("data/a.csv", "x,label\n1,0\n");
            r.write("data/b.csv", "x,y,label\n1,2,0\n");
        },
        "data/*.csv",
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("`data/b.csv`: columns differ from `data/a.csv`: missing [], extra [y]"),
        "{}",
        run.stderr
    );
}

#[cfg(unix)]
#[test]
fn symlink_out_of_the_repository_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.csv"), "x,label\n1,0\n").unwrap();
    let target = outside.path().join("secret.csv");
    let run = bad(
        move |r| {
            std::fs::create_dir_all(r.path().join("data")).unwrap();
            std::os::unix::fs::symlink(&target, r.path().join("data/a.csv")).unwrap();
        },
        "data/*.csv",
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("`data/a.csv` is outside the repository"),
        "{}",
        run.stderr
    );
}

#[test]
fn bad_type_override() {
    let repo = Repo::new();
    repo.write("data/a.csv", "x,label\nabc,0\n");
    repo.config(
        &(basic_config("data/a.csv").replace("    time_column: ts\n", "")
            + "    column_types: { x: datetime }\n"),
    );
    let run = repo.run(&["snapshot"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("column `x` cannot be read as datetime"),
        "{}",
        run.stderr
    );
    assert!(repo.snapshot_files().is_empty());
}

#[test]
fn corrupt_manifest_is_reported_with_a_way_out() {
    let repo = Repo::new();
    repo.write("data/a.csv", "x,label\n1,0\n2,1\n");
    repo.config(&basic_config("data/a.csv").replace("    time_column: ts\n", ""));
    let v = repo.run(&["snapshot", "--output", "json"]).json();
    let path = repo.path().join(v["path"].as_str().unwrap());
    std::fs::write(&path, "format: 1\nid: [broken\n").unwrap();
    let run = repo.run(&["snapshot"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("hint: delete `.retrain/snapshots/"),
        "{}",
        run.stderr
    );
}

#[test]
fn dvc_tracked_files_and_directories() {
    let repo = Repo::new();
    repo.write("data/elec.csv", "x,label\n1,0\n2,1\n3,0\n");
    repo.write("data/elec.csv.dvc", "outs:\n- md5: 0123456789abcdef0123456789abcdef\n  size: 22\n  hash: md5\n  path: elec.csv\n");
    repo.config("version: 1\nmodels:\n  - name: m\n    task: classification\n    target: label\n    data: { dvc: data/elec.csv.dvc }\n");
    let v = repo.run(&["snapshot", "--output", "json"]).json();
    assert_eq!(v["rows"], 3, "{v}");
    // a tracked directory of partitions
    repo.write("parts/a.csv", "x,label\n1,0\n");
    repo.write("parts/more/b.csv", "x,label\n2,1\n");
    repo.write(
        "parts.dvc",
        "outs:\n- md5: 0123456789abcdef0123456789abcdef.dir\n  path: parts\n",
    );
    repo.config("version: 1\nmodels:\n  - name: m\n    task: classification\n    target: label\n    data: { dvc: parts.dvc }\n");
    let v = repo.run(&["snapshot", "--output", "json"]).json();
    assert_eq!(
        (v["rows"].as_u64(), v["files"].as_u64()),
        (Some(2), Some(2)),
        "{v}"
    );
    // not pulled yet
    repo.write(
        "gone.dvc",
        "outs:\n- md5: 0123456789abcdef0123456789abcdef\n  path: missing.parquet\n",
    );
    repo.config("version: 1\nmodels:\n  - name: m\n    task: classification\n    target: label\n    data: { dvc: gone.dvc }\n");
    let run = repo.run(&["snapshot"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("run `dvc pull` first"),
        "{}",
        run.stderr
    );
}

/// CSV text columns: dates are found whether or not other text columns are in the file
/// (date inference is left out only when no text column can hold a date), and a column
/// of dates with one word among them stays categorical.
#[test]
fn csv_dates_are_found_beside_text_columns() {
    let repo = Repo::new();
    let mut csv = String::from("day,when,city,mixed,x,label\n");
    for i in 0..300 {
        let mixed = if i == 150 {
            "soon".to_string()
        } else {
            format!("2024-03-{:02}", i % 28 + 1)
        };
        csv.push_str(&format!(
            "2024-01-{:02},2024-02-{:02} 10:{:02}:00,city-{},{mixed},{i},{}\n",
            i % 28 + 1,
            i % 28 + 1,
            i % 60,
            ["a", "b", "c"][i % 3],
            if i % 2 == 0 { "yes" } else { "no" }
        ));
    }
    repo.write("data/a.csv", &csv);
    // a file of text columns only: nothing there can be a date
    let words: String = (0..300)
        .map(|i| format!("{},{}\n", ["r2", "g7"][i % 2], ["yes", "no"][i % 3 % 2]))
        .collect();
    repo.write("data/b.csv", format!("colour,label\n{words}"));
    repo.config(
        "version: 1\nmodels:\n  - name: m\n    task: classification\n    target: label\n    data: { path: data/a.csv }\n  - name: w\n    task: classification\n    target: label\n    data: { path: data/b.csv }\n",
    );
    let run = repo.run(&["snapshot", "--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = run.json();
    let snaps = v["snapshots"].as_array().unwrap();
    let id = |i: usize| snaps[i]["id"].as_str().unwrap().to_string();
    let m = manifest(&repo, &id(0));
    assert_eq!(column(&m, "day")["type"], "datetime");
    assert_eq!(column(&m, "when")["type"], "datetime");
    assert_eq!(column(&m, "city")["type"], "categorical");
    assert_eq!(column(&m, "mixed")["type"], "categorical");
    assert_eq!(column(&m, "x")["type"], "numeric");
    let w = manifest(&repo, &id(1));
    assert_eq!(column(&w, "colour")["type"], "categorical");
    assert_eq!(column(&w, "label")["type"], "categorical");
}

/// Incremental snapshots: a new partition is profiled alone (the others' parts come from
/// `.retrain/cache/profiles/`), and the manifest is byte for byte the one profiled from
/// scratch; a damaged cache entry is ignored and written again.
#[test]
fn a_new_partition_is_profiled_alone_and_the_manifest_equals_a_fresh_one() {
    let repo = Repo::new();
    let spec = Spec {
        rows: 8000,
        null_fraction: 0.05,
        ..Spec::default()
    };
    let parts = repo.generate(&spec, "data", 4, OutputFormat::Csv);
    let held = repo.path().join("held-back.csv");
    std::fs::rename(&parts[3], &held).unwrap();
    repo.config(&basic_config("data/part-*.csv"));
    let debug = [("RETRAIN_LOG", "retrain=debug")];
    let profiled = |run: &Run| {
        run.stderr
            .lines()
            .filter(|l| l.contains("profiling"))
            .count()
    };
    let first = repo.run_with(&["snapshot", "--output", "json"], &debug);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(profiled(&first), 3, "{}", first.stderr);
    std::fs::rename(&held, &parts[3]).unwrap();
    let grown = repo.run_with(&["snapshot", "--output", "json"], &debug);
    assert_eq!(grown.json()["status"], "created", "{}", grown.stderr);
    assert_eq!(profiled(&grown), 1, "{}", grown.stderr);
    // and the three files before it were not merged again: their merged parts were kept
    assert!(
        grown
            .stderr
            .contains("starting from the merged profile of the first files files=3"),
        "{}",
        grown.stderr
    );
    // each file's schema is kept too (a CSV file's is inferred from its rows)
    assert_eq!(
        std::fs::read_dir(repo.path().join(".retrain/cache/schemas"))
            .unwrap()
            .count(),
        4
    );
    assert!(grown.stderr.contains("part-0003.csv"), "{}", grown.stderr);
    let id = grown.json()["id"].as_str().unwrap().to_string();
    let path = repo.path().join(format!(".retrain/snapshots/{id}.yaml"));
    let without_time = |text: String| {
        text.lines()
            .filter(|l| !l.starts_with("created_at:"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let incremental = without_time(std::fs::read_to_string(&path).unwrap());

    // from scratch
    std::fs::remove_dir_all(repo.path().join(".retrain/cache/profiles")).unwrap();
    std::fs::remove_file(&path).unwrap();
    let fresh = repo.run_with(&["snapshot", "--output", "json"], &debug);
    assert_eq!(fresh.json()["id"], id.as_str());
    assert_eq!(profiled(&fresh), 4);
    assert_eq!(
        without_time(std::fs::read_to_string(&path).unwrap()),
        incremental
    );

    // damaged entries are not trusted
    for e in std::fs::read_dir(repo.path().join(".retrain/cache/profiles")).unwrap() {
        std::fs::write(
            e.unwrap().path(),
            b"{\"format\": 1, \"rows\": 3, \"parts\": [",
        )
        .unwrap();
    }
    std::fs::remove_file(&path).unwrap();
    let again = repo.run_with(&["snapshot", "--output", "json"], &debug);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(profiled(&again), 4);
    assert_eq!(
        without_time(std::fs::read_to_string(&path).unwrap()),
        incremental
    );
}

#[test]
fn a_settled_file_is_hashed_once_and_a_rewrite_that_keeps_its_mtime_is_seen() {
    let repo = Repo::new();
    repo.generate(&small_spec(2000), "data", 2, OutputFormat::Csv);
    repo.config(&basic_config("data/part-*.csv"));
    // a file changed within a second of its hashing is hashed again next time (its stamp
    // could repeat), so the files settle first
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let snapshot = |repo: &Repo| {
        let out = repo.run(&["snapshot", "--output", "json"]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let v = out.json();
        (v["id"].as_str().unwrap().to_string(), v["status"].clone())
    };
    let (a, _) = snapshot(&repo);
    let cache = repo.path().join(".retrain/cache/hashes.json");
    let kept: serde_json::Value = serde_json::from_slice(&std::fs::read(&cache).unwrap()).unwrap();
    let files = kept["files"].as_object().unwrap();
    assert_eq!(files.len(), 2, "{kept}");
    let first = files.keys().next().unwrap().clone();

    // the next snapshot takes an unchanged file's hash from the cache without reading it:
    // a forged entry shows through (and deleting the cache brings the true id back)
    let mut forged = kept.clone();
    forged["files"][&first]["blake3"] = serde_json::json!("0".repeat(64));
    std::fs::write(&cache, serde_json::to_vec(&forged).unwrap()).unwrap();
    assert_ne!(snapshot(&repo).0, a, "the cached hash was used");
    std::fs::remove_file(&cache).unwrap();
    assert_eq!(snapshot(&repo), (a.clone(), serde_json::json!("unchanged")));

    // other bytes of the same size, the modification time set back: the inode's change
    // time differs, so the file is read again
    let path = repo.path().join(&first);
    let before = std::fs::metadata(&path).unwrap().modified().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let at = text
        .rfind(|c: char| c.is_ascii_digit() && c != '9')
        .unwrap();
    let mut bytes = text.into_bytes();
    bytes[at] += 1;
    std::fs::write(&path, &bytes).unwrap();
    let f = std::fs::File::options().write(true).open(&path).unwrap();
    f.set_modified(before).unwrap();
    drop(f);
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        before
    );
    let (b, status) = snapshot(&repo);
    assert_ne!(b, a, "the rewritten file was hashed again");
    assert_eq!(status, "created");
    std::fs::remove_dir_all(repo.path().join(".retrain/cache")).unwrap();
    assert_eq!(snapshot(&repo).0, b, "the same id from scratch");
}

/// Many partitions: the merged summary stays bounded (levels compacted as a binary
/// counter), a snapshot resumed from the kept history equals one made from scratch byte
/// for byte, and its quantiles are the data's within the documented bound.
#[test]
fn the_profile_of_many_partitions_is_bounded_resumable_and_within_its_bound() {
    let repo = Repo::new();
    let spec = Spec {
        rows: 24 * 5000,
        numeric: 3,
        categorical: 1,
        ..Spec::default()
    };
    let parts = repo.generate(&spec, "data", 24, OutputFormat::Parquet);
    let held = repo.path().join("held-back.parquet");
    std::fs::rename(&parts[23], &held).unwrap();
    repo.config(&basic_config("data/part-*.parquet"));
    let debug = [("RETRAIN_LOG", "retrain=debug")];
    assert_eq!(repo.run(&["snapshot"]).code, 0);
    std::fs::rename(&held, &parts[23]).unwrap();
    let grown = repo.run_with(&["snapshot", "--output", "json"], &debug);
    assert!(
        grown.stderr.contains("files=23"),
        "resumed from the 23 files before: {}",
        grown.stderr
    );
    let id = grown.json()["id"].as_str().unwrap().to_string();
    let path = repo.path().join(format!(".retrain/snapshots/{id}.yaml"));
    let body = |text: String| {
        text.lines()
            .filter(|l| !l.starts_with("created_at:"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let resumed = body(std::fs::read_to_string(&path).unwrap());
    std::fs::remove_dir_all(repo.path().join(".retrain/cache")).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(repo.run(&["snapshot"]).code, 0);
    assert_eq!(body(std::fs::read_to_string(&path).unwrap()), resumed);
    // the kept history is one state of bounded size, not a file per snapshot
    let prefixes: Vec<u64> = std::fs::read_dir(repo.path().join(".retrain/cache/profiles"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().starts_with("prefix-"))
        .map(|e| e.metadata().unwrap().len())
        .collect();
    assert_eq!(prefixes.len(), 1, "{prefixes:?}");

    // the quantiles against the partitions' own values: within the bound (per file
    // 1/8192, and log2(24) < 5 compactions of half an 8192-point block each)
    let merged: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    // the partitions' own values
    let values: Vec<f64> = {
        use polars::prelude::SerReader;
        let mut v: Vec<f64> = Vec::new();
        for p in &parts {
            let df = polars::prelude::ParquetReader::new(std::fs::File::open(p).unwrap())
                .finish()
                .unwrap();
            v.extend(
                df.column("num_00")
                    .unwrap()
                    .cast(&polars::prelude::DataType::Float64)
                    .unwrap()
                    .f64()
                    .unwrap()
                    .iter()
                    .flatten(),
            );
        }
        v.sort_by(f64::total_cmp);
        v
    };
    let column = |m: &serde_yaml::Value| {
        m["columns"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "num_00")
            .unwrap()
            .clone()
    };
    let cm = column(&merged);
    let bound = 1.0 / 8192.0 + 5.0 / (2.0 * 8192.0) + 1.0 / values.len() as f64;
    for q in [
        "p01", "p05", "p10", "p25", "p50", "p75", "p90", "p95", "p99",
    ] {
        let x = cm["numeric"]["quantiles"][q].as_f64().unwrap();
        let rank = values.partition_point(|v| *v <= x) as f64 / values.len() as f64;
        let target = q[1..].parse::<f64>().unwrap() / 100.0;
        assert!(
            (rank - target).abs() <= bound + 1.0 / values.len() as f64,
            "{q}: rank {rank} of the merged profile's value, bound {bound}"
        );
    }
    assert_eq!(cm["count"].as_u64(), Some(values.len() as u64));
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    assert!((cm["numeric"]["mean"].as_f64().unwrap() - mean).abs() < 1e-9);
}
