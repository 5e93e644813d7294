//! `retrain backtest --apply`: the text of `retrain.yaml` with one model's policy
//! replaced by another. A targeted text edit (found with the config's key locator), so
//! every other line — comments included — stays as it was; only the model's `triggers:`
//! block, its `training.window` / `training.warm_start` lines and, when the policy's differ,
//! its `training.algorithm` / `training.params` and `evaluation.gates` /
//! `evaluation.refit` change. The result is
//! parsed again and checked to say what was meant. Pure: text in, text out.

use std::path::Path;

use super::policy::Policy;
use crate::config::locate::{locate, Seg};
pub use crate::config::ApplyError;
use crate::config::{
    ColumnSelection, Duration, NewDataRule, Rule, Threshold, TriggerMode, Triggers, Window,
    WindowSize,
};

/// The triggers a policy stands for in `retrain.yaml` (`every k` = a schedule of k periods).
pub fn triggers_of(policy: &Policy, period: Duration) -> Option<Triggers> {
    match &policy.rule {
        Rule::Never => None,
        Rule::Retrain { every, triggers } => {
            let mut t = (**triggers).clone();
            if let Some(k) = every {
                let every = Duration::from_secs(period.as_secs() * u64::from(*k));
                t.schedule = Some(t.schedule.map_or(every, |s| s.min(every)));
            }
            Some(t)
        }
    }
}

fn size(w: &WindowSize) -> String {
    match w {
        WindowSize::All => "all".into(),
        WindowSize::Rows(n) => n.to_string(),
        WindowSize::Span(d) => d.to_string(),
    }
}

fn window_yaml(w: &Window) -> String {
    match w {
        Window::All => "{ kind: all }".into(),
        Window::Fixed(s) => format!("{{ kind: fixed, last: {} }}", size(s)),
        Window::SinceChange(s) => format!("{{ kind: since_change, last: {} }}", size(s)),
        Window::Dynamic(c) => format!(
            "{{ kind: dynamic, candidates: [{}] }}",
            c.iter().map(size).collect::<Vec<_>>().join(", ")
        ),
    }
}

fn threshold(t: &Threshold) -> String {
    match t {
        Threshold::Auto => "auto".into(),
        Threshold::Value(v) => v.to_string(),
    }
}

