//! `git`: the few subcommands that reach beyond the issue's own branches or its worktree.
//! Everything else passes through untouched.
//!
//! - `worktree add|remove|move|prune`: orch owns the worktrees.
//! - `push` that overwrites or deletes remote branches (`-f`, `--force-with-lease[=…]`,
//!   `--force-if-includes`, `--mirror`, `-d/--delete`, `--prune`, `+refspec`, `:branch`), or
//!   that pushes to a branch outside the stack (`HEAD:main`, `--all`, a plain `git push` from
//!   a foreign branch).
//! - `fetch`/`pull` refspecs that write a local branch outside the stack (`main:main`).
//! - `branch -d/-D/-m/-M/-c -f/-C/-f` on branches outside the stack; deleting or renaming the
//!   issue branch itself.
//! - `update-ref`/`symbolic-ref` writing refs other than `refs/heads/<stack branch>` (or HEAD
//!   while on a stack branch); reading is fine.
//! - `reset` that moves a branch (a commit argument, `--hard`, `--soft`, `--keep`, `--merge`)
//!   and `rebase` when that branch is not in the stack (on a detached HEAD only this
//!   worktree's HEAD moves, so both pass); `rebase --update-refs`, which moves every branch
//!   pointing into the rebased commits.
//! - `checkout -B`/`switch -C` resetting a branch outside the stack.
//! - `filter-branch`, which rewrites whatever refs it is given.
//! - Defining git aliases (`-c alias.x=…`, `git config alias.x …`), which would hide the real
//!   command from the guard.
//! - `-C`, `--git-dir`, `--work-tree` pointing outside the worktree.
//!
//! Long options may be abbreviated in git (`--forc`); every prefix of a guarded option counts.

use super::argv::{parse_git, GitArgs};
use super::{Decision, Rule, StackContext};
use crate::input::config::GuardConfig;

/// git's own options before the subcommand that take the next argument.
const GLOBAL_WITH_VALUE: &[&str] = &[
    "-C",
    "-c",
    "--git-dir",
    "--work-tree",
    "--namespace",
    "--super-prefix",
    "--config-env",
    "--attr-source",
    "--exec-path",
];

/// git's own options before the subcommand (`-C dir`, `--git-dir=x`, `-c k=v`), each with
/// its value, and where the subcommand is.
pub(crate) fn globals(argv: &[String]) -> (Vec<(&str, Option<&str>)>, usize) {
    let mut out = Vec::new();
    let mut i = 0;
    while i < argv.len() {
        let arg = argv[i].as_str();
        if !arg.starts_with('-') || arg == "-" {
            break;
        }
        let (name, value, step) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v), 1),
            _ if arg.len() > 2
                && (arg.starts_with("-C") || arg.starts_with("-c"))
                && !arg.starts_with("--") =>
            {
                (&arg[..2], Some(&arg[2..]), 1)
            }
            _ if GLOBAL_WITH_VALUE.contains(&arg) && arg != "--exec-path" => {
                (arg, argv.get(i + 1).map(String::as_str), 2)
            }
            _ => (arg, None, 1),
        };
        out.push((name, value));
        i += step;
    }
    (out, i)
}

/// The guard's decision on `git <argv>`.
pub fn decide_git(argv: &[String], ctx: &StackContext, config: &GuardConfig) -> Decision {
    let (options, i) = globals(argv);
    for (name, value) in options {
        if let Some(deny) = value.and_then(|v| global_option(name, v, ctx)) {
            return deny;
        }
    }
    let Some(sub) = argv.get(i) else {
        return Decision::allow(argv);
    };
    let rest = &argv[i + 1..];

    if let Some(entry) = denied_by_config(&config.deny_git, sub, rest) {
        return Decision::deny(
            Rule::Configured,
            format!("`git {entry}` is denied by `deny_git` in orch.toml"),
        );
    }
    let g = Git { sub, ctx };
    let verdict = match sub.as_str() {
        "worktree" => worktree(rest),
        "push" => g.push(rest),
        "fetch" | "pull" => g.fetch(rest),
        "branch" => g.branch(rest),
        "update-ref" => g.update_ref(rest),
        "symbolic-ref" => g.symbolic_ref(rest),
        "reset" => g.reset(rest),
        "rebase" => g.rebase(rest),
        "checkout" => g.force_create(&parse_git(rest, &['b', 'B'], &["orphan"]), 'B', None),
        "switch" => g.force_create(
            &parse_git(rest, &['c', 'C'], &["create", "force-create", "orphan"]),
            'C',
            Some("force-create"),
        ),
        "config" => config_alias(rest),
        "filter-branch" => Some(Decision::deny(
            Rule::OutsideStack,
            "`git filter-branch` rewrites whatever refs it is given, including other issues' \
             branches",
        )),
        _ => None,
    };
    verdict.unwrap_or_else(|| Decision::allow(argv))
}

