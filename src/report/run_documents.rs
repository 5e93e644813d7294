//! The documents of one model's run: its context built ([`super::context`]) and
//! rendered ([`super::documents`]).

use super::{context, documents};
use crate::config::ModelConfig;
use crate::outcome::ModelRun;
use crate::registry::{Proposal, RegistryPointer};

/// The model card of the proposed version (`None` unless a candidate was trained and
/// evaluated).
pub fn model_card(run: &ModelRun, model: &ModelConfig, proposal: &Proposal) -> Option<String> {
    context::CardContext::new(run, model, proposal).map(|c| documents::render_model_card(&c))
}

/// The pull-request body; its tables are shortened until it fits GitHub's limit.
pub fn pr_body(
    run: &ModelRun,
    model: &ModelConfig,
    proposal: &Proposal,
    previous: Option<&RegistryPointer>,
) -> String {
    let marker = crate::outcome::Marker {
        kind: None,
        model: model.name.to_string(),
        snapshot: run.check.snapshot.clone(),
        config_hash: model.config_hash.clone(),
        version: proposal.version,
        retrain: env!("CARGO_PKG_VERSION").to_string(),
    };
    let mut limit = 200usize;
    loop {
        let pr = context::PrContext::new(run, model, Some(proposal), previous, limit, None);
        let body = documents::render_pr_body(&pr, &marker);
        if body.len() < documents::BODY_LIMIT || limit == 0 {
            return documents::truncate_keeping_marker(body);
        }
        limit /= 2;
    }
}

/// The step summary of one model's run.
pub fn step_summary(
    run: &ModelRun,
    model: &ModelConfig,
    proposal: Option<&Proposal>,
    pr_url: Option<&str>,
) -> String {
    let pr = context::PrContext::new(run, model, proposal, None, 50, pr_url);
    let mut text = documents::render_step_summary(&pr);
    // the open candidate's shadow evaluation, as its pull request now shows it
    if let Some(s) = &run.shadow {
        let close = model
            .evaluation
            .shadow
            .as_ref()
            .is_some_and(|sh| sh.close_when_beaten);
        text = format!(
            "{}

The open model pull request: #{} ({}).

{}
",
            text.trim_end(),
            s.pull_request,
            s.url,
            super::shadow::section(s, close)
        );
    }
    text
}

/// The reply to `/retrain` for one model's run.
pub fn comment(
    run: &ModelRun,
    model: &ModelConfig,
    proposal: Option<&Proposal>,
    pr_url: Option<&str>,
) -> String {
    let pr = context::PrContext::new(run, model, proposal, None, 20, pr_url);
    documents::render_comment(&pr)
}
