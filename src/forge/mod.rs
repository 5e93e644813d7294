//! Side effects on git and GitHub. Everything before this module is a function of its
//! inputs; this is where branches are pushed and pull requests opened.

pub mod app;
pub mod bot;
pub mod git;
pub mod git_error;
pub mod github;
pub mod mlflow;
pub mod promote;
pub mod publish;
pub mod remote;
pub mod shadow;
pub mod target;

/// The process's tokio runtime for calls to GitHub (current-thread, made on first use
/// and kept: one per process, whatever the command calls). `retrain serve` runs its own
/// multi-thread runtime and its jobs in child processes.
pub fn runtime() -> Result<&'static tokio::runtime::Runtime, crate::error::Error> {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| crate::error::Error::Io {
            context: "start the tokio runtime".into(),
            source: e,
        })?;
    Ok(RUNTIME.get_or_init(|| rt))
}
