//! Load generator for `retrain serve` (bench/webhook.sh): signed `push` deliveries at
//! fixed rates, open loop (each request has an intended send time; latency is counted
//! from it, so a slow server cannot hide queueing by slowing the sender), over a pool of
//! keep-alive HTTP/1.1 connections on loopback. Every 100th delivery is sent twice, as
//! a GitHub redelivery, to check deduplication.
//!
//! ```text
//! cargo run --profile bench-fast --example webhook-load -- \
//!     --addr 127.0.0.1:8080 --secret S --payload push.json --rates 100,250,500,1000 \
//!     --seconds 10 --max 10000 --connections 64 > results.jsonl
//! ```
//! Prints one JSON line per rate (sent, accepted, errors, throughput, latency
//! percentiles) on stdout and the delivery ids the server accepted, one per line, to
//! `--ids FILE` (for the lost / duplicated check against the server's database).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Mutex};

struct Args {
    addr: String,
    secret: String,
    payload: Value,
    rates: Vec<u32>,
    seconds: f64,
    max: usize,
    connections: usize,
    repos: usize,
    ids: Option<String>,
}

fn parse_args() -> Args {
    let mut a = Args {
        addr: "127.0.0.1:8080".into(),
        secret: String::new(),
        payload: Value::Null,
        rates: vec![100, 250, 500, 1000],
        seconds: 10.0,
        max: 10_000,
        connections: 64,
        repos: 50,
        ids: None,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut it = argv.iter();
    while let Some(k) = it.next() {
        let mut v = || it.next().cloned().unwrap_or_else(|| usage(k));
        match k.as_str() {
            "--addr" => a.addr = v(),
            "--secret" => a.secret = v(),
            "--payload" => {
                let path = v();
                let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
                a.payload = serde_json::from_slice(&text).expect("payload is JSON");
            }
            "--rates" => {
                a.rates = v()
                    .split(',')
                    .map(|r| r.parse().expect("rates: numbers"))
                    .collect()
            }
            "--seconds" => a.seconds = v().parse().expect("seconds"),
            "--max" => a.max = v().parse().expect("max"),
            "--connections" => a.connections = v().parse().expect("connections"),
            "--repos" => a.repos = v().parse().expect("repos"),
            "--ids" => a.ids = Some(v()),
            _ => usage(k),
        }
    }
    if a.secret.is_empty() || a.payload.is_null() {
        usage("--secret and --payload are required");
    }
    a
}

fn usage(what: &str) -> ! {
    eprintln!("webhook-load: bad argument `{what}`; see the header of examples/webhook-load.rs");
    std::process::exit(2)
}

/// One request to send: its delivery id, which body, and when it should leave.
struct Shot {
    delivery: String,
    body: usize,
    at: Instant,
}

struct Outcome {
    delivery: String,
    status: u16,
    latency: Duration,
}

async fn connect(addr: &str) -> BufReader<TcpStream> {
    let s = TcpStream::connect(addr).await.expect("connect");
    s.set_nodelay(true).ok();
    BufReader::new(s)
}

/// Sends one request on a keep-alive connection; returns the status.
async fn send(
    conn: &mut BufReader<TcpStream>,
    addr: &str,
    delivery: &str,
    body: &[u8],
    signature: &str,
) -> std::io::Result<u16> {
    let head = format!(
        "POST /webhook HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nX-GitHub-Event: push\r\nX-GitHub-Delivery: {delivery}\r\nX-Hub-Signature-256: {signature}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let s = conn.get_mut();
    s.write_all(head.as_bytes()).await?;
    s.write_all(body).await?;
    let mut line = String::new();
    conn.read_line(&mut line).await?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
    let mut length = 0usize;
    loop {
        line.clear();
        if conn.read_line(&mut line).await? == 0 {
            return Err(std::io::Error::other("connection closed"));
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut buf = vec![0; length];
    conn.read_exact(&mut buf).await?;
    Ok(status)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    // one body per repository, signed once (the server verifies every request)
    let bodies: Arc<Vec<(Vec<u8>, String)>> = Arc::new(
        (0..args.repos.max(1))
            .map(|i| {
                let mut p = args.payload.clone();
                p["repository"]["full_name"] = format!("load/repo-{i}").into();
                p["repository"]["name"] = format!("repo-{i}").into();
                let body = serde_json::to_vec(&p).expect("serialise");
                let sig = retrain::server::intake::sign(&args.secret, &body);
                (body, sig)
            })
            .collect(),
    );
    let mut ids_out = Vec::new();
    for &rate in &args.rates {
        let count = ((rate as f64 * args.seconds) as usize).min(args.max);
        let (tx, rx) = mpsc::channel::<Shot>(count + 16);
        let rx = Arc::new(Mutex::new(rx));
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Outcome>();
        let mut workers = Vec::new();
        for _ in 0..args.connections {
            let rx = rx.clone();
            let done = done_tx.clone();
            let bodies = bodies.clone();
            let addr = args.addr.clone();
            workers.push(tokio::spawn(async move {
                let mut conn = connect(&addr).await;
                loop {
                    let shot = { rx.lock().await.recv().await };
                    let Some(shot) = shot else { break };
                    let (body, sig) = &bodies[shot.body];
                    let status = match send(&mut conn, &addr, &shot.delivery, body, sig).await {
                        Ok(s) => s,
                        Err(_) => {
                            conn = connect(&addr).await;
                            0
                        }
                    };
                    let _ = done.send(Outcome {
                        delivery: shot.delivery,
                        status,
                        latency: shot.at.elapsed(),
                    });
                }
            }));
        }
        drop(done_tx);
        let start = Instant::now() + Duration::from_millis(200);
        let interval = Duration::from_secs_f64(1.0 / rate as f64);
        let mut n = 0;
        for i in 0..count {
            let at = start + interval * i as u32;
            tokio::time::sleep_until(at.into()).await;
            let delivery = format!("load-{rate}-{i}");
            let body = i % bodies.len();
            tx.send(Shot {
                delivery: delivery.clone(),
                body,
                at,
            })
            .await
            .expect("workers alive");
            n += 1;
            if i % 100 == 99 {
                // a redelivery of the same id: must be answered, never queued twice
                tx.send(Shot { delivery, body, at })
                    .await
                    .expect("workers alive");
                n += 1;
            }
        }
        drop(tx);
        let mut latencies = Vec::with_capacity(n);
        let (mut accepted, mut errors) = (0usize, 0usize);
        while let Some(o) = done_rx.recv().await {
            if o.status == 202 {
                accepted += 1;
                ids_out.push(o.delivery);
            } else {
                errors += 1;
            }
            latencies.push(o.latency);
        }
        let elapsed = start.elapsed().as_secs_f64();
        for w in workers {
            let _ = w.await;
        }
        latencies.sort();
        println!(
            "{}",
            json!({
                "rate": rate,
                "sent": n,
                "accepted": accepted,
                "errors": errors,
                "seconds": (elapsed * 1000.0).round() / 1000.0,
                "throughput": ((n as f64 / elapsed) * 10.0).round() / 10.0,
                "p50_ms": percentile(&latencies, 0.50),
                "p90_ms": percentile(&latencies, 0.90),
                "p99_ms": percentile(&latencies, 0.99),
                "max_ms": latencies.last().map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0),
            })
        );
    }
    if let Some(path) = args.ids {
        ids_out.sort();
        ids_out.dedup();
        std::fs::write(&path, ids_out.join("\n") + "\n").expect("write --ids");
    }
}
