//! GitHub Actions runtime I/O (DESIGN.md §1): the binary reads the runner's context
//! itself and writes its outputs, step summary and annotations, so `action/` stays a
//! thin wrapper. Formats follow `@actions/core` byte for byte (checked against goldens
//! generated with it, `tests/action/golden/`):
//!
//! - outputs: `name<<ghadelimiter_<uuid>\nvalue\nghadelimiter_<uuid>\n` appended to
//!   `$GITHUB_OUTPUT`;
//! - workflow commands on stdout: `::name key=value,key=value::message`, with `%`, CR
//!   and LF escaped in the message and additionally `:` and `,` in property values.

pub mod steps;

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// What can go wrong reading the runner's event or writing its files.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("GITHUB_EVENT_PATH `{}`: {source}", path.display())]
    Event {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("GITHUB_EVENT_PATH `{}`: not JSON: {source}", path.display())]
    EventJson {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{} `{name}` contains the delimiter `{delimiter}`", if *in_name { "output name" } else { "the value of output" })]
    Delimiter {
        name: String,
        in_name: bool,
        delimiter: String,
    },
    #[error("`{}`: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The runner's context, read from the environment Actions sets.
#[derive(Debug, Clone, Default)]
pub struct Runner {
    pub output: Option<PathBuf>,
    pub summary: Option<PathBuf>,
    pub event_name: Option<String>,
    pub event_path: Option<PathBuf>,
    pub repository: Option<String>,
    pub sha: Option<String>,
    pub git_ref: Option<String>,
    pub server_url: Option<String>,
    pub run_id: Option<String>,
}

/// What a `workflow_dispatch` (or `repository_dispatch`) asked for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DispatchInputs {
    pub model: Option<String>,
    pub force: bool,
    pub dry_run: bool,
}

