//! The `retrain.yaml` reference as Markdown, generated from the JSON Schema
//! (`retrain schema --markdown`, committed as `docs/retrain-yaml.md` and kept in sync by
//! a test): one table per section, a row per key with its type, default and
//! description. It reads only the schema value; it writes nothing.

use serde_json::Value;

/// The Markdown reference of `schema` (the value `retrain schema` prints).
pub fn markdown(schema: &Value) -> String {
    let defs = &schema["$defs"];
    let mut out = String::from(
        "# `retrain.yaml` reference\n\n\
         Generated from the JSON Schema (`retrain schema`) by `retrain schema --markdown`;\n\
         a test fails when this page is stale. Unknown keys are errors. Types name the\n\
         sections below; `a | b` is either.\n",
    );
    let mut sections: Vec<(String, String)> = vec![("retrain.yaml".into(), "#".into())];
    let mut done = std::collections::BTreeSet::new();
    while let Some((title, reference)) = sections.pop() {
        if !done.insert(reference.clone()) {
            continue;
        }
        let node = if reference == "#" {
            schema
        } else {
            &defs[reference.trim_start_matches("#/$defs/")]
        };
        let Some(props) = node["properties"].as_object() else {
            continue;
        };
        out.push_str(&format!("\n## {title}\n\n"));
        if let Some(d) = node["description"].as_str() {
            out.push_str(&format!("{}\n\n", one_line(d)));
        }
        out.push_str("| key | type | default | |\n|---|---|---|---|\n");
        let required: Vec<&str> = node["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut nested = Vec::new();
        for (key, p) in props {
            let ty = type_of(p, defs, &mut nested);
            let default = match (&p["default"], required.contains(&key.as_str())) {
                (_, true) => "required".to_string(),
                (Value::Null, false) => "–".to_string(),
                (d, false) => format!("`{}`", d.to_string().replace('|', "\\|")),
            };
            let text = p["description"].as_str().map(one_line).unwrap_or_default();
            out.push_str(&format!("| `{key}` | {ty} | {default} | {text} |\n"));
        }
        // sections in the order they are first named, depth first
        for r in nested.into_iter().rev() {
            let name = display(r.trim_start_matches("#/$defs/"));
            sections.push((name, r));
        }
    }
    out
}

/// A key's type in words: a section name, a list of values, or a JSON type.
fn type_of(p: &Value, defs: &Value, nested: &mut Vec<String>) -> String {
    if let Some(r) = p["$ref"].as_str() {
        let name = r.trim_start_matches("#/$defs/");
        let def = &defs[name];
        if def["properties"].is_object() {
            nested.push(r.to_string());
            let shown = display(name);
            return format!("[{shown}](#{})", shown.to_ascii_lowercase());
        }
        return type_of(def, defs, nested);
    }
    if let Some(values) = p["enum"].as_array() {
        return values
            .iter()
            .map(|v| {
                format!(
                    "`{}`",
                    v.as_str().map_or_else(|| v.to_string(), str::to_string)
                )
            })
            .collect::<Vec<_>>()
            .join(" \\| ");
    }
    if let Some(c) = p["const"].as_str() {
        return format!("`{c}`");
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(alts) = p[key].as_array() {
            let parts: Vec<String> = alts
                .iter()
                .filter(|a| a["type"] != "null")
                .map(|a| type_of(a, defs, nested))
                .collect();
            return parts.join(" \\| ");
        }
    }
    match p["type"].as_str() {
        Some("array") => format!("list of {}", type_of(&p["items"], defs, nested)),
        Some("object") => match &p["additionalProperties"] {
            Value::Object(_) => format!(
                "map of {}",
                type_of(&p["additionalProperties"], defs, nested)
            ),
            _ => "map".into(),
        },
        Some(t) => t.to_string(),
        None => match p["type"].as_array() {
            Some(ts) => ts
                .iter()
                .filter_map(Value::as_str)
                .filter(|t| *t != "null")
                .collect::<Vec<_>>()
                .join(" \\| "),
            None => "any".into(),
        },
    }
}

/// A section's name as a reader knows it: `RawModel` → `Model`, `TriggersConfig` →
/// `Triggers`.
fn display(def: &str) -> String {
    let name = def.strip_prefix("Raw").unwrap_or(def);
    name.strip_suffix("Config").unwrap_or(name).to_string()
}

fn one_line(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}
