//! `orch init`: the files a repository starts from. An `orch.toml` listing every setting
//! (commented out, with its default), an example `orchestrator.yml` plan, the prompts under
//! `.orch/prompts/`, and a `.gitignore` entry for orch's logs. Nothing that exists is ever
//! overwritten; each step says what it did.

use crate::git::{GitError, Repo};
use crate::input::config::{Config, CONFIG_FILE};
use std::path::{Component, Path, PathBuf};
use thiserror::Error;

/// The example plan's file name.
pub const PLAN_FILE: &str = "orchestrator.yml";

/// What `init` did, step by step (paths relative to the repository root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Created(PathBuf),
    /// The file existed and was left alone.
    Kept(PathBuf),
    /// `entry` was appended to `.gitignore`.
    IgnoreAdded {
        entry: String,
    },
    /// The logs directory is ignored already (by any of git's rules).
    IgnoreKept {
        entry: String,
    },
    /// The logs directory is outside the repository: nothing to ignore.
    IgnoreNotNeeded {
        logs: PathBuf,
    },
}

#[derive(Debug, Error)]
pub enum ScaffoldError {
    #[error(transparent)]
    Io(#[from] crate::util::fsutil::IoError),
    #[error(transparent)]
    Git(#[from] GitError),
}

/// `orch.toml` with every key of [`Config`] commented out at its default, each with a line
/// saying what it does. `repo_name` fills in the default worktree root.
pub fn orch_toml(repo_name: &str) -> String {
    format!(
        r#"# orch.toml: orch's settings for this repository. Every key is optional and shown
# commented out with its default; uncomment a line to change it. Unknown keys are errors.

# Glob of the issue docs, relative to the docs base (the repository root, or --docs).
# docs_glob = "docs/projects/**/issues/*.md"

# The project a bare milestone name means, as --project does (no default: `M1` means the
# one project that has an M1; `<project>/M1` always names one). For example:
# project = "ledger-api"

# Issue states meaning done: skipped, and their dependents may proceed (replaces the list).
# done_states = ["done", "completed", "complete", "landed", "merged", "closed", "canceled", "cancelled", "wontfix", "duplicate"]

# Issue states meaning not to be started yet: skipped unless a run names them with
# --include-state (replaces the list).
# not_ready_states = ["future", "deferred", "backlog", "icebox", "someday"]

# Where issue worktrees go; a relative path is taken from the repository root.
# worktree_root = "../{repo_name}.orch-worktrees"

# Review/fix cycles before an issue is capped (at least 1).
# max_review_cycles = 2
# Fix phases failed checks and review threads may start per issue (`orch watch`).
# max_forge_cycles = 2

# Issues in flight at once; an issue starts when what it depends on has ended (1: one at a
# time, in plan order). `--jobs N` on run/resume overrides it.
# jobs = 3

# Tokens (input + output) a whole run may spend; a phase that would not fit does not start
# (`--budget-tokens` on run/resume). No limit by default.
# budget_tokens = 5000000

# Dollars a whole run may spend, priced with [pricing] below (`--budget-usd`).
# budget_usd = 25.0

# Tokens one issue may spend (`--issue-budget-tokens`).
# issue_budget_tokens = 1000000

# Dollars one issue may spend (`--issue-budget-usd`).
# issue_budget_usd = 5.0

# What a phase is reserved before a phase of its kind has run in the run.
# phase_reserve_tokens = 200000

# The branch runs start from (default: main, else master).
# trunk = "main"

# The branch issue branches start from instead of the trunk (like --base); HEAD must be on it.
# For example:
# base = "release-2"

# Where orch writes its logs (<logs_dir>/orch/), relative to the repository root.
# logs_dir = "logs"

# How long one phase may run before it is stopped: seconds, or a duration like 90s, 30m, 1h30m.
# phase_timeout = "30m"

# How long an agent may say nothing at all before its phase is stopped as stalled; 0: never.
# stall_timeout = "10m"

# How often a stalled phase is tried again; 0: a stall fails the phase.
# stall_retries = 1

# Tries in all of a phase whose agent failed transiently (model server 5xx, dropped
# connection, expired login); 1 turns retries off.
# retry_attempts = 3

# The wait before the first retry, doubled before each next one.
# retry_backoff = "5s"

# Bytes of repository map (files, sizes, top-level definitions) in each phase prompt; 0: none.
# repo_map_bytes = 16000

# Whether runs keep a TASKS.md dashboard up to date.
# dashboard = true

# Where the dashboard goes, relative to the repository root.
# dashboard_path = "TASKS.md"

# How the Codex CLI is run.
# [codex]
# The codex binary (the environment variable ORCH_CODEX_BIN overrides it).
# bin = "codex"
# Extra arguments for `codex exec`, such as "-m", "<model>" or "-c", "<key>=<value>".
# args = []
# "worktree": a permission profile per phase, writable only the worktree and the git
# dirs a commit needs; or a codex -s mode ("danger-full-access" lets it write anywhere).
# sandbox = "worktree"
# Whether a fix phase resumes the dev phase's codex session.
# resume_fix = true

# Which agent CLI runs each phase: "codex" or "claude" (`--agent review=claude` on a run).
# [agents]
# The dev phases.
# dev = "codex"
# The reviews.
# review = "codex"
# The fix phases.
# fix = "codex"

# How the Claude Code CLI is run.
# [claude]
# The claude binary (the environment variable ORCH_CLAUDE_BIN overrides it).
# bin = "claude"
# Extra arguments for `claude -p`.
# args = []
# The model (--model).
# model = "claude-sonnet-4-5"
# "worktree": Claude Code's own sandbox keeps its commands to the worktree and the git dirs a
# commit needs (needs bwrap and socat on PATH); "none" runs claude phases open.
# sandbox = "worktree"

# What the agent's commands may reach.
# [agent]
# Whether they may use the network (true also opens Unix sockets such as ssh-agent's).
# network = false
# Environment variables (names or globs) they get besides HOME, PATH, SHELL, USER, LANG,
# LC_*, TERM, TZ and TMPDIR.
# pass_env = []
# How long an agent may report nothing but connection errors (a model out of reach) before
# its phase fails, to be tried again (0: never).
# unreachable_timeout = "60s"
# How many times in a row an agent may run one command with the same outcome before its
# phase fails as looping (0: no limit).
# max_repeats = 30

# What makes a fresh issue worktree ready to work in.
# [worktree]
# Commands run in each new worktree before its first phase (outside the sandbox, with the
# network), such as "pnpm install --frozen-lockfile"; output in <issue>/setup.log.
# setup = []
# Untracked files of the main checkout copied into each new worktree, excluded from git.
# copy = []
# Commands run in a worktree before orch removes it.
# teardown = []
# How long the setup may take in all.
# setup_timeout = "10m"

# The clean-room verification of a converged issue's final head.
# [verify]
# Commands it must pass in a clean checkout (no untracked file of the agent's worktree),
# after the worktree set-up. Default: the issue's command checks.
# commands = ["cargo test"]

# Adjustments to the guard's policy for the agent's gt and git commands.
# [guard]
# gt commands to allow whatever the policy says (`sync`, `restack`, ...).
# allow_gt = []
# gt commands to deny.
# deny_gt = []
# git subcommands to deny; an entry of several words matches the subcommand and its arguments.
# deny_git = []
# Whether `gt submit` must carry --draft (`--update-only` needs none).
# enforce_draft = true
# Whether the agent may publish PRs (`gt submit --publish`, ready for review).
# allow_publish = false
# Whether the post-phase audit puts back refs changed outside the issue's stack.
# audit_restore = true
# Whether an audit violation fails the phase (a secret in the added lines always does).
# audit_fails_phase = true
# Paths (globs) whose added lines are not scanned for secrets, such as test fixtures.
# secret_allow = []

# How the agent uses Graphite beyond committing.
# [graphite]
# "draft": dev and fix phases submit their stack as draft PRs (gt ss --draft); "never": no PRs.
# submit = "never"

# The GitHub (or GitHub Enterprise) orch opens draft PRs on. The token comes from
# GITHUB_TOKEN or GH_TOKEN, else `gh auth token`; no agent ever sees it.
# [forge]
# The REST API root (GitHub Enterprise: https://HOST/api/v3).
# api_url = "https://api.github.com"
# The GraphQL endpoint (default: beside api_url).
# graphql_url = "https://api.github.com/graphql"
# owner/name on the forge (default: read from the remote's URL).
# repo = "acme/shop"
# The remote issue branches are pushed to.
# remote = "origin"
# Whether orch resolves a review thread its fix addressed (default: people resolve their own).
# resolve = false
# How often `orch watch` asks the forge again.
# poll_interval = "60s"
# The longest wait for a rate limit to reset before orch gives up.
# max_rate_wait = "15m"
# Checks that must pass for an issue to be green (default: every check on its head).
# required_checks = []

# How a converged issue becomes a draft PR (default: "github" when [forge] is set, "graphite"
# when [graphite] submit = "draft", else "never").
# [submit]
# "github": orch pushes the issue's branch and opens its draft; "graphite": gt submit; "never".
# via = "github"

# Where each issue's loop runs.
# [executor]
# "local", or "github": a GitHub Actions runner per issue, through the workflow
# `orch init --ci github` writes (as `orch run --on github`).
# on = "local"

# What the review phase writes.
# [review]
# Whether each review appends an entry to docs/projects/<project>/reviews/REVIEW-<milestone>.md.
# doc = false

# A model's price, for dollar budgets: dollars per million input, cached input and output
# tokens (the model is the one `[codex] args` names with -m).
# [pricing."gpt-5-codex"]
# Dollars per million input tokens.
# input = 1.25
# Dollars per million cached input tokens (default: the input price).
# cached_input = 0.125
# Dollars per million output tokens.
# output = 10.0
"#
    )
}

/// The build commands and a first test file for a kind of project.
struct Toolchain {
    language: &'static str,
    lint: &'static str,
    test: &'static str,
    release: &'static str,
    smoke_test: &'static str,
}

/// The toolchain the repository looks like it uses, from the files at its root.
fn toolchain(repo_root: &Path) -> Toolchain {
    let has = |name: &str| repo_root.join(name).exists();
    if has("Cargo.toml") {
        Toolchain {
            language: "rust",
            lint: "cargo clippy --all-targets -- -D warnings",
            test: "cargo test",
            release: "cargo build --release",
            smoke_test: "tests/smoke.rs",
        }
    } else if has("package.json") {
        Toolchain {
            language: "javascript",
            lint: "npm run lint",
            test: "npm test",
            release: "npm run build",
            smoke_test: "test/smoke.test.js",
        }
    } else if has("pyproject.toml") || has("setup.py") {
        Toolchain {
            language: "python",
            lint: "python -m ruff check .",
            test: "python -m pytest",
            release: "python -m build",
            smoke_test: "tests/test_smoke.py",
        }
    } else if has("go.mod") {
        Toolchain {
            language: "go",
            lint: "go vet ./...",
            test: "go test ./...",
            release: "go build ./...",
            smoke_test: "smoke_test.go",
        }
    } else {
        Toolchain {
            language: "shell",
            lint: "true",
            test: "sh tests/smoke.sh",
            release: "true",
            smoke_test: "tests/smoke.sh",
        }
    }
}

/// An example plan: two tasks, the second depending on the first, with the acceptance
/// forms orch checks. Commands follow the toolchain the repository appears to use.
pub fn example_plan(repo_root: &Path, repo_name: &str) -> String {
    let t = toolchain(repo_root);
    let name = yaml_scalar(repo_name);
    format!(
        r#"# orchestrator.yml: an example plan. Run it with `orch run --file orchestrator.yml`.
# Each task gets its own worktree and branch and goes through dev -> review <-> fix; it is done
# when its review passes and every acceptance check does. Acceptance forms:
#   "Tests pass: <command>", "Command: <command>", "File exists: <path>",
#   "Contains: [<path>:] <text>", "Not contains: [<path>:] <text>".
version: 1
project:
  name: {name}
  root: .
  language: {language}
  build:
    lint: "{lint}"
    test: "{test}"
    release: "{release}"
orchestrator:
  approvals:
    required: []

tasks:
  - id: DOC-001
    title: Describe the repository layout
    type: docs
    description: >-
      Write docs/ARCHITECTURE.md: what each top-level directory holds and how the parts
      fit together, in a few short paragraphs.
    paths:
      preferred:
        - docs/
    commands: {{}}
    acceptance:
      - "File exists: docs/ARCHITECTURE.md"
      - "Contains: docs/ARCHITECTURE.md: # Architecture"
    dependencies: []

  - id: TEST-001
    title: Add a smoke test
    type: test
    description: >-
      Add {smoke} with one test that exercises the main entry point, as described in
      docs/ARCHITECTURE.md.
    paths:
      preferred:
        - {smoke}
    commands:
      test: "{test}"
    acceptance:
      - "File exists: {smoke}"
      - "Tests pass: {test}"
    dependencies: [DOC-001]
"#,
        language = t.language,
        lint = t.lint,
        test = t.test,
        release = t.release,
        smoke = t.smoke_test,
    )
}

/// `s` as a YAML scalar: plain when that is safe, else double-quoted.
fn yaml_scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !s.starts_with(['-', '.']);
    if plain {
        s.to_owned()
    } else {
        serde_json::to_string(s).expect("a string serialises")
    }
}

/// The `.gitignore` entry for orch's logs (`/logs/orch/`), or `None` when `logs_dir` lies
/// outside the repository.
pub fn logs_ignore_entry(config: &Config, repo_root: &Path) -> Option<String> {
    let logs = config.orch_logs(repo_root);
    let rel = logs.strip_prefix(repo_root).ok()?;
    let mut parts = Vec::new();
    for c in rel.components() {
        match c {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!parts.is_empty()).then(|| format!("/{}/", parts.join("/")))
}

/// Creates `rel` under `root` with `text` unless it exists.
pub fn create(root: &Path, rel: &Path, text: &str) -> Result<Step, ScaffoldError> {
    use std::io::Write;
    let path = root.join(rel);
    let io = |action, path: &Path| {
        let path = path.to_owned();
        move |source| {
            ScaffoldError::Io(crate::util::fsutil::IoError {
                action,
                path,
                source,
            })
        }
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io("create the directory", dir))?;
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
    {
        Ok(mut f) => {
            f.write_all(text.as_bytes()).map_err(io("write", &path))?;
            Ok(Step::Created(rel.to_owned()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(Step::Kept(rel.to_owned())),
        Err(source) => Err(ScaffoldError::Io(crate::util::fsutil::IoError {
            action: "create",
            path,
            source,
        })),
    }
}

/// Appends `entry` to the repository's `.gitignore` unless git ignores the logs already.
/// The last step: ignore orch's logs in `.gitignore` unless git ignores them already.
pub fn ignore_logs(repo: &Repo, root: &Path, config: &Config) -> Result<Step, ScaffoldError> {
    let Some(entry) = logs_ignore_entry(config, root) else {
        return Ok(Step::IgnoreNotNeeded {
            logs: config.orch_logs(root),
        });
    };
    if repo.ignores_entry(&entry)? {
        return Ok(Step::IgnoreKept { entry });
    }
    let path = root.join(".gitignore");
    let existing = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(source) => {
            return Err(ScaffoldError::Io(crate::util::fsutil::IoError {
                action: "read",
                path,
                source,
            }))
        }
    };
    let mut add = String::new();
    if !existing.is_empty() && !existing.ends_with(b"\n") {
        add.push('\n');
    }
    add.push_str("# orch's logs\n");
    add.push_str(&entry);
    add.push('\n');
    use std::io::Write;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(add.as_bytes()))
        .map_err(|source| {
            ScaffoldError::Io(crate::util::fsutil::IoError {
                action: "append to",
                path,
                source,
            })
        })?;
    Ok(Step::IgnoreAdded { entry })
}

/// The first steps of `orch init` in the working tree `root`: `orch.toml`, then the example
/// `orchestrator.yml` (each created, or kept when it exists).
pub fn config_and_plan(root: &Path) -> Result<Vec<Step>, ScaffoldError> {
    let name = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "project".to_owned());
    Ok(vec![
        create(root, Path::new(CONFIG_FILE), &orch_toml(&name))?,
        create(root, Path::new(PLAN_FILE), &example_plan(root, &name))?,
    ])
}

/// The step of a file written elsewhere (the exported prompts), relative to `root`.
pub fn file_step(root: &Path, path: &Path, written: bool) -> Step {
    let rel = path.strip_prefix(root).unwrap_or(path).to_owned();
    if written {
        Step::Created(rel)
    } else {
        Step::Kept(rel)
    }
}

#[cfg(test)]
mod tests;
