//! The guard's enforcement point: orch itself acts as `gt` and `git` inside an agent phase.
//!
//! Each phase gets a bin directory whose `gt` and `git` are links to the orch binary, put
//! first on the agent's PATH (and re-put there by a `BASH_ENV` prelude, because a login shell
//! resets PATH from /etc/profile). Invoked under one of those names, orch reads the phase's
//! guard context, decides with the pure policy in [`crate::guard`], appends the attempt to the
//! phase's `guard.jsonl`, and either runs the real binary (found when the phase started) with
//! the same arguments, stdio and exit code, or refuses without running anything.

use crate::git::Repo;
use crate::guard::{self, log, Decision, GtAliases, StackContext};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Environment variable naming the phase's guard context file.
pub const CONTEXT_ENV: &str = "ORCH_GUARD_CONTEXT";
/// Exit code of a refused command.
pub const DENIED_EXIT: i32 = 126;

/// What the shim needs to know about the phase it runs in (written by the engine).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShimContext {
    pub real_git: Option<PathBuf>,
    pub real_gt: Option<PathBuf>,
    /// The phase's `guard.jsonl`.
    pub guard_log: PathBuf,
    /// The main repository root (for orch.toml).
    pub repo_root: PathBuf,
    pub worktree: PathBuf,
    pub issue_branch: String,
    /// Branches this issue's earlier phases created on top of the issue branch.
    pub stack: Vec<String>,
    /// Every local branch that existed when the phase started: a branch stacked on the issue
    /// branch counts as the issue's only if this phase created it (it is not in here).
    #[serde(default)]
    pub preexisting: Vec<String>,
    /// The branches of the run's other issues: never this issue's, wherever they start.
    #[serde(default)]
    pub foreign: Vec<String>,
    /// The bin directory holding the shims (removed from PATH for the real binary).
    pub bin_dir: PathBuf,
    /// The repository's common git dir: the real git and gt run in the worktree with
    /// `GIT_COMMON_DIR` set to it, so a rewritten `commondir` file cannot redirect them.
    #[serde(default)]
    pub common_dir: Option<PathBuf>,
    /// While set, `gt submit` is refused when a commit of the issue holds a possible secret
    /// (none when a human approved the issue's: `orch approve secrets`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_hold: Option<SecretHold>,
}

/// What the shim needs to look for secrets before a submit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecretHold {
    /// The issue's base: its commits are those after it.
    pub base: String,
    pub issue: String,
    /// `[guard] secret_allow`.
    pub allow: Vec<String>,
}

/// The tool orch was invoked as, if it was invoked as a shim.
pub fn invoked_as(argv0: &str) -> Option<&'static str> {
    match Path::new(argv0).file_name()?.to_str()? {
        "gt" => Some("gt"),
        "git" => Some("git"),
        _ => None,
    }
}

/// Writes the per-phase bin directory (links to this binary), the BASH_ENV prelude and the
/// context file; returns the environment the agent must get.
pub fn prepare(
    phase_dir: &Path,
    ctx_without_paths: ShimContext,
) -> std::io::Result<Vec<(String, String)>> {
    let bin_dir = phase_dir.join(crate::model::layout::SHIM_BIN);
    std::fs::create_dir_all(&bin_dir)?;
    let exe = std::env::current_exe()?;
    for tool in ["gt", "git"] {
        let link = bin_dir.join(tool);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&exe, &link)?;
    }
    let ctx = ShimContext {
        bin_dir: bin_dir.clone(),
        ..ctx_without_paths
    };
    let ctx_path = phase_dir.join(crate::model::layout::SHIM_CONTEXT);
    std::fs::write(
        &ctx_path,
        serde_json::to_vec_pretty(&ctx).expect("context serialises"),
    )?;
    let prelude = phase_dir.join(crate::model::layout::BASH_ENV);
    let bin = bin_dir.display().to_string().replace('\'', "'\\''");
    std::fs::write(
        &prelude,
        format!("# orch: keep the gt/git guard first on PATH, also after /etc/profile.\ncase \":$PATH:\" in *':{bin}:'*) ;; *) PATH='{bin}':\"$PATH\"; export PATH ;; esac\n"),
    )?;
    let path = std::env::var("PATH").unwrap_or_default();
    Ok(vec![
        ("PATH".into(), format!("{}:{path}", bin_dir.display())),
        ("BASH_ENV".into(), prelude.display().to_string()),
        (CONTEXT_ENV.into(), ctx_path.display().to_string()),
    ])
}

