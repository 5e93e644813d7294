//! Checks that relate several keys of `retrain.yaml`, turning [`RawConfig`] into
//! [`Config`]. Each failure points at the key (line and column found with [`locate`]).

use std::collections::BTreeSet;
use std::path::{Component, Path};

mod backtest;
mod evaluation;
mod search;
mod triggers;

use backtest::validate_backtest;
use evaluation::{validate_evaluation, validate_gate};
use triggers::{task_name, validate_training, validate_triggers, validate_window};

use super::locate::{self, Seg};
use super::*;

struct Ctx<'a> {
    file: &'a Path,
    text: &'a str,
}

impl Ctx<'_> {
    fn err(&self, path: &[Seg], message: impl ToString, hint: Option<String>) -> ConfigError {
        let (line, column) = match locate::locate(self.text, path) {
            Some((l, c)) => (Some(l), Some(c)),
            None => (None, None),
        };
        ConfigError {
            file: self.file.to_path_buf(),
            line,
            column,
            key: Some(locate::display(path)).filter(|k| !k.is_empty()),
            message: message.to_string(),
            hint,
        }
    }
}

fn key(base: &[Seg], parts: &[&str]) -> Vec<Seg> {
    let mut p = base.to_vec();
    p.extend(parts.iter().map(|k| Seg::Key((*k).to_string())));
    p
}

pub(super) fn validate(file: &Path, text: &str, raw: RawConfig) -> Result<Config, ConfigError> {
    let cx = Ctx { file, text };
    if raw.version != 1 {
        return Err(cx.err(
            &key(&[], &["version"]),
            format!(
                "unsupported version {}; this retrain reads version 1",
                raw.version
            ),
            Some("set `version: 1`".into()),
        ));
    }
    if raw.models.is_empty() {
        return Err(cx.err(
            &key(&[], &["models"]),
            "no models defined",
            Some("add at least one model".into()),
        ));
    }
    let mut seen = BTreeSet::new();
    let mut models = Vec::with_capacity(raw.models.len());
    for (i, model) in raw.models.into_iter().enumerate() {
        let base = vec![Seg::Key("models".into()), Seg::Index(i)];
        if !seen.insert(model.name.clone()) {
            return Err(cx.err(
                &key(&base, &["name"]),
                format!("duplicate model name `{}`", model.name),
                Some("model names must be unique in the file".into()),
            ));
        }
        models.push(validate_model(&cx, &base, model)?);
    }
    Ok(Config {
        file: file.to_path_buf(),
        models,
    })
}

