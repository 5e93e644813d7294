//! From per-period metrics to a choice: mean and worst metric per policy, the Pareto
//! front of quality against the number of retrains, and the recommendation with its
//! reason.

use serde::Serialize;

use crate::config::Metric;
pub use crate::outcome::PolicyResult;

/// Mean and worst of per-period values (NaN = undefined, skipped).
pub fn mean_worst(values: &[f64], higher_is_better: bool) -> (Option<f64>, Option<f64>) {
    let defined: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if defined.is_empty() {
        return (None, None);
    }
    let mean = defined.iter().sum::<f64>() / defined.len() as f64;
    let worst = if higher_is_better {
        defined.iter().copied().fold(f64::INFINITY, f64::min)
    } else {
        defined.iter().copied().fold(f64::NEG_INFINITY, f64::max)
    };
    (Some(mean), Some(worst))
}

/// `a` is at least as good as `b` (in the metric's direction).
fn at_least(a: f64, b: f64, higher_is_better: bool) -> bool {
    if higher_is_better {
        a >= b
    } else {
        a <= b
    }
}

/// Marks the Pareto front: no other policy is at least as good with at most as many
/// retrains and strictly better in one of the two.
pub fn mark_pareto(policies: &mut [PolicyResult], higher_is_better: bool) {
    let points: Vec<(Option<f64>, usize)> = policies
        .iter()
        .map(|p| (p.mean_metric, p.retrains))
        .collect();
    for (i, p) in policies.iter_mut().enumerate() {
        let Some(m) = points[i].0 else {
            p.pareto = false;
            continue;
        };
        let r = points[i].1;
        p.pareto = !points.iter().enumerate().any(|(j, (mj, rj))| {
            j != i
                && mj.is_some_and(|mj| {
                    at_least(mj, m, higher_is_better) && *rj <= r && (mj != m || *rj < r)
                })
        });
    }
}

/// The recommendation and the sentence that explains it.
#[derive(Debug, Clone, Serialize)]
pub struct Recommendation {
    pub name: String,
    pub reason: String,
    /// The best policy by mean metric (what the recommendation is measured against).
    pub best: String,
    /// The policy that retrains every period with the best mean, if there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub every_period: Option<String>,
    /// The tolerance applied, in the metric's units.
    pub tolerance: f64,
}

/// How far from the best mean a recommended policy may be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tolerance {
    /// In the metric's units.
    Absolute(f64),
    /// A fraction of the best mean (0.01: within 1%).
    Relative(f64),
}

