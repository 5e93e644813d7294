//! `POST /webhook`: the signature is checked on the raw bytes before anything is
//! parsed (HMAC-SHA256, constant time, any of the configured secrets so they can be
//! rotated); then the payload is parsed, the delivery and its job are committed to the
//! store, and only then GitHub gets its 202. Statuses: 401 unsigned or badly signed,
//! 413 over the size limit (axum's body limit), 400 malformed, 200 for `ping`,
//! 202 accepted (also for a duplicate delivery, which is not queued again), 503 when
//! the store cannot commit (GitHub shows the delivery as failed; redeliver it).

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use hmac::{Hmac, Mac};
use octocrab::models::webhook_events::verification::WebhookVerifier;
use rusqlite::OptionalExtension;
use serde_json::json;

use super::event::{self, Event};
use super::job::Job;
use super::store::{self, Store, StoreError};
use super::AppState;

/// GitHub caps webhook payloads at 25 MB.
pub const MAX_BODY: usize = 25 * 1024 * 1024;

/// The configured webhook secrets (several during a rotation). Never printed.
pub struct Secrets(Vec<WebhookVerifier>);

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets({} × ***)", self.0.len())
    }
}

impl Secrets {
    /// From `a,b,c`; empty entries are dropped.
    pub fn new(list: &str) -> Secrets {
        Secrets(
            list.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(WebhookVerifier::new)
                .collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `signature` (`sha256=<hex>`) is the HMAC of `body` under any secret.
    pub fn verify(&self, signature: &str, body: &[u8]) -> bool {
        self.0.iter().any(|v| v.verify(signature, body).is_ok())
    }
}

/// `sha256=<hex>`: the `X-Hub-Signature-256` GitHub sends for `body` under `secret`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// What happened to a delivery.
#[derive(Debug, PartialEq, Eq)]
pub enum Accepted {
    /// Recorded; `job` is the job it created.
    New { job: Option<i64> },
    /// Seen before (same `X-GitHub-Delivery`): nothing new is queued.
    Duplicate { job: Option<i64> },
}

pub async fn webhook(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let kind = header("x-github-event").unwrap_or("").to_string();
    // The metrics label is one of a fixed set, whatever the header says: a label per
    // sender-chosen string would let unsigned requests grow /metrics without bound.
    let label = match kind.as_str() {
        "" => "unknown",
        k => super::event::HANDLED
            .iter()
            .copied()
            .find(|h| *h == k)
            .unwrap_or("other"),
    };
    let reply = |status: StatusCode, outcome: &str, body: serde_json::Value| {
        state
            .metrics
            .delivery(label, outcome, started.elapsed().as_secs_f64());
        (status, Json(body)).into_response()
    };
    let Some(signature) = header("x-hub-signature-256") else {
        return reply(
            StatusCode::UNAUTHORIZED,
            "unsigned",
            json!({ "error": "missing X-Hub-Signature-256" }),
        );
    };
    if !state.secrets.verify(signature, &body) {
        return reply(
            StatusCode::UNAUTHORIZED,
            "bad_signature",
            json!({ "error": "the signature does not match" }),
        );
    }
    let delivery = header("x-github-delivery").unwrap_or("").to_string();
    if kind.is_empty() || delivery.is_empty() || delivery.len() > 100 {
        return reply(
            StatusCode::BAD_REQUEST,
            "malformed",
            json!({ "error": "missing X-GitHub-Event or X-GitHub-Delivery" }),
        );
    }
    let event = match event::parse(&kind, &body) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(%delivery, event = %kind, "malformed payload: {e}");
            return reply(
                StatusCode::BAD_REQUEST,
                "malformed",
                json!({ "error": format!("malformed `{kind}` payload: {e}") }),
            );
        }
    };
    if event == Event::Ping {
        return reply(StatusCode::OK, "pong", json!({ "pong": true }));
    }
    match accept(&state.store, &kind, &delivery, &event).await {
        Ok(Accepted::New { job }) => {
            if job.is_some() {
                state.wake.notify_one();
            }
            if matches!(&event, Event::Track { added, .. } if !added.is_empty()) {
                state.tracked.notify_one();
            }
            let outcome = match (&event, job) {
                (Event::Ignored(_), _) => "ignored",
                (Event::Track { .. }, _) => "tracked",
                (_, Some(_)) => "queued",
                (_, None) => "ignored",
            };
            let why = match &event {
                Event::Ignored(why) => Some(why.clone()),
                _ => None,
            };
            reply(
                StatusCode::ACCEPTED,
                outcome,
                json!({ "delivery": delivery, "outcome": outcome, "job": job, "reason": why }),
            )
        }
        Ok(Accepted::Duplicate { job }) => reply(
            StatusCode::ACCEPTED,
            "duplicate",
            json!({ "delivery": delivery, "outcome": "duplicate", "job": job }),
        ),
        Err(e) => {
            tracing::error!(%delivery, "storing the delivery: {e}");
            reply(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_error",
                json!({ "error": "the delivery could not be stored; redeliver it" }),
            )
        }
    }
}

