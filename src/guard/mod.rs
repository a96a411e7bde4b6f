//! The guard's verdict on one `gt` or `git` command an agent tries to run inside an issue's
//! worktree: a pure function from argv (plus what orch knows about the issue's stack) to
//! [`Decision::Allow`] or [`Decision::Deny`].
//!
//! Why it exists: orch hands each issue a worktree whose branch sits in a Graphite stack shared
//! with other issues. An agent that restacks, force-pushes, publishes PRs, deletes or renames
//! branches it does not own, or adds worktrees, damages work orch is not running right now.
//! The guard lets through what only touches the issue's own branches (its stack) and refuses
//! the rest with a rule name and a reason the agent can act on.
//!
//! This module owns:
//! - [`aliases`]: the `~/.config/graphite/aliases` format, as gt 1.8.6 reads it;
//! - [`gt`]: how gt resolves a command word (user aliases, built-in short forms, the hidden
//!   legacy groups and shortcuts, and its git passthrough) and the policy per command;
//! - [`git`]: the policy for raw git commands (also used for gt's passthrough);
//! - `GuardConfig` (in `input::config`): the `[guard]` table of `orch.toml`.
//!
//! It runs nothing and reads nothing: callers supply the alias file's text, the current branch
//! and the stack. Every argv here is the arguments *after* the program name.

pub mod aliases;
mod argv;
pub mod git;
pub mod gt;
pub mod log;
pub mod probe;
pub mod secrets;
pub mod shim;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

pub use aliases::{AliasError, GtAliases};
pub use git::decide_git;
pub use gt::decide_gt;

/// The guard's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Run the command with these arguments (after the program name). Usually the argv as
    /// given; `gt submit` gains `--no-interactive`.
    Allow { forwarded_argv: Vec<String> },
    /// Refuse; `reason` is written for the agent and says what to do instead where there is
    /// an alternative.
    Deny { rule: Rule, reason: String },
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow { .. })
    }

    /// The rule that denied, if any.
    pub fn rule(&self) -> Option<Rule> {
        match self {
            Decision::Allow { .. } => None,
            Decision::Deny { rule, .. } => Some(*rule),
        }
    }

    pub(crate) fn allow(argv: &[String]) -> Decision {
        Decision::Allow {
            forwarded_argv: argv.to_vec(),
        }
    }

    pub(crate) fn deny(rule: Rule, reason: impl Into<String>) -> Decision {
        Decision::Deny {
            rule,
            reason: reason.into(),
        }
    }
}

/// Why a command was denied; [`Rule::name`] is stable and goes into logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// A gt word the policy does not know (and `allow_gt` does not list).
    UnknownCommand,
    /// Rebases branches other than the one being edited, or may.
    Restack,
    /// `-f`/`--force` on a gt command.
    Force,
    /// `gt submit` without `--draft`.
    DraftRequired,
    /// Changes PR state on GitHub: publishing, merging, auto-merge, closing.
    Remote,
    /// Acts on a branch (or ref) that is not part of the issue's stack.
    OutsideStack,
    /// Deletes or renames the issue's own branch, which orch owns.
    IssueBranch,
    /// Throws away state without a way back (`gt undo`, `init --reset`, `--delete-all`).
    Destructive,
    /// Changes Graphite's configuration, which every worktree of the repository shares.
    GraphiteConfig,
    /// A gt command orch does not let agents use (browser, telemetry, branch metadata).
    Unsupported,
    /// `--cwd`, `-C`, `--git-dir` or `--work-tree` pointing outside the worktree.
    OutsideWorktree,
    /// `git worktree add|remove|move|prune`: orch owns the worktrees.
    Worktree,
    /// A push that overwrites or deletes remote branches.
    PushRewrite,
    /// Defines a git alias, which would hide the real command from the guard.
    GitAlias,
    /// Listed in `deny_gt` / `deny_git`.
    Configured,
    /// `gt submit` while a commit of the issue holds a possible secret no human approved.
    Secret,
}

impl Rule {
    pub fn name(self) -> &'static str {
        match self {
            Rule::UnknownCommand => "unknown-command",
            Rule::Secret => "secret",
            Rule::Restack => "restack",
            Rule::Force => "force",
            Rule::DraftRequired => "draft-required",
            Rule::Remote => "remote",
            Rule::OutsideStack => "outside-stack",
            Rule::IssueBranch => "issue-branch",
            Rule::Destructive => "destructive",
            Rule::GraphiteConfig => "graphite-config",
            Rule::Unsupported => "unsupported",
            Rule::OutsideWorktree => "outside-worktree",
            Rule::Worktree => "worktree",
            Rule::PushRewrite => "push-rewrite",
            Rule::GitAlias => "git-alias",
            Rule::Configured => "configured",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What orch knows about the issue's branches when the agent runs a command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StackContext {
    /// The issue's own branch (always counts as part of the stack).
    pub issue_branch: String,
    /// The issue branch and every branch this issue's phases created on top of it.
    pub stack: Vec<String>,
    /// The branch HEAD points at in the worktree; `None` when HEAD is detached.
    pub current_branch: Option<String>,
    /// Known children per branch (as `gt` tracks them). Used where a command restacks or
    /// deletes descendants: every descendant must be in the stack. Branches missing from the
    /// map are taken to have no children.
    pub children: BTreeMap<String, Vec<String>>,
    /// The worktree's root. Absolute `--cwd`/`-C`/`--git-dir`/`--work-tree` paths must lie
    /// under it; with `None` only relative paths that do not climb out (`..`) pass.
    pub worktree: Option<PathBuf>,
}

impl StackContext {
    /// Whether `branch` is the issue branch or one of the stack's branches.
    pub fn contains(&self, branch: &str) -> bool {
        branch == self.issue_branch || self.stack.iter().any(|b| b == branch)
    }

    /// Every known descendant of `branch` (children, their children, …), without repeats.
    pub fn descendants(&self, branch: &str) -> Vec<String> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        let mut todo = vec![branch.to_owned()];
        while let Some(b) = todo.pop() {
            for child in self.children.get(&b).into_iter().flatten() {
                if child != branch && seen.insert(child.clone()) {
                    out.push(child.clone());
                    todo.push(child.clone());
                }
            }
        }
        out
    }

    /// Known descendants of `branch` that are not in the stack.
    pub(crate) fn foreign_descendants(&self, branch: &str) -> Vec<String> {
        self.descendants(branch)
            .into_iter()
            .filter(|d| !self.contains(d))
            .collect()
    }

    /// Whether `path` (a `--cwd`/`-C` value) stays inside the worktree; see [`Self::worktree`].
    pub(crate) fn path_inside(&self, path: &str) -> bool {
        let p = Path::new(path);
        if p.is_absolute() {
            match (&self.worktree, crate::util::fsutil::lexical(p)) {
                (Some(root), Some(p)) => {
                    crate::util::fsutil::lexical(root).is_some_and(|root| p.starts_with(root))
                }
                _ => false,
            }
        } else {
            crate::util::fsutil::lexical(p).is_some()
        }
    }
}