fn validate_model(cx: &Ctx, base: &[Seg], m: RawModel) -> Result<ModelConfig, ConfigError> {
    // The `backtest:` section is left out: it does not change what `run` trains or
    // proposes, so editing it must not make open pull requests look stale.
    let config_hash = {
        // nor is `registry.mlflow`: a mirror, set up after the fact, proposes nothing new
        let mut hashed = RawModel {
            backtest: None,
            ..m.clone()
        };
        hashed.registry.mlflow = None;
        let json = serde_json::to_vec(&hashed).expect("config serialises");
        blake3::hash(&json).to_hex()[..16].to_string()
    };
    let name = ModelName::new(&m.name).map_err(|e| cx.err(&key(base, &["name"]), e, None))?;

    // Columns and roles.
    if m.target.trim().is_empty() {
        return Err(cx.err(&key(base, &["target"]), "target must name a column", None));
    }
    if m.ignore.contains(&m.target) {
        return Err(cx.err(
            &key(base, &["ignore"]),
            format!("the target `{}` cannot be ignored", m.target),
            None,
        ));
    }
    if let Some(t) = &m.time_column {
        if *t == m.target {
            return Err(cx.err(
                &key(base, &["time_column"]),
                "the time column cannot be the target",
                None,
            ));
        }
        if m.ignore.contains(t) {
            return Err(cx.err(
                &key(base, &["ignore"]),
                format!("the time column `{t}` cannot be ignored"),
                None,
            ));
        }
    }
    if let Some(features) = &m.features {
        if features.is_empty() {
            return Err(cx.err(
                &key(base, &["features"]),
                "features is empty",
                Some("remove `features` to use every column but the target".into()),
            ));
        }
        let mut dup = BTreeSet::new();
        for f in features {
            let bad = if *f == m.target {
                Some("is the target")
            } else if Some(f) == m.time_column.as_ref() {
                Some("is the time column")
            } else if m.ignore.contains(f) {
                Some("is also in `ignore`")
            } else if !dup.insert(f) {
                Some("is listed twice")
            } else {
                None
            };
            if let Some(why) = bad {
                return Err(cx.err(
                    &key(base, &["features"]),
                    format!("feature `{f}` {why}"),
                    None,
                ));
            }
        }
    }

    let data = validate_data(cx, base, m.data)?;
    if m.profile.top_k == 0 {
        return Err(cx.err(
            &key(base, &["profile", "top_k"]),
            "top_k must be at least 1",
            None,
        ));
    }
    let triggers = validate_triggers(cx, base, m.task, m.triggers)?;
    let v = &m.validation;
    if !(v.min_rows_fraction >= 0.0 && v.min_rows_fraction.is_finite()) {
        return Err(cx.err(
            &key(base, &["validation", "min_rows_fraction"]),
            "must be a number ≥ 0",
            None,
        ));
    }
    if let Some(max) = v.max_rows_fraction {
        if !(max.is_finite() && max > v.min_rows_fraction) {
            return Err(cx.err(
                &key(base, &["validation", "max_rows_fraction"]),
                format!(
                    "must be greater than min_rows_fraction ({})",
                    v.min_rows_fraction
                ),
                None,
            ));
        }
    }
    let backtest = match m.backtest {
        Some(b) => Some(validate_backtest(
            cx,
            &key(base, &["backtest"]),
            m.task,
            m.time_column.is_some(),
            b,
        )?),
        None => None,
    };
    let training = validate_training(cx, base, m.task, m.time_column.is_some(), m.training)?;
    if matches!(training.window, Window::SinceChange(_)) {
        let detector = triggers
            .performance
            .as_ref()
            .is_some_and(|p| p.detector.is_some());
        if !detector || m.time_column.is_none() {
            return Err(cx.err(
                &key(base, &["training", "window", "kind"]),
                "`since_change` starts the window at the change the performance trigger's detector signals, in time order",
                Some("set `triggers.performance.detector` and the model's `time_column`".into()),
            ));
        }
    }
    let evaluation = validate_evaluation(cx, base, m.task, m.time_column.is_some(), m.evaluation)?;
    let registry = Registry {
        path: match m.registry.path {
            Some(p) => {
                check_relative(&p)
                    .and_then(|()| check_not_internal(&p))
                    .map_err(|e| cx.err(&key(base, &["registry", "path"]), e, None))?;
                p.trim_end_matches('/').to_string()
            }
            None => format!("models/{name}"),
        },
        artifacts: match m.registry.artifacts {
            ArtifactStore::Dir(d) if d.trim().is_empty() => {
                return Err(cx.err(
                    &key(base, &["registry", "artifacts"]),
                    "`dir:` needs a path (`dir:/mnt/models` or `dir:relative/to/the/repo`)",
                    None,
                ))
            }
            ArtifactStore::Object(url)
                if url::Url::parse(&url)
                    .ok()
                    .and_then(|u| u.host_str().map(str::is_empty))
                    != Some(false) =>
            {
                return Err(cx.err(
                    &key(base, &["registry", "artifacts"]),
                    format!("`{url}` names no bucket"),
                    Some(
                        "e.g. `s3://bucket/models`, `gs://bucket/models`, `az://container/models`"
                            .into(),
                    ),
                ))
            }
            a => a,
        },
        mlflow: match m.registry.mlflow {
            None => None,
            Some(ml) => {
                let uri = ml.tracking_uri.trim().trim_end_matches('/').to_string();
                if !(uri.starts_with("https://") || uri.starts_with("http://")) {
                    return Err(cx.err(
                        &key(base, &["registry", "mlflow", "tracking_uri"]),
                        format!("`{uri}` is not an http(s) URL"),
                        Some("the tracking server, e.g. `https://mlflow.example.com`".into()),
                    ));
                }
                let alias = ml.alias.unwrap_or_else(|| "champion".into());
                // MLflow refuses aliases like `v1` (they read as versions) and `latest`
                if alias.is_empty()
                    || alias == "latest"
                    || (alias.starts_with(['v', 'V']) && alias[1..].parse::<u64>().is_ok())
                    || !alias
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    return Err(cx.err(
                        &key(base, &["registry", "mlflow", "alias"]),
                        format!("`{alias}` cannot be an MLflow alias"),
                        Some("letters, digits, `_` and `-`; not `latest`, not `v<number>`".into()),
                    ));
                }
                Some(crate::config::Mlflow {
                    tracking_uri: uri,
                    model_name: ml.model_name.unwrap_or_else(|| name.to_string()),
                    alias,
                })
            }
        },
    };
    let pr = &m.pull_request;
    if pr.base.trim().is_empty() || pr.base.contains(char::is_whitespace) {
        return Err(cx.err(
            &key(base, &["pull_request", "base"]),
            "base must be a branch name",
            None,
        ));
    }
    if pr
        .branch_prefix
        .contains(|c: char| c.is_whitespace() || "~^:?*[\\".contains(c))
        || pr.branch_prefix.contains("..")
    {
        return Err(cx.err(
            &key(base, &["pull_request", "branch_prefix"]),
            format!("`{}` is not a valid git branch prefix", pr.branch_prefix),
            None,
        ));
    }
    if let Some(a) = &pr.author {
        if super::raw::parse_author(a).is_none() {
            return Err(cx.err(
                &key(base, &["pull_request", "author"]),
                format!("`{a}` is not `Name <email>`"),
                Some("e.g. `author: \"ML bot <ml-bot@example.com>\"`".into()),
            ));
        }
    }

    Ok(ModelConfig {
        name,
        task: m.task,
        target: m.target,
        time_column: m.time_column,
        features: m.features,
        ignore: m.ignore,
        column_types: m.column_types,
        data,
        profile: m.profile,
        triggers,
        validation: m.validation,
        training,
        evaluation,
        registry,
        pull_request: m.pull_request,
        backtest,
        config_hash,
    })
}

