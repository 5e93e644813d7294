//! GitHub's OpenAPI description (reduced by tests/github/reduce-spec.mjs) for the test
//! server: responses are built from the schemas (every required field present, with a
//! value of the right type) and then filled with the server's state, so they are
//! valid by construction; prism checks them on the wire anyway.

use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::{json, Map, Value};

/// Builds the reduced description with node (tests/github must have `npm ci` done).
pub fn spec_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/github"));
        assert!(
            dir.join("node_modules/@octokit/openapi").is_dir(),
            "tests/github/node_modules is missing: run `bash tests/run.sh`, which installs it (npm ci, pinned)"
        );
        let out =
            std::env::temp_dir().join(format!("retrain-github-spec-{}.json", std::process::id()));
        let status = std::process::Command::new("node")
            .arg(dir.join("reduce-spec.mjs"))
            .arg(&out)
            .arg("http://127.0.0.1:1")
            .status()
            .expect("node runs");
        assert!(status.success(), "reduce-spec.mjs failed");
        out
    })
}

pub fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| serde_json::from_slice(&std::fs::read(spec_path()).unwrap()).unwrap())
}

fn resolve<'a>(spec: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let mut cur = spec;
            for part in r.trim_start_matches("#/").split('/') {
                cur = &cur[part];
            }
            resolve(spec, cur)
        }
        None => v,
    }
}

/// A value satisfying `schema`: required properties only, minimal values.
pub fn minimal(schema: &Value) -> Value {
    let spec = spec();
    let s = resolve(spec, schema);
    if let Some(all) = s.get("allOf").and_then(Value::as_array) {
        let mut out = Map::new();
        for part in all {
            if let Value::Object(o) = minimal(part) {
                out.extend(o);
            }
        }
        return Value::Object(out);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(first) = s.get(key).and_then(Value::as_array).and_then(|a| a.first()) {
            return minimal(first);
        }
    }
    if let Some(e) = s
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    {
        return e.clone();
    }
    let ty = match s.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null")
            .to_string(),
        _ if s.get("properties").is_some() => "object".into(),
        _ => "null".into(),
    };
    if s.get("nullable") == Some(&json!(true)) && ty != "object" && ty != "array" {
        return Value::Null;
    }
    match ty.as_str() {
        "object" => {
            let mut out = Map::new();
            let props = s.get("properties").cloned().unwrap_or(json!({}));
            for req in s
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let name = req.as_str().unwrap_or_default();
                out.insert(name.to_string(), minimal(&props[name]));
            }
            Value::Object(out)
        }
        "array" => json!([]),
        "integer" | "number" => json!(s.get("minimum").cloned().unwrap_or(json!(1))),
        "boolean" => json!(false),
        "string" => match s.get("format").and_then(Value::as_str) {
            Some("date-time") => json!("2025-06-01T00:00:00Z"),
            Some("uri") => json!("https://github.test/x"),
            Some("email") => json!("bot@example.com"),
            _ => json!("x"),
        },
        _ => Value::Null,
    }
}

/// The success response schema of an operation.
pub fn response_schema(method: &str, path: &str) -> Value {
    let op = &spec()["paths"][path][method];
    let responses = op["responses"]
        .as_object()
        .unwrap_or_else(|| panic!("{method} {path} not in the reduced spec"));
    let (_, r) = responses
        .iter()
        .find(|(code, _)| code.starts_with('2'))
        .expect("a 2xx response");
    let r = resolve(spec(), r);
    r["content"]["application/json"]["schema"].clone()
}

/// A schema-valid response with `overlay`'s fields put in (recursively).
pub fn response(method: &str, path: &str, overlay: Value) -> Value {
    let mut v = minimal(&response_schema(method, path));
    merge(&mut v, overlay);
    v
}

pub fn merge(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, o) => *b = o,
    }
}

/// `base` with `overlay` merged in, returned.
pub fn merge_into(mut base: Value, overlay: Value) -> Value {
    merge(&mut base, overlay);
    base
}
