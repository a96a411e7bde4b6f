//! `orch.toml`: optional repository configuration. Unknown keys are errors, with their line.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use thiserror::Error;

mod forge;
mod sandbox;
mod tables;
pub use forge::*;
pub use tables::*;

pub const CONFIG_FILE: &str = "orch.toml";
pub const DEFAULT_MAX_REVIEW_CYCLES: u32 = 2;
/// Issues in flight at once when neither `--jobs` nor `jobs` says.
pub const DEFAULT_JOBS: usize = 3;
/// How long an agent may report nothing but connection errors (`[agent] unreachable_timeout`).
pub const DEFAULT_UNREACHABLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Identical commands in a row that end a phase as looping (`[agent] max_repeats`).
pub const DEFAULT_MAX_REPEATS: u32 = 30;

/// What a phase is reserved before any phase of its kind ran.
pub const DEFAULT_PHASE_RESERVE_TOKENS: u64 = 200_000;

/// Every key `orch.toml` accepts (documented in README.md).
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Glob of issue docs, relative to the docs base (default `docs/projects/**/issues/*.md`).
    pub docs_glob: Option<String>,
    /// The project a bare milestone name means (as `--project`).
    pub project: Option<String>,
    /// States that mean an issue is done: skipped, its dependents may proceed (replaces the
    /// default list).
    pub done_states: Option<Vec<String>>,
    /// States that mean an issue is not to be started yet: skipped unless a run names them
    /// with `--include-state` (replaces the default list).
    pub not_ready_states: Option<Vec<String>>,
    /// Where issue worktrees go; relative paths are relative to the repository root.
    pub worktree_root: Option<PathBuf>,
    /// Review/fix cycles before an issue is capped (default 2).
    pub max_review_cycles: Option<u32>,
    /// Issues in flight at once (default 3; `--jobs` on `orch run`/`orch resume`).
    pub jobs: Option<usize>,
    /// Tokens (input + output) the whole run may spend (`--budget-tokens`).
    pub budget_tokens: Option<u64>,
    /// Dollars the whole run may spend, priced with `[pricing]` (`--budget-usd`).
    pub budget_usd: Option<f64>,
    /// Tokens one issue may spend.
    pub issue_budget_tokens: Option<u64>,
    /// Dollars one issue may spend.
    pub issue_budget_usd: Option<f64>,
    /// What a phase is reserved before any phase of its kind ran in the run (default 200000).
    pub phase_reserve_tokens: Option<u64>,
    /// `[pricing."<model>"]`: dollars per million input, cached input and output tokens.
    #[serde(default)]
    pub pricing: std::collections::BTreeMap<String, Price>,
    /// The branch runs start from (default: `main`, else `master`).
    pub trunk: Option<String>,
    /// The branch issue branches start from instead of the trunk (`--base` on `orch run`);
    /// HEAD must be on it.
    pub base: Option<String>,
    /// Where orch writes logs, relative to the repository root (default `logs`).
    pub logs_dir: Option<PathBuf>,
    /// How long one phase may run before its process group is killed: seconds, or a number
    /// with `s`, `m` or `h` (default `30m`).
    pub phase_timeout: Option<toml::Value>,
    /// How long an agent may say nothing (no event at all) before its phase is stopped as
    /// stalled: a duration as `phase_timeout`, or 0 for never (default `10m`).
    pub stall_timeout: Option<toml::Value>,
    /// How often a stalled phase is tried again (default 1; 0: a stall fails the phase).
    pub stall_retries: Option<u32>,
    /// Whether runs keep a TASKS.md dashboard (default true).
    pub dashboard: Option<bool>,
    /// Where the dashboard goes, relative to the repository root (default `TASKS.md`).
    pub dashboard_path: Option<PathBuf>,
    /// How often a phase that failed transiently (network, model server 5xx, expired auth)
    /// is tried in all (default 3; 1 turns retries off).
    pub retry_attempts: Option<u32>,
    /// The wait before the first retry, doubled before each next one (default `5s`).
    pub retry_backoff: Option<toml::Value>,
    /// Bytes of repository map in each phase prompt (default 16000; 0 leaves it out).
    pub repo_map_bytes: Option<usize>,
    /// How the Codex CLI is run.
    #[serde(default)]
    pub codex: CodexConfig,
    /// `[agents]`: which agent CLI runs each phase.
    #[serde(default)]
    pub agents: AgentsConfig,
    /// How the Claude Code CLI is run.
    #[serde(default)]
    pub claude: ClaudeConfig,
    /// `[agent]`: what every agent's commands may reach.
    #[serde(default)]
    pub agent: AgentConfig,
    /// `[worktree]`: what makes a fresh issue worktree ready to work in.
    #[serde(default)]
    pub worktree: WorktreeConfig,
    /// `[verify]`: the checks of a converged issue in a clean checkout of its final head.
    #[serde(default)]
    pub verify: VerifyConfig,
    /// `[guard]`: adjustments to the policy for the agent's gt and git commands.
    pub guard: Option<GuardConfig>,
    /// `[graphite]`: how the agent uses Graphite beyond committing.
    #[serde(default)]
    pub graphite: GraphiteConfig,
    /// `[review]`: what the review phase writes.
    #[serde(default)]
    pub review: ReviewConfig,
    /// `[forge]`: the GitHub orch opens draft PRs on and watches.
    pub forge: Option<ForgeConfig>,
    /// `[submit]`: how a converged issue becomes a draft PR.
    #[serde(default)]
    pub submit: SubmitConfig,
    /// `[executor]`: where issues' loops run.
    #[serde(default)]
    pub executor: ExecutorConfig,
    /// Fix phases failed checks and review threads may start per issue (default 2).
    pub max_forge_cycles: Option<u32>,
}

