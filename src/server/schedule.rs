//! Schedules: GitHub sends no webhook for them, so the bot queues a `schedule` job for
//! each tracked repository once per interval and records when it last did (in the
//! store, so a restart does not run them all again). The job runs the pipeline, whose
//! own `schedule` trigger decides whether a model is due.

use std::time::Duration;

use tokio::sync::{watch, Notify};

use super::event::Repo;
use super::job::{Action, Job};
use super::store::{self, Store, StoreError};

/// Queues the due repositories' schedule jobs; returns how many.
pub async fn tick(store: &Store, interval: Duration) -> Result<usize, StoreError> {
    let now = chrono::Utc::now();
    let due_before =
        store::stamp(now - chrono::TimeDelta::from_std(interval).unwrap_or(chrono::TimeDelta::MAX));
    let now = store::stamp(now);
    store
        .call(move |c| {
            let due: Vec<(String, Option<i64>)> = {
                let mut stmt = c.prepare_cached(
                    "SELECT full_name, installation FROM repos
                     WHERE tracked = 1 AND (last_schedule IS NULL OR last_schedule <= ?1)
                     ORDER BY full_name",
                )?;
                let rows = stmt.query_map([&due_before], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            for (full_name, installation) in &due {
                let job = Job {
                    repo: Repo {
                        full_name: full_name.clone(),
                        clone_url: None,
                        default_branch: None,
                        installation: installation.map(|i| i as u64),
                    },
                    action: Action::Schedule,
                };
                let delivery = format!("schedule:{full_name}:{now}");
                c.execute(
                    "INSERT INTO deliveries (id, event, received_at, outcome) VALUES (?1, 'schedule', ?2, 'schedule')",
                    (&delivery, &now),
                )?;
                c.execute(
                    "INSERT INTO jobs (delivery, repo, kind, spec, not_before, created_at) VALUES (?1, ?2, 'schedule', ?3, ?4, ?4)",
                    (&delivery, full_name, serde_json::to_string(&job).expect("a job serialises"), &now),
                )?;
                c.execute(
                    "UPDATE deliveries SET job = last_insert_rowid() WHERE id = ?1",
                    [&delivery],
                )?;
                c.execute(
                    "UPDATE repos SET last_schedule = ?2 WHERE full_name = ?1",
                    (full_name, &now),
                )?;
            }
            Ok(due.len())
        })
        .await
}

/// Ticks every minute (or every `interval`, when shorter), and when repositories were
/// added (`tracked`), until `stop`.
pub async fn run(
    store: Store,
    interval: Duration,
    wake: std::sync::Arc<Notify>,
    tracked: std::sync::Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let every = interval.min(Duration::from_secs(60));
    loop {
        match tick(&store, interval).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(repositories = n, "schedule: queued");
                wake.notify_one();
            }
            Err(e) => tracing::error!("schedule: {e}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = tracked.notified() => {}
            _ = stop.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn a_tracked_repository_is_scheduled_once_per_interval() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .call(|c| {
                c.execute_batch(
                    "INSERT INTO repos (full_name, installation, tracked) VALUES ('a/b', 7, 1), ('a/gone', 7, 0)",
                )
            })
            .await
            .unwrap();
        assert_eq!(tick(&store, Duration::from_secs(3600)).await.unwrap(), 1);
        assert_eq!(tick(&store, Duration::from_secs(3600)).await.unwrap(), 0);
        let spec: String = store
            .call(|c| c.query_row("SELECT spec FROM jobs", [], |r| r.get(0)))
            .await
            .unwrap();
        let job: Job = serde_json::from_str(&spec).unwrap();
        assert_eq!(job.action, Action::Schedule);
        assert_eq!(job.repo.installation, Some(7));
    }
}
