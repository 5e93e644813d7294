//! Fuzzing the edges where outside bytes come in: `retrain.yaml`, webhook deliveries,
//! CSV and Parquet files, snapshot manifests, registry pointers, PR-body markers. Each
//! target mutates its seed corpus (`tests/fuzz/<target>/`) with a seeded generator —
//! bit flips, cuts, repeats, splices, interesting tokens — and feeds every input to
//! the real reader. Any panic fails the test with the input that caused it; an error
//! is fine (that is what bad input must give).
//!
//! `cargo test fuzz::` runs each target for `RETRAIN_FUZZ_ITERATIONS` inputs (default
//! 300); `bench/fuzz.sh` runs each for a fixed time (`RETRAIN_FUZZ_SECONDS`) and records
//! executions in `bench/results/fuzz.md`.

use std::path::Path;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const TOKENS: &[&[u8]] = &[
    b"[",
    b"{",
    b"]",
    b"}",
    b":",
    b"- ",
    b"\n",
    b"\"",
    b"'",
    b"\\",
    b",",
    b"&a",
    b"*a",
    b"!!",
    b"~",
    b".nan",
    b"-.inf",
    b"1e309",
    b"-0",
    b"18446744073709551616",
    b"null",
    b"NaN",
    b"\xff\xfe",
    b"\0",
    b"<!-- retrain:",
    b"-->",
    b"{\"",
    b"\":",
    b"PAR1",
    b"\r\n",
    b"---\n",
    b"? ",
    b"|\n",
    b">\n",
    b"%YAML 1.2\n",
    b"\t",
];

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz")
        .join(target);
    let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    seeds.into_iter().map(|(_, b)| b).collect()
}

fn mutate(rng: &mut ChaCha8Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut data = seeds[rng.gen_range(0..seeds.len())].clone();
    for _ in 0..rng.gen_range(1..=6) {
        let len = data.len();
        match rng.gen_range(0..7) {
            0 if len > 0 => {
                let i = rng.gen_range(0..len);
                data[i] ^= 1 << rng.gen_range(0..8);
            }
            1 if len > 0 => {
                let i = rng.gen_range(0..len);
                data.truncate(i);
            }
            2 if len > 0 => {
                let (a, b) = (rng.gen_range(0..len), rng.gen_range(0..len));
                let (a, b) = (a.min(b), a.max(b).min(a + 64));
                let piece = data[a..b].to_vec();
                for _ in 0..rng.gen_range(1..50) {
                    data.splice(a..a, piece.iter().copied());
                }
            }
            3 => {
                let t = TOKENS[rng.gen_range(0..TOKENS.len())];
                let i = rng.gen_range(0..=len);
                let n = if rng.gen_bool(0.2) {
                    rng.gen_range(1..200)
                } else {
                    1
                };
                for _ in 0..n {
                    data.splice(i..i, t.iter().copied());
                }
            }
            4 if len > 1 => {
                let (a, b) = (rng.gen_range(0..len), rng.gen_range(0..len));
                data.drain(a.min(b)..a.max(b));
            }
            5 => {
                let other = &seeds[rng.gen_range(0..seeds.len())];
                if !other.is_empty() {
                    let cut = rng.gen_range(0..other.len());
                    let at = rng.gen_range(0..=len);
                    data.splice(at..at, other[cut..].iter().copied());
                }
            }
            _ if len > 0 => {
                let i = rng.gen_range(0..len);
                data[i] = rng.gen();
            }
            _ => {}
        }
    }
    data
}

/// Runs `target` on the seeds and on mutations of them; returns the inputs run.
pub fn fuzz(name: &str, seed: u64, target: impl Fn(&[u8])) -> u64 {
    let seeds = corpus(name);
    let iterations: u64 = std::env::var("RETRAIN_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let budget = std::env::var("RETRAIN_FUZZ_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_secs);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let started = Instant::now();
    let mut runs = 0u64;
    let run = |input: &[u8]| {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| target(input)));
        if outcome.is_err() {
            let path = std::env::temp_dir().join(format!("retrain-fuzz-{name}-crash"));
            let _ = std::fs::write(&path, input);
            panic!(
                "fuzz target `{name}` panicked on {} bytes (saved to {}): {:?}",
                input.len(),
                path.display(),
                String::from_utf8_lossy(&input[..input.len().min(300)])
            );
        }
    };
    for s in &seeds {
        run(s);
        runs += 1;
    }
    loop {
        match budget {
            Some(b) if started.elapsed() >= b => break,
            None if runs >= iterations => break,
            _ => {}
        }
        run(&mutate(&mut rng, &seeds));
        runs += 1;
    }
    if budget.is_some() {
        eprintln!(
            "fuzz {name}: {runs} inputs in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    runs
}

fn text(input: &[u8]) -> String {
    String::from_utf8_lossy(input).into_owned()
}

#[test]
fn config_parsing_and_validation() {
    fuzz("config", 1, |input| {
        let _ = retrain::config::parse(Path::new("retrain.yaml"), &text(input));
    });
}

#[test]
fn webhook_intake() {
    let secrets = ["it's-a-secret"];
    fuzz("webhook", 2, |input| {
        // as the intake does: the signature on the raw bytes first, then the payload
        let signature = retrain::server::intake::sign(secrets[0], input);
        assert!(signature.starts_with("sha256="));
        for kind in retrain::server::event::HANDLED.iter().chain(&["check_run"]) {
            let _ = retrain::server::event::parse(kind, input);
        }
        let _ = retrain::server::event::parse_command(&text(input));
    });
}

#[test]
fn pr_body_marker() {
    fuzz("marker", 3, |input| {
        let _ = retrain::report::documents::Marker::parse(&text(input));
    });
}

#[test]
fn registry_pointer() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("models/m/registry.yaml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    fuzz("registry", 4, |input| {
        std::fs::write(&file, input).unwrap();
        let _ = retrain::registry::read(dir.path(), "models/m");
    });
}

#[test]
fn snapshot_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let id = "a".repeat(64);
    let store = retrain::snapshot::manifest::Store::new(dir.path());
    let file = dir.path().join(format!(".retrain/snapshots/{id}.yaml"));
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    fuzz("manifest", 5, |input| {
        std::fs::write(&file, input).unwrap();
        let _ = store.read(&id);
    });
}

/// A data file read as a snapshot reads it: schema, columns, profile.
fn snapshot_of(name: &str, ext: &str, seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let config = retrain::config::parse(
        Path::new("retrain.yaml"),
        &format!("version: 1\nmodels:\n  - name: m\n    task: classification\n    target: label\n    data: {{ path: data/*.{ext} }}\n"),
    )
    .unwrap();
    let model = &config.models[0];
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    let file = dir.path().join(format!("data/a.{ext}"));
    fuzz(name, seed, |input| {
        let _ = std::fs::remove_dir_all(dir.path().join(".retrain"));
        std::fs::write(&file, input).unwrap();
        let _ = retrain::snapshot::create(dir.path(), model);
    });
}

#[test]
fn csv_reading() {
    snapshot_of("csv", "csv", 6);
}

#[test]
fn parquet_reading() {
    snapshot_of("parquet", "parquet", 7);
}
