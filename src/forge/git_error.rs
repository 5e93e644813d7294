//! What git's two halves share: the error of a git operation (with its hint) and the
//! token for HTTPS remotes. [`super::git`] builds commits with libgit2,
//! [`super::remote`] talks to the remote with the git command line.

/// A token for HTTPS remotes; never printed.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    pub fn new(token: String) -> Self {
        Self(token)
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(***)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("git: {context}: {message}")]
    Git { context: String, message: String },
    #[error("git: the base branch `{0}` exists neither on the remote nor locally")]
    NoBase(String),
    #[error("git: `{path}` on `{base}` is not the version this proposal was made from; update your checkout of `{base}` (git pull) and run again")]
    BaseMoved { base: String, path: String },
    #[error("git: `{program}` could not be run ({message}); retrain fetches and pushes with the git command line: install git, or point RETRAIN_GIT at it")]
    NoGit { program: String, message: String },
    #[error("{}", refused(url, *with_token))]
    Refused { url: String, with_token: bool },
    #[error("git: the TLS connection to {url} failed: {message}")]
    Certificate { url: String, message: String },
    #[error("git: pushing `{branch}` was rejected: {message}")]
    Rejected { branch: String, message: String },
    #[error("git: the tag `{tag}` exists on the remote at {at}, not at {wanted}; promoted versions are never moved")]
    TagMoved {
        tag: String,
        at: String,
        wanted: String,
    },
}

impl GitError {
    /// What to do next, when there is more to say than the message.
    pub fn hint(&self) -> Option<String> {
        match self {
            GitError::Certificate { .. } => Some(
                "if the server's certificate is issued by a private CA (GitHub Enterprise), point SSL_CERT_FILE (or GIT_SSL_CAINFO) at the CA's PEM file".into(),
            ),
            GitError::Refused { with_token: true, .. } => Some(
                "a workflow's GITHUB_TOKEN needs `permissions: { contents: write }`; an App token needs the Contents (write) permission on the repository".into(),
            ),
            _ => None,
        }
    }
}

fn refused(url: &str, with_token: bool) -> String {
    if with_token {
        format!("git: the token was refused by {url}: it must be valid and allowed to push (contents: write)")
    } else {
        format!("git: {url} asked for credentials and retrain has no token: set GITHUB_TOKEN (or the action's `token` input)")
    }
}
