//! Checks of new data against a reference snapshot: validation anomalies
//! ([`validation`]) and drift ([`drift`]). Pure functions of the two manifests and the
//! current rows ([`current`] reads those); nothing here writes or decides.

pub mod current;
pub mod detect;
pub mod drift;
pub mod estimate;
pub mod prediction;
pub mod stats;
pub mod validation;

use serde::Serialize;

use crate::config::{ColumnSelection, DriftMethod, DriftTrigger, ModelConfig, Threshold};
use crate::snapshot::{self, Manifest, Role};
use current::CurrentData;
use drift::ColumnDrift;

#[derive(Debug, Clone, Serialize)]
pub struct DriftReport {
    /// The configured method (`auto` picks per column).
    pub method: DriftMethod,
    pub columns: Vec<ColumnDrift>,
    /// Columns with a result (not "not testable").
    pub tested: usize,
    pub drifted: usize,
    /// drifted / tested (0 when nothing was tested).
    pub share: f64,
    pub share_threshold: f64,
    pub dataset_drift: bool,
    /// Drift of the target's distribution (not counted in the share).
    pub label: Option<ColumnDrift>,
    /// Drift of the champion's outputs (`triggers.prediction_drift`; not counted in the
    /// share).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prediction: Option<ColumnDrift>,
    pub reference_rows: u64,
    pub current_rows: u64,
}

/// Drift of the model's features (and its label) in the current rows.
pub fn drift_report(
    model: &ModelConfig,
    reference: &Manifest,
    current: &CurrentData,
) -> DriftReport {
    let default = DriftTrigger {
        method: DriftMethod::Auto,
        threshold: Threshold::Auto,
        share: crate::config::Fraction::new(0.5).expect("0.5 is a fraction"),
        columns: ColumnSelection::All,
        per_column: Default::default(),
    };
    let cfg = model.triggers.drift.as_ref().unwrap_or(&default);
    let roles = snapshot::roles(model, reference.columns.iter().map(|c| c.name.as_str()));
    let selected = |name: &str| match &cfg.columns {
        ColumnSelection::All => roles.get(name) == Some(&Role::Feature),
        ColumnSelection::List(list) => list.iter().any(|c| c == name),
    };
    let test = |rc: &snapshot::ColumnEntry| -> Option<ColumnDrift> {
        let cur = current.columns.get(&rc.name)?;
        let (method, threshold) = match cfg.per_column.get(&rc.name) {
            Some(c) => (c.method, c.threshold),
            None => (cfg.method, cfg.threshold),
        };
        // A global explicit method that does not fit this column's type falls back to auto.
        let method = if cfg.per_column.contains_key(&rc.name) || method.accepts(rc.kind) {
            method
        } else {
            DriftMethod::Auto
        };
        let threshold = if method == DriftMethod::Auto {
            Threshold::Auto
        } else {
            threshold
        };
        Some(drift::test_column(
            rc,
            reference.rows,
            reference.files.len(),
            cur,
            method,
            threshold,
        ))
    };
    let columns: Vec<ColumnDrift> = reference
        .columns
        .iter()
        .filter(|c| selected(&c.name))
        .filter_map(test)
        .collect();
    let label = reference.column(&model.target).and_then(|rc| {
        let cur = current.columns.get(&rc.name)?;
        Some(drift::test_column(
            rc,
            reference.rows,
            reference.files.len(),
            cur,
            DriftMethod::Auto,
            Threshold::Auto,
        ))
    });
    let tested = columns.iter().filter(|c| c.not_testable.is_none()).count();
    let drifted = columns.iter().filter(|c| c.drifted).count();
    let share = if tested == 0 {
        0.0
    } else {
        drifted as f64 / tested as f64
    };
    DriftReport {
        method: cfg.method,
        tested,
        drifted,
        share,
        share_threshold: cfg.share.get(),
        dataset_drift: tested > 0 && share >= cfg.share.get(),
        columns,
        label,
        prediction: None,
        reference_rows: reference.rows,
        current_rows: current.rows,
    }
}
