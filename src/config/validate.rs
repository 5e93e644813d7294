//! Checks that relate several keys of `retrain.yaml`, turning [`RawConfig`] into
//! [`Config`]. Each failure points at the key (line and column found with [`locate`]).

use std::collections::BTreeSet;
use std::path::{Component, Path};

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
        let json = serde_json::to_vec(&RawModel {
            backtest: None,
            ..m.clone()
        })
        .expect("config serialises");
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
            a => a,
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

/// More resamples than any interval needs: each costs a pass over the holdout.
const MAX_RESAMPLES: u32 = 100_000;

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
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(cx.err(
            &key(base, &["data", "url"]),
            format!("`{url}` is not an http(s) URL"),
            None,
        ));
    }
    Ok(DataSource::Url(url))
}

fn validate_triggers(
    cx: &Ctx,
    base: &[Seg],
    task: Task,
    t: TriggersConfig,
) -> Result<Triggers, ConfigError> {
    let tb = key(base, &["triggers"]);
    let new_data = match &t.new_data {
        None => None,
        Some(nd) => match (nd.min_rows, nd.min_fraction) {
            (Some(rows), None) if rows > 0 => Some(NewDataRule::Rows(rows)),
            (None, Some(f)) if f > 0.0 && f.is_finite() => Some(NewDataRule::Fraction(f)),
            (Some(_), Some(_)) => {
                return Err(cx.err(
                    &key(&tb, &["new_data"]),
                    "give `min_rows` or `min_fraction`, not both",
                    None,
                ))
            }
            (None, None) => {
                return Err(cx.err(
                    &key(&tb, &["new_data"]),
                    "needs `min_rows` or `min_fraction`",
                    None,
                ))
            }
            _ => {
                return Err(cx.err(
                    &key(&tb, &["new_data"]),
                    "the minimum must be greater than 0",
                    None,
                ))
            }
        },
    };
    if let Some(drift) = &t.drift {
        check_threshold(
            cx,
            &key(&tb, &["drift", "threshold"]),
            drift.method,
            drift.threshold,
        )?;
        for (col, c) in &drift.per_column {
            check_threshold(
                cx,
                &key(&tb, &["drift", "per_column", col]),
                c.method,
                c.threshold,
            )?;
        }
        if let ColumnSelection::List(cols) = &drift.columns {
            if cols.is_empty() {
                return Err(cx.err(
                    &key(&tb, &["drift", "columns"]),
                    "the list of columns is empty",
                    Some("use `all`".into()),
                ));
            }
        }
    }
    if let Some(p) = &t.performance {
        if p.metric.task() != task {
            return Err(cx.err(
                &key(&tb, &["performance", "metric"]),
                format!("`{}` is not a {} metric", p.metric, task_name(task)),
                None,
            ));
        }
        if p.min.is_none() && p.max_drop.is_none() {
            return Err(cx.err(
                &key(&tb, &["performance"]),
                "needs `min` or `max_drop`",
                None,
            ));
        }
        if let Some(d) = p.max_drop {
            if !(d >= 0.0 && d.is_finite()) {
                return Err(cx.err(&key(&tb, &["performance", "max_drop"]), "must be ≥ 0", None));
            }
        }
    }
    if let Some(m) = &t.max_per_period {
        if m.count == 0 {
            return Err(cx.err(
                &key(&tb, &["max_per_period", "count"]),
                "count must be at least 1",
                None,
            ));
        }
    }
    Ok(Triggers {
        mode: t.mode,
        schedule: t.schedule.map(|s| s.every),
        new_data,
        drift: t.drift,
        performance: t.performance,
        cooldown: t.cooldown,
        max_per_period: t.max_per_period,
    })
}

fn check_threshold(
    cx: &Ctx,
    path: &[Seg],
    method: DriftMethod,
    threshold: Threshold,
) -> Result<(), ConfigError> {
    if let Threshold::Value(v) = threshold {
        let p_value = matches!(method, DriftMethod::Ks | DriftMethod::Chi2 | DriftMethod::Z);
        if p_value && !(v > 0.0 && v < 1.0) {
            return Err(cx.err(
                path,
                format!("a p-value threshold must be between 0 and 1, got {v}"),
                None,
            ));
        }
        if matches!(method, DriftMethod::Auto) {
            return Err(cx.err(
                path,
                "`method: auto` picks a different test per column; its thresholds cannot be set with one number",
                Some("choose a method (e.g. `wasserstein`) or leave `threshold: auto`".into()),
            ));
        }
        if matches!(method, DriftMethod::JensenShannon | DriftMethod::Hellinger) && v > 1.0 {
            return Err(cx.err(
                path,
                format!("this distance lies in [0, 1]; threshold {v} can never be reached"),
                None,
            ));
        }
    }
    Ok(())
}

