//! CBPE in the replay: the deployed model's metric estimated on the periods whose labels
//! are not known yet (`label_delay`), from its scores mapped by the calibration `retrain
//! run` would have recorded — fitted on the holdout of the candidate it came from (with
//! `refit`, the refitted model keeps its candidate's map, as in a run).

use std::ops::RangeInclusive;
use std::sync::Arc;

use super::{cached, Fit, Shared};
use crate::config::Metric;
use crate::decision::{EstimatedPerformance, Unscored};
use crate::evaluate::metrics::Prepared;
use crate::pipeline::champion;
use crate::train::model::CalibrationRecord;

/// A fit's positive-class scores and predicted classes in one period, or why there are none.
pub(super) type ClassScores = Arc<Result<(Vec<f64>, Vec<bool>), Unscored>>;

/// A candidate's calibration and its metric on its holdout.
pub(super) type HeldOut = Arc<(Option<CalibrationRecord>, Option<f64>)>;

impl Shared<'_> {
    /// What a run records of the candidate `held` (cached): its calibration, and its
    /// `metric` on its holdout (the registry's value, the estimate's baseline).
    fn held_out(&self, held: &Fit, metric: Metric) -> HeldOut {
        cached(&self.calibrations, (held.id, metric), || {
            let (table, rows) = (&self.history.table, &held.holdout);
            let truth = crate::train::truth_of(table, rows);
            Arc::new(
                match held.artifact.predict_table(self.setup.repo, table, rows) {
                    Ok(preds) => (
                        crate::train::calibrate(&truth, &preds),
                        Prepared::new(truth.view(), &preds).metric(metric, None),
                    ),
                    Err(_) => (None, None),
                },
            )
        })
    }

    /// `fit`'s class scores in `period` (cached).
    fn class_scores(&self, fit: &Fit, period: usize) -> ClassScores {
        cached(&self.class_scores, (fit.id, period), || {
            let rows = &self.history.order[self.history.periods[period].clone()];
            Arc::new(
                fit.artifact
                    .predict_table(self.setup.repo, &self.history.table, rows)
                    .map_err(|e| Unscored(format!("the deployed model could not predict: {e}")))
                    .and_then(|preds| champion::class_scores(&preds)),
            )
        })
    }

    /// `metric` of `fit` estimated on `periods` (none: `Ok(None)`); `held` is the candidate
    /// whose holdout calibrates it and gives the baseline, as the registry records them.
    pub(super) fn estimate(
        &self,
        fit: &Fit,
        held: Option<&Fit>,
        periods: RangeInclusive<usize>,
        metric: Metric,
    ) -> Result<Option<EstimatedPerformance>, Unscored> {
        if periods.is_empty() {
            return Ok(None);
        }
        let held =
            held.ok_or_else(|| Unscored("no candidate holdout to calibrate the model on".into()))?;
        let found = self.held_out(held, metric);
        let (record, baseline) = (&found.0, found.1);
        let calibration = champion::calibration_in(record.as_ref(), fit.artifact.classes.len())?;
        let (mut raw, mut positive) = (Vec::new(), Vec::new());
        for p in periods {
            let scores = self.class_scores(fit, p);
            let (r, q) = scores.as_ref().as_ref().map_err(Clone::clone)?;
            raw.extend_from_slice(r);
            positive.extend_from_slice(q);
        }
        champion::cbpe(calibration, &raw, &positive, metric, baseline).map(Some)
    }
}