pub const DEFAULT_RETRY_ATTEMPTS: u32 = 3;
pub const DEFAULT_REPO_MAP_BYTES: usize = 16_000;
pub const DEFAULT_RETRY_BACKOFF: std::time::Duration = std::time::Duration::from_secs(5);

/// See [`CodexConfig::sandbox`].
pub const SANDBOX_WORKTREE: &str = "worktree";
/// The recorded sandbox of a run whose claude phases ran open (`[claude] sandbox = "none"`).
pub const SANDBOX_CLAUDE_OPEN: &str = "claude:none";
/// The `[codex] sandbox` values.
pub const SANDBOX_MODES: &[&str] = &[
    SANDBOX_WORKTREE,
    "danger-full-access",
    "workspace-write",
    "read-only",
];
pub const DEFAULT_PHASE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30 * 60);

pub const DEFAULT_STALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10 * 60);
pub const DEFAULT_STALL_RETRIES: u32 = 1;
pub const DEFAULT_SETUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// `0` or `"0"`: a limit turned off.
fn is_zero(value: &toml::Value) -> bool {
    match value {
        toml::Value::Integer(0) => true,
        toml::Value::String(s) => s.trim() == "0",
        _ => false,
    }
}

/// A limit that `0` turns off: as set, else (unset, or not a duration, which validation
/// refuses) the default.
fn limit_or_off(
    value: Option<&toml::Value>,
    default: std::time::Duration,
) -> Option<std::time::Duration> {
    match value {
        Some(v) if is_zero(v) => None,
        Some(v) => parse_duration(v).or(Some(default)),
        None => Some(default),
    }
}

/// The first line whose key is `key`, 1-based.
fn line_of(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            l.trim_start()
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map(|i| i + 1)
}

/// Parses `90`, `"90s"`, `"30m"`, `"2h"`.
pub fn parse_duration(value: &toml::Value) -> Option<std::time::Duration> {
    let secs = match value {
        toml::Value::Integer(n) if *n > 0 => *n as u64,
        toml::Value::String(s) if s.trim().chars().all(|c| c.is_ascii_digit()) => {
            s.trim().parse().ok().filter(|n| *n > 0)?
        }
        toml::Value::String(s) => return crate::util::timeutil::parse_duration(s),
        _ => return None,
    };
    Some(std::time::Duration::from_secs(secs))
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },
}

/// An unknown key said with the key it most likely meant (`unknown field `job`, did you mean
/// `jobs`?`) rather than all the keys there are; other messages as they are.
fn near_miss(message: &str) -> String {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return message.to_owned();
    };
    let Some((key, expected)) = rest.split_once('`') else {
        return message.to_owned();
    };
    let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    match crate::util::spelling::closest(key, &known) {
        Some(near) => format!("unknown field `{key}`, did you mean `{near}`?"),
        None => {
            format!("unknown field `{key}` (`orch init` writes an orch.toml listing every setting)")
        }
    }
}

