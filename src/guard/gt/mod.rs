//! `gt` (Graphite CLI 1.8.6): how a command word resolves, and the policy per command.
//!
//! Resolution, in gt's own order (all measured on the real binary):
//! 1. The first argument, when it is a user alias ([`GtAliases`]), is replaced by its
//!    expansion, once. Only the first argument: after a global flag it is an ordinary word.
//! 2. When the (expanded) first argument is a git passthrough word ([`GIT_PASSTHROUGH`]), gt
//!    runs git with the arguments as they are, so the git policy decides. After a global flag
//!    those words are errors in gt, and denied here as unknown.
//! 3. Otherwise global flags (`--cwd <dir>`, `--debug`, `--[no-]interactive`,
//!    `--[no-]verify`, `-q/--quiet`) may come anywhere; the first other word is the command:
//!    a command name, a built-in short alias (`c`, `m`, `s`, …), a hidden legacy group
//!    (`branch`, `upstack`/`us`, `downstack`/`ds`, `stack`, `repo`, `commit`, `user`) followed
//!    by its subcommand, or a hidden two-letter shortcut (`bs` = `branch submit`, `rs` =
//!    `repo sync`, `sr` = `stack restack`, …).
//!
//! Then the options are read the way yargs reads them (see `argv::parse_gt`) and the
//! command's rule applies.

mod options;
mod policy;
mod resolve;

pub use resolve::{GtCommand, SubmitScope, GIT_PASSTHROUGH};

use super::argv::{parse_gt, GtArgs, OptSpec};
use super::{decide_git, Decision, GtAliases, Rule, StackContext};
use crate::input::config::GuardConfig;
use options::GLOBAL;
use policy::{policy, Cmd};
use resolve::{resolve, Resolution};

/// Whether a config list names this command (by canonical name, typed words, first typed
/// word, or the user alias that produced it).
fn listed(list: &[String], names: &[&str]) -> bool {
    list.iter().any(|entry| {
        let entry = entry.split_whitespace().collect::<Vec<_>>().join(" ");
        names.iter().any(|n| *n == entry)
    })
}

/// Whether `gt <argv>` only looks (`gt ls`, `gt log`, `gt info`, help), by gt's own command
/// words and its default aliases (`ls`, `ll`; a user's own alias counts as a command).
pub fn only_reads(argv: &[String]) -> bool {
    use GtCommand::*;
    let expanded = GtAliases::default().expand(argv);
    match resolve(expanded.as_deref().unwrap_or(argv)) {
        Resolution::NoCommand => true,
        Resolution::Command { command, .. } => matches!(
            command,
            Log | Info
                | Children
                | Parent
                | Trunk
                | State
                | Changelog
                | Docs
                | Guide
                | Completion
                | Fish
                | Help
                | GroupHelp
        ),
        _ => false,
    }
}

/// Whether `gt <argv>` submits pull requests (after the user's aliases).
pub fn is_submit(argv: &[String], aliases: &GtAliases) -> bool {
    let expanded = aliases.expand(argv);
    let words: &[String] = expanded.as_deref().unwrap_or(argv);
    matches!(
        resolve(words),
        Resolution::Command {
            command: GtCommand::Submit(_),
            ..
        }
    )
}

