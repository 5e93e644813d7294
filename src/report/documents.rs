//! What reviewers read on GitHub, rendered with minijinja from `templates/` out of the
//! typed contexts of [`super::context`]: the model card, the pull-request body, the step
//! summary, the comment and the rollback body. Every value that
//! comes from data or config is escaped (Markdown, HTML, @-mentions, #-references) by
//! the environment's formatter; only the machine-readable marker is inserted raw.
//! Bodies stay under GitHub's 65,536-character limit by shortening tables, never by
//! cutting the marker (the first line).

use minijinja::{Environment, Value};
use serde::Serialize;

use super::context::{CardContext, PrContext, RollbackContext};
pub use crate::outcome::Marker;

/// GitHub's limit on issue and pull-request bodies.
pub const BODY_LIMIT: usize = 65_536;

const MODEL_CARD: &str = include_str!("../../templates/model_card.md.j2");
const PR_BODY: &str = include_str!("../../templates/pr_body.md.j2");
const STEP_SUMMARY: &str = include_str!("../../templates/step_summary.md.j2");
const COMMENT: &str = include_str!("../../templates/comment.md.j2");
const ROLLBACK: &str = include_str!("../../templates/rollback.md.j2");

/// Escapes text for GitHub Markdown: no HTML, no formatting, no mentions or references.
pub fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '@' => out.push_str("&#64;"),
            '#' => out.push_str("&#35;"),
            '\n' | '\r' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Every template people read, with Markdown escaping of values from data and the
/// `yaml` and `code` filters.
pub(super) fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_formatter(|out, state, value| {
        if value.is_safe() || value.is_number() || value.is_undefined() || value.is_none() {
            return minijinja::escape_formatter(out, state, value);
        }
        let text = value.to_string();
        out.write_str(&escape_markdown(&text))
            .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, e.to_string()))
    });
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    // A code span: Markdown and mentions are inert inside; only backticks must go.
    // A YAML scalar (the model card's front matter): a JSON string is valid YAML.
    env.add_filter("yaml", |value: Value| {
        Value::from_safe_string(serde_json::to_string(&value.to_string()).unwrap_or_default())
    });
    env.add_filter("code", |value: Value| {
        Value::from_safe_string(format!(
            "`{}`",
            value.to_string().replace(['`', '\n', '\r'], "'")
        ))
    });
    env.add_template("model_card", MODEL_CARD)
        .expect("model card template parses");
    env.add_template("pr_body", PR_BODY)
        .expect("PR body template parses");
    env.add_template("step_summary", STEP_SUMMARY)
        .expect("step summary template parses");
    env.add_template("comment", COMMENT)
        .expect("comment template parses");
    env.add_template("rollback", ROLLBACK)
        .expect("rollback template parses");
    env.add_template("backtest", include_str!("../../templates/backtest.md.j2"))
        .expect("backtest template parses");
    env.add_template("policy_pr", include_str!("../../templates/policy_pr.md.j2"))
        .expect("policy PR template parses");
    env.add_template("shadow", include_str!("../../templates/shadow.md.j2"))
        .expect("shadow template parses");
    env
}

fn render(name: &str, key: &str, context: &impl Serialize, marker: Option<&Marker>) -> String {
    let value = Value::from_serialize(context);
    let marker = marker.map(|m| Value::from_safe_string(m.render()));
    let mut ctx = std::collections::BTreeMap::from([(key, value)]);
    if let Some(m) = marker {
        ctx.insert("marker", m);
    }
    environment()
        .get_template(name)
        .and_then(|t| t.render(&ctx))
        .unwrap_or_else(|e| panic!("the {name} template renders: {e}"))
}

/// The model card.
pub fn render_model_card(card: &CardContext) -> String {
    render("model_card", "card", card, None)
}

/// The pull-request body, at most [`BODY_LIMIT`] long: the marker first, then the
/// context's tables (`limit` rows each; [`super::run_documents::pr_body`] halves them until
/// the body fits), then cut if it still does not.
pub fn render_pr_body(pr: &PrContext, marker: &Marker) -> String {
    render("pr_body", "pr", pr, Some(marker))
}

/// The `$GITHUB_STEP_SUMMARY` variant.
pub fn render_step_summary(pr: &PrContext) -> String {
    render("step_summary", "pr", pr, None)
}

/// The comment variant (replies to `/retrain`).
pub fn render_comment(pr: &PrContext) -> String {
    render("comment", "pr", pr, None)
}

/// The shadow-evaluation section of a model pull request ([`super::shadow`]).
pub(super) fn render_shadow(section: &impl Serialize) -> String {
    render("shadow", "s", section, None)
}

/// The body of a rollback pull request.
pub fn render_rollback(rb: &RollbackContext, marker: &Marker) -> String {
    render("rollback", "rb", rb, Some(marker))
}

/// The body cut to GitHub's limit after the marker (the first line) and a note saying so.
pub fn truncate_keeping_marker(body: String) -> String {
    if body.len() < BODY_LIMIT {
        return body;
    }
    let note = "\n\n_The body was cut to fit GitHub's limit._\n";
    let mut cut = BODY_LIMIT - note.len() - 1;
    while !body.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{note}", &body[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_defuses_markdown_html_and_mentions() {
        let e =
            escape_markdown("<img src=x onerror=alert(1)> @octocat #12 *bold* | `code` [link](x)");
        assert!(!e.contains('<') && !e.contains('@') && !e.contains("#1"));
        assert!(
            e.contains("\\*bold\\*")
                && e.contains("\\|")
                && e.contains("\\`code\\`")
                && e.contains("\\[link\\]")
        );
    }

    #[test]
    fn marker_round_trips() {
        let m = Marker {
            kind: None,
            model: "elec".into(),
            snapshot: "ab".repeat(32),
            config_hash: "0123456789abcdef".into(),
            version: 3,
            retrain: "0.1.0".into(),
        };
        let body = format!("{}\n## hello", m.render());
        assert_eq!(Marker::parse(&body), Some(m));
        assert_eq!(Marker::parse("no marker"), None);
    }
}
