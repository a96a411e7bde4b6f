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

use super::argv::{flag, parse_gt, sflag, smany, svalue, value, GtArgs, OptSpec};
use super::{decide_git, Decision, GtAliases, Rule, StackContext};
use crate::input::config::GuardConfig;

/// Words gt 1.8.6 hands to git when they are its first argument. Measured by running
/// `gt <word> -h` for every command `git help -a` lists: exactly these printed "Passing
/// command through to git"; `add`, `cherry-pick`, `rebase`, `reset` and `restore` are also
/// explicit hidden gt commands ("git … passthrough") that drop gt's global flags first.
pub const GIT_PASSTHROUGH: &[&str] = &[
    "add",
    "am",
    "apply",
    "archive",
    "bisect",
    "blame",
    "bundle",
    "cherry-pick",
    "clean",
    "clone",
    "diff",
    "difftool",
    "fetch",
    "format-patch",
    "fsck",
    "grep",
    "mv",
    "notes",
    "pull",
    "push",
    "range-diff",
    "rebase",
    "reflog",
    "remote",
    "request-pull",
    "reset",
    "restore",
    "rm",
    "send-email",
    "show",
    "sparse-checkout",
    "stash",
    "status",
    "submodule",
    "switch",
    "tag",
];

/// Options every gt command accepts.
const GLOBAL: &[OptSpec] = &[
    value("cwd"),
    flag("debug"),
    flag("interactive"),
    flag("verify"),
    sflag('q', "quiet"),
    flag("help"),
    flag("version"),
];

/// Which branches a submit form pushes besides the current branch's downstack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmitScope {
    /// `submit`/`s` (`--stack` adds descendants).
    Default,
    /// `branch submit`/`bs`: the current branch.
    Branch,
    /// `stack submit`: the whole stack, descendants included.
    Stack,
    /// `upstack submit`/`us s`: the current branch and its descendants.
    Upstack,
    /// `downstack submit`/`ds s`: trunk up to the current branch.
    Downstack,
}

/// A gt command after every alias and legacy form is resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GtCommand {
    Log,
    Info,
    Children,
    Parent,
    Trunk,
    State,
    Changelog,
    Docs,
    Guide,
    Completion,
    Fish,
    Help,
    /// A legacy group without a subcommand: gt prints the group's help.
    GroupHelp,
    Dash,
    Pr,
    Feedback,
    Demo,
    Checkout,
    Up,
    Down,
    Top,
    Bottom,
    Create,
    Modify,
    CommitCreate,
    CommitAmend,
    Track,
    DownstackTrack,
    Untrack,
    Rename,
    Freeze,
    Unfreeze,
    Unlink,
    Revert,
    Init,
    Auth,
    Config,
    Aliases,
    RepoSetting,
    UserSetting,
    Restack,
    /// `upstack restack` (`us r`, `us fix`): `restack --upstack`.
    UpstackRestack,
    Move,
    Fold,
    Squash,
    Split,
    Reorder,
    BranchEdit,
    Absorb,
    Continue,
    Abort,
    Sync,
    Get,
    Submit(SubmitScope),
    Merge,
    Delete,
    Pop,
    Undo,
}

