//! Where a command publishes, from the flags and the environment (the CLI, the Action):
//! the repository, the API, the remote and the token. The token comes from the
//! environment only (never a flag: flags are logged): a GitHub App's installation
//! token when `RETRAIN_APP_ID` and `RETRAIN_APP_PRIVATE_KEY` are set (minted here),
//! else `RETRAIN_GITHUB_TOKEN` or `GITHUB_TOKEN`.

use crate::error::Error;

/// The repository and where to reach it (`--repository`, `--api-url`, `--remote`).
/// The token comes from the environment only (GITHUB_TOKEN or RETRAIN_GITHUB_TOKEN):
/// flags end up in logs.
#[derive(Debug, Clone, clap::Args, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Where {
    /// The GitHub repository (`owner/repo`).
    #[arg(long, env = "GITHUB_REPOSITORY")]
    pub repository: Option<String>,
    /// The GitHub API (GitHub Enterprise: https://HOST/api/v3).
    #[arg(long, env = "GITHUB_API_URL", default_value = "https://api.github.com")]
    pub api_url: String,
    /// The git remote branches and tags are pushed to.
    #[arg(long, default_value = "origin")]
    pub remote: String,
}

/// The token a command (or the bot, for a single repository) is given:
/// `RETRAIN_GITHUB_TOKEN`, else `GITHUB_TOKEN`; an empty value counts as none.
pub fn env_token(env: impl Fn(&str) -> Option<String>) -> Option<String> {
    ["RETRAIN_GITHUB_TOKEN", "GITHUB_TOKEN"]
        .into_iter()
        .find_map(|name| env(name).filter(|v| !v.trim().is_empty()))
}

/// The target, and whether its token was minted from an App key (then the caller masks
/// it under a runner); `None` without a repository or a token.
pub fn from_env(
    place: &Where,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<(crate::forge::publish::PublishTarget, bool)>, Error> {
    let Some(repository) = place.repository.clone() else {
        return Ok(None);
    };
    let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let (token, minted) = match (env("RETRAIN_APP_ID"), env("RETRAIN_APP_PRIVATE_KEY")) {
        (Some(id), Some(key)) => {
            let app_id: u64 = id.trim().parse().map_err(|_| {
                Error::Usage(format!(
                    "RETRAIN_APP_ID (the action's `app-id`) must be the App's numeric id, got `{}`",
                    id.trim()
                ))
            })?;
            let token = crate::forge::app::token_for_repository(
                app_id,
                &key,
                &place.api_url,
                &repository,
            )
            .map_err(|e| match e {
                crate::forge::github::GitHubError::Setup(m) => Error::Usage(m),
                e => Error::GitHub(e),
            })?;
            let token = secrecy::ExposeSecret::expose_secret(&token).to_string();
            tracing::info!(app_id, "using the GitHub App's installation token on {repository}");
            (token, true)
        }
        (Some(_), None) => {
            return Err(Error::Usage(
                "RETRAIN_APP_ID is set but RETRAIN_APP_PRIVATE_KEY is empty (is the secret available to this workflow?)".into(),
            ))
        }
        (None, Some(_)) => {
            return Err(Error::Usage(
                "RETRAIN_APP_PRIVATE_KEY is set but RETRAIN_APP_ID is empty".into(),
            ))
        }
        (None, None) => match env_token(env) {
            Some(t) => (t, false),
            None => return Ok(None),
        },
    };
    Ok(Some((
        crate::forge::publish::PublishTarget {
            remote: place.remote.clone(),
            github: crate::forge::github::GitHubConfig {
                api_url: place.api_url.clone(),
                repository,
                token: crate::forge::git::Token::new(token),
                attempts: 5,
                max_backoff: std::time::Duration::from_secs(60),
                graphql_url: env("GITHUB_GRAPHQL_URL"),
            },
            identity: crate::forge::git::Identity::default(),
        },
        minted,
    )))
}