impl Runner {
    /// The context when running under GitHub Actions (`GITHUB_ACTIONS=true`).
    pub fn detect() -> Option<Self> {
        Self::from_env(|k| std::env::var(k).ok())
    }

    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Option<Self> {
        if get("GITHUB_ACTIONS").as_deref() != Some("true") {
            return None;
        }
        let path = |k: &str| get(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        let text = |k: &str| get(k).filter(|v| !v.is_empty());
        Some(Self {
            output: path("GITHUB_OUTPUT"),
            summary: path("GITHUB_STEP_SUMMARY"),
            event_name: text("GITHUB_EVENT_NAME"),
            event_path: path("GITHUB_EVENT_PATH"),
            repository: text("GITHUB_REPOSITORY"),
            sha: text("GITHUB_SHA"),
            git_ref: text("GITHUB_REF"),
            server_url: text("GITHUB_SERVER_URL"),
            run_id: text("GITHUB_RUN_ID"),
        })
    }

    /// The last line of a step summary: what triggered the run, on which ref and
    /// commit, with a link to the workflow run (`retrain 0.1.0 · schedule on
    /// refs/heads/main at 1a2b3c4 · [run 42](https://github.com/o/r/actions/runs/42)`).
    pub fn summary_footer(&self) -> String {
        let mut parts = vec![format!("retrain {}", env!("CARGO_PKG_VERSION"))];
        let mut what = String::new();
        if let Some(e) = &self.event_name {
            what.push_str(&format!("`{}`", e.replace('`', "'")));
        }
        if let Some(r) = &self.git_ref {
            what.push_str(&format!(" on `{}`", r.replace('`', "'")));
        }
        if let Some(sha) = &self.sha {
            let short: String = sha
                .chars()
                .filter(char::is_ascii_hexdigit)
                .take(7)
                .collect();
            what.push_str(&format!(" at `{short}`"));
        }
        if !what.is_empty() {
            parts.push(what.trim().to_string());
        }
        if let (Some(server), Some(repo), Some(id)) =
            (&self.server_url, &self.repository, &self.run_id)
        {
            if id.chars().all(|c| c.is_ascii_digit()) && !repo.contains(['(', ')', ' ']) {
                parts.push(format!(
                    "[run {id}]({}/{repo}/actions/runs/{id})",
                    server.trim_end_matches('/')
                ));
            }
        }
        format!("\n<sub>{}</sub>\n", parts.join(" · "))
    }

    /// The inputs of a `workflow_dispatch` event (`model`, `force`, `dry-run` or
    /// `dry_run`); defaults for any other event. A payload that cannot be read is an
    /// error naming the file.
    pub fn dispatch_inputs(&self) -> Result<DispatchInputs, ActionError> {
        if self.event_name.as_deref() != Some("workflow_dispatch") {
            return Ok(DispatchInputs::default());
        }
        let Some(path) = &self.event_path else {
            return Ok(DispatchInputs::default());
        };
        let bytes = std::fs::read(path).map_err(|source| ActionError::Event {
            path: path.clone(),
            source,
        })?;
        let event: Value =
            serde_json::from_slice(&bytes).map_err(|source| ActionError::EventJson {
                path: path.clone(),
                source,
            })?;
        Ok(parse_inputs(&event["inputs"]))
    }
}

/// Inputs arrive as strings ("true") from the UI and as booleans from the API.
fn parse_inputs(inputs: &Value) -> DispatchInputs {
    let flag = |v: &Value| match v {
        Value::Bool(b) => *b,
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    };
    let get = |names: &[&str]| {
        names
            .iter()
            .map(|n| &inputs[*n])
            .find(|v| !v.is_null())
            .cloned()
            .unwrap_or(Value::Null)
    };
    DispatchInputs {
        model: get(&["model"])
            .as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        force: flag(&get(&["force"])),
        dry_run: flag(&get(&["dry-run", "dry_run"])),
    }
}

/// `%`, CR and LF escaped, as `@actions/core`'s `escapeData`.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// `escape_data` plus `:` and `,`, as `@actions/core`'s `escapeProperty`.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// A workflow command line (without the trailing newline).
pub fn command(name: &str, properties: &[(&str, String)], message: &str) -> String {
    let mut out = format!("::{name}");
    let props: Vec<String> = properties
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", escape_property(v)))
        .collect();
    if !props.is_empty() {
        out.push(' ');
        out.push_str(&props.join(","));
    }
    out.push_str("::");
    out.push_str(&escape_data(message));
    out
}

/// Where an annotation points.
#[derive(Debug, Clone, Default)]
pub struct Location {
    pub title: Option<String>,
    pub file: Option<String>,
    pub line: Option<usize>,
    pub end_line: Option<usize>,
    pub col: Option<usize>,
    pub end_col: Option<usize>,
}

/// `::error title=..,file=..,line=..,col=..::message` (property order as
/// `@actions/core`'s `toCommandProperties`).
pub fn annotation(level: &str, loc: &Location, message: &str) -> String {
    let mut props = Vec::new();
    if let Some(t) = &loc.title {
        props.push(("title", t.clone()));
    }
    if let Some(f) = &loc.file {
        props.push(("file", f.clone()));
    }
    if let Some(l) = loc.line.filter(|l| *l > 0) {
        props.push(("line", l.to_string()));
    }
    if let Some(l) = loc.end_line.filter(|l| *l > 0) {
        props.push(("endLine", l.to_string()));
    }
    if let Some(c) = loc.col.filter(|c| *c > 0) {
        props.push(("col", c.to_string()));
    }
    if let Some(c) = loc.end_col.filter(|c| *c > 0) {
        props.push(("endColumn", c.to_string()));
    }
    command(level, &props, message)
}

/// An error as a workflow annotation; config errors point at their file, line and
/// column (relative to the workspace, as GitHub wants).
pub fn error_annotation(e: &crate::error::Error) -> String {
    use crate::error::Error;
    let mut message = e.to_string();
    let mut location = Location {
        title: Some("retrain".into()),
        ..Default::default()
    };
    if let Error::Config(c) = e {
        let absolute = std::env::current_dir()
            .map(|d| d.join(&c.file))
            .unwrap_or_else(|_| c.file.clone());
        let file = std::env::var("GITHUB_WORKSPACE")
            .ok()
            .and_then(|w| {
                let w = Path::new(&w);
                let w = w.canonicalize().unwrap_or_else(|_| w.to_path_buf());
                let a = absolute.canonicalize().unwrap_or_else(|_| absolute.clone());
                a.strip_prefix(w).ok().map(Path::to_path_buf)
            })
            .unwrap_or_else(|| c.file.clone());
        let file = file.strip_prefix("./").unwrap_or(&file).to_path_buf();
        message = match &c.key {
            Some(k) => format!("{k}: {}", c.message),
            None => c.message.clone(),
        };
        location = Location {
            title: Some("retrain: config error".into()),
            file: Some(file.display().to_string()),
            line: c.line,
            col: c.column,
            ..Default::default()
        };
    }
    if let Some(h) = e.hint() {
        message = format!("{message}\nhint: {h}");
    }
    annotation("error", &location, &message)
}

/// `::add-mask::value`: the runner hides the value in every later log line.
pub fn mask(value: &str) -> String {
    command("add-mask", &[], value)
}

/// A random delimiter, `ghadelimiter_<uuid v4>` like `@actions/core`.
fn delimiter() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "ghadelimiter_{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// One `$GITHUB_OUTPUT` entry with the multiline syntax; `delimiter` must appear in
/// neither the name nor the value (checked, as `@actions/core` does).
pub fn output_entry(name: &str, value: &str, delimiter: &str) -> Result<String, ActionError> {
    if name.contains(delimiter) || value.contains(delimiter) {
        return Err(ActionError::Delimiter {
            name: name.to_string(),
            in_name: name.contains(delimiter),
            delimiter: delimiter.to_string(),
        });
    }
    Ok(format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"))
}

/// Appends the outputs to the `$GITHUB_OUTPUT` file, each with a fresh delimiter.
pub fn write_outputs(path: &Path, outputs: &[(&str, String)]) -> Result<(), ActionError> {
    let mut text = String::new();
    for (name, value) in outputs {
        let mut d = delimiter();
        while value.contains(&d) {
            d = delimiter();
        }
        text.push_str(&output_entry(name, value, &d)?);
    }
    append(path, &text)
}

/// Appends Markdown to the `$GITHUB_STEP_SUMMARY` file.
pub fn write_summary(path: &Path, markdown: &str) -> Result<(), ActionError> {
    let mut text = markdown.to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    append(path, &text)
}

fn append(path: &Path, text: &str) -> Result<(), ActionError> {
    let write = |source| ActionError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(write)?;
    f.write_all(text.as_bytes()).map_err(write)
}

/// The action's outputs of `retrain run` (the first model with a pull request, or
/// the first model, speaks for `pr-*`, `operation` and `snapshot`; `retrain` and
/// `blessed` are true when any model's are).
pub fn run_outputs(report: &crate::outcome::RunReport, json: &str) -> Vec<(&'static str, String)> {
    let retrain = report
        .runs
        .iter()
        .any(|r| r.check.decision.retrain && r.trained().is_some());
    let blessed = report.runs.iter().any(crate::outcome::ModelRun::blessed);
    let lead = report
        .runs
        .iter()
        .find(|r| r.pull_request.is_some())
        .or(report.runs.first());
    let pr = lead.and_then(|r| r.pull_request.as_ref());
    let mut out = vec![
        ("retrain", retrain.to_string()),
        ("blessed", blessed.to_string()),
    ];
    out.extend(pr_outputs(pr));
    out.extend([
        (
            "snapshot",
            lead.map(|r| r.check.snapshot.clone()).unwrap_or_default(),
        ),
        ("json", json.trim_end().to_string()),
    ]);
    out
}

/// `pr-number`, `pr-url` and `operation` (`none` without a pull request).
pub fn pr_outputs(pr: Option<&crate::outcome::PublishedPr>) -> [(&'static str, String); 3] {
    [
        (
            "pr-number",
            pr.and_then(|p| p.number)
                .map(|n| n.to_string())
                .unwrap_or_default(),
        ),
        ("pr-url", pr.and_then(|p| p.url.clone()).unwrap_or_default()),
        (
            "operation",
            pr.map(|p| word(p.operation))
                .unwrap_or_else(|| "none".into()),
        ),
    ]
}

pub use crate::outcome::word;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_escape_like_actions_core() {
        assert_eq!(
            annotation(
                "error",
                &Location {
                    title: Some("a:b,c".into()),
                    file: Some("retrain.yaml".into()),
                    line: Some(3),
                    col: Some(7),
                    ..Default::default()
                },
                "100% bad\r\nline two"
            ),
            "::error title=a%3Ab%2Cc,file=retrain.yaml,line=3,col=7::100%25 bad%0D%0Aline two"
        );
        assert_eq!(command("endgroup", &[], ""), "::endgroup::");
    }

    #[test]
    fn outputs_use_the_multiline_syntax_and_refuse_the_delimiter() {
        assert_eq!(
            output_entry("json", "{\"a\":1}\nx", "D").unwrap(),
            "json<<D\n{\"a\":1}\nx\nD\n"
        );
        assert!(output_entry("x", "a D b", "D").is_err());
        let d = delimiter();
        assert!(d.starts_with("ghadelimiter_") && d.len() == "ghadelimiter_".len() + 36);
        assert_eq!(&d[13 + 14..13 + 15], "4", "uuid v4: {d}");
    }

    #[test]
    fn dispatch_inputs_from_strings_or_booleans() {
        let i = parse_inputs(
            &serde_json::json!({ "model": " churn ", "force": "true", "dry-run": false }),
        );
        assert_eq!(
            i,
            DispatchInputs {
                model: Some("churn".into()),
                force: true,
                dry_run: false
            }
        );
        let i = parse_inputs(&serde_json::json!({ "model": "", "dry_run": true }));
        assert_eq!((i.model, i.dry_run), (None, true));
        assert_eq!(parse_inputs(&Value::Null), DispatchInputs::default());
    }

    #[test]
    fn the_context_is_only_read_under_actions() {
        assert!(Runner::from_env(|_| None).is_none());
        let r = Runner::from_env(|k| match k {
            "GITHUB_ACTIONS" => Some("true".into()),
            "GITHUB_OUTPUT" => Some("/tmp/out".into()),
            "GITHUB_STEP_SUMMARY" => Some(String::new()),
            _ => None,
        })
        .unwrap();
        assert_eq!(r.output.as_deref(), Some(Path::new("/tmp/out")));
        assert_eq!(r.summary, None);
    }

    #[test]
    fn the_summary_footer_names_the_event_the_commit_and_links_the_run() {
        let vars: std::collections::HashMap<&str, &str> = [
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_EVENT_NAME", "schedule"),
            ("GITHUB_REF", "refs/heads/main"),
            ("GITHUB_SHA", "1a2b3c4d5e6f"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_REPOSITORY", "acme/models"),
            ("GITHUB_RUN_ID", "42"),
        ]
        .into_iter()
        .collect();
        let r = Runner::from_env(|k| vars.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(
            r.summary_footer(),
            format!(
                "\n<sub>retrain {} · `schedule` on `refs/heads/main` at `1a2b3c4` · [run 42](https://github.com/acme/models/actions/runs/42)</sub>\n",
                env!("CARGO_PKG_VERSION")
            )
        );
        let bare = Runner::from_env(|k| (k == "GITHUB_ACTIONS").then(|| "true".into())).unwrap();
        assert_eq!(
            bare.summary_footer(),
            format!("\n<sub>retrain {}</sub>\n", env!("CARGO_PKG_VERSION"))
        );
    }
}
