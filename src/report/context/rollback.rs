//! The rollback pull request's context.

use serde::Serialize;

use super::dash;
use crate::registry::ModelVersion;

/// One side of a rollback, as the rollback body shows it.
#[derive(Serialize)]
pub struct RollbackSide {
    pub version: u32,
    pub trained_at: String,
    pub snapshot: String,
    pub algorithm: String,
    pub artifact: String,
    pub digest: String,
}

impl From<&ModelVersion> for RollbackSide {
    fn from(v: &ModelVersion) -> Self {
        Self {
            version: v.version,
            trained_at: v.trained_at.to_rfc3339(),
            snapshot: v.snapshot.chars().take(12).collect(),
            algorithm: v.algorithm.clone(),
            artifact: v.artifact.uri.clone(),
            digest: v.artifact.digest.clone(),
        }
    }
}

#[derive(Serialize)]
pub struct RollbackMetric {
    pub name: String,
    pub from: String,
    pub to: String,
}

/// The body of a rollback pull request.
#[derive(Serialize)]
pub struct RollbackContext {
    pub model: String,
    pub from: RollbackSide,
    pub to: RollbackSide,
    pub reason: Option<String>,
    pub metrics: Vec<RollbackMetric>,
}

impl RollbackContext {
    pub fn new(model: &str, from: &ModelVersion, to: &ModelVersion, reason: Option<&str>) -> Self {
        let names: std::collections::BTreeSet<&String> =
            from.metrics.keys().chain(to.metrics.keys()).collect();
        let value = |v: &ModelVersion, n: &str| dash(v.metrics.get(n).copied());
        Self {
            model: model.to_string(),
            from: from.into(),
            to: to.into(),
            reason: reason.map(str::to_string),
            metrics: names
                .into_iter()
                .map(|n| RollbackMetric {
                    name: n.clone(),
                    from: value(from, n),
                    to: value(to, n),
                })
                .collect(),
        }
    }
}