impl Config {
    /// Reads `<repo_root>/orch.toml`; a missing file means all defaults.
    pub fn load(repo_root: &Path) -> Result<Config, ConfigError> {
        let path = repo_root.join(CONFIG_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Config::parse(&path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(source) => Err(ConfigError::Read { path, source }),
        }
    }

    /// What can be read of an orch.toml that [`Config::parse`] refuses, for the commands
    /// that only read a run's records (`status`, `report`, `diff`, …): the settings that say
    /// where things are (`logs_dir`, `worktree_root`, the docs and the dashboard, the
    /// project), each taken on its own when it reads; the rest at its default.
    pub fn lenient(path: &Path) -> Config {
        let Ok(text) = std::fs::read_to_string(path) else {
            return Config::default();
        };
        let Ok(toml::Value::Table(table)) = toml::from_str::<toml::Value>(&text) else {
            return Config::default();
        };
        let text_of = |key: &str| table.get(key).and_then(|v| v.as_str()).map(str::to_owned);
        Config {
            logs_dir: text_of("logs_dir").map(PathBuf::from),
            worktree_root: text_of("worktree_root").map(PathBuf::from),
            dashboard_path: text_of("dashboard_path").map(PathBuf::from),
            docs_glob: text_of("docs_glob"),
            project: text_of("project"),
            trunk: text_of("trunk"),
            base: text_of("base"),
            ..Config::default()
        }
    }

    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: path.to_owned(),
            line: e
                .span()
                .map(|s| 1 + text[..s.start.min(text.len())].matches('\n').count()),
            message: near_miss(e.message().trim()),
        })?;
        if config.max_review_cycles == Some(0) {
            return Err(ConfigError::Invalid {
                path: path.to_owned(),
                line: text
                    .lines()
                    .position(|l| l.trim_start().starts_with("max_review_cycles"))
                    .map(|i| i + 1),
                message: "`max_review_cycles` must be at least 1".to_owned(),
            });
        }
        // `0` turns a limit off: no duration to check.
        let limit = |v: &Option<toml::Value>| v.clone().filter(|v| !is_zero(v));
        for (key, value) in [
            ("phase_timeout", &config.phase_timeout),
            ("retry_backoff", &config.retry_backoff),
            ("stall_timeout", &limit(&config.stall_timeout)),
            ("setup_timeout", &config.worktree.setup_timeout),
            (
                "unreachable_timeout",
                &limit(&config.agent.unreachable_timeout),
            ),
        ] {
            if let Some(v) = value.as_ref().filter(|v| parse_duration(v).is_none()) {
                return Err(ConfigError::Invalid {
                    path: path.to_owned(),
                    line: text
                        .lines()
                        .position(|l| l.trim_start().starts_with(key))
                        .map(|i| i + 1),
                    message: format!(
                        "`{key}` must be seconds or a duration like `90s`, `30m`, `1h30m`, found {v}"
                    ),
                });
            }
        }
        if config.jobs == Some(0) {
            return Err(ConfigError::Invalid {
                path: path.to_owned(),
                line: text
                    .lines()
                    .position(|l| l.trim_start().starts_with("jobs"))
                    .map(|i| i + 1),
                message: "`jobs` must be at least 1 (1 runs one issue at a time)".to_owned(),
            });
        }
        sandbox::check(&config, path, text)?;
        if let Err(message) = config.secret_allow() {
            return Err(ConfigError::Invalid {
                path: path.to_owned(),
                line: line_of(text, "secret_allow"),
                message,
            });
        }
        if config.retry_attempts == Some(0) {
            return Err(ConfigError::Invalid {
                path: path.to_owned(),
                line: text
                    .lines()
                    .position(|l| l.trim_start().starts_with("retry_attempts"))
                    .map(|i| i + 1),
                message: "`retry_attempts` counts the first try too; it must be at least 1"
                    .to_owned(),
            });
        }
        Ok(config)
    }

    /// How long a worktree's setup may take in all.
    pub fn setup_timeout(&self) -> std::time::Duration {
        self.worktree
            .setup_timeout
            .as_ref()
            .and_then(parse_duration)
            .unwrap_or(DEFAULT_SETUP_TIMEOUT)
    }

    pub fn phase_timeout(&self) -> std::time::Duration {
        self.phase_timeout
            .as_ref()
            .and_then(parse_duration)
            .unwrap_or(DEFAULT_PHASE_TIMEOUT)
    }

    /// How long an agent may stay silent before its phase is stalled; `None`: no limit.
    pub fn stall_timeout(&self) -> Option<std::time::Duration> {
        limit_or_off(self.stall_timeout.as_ref(), DEFAULT_STALL_TIMEOUT)
    }

    /// How long an agent may report nothing but connection errors (`[agent]
    /// unreachable_timeout`; `None` when 0).
    pub fn unreachable_timeout(&self) -> Option<std::time::Duration> {
        limit_or_off(
            self.agent.unreachable_timeout.as_ref(),
            DEFAULT_UNREACHABLE_TIMEOUT,
        )
    }

    /// How many identical commands in a row end a phase as looping (`None` when 0).
    pub fn max_repeats(&self) -> Option<u32> {
        Some(self.agent.max_repeats.unwrap_or(DEFAULT_MAX_REPEATS)).filter(|&n| n != 0)
    }

    /// How often a stalled phase is tried again.
    pub fn stall_retries(&self) -> u32 {
        self.stall_retries.unwrap_or(DEFAULT_STALL_RETRIES)
    }

    /// Tries of a transiently failing phase, and the first wait between them.
    pub fn retry(&self) -> (u32, std::time::Duration) {
        (
            self.retry_attempts.unwrap_or(DEFAULT_RETRY_ATTEMPTS),
            self.retry_backoff
                .as_ref()
                .and_then(parse_duration)
                .unwrap_or(DEFAULT_RETRY_BACKOFF),
        )
    }

    /// The repository map's budget in a prompt (0: no map).
    pub fn repo_map_bytes(&self) -> usize {
        self.repo_map_bytes.unwrap_or(DEFAULT_REPO_MAP_BYTES)
    }

    /// Whether a ref/worktree violation found by the post-phase audit fails the phase.
    pub fn audit_fails_phase(&self) -> bool {
        self.guard.as_ref().is_none_or(|g| g.audit_fails_phase)
    }

    /// The `[guard] secret_allow` globs, compiled; an invalid one is named.
    pub fn secret_allow(&self) -> Result<globset::GlobSet, String> {
        let patterns = self.guard.as_ref().map(|g| g.secret_allow.as_slice());
        crate::util::secret_shapes::allow_globs(patterns.unwrap_or_default())
    }

    /// Whether the audit puts violated refs back and removes worktrees the agent added.
    pub fn audit_restores(&self) -> bool {
        self.guard.as_ref().is_none_or(|g| g.audit_restore)
    }

    /// Whether reviews write the milestone's review doc (`[review] doc = true`).
    pub fn review_doc(&self) -> bool {
        self.review.doc == Some(true)
    }

    /// Whether the agent's commands may use the network.
    pub fn agent_network(&self) -> bool {
        self.agent.network == Some(true)
    }

    /// The claude binary: `ORCH_CLAUDE_BIN`, else `[claude] bin`, else `claude`.
    pub fn claude_bin(&self, repo_root: &Path) -> PathBuf {
        if let Some(bin) = std::env::var_os("ORCH_CLAUDE_BIN").filter(|v| !v.is_empty()) {
            return PathBuf::from(bin);
        }
        match &self.claude.bin {
            Some(p) if p.components().count() > 1 && p.is_relative() => repo_root.join(p),
            Some(p) => p.clone(),
            None => PathBuf::from("claude"),
        }
    }

    /// The codex binary: `ORCH_CODEX_BIN`, else `[codex] bin`, else `codex`.
    pub fn codex_bin(&self, repo_root: &Path) -> PathBuf {
        if let Some(bin) = std::env::var_os("ORCH_CODEX_BIN").filter(|v| !v.is_empty()) {
            return PathBuf::from(bin);
        }
        match &self.codex.bin {
            Some(p) if p.components().count() > 1 && p.is_relative() => repo_root.join(p),
            Some(p) => p.clone(),
            None => PathBuf::from("codex"),
        }
    }

    /// The state vocabulary of a run that includes the not-ready states `include`.
    pub fn state_rules(&self, include: &[String]) -> crate::input::docs::states::StateRules {
        crate::input::docs::states::StateRules::new(
            self.done_states.as_deref(),
            self.not_ready_states.as_deref(),
            include,
        )
    }

    pub fn docs_glob(&self) -> &str {
        self.docs_glob
            .as_deref()
            .unwrap_or(crate::input::docs::DEFAULT_DOCS_GLOB)
    }

    /// The model the agent is run with, as its arguments name it (`-m`, `--model`,
    /// `-c model=…`), if they do.
    pub fn codex_model(&self) -> Option<String> {
        let args = &self.codex.args;
        let mut model = None;
        for (i, a) in args.iter().enumerate() {
            let next = || args.get(i + 1).cloned();
            if a == "-m" || a == "--model" {
                model = next();
            } else if let Some(m) = a.strip_prefix("--model=") {
                model = Some(m.to_owned());
            } else if a == "-c" || a == "--config" {
                if let Some(m) = next().as_deref().and_then(|c| c.strip_prefix("model=")) {
                    model = Some(m.trim_matches('"').to_owned());
                }
            }
        }
        model
    }

    /// The budget limits of orch.toml (flags replace them).
    pub fn budget(&self) -> crate::model::budget::Limits {
        crate::model::budget::Limits {
            run_tokens: self.budget_tokens,
            run_usd: self.budget_usd,
            issue_tokens: self.issue_budget_tokens,
            issue_usd: self.issue_budget_usd,
            reserve_tokens: self
                .phase_reserve_tokens
                .unwrap_or(DEFAULT_PHASE_RESERVE_TOKENS),
        }
    }

    /// Issues in flight at once.
    pub fn jobs(&self) -> usize {
        self.jobs.unwrap_or(DEFAULT_JOBS)
    }

    pub fn max_review_cycles(&self) -> u32 {
        self.max_review_cycles.unwrap_or(DEFAULT_MAX_REVIEW_CYCLES)
    }

    /// The TASKS.md path, if the dashboard is on.
    pub fn dashboard_path(&self, repo_root: &Path) -> Option<PathBuf> {
        if self.dashboard == Some(false) {
            return None;
        }
        Some(
            repo_root.join(
                self.dashboard_path
                    .clone()
                    .unwrap_or_else(|| PathBuf::from("TASKS.md")),
            ),
        )
    }

    /// `<repo>/<logs_dir>/orch`: every log, range and result orch writes.
    pub fn orch_logs(&self, repo_root: &Path) -> PathBuf {
        let logs = self
            .logs_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("logs"));
        repo_root.join(logs).join("orch")
    }

    /// The worktree root for a repository at `repo_root`, without `.` or `..` parts (agents
    /// are told worktree paths, and compare them).
    pub fn worktree_root(&self, repo_root: &Path) -> PathBuf {
        let root = match &self.worktree_root {
            Some(p) if p.is_absolute() => p.clone(),
            Some(p) => repo_root.join(p),
            None => crate::model::naming::default_worktree_root(repo_root),
        };
        crate::util::fsutil::lexical(&root).unwrap_or(root)
    }
}