fn task_name(task: Task) -> &'static str {
    match task {
        Task::Classification => "classification",
        Task::Regression => "regression",
    }
}

fn validate_training(
    cx: &Ctx,
    base: &[Seg],
    task: Task,
    has_time: bool,
    t: TrainingConfig,
) -> Result<Training, ConfigError> {
    let tb = key(base, &["training"]);
    let fits = match t.algorithm {
        Algorithm::LogisticRegression | Algorithm::GaussianNb | Algorithm::DecisionTree => {
            task == Task::Classification
        }
        Algorithm::LinearRegression | Algorithm::ElasticNet => task == Task::Regression,
    };
    if !fits && t.command.is_none() {
        return Err(cx.err(
            &key(&tb, &["algorithm"]),
            format!("{:?} does not fit a {} task", t.algorithm, task_name(task)),
            Some(match task {
                Task::Classification => {
                    "use logistic_regression, decision_tree or gaussian_nb".into()
                }
                Task::Regression => "use linear_regression or elastic_net".into(),
            }),
        ));
    }
    let window = validate_window(cx, &key(&tb, &["window"]), has_time, &t.window)?;
    if let Some(cmd) = &t.command {
        if cmd.train.trim().is_empty() || cmd.predict.trim().is_empty() {
            return Err(cx.err(
                &key(&tb, &["command"]),
                "`train` and `predict` must both be commands",
                None,
            ));
        }
    }
    let (hyper, max_categories) = match &t.command {
        Some(_) => (None, params::DEFAULT_MAX_CATEGORIES),
        None => {
            let (h, m) = params::hyper_params(t.algorithm, &t.params)
                .map_err(|e| cx.err(&key(&tb, &["params", e.key.as_str()]), e.message, e.hint))?;
            (Some(h), m)
        }
    };
    Ok(Training {
        algorithm: t.algorithm,
        params: t.params,
        hyper,
        max_categories,
        window,
        warm_start: t.warm_start,
        command: t.command,
    })
}

fn validate_window(
    cx: &Ctx,
    wb: &[Seg],
    has_time: bool,
    w: &WindowConfig,
) -> Result<Window, ConfigError> {
    let needs_time = |w: &WindowSize| matches!(w, WindowSize::Span(_)) && !has_time;
    let window = match w.kind {
        WindowKind::All => {
            if w.last.is_some() || !w.candidates.is_empty() {
                return Err(cx.err(wb, "`kind: all` takes no `last` or `candidates`", None));
            }
            Window::All
        }
        WindowKind::Fixed => match (w.last, w.candidates.is_empty()) {
            (Some(w), true) => Window::Fixed(w),
            _ => {
                return Err(cx.err(
                    wb,
                    "`kind: fixed` needs `last` (rows or a duration) and no `candidates`",
                    None,
                ))
            }
        },
        WindowKind::Dynamic => {
            if w.candidates.len() < 2 || w.last.is_some() {
                return Err(cx.err(
                    wb,
                    "`kind: dynamic` needs two or more `candidates` and no `last`",
                    None,
                ));
            }
            Window::Dynamic(w.candidates.clone())
        }
    };
    let all_sizes: Vec<WindowSize> = w
        .last
        .into_iter()
        .chain(w.candidates.iter().copied())
        .collect();
    if all_sizes.iter().any(needs_time) {
        return Err(cx.err(
            wb,
            "a window given as a duration needs `time_column`",
            Some("set the model's `time_column`, or give the window in rows".into()),
        ));
    }
    Ok(window)
}

