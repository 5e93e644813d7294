//! `triggers.performance.detector`: a change detector and its settings.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

/// The two ways to write `detector:` (for the JSON schema).
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub(super) enum DetectorSchema {
    Kind(DetectorKind),
    Settings(DetectorSpec),
}

/// A change detector (River 0.26.1's algorithms and defaults).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DetectorKind {
    /// ADaptive WINdowing: a cut in the recent window whose two sides' mean errors
    /// differ beyond a bound set by `delta` (default 0.002).
    Adwin,
    /// Drift Detection Method, for 0/1 errors (classification): the error rate rises
    /// `drift` standard deviations (default 3; warning at `warning`, 2) above its
    /// lowest, after `min_instances` rows (30).
    Ddm,
    /// Page-Hinkley: the cumulative deviation from the running mean error, less
    /// `delta` (0.005), exceeds `threshold` (50), after `min_instances` rows (30).
    PageHinkley,
}

/// `detector:` — a kind, with River's defaults, or a kind and its settings.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DetectorSpec {
    pub kind: DetectorKind,
    /// ADWIN: confidence (default 0.002); Page-Hinkley: the tolerated drift of the mean
    /// (default 0.005).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<f64>,
    /// Page-Hinkley: the detection threshold, lambda (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Page-Hinkley: the forgetting factor (default 0.9999).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
    /// DDM and Page-Hinkley: rows before a change can be signalled (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_instances: Option<u32>,
    /// DDM: standard deviations for the warning zone (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<f64>,
    /// DDM: standard deviations for a change (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<f64>,
}

impl DetectorSpec {
    pub fn of(kind: DetectorKind) -> Self {
        DetectorSpec {
            kind,
            delta: None,
            threshold: None,
            alpha: None,
            min_instances: None,
            warning: None,
            drift: None,
        }
    }
    pub fn delta(&self) -> f64 {
        self.delta.unwrap_or(match self.kind {
            DetectorKind::PageHinkley => 0.005,
            _ => 0.002,
        })
    }
    pub fn threshold(&self) -> f64 {
        self.threshold.unwrap_or(50.0)
    }
    pub fn alpha(&self) -> f64 {
        self.alpha.unwrap_or(1.0 - 0.0001)
    }
    pub fn min_instances(&self) -> u32 {
        self.min_instances.unwrap_or(30)
    }
    pub fn warning(&self) -> f64 {
        self.warning.unwrap_or(2.0)
    }
    pub fn drift(&self) -> f64 {
        self.drift.unwrap_or(3.0)
    }
    /// The settings given that `kind` does not have.
    pub fn foreign_settings(&self) -> Vec<&'static str> {
        let given = [
            (
                "delta",
                self.delta.is_some(),
                self.kind != DetectorKind::Ddm,
            ),
            (
                "threshold",
                self.threshold.is_some(),
                self.kind == DetectorKind::PageHinkley,
            ),
            (
                "alpha",
                self.alpha.is_some(),
                self.kind == DetectorKind::PageHinkley,
            ),
            (
                "min_instances",
                self.min_instances.is_some(),
                self.kind != DetectorKind::Adwin,
            ),
            (
                "warning",
                self.warning.is_some(),
                self.kind == DetectorKind::Ddm,
            ),
            (
                "drift",
                self.drift.is_some(),
                self.kind == DetectorKind::Ddm,
            ),
        ];
        given
            .into_iter()
            .filter(|(_, set, applies)| *set && !applies)
            .map(|(name, _, _)| name)
            .collect()
    }
}

impl std::fmt::Display for DetectorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DetectorKind::Adwin => "ADWIN",
            DetectorKind::Ddm => "DDM",
            DetectorKind::PageHinkley => "Page-Hinkley",
        })
    }
}

/// `detector:` as written: a kind (River's defaults) or the settings' map.
pub(super) fn kind_or_settings<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DetectorSpec>, D::Error> {
    struct Visitor;
    impl<'de> serde::de::Visitor<'de> for Visitor {
        type Value = DetectorSpec;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("`adwin`, `ddm`, `page_hinkley`, or a map with `kind`")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<DetectorSpec, E> {
            let kind = DetectorKind::deserialize(serde::de::value::StrDeserializer::new(v))?;
            Ok(DetectorSpec::of(kind))
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<DetectorSpec, A::Error> {
            DetectorSpec::deserialize(serde::de::value::MapAccessDeserializer::new(map))
        }
    }
    deserializer.deserialize_any(Visitor).map(Some)
}
