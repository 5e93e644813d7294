//! Warm starts (`training.warm_start: true`): whether a candidate continues from the
//! champion, and, when it cannot, why — the reason is in the training report, the run
//! JSON (`training.warm_start_note`) and the pull request, and the candidate is trained
//! from scratch.
//!
//! - `logistic_regression` starts from the champion's decision function, carried over
//!   into preprocessing fitted on the new window (`Preprocessor::translate_linear`);
//! - `gradient_boosting` keeps the champion's trees (and its preprocessing, which its
//!   trees index into) and fits `warm_start_estimators` more on the new window, starting
//!   from the champion's scores; the artifact's `origins` say how many trees came from
//!   which snapshot.

use crate::config::{Algorithm, ModelConfig};

use super::boost::ensemble::Origin;
use super::model::{algorithm_name, Estimator, ModelArtifact};
use super::table::Table;

pub struct Warm<'a> {
    pub champion: Option<&'a ModelArtifact>,
    /// Why a requested warm start is a cold one.
    pub note: Option<String>,
}

pub fn choose<'a>(
    model: &ModelConfig,
    table: &Table,
    champion: Option<&'a ModelArtifact>,
) -> Warm<'a> {
    let cold = |note: String| Warm {
        champion: None,
        note: Some(note),
    };
    if !model.training.warm_start || model.training.command.is_some() {
        return Warm {
            champion: None,
            note: None,
        };
    }
    let algorithm = model.training.algorithm;
    if !matches!(
        algorithm,
        Algorithm::LogisticRegression | Algorithm::GradientBoosting
    ) {
        return cold(format!(
            "cold start: {} cannot continue from a champion (logistic_regression and gradient_boosting can)",
            algorithm_name(algorithm)
        ));
    }
    let Some(c) = champion else {
        return cold("cold start: there is no champion yet".into());
    };
    if c.algorithm != algorithm {
        return cold(format!(
            "cold start: the champion is {}, this model trains {}",
            algorithm_name(c.algorithm),
            algorithm_name(algorithm)
        ));
    }
    let classes = super::classes_of(table);
    if c.classes != classes {
        return cold(format!(
            "cold start: the champion's classes ({}) are not the data's ({})",
            c.classes.join(", "),
            classes.join(", ")
        ));
    }
    if algorithm == Algorithm::GradientBoosting {
        let names: Vec<&str> = table.features.iter().map(|f| f.name.as_str()).collect();
        let kept: Vec<&str> = c.preprocessing.steps.iter().map(|s| s.column()).collect();
        if names != kept {
            return cold(format!(
                "cold start: the champion's trees read the columns [{}], the data has [{}]",
                kept.join(", "),
                names.join(", ")
            ));
        }
        if !matches!(&c.estimator, Estimator::Ensemble(e) if e.combine == super::boost::ensemble::Combine::Sum)
        {
            return cold("cold start: the champion is not a boosted ensemble".into());
        }
    }
    Warm {
        champion: Some(c),
        note: None,
    }
}

/// The origins of a continued ensemble: the champion's (or all its trees, from its
/// snapshot), then this run's new trees.
pub fn origins(champion: &ModelArtifact, snapshot: &str, total: usize) -> Vec<Origin> {
    let Estimator::Ensemble(e) = &champion.estimator else {
        return Vec::new();
    };
    let mut out = if e.origins.is_empty() {
        vec![Origin {
            snapshot: champion.training.snapshot.clone(),
            trees: e.trees.len(),
        }]
    } else {
        e.origins.clone()
    };
    out.push(Origin {
        snapshot: snapshot.to_string(),
        trees: total.saturating_sub(e.trees.len()),
    });
    out
}
