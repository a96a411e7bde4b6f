//! How gt reads a command word: the git passthrough words, the commands and their built-in
//! short forms, the hidden legacy groups and their two-letter shortcuts (gt 1.8.6, measured
//! on the real binary).

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
}

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
pub(super) enum Resolution {
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

pub(super) fn resolve(words: &[String]) -> Resolution {
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