/// The guard's decision on `gt <argv>` (`argv` without the program name).
///
/// An allowed command is forwarded as typed, not expanded: gt expands the alias itself, and
/// handing it the expansion could expand a second time (an expansion starting with another
/// alias's name). The verdict therefore holds for gt reading the same aliases text the
/// caller parsed into `aliases`.
pub fn decide_gt(
    argv: &[String],
    ctx: &StackContext,
    aliases: &GtAliases,
    config: &GuardConfig,
) -> Decision {
    let expanded = aliases.expand(argv);
    let alias = expanded.as_ref().map(|_| argv[0].as_str());
    let words: &[String] = expanded.as_deref().unwrap_or(argv);
    let via = alias
        .map(|a| format!(" (from alias `{a}`)"))
        .unwrap_or_default();

    if let Some(deny) = cwd_escapes(words, ctx) {
        return deny;
    }

    if let Some(first) = words
        .first()
        .filter(|w| GIT_PASSTHROUGH.contains(&w.as_str()))
    {
        let names: Vec<&str> = alias.into_iter().chain([first.as_str()]).collect();
        if listed(&config.deny_gt, &names) {
            return Decision::deny(
                Rule::Configured,
                format!("`gt {first}` is denied by `deny_gt` in orch.toml{via}"),
            );
        }
        return match decide_git(words, ctx, config) {
            Decision::Allow { .. } => Decision::allow(argv),
            deny => deny,
        };
    }

    let (command, typed, args) = match resolve(words) {
        Resolution::NoCommand => return Decision::allow(argv),
        Resolution::LatePassthrough(word) => {
            return Decision::deny(
                Rule::UnknownCommand,
                format!(
                    "unknown gt command `{word}`{via}: gt hands `{word}` to git only as its \
                     first argument; put options after it"
                ),
            )
        }
        Resolution::Unknown(word) => {
            let names: Vec<&str> = alias.into_iter().chain([word.as_str()]).collect();
            if listed(&config.deny_gt, &names) {
                return Decision::deny(
                    Rule::Configured,
                    format!("`gt {word}` is denied by `deny_gt` in orch.toml{via}"),
                );
            }
            if listed(&config.allow_gt, &names) {
                let parsed = parse_gt(words, GLOBAL);
                if parsed.on("force") || parsed.on("f") {
                    return force(&word);
                }
                return Decision::allow(argv);
            }
            let hint = if alias.is_some() {
                "; gt expands an alias once, so an alias naming another alias fails"
            } else {
                ""
            };
            return Decision::deny(
                Rule::UnknownCommand,
                format!("unknown gt command `{word}`{via}{hint}"),
            );
        }
        Resolution::Command {
            command,
            typed,
            args,
        } => (command, typed, args),
    };

    let first_typed = typed.split(' ').next().unwrap_or_default();
    let names: Vec<&str> = alias
        .into_iter()
        .chain([typed.as_str(), first_typed, command.name()])
        .collect();
    if listed(&config.deny_gt, &names) {
        return Decision::deny(
            Rule::Configured,
            format!("`gt {typed}` is denied by `deny_gt` in orch.toml{via}"),
        );
    }

    let options = args.split(|a| a == "--").next().unwrap_or_default();
    if options
        .iter()
        .any(|a| a == "--help" || a == "-h" || a == "--version")
    {
        return Decision::allow(argv);
    }

    let spec: Vec<OptSpec> = command.spec().iter().chain(GLOBAL).copied().collect();
    let p = parse_gt(&args, &spec);
    if p.on("force") || p.on("f") {
        return force(&typed);
    }
    if listed(&config.allow_gt, &names) {
        return finish(command, &p, argv);
    }
    let cmd = Cmd {
        typed: &typed,
        via: &via,
        p: &p,
        ctx,
    };
    match policy(command, &cmd, config) {
        Some(deny) => deny,
        None => finish(command, &p, argv),
    }
}

/// The forwarded argv: `gt submit` always runs without prompts.
fn finish(command: GtCommand, p: &GtArgs, argv: &[String]) -> Decision {
    let mut out = argv.to_vec();
    if matches!(command, GtCommand::Submit(_)) && !p.on("quiet") && !p.surely_off("interactive") {
        let at = out.iter().position(|a| a == "--").unwrap_or(out.len());
        out.insert(at, "--no-interactive".to_owned());
    }
    Decision::Allow {
        forwarded_argv: out,
    }
}

fn force(typed: &str) -> Decision {
    Decision::deny(
        Rule::Force,
        format!("`gt {typed} -f/--force` skips gt's safety checks; run it without the force flag"),
    )
}

fn cwd_escapes(words: &[String], ctx: &StackContext) -> Option<Decision> {
    let options = words.split(|a| a == "--").next().unwrap_or_default();
    let mut paths = Vec::new();
    for (k, w) in options.iter().enumerate() {
        if let Some(p) = w.strip_prefix("--cwd=") {
            paths.push(p);
        } else if w == "--cwd" {
            if let Some(p) = options.get(k + 1) {
                paths.push(p);
            }
        }
    }
    paths.into_iter().find(|p| !ctx.path_inside(p)).map(|p| {
        Decision::deny(
            Rule::OutsideWorktree,
            format!("`--cwd {p}` leaves this issue's worktree; run gt inside it"),
        )
    })
}
