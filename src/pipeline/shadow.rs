//! Shadow evaluation (`evaluation.shadow`): the open pull request's candidate and the
//! champion scored on the labelled rows newer than the candidate's snapshot — rows
//! neither has seen — with the paired intervals of the holdout comparison, and the
//! shadow gates applied once there are `min_rows` of them. Reads data; publishes
//! nothing (`forge::shadow` carries the verdict to the pull request).

use std::collections::HashSet;

use super::Checked;
use crate::config::{ModelConfig, Shadow};
use crate::evaluate::{self, gate::Verdict, Evaluation};
use crate::outcome::ShadowStatus;
use crate::snapshot::Manifest;
use crate::train::{self, model::ModelArtifact};

/// Where the comparison stands: rows scored, the metrics of both (with at least one
/// newer row), the gates' verdict and the status.
pub(crate) struct Compared {
    pub rows: u64,
    pub evaluation: Option<Evaluation>,
    pub gate: Option<Verdict>,
    pub status: ShadowStatus,
}

/// Scores `candidate` (trained on `candidate_snapshot`) and `champion` on the labelled
/// rows of `snapshot` that are newer than `candidate_snapshot`: rows of files new or
/// changed since then, after its newest time. An error says why the rows could not be
/// scored.
pub(crate) fn compare(
    repo: &std::path::Path,
    model: &ModelConfig,
    shadow: &Shadow,
    snapshot: &Manifest,
    candidate_snapshot: &Manifest,
    candidate: &ModelArtifact,
    champion: &ModelArtifact,
) -> Result<Compared, String> {
    let pending = |rows| Compared {
        rows,
        evaluation: None,
        gate: None,
        status: ShadowStatus::Pending,
    };
    let files: HashSet<String> = crate::checks::current::new_files(candidate_snapshot, snapshot)
        .into_iter()
        .map(str::to_string)
        .collect();
    if files.is_empty() {
        return Ok(pending(0));
    }
    let (filter, _) = crate::checks::current::time_filter(model, candidate_snapshot);
    let table = train::table::load(repo, model, snapshot, Some(&files), filter)
        .map_err(|e| format!("the newer rows: {e}"))?;
    if table.rows() == 0 {
        return Ok(pending(0));
    }
    let rows: Vec<usize> = (0..table.rows()).collect();
    let predict = |a: &ModelArtifact, who: &str| {
        a.predict_table(repo, &table, &rows)
            .map_err(|e| format!("the {who} cannot score the newer rows: {e}"))
    };
    let cand = predict(candidate, "candidate")?;
    let champ = predict(champion, "champion")?;
    let truth = train::truth_of(&table, &rows);
    let e = &model.evaluation;
    let comparisons = evaluate::compare(
        truth.view(),
        &cand,
        Some(&champ),
        &e.metrics,
        &e.intervals,
        e.holdout.seed,
    );
    let evaluation = Evaluation::new(rows.len(), e.primary, comparisons, true, &e.intervals);
    let gate = evaluate::gate::judge(&shadow.gates, &evaluation, true);
    let n = rows.len() as u64;
    let status = if n < shadow.min_rows {
        ShadowStatus::Pending
    } else if gate.blessed {
        ShadowStatus::Passed
    } else {
        ShadowStatus::Failed
    };
    Ok(Compared {
        rows: n,
        evaluation: Some(evaluation),
        gate: Some(gate),
        status,
    })
}

/// The open candidate's shadow evaluation against the champion; `None` when there is
/// nothing to evaluate (no champion to compare with, or a candidate the gate did not
/// bless).
pub(super) fn report_of(
    repo: &std::path::Path,
    model: &ModelConfig,
    checked: &Checked,
    open: &crate::forge::shadow::OpenCandidate,
) -> Option<crate::outcome::ShadowReport> {
    use crate::outcome::ShadowReport;
    let sh = model.evaluation.shadow.as_ref()?;
    let champion = checked.champion.as_ref()?;
    let refused = |candidate: Option<u32>, snapshot: String, why: String| ShadowReport {
        pull_request: open.pr.number,
        url: open.pr.html_url.clone(),
        candidate,
        candidate_snapshot: snapshot,
        champion: Some(champion.version.version),
        status: ShadowStatus::Refused,
        rows: 0,
        min_rows: sh.min_rows,
        evaluation: None,
        gate: None,
        reason: Some(why),
        operation: None,
    };
    let c = match &open.candidate {
        Err(why) => {
            let marker = open
                .pr
                .body
                .as_deref()
                .and_then(crate::outcome::Marker::parse);
            return Some(refused(
                marker.as_ref().map(|m| m.version),
                marker.map(|m| m.snapshot).unwrap_or_default(),
                why.clone(),
            ));
        }
        Ok(c) if !c.blessed => return None,
        Ok(c) => c,
    };
    let (v, snap) = (c.version.version, c.version.snapshot.clone());
    let champion_artifact = match &champion.artifact {
        Ok(a) => a,
        Err(e) => {
            return Some(refused(
                Some(v),
                snap,
                format!("the champion's artifact: {e}"),
            ))
        }
    };
    Some(
        match compare(
            repo,
            model,
            sh,
            &checked.snapshot,
            &c.snapshot,
            &c.artifact,
            champion_artifact,
        ) {
            Ok(cmp) => ShadowReport {
                rows: cmp.rows,
                evaluation: cmp.evaluation,
                gate: cmp.gate,
                status: cmp.status,
                reason: None,
                ..refused(Some(v), snap, String::new())
            },
            Err(why) => refused(Some(v), snap, why),
        },
    )
}

/// Holds the retrain while the open candidate is pending or has passed
/// ([`decision::hold_for_shadow`]); `force` overrides it.
pub(super) fn hold(
    decision: &mut crate::decision::Decision,
    s: &crate::outcome::ShadowReport,
    force: bool,
) {
    let (n, v) = (s.pull_request, s.candidate.unwrap_or_default());
    let detail = match s.status {
        ShadowStatus::Pending => format!(
            "the open candidate v{v} (#{n}) is in its shadow period ({} of {} newer labelled rows); a new candidate would start it over",
            s.rows, s.min_rows
        ),
        ShadowStatus::Passed => format!(
            "the open candidate v{v} (#{n}) passed its shadow evaluation on {} newer rows and waits for review",
            s.rows
        ),
        _ => return,
    };
    crate::decision::hold_for_shadow(decision, force, detail);
}
