//! The library's top-level error and its mapping to exit codes (used once, in `main`).

use crate::config::ConfigError;
use crate::registry::RegistryError;
use crate::snapshot::{SnapshotError, StoreError};

/// Exit codes: 0 success, 1 the command ran and found a problem the user must fix,
/// 2 usage or config error, 3 internal or external failure.
pub mod exit {
    pub const OK: i32 = 0;
    pub const PROBLEM: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const FAILURE: i32 = 3;
    /// `retrain check --exit-code`: the command ran and a retrain is due.
    pub const RETRAIN_DUE: i32 = 10;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Train(#[from] crate::train::TrainError),
    #[error(transparent)]
    Git(crate::forge::git::GitError),
    #[error(transparent)]
    GitHub(crate::forge::github::GitHubError),
    #[error(transparent)]
    Mlflow(crate::forge::mlflow::MlflowError),
    #[error(transparent)]
    Apply(#[from] crate::config::ApplyError),
    #[error("{0}")]
    Usage(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl From<crate::report::WriteError> for Error {
    fn from(e: crate::report::WriteError) -> Self {
        Error::Io {
            context: format!("cannot write to `{}`", e.dir.display()),
            source: e.source,
        }
    }
}

impl From<crate::config::LoadError> for Error {
    fn from(e: crate::config::LoadError) -> Self {
        match e {
            crate::config::LoadError::Config(e) => Error::Config(e),
            e @ crate::config::LoadError::NoRepository(_) => Error::Usage(e.to_string()),
        }
    }
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Config(_) | Error::Usage(_) => exit::USAGE,
            Error::Apply(_) => exit::PROBLEM,
            Error::Snapshot(SnapshotError::Store(StoreError::Write { .. }))
            | Error::Io { .. }
            | Error::Git(_)
            | Error::GitHub(_)
            | Error::Mlflow(_) => exit::FAILURE,
            Error::Snapshot(_) | Error::Registry(_) | Error::Train(_) => exit::PROBLEM,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Config(e) => e.hint.clone(),
            Error::Snapshot(e) => e.hint(),
            Error::Registry(_) => {
                Some("fix the registry pointer, or restore it from git history".into())
            }
            Error::Train(_) => None,
            Error::GitHub(e) => e.hint(),
            Error::Mlflow(e) => Some(e.hint()),
            Error::Git(e) => e.hint(),
            Error::Usage(_) | Error::Io { .. } => None,
            Error::Apply(_) => Some(
                "edit the model's `triggers:` and `training.window` by hand (see the report)"
                    .into(),
            ),
        }
    }
}
