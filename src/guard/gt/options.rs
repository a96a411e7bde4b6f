//! The options gt accepts, per command and globally (from `gt <command> --help`, gt 1.8.6),
//! as the specs `argv::parse_gt` reads them with.

use super::GtCommand;
use crate::guard::argv::{flag, sflag, smany, svalue, value, OptSpec};

/// Options every gt command accepts.
pub(super) const GLOBAL: &[OptSpec] = &[
    value("cwd"),
    flag("debug"),
    flag("interactive"),
    flag("verify"),
    sflag('q', "quiet"),
    flag("help"),
    flag("version"),
];

impl GtCommand {
    /// The command's own options (from `gt <command> --help`, gt 1.8.6).
    pub(super) fn spec(self) -> &'static [OptSpec] {
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