/// Runs as the `tool` shim with `args`; returns the exit code.
pub fn run(tool: &str, args: &[String]) -> i32 {
    let Some(ctx_path) = std::env::var_os(CONTEXT_ENV) else {
        let _ = write_stderr(&format!("orch: `{tool}` is orch's guard and only runs inside an orch phase ({CONTEXT_ENV} is not set)"));
        return 2;
    };
    let ctx: ShimContext = match std::fs::read(&ctx_path)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
    {
        Ok(ctx) => ctx,
        Err(e) => {
            let _ = write_stderr(&format!(
                "orch: cannot read the guard context {}: {e}",
                Path::new(&ctx_path).display()
            ));
            return 2;
        }
    };
    let cwd = std::env::current_dir().unwrap_or_else(|_| ctx.worktree.clone());
    let config = crate::input::config::Config::load(&ctx.repo_root)
        .ok()
        .and_then(|c| c.guard)
        .unwrap_or_default();
    let stack = live_stack(&ctx, &cwd);
    tracing::debug!(?stack, "guard context");
    let decision = match tool {
        "gt" => match user_aliases() {
            Ok(aliases) => match guard::decide_gt(args, &stack, &aliases, &config) {
                allowed @ Decision::Allow { .. } if guard::gt::is_submit(args, &aliases) => {
                    held_for_secrets(&ctx, &cwd).unwrap_or(allowed)
                }
                decision => decision,
            },
            // gt would read this file its own way: with a line orch cannot read the same way,
            // no gt command can be judged safely.
            Err(e) => Decision::Deny {
                rule: guard::Rule::Configured,
                reason: format!("~/.config/graphite/aliases cannot be read unambiguously ({e}); fix it to use gt here"),
            },
        },
        _ => guard::decide_git(args, &stack, &config),
    };
    let (code, decided) = match &decision {
        Decision::Allow { forwarded_argv } => {
            let real = if tool == "gt" {
                &ctx.real_gt
            } else {
                &ctx.real_git
            };
            let code = match real {
                Some(bin) => forward(bin, forwarded_argv, &ctx),
                None => {
                    let _ = write_stderr(&format!(
                        "orch: `{tool}` is allowed here but is not installed"
                    ));
                    127
                }
            };
            (
                code,
                log::Decided::Allow {
                    forwarded: forwarded_argv.clone(),
                },
            )
        }
        Decision::Deny { rule, reason } => {
            let _ = write_stderr(&format!(
                "orch guard: refused `{tool} {}`: {reason} (rule: {rule}). Nothing was run. This is recorded; see the phase's guard.jsonl.",
                args.join(" ")
            ));
            (
                DENIED_EXIT,
                log::Decided::Deny {
                    rule: rule.name().to_owned(),
                    reason: reason.clone(),
                },
            )
        }
    };
    let attempt = log::GuardLine::Attempt(log::Attempt {
        ts: crate::util::timeutil::now_rfc3339(),
        cwd,
        argv: std::iter::once(tool.to_owned())
            .chain(args.iter().cloned())
            .collect(),
        exit_code: code,
        decision: decided,
    });
    // Shims run concurrently: one write per line keeps each whole.
    let _ = log::append(&ctx.guard_log, &[attempt]);
    code
}

/// A refusal when a commit of the issue (after its base, up to HEAD) holds a possible secret
/// and no human approved; `None` to go on.
fn held_for_secrets(ctx: &ShimContext, cwd: &Path) -> Option<Decision> {
    let hold = ctx.secret_hold.as_ref()?;
    // Checked when orch.toml was read; were one not to compile, nothing would be exempt.
    let allow = crate::util::secret_shapes::allow_globs(&hold.allow)
        .unwrap_or_else(|_| globset::GlobSet::empty());
    let repo = crate::input::config::find_repo_root(cwd).and_then(|r| Repo::open(&r).ok())?;
    let head = repo.head().ok()?.oid?;
    let mut found = Vec::new();
    for commit in repo.commits_between(&hold.base, &head).ok()? {
        if let Ok(patch) = repo.commit_patch(&commit.oid) {
            found.extend(crate::guard::secrets::scan_patch(&patch, |p| {
                allow.is_match(p)
            }));
        }
    }
    let first = found.first()?;
    Some(Decision::Deny {
        rule: guard::Rule::Secret,
        reason: format!(
            "the issue's commits hold {} possible secret(s) (first: a {} at {}:{}); nothing is submitted until a human looked: `orch approve secrets --task {}`",
            found.len(),
            first.kind.name(),
            first.path,
            first.line,
            hold.issue
        ),
    })
}

