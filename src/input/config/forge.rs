//! `[forge]` and `[submit]` in orch.toml: which GitHub (or GitHub Enterprise) orch opens draft
//! pull requests on and watches, and how a converged issue is submitted. Data and the
//! decisions read from it; talking to the forge is the forge layer's.

use super::{parse_duration, AgentKind, Config, Submit};
use serde::Deserialize;
use std::time::Duration;

/// The REST API root of github.com.
pub const GITHUB_API: &str = "https://api.github.com";
/// Fix phases the forge (failed checks, review threads) may start per issue.
pub const DEFAULT_MAX_FORGE_CYCLES: u32 = 2;
/// How often `orch watch` asks the forge again.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(60);
/// The longest orch waits for a rate limit to reset before it gives up.
pub const DEFAULT_MAX_RATE_WAIT: Duration = Duration::from_secs(15 * 60);

/// `[forge]` when orch.toml has none: every default.
static NO_FORGE: ForgeConfig = ForgeConfig {
    api_url: None,
    graphql_url: None,
    repo: None,
    remote: None,
    resolve: None,
    poll_interval: None,
    max_rate_wait: None,
    required_checks: None,
};

/// `[forge]` in orch.toml.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ForgeConfig {
    /// The REST API root (default `https://api.github.com`; GitHub Enterprise:
    /// `https://HOST/api/v3`).
    pub api_url: Option<String>,
    /// The GraphQL endpoint (default: beside `api_url`, `…/api/graphql` for `…/api/v3`).
    pub graphql_url: Option<String>,
    /// `owner/name` (default: read from the remote's URL).
    pub repo: Option<String>,
    /// The remote issue branches are pushed to (default `origin`).
    pub remote: Option<String>,
    /// Whether orch resolves a review thread its fix addressed (default false: people
    /// resolve their own threads).
    pub resolve: Option<bool>,
    /// How often `orch watch` polls (default `60s`).
    pub poll_interval: Option<toml::Value>,
    /// The longest wait for a rate limit to reset before orch gives up (default `15m`).
    pub max_rate_wait: Option<toml::Value>,
    /// The checks that must pass for an issue to be green (default: every check run and
    /// status on its head).
    pub required_checks: Option<Vec<String>>,
}

/// `[submit]` in orch.toml.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SubmitConfig {
    /// How a converged issue becomes a draft PR (default: `github` when `[forge]` is set,
    /// `graphite` when `[graphite] submit = "draft"`, else not at all).
    pub via: Option<SubmitVia>,
}

/// `[executor]` in orch.toml.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExecutorConfig {
    /// Where each issue's loop runs (default `local`).
    pub on: Option<Executor>,
}

/// What `[executor] on` says.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Executor {
    /// Here, in a worktree of this repository.
    Local,
    /// On a GitHub Actions runner per issue (`orch run --on github`).
    Github,
}

/// What `[submit] via` says.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SubmitVia {
    /// orch pushes the branch and opens the draft through the GitHub API.
    Github,
    /// `gt submit --stack --draft` (by the agent, or by orch when the agent has no network).
    Graphite,
    /// No drafts.
    Never,
}

impl Config {
    /// Whether `[executor] on = "github"`.
    pub fn runs_on_github(&self) -> bool {
        self.executor.on == Some(Executor::Github)
    }

    /// How converged issues are submitted, `None` for not at all.
    pub fn submit_via(&self) -> Option<SubmitVia> {
        let via = match self.submit.via {
            Some(via) => via,
            None if self.graphite.submit == Some(Submit::Draft) => SubmitVia::Graphite,
            None if self.forge.is_some() => SubmitVia::Github,
            None => SubmitVia::Never,
        };
        (via != SubmitVia::Never).then_some(via)
    }

    /// Whether the run submits through the GitHub API.
    pub fn submits_via_github(&self) -> bool {
        self.submit_via() == Some(SubmitVia::Github)
    }

    /// Whether dev and fix phases submit draft PRs with Graphite (`[graphite] submit =
    /// "draft"`, or `[submit] via = "graphite"`).
    pub fn submits_drafts(&self) -> bool {
        self.submit_via() == Some(SubmitVia::Graphite)
    }

