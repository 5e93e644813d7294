//! The job queue over the store: jobs of one repository run one at a time and in
//! order, different repositories in parallel up to a bound; failures are retried with
//! exponential backoff and end as `failed` with the error kept; at start-up, jobs a
//! previous process left `running` (killed, crashed) are queued again.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::OptionalExtension;
use tokio::sync::{watch, Notify};

use super::job::{Executor, Job};
use super::metrics::Metrics;
use super::store::{self, Store, StoreError};

pub struct Queue {
    pub store: Store,
    pub executor: Arc<Executor>,
    pub metrics: Arc<Metrics>,
    /// Wakes the dispatcher (a job was queued or finished).
    pub wake: Arc<Notify>,
    pub parallel: usize,
    pub attempts: u32,
    /// The first retry's delay; doubled for each further attempt.
    pub backoff: Duration,
    busy: Mutex<HashSet<String>>,
}

struct Claimed {
    id: i64,
    repo: String,
    spec: String,
    attempts: u32,
}

impl Queue {
    pub fn new(
        store: Store,
        executor: Arc<Executor>,
        metrics: Arc<Metrics>,
        parallel: usize,
        attempts: u32,
        backoff: Duration,
    ) -> Arc<Self> {
        Arc::new(Queue {
            store,
            executor,
            metrics,
            wake: Arc::new(Notify::new()),
            parallel: parallel.max(1),
            attempts: attempts.max(1),
            backoff,
            busy: Mutex::new(HashSet::new()),
        })
    }

    /// Jobs left `running` by an earlier process go back to the queue.
    pub async fn resume(store: &Store) -> Result<usize, StoreError> {
        store
            .call(|c| {
                c.execute(
                    "UPDATE jobs SET status = 'queued', not_before = ?1 WHERE status = 'running'",
                    [store::now()],
                )
            })
            .await
    }

    fn busy(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.busy.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Claims and starts runnable jobs until `stop` turns true; then waits for the
    /// running ones for up to `grace` (those still running stay `running` in the store
    /// and are resumed by the next start).
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>, grace: Duration) {
        loop {
            if *stop.borrow() {
                break;
            }
            self.dispatch().await;
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = stop.changed() => {}
            }
        }
        let deadline = Instant::now() + grace;
        while !self.busy().is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let left = self.busy().len();
        if left > 0 {
            tracing::warn!(
                jobs = left,
                "shutting down with jobs running; they resume at the next start"
            );
        }
    }

    async fn dispatch(self: &Arc<Self>) {
        let busy: HashSet<String> = self.busy().clone();
        let free = self.parallel.saturating_sub(busy.len());
        if free == 0 {
            return;
        }
        let claimed = self
            .store
            .call(move |c| claim(c, &busy, free))
            .await
            .unwrap_or_else(|e| {
                tracing::error!("claiming jobs: {e}");
                Vec::new()
            });
        for job in claimed {
            self.busy().insert(job.repo.clone());
            let q = self.clone();
            tokio::spawn(async move {
                let repo = job.repo.clone();
                q.execute(job).await;
                q.busy().remove(&repo);
                q.wake.notify_one();
            });
        }
    }

    async fn execute(&self, claimed: Claimed) {
        let started = Instant::now();
        let job: Job = match serde_json::from_str(&claimed.spec) {
            Ok(j) => j,
            Err(e) => {
                self.finish(
                    claimed.id,
                    Ended::Failed(format!("unreadable job: {e}")),
                    None,
                    "failed",
                )
                .await;
                return;
            }
        };
        let last = claimed.attempts >= self.attempts;
        tracing::info!(job = claimed.id, repo = %claimed.repo, kind = job.kind(), attempt = claimed.attempts, "job started");
        let result = self.executor.execute(&job, last).await;
        self.metrics
            .job_duration(job.kind(), started.elapsed().as_secs_f64());
        match result {
            Ok(summary) => {
                tracing::info!(job = claimed.id, "job done");
                self.finish(claimed.id, Ended::Done(summary.to_string()), None, "done")
                    .await
            }
            Err(e) if e.retry && !last => {
                let delay = self.backoff * 2u32.saturating_pow(claimed.attempts.saturating_sub(1));
                tracing::warn!(job = claimed.id, error = %e.message, retry_in = ?delay, "job failed; will retry");
                let at = chrono::Utc::now()
                    + chrono::TimeDelta::from_std(delay).unwrap_or(chrono::TimeDelta::MAX);
                self.finish(
                    claimed.id,
                    Ended::Failed(e.message),
                    Some(store::stamp(at)),
                    "queued",
                )
                .await
            }
            Err(e) => {
                tracing::error!(job = claimed.id, error = %e.message, "job failed");
                self.finish(claimed.id, Ended::Failed(e.message), None, "failed")
                    .await
            }
        }
    }

    async fn finish(
        &self,
        id: i64,
        outcome: Ended,
        not_before: Option<String>,
        status: &'static str,
    ) {
        let (ok, err) = match outcome {
            Ended::Done(summary) => (Some(summary), None),
            Ended::Failed(message) => (None, Some(message)),
        };
        let done = self
            .store
            .call(move |c| {
                c.execute(
                    "UPDATE jobs SET status = ?2, result = ?3, error = ?4, not_before = coalesce(?5, not_before),
                     finished_at = CASE WHEN ?2 IN ('done', 'failed') THEN ?6 ELSE NULL END
                     WHERE id = ?1",
                    rusqlite::params![id, status, ok, err, not_before, store::now()],
                )
            })
            .await;
        if let Err(e) = done {
            tracing::error!(job = id, "recording the job's end: {e}");
        }
    }
}

