//! The one place where the stages are wired together. Each command has a request type
//! and a result type; the CLI (and later the webhook bot) build the request and render
//! the result. Nothing here prints.

use std::path::PathBuf;

use serde::Serialize;

use crate::config::{self, Config};
use crate::error::Error;
use crate::snapshot::{self, SnapshotOutcome};

/// Where the repository and its config are.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub repo: PathBuf,
    /// Default: `<repo>/retrain.yaml`.
    pub config: Option<PathBuf>,
}

impl Workspace {
    pub fn config_path(&self) -> PathBuf {
        self.config
            .clone()
            .unwrap_or_else(|| self.repo.join(config::DEFAULT_FILE))
    }

    pub fn load_config(&self) -> Result<Config, Error> {
        if !self.repo.is_dir() {
            return Err(Error::Usage(format!(
                "repository directory `{}` does not exist",
                self.repo.display()
            )));
        }
        Ok(config::load(&self.config_path())?)
    }
}

/// `retrain snapshot`.
#[derive(Debug, Clone)]
pub struct SnapshotRequest {
    pub workspace: Workspace,
    pub model: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SnapshotReport {
    pub snapshots: Vec<SnapshotOutcome>,
}

pub fn snapshot(req: &SnapshotRequest) -> Result<SnapshotReport, Error> {
    let config = req.workspace.load_config()?;
    let models = config.select(req.model.as_deref())?;
    let mut snapshots = Vec::with_capacity(models.len());
    for model in models {
        snapshots.push(snapshot::create(&req.workspace.repo, model)?);
    }
    Ok(SnapshotReport { snapshots })
}
