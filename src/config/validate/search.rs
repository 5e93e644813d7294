//! `training.search`: the search space checked when the config is loaded — every
//! combination a run would try is validated like `training.params` (so a bad value fails
//! `retrain check` at its key), an empty or too large space is refused, and `random`'s
//! draw is made here, seeded, so that the trials are part of the config's meaning.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;

/// Default `trials`.
const DEFAULT_TRIALS: u64 = 20;
/// The largest space `random` draws from (combinations are enumerated).
const MAX_SPACE: usize = 100_000;

pub(super) fn validate_search(
    cx: &Ctx,
    at: &[Seg],
    algorithm: Algorithm,
    regression: bool,
    external: bool,
    base: &BTreeMap<String, serde_json::Value>,
    sc: &SearchConfig,
) -> Result<Search, ConfigError> {
    if external {
        return Err(cx.err(
            at,
            "a parameter search needs a built-in trainer (an external trainer's params are its own)",
            Some("tune inside your trainer, or remove `training.command`".into()),
        ));
    }
    let params_at = key(at, &["params"]);
    if sc.params.is_empty() {
        return Err(cx.err(
            &params_at,
            "the search space is empty",
            Some("e.g. `params: { max_leaves: [15, 31, 63], learning_rate: [0.05, 0.1] }`".into()),
        ));
    }
    for (k, values) in &sc.params {
        if values.is_empty() {
            return Err(cx.err(
                &key(&params_at, &[k.as_str()]),
                "no values to try",
                Some("give at least one value, e.g. `[15, 31]`".into()),
            ));
        }
    }
    let trials = sc.trials.unwrap_or(DEFAULT_TRIALS);
    if trials == 0 {
        return Err(cx.err(&key(at, &["trials"]), "expected at least 1 trial", None));
    }
    let space = sc
        .params
        .values()
        .try_fold(1usize, |n, v| n.checked_mul(v.len()))
        .filter(|n| *n <= MAX_SPACE);
    let Some(space) = space else {
        return Err(cx.err(
            &params_at,
            format!("the search space has more than {MAX_SPACE} combinations"),
            Some("search fewer values, or fewer parameters at once".into()),
        ));
    };
    let mut order: Vec<usize> = (0..space).collect();
    match sc.method {
        SearchMethod::Grid => {
            if space as u64 > trials {
                return Err(cx.err(
                    &key(at, &["trials"]),
                    format!("the grid has {space} combinations, more than `trials: {trials}`"),
                    Some(format!(
                        "raise `trials` to {space}, or use `method: random` to try {trials} of them"
                    )),
                ));
            }
        }
        SearchMethod::Random => {
            order.shuffle(&mut ChaCha8Rng::seed_from_u64(sc.seed));
            order.truncate(trials as usize);
        }
    }
    let keys: Vec<(&String, &Vec<serde_json::Value>)> = sc.params.iter().collect();
    let mut out = Vec::with_capacity(order.len());
    for index in order {
        // mixed radix: the last key varies fastest
        let mut rest = index;
        let mut values = BTreeMap::new();
        for (k, vs) in keys.iter().rev() {
            values.insert((*k).clone(), vs[rest % vs.len()].clone());
            rest /= vs.len();
        }
        let mut params = base.clone();
        params.extend(values.clone());
        let (hyper, max_categories) = params::hyper_params(algorithm, regression, &params)
            .map_err(|e| {
                let path = if sc.params.contains_key(&e.key) {
                    key(&params_at, &[e.key.as_str()])
                } else {
                    key(at, &["params"])
                };
                let shown = values
                    .get(&e.key)
                    .map(|v| format!(" (trying {v})"))
                    .unwrap_or_default();
                cx.err(&path, format!("{}{shown}", e.message), e.hint)
            })?;
        out.push(SearchTrial {
            values,
            params,
            hyper,
            max_categories,
        });
    }
    Ok(Search {
        method: sc.method,
        trials: out,
        space,
        timeout: sc
            .timeout
            .map(|d| std::time::Duration::from_secs(d.as_secs())),
    })
}
