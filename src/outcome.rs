//! What the commands find and do, as values: the results that the pipeline, publishing
//! and promotion return, and that `report` renders and the Action and the bot read.
//! Shared by several stages, so this module imports only from the stages before it
//! (data, checks, decision, train, evaluate, registry) and nothing after.

use serde::{Deserialize, Serialize};

use crate::checks::{validation::Anomaly, DriftReport};
use crate::config::Identity;
use crate::decision::Decision;
use crate::evaluate::{gate::Verdict, infra::InfraReport, Evaluation};
use crate::registry::{self, RegistryPointer};
use crate::snapshot::{self, SnapshotOutcome};
use crate::train;

/// A unit enum's serialised name (`created`, `no_champion`).
pub fn word(v: impl Serialize) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

// `retrain snapshot`, `check` and `run`

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
    pub snapshot_rows: u64,
    pub snapshot_files: usize,
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

#[derive(Debug, Clone, Serialize)]
pub struct SnapshotReport {
    pub snapshots: Vec<SnapshotOutcome>,
}

/// What a model's run came to; a trained candidate carries everything trained and
/// judged about it (`"outcome": "trained"` and its fields in `--output json`).
#[derive(Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RunOutcome {
    /// The triggers did not fire.
    NoRetrain,
    /// Blocking data-validation anomalies.
    Blocked,
    /// A candidate was trained and evaluated.
    Trained(Box<Trained>),
}

/// A trained candidate: how it was trained, its evaluation against the champion, the
/// gate's verdict, the infra check, and the pull request it becomes.
pub struct Trained {
    /// The proposed model (its bytes, digest and training report).
    pub artifact: train::Candidate,
    pub evaluation: Evaluation,
    pub gate: Verdict,
    pub infra: InfraReport,
    /// The pull request the candidate becomes ([`crate::proposal::retrain`]).
    pub proposal: Option<Proposal>,
}

impl Trained {
    /// The artifact's digest and size (`candidate` in `--output json`).
    pub fn candidate(&self) -> CandidateInfo {
        CandidateInfo {
            digest: self.artifact.digest.clone(),
            bytes: self.artifact.bytes.len(),
        }
    }

    /// What publishing does with the candidate (`proposal` in `--output json`).
    pub fn plan(&self) -> Option<PrPlan> {
        self.proposal.as_ref().and_then(Proposal::plan)
    }
}

/// `training`, `evaluation`, `gate`, `infra`, `candidate` and `proposal` (the plan),
/// each derived from what the run holds.
impl Serialize for Trained {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut m = s.serialize_struct("Trained", 6)?;
        m.serialize_field("training", &self.artifact.report)?;
        m.serialize_field("evaluation", &self.evaluation)?;
        m.serialize_field("gate", &self.gate)?;
        m.serialize_field("infra", &self.infra)?;
        m.serialize_field("candidate", &self.candidate())?;
        match self.plan() {
            Some(plan) => m.serialize_field("proposal", &plan)?,
            None => m.skip_field("proposal")?,
        }
        m.end()
    }
}

#[derive(Serialize)]
pub struct ModelRun {
    #[serde(flatten)]
    pub check: ModelCheck,
    #[serde(flatten)]
    pub outcome: RunOutcome,
    pub dry_run: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<PublishedPr>,
    /// The open candidate's shadow evaluation (`evaluation.shadow`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shadow: Option<ShadowReport>,
}

/// Where the open candidate's shadow evaluation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ShadowStatus {
    /// Fewer newer labelled rows than `min_rows` so far.
    Pending,
    /// Compared on enough newer rows and passes the shadow gates.
    Passed,
    /// Compared on enough newer rows and fails them.
    Failed,
    /// The candidate could not be read or trusted (its artifact is missing, or does
    /// not match its digest, or its snapshot is unknown): nothing was scored.
    Refused,
}

/// The open model pull request's candidate and the champion on the labelled rows newer
/// than the candidate's snapshot (data neither has seen).
#[derive(Debug, Clone, Serialize)]
pub struct ShadowReport {
    pub pull_request: u64,
    pub url: String,
    /// The candidate's version and snapshot, as its branch records them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub candidate: Option<u32>,
    pub candidate_snapshot: String,
    pub champion: Option<u32>,
    pub status: ShadowStatus,
    /// Newer labelled rows both were scored on.
    pub rows: u64,
    pub min_rows: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<Evaluation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<Verdict>,
    /// Why the candidate was refused (or why the rows could not be scored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What this run did to the pull request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<ShadowOperation>,
}