fn enum_name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The lines of a `triggers:` block at `indent` (the key's own indentation).
fn triggers_yaml(t: Option<&Triggers>, indent: usize, name: &str) -> Vec<String> {
    let pad = " ".repeat(indent);
    let Some(t) = t else {
        return vec![format!(
            "{pad}triggers: {{}}   # never retrain (retrain backtest: `{name}`)"
        )];
    };
    let inner = " ".repeat(indent + 2);
    let mut out = vec![format!(
        "{pad}triggers:   # chosen by retrain backtest: `{name}`"
    )];
    if t.mode == TriggerMode::All {
        out.push(format!("{inner}mode: all"));
    }
    if let Some(s) = t.schedule {
        out.push(format!("{inner}schedule: {{ every: {s} }}"));
    }
    match t.new_data {
        Some(NewDataRule::Rows(r)) => out.push(format!("{inner}new_data: {{ min_rows: {r} }}")),
        Some(NewDataRule::Fraction(f)) => {
            out.push(format!("{inner}new_data: {{ min_fraction: {f} }}"))
        }
        None => {}
    }
    if let Some(d) = &t.drift {
        let columns = match &d.columns {
            ColumnSelection::All => "all".to_string(),
            ColumnSelection::List(l) => format!("[{}]", l.join(", ")),
        };
        let mut s = format!(
            "{inner}drift: {{ method: {}, threshold: {}, share: {}, columns: {columns}",
            enum_name(&d.method),
            threshold(&d.threshold),
            d.share.get()
        );
        if !d.per_column.is_empty() {
            let per: Vec<String> = d
                .per_column
                .iter()
                .map(|(c, v)| {
                    format!(
                        "{c}: {{ method: {}, threshold: {} }}",
                        enum_name(&v.method),
                        threshold(&v.threshold)
                    )
                })
                .collect();
            s.push_str(&format!(", per_column: {{ {} }}", per.join(", ")));
        }
        s.push_str(" }");
        out.push(s);
    }
    if let Some(p) = &t.performance {
        let mut parts = vec![format!("metric: {}", p.metric)];
        if let Some(m) = p.min {
            parts.push(format!("min: {m}"));
        }
        if let Some(d) = p.max_drop {
            parts.push(format!("max_drop: {d}"));
        }
        out.push(format!("{inner}performance: {{ {} }}", parts.join(", ")));
    }
    if let Some(c) = t.cooldown {
        out.push(format!("{inner}cooldown: {c}"));
    }
    if let Some(m) = &t.max_per_period {
        out.push(format!(
            "{inner}max_per_period: {{ count: {}, period: {} }}",
            m.count, m.period
        ));
    }
    out
}

/// The lines of a `gates:` key (at indentation 0).
/// `evaluation.shadow` as the policy has it (`close_when_beaten` kept from the model's).
fn shadow_yaml(shadow: &crate::config::Shadow, close_when_beaten: bool, name: &str) -> Vec<String> {
    let mut out = vec![
        format!("shadow:   # chosen by retrain backtest: `{name}`"),
        format!("  min_rows: {}", shadow.min_rows),
    ];
    out.extend(
        gates_yaml(&shadow.gates, name)
            .into_iter()
            .map(|l| format!("  {l}")),
    );
    if close_when_beaten {
        out.push("  close_when_beaten: true".into());
    }
    out
}

/// The shadow period that matters to a policy: rows and gates.
fn shadow_key(shadow: Option<&crate::config::Shadow>) -> Option<(u64, &[crate::config::Gate])> {
    shadow.map(|s| (s.min_rows, s.gates.as_slice()))
}

fn gates_yaml(gates: &[crate::config::Gate], name: &str) -> Vec<String> {
    if gates.is_empty() {
        return vec![format!(
            "gates: []   # no gate (retrain backtest: `{name}`): candidates are proposed unblessed"
        )];
    }
    let mut out = vec![format!("gates:   # chosen by retrain backtest: `{name}`")];
    for g in gates {
        let mut parts = vec![format!("metric: {}", g.metric)];
        for (k, v) in [
            ("min", g.min),
            ("max", g.max),
            ("min_change", g.min_change),
            ("min_relative_change", g.min_relative_change),
        ] {
            if let Some(v) = v {
                parts.push(format!("{k}: {v}"));
            }
        }
        if let Some(s) = &g.slice {
            parts.push(format!("slice: {s}"));
        }
        out.push(format!("  - {{ {} }}", parts.join(", ")));
    }
    out
}

fn indented(lines: &[String], indent: usize) -> Vec<String> {
    let pad = " ".repeat(indent);
    lines.iter().map(|l| format!("{pad}{l}")).collect()
}

type Edit = (usize, usize, Vec<String>);

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn meaningful(line: &str) -> bool {
    let t = line.trim_start();
    !t.is_empty() && !t.starts_with('#')
}

/// The 0-based line of `path`'s last key when it is really there (the locator answers
/// with the nearest parent otherwise), and the key's column.
fn find(lines: &[&str], text: &str, path: &[Seg]) -> Option<(usize, usize)> {
    let Some(Seg::Key(k)) = path.last() else {
        return None;
    };
    let (line, col) = locate(text, path)?;
    let l = lines.get(line - 1)?;
    l.get(col - 1..)
        .filter(|rest| rest.starts_with(&format!("{k}:")))
        .map(|_| (line - 1, col - 1))
}

/// The lines after `start` that belong to the block of the key at `start`.
fn block_end(lines: &[&str], start: usize, indent: usize) -> usize {
    let mut end = start + 1;
    let mut last = start + 1;
    while end < lines.len() {
        if meaningful(lines[end]) {
            if indent_of(lines[end]) <= indent {
                break;
            }
            last = end + 1;
        }
        end += 1;
    }
    last
}

/// The key `key:` at (line, column) carries its value on the same line (flow style),
/// not a block below it.
fn inline(lines: &[&str], (line, col): (usize, usize), key: &str) -> bool {
    let rest = lines[line][col + key.len() + 1..].trim();
    !rest.is_empty() && !rest.starts_with('#')
}

/// The indentation of the keys inside the block of the key at (line, column): that of
/// its first meaningful line, or two more than the key's when the block is empty.
fn child_indent(lines: &[&str], (line, col): (usize, usize)) -> usize {
    lines[line + 1..]
        .iter()
        .find(|l| meaningful(l))
        .map(|l| indent_of(l))
        .filter(|i| *i > col)
        .unwrap_or(col + 2)
}

fn key_path(model: usize, keys: &[&str]) -> Vec<Seg> {
    let mut p = vec![Seg::Key("models".into()), Seg::Index(model)];
    p.extend(keys.iter().map(|k| Seg::Key((*k).to_string())));
    p
}

/// `text` (the config file) with model number `model`'s triggers, window, warm start,
/// gates and refit set to `policy`'s. `period` is what one backtest period stands for.
pub fn apply_policy(
    file: &Path,
    text: &str,
    model: usize,
    policy: &Policy,
    period: Duration,
) -> Result<String, ApplyError> {
    let unsupported = |key: &str, message: &str| ApplyError::Unsupported {
        file: file.display().to_string(),
        key: key.into(),
        message: message.into(),
    };
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let triggers = triggers_of(policy, period);

    // training.window and training.warm_start first (they come later in the file or
    // not at all, so the line numbers of the triggers block stay valid).
    let view: Vec<&str> = text.lines().collect();
    let training = find(&view, text, &key_path(model, &["training"])).ok_or_else(|| {
        unsupported(
            "training",
            "the model has no `training:` block; add `training:` with `window:` by hand",
        )
    })?;
    if inline(&view, training, "training") {
        return Err(unsupported(
            "training",
            "`training:` is written inline; write it as a block to let backtest edit it",
        ));
    }
    let training_indent = child_indent(&view, training);
    let training_end = block_end(&view, training.0, training.1);
    // (first line, end line, new lines): replaces lines [first, end).
    let mut edits: Vec<Edit> = Vec::new();
    let pad = " ".repeat(training_indent);
    let window_line = format!("{pad}window: {}", window_yaml(&policy.window));
    let before = crate::config::parse(file, text).map_err(|e| ApplyError::Mismatch {
        file: file.display().to_string(),
        message: e.to_string(),
    })?;
    // `required` stays `required` when the policy warm-starts
    let warm_value = if policy.warm_start && before.models[model].training.warm_start_required {
        "required".to_string()
    } else {
        policy.warm_start.to_string()
    };
    let warm_line = format!("{pad}warm_start: {warm_value}");
    match find(&view, text, &key_path(model, &["training", "window"])) {
        Some((l, c)) => edits.push((l, block_end(&view, l, c), vec![window_line])),
        None => edits.push((training_end, training_end, vec![window_line])),
    }
    match find(&view, text, &key_path(model, &["training", "warm_start"])) {
        Some((l, c)) => edits.push((l, block_end(&view, l, c), vec![warm_line])),
        None => edits.push((training_end, training_end, vec![warm_line])),
    }
    // training.algorithm and training.params, when the policy trains with its own.
    if let Some(t) = &policy.training {
        let algorithm_line = format!(
            "{pad}algorithm: {}",
            crate::config::params::algorithm_name(t.algorithm)
        );
        match find(&view, text, &key_path(model, &["training", "algorithm"])) {
            Some((l, c)) => edits.push((l, block_end(&view, l, c), vec![algorithm_line])),
            None => edits.push((training_end, training_end, vec![algorithm_line])),
        }
        let params = t.params.clone().unwrap_or_default();
        let params_line = format!(
            "{pad}params: {}",
            serde_json::Value::Object(params.into_iter().collect())
        );
        match find(&view, text, &key_path(model, &["training", "params"])) {
            Some((l, c)) => edits.push((l, block_end(&view, l, c), vec![params_line])),
            None if t.params.is_some() => {
                edits.push((training_end, training_end, vec![params_line]))
            }
            None => {}
        }
    }
    // evaluation.gates and evaluation.refit, when the policy's differ from the model's.
    let current = &before.models[model].evaluation;
    let mut evaluation_lines: Vec<(&str, Vec<String>)> = Vec::new();
    if current.gates != policy.gates {
        evaluation_lines.push(("gates", gates_yaml(&policy.gates, &policy.name)));
    }
    if current.refit != policy.refit {
        evaluation_lines.push(("refit", vec![format!("refit: {}", policy.refit)]));
    }
    // (written out also when the gates change: a shadow period without gates of its own
    // takes `evaluation.gates`)
    if shadow_key(current.shadow.as_ref()) != shadow_key(policy.shadow.as_ref())
        || (current.gates != policy.gates && policy.shadow.is_some())
    {
        let close = current.shadow.as_ref().is_some_and(|s| s.close_when_beaten);
        evaluation_lines.push((
            "shadow",
            match &policy.shadow {
                Some(sh) => shadow_yaml(sh, close, &policy.name),
                None => vec![],
            },
        ));
    }
    if !evaluation_lines.is_empty() {
        match find(&view, text, &key_path(model, &["evaluation"])) {
            Some((l, c)) => {
                if inline(&view, (l, c), "evaluation") {
                    return Err(unsupported(
                        "evaluation",
                        "`evaluation:` is written inline; write it as a block to let backtest edit its gates",
                    ));
                }
                let inner = child_indent(&view, (l, c));
                let end = block_end(&view, l, c);
                for (k, new) in evaluation_lines {
                    let new = indented(&new, inner);
                    match find(&view, text, &key_path(model, &["evaluation", k])) {
                        Some((kl, kc)) => edits.push((kl, block_end(&view, kl, kc), new)),
                        None => edits.push((end, end, new)),
                    }
                }
            }
            None => {
                let mut new = vec![format!("{}evaluation:", " ".repeat(training.1))];
                for (_, lines) in evaluation_lines {
                    new.extend(indented(&lines, training_indent));
                }
                edits.push((training_end, training_end, new));
            }
        }
    }
    match find(&view, text, &key_path(model, &["triggers"])) {
        Some((l, c)) => edits.push((
            l,
            block_end(&view, l, c),
            triggers_yaml(triggers.as_ref(), c, &policy.name),
        )),
        None => {
            // Before `training:`, at its indentation.
            edits.push((
                training.0,
                training.0,
                triggers_yaml(triggers.as_ref(), training.1, &policy.name),
            ));
        }
    }
    // Apply from the bottom up; insertions at the same line keep their order.
    let mut edits: Vec<(usize, Edit)> = edits.into_iter().enumerate().collect();
    edits.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(b.0.cmp(&a.0)));
    for (_, (from, to, new)) in edits {
        lines.splice(from..to, new);
    }
    let mut out = lines.join("\n");
    if text.ends_with('\n') {
        out.push('\n');
    }
    // Read it back.
    let config = crate::config::parse(file, &out).map_err(|e| ApplyError::Mismatch {
        file: file.display().to_string(),
        message: e.to_string(),
    })?;
    let m = &config.models[model];
    let expected = triggers.clone().unwrap_or_else(Triggers::none);
    if m.triggers != expected
        || m.training.window != policy.window
        || m.training.warm_start != policy.warm_start
        || m.evaluation.gates != policy.gates
        || m.evaluation.refit != policy.refit
        || shadow_key(m.evaluation.shadow.as_ref()) != shadow_key(policy.shadow.as_ref())
        || policy.training.as_ref().is_some_and(|t| {
            m.training.algorithm != t.algorithm || m.training.hyper.as_ref() != Some(&t.hyper)
        })
    {
        return Err(ApplyError::Mismatch {
            file: file.display().to_string(),
            message: format!(
                "triggers {:?}, window {:?}, warm start {}, gates {:?}, refit {}",
                m.triggers,
                m.training.window,
                m.training.warm_start,
                m.evaluation.gates,
                m.evaluation.refit
            ),
        });
    }
    Ok(out)
}