/// Records the delivery, its job and its tracking changes in one transaction.
pub async fn accept(
    store: &Store,
    kind: &str,
    delivery: &str,
    event: &Event,
) -> Result<Accepted, StoreError> {
    let job = Job::from_event(event).map(|j| {
        (
            j.repo.full_name.clone(),
            j.kind(),
            serde_json::to_string(&j).expect("a job serialises"),
        )
    });
    let track = match event {
        Event::Track {
            installation,
            added,
            removed,
        } => Some((*installation, added.clone(), removed.clone())),
        _ => None,
    };
    let outcome = event.kind();
    let (kind, delivery) = (kind.to_string(), delivery.to_string());
    store
        .call(move |c| {
            let now = store::now();
            let inserted = c.execute(
                "INSERT INTO deliveries (id, event, received_at, outcome) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(id) DO NOTHING",
                (&delivery, &kind, &now, outcome),
            )?;
            if inserted == 0 {
                let job = c
                    .query_row(
                        "SELECT job FROM deliveries WHERE id = ?1",
                        [&delivery],
                        |r| r.get::<_, Option<i64>>(0),
                    )
                    .optional()?
                    .flatten();
                return Ok(Accepted::Duplicate { job });
            }
            let mut id = None;
            if let Some((repo, job_kind, spec)) = job {
                c.execute(
                    "INSERT INTO jobs (delivery, repo, kind, spec, not_before, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                    (&delivery, &repo, job_kind, &spec, &now),
                )?;
                let rowid = c.last_insert_rowid();
                c.execute(
                    "UPDATE deliveries SET job = ?2 WHERE id = ?1",
                    (&delivery, rowid),
                )?;
                id = Some(rowid);
            }
            if let Some((installation, added, removed)) = track {
                for r in added {
                    c.execute(
                        "INSERT INTO repos (full_name, installation, tracked) VALUES (?1, ?2, 1)
                         ON CONFLICT(full_name) DO UPDATE SET tracked = 1, installation = excluded.installation",
                        (&r, installation as i64),
                    )?;
                }
                for r in removed {
                    c.execute("UPDATE repos SET tracked = 0 WHERE full_name = ?1", [&r])?;
                }
            }
            Ok(Accepted::New { job: id })
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GitHub's documented example (docs: "Validating webhook deliveries").
    #[test]
    fn githubs_test_vector() {
        let sig = sign("It's a Secret to Everybody", b"Hello, World!");
        assert_eq!(
            sig,
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
        let secrets = Secrets::new("old-secret, It's a Secret to Everybody");
        assert!(secrets.verify(&sig, b"Hello, World!"));
        assert!(!secrets.verify(&sig, b"Hello, World?"));
        assert!(!Secrets::new("old-secret").verify(&sig, b"Hello, World!"));
        assert!(!secrets.verify("sha1=0123", b"Hello, World!"));
        assert!(!format!("{secrets:?}").contains("Secret to"));
    }
}