/// A path inside the repository: relative and never above its root.
/// A registry inside git's or retrain's own directories would be written where
/// publishing cannot (`.git`) or where the cache lives (`.retrain`).
fn check_not_internal(path: &str) -> Result<(), PathError> {
    match Path::new(path).components().find_map(|c| match c {
        Component::Normal(n) if n == ".git" || n == ".retrain" => n.to_str(),
        _ => None,
    }) {
        Some(dir) => Err(PathError::Internal {
            path: path.to_string(),
            dir: dir.to_string(),
        }),
        None => Ok(()),
    }
}

/// A path in retrain.yaml that does not name a place inside the repository's commit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("`{0}` must be relative to the repository root")]
    NotRelative(String),
    #[error("`{0}` points outside the repository")]
    Outside(String),
    #[error("`{path}` is inside `{dir}/`, which is not part of the commit; use a directory such as `models/<name>`")]
    Internal { path: String, dir: String },
}

pub fn check_relative(path: &str) -> Result<(), PathError> {
    let p = Path::new(path);
    let not_relative = || PathError::NotRelative(path.to_string());
    if p.is_absolute() || path.starts_with('~') {
        return Err(not_relative());
    }
    let mut depth = 0i32;
    for c in p.components() {
        match c {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            _ => return Err(not_relative()),
        }
        if depth < 0 {
            return Err(PathError::Outside(path.to_string()));
        }
    }
    Ok(())
}

fn validate_data(cx: &Ctx, base: &[Seg], d: RawData) -> Result<DataSource, ConfigError> {
    let given: Vec<&str> = [
        ("path", d.path.is_some()),
        ("dvc", d.dvc.is_some()),
        ("url", d.url.is_some()),
    ]
    .iter()
    .filter(|(_, set)| *set)
    .map(|(k, _)| *k)
    .collect();
    if given.len() != 1 {
        return Err(cx.err(
            &key(base, &["data"]),
            format!(
                "exactly one of `path`, `dvc`, `url` is needed, found {}",
                if given.is_empty() {
                    "none".to_string()
                } else {
                    given.join(", ")
                }
            ),
            Some("e.g. `data: { path: data/*.csv }`".into()),
        ));
    }
    if let Some(path) = d.path {
        if path.trim().is_empty() {
            return Err(cx.err(&key(base, &["data", "path"]), "path is empty", None));
        }
        check_relative(&path).map_err(|e| {
            cx.err(
                &key(base, &["data", "path"]),
                e,
                Some("data must live inside the repository".into()),
            )
        })?;
        return Ok(DataSource::Files {
            pattern: path,
            format: d.format,
        });
    }
    if let Some(dvc) = d.dvc {
        check_relative(&dvc).map_err(|e| cx.err(&key(base, &["data", "dvc"]), e, None))?;
        return Ok(DataSource::Dvc {
            file: dvc,
            format: d.format,
        });
    }
    let url = d.url.unwrap_or_default();
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    if !scheme.is_some_and(|s| crate::config::URL_SCHEMES.contains(&s.as_str())) {
        return Err(cx.err(
            &key(base, &["data", "url"]),
            format!("`{url}` is not a URL retrain reads"),
            Some(format!(
                "use one of {}: e.g. `s3://bucket/prefix/*.parquet` or `https://host/data.csv`",
                crate::config::URL_SCHEMES
                    .iter()
                    .map(|s| format!("{s}://"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        ));
    }
    Ok(DataSource::Url {
        url,
        format: d.format,
    })
}

/// A policies file (`retrain backtest --policies FILE`): the shape of a `backtest:` section.
pub(super) fn validate_policies_file(
    file: &Path,
    text: &str,
    task: Task,
    has_time: bool,
    raw: RawBacktest,
) -> Result<BacktestSpec, ConfigError> {
    let cx = Ctx { file, text };
    validate_backtest(&cx, &[], task, has_time, raw)
}

#[cfg(test)]
mod tests {
    use super::check_relative;

    #[test]
    fn relative_paths_stay_inside() {
        assert!(check_relative("data/a.csv").is_ok());
        assert!(check_relative("data/../b.csv").is_ok());
        assert!(check_relative("../b.csv").is_err());
        assert!(check_relative("data/../../b.csv").is_err());
        assert!(check_relative("/etc/passwd").is_err());
    }
}
