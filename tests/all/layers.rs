//! The stages depend downward only (DESIGN.md §3–4, issue 14): a module imports only
//! from its own stage or from earlier ones, and the modules inside a stage import each
//! other without cycles. The graph is read from `src/` (every `use crate::…`,
//! `use super::…` and inline `crate::…` path outside `#[cfg(test)]` modules); run this
//! test to check it: `cargo test --test all layers`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The stages, earliest first. A module may import from its own stage and earlier ones.
const STAGES: &[&[&str]] = &[
    &["reproducible", "progress"],
    &["config"],
    &["data"],
    &["snapshot"],
    &["checks"],
    &["decision"],
    &["train"],
    &["evaluate"],
    &["registry"],
    &["outcome"],
    &["report"],
    &["proposal"],
    // the top-level error wraps the errors of config … forge; forge's effectful
    // functions return it, and nothing before forge uses it
    &["forge", "error"],
    &["pipeline", "predict"],
    &["backtest"],
    &["action"],
    &["init"],
    &["command"],
    &["server"],
    &["cli"],
];

/// Imports allowed to run against the stages: none (issue 14 removed the last); an entry
/// here must name an edge that exists.
const KNOWN: &[(&str, &str)] = &[];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Module path (`forge::publish`) → file.
fn modules() -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src()).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                parts.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                parts.pop();
            }
            if !parts.is_empty() {
                out.insert(parts.join("::"), path);
            }
        }
    }
    out
}

/// `a::{b, c::{d, e}}` → `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap_or(tree).trim();
        return vec![path.to_string()];
    };
    let prefix = &tree[..open];
    let body = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let (mut items, mut depth, mut current) = (Vec::new(), 0, String::new());
    for c in body.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if c == ',' && depth == 0 {
            items.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    items.push(current);
    items
        .iter()
        .filter(|i| !i.trim().is_empty())
        .flat_map(|i| expand(i).into_iter().map(move |e| format!("{prefix}{e}")))
        .collect()
}

/// The code of a file without comments and without its `#[cfg(test)]` modules.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Paths starting at `crate::` or `super::` in the code.
fn paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    // `use` items: a line that starts with `use` (or `pub use`, `pub(crate) use`), to `;`
    let mut offset = 0;
    for line in code.split_inclusive('\n') {
        let item = line.trim_start();
        let item = item
            .strip_prefix("pub(crate) ")
            .or_else(|| item.strip_prefix("pub(super) "))
            .or_else(|| item.strip_prefix("pub "))
            .unwrap_or(item);
        if let Some(tree) = item.strip_prefix("use ") {
            let start = offset + (line.len() - tree.len());
            if let Some(end) = code[start..].find(';') {
                let tree = code[start..start + end]
                    .split_whitespace()
                    .collect::<Vec<_>>();
                out.extend(expand(&tree.join(" ")));
            }
        }
        offset += line.len();
    }
    for start in ["crate::", "super::", "self::"] {
        let mut rest = code;
        while let Some(i) = rest.find(start) {
            let boundary = i == 0
                || !matches!(rest.as_bytes()[i - 1], b'_' | b':' | b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9');
            let tail = &rest[i..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(tail.len());
            if boundary {
                out.push(tail[..end].trim_end_matches(':').to_string());
            }
            rest = &tail[end.max(1)..];
        }
    }
    out
}

/// The longest module that `path` names.
fn resolve(modules: &BTreeMap<String, PathBuf>, path: &str) -> Option<String> {
    let segs: Vec<&str> = path.split("::").collect();
    (1..=segs.len())
        .rev()
        .map(|n| segs[..n].join("::"))
        .find(|m| modules.contains_key(m))
}

/// Module → the modules it imports.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, file) in &modules {
        let is_dir = file.ends_with("mod.rs");
        // `super` of `a::b` (a file) is `a`; of `a` (a/mod.rs) it is the crate
        let parent = match (is_dir, module.rsplit_once("::")) {
            (_, Some((p, _))) => p.to_string(),
            (_, None) => String::new(),
        };
        let edges = out.entry(module.clone()).or_default();
        for path in paths(&code(file)) {
            let full = if let Some(p) = path.strip_prefix("crate::") {
                p.to_string()
            } else if let Some(p) = path.strip_prefix("self::") {
                format!("{module}::{p}")
            } else if let Some(p) = path.strip_prefix("super::") {
                if parent.is_empty() {
                    p.to_string()
                } else {
                    format!("{parent}::{p}")
                }
            } else {
                continue;
            };
            if let Some(target) = resolve(&modules, &full) {
                if &target != module {
                    edges.insert(target);
                }
            }
        }
    }
    out
}

/// One module is inside the other.
fn related(a: &str, b: &str) -> bool {
    a.starts_with(&format!("{b}::")) || b.starts_with(&format!("{a}::"))
}

fn stage(module: &str) -> usize {
    let top = module.split("::").next().unwrap();
    STAGES
        .iter()
        .position(|s| s.contains(&top))
        .unwrap_or_else(|| {
            panic!("module `{top}` has no stage in tests/all/layers.rs: add it where it belongs")
        })
}

#[test]
fn stages_import_only_from_earlier_stages_and_without_cycles() {
    let graph = graph();
    let mut upward = Vec::new();
    for (from, targets) in &graph {
        for to in targets {
            if stage(to) > stage(from) && !KNOWN.contains(&(from.as_str(), to.as_str())) {
                upward.push(format!("{from} -> {to}"));
            }
        }
    }
    // config depends on nothing else in the crate
    for to in graph
        .get("config")
        .into_iter()
        .chain(
            graph
                .iter()
                .filter(|(m, _)| m.starts_with("config::"))
                .map(|(_, t)| t),
        )
        .flatten()
    {
        if !to.starts_with("config") && !KNOWN.contains(&("config", to.as_str())) {
            upward.push(format!("config -> {to}"));
        }
    }
    // cycles: a depth-first search over every edge
    let mut cycles = BTreeSet::new();
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        cycles: &mut BTreeSet<String>,
    ) {
        if let Some(i) = path.iter().position(|p| p == node) {
            cycles.insert(path[i..].join(" -> ") + " -> " + node);
            return;
        }
        if done.contains(node) {
            return;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            // a module and its own submodules are one unit (the parent declares and
            // re-exports them, they use its types): only siblings and strangers count
            if related(node, next) || KNOWN.contains(&(node, next.as_str())) {
                continue;
            }
            visit(next, graph, path, done, cycles);
        }
        path.pop();
        done.insert(node.to_string());
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        visit(node, &graph, &mut Vec::new(), &mut done, &mut cycles);
    }
    // the list of known edges stays true: an edge that is gone leaves it
    let stale: Vec<String> = KNOWN
        .iter()
        .filter(|(from, to)| !graph.get(*from).is_some_and(|t| t.contains(*to)))
        .map(|(from, to)| format!("{from} -> {to}"))
        .collect();
    assert!(
        stale.is_empty(),
        "these imports are gone: remove them from KNOWN in tests/all/layers.rs:\n  {}",
        stale.join("\n  ")
    );
    assert!(
        upward.is_empty() && cycles.is_empty(),
        "imports against the stages:\n  {}\ncycles:\n  {}",
        upward.join("\n  "),
        cycles.into_iter().collect::<Vec<_>>().join("\n  ")
    );
}