/// What a run did to the pull request under shadow evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ShadowOperation {
    /// Nothing new to say: the body already holds this verdict.
    Unchanged,
    /// The out-of-time table and the check run brought up to date.
    Updated,
    /// Updated, and marked ready for review (the candidate passed).
    Ready,
    /// Updated and closed (`close_when_beaten`).
    Closed,
}

impl ModelRun {
    /// The trained candidate, if the run trained one.
    pub fn trained(&self) -> Option<&Trained> {
        match &self.outcome {
            RunOutcome::Trained(t) => Some(t),
            _ => None,
        }
    }

    pub fn training(&self) -> Option<&train::TrainingReport> {
        self.trained().map(|t| &t.artifact.report)
    }

    pub fn evaluation(&self) -> Option<&Evaluation> {
        self.trained().map(|t| &t.evaluation)
    }

    pub fn gate(&self) -> Option<&Verdict> {
        self.trained().map(|t| &t.gate)
    }

    pub fn infra(&self) -> Option<&InfraReport> {
        self.trained().map(|t| &t.infra)
    }

    pub fn candidate(&self) -> Option<CandidateInfo> {
        self.trained().map(Trained::candidate)
    }

    pub fn plan(&self) -> Option<PrPlan> {
        self.trained().and_then(Trained::plan)
    }

    pub fn artifact(&self) -> Option<&train::Candidate> {
        self.trained().map(|t| &t.artifact)
    }

    pub fn proposal(&self) -> Option<&Proposal> {
        self.trained().and_then(|t| t.proposal.as_ref())
    }

    /// Whether the gate blessed a trained candidate.
    pub fn blessed(&self) -> bool {
        self.gate().is_some_and(|g| g.blessed)
    }
}