/// How a job attempt ended, as the store records it: the job's summary (JSON) or
/// the error's message.
enum Ended {
    Done(String),
    Failed(String),
}

/// The oldest queued job of each repository that is not busy, if it is due; at most
/// `limit`, marked `running`.
fn claim(
    c: &rusqlite::Connection,
    busy: &HashSet<String>,
    limit: usize,
) -> rusqlite::Result<Vec<Claimed>> {
    let now = store::now();
    let mut stmt = c.prepare_cached(
        "SELECT id, repo, spec, attempts, not_before FROM jobs WHERE status = 'queued' ORDER BY id",
    )?;
    let mut seen: HashSet<String> = busy.clone();
    let mut out = Vec::new();
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, u32>(3)?,
            r.get::<_, String>(4)?,
        ))
    })?;
    for row in rows {
        let (id, repo, spec, attempts, not_before) = row?;
        // one job per repository, in order: a later job never overtakes a waiting one
        if !seen.insert(repo.clone()) || not_before > now {
            continue;
        }
        out.push(Claimed {
            id,
            repo,
            spec,
            attempts: attempts + 1,
        });
        if out.len() == limit {
            break;
        }
    }
    for j in &out {
        c.execute(
            "UPDATE jobs SET status = 'running', attempts = ?2, started_at = ?3 WHERE id = ?1",
            rusqlite::params![j.id, j.attempts, now],
        )?;
    }
    Ok(out)
}

/// Counts of jobs by status (for /metrics and /readyz).
pub async fn counts(store: &Store) -> Result<Vec<(String, i64)>, StoreError> {
    store
        .call(|c| {
            let mut stmt =
                c.prepare_cached("SELECT status, count(*) FROM jobs GROUP BY status ORDER BY 1")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })
        .await
}

/// The job a delivery created (tests, diagnostics).
pub async fn job_of(store: &Store, delivery: String) -> Result<Option<i64>, StoreError> {
    store
        .call(move |c| {
            c.query_row("SELECT id FROM jobs WHERE delivery = ?1", [delivery], |r| {
                r.get(0)
            })
            .optional()
        })
        .await
}