/// The repository root: the nearest ancestor of `start` holding `.git` (a directory, or the
/// file a linked worktree has).
pub fn find_repo_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join(".git").exists())
        .map(Path::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stall_limit_is_a_duration_or_zero_for_none() {
        let read = |text: &str| Config::parse(Path::new("orch.toml"), text);
        let secs = std::time::Duration::from_secs;
        assert_eq!(read("").unwrap().stall_timeout(), Some(secs(600)));
        assert_eq!(
            read("stall_timeout = \"90s\"").unwrap().stall_timeout(),
            Some(secs(90))
        );
        assert_eq!(read("stall_timeout = 0").unwrap().stall_timeout(), None);
        assert_eq!(read("stall_timeout = \"0\"").unwrap().stall_timeout(), None);
        let e = read("phase_timeout = \"1h\"\nstall_timeout = \"soon\"").unwrap_err();
        assert!(
            e.to_string().contains("orch.toml:2") && e.to_string().contains("stall_timeout"),
            "{e}"
        );
    }

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let err = Config::parse(
            Path::new("orch.toml"),
            "docs_glob = \"x/*.md\"\nworktree_rot = \"w\"\n",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "orch.toml:2: unknown field `worktree_rot`, did you mean `worktree_root`?"
        );
        let err = Config::parse(Path::new("orch.toml"), "job = 2\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "orch.toml:1: unknown field `job`, did you mean `jobs`?"
        );
        let err = Config::parse(Path::new("orch.toml"), "[codex]\nbinary = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "orch.toml:2: unknown field `binary`, did you mean `bin`?"
        );
        let err = Config::parse(Path::new("orch.toml"), "zzzzzzzzzz = 1\n")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("expected one of"), "{err}");
    }

    #[test]
    fn graphite_submit_takes_never_or_draft() {
        let c = Config::parse(Path::new("o"), "[graphite]\nsubmit = \"draft\"\n").unwrap();
        assert!(c.submits_drafts());
        assert!(!Config::default().submits_drafts());
        let err = Config::parse(Path::new("orch.toml"), "[graphite]\nsubmit = \"always\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("orch.toml:2: unknown variant `always`, expected `never` or `draft`"),
            "{err}"
        );
    }

    #[test]
    fn defaults_and_relative_root() {
        let c = Config::parse(Path::new("orch.toml"), "worktree_root = \"../wt\"\n").unwrap();
        assert_eq!(c.worktree_root(Path::new("/r/repo")), Path::new("/r/wt"));
        assert_eq!(c.max_review_cycles(), 2);
        assert_eq!(
            Config::default().docs_glob(),
            "docs/projects/**/issues/*.md"
        );
        assert!(Config::parse(Path::new("o"), "max_review_cycles = 0").is_err());
    }
}