impl GtCommand {
    /// The canonical name (what `allow_gt`/`deny_gt` and reasons use).
    pub fn name(self) -> &'static str {
        use GtCommand::*;
        match self {
            Log => "log",
            Info => "info",
            Children => "children",
            Parent => "parent",
            Trunk => "trunk",
            State => "state",
            Changelog => "changelog",
            Docs => "docs",
            Guide => "guide",
            Completion => "completion",
            Fish => "fish",
            Help => "help",
            GroupHelp => "help",
            Dash => "dash",
            Pr => "pr",
            Feedback => "feedback",
            Demo => "demo",
            Checkout => "checkout",
            Up => "up",
            Down => "down",
            Top => "top",
            Bottom => "bottom",
            Create => "create",
            Modify | CommitCreate | CommitAmend => "modify",
            Track => "track",
            DownstackTrack => "downstack track",
            Untrack => "untrack",
            Rename => "rename",
            Freeze => "freeze",
            Unfreeze => "unfreeze",
            Unlink => "unlink",
            Revert => "revert",
            Init => "init",
            Auth => "auth",
            Config => "config",
            Aliases => "aliases",
            RepoSetting => "repo",
            UserSetting => "user",
            Restack | UpstackRestack => "restack",
            Move => "move",
            Fold => "fold",
            Squash => "squash",
            Split => "split",
            Reorder => "reorder",
            BranchEdit => "branch edit",
            Absorb => "absorb",
            Continue => "continue",
            Abort => "abort",
            Sync => "sync",
            Get => "get",
            Submit(_) => "submit",
            Merge => "merge",
            Delete => "delete",
            Pop => "pop",
            Undo => "undo",
        }
    }

    /// The command's own options (from `gt <command> --help`, gt 1.8.6).
    fn spec(self) -> &'static [OptSpec] {
        use GtCommand::*;
        match self {
            Create => CREATE_OPTS,
            Modify => MODIFY_OPTS,
            CommitCreate => COMMIT_CREATE_OPTS,
            CommitAmend => COMMIT_AMEND_OPTS,
            Submit(_) => SUBMIT_OPTS,
            Sync => SYNC_OPTS,
            Get => GET_OPTS,
            Delete => DELETE_OPTS,
            Track => TRACK_OPTS,
            DownstackTrack | Untrack | Rename | Undo | Abort => FORCE_ONLY_OPTS,
            Checkout => CHECKOUT_OPTS,
            Absorb => ABSORB_OPTS,
            Restack | UpstackRestack => RESTACK_OPTS,
            Log => LOG_OPTS,
            Trunk => TRUNK_OPTS,
            Info => INFO_OPTS,
            Init => INIT_OPTS,
            Fold => FOLD_OPTS,
            Move => MOVE_OPTS,
            Continue => CONTINUE_OPTS,
            Up => UP_OPTS,
            Down => DOWN_OPTS,
            Merge => MERGE_OPTS,
            Revert => REVERT_OPTS,
            Auth => AUTH_OPTS,
            Aliases => ALIASES_OPTS,
            _ => &[],
        }
    }
}

