//! The one place where the stages are wired together. Each command has a request type
//! and a result type; the CLI (and later the webhook bot) build the request and render
//! the result. Nothing here prints.

use std::path::PathBuf;

use serde::Serialize;

use crate::config::{self, Config};
use crate::error::Error;
use chrono::{DateTime, Utc};

use crate::checks::{self, validation::Anomaly, DriftReport};
use crate::decision::{self, Decision, DecisionInput};
use crate::registry;
use crate::snapshot::{self, SnapshotOutcome, Store};

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

/// `retrain check`.
#[derive(Debug, Clone)]
pub struct CheckRequest {
    pub workspace: Workspace,
    pub model: Option<String>,
    /// A stored snapshot id (or unique prefix) to compare with instead of the champion's.
    pub reference: Option<String>,
    pub force: bool,
    /// The clock (tests inject it).
    pub now: DateTime<Utc>,
}

/// Where the reference snapshot came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferenceSource {
    /// `--reference`.
    Given,
    /// The champion's training snapshot.
    Champion,
    /// No champion yet: the oldest snapshot of this model.
    FirstSnapshot,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelCheck {
    pub model: String,
    pub snapshot: String,
    pub snapshot_status: snapshot::Status,
    pub reference: String,
    pub reference_source: ReferenceSource,
    /// The champion's version, if there is one.
    pub champion: Option<u32>,
    pub new_rows: u64,
    pub new_files: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_filter: Option<String>,
    pub anomalies: Vec<Anomaly>,
    pub drift: DriftReport,
    pub decision: Decision,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub checks: Vec<ModelCheck>,
}

impl CheckReport {
    pub fn retrain_due(&self) -> bool {
        self.checks.iter().any(|c| c.decision.retrain)
    }
}

pub fn check(req: &CheckRequest) -> Result<CheckReport, Error> {
    let config = req.workspace.load_config()?;
    let models = config.select(req.model.as_deref())?;
    let repo = &req.workspace.repo;
    let store = Store::new(repo);
    let mut checks = Vec::with_capacity(models.len());
    for model in models {
        let snap = snapshot::create(repo, model)?;
        let pointer = registry::read(repo, &model.registry.path)?;
        let champion = pointer.as_ref().and_then(|p| p.champion.as_ref());
        let (reference, source) = match (&req.reference, champion) {
            (Some(id), _) => {
                let id = store
                    .resolve_id(id)
                    .map_err(snapshot::SnapshotError::from)?;
                (
                    store.read(&id).map_err(snapshot::SnapshotError::from)?,
                    ReferenceSource::Given,
                )
            }
            (None, Some(c)) => (
                store
                    .read(&c.snapshot)
                    .map_err(snapshot::SnapshotError::from)?,
                ReferenceSource::Champion,
            ),
            (None, None) => {
                let first = store
                    .list()
                    .map_err(snapshot::SnapshotError::from)?
                    .into_iter()
                    .find(|m| {
                        m.columns
                            .iter()
                            .any(|c| c.role.contains_key(model.name.as_str()))
                    });
                (
                    first.unwrap_or_else(|| snap.manifest.clone()),
                    ReferenceSource::FirstSnapshot,
                )
            }
        };
        let current = checks::current::load(repo, model, &reference, &snap.manifest)
            .map_err(snapshot::SnapshotError::from)?;
        let anomalies = checks::validation::validate(model, &reference, &snap.manifest, &current);
        let drift = checks::drift_report(model, &reference, &current);
        let decision = decision::decide(&DecisionInput {
            triggers: &model.triggers,
            champion_trained_at: champion.map(|c| c.trained_at),
            trained_times: pointer
                .as_ref()
                .map(|p| p.trained_times())
                .unwrap_or_default(),
            now: req.now,
            force: req.force,
            new_rows: current.rows,
            reference_rows: reference.rows,
            drift: &drift,
            performance: Err(
                "scoring the champion on new labelled rows arrives with the training stage".into(),
            ),
            anomalies: &anomalies,
        });
        checks.push(ModelCheck {
            model: model.name.to_string(),
            snapshot: snap.id.clone(),
            snapshot_status: snap.status,
            reference: reference.id.clone(),
            reference_source: source,
            champion: champion.map(|c| c.version),
            new_rows: current.rows,
            new_files: current.files.clone(),
            time_filter: current.time_filter.clone(),
            anomalies,
            drift,
            decision,
        });
    }
    Ok(CheckReport { checks })
}
