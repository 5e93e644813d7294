//! The proposal stage (DESIGN.md §3): a run's candidate, a rollback or a backtest's
//! recommended policy becomes the pull request that carries it, as a value ([`Proposal`]). Pure: it reads nothing and
//! writes nothing; the caller passes the registry pointer it read. `--dry-run` shows
//! it, `--artifact-dir` and the step summary write it, `forge::publish` carries it out.

use crate::config::{ArtifactStore, ModelConfig};
use crate::outcome::{
    ArtifactUpload, BacktestReport, CheckState, CheckSummary, Marker, ModelRun, Proposal,
    ProposalKind, Upload, UploadFile,
};
use crate::registry::{self, ModelVersion, RegistryPointer};
use crate::report::{context, documents, run_documents};

/// The pull request that proposes a trained candidate as the model's next version;
/// `None` unless the run trained one. `previous` is the registry pointer the run read,
/// `snapshot` the manifest of the data it trained on: the pull request commits it, so
/// that after the merge a fresh checkout holds the champion's reference profile.
pub fn retrain(
    run: &ModelRun,
    model: &ModelConfig,
    previous: Option<&RegistryPointer>,
    snapshot: &crate::snapshot::Manifest,
) -> Option<Proposal> {
    let t = run.trained()?;
    let (c, e) = (&t.artifact, &t.evaluation);
    let mut change = registry::propose(
        previous,
        &registry::ProposedVersion {
            model,
            artifact_bytes: &c.bytes,
            digest: &c.digest,
            onnx: c
                .onnx
                .as_ref()
                .map(|o| (o.bytes.as_slice(), o.digest.as_str())),
            artifact: &c.artifact,
            metrics: e.candidate.clone(),
            report: serde_json::json!({
                "evaluation": e,
                "gate": t.gate,
                "training": t.artifact.report,
                "infra": t.infra,
            }),
        },
    );
    if let Some(card) = run_documents::model_card(run, model, &change) {
        change.files.push((
            format!(
                "{}/versions/{}/MODEL_CARD.md",
                model.registry.path, change.version
            ),
            card.into_bytes(),
        ));
    }
    change.files.push((
        crate::snapshot::Store::rel_path(&snapshot.id),
        snapshot.to_yaml(),
    ));
    let mut body = run_documents::pr_body(run, model, &change, previous);
    let version = change.version;
    let blessed = t.gate.blessed;
    // Shadow evaluation: a blessed candidate with a champion to beat waits, a draft with
    // its check pending, until later runs have compared both on newer rows.
    let champion = previous
        .and_then(|p| p.champion.as_ref())
        .map(|c| c.version);
    let shadow = model
        .evaluation
        .shadow
        .as_ref()
        .filter(|_| blessed && champion.is_some());
    if let Some(sh) = shadow {
        let waiting = crate::outcome::ShadowReport {
            pull_request: 0,
            url: String::new(),
            candidate: Some(version),
            candidate_snapshot: run.check.snapshot.clone(),
            champion,
            status: crate::outcome::ShadowStatus::Pending,
            rows: 0,
            min_rows: sh.min_rows,
            evaluation: None,
            gate: None,
            reason: None,
            operation: None,
        };
        body = crate::report::shadow::with_section(
            &body,
            &crate::report::shadow::section(&waiting, sh.close_when_beaten),
        );
    }
    let snapshot = &run.check.snapshot;
    let upload = match &model.registry.artifacts {
        ArtifactStore::Dir(_) => Some(Upload::Dir),
        ArtifactStore::Object(_) => Some(Upload::Object),
        ArtifactStore::Release => Some(Upload::Release {
            tag: crate::registry::tag_name(model.name.as_str(), version),
            title: format!("{} v{version} (candidate, not promoted)", model.name),
            registry_file: format!("{}/{}", model.registry.path, registry::FILE),
        }),
        ArtifactStore::Git => None,
    }
    .zip(change.pointer.champion.as_ref())
    .map(|(to, v)| ArtifactUpload {
        to,
        files: std::iter::once(UploadFile {
            uri: v.artifact.uri.clone(),
            bytes: c.bytes.clone(),
            digest: c.digest.clone(),
        })
        .chain(
            v.onnx
                .as_ref()
                .zip(c.onnx.as_ref())
                .map(|(a, o)| UploadFile {
                    uri: a.uri.clone(),
                    bytes: o.bytes.clone(),
                    digest: o.digest.clone(),
                }),
        )
        .collect(),
    });
    let summary = t
        .gate
        .checks
        .iter()
        .map(|c| format!("- [{}] {}", if c.passed { "x" } else { " " }, c.detail))
        .collect::<Vec<_>>()
        .join("\n");
    Some(Proposal {
        kind: ProposalKind::Retrain,
        model: model.name.to_string(),
        marker: Some(Marker {
            kind: None,
            model: model.name.to_string(),
            snapshot: snapshot.clone(),
            config_hash: model.config_hash.clone(),
            version,
            retrain: env!("CARGO_PKG_VERSION").to_string(),
        }),
        version: Some(version),
        base: model.pull_request.base.clone(),
        branch: model.branch(&snapshot[..12]),
        title: format!(
            "retrain: {} v{version}{}",
            model.name,
            if blessed { "" } else { " (not blessed)" }
        ),
        body,
        labels: model.pull_request.labels.clone(),
        reviewers: model.pull_request.reviewers.clone(),
        draft: (!blessed && model.pull_request.draft_when_not_blessed) || shadow.is_some(),
        withheld: (!blessed && !model.pull_request.open_when_not_blessed).then(|| {
            "the candidate is not blessed and `pull_request.open_when_not_blessed` is false"
                .to_string()
        }),
        // the files travel with the proposal; the registry change keeps version and pointer
        files: std::mem::take(&mut change.files),
        commit_message: format!(
            "retrain: {} v{version} (snapshot {})",
            model.name,
            &snapshot[..12]
        ),
        author: model.pull_request.identity(),
        expect: vec![],
        closed_reasons: (
            "its pull request was merged already".into(),
            "reviewers closed its pull request; it is not reopened for the same snapshot".into(),
        ),
        volatile_body: false,
        check: Some(CheckSummary {
            name: format!("retrain / {}", model.name),
            state: match (blessed, shadow) {
                (false, _) => CheckState::Failure,
                (true, None) => CheckState::Success,
                (true, Some(_)) => CheckState::Pending,
            },
            title: match (blessed, shadow) {
                (false, _) => "candidate not blessed".into(),
                (true, None) => "candidate blessed".into(),
                (true, Some(sh)) => format!(
                    "candidate blessed; shadow evaluation pending (0 of {} newer rows)",
                    sh.min_rows
                ),
            },
            summary,
        }),
        upload,
        registry: Some(change),
    })
}

