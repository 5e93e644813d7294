//! Human durations in `retrain.yaml` (`7d`, `12h`, `30m`, `90s`, `2w`).
//!
//! Parsing happens inside `Deserialize`, so a bad value is reported by serde_yaml
//! with the file position of the offending scalar.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A positive span of time written as an integer and a unit: `s`, `m`, `h`, `d`, `w`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration {
    seconds: u64,
}

impl Duration {
    pub const fn from_secs(seconds: u64) -> Self {
        Self { seconds }
    }

    pub fn as_secs(&self) -> u64 {
        self.seconds
    }

    pub fn to_chrono(self) -> chrono::Duration {
        chrono::Duration::seconds(self.seconds as i64)
    }
}

/// Why a duration does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadDuration {
    #[error("duration `{0}` has no unit; write e.g. `7d`, `12h`, `30m`")]
    NoUnit(String),
    #[error("duration `{0}` must start with a whole number, e.g. `7d`")]
    NoNumber(String),
    #[error("duration `{text}` has unknown unit `{unit}`; use s, m, h, d or w")]
    Unit { text: String, unit: String },
    #[error("duration `{0}` must be greater than zero")]
    Zero(String),
    #[error("duration `{0}` is too large")]
    TooLarge(String),
}

impl FromStr for Duration {
    type Err = BadDuration;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let owned = || text.to_string();
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(|| BadDuration::NoUnit(owned()))?;
        let (number, unit) = text.split_at(split);
        let n: u64 = number.parse().map_err(|_| BadDuration::NoNumber(owned()))?;
        let scale = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3_600,
            "d" => 86_400,
            "w" => 7 * 86_400,
            _ => {
                return Err(BadDuration::Unit {
                    text: owned(),
                    unit: unit.to_string(),
                })
            }
        };
        if n == 0 {
            return Err(BadDuration::Zero(owned()));
        }
        n.checked_mul(scale)
            .map(Duration::from_secs)
            .ok_or_else(|| BadDuration::TooLarge(owned()))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.seconds;
        for (unit, scale) in [("w", 7 * 86_400), ("d", 86_400), ("h", 3_600), ("m", 60)] {
            if s.is_multiple_of(scale) {
                return write!(f, "{}{unit}", s / scale);
            }
        }
        write!(f, "{s}s")
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9]+[smhdw]$",
            "description": "A duration: a whole number and a unit (s, m, h, d, w), e.g. `7d`."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_units() {
        assert_eq!("7d".parse::<Duration>().unwrap().as_secs(), 604_800);
        assert_eq!("90s".parse::<Duration>().unwrap().to_string(), "90s");
        assert_eq!("120m".parse::<Duration>().unwrap().to_string(), "2h");
        assert_eq!("14d".parse::<Duration>().unwrap().to_string(), "2w");
    }

    #[test]
    fn rejects_bad_durations() {
        for bad in ["", "7", "d", "0d", "7y", "-1d", "1.5d"] {
            assert!(bad.parse::<Duration>().is_err(), "{bad} should fail");
        }
    }
}