// Options per command, from `gt <command> --help` (gt 1.8.6).
const CREATE_OPTS: &[OptSpec] = &[
    smany('m', "message"),
    sflag('a', "all"),
    sflag('u', "update"),
    sflag('p', "patch"),
    sflag('i', "insert"),
    flag("ai"),
    svalue('o', "onto"),
    sflag('v', "verbose"),
];
const MODIFY_OPTS: &[OptSpec] = &[
    sflag('c', "commit"),
    sflag('v', "verbose"),
    sflag('a', "all"),
    sflag('u', "update"),
    sflag('p', "patch"),
    sflag('e', "edit"),
    smany('m', "message"),
    flag("interactive-rebase"),
    flag("reset-author"),
    value("into"),
];
const COMMIT_CREATE_OPTS: &[OptSpec] = &[
    sflag('a', "all"),
    svalue('m', "message"),
    sflag('p', "patch"),
];
const COMMIT_AMEND_OPTS: &[OptSpec] = &[
    sflag('a', "all"),
    svalue('m', "message"),
    sflag('e', "edit"),
    sflag('p', "patch"),
];
const SUBMIT_OPTS: &[OptSpec] = &[
    sflag('d', "draft"),
    sflag('p', "publish"),
    flag("restack"),
    sflag('e', "edit"),
    sflag('n', "no-edit"),
    flag("edit-title"),
    flag("edit-description"),
    flag("ai"),
    svalue('r', "reviewers"),
    svalue('t', "team-reviewers"),
    flag("dry-run"),
    sflag('c', "confirm"),
    sflag('u', "update-only"),
    sflag('f', "force"),
    flag("always"),
    value("branch"),
    sflag('m', "merge-when-ready"),
    flag("rerequest-review"),
    sflag('v', "view"),
    value("comment"),
    flag("cli"),
    sflag('w', "web"),
    value("target-trunk"),
    flag("ignore-out-of-sync-trunk"),
    sflag('s', "stack"),
    flag("get-template"),
    flag("get-template-path"),
    value("fill-template"),
];
const SYNC_OPTS: &[OptSpec] = &[
    flag("restack"),
    sflag('f', "force"),
    sflag('d', "delete-all"),
    sflag('a', "all"),
];
const GET_OPTS: &[OptSpec] = &[
    sflag('d', "downstack"),
    flag("restack"),
    flag("checkout"),
    sflag('f', "force"),
    flag("delete-all"),
    sflag('U', "unfrozen"),
    sflag('u', "remote-upstack"),
];
const DELETE_OPTS: &[OptSpec] = &[
    sflag('f', "force"),
    flag("upstack"),
    flag("downstack"),
    sflag('c', "close"),
];
const TRACK_OPTS: &[OptSpec] = &[svalue('p', "parent"), sflag('f', "force")];
const FORCE_ONLY_OPTS: &[OptSpec] = &[sflag('f', "force")];
const CHECKOUT_OPTS: &[OptSpec] = &[
    sflag('t', "trunk"),
    sflag('u', "show-untracked"),
    sflag('s', "stack"),
    sflag('a', "all"),
];
const ABSORB_OPTS: &[OptSpec] = &[
    sflag('d', "dry-run"),
    sflag('f', "force"),
    sflag('a', "all"),
    sflag('p', "patch"),
];
const RESTACK_OPTS: &[OptSpec] = &[
    value("branch"),
    sflag('d', "downstack"),
    sflag('u', "upstack"),
    sflag('o', "only"),
];
const LOG_OPTS: &[OptSpec] = &[
    flag("classic"),
    sflag('r', "reverse"),
    sflag('s', "stack"),
    svalue('n', "steps"),
    sflag('u', "show-untracked"),
    sflag('a', "all"),
];
const TRUNK_OPTS: &[OptSpec] = &[sflag('a', "all"), value("add")];
const INFO_OPTS: &[OptSpec] = &[
    sflag('p', "patch"),
    sflag('d', "diff"),
    sflag('s', "stat"),
    sflag('b', "body"),
    value("branch"),
];
const INIT_OPTS: &[OptSpec] = &[value("trunk"), flag("reset")];
const FOLD_OPTS: &[OptSpec] = &[sflag('k', "keep"), flag("stack"), sflag('c', "close")];
const MOVE_OPTS: &[OptSpec] = &[
    svalue('o', "onto"),
    svalue('s', "source"),
    sflag('a', "all"),
    flag("only"),
];
const CONTINUE_OPTS: &[OptSpec] = &[sflag('a', "all")];
const UP_OPTS: &[OptSpec] = &[svalue('n', "steps"), value("to")];
const DOWN_OPTS: &[OptSpec] = &[svalue('n', "steps")];
const MERGE_OPTS: &[OptSpec] = &[flag("dry-run"), sflag('c', "confirm")];
const REVERT_OPTS: &[OptSpec] = &[value("sha"), sflag('e', "edit")];
const AUTH_OPTS: &[OptSpec] = &[svalue('t', "token")];
const ALIASES_OPTS: &[OptSpec] = &[flag("reset"), flag("legacy")];

/// What a top-level word names.
#[derive(Debug, Clone, Copy)]
enum Entry {
    Command(GtCommand),
    Group(Group),
}

/// The hidden legacy command groups.
#[derive(Debug, Clone, Copy)]
enum Group {
    Branch,
    Upstack,
    Downstack,
    Stack,
    Repo,
    Commit,
    User,
}

