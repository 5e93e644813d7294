//! The HTTP listener of `retrain serve`: HTTP/1.1 connections under limits, so that
//! clients that never finish (slowloris, a stuck proxy) cannot hold the bot. It owns the
//! accept loop and the connection limits; routing and handlers live in [`super`] and
//! [`super::intake`].
//!
//! | limit | flag | default |
//! |---|---|---|
//! | time to receive a request's headers | `--header-timeout` | 10 s |
//! | lifetime of a connection (headers, body, answer, keep-alive) | `--connection-timeout` | 60 s |
//! | connections open at once; more are closed at once | `--max-connections` | 256 |
//!
//! GitHub gives up on a delivery after 10 s, and opens one connection per delivery, so
//! the defaults never cut a real delivery short.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_timeout: Duration,
    pub connection_timeout: Duration,
    pub max_connections: usize,
}

/// Serves `app` on `listener` until `shutdown` completes, then waits for the open
/// connections (each bounded by the connection timeout).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let max = limits.max_connections.max(1);
    let permits = Arc::new(Semaphore::new(max));
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // out of file descriptors and the like: wait, do not spin
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::debug!(max, "connection limit reached: closing a new connection");
            drop(stream);
            continue;
        };
        let service = TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let _permit = permit;
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .serve_connection(TokioIo::new(stream), service);
            if tokio::time::timeout(limits.connection_timeout, connection)
                .await
                .is_err()
            {
                tracing::debug!("connection closed: open longer than the connection timeout");
            }
        });
    }
    let _ = tokio::time::timeout(limits.connection_timeout, permits.acquire_many(max as u32)).await;
}
