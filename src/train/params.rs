//! `training.params`: read typed values by key, with errors that name the key and
//! reject keys the algorithm does not know (with a "did you mean").

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

#[derive(Debug, Clone, thiserror::Error)]
#[error("training.params.{key}: {message}")]
pub struct ParamError {
    pub key: String,
    pub message: String,
    pub hint: Option<String>,
}

pub struct Params<'a> {
    map: &'a BTreeMap<String, Value>,
    known: BTreeSet<&'static str>,
}

impl<'a> Params<'a> {
    pub fn new(map: &'a BTreeMap<String, Value>) -> Self {
        Self {
            map,
            known: BTreeSet::new(),
        }
    }

    fn err(key: &str, message: String) -> ParamError {
        ParamError {
            key: key.to_string(),
            message,
            hint: None,
        }
    }

    pub fn f64(
        &mut self,
        key: &'static str,
        default: f64,
        valid: impl Fn(f64) -> bool,
        what: &str,
    ) -> Result<f64, ParamError> {
        self.known.insert(key);
        match self.map.get(key) {
            None => Ok(default),
            Some(v) => match v.as_f64() {
                Some(x) if x.is_finite() && valid(x) => Ok(x),
                _ => Err(Self::err(key, format!("expected {what}, got {v}"))),
            },
        }
    }

    pub fn u64(&mut self, key: &'static str, default: u64, min: u64) -> Result<u64, ParamError> {
        self.known.insert(key);
        match self.map.get(key) {
            None => Ok(default),
            Some(v) => match v.as_u64() {
                Some(x) if x >= min => Ok(x),
                _ => Err(Self::err(
                    key,
                    format!("expected a whole number ≥ {min}, got {v}"),
                )),
            },
        }
    }

    /// A whole number, or `null` for "no limit".
    pub fn opt_u64(
        &mut self,
        key: &'static str,
        default: Option<u64>,
        min: u64,
    ) -> Result<Option<u64>, ParamError> {
        self.known.insert(key);
        match self.map.get(key) {
            None => Ok(default),
            Some(Value::Null) => Ok(None),
            Some(v) => match v.as_u64() {
                Some(x) if x >= min => Ok(Some(x)),
                _ => Err(Self::err(
                    key,
                    format!("expected a whole number ≥ {min} or null, got {v}"),
                )),
            },
        }
    }

    pub fn bool(&mut self, key: &'static str, default: bool) -> Result<bool, ParamError> {
        self.known.insert(key);
        match self.map.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| Self::err(key, format!("expected true or false, got {v}"))),
        }
    }

    pub fn choice(
        &mut self,
        key: &'static str,
        default: &'static str,
        options: &[&'static str],
    ) -> Result<&'static str, ParamError> {
        self.known.insert(key);
        match self.map.get(key) {
            None => Ok(default),
            Some(v) => options
                .iter()
                .find(|o| v.as_str() == Some(**o))
                .copied()
                .ok_or_else(|| {
                    Self::err(
                        key,
                        format!("expected one of {}, got {v}", options.join(", ")),
                    )
                }),
        }
    }

    /// Fails on keys that were never asked for.
    pub fn finish(self, algorithm: &str) -> Result<(), ParamError> {
        for key in self.map.keys() {
            if !self.known.contains(key.as_str()) {
                let valid: Vec<&str> = self.known.iter().copied().collect();
                return Err(ParamError {
                    key: key.clone(),
                    message: format!("unknown parameter for {algorithm}"),
                    hint: Some(
                        match crate::config::did_you_mean(key, valid.iter().copied()) {
                            Some(s) => format!("did you mean `{s}`? valid: {}", valid.join(", ")),
                            None => format!("valid: {}", valid.join(", ")),
                        },
                    ),
                });
            }
        }
        Ok(())
    }
}