fn top_level(word: &str) -> Option<Entry> {
    use GtCommand::*;
    let command = match word {
        "log" | "l" => Log,
        "info" | "bi" => Info,
        "children" => Children,
        "parent" => Parent,
        "trunk" => Trunk,
        "state" => State,
        "changelog" => Changelog,
        "docs" => Docs,
        "guide" | "g" => Guide,
        "completion" => Completion,
        "fish" => Fish,
        "help" => Help,
        "dash" => Dash,
        "pr" => Pr,
        "feedback" => Feedback,
        "demo" => Demo,
        "checkout" | "co" => Checkout,
        "up" | "u" | "bu" => Up,
        "down" | "d" | "bd" => Down,
        "top" | "t" | "bt" => Top,
        "bottom" | "b" | "bb" => Bottom,
        "create" | "c" | "bc" => Create,
        "modify" | "m" => Modify,
        "cc" => CommitCreate,
        "ca" => CommitAmend,
        "track" | "tr" => Track,
        "untrack" | "utr" => Untrack,
        "rename" | "rn" => Rename,
        "freeze" => Freeze,
        "unfreeze" => Unfreeze,
        "unlink" => Unlink,
        "revert" => Revert,
        "init" | "ri" => Init,
        "auth" => Auth,
        "config" => Config,
        "aliases" => Aliases,
        "restack" | "r" | "br" | "sr" => Restack,
        "move" => Move,
        "fold" | "bf" => Fold,
        "squash" | "sq" => Squash,
        "split" | "sp" => Split,
        "reorder" => Reorder,
        "be" => BranchEdit,
        "absorb" | "ab" => Absorb,
        "continue" | "cont" => Continue,
        "abort" => Abort,
        "sync" | "rs" => Sync,
        "get" => Get,
        "submit" | "s" => Submit(SubmitScope::Default),
        "bs" => Submit(SubmitScope::Branch),
        "merge" => Merge,
        "delete" | "dl" => Delete,
        "pop" => Pop,
        "undo" => Undo,
        "branch" => return Some(Entry::Group(Group::Branch)),
        "upstack" | "us" => return Some(Entry::Group(Group::Upstack)),
        "downstack" | "ds" => return Some(Entry::Group(Group::Downstack)),
        "stack" => return Some(Entry::Group(Group::Stack)),
        "repo" => return Some(Entry::Group(Group::Repo)),
        "commit" => return Some(Entry::Group(Group::Commit)),
        "user" => return Some(Entry::Group(Group::User)),
        _ => return None,
    };
    Some(Entry::Command(command))
}

fn group_command(group: Group, word: &str) -> Option<GtCommand> {
    use GtCommand::*;
    Some(match (group, word) {
        (Group::Branch, "bottom" | "b") => Bottom,
        (Group::Branch, "checkout" | "co") => Checkout,
        (Group::Branch, "create" | "c") => Create,
        (Group::Branch, "delete" | "dl") => Delete,
        (Group::Branch, "down" | "d") => Down,
        (Group::Branch, "edit" | "e") => BranchEdit,
        (Group::Branch, "fold" | "f") => Fold,
        (Group::Branch, "info" | "i") => Info,
        (Group::Branch, "rename" | "rn") => Rename,
        (Group::Branch, "restack" | "r") => Restack,
        (Group::Branch, "split" | "sp") => Split,
        (Group::Branch, "squash" | "sq") => Squash,
        (Group::Branch, "submit" | "s") => Submit(SubmitScope::Branch),
        (Group::Branch, "top" | "t") => Top,
        (Group::Branch, "track" | "tr") => Track,
        (Group::Branch, "unbranch") => Pop,
        (Group::Branch, "untrack" | "utr") => Untrack,
        (Group::Branch, "up" | "u") => Up,
        (Group::Upstack, "onto" | "o") => Move,
        (Group::Upstack, "restack" | "r" | "fix" | "f") => UpstackRestack,
        (Group::Upstack, "submit" | "s") => Submit(SubmitScope::Upstack),
        (Group::Downstack, "edit" | "e") => Reorder,
        (Group::Downstack, "get" | "g") => Get,
        (Group::Downstack, "merge" | "m") => Merge,
        (Group::Downstack, "restack" | "r") => Restack,
        (Group::Downstack, "submit" | "s") => Submit(SubmitScope::Downstack),
        (Group::Downstack, "track" | "tr") => DownstackTrack,
        (Group::Stack, "restack" | "r" | "fix" | "f") => Restack,
        (Group::Stack, "submit" | "s") => Submit(SubmitScope::Stack),
        (Group::Repo, "init" | "i") => Init,
        (Group::Repo, "name" | "owner" | "pr-templates" | "remote") => RepoSetting,
        (Group::Repo, "sync" | "s") => Sync,
        (Group::Commit, "amend" | "a") => CommitAmend,
        (Group::Commit, "create" | "c") => CommitCreate,
        (
            Group::User,
            "branch-date" | "branch-prefix" | "editor" | "pager" | "restack-date" | "submit-body"
            | "tips" | "yubikey",
        ) => UserSetting,
        _ => return None,
    })
}

