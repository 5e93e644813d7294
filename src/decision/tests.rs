use super::*;
use crate::config::{MaxPerPeriod, Metric, PerformanceTrigger};
use chrono::TimeZone;

fn triggers() -> Triggers {
    Triggers::none()
}

fn drift(share: f64, threshold: f64) -> DriftReport {
    DriftReport {
        method: crate::config::DriftMethod::Auto,
        columns: vec![],
        tested: 10,
        drifted: (share * 10.0).round() as usize,
        share,
        share_threshold: threshold,
        dataset_drift: share >= threshold,
        label: None,
        prediction: None,
        reference_rows: 1000,
        current_rows: 100,
    }
}

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, day, hour, 0, 0).unwrap()
}

struct Case {
    triggers: Triggers,
    trained: Option<DateTime<Utc>>,
    times: Vec<DateTime<Utc>>,
    now: DateTime<Utc>,
    new_rows: u64,
    drift: DriftReport,
    performance: Result<Option<PerformanceObservation>, Unscored>,
    estimated: Result<Option<EstimatedPerformance>, Unscored>,
    force: bool,
}

impl Case {
    fn new(triggers: Triggers) -> Self {
        Self {
            triggers,
            trained: Some(at(1, 0)),
            times: vec![at(1, 0)],
            now: at(8, 0),
            new_rows: 0,
            drift: drift(0.0, 0.5),
            performance: Ok(None),
            estimated: Ok(None),
            force: false,
        }
    }

    fn decide(&self) -> Decision {
        decide(&DecisionInput {
            triggers: &self.triggers,
            champion_trained_at: self.trained,
            trained_times: self.times.clone(),
            now: self.now,
            force: self.force,
            new_rows: self.new_rows,
            reference_rows: 1000,
            drift: &self.drift,
            performance: self.performance.clone(),
            estimated: self.estimated.clone(),
            prediction_drift: Ok(None),
            anomalies: &[],
        })
    }
}

fn fired(d: &Decision, kind: ReasonKind) -> bool {
    d.reasons.iter().any(|r| r.kind == kind && r.fired)
}

#[test]
fn schedule_fires_at_exactly_every() {
    let mut t = triggers();
    t.schedule = Some("7d".parse().unwrap());
    let mut c = Case::new(t);
    c.now = at(7, 23); // 6d23h
    assert!(!c.decide().retrain);
    c.now = at(8, 0); // 7d
    assert!(c.decide().retrain);
}

#[test]
fn new_data_rows_and_fraction_boundaries() {
    let mut t = triggers();
    t.new_data = Some(NewDataRule::Rows(500));
    let mut c = Case::new(t);
    c.new_rows = 499;
    assert!(!c.decide().retrain);
    c.new_rows = 500;
    assert!(c.decide().retrain);
    let mut t = triggers();
    t.new_data = Some(NewDataRule::Fraction(0.1));
    let mut c = Case::new(t);
    c.new_rows = 99; // 0.099 of 1000
    assert!(!c.decide().retrain);
    c.new_rows = 100;
    assert!(c.decide().retrain);
}

#[test]
fn drift_share_boundary() {
    let mut t = triggers();
    t.drift = Some(crate::config::DriftTrigger {
        method: crate::config::DriftMethod::Auto,
        threshold: crate::config::Threshold::Auto,
        share: crate::config::Fraction::new(0.5).unwrap(),
        columns: crate::config::ColumnSelection::All,
        per_column: Default::default(),
    });
    let mut c = Case::new(t);
    c.drift = drift(0.4, 0.5);
    let d = c.decide();
    assert!(!d.retrain);
    assert!(
        d.reasons[0].detail.contains("share 0.40 < 0.5"),
        "{}",
        d.reasons[0].detail
    );
    c.drift = drift(0.5, 0.5);
    assert!(c.decide().retrain);
}

#[test]
fn performance_min_and_drop_boundaries() {
    let mut t = triggers();
    t.performance = Some(PerformanceTrigger {
        metric: Metric::Accuracy,
        min: Some(0.7),
        max_drop: Some(0.03),
        detector: None,
        estimate: None,
    });
    let obs = |v: f64| {
        Ok(Some(PerformanceObservation {
            metric: Metric::Accuracy,
            value: v,
            baseline: Some(0.75),
            rows: 500,
            detector: None,
        }))
    };
    let mut c = Case::new(t);
    c.performance = obs(0.73); // drop 0.02, above min
    assert!(!c.decide().retrain);
    c.performance = obs(0.719); // drop 0.031 > 0.03
    assert!(c.decide().retrain);
    c.performance = obs(0.69999); // below min
    assert!(c.decide().retrain);
    c.performance = Err(Unscored("no model".into()));
    let d = c.decide();
    assert!(!d.retrain && d.reasons[0].detail.starts_with("not evaluated"));
}

