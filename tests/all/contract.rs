//! The output contract (issue 14): what `check`, `run --dry-run` and `backtest` print on
//! the bundled example, as JSON and as text, and the step summary the Action writes,
//! kept as insta snapshots (`tests/all/snapshots/`). A change to any of them is a diff
//! to review: the redesign of the code must leave them byte-identical. Only what varies
//! from run to run is normalised: timings, throughput and thread counts.

use serde_json::Value;

use crate::cli::copy_example;
use crate::support::Repo;

const NOW: &str = "2026-12-01T00:00:00Z";

/// Keys whose values are measured, not computed.
fn measured(key: &str) -> bool {
    key.ends_with("_ms")
        || key.ends_with("_seconds")
        || key == "predict_rows_per_second"
        || key == "threads"
}

fn normalise(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if measured(k) && v.is_number() {
                    *v = Value::from(0);
                } else {
                    normalise(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalise),
        _ => {}
    }
}

/// Timings in text: `123 ms`, `0.42 s`, `1.3 s on 2 threads`, and the temporary path.
fn normalise_text(repo: &Repo, text: &str) -> String {
    let text = text.replace(&repo.path().display().to_string(), "[REPO]");
    let mut out = String::with_capacity(text.len());
    let words: Vec<&str> = text.split(' ').collect();
    for (i, w) in words.iter().enumerate() {
        let next = words.get(i + 1).copied().unwrap_or("");
        let unit = next.starts_with("ms")
            || next.starts_with("s ")
            || next == "s"
            || next.starts_with("s;")
            || next.starts_with("s,");
        let number = !w.is_empty() && w.chars().all(|c| c.is_ascii_digit() || c == '.');
        if i > 0 {
            out.push(' ');
        }
        out.push_str(if unit && number { "[T]" } else { w });
    }
    out
}

/// What differs between runs of a test with servers: their ports, commit hashes and
/// digests, and artifact sizes (an artifact records its fit time).
pub(crate) fn scrub(text: &str) -> String {
    let text: String = text
        .split_inclusive('\n')
        .map(|line| {
            let words: Vec<&str> = line.split(' ').collect();
            let mut out = Vec::with_capacity(words.len());
            for (i, w) in words.iter().enumerate() {
                let next = words.get(i + 1).copied().unwrap_or("");
                let number = |w: &str| {
                    let w = w.trim_start_matches('(').trim_end_matches('\n');
                    !w.is_empty() && w.chars().all(|c| c.is_ascii_digit())
                };
                let size = (next.starts_with("bytes") && number(w))
                    || (i > 0 && words[i - 1].ends_with("size:") && number(w));
                out.push(if size {
                    if w.starts_with('(') {
                        "([SIZE]"
                    } else if w.ends_with('\n') {
                        "[SIZE]\n"
                    } else {
                        "[SIZE]"
                    }
                } else {
                    w
                });
            }
            out.join(" ")
        })
        .collect();
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let run = chars[i..]
            .iter()
            .take_while(|c| c.is_ascii_hexdigit())
            .count();
        let word_start = i == 0 || !chars[i - 1].is_ascii_alphanumeric();
        if run >= 12 && word_start {
            out.push_str("[HEX]");
            i += run;
            continue;
        }
        if chars[i..].starts_with(&['1', '2', '7', '.', '0', '.', '0', '.', '1', ':']) {
            out.push_str("127.0.0.1:[PORT]");
            i += 10;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

fn json_of(repo: &Repo, args: &[&str]) -> String {
    let mut all = vec!["--output", "json"];
    all.extend_from_slice(args);
    let run = repo.run_with(&all, &[("SOURCE_DATE_EPOCH", "1780272000")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut v = run.json();
    normalise(&mut v);
    serde_json::to_string_pretty(&v).unwrap()
}

fn text_of(repo: &Repo, args: &[&str]) -> String {
    let run = repo.run_with(args, &[("SOURCE_DATE_EPOCH", "1780272000")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    normalise_text(repo, &run.stdout)
}

#[test]
fn check_output_on_the_example_is_unchanged() {
    let repo = copy_example(true);
    insta::assert_snapshot!("check_json", json_of(&repo, &["check", "--now", NOW]));
    insta::assert_snapshot!("check_text", text_of(&repo, &["check", "--now", NOW]));
}

#[test]
fn dry_run_output_on_the_example_is_unchanged() {
    let repo = copy_example(true);
    insta::assert_snapshot!(
        "run_dry_run_json",
        json_of(&repo, &["run", "--dry-run", "--now", NOW])
    );
    insta::assert_snapshot!(
        "run_dry_run_text",
        text_of(&repo, &["run", "--dry-run", "--now", NOW])
    );
    // the reply the bot posts to `/retrain`, rendered beside the PR body
    let comment =
        std::fs::read_to_string(repo.path().join(".retrain/proposal/elec/COMMENT.md")).unwrap();
    insta::assert_snapshot!("comment", normalise_text(&repo, &comment));
}

#[test]
fn backtest_output_on_the_example_is_unchanged() {
    let repo = copy_example(true);
    // (its text is a table of measured training times: the JSON is the contract)
    insta::assert_snapshot!("backtest_json", json_of(&repo, &["backtest"]));
}

/// Under GitHub Actions a dry run writes its outputs and the step summary.
#[test]
fn the_step_summary_and_outputs_of_a_dry_run_are_unchanged() {
    let repo = copy_example(true);
    let summary = repo.path().join("summary.md");
    let outputs = repo.path().join("outputs.txt");
    let run = repo.run_with(
        &["run", "--dry-run", "--now", NOW],
        &[
            ("SOURCE_DATE_EPOCH", "1780272000"),
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
            ("GITHUB_OUTPUT", outputs.to_str().unwrap()),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_REPOSITORY", "acme/elec"),
            ("GITHUB_RUN_ID", "42"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let summary = std::fs::read_to_string(&summary).unwrap();
    insta::assert_snapshot!("step_summary", normalise_text(&repo, &summary));
    // the outputs: names and values, the JSON one normalised
    let outputs = std::fs::read_to_string(&outputs).unwrap();
    let mut named = Vec::new();
    let mut lines = outputs.lines();
    while let Some(line) = lines.next() {
        let Some((name, delimiter)) = line.split_once("<<") else {
            continue;
        };
        let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delimiter).collect();
        let mut value = value.join("\n");
        if let Ok(mut v) = serde_json::from_str::<Value>(&value) {
            if v.is_object() {
                normalise(&mut v);
                value = serde_json::to_string_pretty(&v).unwrap();
            }
        }
        named.push(format!("{name}:\n{value}"));
    }
    assert!(!named.is_empty(), "no outputs in {outputs}");
    insta::assert_snapshot!("run_outputs", named.join("\n\n"));
}
