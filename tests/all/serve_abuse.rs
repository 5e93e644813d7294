//! `retrain serve` under hostile clients: unsigned floods with made-up event names,
//! slow clients that never finish a request, more connections than it takes.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support::webhooks::{http, Bot};

/// Regression (D2): every unsigned request's `X-GitHub-Event` became a metrics label,
/// so a flood of made-up names grew `/metrics` (and memory) without bound.
#[test]
fn unsigned_requests_with_made_up_event_names_do_not_grow_the_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let bot = Bot::start(&dir.path().join("bot"), &["--mode", "none"], &[]);
    for i in 0..300 {
        let name = format!("{i:04}{}", "x".repeat(4000));
        let a = http(
            &bot.addr,
            "POST",
            "/webhook",
            &[("X-GitHub-Event", &name), ("X-GitHub-Delivery", "d")],
            b"{}",
        );
        assert_eq!(a.status, 401);
    }
    let metrics = http(&bot.addr, "GET", "/metrics", &[], b"").body;
    assert!(metrics.len() < 20_000, "{} bytes", metrics.len());
    assert!(
        metrics
            .contains("retrain_webhook_deliveries_total{event=\"other\",outcome=\"unsigned\"} 300"),
        "{metrics}"
    );
    assert!(!metrics.contains("xxxx"), "{metrics}");
}

/// Sends `head`, then one byte of `drip` every 200 ms; how long until the server
/// closed the connection (`None`: still open after `give_up`).
fn drip(addr: &str, head: &[u8], drip: u8, give_up: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    s.write_all(head).unwrap();
    let mut buf = [0u8; 512];
    while started.elapsed() < give_up {
        match s.read(&mut buf) {
            Ok(0) => return Some(started.elapsed()),
            Ok(_) => {} // an answer (408 and the like): wait for the close
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return Some(started.elapsed()),
        }
        if s.write_all(&[drip]).is_err() {
            return Some(started.elapsed());
        }
    }
    None
}

/// Regression (D5): slow clients held connections open indefinitely (no header, body
/// or idle timeout).
#[test]
fn slow_clients_are_cut_off_by_the_header_and_connection_timeouts() {
    let dir = tempfile::tempdir().unwrap();
    let bot = Bot::start(
        &dir.path().join("bot"),
        &[
            "--mode",
            "none",
            "--header-timeout",
            "1s",
            "--connection-timeout",
            "3s",
        ],
        &[],
    );
    let give_up = Duration::from_secs(12);
    let addr = bot.addr.clone();
    let headers = std::thread::spawn(move || {
        // headers that never end: one byte of a header line at a time
        drip(&addr, b"POST /webhook HTTP/1.1\r\nX-Slow: ", b'a', give_up)
    });
    let addr = bot.addr.clone();
    let body = std::thread::spawn(move || {
        // complete headers, then a body that never arrives
        let head = format!("POST /webhook HTTP/1.1\r\nHost: {addr}\r\nX-GitHub-Event: push\r\nContent-Length: 100000\r\n\r\n");
        drip(&addr, head.as_bytes(), b' ', give_up)
    });
    let idle = {
        let addr = bot.addr.clone();
        std::thread::spawn(move || drip(&addr, b"", b'\0', give_up).map(|_| ()))
    };
    let headers = headers
        .join()
        .unwrap()
        .expect("the dripping headers were cut off");
    assert!(headers < Duration::from_secs(6), "{headers:?}");
    let body = body.join().unwrap().expect("the dripping body was cut off");
    assert!(body < Duration::from_secs(8), "{body:?}");
    idle.join()
        .unwrap()
        .expect("the idle connection was cut off");
    assert_eq!(http(&bot.addr, "GET", "/healthz", &[], b"").status, 200);
}

/// Connections beyond `--max-connections` are closed at once; the ones within are served.
#[test]
fn connections_beyond_the_limit_are_closed_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let bot = Bot::start(
        &dir.path().join("bot"),
        &[
            "--mode",
            "none",
            "--max-connections",
            "3",
            "--header-timeout",
            "5s",
        ],
        &[],
    );
    let held: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(&bot.addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut extra = TcpStream::connect(&bot.addr).unwrap();
    extra
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let mut buf = [0u8; 16];
    let n = extra.read(&mut buf);
    assert!(
        matches!(n, Ok(0) | Err(_)),
        "a fourth connection was kept open: {n:?}"
    );
    drop(held);
    // once they are gone, the bot answers again
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ok =
            std::panic::catch_unwind(|| http(&bot.addr, "GET", "/healthz", &[], b"").status == 200);
        if ok.unwrap_or(false) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the bot did not answer after the connections closed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