#[test]
fn the_estimate_fires_for_rows_without_labels_and_says_which_value_it_is() {
    let mut t = triggers();
    t.performance = Some(PerformanceTrigger {
        metric: Metric::Accuracy,
        min: None,
        max_drop: Some(0.03),
        detector: None,
        estimate: Some(crate::config::EstimateMethod::Cbpe),
    });
    let est = |v: f64| {
        Ok(Some(EstimatedPerformance {
            method: "cbpe",
            metric: Metric::Accuracy,
            value: v,
            band: Some(0.012),
            rows: 5000,
            baseline: Some(0.80),
            calibrated: true,
        }))
    };
    let mut c = Case::new(t);
    c.estimated = est(0.78);
    let d = c.decide();
    assert!(!d.retrain, "a drop of 0.02 is within 0.03");
    assert_eq!(
        d.reasons[0].detail,
        "no newly labelled rows to score the champion on; estimated (cbpe) accuracy 0.7800 ± 0.01200 on 5000 new rows without labels, drop 0.02000 ≤ 0.03"
    );
    c.estimated = est(0.76);
    let d = c.decide();
    assert!(d.retrain && d.reasons[0].fired, "the estimate dropped 0.04");
    assert_eq!(d.reasons[0].evidence["estimated"]["value"], 0.76);
    // labelled rows too: both are shown, either fires
    c.performance = Ok(Some(PerformanceObservation {
        metric: Metric::Accuracy,
        value: 0.79,
        baseline: Some(0.80),
        rows: 300,
        detector: None,
    }));
    let d = c.decide();
    assert!(d.retrain);
    assert!(d.reasons[0].detail.starts_with("accuracy 0.7900 on 300 new labelled rows, drop 0.01000 ≤ 0.03; estimated (cbpe) accuracy 0.7600"), "{}", d.reasons[0].detail);
    assert_eq!(d.reasons[0].evidence["rows"], 300);
    c.estimated = Err(Unscored(
        "the champion's artifact has no calibration".into(),
    ));
    let d = c.decide();
    assert!(!d.retrain);
    assert!(d.reasons[0]
        .detail
        .ends_with("; estimate not available: the champion's artifact has no calibration"));
}

#[test]
fn mode_all_needs_every_trigger() {
    let mut t = triggers();
    t.mode = TriggerMode::All;
    t.schedule = Some("7d".parse().unwrap());
    t.new_data = Some(NewDataRule::Rows(100));
    let mut c = Case::new(t);
    c.new_rows = 50;
    assert!(!c.decide().retrain, "schedule alone is not enough");
    c.new_rows = 100;
    assert!(c.decide().retrain);
}

#[test]
fn cooldown_holds_until_it_expires_and_force_overrides() {
    let mut t = triggers();
    t.new_data = Some(NewDataRule::Rows(1));
    t.cooldown = Some("1d".parse().unwrap());
    let mut c = Case::new(t);
    c.new_rows = 10;
    c.now = at(1, 23);
    let d = c.decide();
    assert!(!d.retrain && fired(&d, ReasonKind::Cooldown));
    c.now = at(2, 0);
    assert!(c.decide().retrain);
    c.now = at(1, 1);
    c.force = true;
    let d = c.decide();
    assert!(d.retrain && fired(&d, ReasonKind::Manual) && !fired(&d, ReasonKind::Cooldown));
}

#[test]
fn max_per_period_holds() {
    let mut t = triggers();
    t.new_data = Some(NewDataRule::Rows(1));
    t.max_per_period = Some(MaxPerPeriod {
        count: 2,
        period: "30d".parse().unwrap(),
    });
    let mut c = Case::new(t);
    c.new_rows = 10;
    c.now = at(20, 0);
    c.times = vec![at(1, 0), at(10, 0)];
    let d = c.decide();
    assert!(
        !d.retrain && fired(&d, ReasonKind::MaxPerPeriod),
        "{:?}",
        d.reasons
    );
    c.times = vec![
        Utc.with_ymd_and_hms(2025, 5, 1, 0, 0, 0).unwrap(),
        at(10, 0),
    ];
    assert!(c.decide().retrain, "one of the two is older than 30d");
}

#[test]
fn no_champion_means_first_training() {
    let mut c = Case::new(triggers());
    c.trained = None;
    c.times = vec![];
    let d = c.decide();
    assert!(d.retrain && fired(&d, ReasonKind::NoChampion));
}
