//! The rule per gt command: what stays inside the issue's stack, what needs the run's
//! consent (`[guard]` settings), and why anything else is refused.

use super::{GtCommand, SubmitScope};
use crate::guard::argv::GtArgs;
use crate::guard::{Decision, Rule, StackContext};
use crate::input::config::GuardConfig;

/// One resolved command, for the rules.
pub(super) struct Cmd<'a> {
    pub typed: &'a str,
    pub via: &'a str,
    pub p: &'a GtArgs,
    pub ctx: &'a StackContext,
}

impl Cmd<'_> {
    fn deny(&self, rule: Rule, what: impl std::fmt::Display) -> Option<Decision> {
        Some(Decision::deny(
            rule,
            format!("`gt {}`{} {what}", self.typed, self.via),
        ))
    }

    /// The branch a command acts on: its first argument, else the current branch.
    fn target(&self) -> Result<String, Decision> {
        match (self.p.positionals.first(), &self.ctx.current_branch) {
            (Some(b), _) | (None, Some(b)) => Ok(b.clone()),
            (None, None) => Err(self.detached()),
        }
    }

    fn detached(&self) -> Decision {
        Decision::deny(
            Rule::OutsideStack,
            format!(
                "`gt {}`{} acts on the current branch, but HEAD is detached; check out one of \
                 this issue's branches first",
                self.typed, self.via
            ),
        )
    }

    fn outside(&self, branch: &str) -> Option<Decision> {
        (!self.ctx.contains(branch)).then(|| {
            Decision::deny(
                Rule::OutsideStack,
                format!(
                    "`gt {}`{} would change `{branch}`, which is not one of this issue's \
                     branches ({})",
                    self.typed,
                    self.via,
                    stack_list(self.ctx)
                ),
            )
        })
    }

    fn foreign_descendants(&self, branch: &str, rule: Rule, effect: &str) -> Option<Decision> {
        let foreign = self.ctx.foreign_descendants(branch);
        (!foreign.is_empty()).then(|| {
            Decision::deny(
                rule,
                format!(
                    "`gt {}`{} {effect} the descendants of `{branch}`, and {} not this \
                     issue's",
                    self.typed,
                    self.via,
                    quoted_list(&foreign, "is", "are")
                ),
            )
        })
    }

    /// delete, pop, untrack: the branch must be the stack's, not the issue branch, and take
    /// no foreign children along.
    fn removal(&self, branch: &str) -> Option<Decision> {
        if branch == self.ctx.issue_branch {
            return self.deny(
                Rule::IssueBranch,
                format!("would remove `{branch}`, the issue's own branch, which orch owns"),
            );
        }
        self.outside(branch).or_else(|| {
            self.foreign_descendants(branch, Rule::OutsideStack, "would restack or remove")
        })
    }
}