/// The pull request that points the registry back from `from` to `to`: `pointer` is the
/// pointer after the merge, `at_head` the file as read at HEAD (the base must still
/// hold it).
pub fn rollback(
    model: &ModelConfig,
    (from, to): (&ModelVersion, &ModelVersion),
    pointer: &RegistryPointer,
    at_head: Option<Vec<u8>>,
    reason: Option<&str>,
) -> Proposal {
    let marker = Marker {
        kind: Some("rollback".into()),
        model: model.name.to_string(),
        snapshot: to.snapshot.clone(),
        config_hash: to.config_hash.clone().unwrap_or_default(),
        version: to.version,
        retrain: env!("CARGO_PKG_VERSION").into(),
    };
    let path = format!("{}/{}", model.registry.path, registry::FILE);
    let title = format!(
        "retrain: roll back {} to v{} (from v{})",
        model.name, to.version, from.version
    );
    let mut labels = model.pull_request.labels.clone();
    labels.push("rollback".into());
    Proposal {
        kind: ProposalKind::Rollback,
        model: model.name.to_string(),
        body: documents::render_rollback(
            &context::RollbackContext::new(model.name.as_str(), from, to, reason),
            &marker,
        ),
        marker: Some(marker),
        version: None,
        base: model.pull_request.base.clone(),
        branch: model.branch(&format!("rollback-v{}-from-v{}", to.version, from.version)),
        commit_message: title.clone(),
        title,
        labels,
        reviewers: model.pull_request.reviewers.clone(),
        draft: false,
        withheld: None,
        files: vec![(
            path.clone(),
            serde_yaml::to_string(pointer)
                .expect("pointer serialises")
                .into_bytes(),
        )],
        author: model.pull_request.identity(),
        expect: vec![(path, at_head)],
        closed_reasons: (
            "this rollback was merged already".into(),
            "reviewers closed this rollback; it is not reopened".into(),
        ),
        volatile_body: false,
        check: None,
        upload: None,
        registry: None,
    }
}

/// The pull request of `retrain backtest --apply`: `rel` (the config file, relative to
/// the repository) from `old` to `new_text`, the recommended policy, with the report as
/// its body. The branch is named after the new text's hash, so a re-run with the same
/// recommendation leaves the pull request as it is.
pub fn policy(
    model: &ModelConfig,
    report: &BacktestReport,
    rel: &str,
    old: &str,
    new_text: &str,
) -> Proposal {
    let hash = blake3::hash(new_text.as_bytes()).to_hex();
    let mut labels = model.pull_request.labels.clone();
    labels.push("retrain-policy".into());
    let title = format!(
        "retrain: {}: retraining policy `{}` (from a backtest)",
        model.name, report.recommended
    );
    Proposal {
        kind: ProposalKind::Policy,
        model: model.name.to_string(),
        marker: None,
        version: None,
        base: model.pull_request.base.clone(),
        branch: model.branch(&format!("policy-{}", &hash[..12])),
        commit_message: title.clone(),
        title,
        body: crate::report::backtest::policy_pr_body(report, rel, old, new_text),
        labels,
        reviewers: model.pull_request.reviewers.clone(),
        draft: false,
        withheld: None,
        expect: vec![(rel.to_string(), Some(old.as_bytes().to_vec()))],
        files: vec![(rel.to_string(), new_text.as_bytes().to_vec())],
        author: model.pull_request.identity(),
        closed_reasons: (
            "this policy change was merged already".into(),
            "reviewers closed this policy change; it is not reopened".into(),
        ),
        // the report's timings differ between runs; the branch is the content
        volatile_body: true,
        check: None,
        upload: None,
        registry: None,
    }
}