/// The policy with the fewest retrains whose mean metric is within `tolerance` of the
/// best mean (ties: the better mean). `every_period` names the policies that retrain at
/// every period (to compare with).
pub fn recommend(
    policies: &[PolicyResult],
    metric: Metric,
    tolerance: Tolerance,
    budget: Option<usize>,
    every_period: &[String],
) -> Option<Recommendation> {
    let hib = metric.higher_is_better();
    let better = |a: f64, b: f64| if hib { a > b } else { a < b };
    let in_budget = |p: &&PolicyResult| budget.is_none_or(|b| p.retrains <= b);
    let best = policies
        .iter()
        .filter(in_budget)
        .filter(|p| p.mean_metric.is_some())
        .reduce(|a, b| {
            let (ma, mb) = (a.mean_metric.unwrap(), b.mean_metric.unwrap());
            let fewer = b.retrains < a.retrains
                || (b.retrains == a.retrains && !b.warm_start && a.warm_start);
            if better(mb, ma) || (mb == ma && fewer) {
                b
            } else {
                a
            }
        })?;
    let best_mean = best.mean_metric?;
    let (tolerance, tolerance_words) = match tolerance {
        Tolerance::Absolute(t) => (t, format!("the tolerance of {t}")),
        Tolerance::Relative(r) => {
            let t = r * best_mean.abs();
            (t, format!("{}% of it ({t:.4})", 100.0 * r))
        }
    };
    let limit = if hib {
        best_mean - tolerance
    } else {
        best_mean + tolerance
    };
    let chosen = policies
        .iter()
        .filter(in_budget)
        .filter(|p| p.mean_metric.is_some_and(|m| at_least(m, limit, hib)))
        .reduce(|a, b| {
            let (ma, mb) = (a.mean_metric.unwrap(), b.mean_metric.unwrap());
            // fewest retrains, then the better mean, then fewer trainings, then the
            // simpler (cold start)
            let cheaper = b.trainings < a.trainings
                || (b.trainings == a.trainings && !b.warm_start && a.warm_start);
            if b.retrains < a.retrains
                || (b.retrains == a.retrains && (better(mb, ma) || (mb == ma && cheaper)))
            {
                b
            } else {
                a
            }
        })?;
    let reference = policies
        .iter()
        .filter(|p| every_period.contains(&p.name) && p.mean_metric.is_some())
        .reduce(|a, b| {
            if better(b.mean_metric.unwrap(), a.mean_metric.unwrap()) {
                b
            } else {
                a
            }
        });
    let m = chosen.mean_metric.unwrap_or(f64::NAN);
    let mut reason = format!(
        "`{}` ({}) has a mean {metric} of {m:.4} with {} retrain{}",
        chosen.name,
        chosen.description,
        chosen.retrains,
        if chosen.retrains == 1 { "" } else { "s" }
    );
    if chosen.trainings > chosen.retrains {
        reason.push_str(&format!(
            " (deployed out of {} candidates trained; the gate turned down the other {})",
            chosen.trainings,
            chosen.trainings - chosen.retrains
        ));
    }
    if let Some(r) = reference.filter(|r| r.name != chosen.name) {
        let rm = r.mean_metric.unwrap_or(f64::NAN);
        let share = if r.retrains == 0 {
            String::new()
        } else {
            format!(
                " with {:.0}% of its retrains",
                100.0 * chosen.retrains as f64 / r.retrains as f64
            )
        };
        reason.push_str(&format!(
            ": it keeps {:.1}% of the {metric} of retraining every period (`{}`, {rm:.4}, {} retrains){share}",
            100.0 * if hib { m / rm } else { rm / m },
            r.name,
            r.retrains
        ));
    }
    let scope = match budget {
        Some(b) => format!(" within the budget of {b} retrains"),
        None => String::new(),
    };
    if best.name != chosen.name {
        reason.push_str(&format!(
            "; the best policy{scope}, `{}` ({best_mean:.4}, {} retrains), is within {tolerance_words}",
            best.name, best.retrains
        ));
    } else {
        reason.push_str(&format!("; no policy{scope} scored better"));
    }
    reason.push('.');
    Some(Recommendation {
        name: chosen.name.clone(),
        reason,
        best: best.name.clone(),
        tolerance,
        every_period: reference.map(|r| r.name.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str, mean: f64, retrains: usize) -> PolicyResult {
        PolicyResult {
            name: name.into(),
            description: String::new(),
            current: false,
            warm_start: false,
            algorithm: "logistic_regression".into(),
            mean_metric: Some(mean),
            worst_metric: Some(mean),
            retrains,
            trainings: retrains,
            train_seconds: 0.0,
            pareto: false,
            retrain_periods: vec![],
            failed_fits: vec![],
            metrics: vec![],
        }
    }

    #[test]
    fn pareto_front_and_recommendation() {
        let mut ps = vec![
            p("never", 0.6, 0),
            p("weekly", 0.80, 100),
            p("drift", 0.799, 20),
            p("bad", 0.7, 50),
        ];
        mark_pareto(&mut ps, true);
        let front: Vec<&str> = ps
            .iter()
            .filter(|p| p.pareto)
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(front, ["never", "weekly", "drift"]);
        let r = recommend(
            &ps,
            Metric::Accuracy,
            Tolerance::Absolute(0.005),
            None,
            &["weekly".into()],
        )
        .unwrap();
        assert_eq!(r.name, "drift");
        assert!(r.reason.contains("20% of its retrains"), "{}", r.reason);
        // 1% of 0.80 is 0.008: `bad` is still too far; 30% lets `never` in
        let r = recommend(&ps, Metric::Accuracy, Tolerance::Relative(0.01), None, &[]).unwrap();
        assert_eq!(r.name, "drift");
        assert!((r.tolerance - 0.008).abs() < 1e-12);
        assert!(
            r.reason.contains("within 1% of it (0.0080)"),
            "{}",
            r.reason
        );
        let r = recommend(&ps, Metric::Accuracy, Tolerance::Relative(0.3), None, &[]).unwrap();
        assert_eq!(r.name, "never");
        // a budget of 15 retrains: `drift` (20) is out, the best within it is `never`
        let r = recommend(
            &ps,
            Metric::Accuracy,
            Tolerance::Relative(0.01),
            Some(15),
            &[],
        )
        .unwrap();
        assert_eq!(r.name, "never");
        assert!(
            r.reason.contains("within the budget of 15 retrains"),
            "{}",
            r.reason
        );
        // a tie between a warm and a cold start: the simpler, cold one
        let mut warm = p("every4-warm", 0.79, 25);
        warm.warm_start = true;
        let ps = vec![warm, p("every4", 0.79, 25), p("weekly", 0.795, 100)];
        let r = recommend(&ps, Metric::Accuracy, Tolerance::Relative(0.01), None, &[]).unwrap();
        assert_eq!(r.name, "every4");
    }
}