/// `-C`, `--git-dir`, `--work-tree` must stay inside; `-c`/`--config-env` must not define
/// aliases.
fn global_option(name: &str, value: &str, ctx: &StackContext) -> Option<Decision> {
    match name {
        "-C" | "--git-dir" | "--work-tree" if !ctx.path_inside(value) => Some(Decision::deny(
            Rule::OutsideWorktree,
            format!("`git {name} {value}` leaves this issue's worktree; run git inside it"),
        )),
        "-c" | "--config-env" if value.to_ascii_lowercase().starts_with("alias.") => {
            Some(Decision::deny(
                Rule::GitAlias,
                format!(
                    "`git {name} {value}` defines a git alias, which would hide the command \
                     from orch's guard; run the command itself"
                ),
            ))
        }
        _ => None,
    }
}

/// The `deny_git` entry matching `sub` and the words after it, if any.
fn denied_by_config(list: &[String], sub: &str, rest: &[String]) -> Option<String> {
    let words: Vec<&str> = std::iter::once(sub)
        .chain(
            rest.iter()
                .map(String::as_str)
                .filter(|w| !w.starts_with('-')),
        )
        .collect();
    list.iter().find_map(|entry| {
        let want: Vec<&str> = entry.split_whitespace().collect();
        (!want.is_empty() && words.starts_with(&want)).then(|| want.join(" "))
    })
}

fn worktree(rest: &[String]) -> Option<Decision> {
    let action = rest.iter().find(|a| !a.starts_with('-'))?;
    matches!(action.as_str(), "add" | "remove" | "move" | "prune").then(|| {
        Decision::deny(
            Rule::Worktree,
            format!(
                "`git worktree {action}` changes orch's worktrees; orch creates and removes them"
            ),
        )
    })
}

fn config_alias(rest: &[String]) -> Option<Decision> {
    let a = parse_git(
        rest,
        &['f'],
        &["file", "blob", "type", "default", "comment", "value"],
    );
    let words = &a.positionals;
    let alias = words
        .iter()
        .find(|w| w.to_ascii_lowercase().starts_with("alias."))?;
    let verb = words.first().map(String::as_str);
    let reading = a.long("get")
        || a.long("get-all")
        || a.long("get-regexp")
        || a.long("list")
        || a.short('l')
        || matches!(verb, Some("get" | "list"))
        || (words.len() == 1 && !a.long("unset") && !a.long("unset-all"));
    (!reading).then(|| {
        Decision::deny(
            Rule::GitAlias,
            format!(
                "`git config {alias} …` changes a git alias, which would hide commands from \
                 orch's guard"
            ),
        )
    })
}

/// A local or remote branch name a ref spelling names, if it names one: `refs/heads/x` and
/// bare `x` do; `refs/tags/…` and other `refs/…` do not.
fn branch_of(name: &str) -> Option<&str> {
    match name.strip_prefix("refs/heads/") {
        Some(b) => Some(b),
        None if name.starts_with("refs/") => None,
        None => Some(name),
    }
}

struct Git<'a> {
    sub: &'a str,
    ctx: &'a StackContext,
}