    /// Whether orch submits the drafts itself after an issue converged: through the GitHub
    /// API, or with Graphite when the agents that write the commits (`writers`: its
    /// dev and fix phases') are all sandboxed without a network to submit with.
    pub fn orch_submits_drafts(&self, writers: &[AgentKind]) -> bool {
        self.submits_via_github()
            || (self.submits_drafts()
                && writers.iter().all(|a| self.sandboxed(*a))
                && !self.agent_network())
    }

    /// `[forge]`, or its defaults.
    pub fn forge(&self) -> &ForgeConfig {
        self.forge.as_ref().unwrap_or(&NO_FORGE)
    }

    /// Fix phases the forge may start per issue (`max_forge_cycles`, default 2).
    pub fn max_forge_cycles(&self) -> u32 {
        self.max_forge_cycles.unwrap_or(DEFAULT_MAX_FORGE_CYCLES)
    }
}

impl ForgeConfig {
    /// The REST API root, without a trailing `/`.
    pub fn api_url(&self) -> String {
        let url = self.api_url.as_deref().unwrap_or(GITHUB_API);
        url.trim_end_matches('/').to_owned()
    }

    /// The GraphQL endpoint: as set, else `…/api/graphql` beside a GitHub Enterprise
    /// `…/api/v3`, else `<api_url>/graphql`.
    pub fn graphql_url(&self) -> String {
        if let Some(url) = &self.graphql_url {
            return url.trim_end_matches('/').to_owned();
        }
        let api = self.api_url();
        match api.strip_suffix("/api/v3") {
            Some(host) => format!("{host}/api/graphql"),
            None => format!("{api}/graphql"),
        }
    }

    /// The remote pushed to.
    pub fn remote(&self) -> &str {
        self.remote.as_deref().unwrap_or("origin")
    }

    pub fn poll_interval(&self) -> Duration {
        (self.poll_interval.as_ref())
            .and_then(parse_duration)
            .unwrap_or(DEFAULT_POLL_INTERVAL)
    }

    pub fn max_rate_wait(&self) -> Duration {
        (self.max_rate_wait.as_ref())
            .and_then(parse_duration)
            .unwrap_or(DEFAULT_MAX_RATE_WAIT)
    }

    /// Whether orch resolves threads its fixes addressed.
    pub fn resolves(&self) -> bool {
        self.resolve == Some(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn parse(text: &str) -> Config {
        Config::parse(Path::new("orch.toml"), text).unwrap()
    }

    #[test]
    fn submit_via_defaults_follow_what_is_configured() {
        assert_eq!(parse("").submit_via(), None);
        assert_eq!(parse("[forge]\n").submit_via(), Some(SubmitVia::Github));
        let gt = parse("[graphite]\nsubmit = \"draft\"\n");
        assert_eq!(gt.submit_via(), Some(SubmitVia::Graphite));
        let never = parse("[forge]\n[submit]\nvia = \"never\"\n");
        assert_eq!(never.submit_via(), None);
        let explicit = parse("[submit]\nvia = \"github\"\n");
        assert!(explicit.submits_via_github() && explicit.orch_submits_drafts(&[]));
    }

    #[test]
    fn graphql_sits_beside_the_rest_api() {
        let f = |api: &str| ForgeConfig {
            api_url: Some(api.to_owned()),
            ..ForgeConfig::default()
        };
        assert_eq!(
            ForgeConfig::default().graphql_url(),
            "https://api.github.com/graphql"
        );
        assert_eq!(
            f("https://ghe.corp/api/v3/").graphql_url(),
            "https://ghe.corp/api/graphql"
        );
        assert_eq!(
            f("http://127.0.0.1:9").graphql_url(),
            "http://127.0.0.1:9/graphql"
        );
    }

    #[test]
    fn a_misspelt_forge_key_is_named_with_its_line() {
        let err = Config::parse(Path::new("orch.toml"), "[forge]\napi_ulr = \"x\"\n").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("orch.toml:2") && text.contains("api_url"),
            "{text}"
        );
    }
}
