//! Prometheus metrics in the text exposition format, written by hand: delivery
//! counts by event and outcome, acknowledgement latency, job durations; job counts by
//! status are read from the store at scrape time.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Upper bounds (seconds) of the acknowledgement-latency histogram.
const ACK_BUCKETS: &[f64] = &[0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1.0];

#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    deliveries: BTreeMap<(String, String), u64>,
    ack_buckets: Vec<u64>,
    ack_sum: f64,
    ack_count: u64,
    /// kind -> (seconds, count)
    jobs: BTreeMap<String, (f64, u64)>,
}

impl Metrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn delivery(&self, event: &str, outcome: &str, seconds: f64) {
        let mut m = self.lock();
        *m.deliveries
            .entry((event.to_string(), outcome.to_string()))
            .or_default() += 1;
        if m.ack_buckets.is_empty() {
            m.ack_buckets = vec![0; ACK_BUCKETS.len()];
        }
        for (i, b) in ACK_BUCKETS.iter().enumerate() {
            if seconds <= *b {
                m.ack_buckets[i] += 1;
            }
        }
        m.ack_sum += seconds;
        m.ack_count += 1;
    }

    pub fn job_duration(&self, kind: &str, seconds: f64) {
        let mut m = self.lock();
        let e = m.jobs.entry(kind.to_string()).or_default();
        e.0 += seconds;
        e.1 += 1;
    }

    /// The exposition text; `jobs` are counts by status from the store.
    pub fn render(&self, jobs: &[(String, i64)]) -> String {
        let m = self.lock();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP retrain_webhook_deliveries_total Webhook deliveries by event and outcome.\n# TYPE retrain_webhook_deliveries_total counter"
        );
        for ((event, outcome), n) in &m.deliveries {
            let _ = writeln!(
                out,
                "retrain_webhook_deliveries_total{{event=\"{}\",outcome=\"{}\"}} {n}",
                label(event),
                label(outcome)
            );
        }
        let _ = writeln!(
            out,
            "# HELP retrain_webhook_ack_seconds Time from request to acknowledgement.\n# TYPE retrain_webhook_ack_seconds histogram"
        );
        for (i, b) in ACK_BUCKETS.iter().enumerate() {
            let n = m.ack_buckets.get(i).copied().unwrap_or(0);
            let _ = writeln!(out, "retrain_webhook_ack_seconds_bucket{{le=\"{b}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "retrain_webhook_ack_seconds_bucket{{le=\"+Inf\"}} {c}\nretrain_webhook_ack_seconds_sum {s}\nretrain_webhook_ack_seconds_count {c}",
            c = m.ack_count,
            s = m.ack_sum
        );
        let _ = writeln!(
            out,
            "# HELP retrain_jobs Jobs in the store by status.\n# TYPE retrain_jobs gauge"
        );
        for status in ["queued", "running", "done", "failed"] {
            let n = jobs
                .iter()
                .find(|(s, _)| s == status)
                .map_or(0, |(_, n)| *n);
            let _ = writeln!(out, "retrain_jobs{{status=\"{status}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "# HELP retrain_job_seconds Time spent executing jobs (attempts included).\n# TYPE retrain_job_seconds summary"
        );
        for (kind, (sum, count)) in &m.jobs {
            let _ = writeln!(
                out,
                "retrain_job_seconds_sum{{kind=\"{kind}\"}} {sum}\nretrain_job_seconds_count{{kind=\"{kind}\"}} {count}"
            );
        }
        out
    }
}

fn label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histogram_and_gauges() {
        let m = Metrics::default();
        m.delivery("push", "queued", 0.003);
        m.delivery("push", "queued", 0.03);
        let text = m.render(&[("done".into(), 2)]);
        assert!(
            text.contains("retrain_webhook_deliveries_total{event=\"push\",outcome=\"queued\"} 2")
        );
        assert!(text.contains("retrain_webhook_ack_seconds_bucket{le=\"0.005\"} 1"));
        assert!(text.contains("retrain_webhook_ack_seconds_bucket{le=\"+Inf\"} 2"));
        assert!(text.contains("retrain_jobs{status=\"done\"} 2"));
        assert!(text.contains("retrain_jobs{status=\"failed\"} 0"));
    }
}
