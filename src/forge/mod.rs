//! The forge: GitHub's REST and GraphQL APIs, for what orch does there — open an issue's
//! draft pull request, read its checks, job logs and review threads, reply in a thread.
//! Below the engine, which decides what to do; nothing here runs git or an agent.
//!
//! - [`token`]: where the token comes from, and that it stays out of logs and agents;
//! - [`http`]: the client (ETag, rate limits, retries);
//! - [`remote`]: which repository a remote's URL names;
//! - [`pulls`]: pull requests; [`checks`]: a commit's check runs and statuses, job logs;
//!   [`excerpt`]: a log's excerpt around its first error; [`threads`]: review threads,
//!   change requests, replies.

pub mod actions;
pub mod checks;
pub mod excerpt;
pub mod http;
pub mod pulls;
pub mod remote;
pub mod threads;
pub mod token;

use crate::input::config::ForgeConfig;
use remote::RepoId;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ForgeError {
    #[error(
        "no GitHub token: {why}; set GITHUB_TOKEN or GH_TOKEN, or log in with `gh auth login`"
    )]
    NoToken { why: String },
    #[error(
        "cannot tell the GitHub repository from remote `{remote}` ({url}); set `[forge] repo = \"owner/name\"` in orch.toml"
    )]
    NoRepo { remote: String, url: String },
    #[error("`[forge] repo = \"{0}\"` is not `owner/name`")]
    BadRepo(String),
    #[error(
        "the remote is on {remote} but the API is {api}; set `[forge] api_url` to {remote}'s (GitHub Enterprise: https://{remote}/api/v3)"
    )]
    OtherHost { remote: String, api: String },
    #[error("{request}: {message}")]
    Transport { request: String, message: String },
    #[error("{request}: GitHub answered {status}: {message}")]
    Status {
        request: String,
        status: u16,
        message: String,
    },
    #[error(
        "{request}: rate-limited for {}s, longer than `[forge] max_rate_wait` ({}s); try again later",
        wait.as_secs(),
        max.as_secs()
    )]
    RateLimited {
        request: String,
        wait: Duration,
        max: Duration,
    },
    #[error("{request}: still rate-limited after {waits} waits; try again later")]
    StillLimited { request: String, waits: u32 },
    #[error("{request}: an answer orch cannot read: {message}")]
    Decode { request: String, message: String },
    #[error("GitHub's GraphQL API: {message}")]
    GraphQl { message: String },
    #[error("interrupted")]
    Interrupted,
}

impl ForgeError {
    /// Whether the forge is there but refused or does not know this request (as opposed
    /// to unreachable).
    pub fn status(&self) -> Option<u16> {
        match self {
            ForgeError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A repository on the forge, and the client that reaches it.
pub struct Forge {
    pub client: http::Client,
    pub repo: RepoId,
    /// Its default branch, as the forge says.
    pub default_branch: String,
}

impl Forge {
    /// Connects: the token, the repository (`[forge] repo`, else the remote's URL), and one
    /// request that proves both (the repository's metadata).
    pub async fn connect(
        config: &ForgeConfig,
        remote_url: Option<&str>,
        cancel: Option<tokio::sync::watch::Receiver<bool>>,
    ) -> Result<Forge, ForgeError> {
        let api = config.api_url();
        let api_host = remote::api_host(&api);
        let repo = match (&config.repo, remote_url) {
            (Some(slug), _) => RepoId::parse_slug(slug, &api_host)
                .ok_or_else(|| ForgeError::BadRepo(slug.clone()))?,
            (None, Some(url)) => {
                let repo = RepoId::from_remote_url(url).ok_or_else(|| ForgeError::NoRepo {
                    remote: config.remote().to_owned(),
                    url: url.to_owned(),
                })?;
                // The token for one host never goes to another's API.
                if repo.host != api_host {
                    return Err(ForgeError::OtherHost {
                        remote: repo.host,
                        api: api.clone(),
                    });
                }
                repo
            }
            (None, None) => {
                return Err(ForgeError::NoRepo {
                    remote: config.remote().to_owned(),
                    url: "no such remote".to_owned(),
                })
            }
        };
        let token = token::resolve(&repo.host).await?;
        let client = http::Client::new(
            api,
            config.graphql_url(),
            token,
            config.max_rate_wait(),
            cancel,
        )?;
        let meta = client.get(&format!("/repos/{}", repo.slug())).await?;
        let default_branch = meta["default_branch"].as_str().unwrap_or("main").to_owned();
        Ok(Forge {
            client,
            repo,
            default_branch,
        })
    }

    /// `/repos/<owner>/<name>`.
    pub(crate) fn repo_path(&self) -> String {
        format!("/repos/{}", self.repo.slug())
    }
}

/// The string at `pointer` in an answer, `""` when there is none.
fn text(v: &serde_json::Value, pointer: &str) -> String {
    (v.pointer(pointer).and_then(serde_json::Value::as_str))
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remote_on_another_host_than_the_api_is_refused_before_any_token_is_looked_for() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let github = ForgeConfig::default();
        let connected = rt.block_on(Forge::connect(
            &github,
            Some("git@ghe.corp:acme/shop.git"),
            None,
        ));
        let Err(e) = connected else {
            panic!("connected to api.github.com for a ghe.corp remote");
        };
        assert!(matches!(e, ForgeError::OtherHost { .. }), "{e}");
        assert!(e.to_string().contains("https://ghe.corp/api/v3"), "{e}");
    }
}