/// The issue's stack as it is now: the recorded stack plus every local branch stacked on the
/// issue branch, with children by ancestry (for `gt modify`'s descendants rule).
fn live_stack(ctx: &ShimContext, cwd: &Path) -> StackContext {
    let mut stack = StackContext {
        issue_branch: ctx.issue_branch.clone(),
        stack: ctx.stack.clone(),
        current_branch: None,
        children: BTreeMap::new(),
        worktree: Some(ctx.worktree.clone()),
    };
    // Opened at the nearest `.git` rather than discovered: inside codex's sandbox, libgit2's
    // discovery rejects a linked worktree's git dir (measured with codex 0.169.0), while
    // opening the worktree's root works.
    let Some(Ok(repo)) = crate::input::config::find_repo_root(cwd).map(|root| Repo::open(&root))
    else {
        return stack;
    };
    stack.current_branch = repo.head().ok().and_then(|h| h.branch);
    let Ok(refs) = repo.ref_snapshot() else {
        return stack;
    };
    let branches: Vec<(String, String)> = refs
        .iter()
        .filter_map(|(n, v)| Some((n.strip_prefix("refs/heads/")?.to_owned(), v.clone())))
        .filter(|(_, v)| !v.starts_with("ref: "))
        .collect();
    let issue_tip = branches
        .iter()
        .find(|(b, _)| *b == ctx.issue_branch)
        .map(|(_, t)| t.clone());
    if let Some(base) = &issue_tip {
        for (b, tip) in &branches {
            if b != &ctx.issue_branch
                && !ctx.preexisting.contains(b)
                && !ctx.foreign.contains(b)
                && tip != base
                && repo.descends_from(tip, base).unwrap_or(false)
                && !stack.stack.contains(b)
            {
                stack.stack.push(b.clone());
            }
        }
    }
    // Descendants matter only for branches the policy may let the agent change (the issue's
    // stack and the checked-out branch): ancestry makes every descendant a direct child, so
    // one level is enough, and every git call through the shim stays O(stack × branches).
    let mut targets: Vec<String> = std::iter::once(ctx.issue_branch.clone())
        .chain(stack.stack.iter().cloned())
        .chain(stack.current_branch.clone())
        .collect();
    targets.sort();
    targets.dedup();
    for b in &targets {
        let Some((_, tip)) = branches.iter().find(|(name, _)| name == b) else {
            continue;
        };
        let children: Vec<String> = branches
            .iter()
            .filter(|(c, ct)| c != b && ct != tip && repo.descends_from(ct, tip).unwrap_or(false))
            .map(|(c, _)| c.clone())
            .collect();
        if !children.is_empty() {
            stack.children.insert(b.clone(), children);
        }
    }
    stack
}

/// The user's gt aliases (gt's defaults when the file does not exist).
fn user_aliases() -> Result<GtAliases, guard::AliasError> {
    let Some(home) = std::env::var_os("HOME") else {
        return Ok(GtAliases::default());
    };
    match std::fs::read_to_string(Path::new(&home).join(".config/graphite/aliases")) {
        Ok(text) => GtAliases::parse(&text),
        Err(_) => Ok(GtAliases::default()),
    }
}

/// Runs the real binary with the shim dir taken off PATH (so its own git calls are not
/// re-guarded) and returns its exit code.
fn forward(bin: &Path, args: &[String], ctx: &ShimContext) -> i32 {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let clean: Vec<PathBuf> = std::env::split_paths(&path)
        .filter(|d| d != &ctx.bin_dir)
        .collect();
    let mut cmd = std::process::Command::new(bin);
    cmd.args(args)
        .env_remove("BASH_ENV")
        .env_remove(CONTEXT_ENV);
    let in_worktree = std::env::current_dir().is_ok_and(|cwd| {
        let cwd = cwd.canonicalize().unwrap_or(cwd);
        let wt = ctx.worktree.canonicalize().unwrap_or(ctx.worktree.clone());
        cwd.starts_with(wt)
    });
    if let Some(common) = ctx.common_dir.as_ref().filter(|_| in_worktree) {
        cmd.env("GIT_COMMON_DIR", common);
    }
    if let Ok(joined) = std::env::join_paths(clean) {
        cmd.env("PATH", joined);
    }
    match cmd.status() {
        Ok(status) => status.code().unwrap_or(128),
        Err(e) => {
            let _ = write_stderr(&format!("orch: cannot run {}: {e}", bin.display()));
            127
        }
    }
}

fn write_stderr(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    writeln!(std::io::stderr(), "{text}")
}
