//! Infra check (TFX InfraValidator in spirit): serialise the candidate, load it back
//! into fresh state, predict a sample, and require bit-identical predictions. Also
//! records the artifact's size and the prediction throughput.

use std::time::Instant;

use serde::Serialize;

use crate::train::model::{ModelArtifact, Predictions};

#[derive(Debug, Clone, Serialize)]
pub struct InfraReport {
    pub passed: bool,
    pub artifact_bytes: usize,
    pub sample_rows: usize,
    /// Rows predicted per second on the holdout.
    pub predict_rows_per_second: f64,
    pub detail: String,
}

/// `predict` scores the holdout with a model (the reloaded one, here).
pub fn check(
    artifact: &ModelArtifact,
    bytes: &[u8],
    rows: usize,
    expected: &Predictions,
    predict: impl Fn(&ModelArtifact) -> Result<Predictions, crate::train::PredictError>,
) -> InfraReport {
    let sample = rows.min(1000);
    let fail = |detail: String| InfraReport {
        passed: false,
        artifact_bytes: bytes.len(),
        sample_rows: sample,
        predict_rows_per_second: 0.0,
        detail,
    };
    let reloaded: ModelArtifact = match serde_json::from_slice(bytes) {
        Ok(a) => a,
        Err(e) => return fail(format!("the artifact does not load back: {e}")),
    };
    if reloaded != *artifact {
        return fail("the reloaded artifact differs from the trained one".into());
    }
    let started = Instant::now();
    let again = match predict(&reloaded) {
        Ok(p) => p,
        Err(e) => return fail(format!("the reloaded model cannot predict: {e}")),
    };
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    let same = match (&again, expected) {
        (Predictions::Classes(a), Predictions::Classes(b)) => {
            a.shape() == b.shape()
                && a.iter()
                    .zip(b.iter())
                    .all(|(p, q)| p.to_bits() == q.to_bits())
        }
        (Predictions::Values(a), Predictions::Values(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(p, q)| p.to_bits() == q.to_bits())
        }
        _ => false,
    };
    InfraReport {
        passed: same,
        artifact_bytes: bytes.len(),
        sample_rows: rows,
        // not measured under SOURCE_DATE_EPOCH (reproducible outputs)
        predict_rows_per_second: if crate::reproducible::epoch().is_some() {
            0.0
        } else {
            rows as f64 / secs
        },
        detail: if same {
            format!(
                "reloaded from {} bytes; {rows} predictions bit-identical",
                bytes.len()
            )
        } else {
            "predictions after reload differ".into()
        },
    }
}
