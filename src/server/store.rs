//! The bot's memory: an embedded SQLite database (WAL, `synchronous=FULL`) under
//! `--data-dir` holding every accepted delivery, the job it created, and the
//! repositories the app tracks. A delivery and its job are committed before GitHub
//! gets its 202, so a crash can lose neither; the delivery id is the primary key, so a
//! redelivery is recognised and never runs twice.
//!
//! One thread owns the connection; callers send it closures. Closures that arrive
//! together share one transaction (group commit: one fsync for many deliveries), each
//! in its own savepoint, and learn their result only after the commit.

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use rusqlite::Connection;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database `{path}`: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("database: the commit failed")]
    Commit,
    #[error("database: the store thread has stopped")]
    Closed,
}

type Deliver = Box<dyn FnOnce(bool) + Send>;
type Op = Box<dyn FnOnce(&Connection) -> Deliver + Send>;

/// A handle on the store thread; cheap to clone.
#[derive(Clone)]
pub struct Store {
    ops: mpsc::Sender<Op>,
}

/// Most operations per transaction.
const BATCH: usize = 512;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS deliveries (
    id          TEXT PRIMARY KEY,
    event       TEXT NOT NULL,
    received_at TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    job         INTEGER
);
CREATE TABLE IF NOT EXISTS jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery    TEXT NOT NULL UNIQUE,
    repo        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    spec        TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'queued',
    attempts    INTEGER NOT NULL DEFAULT 0,
    not_before  TEXT NOT NULL,
    error       TEXT,
    result      TEXT,
    created_at  TEXT NOT NULL,
    started_at  TEXT,
    finished_at TEXT
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status, id);
CREATE TABLE IF NOT EXISTS repos (
    full_name     TEXT PRIMARY KEY,
    installation  INTEGER,
    tracked       INTEGER NOT NULL DEFAULT 1,
    last_schedule TEXT
);
";

impl Store {
    /// Opens (creates) `<dir>/retrain-bot.sqlite3` and starts its thread.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let path = dir.join("retrain-bot.sqlite3");
        let open = |source| StoreError::Open {
            path: path.clone(),
            source,
        };
        let conn = Connection::open(&path).map_err(open)?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;",
        )
        .map_err(open)?;
        conn.execute_batch(SCHEMA).map_err(open)?;
        let (tx, rx) = mpsc::channel::<Op>();
        std::thread::Builder::new()
            .name("retrain-store".into())
            .spawn(move || run(conn, rx))
            .map_err(|e| StoreError::Open {
                path: path.clone(),
                source: rusqlite::Error::ToSqlConversionFailure(Box::new(e)),
            })?;
        Ok(Store { ops: tx })
    }

    /// Runs `f` in the store thread inside a transaction; its result arrives after
    /// the commit (an error rolls back only `f`'s own changes).
    pub async fn call<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<R> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel::<Result<R, StoreError>>();
        let op: Op = Box::new(move |conn: &Connection| {
            let result = savepoint(conn, f);
            Box::new(move |committed: bool| {
                let _ = tx.send(match result {
                    Ok(r) if committed => Ok(r),
                    Ok(_) => Err(StoreError::Commit),
                    Err(e) => Err(StoreError::Sql(e)),
                });
            })
        });
        self.ops.send(op).map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }
}

fn savepoint<R>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> rusqlite::Result<R>,
) -> rusqlite::Result<R> {
    conn.execute_batch("SAVEPOINT op")?;
    match f(conn) {
        Ok(r) => {
            conn.execute_batch("RELEASE op")?;
            Ok(r)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK TO op; RELEASE op");
            Err(e)
        }
    }
}

fn run(conn: Connection, rx: mpsc::Receiver<Op>) {
    while let Ok(first) = rx.recv() {
        let mut ops = vec![first];
        while ops.len() < BATCH {
            match rx.try_recv() {
                Ok(op) => ops.push(op),
                Err(_) => break,
            }
        }
        let began = conn.execute_batch("BEGIN IMMEDIATE").is_ok();
        let deliveries: Vec<Deliver> = ops.into_iter().map(|op| op(&conn)).collect();
        let committed = began && conn.execute_batch("COMMIT").is_ok();
        if !committed {
            tracing::error!(
                "database: a commit failed; {} operations lost",
                deliveries.len()
            );
            let _ = conn.execute_batch("ROLLBACK");
        }
        for d in deliveries {
            d(committed);
        }
    }
}

/// Now, as stored (RFC 3339, UTC, milliseconds: sorts as text).
pub fn now() -> String {
    stamp(chrono::Utc::now())
}

pub fn stamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn a_failed_operation_does_not_undo_its_neighbours() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let insert = |id: &'static str| {
            let s = store.clone();
            async move {
                s.call(move |c| {
                    c.execute(
                        "INSERT INTO deliveries (id, event, received_at, outcome) VALUES (?1, 'push', ?2, 'queued')",
                        (id, now()),
                    )
                })
                .await
            }
        };
        let (a, b, c) = tokio::join!(insert("a"), insert("a"), insert("b"));
        assert_eq!(
            [a.is_ok(), b.is_ok(), c.is_ok()]
                .iter()
                .filter(|x| **x)
                .count(),
            2
        );
        let n: i64 = store
            .call(|c| c.query_row("SELECT count(*) FROM deliveries", [], |r| r.get(0)))
            .await
            .unwrap();
        assert_eq!(n, 2);
    }
}