/// The index of the first argument at or after `from` that is not an option (`--cwd` takes
/// its value with it).
fn next_word(words: &[String], from: usize) -> Option<usize> {
    let mut i = from;
    while i < words.len() {
        let w = &words[i];
        if w == "--cwd" {
            i += 2;
        } else if w.len() > 1 && w.starts_with('-') && w != "--" {
            i += 1;
        } else if w == "--" {
            return None;
        } else {
            return Some(i);
        }
    }
    None
}

/// How gt reads an (alias-expanded) argv.
enum Resolution {
    /// Only options (or nothing): gt prints help or its version.
    NoCommand,
    /// A passthrough word after global flags: gt rejects it.
    LatePassthrough(String),
    Unknown(String),
    Command {
        command: GtCommand,
        /// The command words as typed, e.g. `us o`.
        typed: String,
        /// Everything but the command words.
        args: Vec<String>,
    },
}

fn resolve(words: &[String]) -> Resolution {
    let Some(i) = next_word(words, 0) else {
        return Resolution::NoCommand;
    };
    let word = words[i].as_str();
    let without = |skip: &[usize]| -> Vec<String> {
        words
            .iter()
            .enumerate()
            .filter(|(k, _)| !skip.contains(k))
            .map(|(_, w)| w.clone())
            .collect()
    };
    match top_level(word) {
        Some(Entry::Command(command)) => Resolution::Command {
            command,
            typed: word.to_owned(),
            args: without(&[i]),
        },
        Some(Entry::Group(group)) => match next_word(words, i + 1) {
            None => Resolution::Command {
                command: GtCommand::GroupHelp,
                typed: word.to_owned(),
                args: without(&[i]),
            },
            Some(j) => {
                let typed = format!("{word} {}", words[j]);
                match group_command(group, &words[j]) {
                    Some(command) => Resolution::Command {
                        command,
                        typed,
                        args: without(&[i, j]),
                    },
                    None => Resolution::Unknown(typed),
                }
            }
        },
        None if GIT_PASSTHROUGH.contains(&word) => Resolution::LatePassthrough(word.to_owned()),
        None => Resolution::Unknown(word.to_owned()),
    }
}

/// Whether a config list names this command (by canonical name, typed words, first typed
/// word, or the user alias that produced it).
fn listed(list: &[String], names: &[&str]) -> bool {
    list.iter().any(|entry| {
        let entry = entry.split_whitespace().collect::<Vec<_>>().join(" ");
        names.iter().any(|n| *n == entry)
    })
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

/// One resolved command, for the rules.
struct Cmd<'a> {
    typed: &'a str,
    via: &'a str,
    p: &'a GtArgs,
    ctx: &'a StackContext,
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
fn policy(command: GtCommand, c: &Cmd<'_>, config: &GuardConfig) -> Option<Decision> {
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
