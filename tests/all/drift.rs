//! Drift tests against scipy (sampled cases) and on generated data with injected drift.

use std::collections::BTreeMap;

use retrain::checks::drift::{test_column, ColumnDrift, CurrentColumn};
use retrain::config::{ColumnKind, DriftMethod, Threshold};
use retrain::snapshot::profile::{KindProfile, NumericPart};
use retrain::snapshot::ColumnEntry;

fn numeric_entry(values: &[f64]) -> ColumnEntry {
    let profile = NumericPart::from_values(values.to_vec(), 0).finish();
    ColumnEntry {
        name: "x".into(),
        kind: ColumnKind::Numeric,
        dtype: "f64".into(),
        role: BTreeMap::new(),
        count: values.len() as u64,
        nulls: 0,
        profile: KindProfile::Numeric(profile),
    }
}

fn current(values: &[f64]) -> CurrentColumn {
    let mut sorted = values.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    CurrentColumn::Numeric {
        sorted,
        nulls: 0,
        nan: 0,
        inf: 0,
    }
}

fn run(entry: &ColumnEntry, cur: &CurrentColumn, method: DriftMethod) -> ColumnDrift {
    test_column(entry, entry.count, 1, cur, method, Threshold::Auto)
}

/// scipy's results on sampled cases (tests/fixtures/scipy_drift_cases.py).
#[test]
fn drift_matches_scipy() {
    let text = include_str!("fixtures/scipy_drift_cases.json");
    let doc: serde_json::Value = serde_json::from_str(text).unwrap();
    let mut report = Vec::new();
    for case in doc["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let values = |k: &str| -> Vec<f64> {
            case[k]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect()
        };
        let (r, c) = (values("reference"), values("current"));
        let entry = numeric_entry(&r);
        let exact = matches!(&entry.profile, KindProfile::Numeric(p) if p.values.is_some());
        let cur = current(&c);
        let ks = run(&entry, &cur, DriftMethod::Ks);
        let w = run(&entry, &cur, DriftMethod::Wasserstein);
        let js = run(&entry, &cur, DriftMethod::JensenShannon);
        let psi = run(&entry, &cur, DriftMethod::Psi);
        let f = |k: &str| case[k].as_f64().unwrap();
        let d_err = (ks.test_statistic.unwrap() - f("ks_statistic")).abs();
        let p_err = (ks.statistic.unwrap() - f("ks_pvalue")).abs();
        let w_err = (w.statistic.unwrap() - f("wasserstein_norm")).abs();
        let js_err = (js.statistic.unwrap() - f("jensen_shannon")).abs();
        let psi_err = (psi.statistic.unwrap() - f("psi")).abs();
        report.push(format!(
            "{name:<28} exact={exact:<5} D {d_err:.2e} p {p_err:.2e} W {w_err:.2e} JS {js_err:.2e} PSI {psi_err:.2e}"
        ));
        if exact {
            assert!(d_err < 1e-12, "{name}: KS D off by {d_err}");
            let asymptotic = r.len().max(c.len()) > 10_000;
            // exact distribution: to rounding; asymptotic: Kolmogorov's limit vs scipy's kstwo(round(en))
            let p_tol = if asymptotic { 0.01 } else { 1e-6 };
            assert!(p_err < p_tol, "{name}: KS p off by {p_err}");
            assert!(w_err < 1e-9, "{name}: Wasserstein off by {w_err}");
            assert!(
                js_err < 1e-9,
                "{name}: JS off by {js_err}: {:?} vs {}",
                js.statistic,
                f("jensen_shannon")
            );
            assert!(psi_err < 1e-9, "{name}: PSI off by {psi_err}");
            if let Some(chi2) = case.get("chi2_statistic") {
                let t = run(&entry, &cur, DriftMethod::Chi2);
                assert!(
                    (t.test_statistic.unwrap() - chi2.as_f64().unwrap()).abs() < 1e-9,
                    "{name}: chi2"
                );
                assert!(
                    (t.statistic.unwrap() - f("chi2_pvalue")).abs() < 1e-9,
                    "{name}: chi2 p"
                );
            }
        } else {
            // Against the 256-bin histogram of the reference (documented in checks/drift.rs).
            assert!(d_err < 0.005, "{name}: KS D off by {d_err}");
            assert!(w_err < 0.01, "{name}: Wasserstein off by {w_err}");
            assert!(js_err < 0.01, "{name}: JS off by {js_err}");
            assert!(psi_err < 0.01, "{name}: PSI off by {psi_err}");
        }
        // the verdict at the default thresholds agrees with scipy's numbers
        assert_eq!(
            w.drifted,
            f("wasserstein_norm") >= 0.1,
            "{name}: Wasserstein verdict"
        );
        // Near the threshold the histogram's small error can flip a KS verdict; away from it, never.
        let clear = exact || !(0.01..=0.2).contains(&f("ks_pvalue"));
        if clear {
            assert_eq!(
                ks.drifted,
                f("ks_pvalue") <= 0.05,
                "{name}: KS verdict ({:?} vs {})",
                ks.statistic,
                f("ks_pvalue")
            );
        }
    }
    println!("{}", report.join("\n"));
}

#[test]
fn constant_and_empty_columns_are_not_nan() {
    let entry = numeric_entry(&[5.0; 50]);
    let same = run(&entry, &current(&[5.0; 40]), DriftMethod::Wasserstein);
    assert_eq!(same.statistic, Some(0.0));
    assert!(!same.drifted);
    let moved = run(&entry, &current(&[6.0; 40]), DriftMethod::Wasserstein);
    assert!(moved.drifted && moved.statistic.unwrap().is_finite());
    for m in [
        DriftMethod::Auto,
        DriftMethod::Ks,
        DriftMethod::Psi,
        DriftMethod::JensenShannon,
        DriftMethod::Kl,
        DriftMethod::Hellinger,
    ] {
        let r = run(&entry, &current(&[]), m);
        assert!(
            r.not_testable.is_some() && r.statistic.is_none() && !r.drifted,
            "{m:?}"
        );
        let r = run(&entry, &current(&[5.0, 5.0]), m);
        assert!(
            r.statistic.is_some_and(f64::is_finite),
            "{m:?} on constant data: {r:?}"
        );
    }
}
