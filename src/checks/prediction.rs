//! Prediction drift: the champion's outputs on the new rows against its outputs on the
//! reference rows, by the same tests as feature drift (no labels needed). What is
//! compared: the positive class's score (binary classification), the predicted class
//! (more classes), the predicted value (regression).

use std::collections::HashMap;

use crate::config::{DriftMethod, Threshold};
use crate::snapshot::ColumnEntry;

use super::drift::{self, ColumnDrift, CurrentColumn};

/// A model's outputs over some rows.
#[derive(Debug, Clone)]
pub enum Outputs {
    /// Scores or predicted values (non-finite ones are counted as missing).
    Numeric(Vec<f64>),
    /// Predicted classes.
    Classes(Vec<String>),
}

impl Outputs {
    pub fn len(&self) -> usize {
        match self {
            Outputs::Numeric(v) => v.len(),
            Outputs::Classes(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `self` followed by `other` (outputs of the same kind; an empty side takes the
    /// other's).
    pub fn append(&mut self, other: &Outputs) {
        match (&mut *self, other) {
            (Outputs::Numeric(a), Outputs::Numeric(b)) => a.extend_from_slice(b),
            (Outputs::Classes(a), Outputs::Classes(b)) => a.extend_from_slice(b),
            (a, b) if a.is_empty() => *a = b.clone(),
            _ => {}
        }
    }
}

/// The name of the outputs in reports: `score of <class>`, `predicted class`,
/// `prediction`.
pub fn output_name(outputs: &Outputs, classes: &[String]) -> String {
    match (outputs, classes) {
        (Outputs::Numeric(_), [_, positive]) => format!("score of {positive}"),
        (Outputs::Numeric(_), _) => "prediction".to_string(),
        (Outputs::Classes(_), _) => "predicted class".to_string(),
    }
}

/// The drift test of `current` against `reference`, reported as the column `name`.
pub fn prediction_drift(
    name: &str,
    reference: &Outputs,
    current: &Outputs,
    method: DriftMethod,
    threshold: Threshold,
    top_k: usize,
) -> ColumnDrift {
    let entry = reference_entry(name, reference, top_k);
    let method = if method.accepts(entry.kind) {
        method
    } else {
        DriftMethod::Auto
    };
    drift::test_column(
        &entry,
        reference.len() as u64,
        1,
        &current_column(current),
        method,
        threshold,
    )
}

fn reference_entry(name: &str, outputs: &Outputs, top_k: usize) -> ColumnEntry {
    match outputs {
        Outputs::Numeric(v) => {
            let values: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
            let nulls = (v.len() - values.len()) as u64;
            ColumnEntry::of_values(name, values, nulls)
        }
        Outputs::Classes(v) => ColumnEntry::of_counts(name, class_counts(v), 0, top_k),
    }
}

fn current_column(outputs: &Outputs) -> CurrentColumn {
    match outputs {
        Outputs::Numeric(v) => {
            let mut sorted: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
            sorted.sort_unstable_by(f64::total_cmp);
            CurrentColumn::Numeric {
                nulls: (v.len() - sorted.len()) as u64,
                sorted,
                nan: 0,
                inf: 0,
            }
        }
        Outputs::Classes(v) => CurrentColumn::Categorical {
            counts: class_counts(v),
            nulls: 0,
        },
    }
}

fn class_counts(classes: &[String]) -> HashMap<String, u64> {
    let mut counts = HashMap::new();
    for c in classes {
        *counts.entry(c.clone()).or_insert(0) += 1;
    }
    counts
}