/// Validates a `backtest:` section (`base` = its key path) or a policies file (`base` empty).
fn validate_backtest(
    cx: &Ctx,
    base: &[Seg],
    task: Task,
    has_time: bool,
    b: RawBacktest,
) -> Result<BacktestSpec, ConfigError> {
    if b.period_rows == Some(0) {
        return Err(cx.err(
            &key(base, &["period_rows"]),
            "a period needs at least 1 row",
            None,
        ));
    }
    if b.warmup == Some(0) {
        return Err(cx.err(
            &key(base, &["warmup"]),
            "the first model needs at least 1 period",
            None,
        ));
    }
    if let Some(m) = b.metric {
        if m.task() != task {
            return Err(cx.err(
                &key(base, &["metric"]),
                format!("`{m}` is not a {} metric", task_name(task)),
                None,
            ));
        }
    }
    if let Some(t) = b.tolerance {
        if !(t >= 0.0 && t.is_finite()) {
            return Err(cx.err(&key(base, &["tolerance"]), "must be a number ≥ 0", None));
        }
    }
    if let Some(t) = b.max_retrain_share {
        if !(t > 0.0 && t <= 1.0) {
            return Err(cx.err(
                &key(base, &["max_retrain_share"]),
                "must be a share of the periods in (0, 1], e.g. 0.25 for one period in four",
                None,
            ));
        }
    }
    if let Some(t) = b.relative_tolerance {
        if !((0.0..1.0).contains(&t)) {
            return Err(cx.err(
                &key(base, &["relative_tolerance"]),
                "must be a fraction in [0, 1), e.g. 0.01 for 1%",
                None,
            ));
        }
    }
    let mut policies = Vec::new();
    let mut names = BTreeSet::new();
    for (i, p) in b.policies.iter().enumerate() {
        let mut pb = key(base, &["policies"]);
        pb.push(Seg::Index(i));
        let ok_name = !p.name.is_empty()
            && p.name.len() <= 64
            && p.name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.+-".contains(c));
        if !ok_name {
            return Err(cx.err(
                &key(&pb, &["name"]),
                format!(
                    "policy name `{}` must be 1-64 letters, digits, `_`, `.`, `+` or `-`",
                    p.name
                ),
                None,
            ));
        }
        if !names.insert(p.name.clone()) {
            return Err(cx.err(
                &key(&pb, &["name"]),
                format!("duplicate policy name `{}`", p.name),
                Some("policy names must be unique".into()),
            ));
        }
        if p.never && (p.every.is_some() || p.triggers.is_some()) {
            return Err(cx.err(
                &key(&pb, &["never"]),
                "`never: true` takes no `every` or `triggers`",
                None,
            ));
        }
        if p.every == Some(0) {
            return Err(cx.err(
                &key(&pb, &["every"]),
                "retrain every 1 period or more",
                None,
            ));
        }
        let rule = if p.never || (p.every.is_none() && p.triggers.is_none()) {
            Rule::Never
        } else {
            let triggers =
                validate_triggers(cx, &pb, task, p.triggers.clone().unwrap_or_default())?;
            Rule::Retrain {
                every: p.every,
                triggers: Box::new(triggers),
            }
        };
        let window = match &p.window {
            Some(w) => Some(validate_window(cx, &key(&pb, &["window"]), has_time, w)?),
            None => None,
        };
        if let Some(gates) = &p.gates {
            for (j, g) in gates.iter().enumerate() {
                let mut gp = key(&pb, &["gates"]);
                gp.push(Seg::Index(j));
                validate_gate(cx, &gp, task, g)?;
            }
        }
        policies.push(PolicySpec {
            name: p.name.clone(),
            rule,
            window,
            warm_start: p.warm_start,
            gates: p.gates.clone(),
            refit: p.refit,
        });
    }
    if let Some(g) = &b.grid {
        let gb = key(base, &["grid"]);
        if g.every.contains(&0) {
            return Err(cx.err(
                &key(&gb, &["every"]),
                "retrain every 1 period or more",
                None,
            ));
        }
        if let Some(d) = g
            .performance_drop
            .iter()
            .find(|d| !(**d >= 0.0 && d.is_finite()))
        {
            return Err(cx.err(
                &key(&gb, &["performance_drop"]),
                format!("a drop must be a number ≥ 0, got {d}"),
                None,
            ));
        }
        if let Some(m) = g.performance_min.iter().find(|m| !m.is_finite()) {
            return Err(cx.err(
                &key(&gb, &["performance_min"]),
                format!("a minimum must be a number, got {m}"),
                None,
            ));
        }
        if g.new_data_rows.contains(&0) {
            return Err(cx.err(
                &key(&gb, &["new_data_rows"]),
                "the minimum must be greater than 0",
                None,
            ));
        }
        if let Some(v) = g.gate_min_change.iter().find_map(|c| match c {
            crate::config::backtest::GateChoice::MinChange(v) if !v.is_finite() => Some(*v),
            _ => None,
        }) {
            return Err(cx.err(
                &key(&gb, &["gate_min_change"]),
                format!("a change must be a number or `none`, got {v}"),
                None,
            ));
        }
        if g.windows.iter().any(|w| matches!(w, WindowSize::Span(_))) && !has_time {
            return Err(cx.err(
                &key(&gb, &["windows"]),
                "a window given as a duration needs `time_column`",
                Some("give the window in rows".into()),
            ));
        }
        for p in super::grid::expand_grid(g, task) {
            if !names.insert(p.name.clone()) {
                return Err(cx.err(
                    &gb,
                    format!(
                        "the grid's policy `{}` has the name of another policy",
                        p.name
                    ),
                    Some("rename the written-out policy".into()),
                ));
            }
            policies.push(p);
        }
    }
    Ok(BacktestSpec {
        period: b.period,
        period_rows: b.period_rows,
        warmup: b.warmup.map(|w| w as usize),
        label_delay: b.label_delay as usize,
        metric: b.metric,
        tolerance: b.tolerance,
        relative_tolerance: b.relative_tolerance,
        max_retrain_share: b.max_retrain_share,
        defaults: b
            .defaults
            .unwrap_or(b.policies.is_empty() && b.grid.is_none()),
        policies,
    })
}

