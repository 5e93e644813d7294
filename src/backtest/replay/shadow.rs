//! Shadow evaluation in the replay (`evaluation.shadow`, a policy's `shadow`): a blessed
//! candidate waits, the deployed model serving, until `min_rows` labelled rows newer
//! than its training data are known, and is deployed only if it passes the shadow gates
//! against the deployed model on them — as `retrain run` judges an open pull request.

use std::ops::Range;

use super::{Fit, Shared};
use crate::config::Shadow;

impl Shared<'_> {
    /// Labelled rows in periods `newer` (those after the candidate's training data whose
    /// labels are known).
    pub(super) fn rows_in(&self, newer: Range<usize>) -> usize {
        self.history.periods[newer].iter().map(|p| p.len()).sum()
    }

    /// Whether `candidate` passes `shadow`'s gates against `deployed` on periods `newer`.
    pub(super) fn shadow_wins(
        &self,
        candidate: &Fit,
        deployed: &Fit,
        shadow: &Shadow,
        newer: Range<usize>,
    ) -> bool {
        let h = self.history;
        let rows: Vec<usize> = h.periods[newer]
            .iter()
            .flat_map(|p| h.order[p.clone()].iter().copied())
            .collect();
        let mut model = self.setup.model.clone();
        model.evaluation.gates = shadow.gates.clone();
        // the gates read point values; intervals would only cost time
        model.evaluation.intervals.method = crate::config::IntervalMethod::None;
        model.evaluation.slices.clear();
        for g in &shadow.gates {
            if !model.evaluation.metrics.contains(&g.metric) {
                model.evaluation.metrics.push(g.metric);
            }
        }
        crate::pipeline::judge_candidate(
            self.setup.repo,
            &model,
            &h.table,
            &rows,
            &candidate.artifact,
            Some(Ok(&deployed.artifact)),
        )
        .is_ok_and(|j| j.gate.blessed)
    }
}