/// The pull request a candidate becomes, decided before git or GitHub is touched: the
/// same value for the dry run's output and for publishing.
#[derive(Debug, Clone, Serialize)]
pub struct PrPlan {
    /// The version the registry pointer would name.
    pub version: u32,
    /// `<branch_prefix><model>/<snapshot12>`: the PR identity's branch.
    pub branch: String,
    pub title: String,
    /// Opened as a draft (not blessed, `draft_when_not_blessed`).
    pub draft: bool,
    /// Whether a pull request is opened at all (`open_when_not_blessed: false` and not
    /// blessed: nothing is pushed).
    pub opens: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct CandidateInfo {
    pub digest: String,
    pub bytes: usize,
}

#[derive(Serialize)]
pub struct RunReport {
    pub runs: Vec<ModelRun>,
}

// publishing

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrOperation {
    Created,
    Updated,
    Unchanged,
    /// Left alone (closed by reviewers, or a branch with someone else's commits).
    Skipped,
}

#[derive(Debug, Clone, Serialize)]
pub struct PublishedPr {
    pub number: Option<u64>,
    pub url: Option<String>,
    pub branch: String,
    pub operation: PrOperation,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Open pull requests of the same model that this one replaced.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub superseded: Vec<u64>,
}

// `retrain promote` and `rollback`

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TagOperation {
    Created,
    /// The remote has the tag on the same commit already.
    Unchanged,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PromotionStatus {
    /// Something was created (tag or release).
    Promoted,
    /// Tag and release were there already.
    Unchanged,
    /// The registry has no champion yet.
    NoChampion,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseOperation {
    Created,
    /// A draft (made when the PR was opened, store `release`) was published.
    Published,
    Unchanged,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReleaseOutcome {
    pub url: String,
    pub operation: ReleaseOperation,
}

#[derive(Debug, Clone, Serialize)]
pub struct Promotion {
    pub model: String,
    pub status: PromotionStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The commit tagged (HEAD, which holds the verified pointer and artifact).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag_operation: Option<TagOperation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact: Option<registry::Artifact>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<ReleaseOutcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mlflow: Option<MlflowOutcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What `promote` did in the MLflow mirror (`registry.mlflow`).
#[derive(Debug, Clone, Serialize)]
pub struct MlflowOutcome {
    pub model_name: String,
    /// MLflow's version number of the champion.
    pub version: String,
    pub alias: String,
    pub operation: MlflowOperation,
    /// The model version in MLflow's UI.
    pub url: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MlflowOperation {
    /// The registered model or the version was created (and the alias set).
    Created,
    /// The version existed; the alias moved to it (a rollback, or a later champion).
    AliasMoved,
    Unchanged,
}

#[derive(Debug, Clone, Serialize)]
pub struct PromoteReport {
    pub promotions: Vec<Promotion>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RollbackReport {
    pub model: String,
    pub from: u32,
    pub to: u32,
    pub dry_run: bool,
    /// The registry pointer after the merge.
    pub registry: RegistryPointer,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<PublishedPr>,
}

// proposals: what a pull request carries, decided before git or GitHub is touched

/// The hidden marker that identifies a retrain pull request (model, snapshot, config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Marker {
    /// `rollback` for rollback pull requests; absent for retrain proposals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub model: String,
    pub snapshot: String,
    pub config_hash: String,
    pub version: u32,
    pub retrain: String,
}

const MARKER_PREFIX: &str = "<!-- retrain:";

impl Marker {
    pub fn render(&self) -> String {
        format!(
            "{MARKER_PREFIX}{} -->",
            serde_json::to_string(self).expect("marker serialises")
        )
    }

    /// The same proposal: kind, model, snapshot and config (not the version, nor the
    /// retrain release that rendered it).
    pub fn same_identity(&self, other: &Marker) -> bool {
        self.kind == other.kind
            && self.model == other.model
            && self.snapshot == other.snapshot
            && self.config_hash == other.config_hash
    }

    /// Finds the marker in a pull-request body.
    pub fn parse(body: &str) -> Option<Marker> {
        let start = body.find(MARKER_PREFIX)? + MARKER_PREFIX.len();
        let end = body[start..].find(" -->")? + start;
        serde_json::from_str(&body[start..end]).ok()
    }
}

/// What a pull request proposes; a newer retrain proposal supersedes an open one of the
/// same model, never a rollback or a policy change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalKind {
    /// A candidate as the next version (`retrain run`).
    Retrain,
    /// The registry pointer back to an earlier version (`retrain rollback`).
    Rollback,
    /// A retraining policy in `retrain.yaml` (`retrain backtest --apply`).
    Policy,
}

/// Where the candidate's artifact goes when it is not committed with the pointer.
#[derive(Debug, Clone)]
pub enum Upload {
    /// Store `dir:`: written to the shared disk (each file's `uri`) before any pointer
    /// names it.
    Dir,
    /// An object store: each file put at its `uri` (a key named by its digest) before
    /// any pointer names it.
    Object,
    /// Store `release`: assets of the version's draft release (`tag`, made on the
    /// pushed commit with `title` when missing); `registry_file` names errors.
    Release {
        tag: String,
        title: String,
        registry_file: String,
    },
}

/// The artifact files that leave with a proposal (`model.json`, and `model.onnx` when
/// the trainer can be exported), and where they go.
#[derive(Debug, Clone)]
pub struct ArtifactUpload {
    pub to: Upload,
    pub files: Vec<UploadFile>,
}

/// One artifact file: the URI the registry pointer gives it, its bytes and digest.
#[derive(Debug, Clone)]
pub struct UploadFile {
    pub uri: String,
    pub bytes: Vec<u8>,
    pub digest: String,
}

/// The check run reported on the pushed commit.
#[derive(Debug, Clone)]
pub struct CheckSummary {
    pub name: String,
    pub state: CheckState,
    pub title: String,
    /// Markdown: the gate's conditions, ticked.
    pub summary: String,
}

/// A check run's state: completed (success or failure), or in progress (a shadow
/// evaluation still waiting for newer rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckState {
    Success,
    Failure,
    Pending,
}

/// A pull request as a value: computed once from the command's result by a pure
/// function (`proposal::retrain`, `proposal::rollback`, `proposal::policy`), shown by
/// `--dry-run`, written by `--artifact-dir` and the step summary, and carried out by
/// `forge::publish::open_or_update`, which decides nothing that is here.
#[derive(Debug, Clone)]
pub struct Proposal {
    pub kind: ProposalKind,
    pub model: String,
    /// The marker in the body: model, snapshot and config (retrain, rollback).
    pub marker: Option<Marker>,
    /// The version the registry pointer names after the merge (retrain).
    pub version: Option<u32>,
    pub base: String,
    pub branch: String,
    pub title: String,
    pub body: String,
    pub labels: Vec<String>,
    pub reviewers: Vec<String>,
    pub draft: bool,
    /// Why nothing is pushed (`open_when_not_blessed: false` and not blessed).
    pub withheld: Option<String>,
    /// (path relative to the repository root, content)
    pub files: Vec<(String, Vec<u8>)>,
    pub commit_message: String,
    /// Who commits (`pull_request.author`), else the target's identity.
    pub author: Option<Identity>,
    /// Files as the proposal read them (`None`: absent): the base must still hold them.
    pub expect: Vec<(String, Option<Vec<u8>>)>,
    /// Why a closed pull request is left alone: (merged, closed unmerged).
    pub closed_reasons: (String, String),
    /// The body carries figures that change from run to run (timings): when the branch
    /// is unchanged, the open pull request is left as it is.
    pub volatile_body: bool,
    pub check: Option<CheckSummary>,
    pub upload: Option<ArtifactUpload>,
    /// The registry change (retrain): the new pointer and version (its files are
    /// `files` above, moved there, not copied).
    pub registry: Option<registry::Proposal>,
}

impl Proposal {
    /// The part of the proposal that `--output json` shows (`proposal`).
    pub fn plan(&self) -> Option<PrPlan> {
        Some(PrPlan {
            version: self.version?,
            branch: self.branch.clone(),
            title: self.title.clone(),
            draft: self.draft,
            opens: self.withheld.is_none(),
        })
    }

    /// The model card among the files, if the proposal has one.
    pub fn model_card(&self) -> Option<&[u8]> {
        self.files
            .iter()
            .find(|(path, _)| path.ends_with("MODEL_CARD.md"))
            .map(|(_, bytes)| bytes.as_slice())
    }
}

// `retrain backtest`

/// The result of `retrain backtest` (`--output json`).
#[derive(Debug, Clone, Serialize)]
pub struct BacktestReport {
    pub model: String,
    pub metric: crate::config::Metric,
    pub higher_is_better: bool,
    /// How the history was cut, in words.
    pub split: String,
    pub periods: usize,
    /// Periods the first model was trained on.
    pub warmup: usize,
    pub scored_periods: usize,
    /// Labels of the scored periods.
    pub period_labels: Vec<String>,
    /// What one period stands for in time.
    pub period_length: String,
    pub label_delay: usize,
    /// The assumptions of the replay, in words (label delay included).
    pub assumptions: Vec<String>,
    pub policies: Vec<PolicyResult>,
    /// Names of the policies on the Pareto front (quality vs retrains).
    pub pareto: Vec<String>,
    /// The recommended policy's name.
    pub recommended: String,
    pub reason: String,
    /// The policy with the best mean metric.
    pub best: String,
    pub tolerance: f64,
    pub wall_seconds: f64,
    pub work: Work,
    /// The replayed policies (for `--apply`).
    #[serde(skip)]
    pub resolved: Vec<crate::config::policy::Policy>,
    #[serde(skip)]
    pub length: crate::config::Duration,
}

/// How much work the replay did and shared.
#[derive(Debug, Clone, Serialize)]
pub struct Work {
    pub threads: usize,
    pub fits: usize,
    pub fits_reused: usize,
    pub drift_reports: usize,
    pub drift_reports_reused: usize,
}

impl BacktestReport {
    pub fn policy(&self, name: &str) -> Option<&PolicyResult> {
        self.policies.iter().find(|p| p.name == name)
    }
}

/// One policy's result (`policies[]` of `retrain backtest --output json`).
#[derive(Debug, Clone, Serialize)]
pub struct PolicyResult {
    pub name: String,
    pub description: String,
    /// The model's current `retrain.yaml` policy.
    pub current: bool,
    /// The policy asks for warm starts (the description says when they have no effect
    /// for the model's algorithm).
    pub warm_start: bool,
    /// The built-in algorithm the policy trains (the model's unless the policy names one).
    pub algorithm: String,
    /// Mean of the per-period metric over the scored periods (`null` when undefined).
    pub mean_metric: Option<f64>,
    /// Worst per-period metric.
    pub worst_metric: Option<f64>,
    /// Models deployed after the first one: candidates that passed the policy's gate
    /// (each one a pull request merged).
    pub retrains: usize,
    /// Candidates trained after the first model, the ones the gate turned down included.
    pub trainings: usize,
    /// Training time of every model the policy used (the first one included), as if it
    /// had trained them itself.
    pub train_seconds: f64,
    /// On the Pareto front of quality vs retrains.
    pub pareto: bool,
    /// Periods (index into the history) from which a retrained model served.
    pub retrain_periods: Vec<usize>,
    /// Retrains that failed to fit (the previous model stayed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed_fits: Vec<String>,
    /// The metric per scored period.
    pub metrics: Vec<Option<f64>>,
}