/// One condition of a gate (`evaluation.gates[i]` or a backtest policy's `gates[i]`).
fn validate_gate(cx: &Ctx, gp: &[Seg], task: Task, g: &Gate) -> Result<(), ConfigError> {
    if g.metric.task() != task {
        return Err(cx.err(
            &key(gp, &["metric"]),
            format!("`{}` is not a {} metric", g.metric, task_name(task)),
            None,
        ));
    }
    for (name, v) in [
        ("min", g.min),
        ("max", g.max),
        ("min_change", g.min_change),
        ("min_relative_change", g.min_relative_change),
    ] {
        if v.is_some_and(|v| !v.is_finite()) {
            return Err(cx.err(
                &key(gp, &[name]),
                format!("`{name}` must be a finite number"),
                None,
            ));
        }
    }
    if g.min.is_none()
        && g.max.is_none()
        && g.min_change.is_none()
        && g.min_relative_change.is_none()
    {
        return Err(cx.err(
            gp,
            "a gate needs `min`, `max`, `min_change` or `min_relative_change`",
            None,
        ));
    }
    Ok(())
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

fn validate_evaluation(
    cx: &Ctx,
    base: &[Seg],
    task: Task,
    has_time: bool,
    e: RawEvaluation,
) -> Result<Evaluation, ConfigError> {
    let eb = key(base, &["evaluation"]);
    let f = e.holdout.fraction.get();
    if !(f > 0.0 && f < 1.0) {
        return Err(cx.err(
            &key(&eb, &["holdout", "fraction"]),
            format!("must be between 0 and 1 (exclusive), got {f}"),
            None,
        ));
    }
    let _ = has_time; // a time holdout without a time column uses row order (documented)
    let metrics = e.metrics.unwrap_or_else(|| match task {
        Task::Classification => vec![Metric::Accuracy, Metric::F1, Metric::RocAuc],
        Task::Regression => vec![Metric::Rmse, Metric::Mae, Metric::R2],
    });
    if metrics.is_empty() {
        return Err(cx.err(&key(&eb, &["metrics"]), "metrics is empty", None));
    }
    for m in &metrics {
        if m.task() != task {
            return Err(cx.err(
                &key(&eb, &["metrics"]),
                format!("`{m}` is not a {} metric", task_name(task)),
                None,
            ));
        }
    }
    let primary = e.primary.unwrap_or(metrics[0]);
    if primary.task() != task {
        return Err(cx.err(
            &key(&eb, &["primary"]),
            format!("`{primary}` is not a {} metric", task_name(task)),
            None,
        ));
    }
    let mut metrics = metrics;
    if !metrics.contains(&primary) {
        metrics.insert(0, primary);
    }
    for (i, g) in e.gates.iter().enumerate() {
        let gp = {
            let mut p = key(&eb, &["gates"]);
            p.push(Seg::Index(i));
            p
        };
        validate_gate(cx, &gp, task, g)?;
        if let Some(s) = &g.slice {
            if !e.slices.contains(s) {
                return Err(cx.err(
                    &key(&gp, &["slice"]),
                    format!("slice `{s}` is not in evaluation.slices"),
                    Some(format!("add `{s}` to `evaluation.slices`")),
                ));
            }
        }
        if !metrics.contains(&g.metric) {
            metrics.push(g.metric);
        }
    }
    if e.intervals.method == IntervalMethod::Bootstrap && e.intervals.resamples < 10 {
        return Err(cx.err(
            &key(&eb, &["intervals", "resamples"]),
            "bootstrap needs at least 10 resamples",
            None,
        ));
    }
    if e.intervals.resamples > MAX_RESAMPLES {
        return Err(cx.err(
            &key(&eb, &["intervals", "resamples"]),
            format!(
                "at most {MAX_RESAMPLES} resamples (1000 is the usual; 10000 for tight intervals)"
            ),
            None,
        ));
    }
    Ok(Evaluation {
        holdout: e.holdout,
        metrics,
        primary,
        gates: e.gates,
        intervals: e.intervals,
        slices: e.slices,
        refit: e.refit,
    })
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
