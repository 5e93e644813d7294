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
//!
//! With `warm_start: required` a champion that cannot be continued fails the run
//! (`TrainError::WarmStart`) instead; a first model, with no champion yet, is trained.

use crate::config::{Algorithm, ModelConfig};

use super::boost::ensemble::{Combine, Origin};
use super::model::{algorithm_name, Estimator, ModelArtifact};
use super::table::Table;
use super::TrainError;

pub struct Warm<'a> {
    pub champion: Option<&'a ModelArtifact>,
    /// Why a requested warm start is a cold one.
    pub note: Option<String>,
}

pub fn choose<'a>(
    model: &ModelConfig,
    table: &Table,
    champion: Option<&'a ModelArtifact>,
) -> Result<Warm<'a>, TrainError> {
    if !model.training.warm_start || model.training.command.is_some() {
        return Ok(Warm {
            champion: None,
            note: None,
        });
    }
    match champion {
        None => Ok(Warm {
            champion: None,
            note: Some("cold start: there is no champion yet".into()),
        }),
        Some(c) => match why_not(model, table, c) {
            None => Ok(Warm {
                champion: Some(c),
                note: None,
            }),
            Some(why) if model.training.warm_start_required => Err(TrainError::WarmStart(why)),
            Some(why) => Ok(Warm {
                champion: None,
                note: Some(format!("cold start: {why}")),
            }),
        },
    }
}

/// Whether `algorithm` can continue from a champion at all.
pub fn continues(algorithm: Algorithm) -> bool {
    matches!(
        algorithm,
        Algorithm::LogisticRegression | Algorithm::GradientBoosting
    )
}

/// Why the champion cannot be continued, if it cannot.
fn why_not(model: &ModelConfig, table: &Table, c: &ModelArtifact) -> Option<String> {
    let algorithm = model.training.algorithm;
    if !continues(algorithm) {
        return Some(format!(
            "{} cannot continue from a champion (logistic_regression and gradient_boosting can)",
            algorithm_name(algorithm)
        ));
    }
    if c.algorithm != algorithm {
        return Some(format!(
            "the champion is {}, this model trains {}",
            algorithm_name(c.algorithm),
            algorithm_name(algorithm)
        ));
    }
    let classes = super::classes_of(table);
    if c.classes != classes {
        return Some(format!(
            "the champion's classes ({}) are not the data's ({})",
            c.classes.join(", "),
            classes.join(", ")
        ));
    }
    if algorithm == Algorithm::GradientBoosting {
        let names: Vec<&str> = table.features.iter().map(|f| f.name.as_str()).collect();
        let kept: Vec<&str> = c.preprocessing.steps.iter().map(|s| s.column()).collect();
        if names != kept {
            return Some(format!(
                "the champion's trees read the columns [{}], the data has [{}]",
                kept.join(", "),
                names.join(", ")
            ));
        }
        let e = match &c.estimator {
            Estimator::Ensemble(e) if e.combine == Combine::Sum => e,
            _ => return Some("the champion is not a boosted ensemble".into()),
        };
        if let Some(crate::config::params::Hyper::Boosting(b)) = &model.training.hyper {
            let rounds = e.trees.len() / e.outputs();
            let after = rounds as u64 + b.warm_start_estimators;
            if after > b.warm_start_max_estimators {
                return Some(format!(
                    "the champion has {rounds} boosting rounds; {} more would pass warm_start_max_estimators ({})",
                    b.warm_start_estimators, b.warm_start_max_estimators
                ));
            }
        }
    }
    None
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