fn stack_list(ctx: &StackContext) -> String {
    let mut all: Vec<&str> = vec![ctx.issue_branch.as_str()];
    all.extend(
        ctx.stack
            .iter()
            .map(String::as_str)
            .filter(|b| *b != ctx.issue_branch),
    );
    all.iter()
        .map(|b| format!("`{b}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn quoted_list(items: &[String], one: &str, many: &str) -> String {
    let verb = if items.len() == 1 { one } else { many };
    let list = items
        .iter()
        .map(|b| format!("`{b}`"))
        .collect::<Vec<_>>()
        .join(", ");
    format!("{list} {verb}")
}

/// The rule for one command; `None` allows.
pub(super) fn policy(command: GtCommand, c: &Cmd<'_>, config: &GuardConfig) -> Option<Decision> {
    use GtCommand::*;
    let p = c.p;
    match command {
        Log | Info | Children | Parent | State | Changelog | Docs | Guide | Completion | Fish
        | Help | GroupHelp | Checkout | Up | Down | Top | Bottom => None,
        Trunk if p.present("add") => c.deny(
            Rule::GraphiteConfig,
            "adds a trunk to the repository's Graphite configuration, which every worktree \
             shares",
        ),
        Trunk => None,
        Create if p.on("insert") => c.deny(
            Rule::Restack,
            "with `-i/--insert` moves the current branch's child onto the new branch (a \
             restack); create the branch without it",
        ),
        Create => None,
        Modify | CommitCreate | CommitAmend => {
            let target = if p.present("into") {
                match p.values("into").last() {
                    Some(b) => (*b).to_owned(),
                    None => {
                        return c.deny(Rule::OutsideStack, "`--into` needs a branch name");
                    }
                }
            } else {
                match &c.ctx.current_branch {
                    Some(b) => b.clone(),
                    None => return Some(c.detached()),
                }
            };
            c.outside(&target)
                .or_else(|| c.foreign_descendants(&target, Rule::Restack, "would restack"))
        }
        Track => match c.target() {
            Ok(b) => c.outside(&b),
            Err(d) => Some(d),
        },
        DownstackTrack => c.deny(
            Rule::OutsideStack,
            "tracks untracked ancestors of the current branch, which may belong to other work; \
             use `gt track <branch>` for this issue's branches",
        ),
        Untrack => match c.target() {
            Ok(b) => c.removal(&b),
            Err(d) => Some(d),
        },
        Delete => {
            if p.on("close") {
                return c.deny(
                    Rule::Remote,
                    "with `-c/--close` closes pull requests on GitHub",
                );
            }
            if p.on("downstack") {
                return c.deny(
                    Rule::OutsideStack,
                    "with `--downstack` also deletes the branch's ancestors, which include \
                     branches this issue does not own",
                );
            }
            let targets = if p.positionals.is_empty() {
                match &c.ctx.current_branch {
                    Some(b) => vec![b.clone()],
                    None => return Some(c.detached()),
                }
            } else {
                p.positionals.clone()
            };
            targets.iter().find_map(|b| c.removal(b))
        }
        Pop => match &c.ctx.current_branch {
            Some(b) => c.removal(b),
            None => Some(c.detached()),
        },
        Rename => c.deny(
            Rule::Unsupported,
            "renames a branch and drops its PR link; orch tracks the stack by branch name",
        ),
        Freeze | Unfreeze | Unlink => c.deny(
            Rule::Unsupported,
            "changes Graphite branch metadata orch relies on",
        ),
        Revert => c.deny(
            Rule::Unsupported,
            "creates a branch off trunk outside this issue's stack",
        ),
        Dash | Pr | Feedback | Demo => c.deny(
            Rule::Unsupported,
            "opens a browser, sends data to Graphite or creates demo branches; agents do not \
             need it",
        ),
        Init if p.on("reset") => c.deny(
            Rule::Destructive,
            "with `--reset` untracks every branch in the repository",
        ),
        Init | Auth | Config | Aliases | RepoSetting | UserSetting => c.deny(
            Rule::GraphiteConfig,
            "changes Graphite configuration, which every worktree of the repository shares",
        ),
        Restack | UpstackRestack => restack(command == UpstackRestack, c),
        Move | Fold | Squash | Split | Reorder | BranchEdit => c.deny(
            Rule::Restack,
            "rebases branches other than the one being edited; orch restacks between issues \
             itself",
        ),
        Continue | Abort => c.deny(
            Rule::Restack,
            "resumes or abandons a halted gt restack; orch handles restack conflicts",
        ),
        Absorb if p.on("dry-run") => None,
        Absorb => c.deny(
            Rule::Restack,
            "amends commits further down the stack and restacks above them; use `gt modify` \
             on the branch (or `--dry-run` to look)",
        ),
        Sync | Get => {
            if p.on("delete-all") {
                return c.deny(
                    Rule::Destructive,
                    "with `--delete-all` deletes merged or closed branches without asking",
                );
            }
            if !p.surely_off("restack") {
                return c.deny(
                    Rule::Restack,
                    format!(
                        "restacks branches by default; run `gt {} --no-restack`",
                        c.typed
                    ),
                );
            }
            None
        }
        Submit(scope) => submit(scope, c, config),
        Merge if p.on("dry-run") => None,
        Merge => c.deny(
            Rule::Remote,
            "merges pull requests on GitHub; merging is not the agent's call",
        ),
        Undo => c.deny(
            Rule::Destructive,
            "reverts the most recent Graphite mutations, which may not be this agent's",
        ),
    }
}

/// `gt restack --upstack` (or `gt upstack restack`) moves the branch and its descendants onto
/// their parents: allowed when every one of them is this issue's. Any other restack (the
/// whole stack, downstack, `--only`) is not.
fn restack(upstack_form: bool, c: &Cmd<'_>) -> Option<Decision> {
    let p = c.p;
    let upstack = upstack_form || p.on("upstack");
    if !upstack || p.on("downstack") || p.on("only") {
        return c.deny(
            Rule::Restack,
            "rebases branches other than the one being edited; of the restacks only \
             `gt restack --upstack` of this issue's branches is allowed",
        );
    }
    let target = match p.values("branch").last() {
        Some(b) => (*b).to_owned(),
        None => match &c.ctx.current_branch {
            Some(b) => b.clone(),
            None => return Some(c.detached()),
        },
    };
    c.outside(&target)
        .or_else(|| c.foreign_descendants(&target, Rule::Restack, "would restack"))
}

fn submit(scope: SubmitScope, c: &Cmd<'_>, config: &GuardConfig) -> Option<Decision> {
    let p = c.p;
    if p.on("dry-run") {
        return None;
    }
    if p.on("publish") && !config.allow_publish {
        return c.deny(
            Rule::Remote,
            "with `-p/--publish` marks PRs ready for review; submit drafts with `--draft` \
             (publishing needs `allow_publish = true` under [guard] in orch.toml)",
        );
    }
    if p.on("merge-when-ready") {
        return c.deny(
            Rule::Remote,
            "with `-m/--merge-when-ready` turns on auto-merge; submit drafts with `--draft`",
        );
    }
    if p.on("restack") {
        return c.deny(
            Rule::Restack,
            "with `--restack` restacks before pushing; submit without it",
        );
    }
    // `-u/--update-only` creates no PR (it updates those that exist), and publishing is
    // authorised on its own: neither needs `--draft`.
    let exempt = p.on("update-only") || (p.on("publish") && config.allow_publish);
    if config.enforce_draft && !exempt && !p.surely_on("draft") {
        return c.deny(
            Rule::DraftRequired,
            "must create draft PRs: add `-d/--draft` (or `-u/--update-only` to update the PRs \
             that exist)",
        );
    }
    let base = match p.values("branch").last() {
        Some(b) => (*b).to_owned(),
        None => match &c.ctx.current_branch {
            Some(b) => b.clone(),
            None => return Some(c.detached()),
        },
    };
    if let Some(deny) = c.outside(&base) {
        return Some(deny);
    }
    let with_descendants =
        matches!(scope, SubmitScope::Stack | SubmitScope::Upstack) || p.on("stack");
    if with_descendants {
        return c.foreign_descendants(&base, Rule::OutsideStack, "would push");
    }
    None
}