impl Git<'_> {
    fn deny(&self, rule: Rule, what: impl std::fmt::Display) -> Option<Decision> {
        Some(Decision::deny(rule, format!("`git {}` {what}", self.sub)))
    }

    fn outside(&self, branch: &str, effect: &str) -> Option<Decision> {
        (!self.ctx.contains(branch)).then(|| {
            Decision::deny(
                Rule::OutsideStack,
                format!(
                    "`git {}` would {effect} `{branch}`, which is not one of this issue's \
                     branches",
                    self.sub
                ),
            )
        })
    }

    /// Moving the current branch: fine on a stack branch or a detached HEAD.
    fn current_movable(&self, effect: &str) -> Option<Decision> {
        let branch = self.ctx.current_branch.as_deref()?;
        self.outside(branch, effect)
    }

    fn push(&self, rest: &[String]) -> Option<Decision> {
        let a = parse_git(
            rest,
            &['o'],
            &["push-option", "repo", "receive-pack", "exec"],
        );
        for (c, long, what) in [
            (Some('f'), "force", "force-pushes"),
            (None, "force-with-lease", "force-pushes"),
            (None, "force-if-includes", "force-pushes"),
            (None, "mirror", "mirrors every ref, deleting remote ones"),
            (Some('d'), "delete", "deletes remote branches"),
            (None, "prune", "deletes remote branches"),
        ] {
            if a.long(long) || c.is_some_and(|c| a.short(c)) {
                return self.deny(
                    Rule::PushRewrite,
                    format!(
                        "with `--{long}` {what}; push without it (gt submit force-pushes with \
                         a lease on its own)"
                    ),
                );
            }
        }
        if a.long("all") || a.long("branches") {
            return self.deny(
                Rule::OutsideStack,
                "with `--all` pushes every local branch; name this issue's branches",
            );
        }
        let args: Vec<&String> = a.positionals.iter().chain(&a.after_dashdash).collect();
        let refspecs = args.get(1..).unwrap_or_default();
        if refspecs.is_empty() {
            if a.long("tags") {
                return None;
            }
            return self.current_movable("push");
        }
        for spec in refspecs {
            if spec.starts_with('+') {
                return self.deny(
                    Rule::PushRewrite,
                    format!("`{spec}`: a `+` refspec force-pushes; drop the `+`"),
                );
            }
            if spec.as_str() == ":" {
                return self.deny(
                    Rule::OutsideStack,
                    "`:` pushes every branch that exists on both sides; name this issue's \
                     branches",
                );
            }
            let (src, dst) = spec.split_once(':').unwrap_or((spec, spec));
            if src.is_empty() {
                return self.deny(
                    Rule::PushRewrite,
                    format!("`{spec}` deletes the remote branch `{dst}`"),
                );
            }
            let branch = match dst {
                "HEAD" | "@" => self.ctx.current_branch.as_deref(),
                _ => branch_of(dst),
            };
            if let Some(b) = branch {
                if let Some(deny) = self.outside(b, "push to") {
                    return Some(deny);
                }
            }
        }
        None
    }

    fn fetch(&self, rest: &[String]) -> Option<Decision> {
        let a = parse_git(
            rest,
            &['j'],
            &[
                "depth",
                "deepen",
                "shallow-since",
                "shallow-exclude",
                "refmap",
                "upload-pack",
                "negotiation-tip",
                "server-option",
                "jobs",
                "recurse-submodules-default",
                "filter",
                "strategy",
                "strategy-option",
            ],
        );
        let args: Vec<&String> = a.positionals.iter().chain(&a.after_dashdash).collect();
        for spec in args.iter().skip(1) {
            let spec = spec.strip_prefix('+').unwrap_or(spec);
            let Some((_, dst)) = spec.split_once(':') else {
                continue;
            };
            if let Some(b) = branch_of(dst).filter(|b| !b.is_empty()) {
                if let Some(deny) = self.outside(b, "write the local branch") {
                    return Some(deny);
                }
            }
        }
        None
    }

    fn branch(&self, rest: &[String]) -> Option<Decision> {
        let a = parse_git(
            rest,
            &['u'],
            &[
                "set-upstream-to",
                "contains",
                "no-contains",
                "merged",
                "no-merged",
                "points-at",
                "format",
                "sort",
            ],
        );
        let names: Vec<&str> = a
            .positionals
            .iter()
            .chain(&a.after_dashdash)
            .map(String::as_str)
            .collect();
        let delete = a.either('d', "delete") || a.short('D');
        let rename = a.either('m', "move") || a.short('M');
        let copy = a.either('c', "copy") || a.short('C');
        let force = a.either('f', "force") || a.short('D') || a.short('M') || a.short('C');
        if delete {
            return names.iter().find_map(|b| self.removal(b, "delete"));
        }
        if rename || copy {
            let (old, new) = match names.as_slice() {
                [] => return None,
                [new] => match self.ctx.current_branch.as_deref() {
                    Some(cur) => (cur, *new),
                    None => return None,
                },
                [old, new, ..] => (*old, *new),
            };
            if rename {
                if let Some(deny) = self.removal(old, "rename") {
                    return Some(deny);
                }
            }
            if force {
                return self.outside(new, "overwrite");
            }
            return None;
        }
        if force {
            return names.first().and_then(|b| self.outside(b, "reset"));
        }
        None
    }

    /// Deleting or renaming: a stack branch other than the issue branch.
    fn removal(&self, branch: &str, effect: &str) -> Option<Decision> {
        if branch == self.ctx.issue_branch {
            return self.deny(
                Rule::IssueBranch,
                format!("would {effect} `{branch}`, the issue's own branch, which orch owns"),
            );
        }
        self.outside(branch, effect)
    }

    fn update_ref(&self, rest: &[String]) -> Option<Decision> {
        let a = parse_git(rest, &['m'], &[]);
        if a.long("stdin") {
            return self.deny(
                Rule::OutsideStack,
                "with `--stdin` takes ref updates the guard cannot check; update one \
                 `refs/heads/<branch>` at a time",
            );
        }
        let names: Vec<&String> = a.positionals.iter().chain(&a.after_dashdash).collect();
        let name = names.first()?;
        let delete = a.short('d');
        if name.as_str() == "HEAD" || name.as_str() == "@" {
            if delete {
                return self.deny(Rule::OutsideStack, "would delete HEAD");
            }
            if a.long("no-deref") {
                return None;
            }
            return self.current_movable("move");
        }
        match name.strip_prefix("refs/heads/") {
            Some(b) if delete => self.removal(b, "delete"),
            Some(b) => self.outside(b, "move"),
            None => self.deny(
                Rule::OutsideStack,
                format!(
                    "would write `{name}`; only `refs/heads/<branch>` of this issue's branches \
                     (or HEAD) may change"
                ),
            ),
        }
    }

    fn symbolic_ref(&self, rest: &[String]) -> Option<Decision> {
        let a = parse_git(rest, &['m'], &[]);
        let names: Vec<&String> = a.positionals.iter().chain(&a.after_dashdash).collect();
        let stack_ref = |r: &str| {
            r.strip_prefix("refs/heads/")
                .is_some_and(|b| self.ctx.contains(b))
        };
        if a.either('d', "delete") {
            let name = names.first()?;
            return (!stack_ref(name)).then(|| {
                Decision::deny(
                    Rule::OutsideStack,
                    format!("`git symbolic-ref --delete {name}` deletes a ref outside the stack"),
                )
            });
        }
        let [name, target, ..] = names.as_slice() else {
            return None;
        };
        let name_ok = name.as_str() == "HEAD" || stack_ref(name);
        (!(name_ok && stack_ref(target))).then(|| {
            Decision::deny(
                Rule::OutsideStack,
                format!(
                    "`git symbolic-ref {name} {target}`: only HEAD or this issue's branches may \
                     point, and only at `refs/heads/<branch>` of this issue's branches"
                ),
            )
        })
    }

    fn reset(&self, rest: &[String]) -> Option<Decision> {
        let a = parse_git(rest, &[], &[]);
        let patch = a.either('p', "patch");
        let moves = ["hard", "soft", "merge", "keep"].iter().any(|m| a.long(m))
            || (!patch && !a.positionals.is_empty());
        if moves {
            return self.current_movable("move");
        }
        None
    }

    fn rebase(&self, rest: &[String]) -> Option<Decision> {
        let a = parse_git(
            rest,
            &['x', 's', 'X', 'C'],
            &["onto", "exec", "strategy", "strategy-option"],
        );
        let resuming = [
            "continue",
            "abort",
            "skip",
            "quit",
            "edit-todo",
            "show-current-patch",
        ]
        .iter()
        .any(|o| a.long(o));
        if resuming {
            return None;
        }
        if a.long("update-refs") {
            return self.deny(
                Rule::Restack,
                "with `--update-refs` also moves every branch pointing into the rebased \
                 commits; rebase without it",
            );
        }
        let branch_at = if a.long("root") { 0 } else { 1 };
        match a.positionals.get(branch_at) {
            Some(b) => self.outside(b.strip_prefix("refs/heads/").unwrap_or(b), "rebase"),
            None => self.current_movable("rebase"),
        }
    }

    /// `checkout -B x` / `switch -C x` reset `x` when it exists.
    fn force_create(&self, a: &GitArgs, letter: char, long: Option<&str>) -> Option<Decision> {
        a.values_of(letter, long).into_iter().find_map(|b| {
            (!self.ctx.contains(b)).then(|| {
                Decision::deny(
                    Rule::OutsideStack,
                    format!(
                        "`git {} -{letter} {b}` resets `{b}` if it exists, and it is not one \
                         of this issue's branches; use `-{}` for a new branch",
                        self.sub,
                        letter.to_ascii_lowercase()
                    ),
                )
            })
        })
    }
}
