//! Side effects on git and GitHub. Everything before this module is a function of its
//! inputs; this is where branches are pushed and pull requests opened.

pub mod app;
pub mod bot;
pub mod git;
pub mod git_error;
pub mod github;
pub mod promote;
pub mod publish;
pub mod remote;
pub mod target;

/// A current-thread tokio runtime for one command's calls to GitHub.
pub fn runtime() -> Result<tokio::runtime::Runtime, crate::error::Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| crate::error::Error::Io {
            context: "start the tokio runtime".into(),
            source: e,
        })
}
