//! A phase's `guard.jsonl`, typed: every gt/git command the agent attempted (allowed and run,
//! or refused with a rule and a reason) and every violation the checks after the phase found
//! (a ref moved outside the stack, a worktree added or removed, a forbidden path, a secret, a
//! guarded git file changed). Written and read here only: the shim and the engine append,
//! the event log, `orch guard log` and the phase's counts read.

use crate::model::record::GuardCounts;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One line of a phase's guard log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GuardLine {
    /// A gt/git command the agent ran (through the shim).
    Attempt(Attempt),
    /// Something the checks after the phase found.
    Violation(ViolationLine),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub ts: String,
    pub cwd: PathBuf,
    /// The command as typed, the tool first (`gt`, `sync`).
    pub argv: Vec<String>,
    /// The real tool's exit code, or the shim's own (126 for a refusal).
    pub exit_code: i32,
    #[serde(flatten)]
    pub decision: Decided,
}

/// What the guard decided about an attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decided {
    /// Run, as `forwarded` (the arguments the real tool got).
    Allow { forwarded: Vec<String> },
    /// Refused: nothing was run.
    Deny { rule: String, reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViolationLine {
    pub ts: String,
    #[serde(flatten)]
    pub what: Found,
    /// Whether orch put it back (a ref, a git file) or undid it (a worktree the agent added).
    pub restored: bool,
}

/// What a violation is, by the field that names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Found {
    /// A ref outside the issue's stack created, moved or deleted.
    Ref {
        #[serde(rename = "ref")]
        name: String,
        before: Option<String>,
        after: Option<String>,
        /// Issues in flight meanwhile (their own work would not have counted).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        also_in_flight: Vec<String>,
    },
    /// A worktree the agent added (removed again, its work rescued, when restored).
    WorktreeAdded {
        worktree_added: PathBuf,
        rescue_ref: Option<String>,
    },
    WorktreeRemoved {
        worktree_removed: PathBuf,
    },
    /// A change to a path the task forbids.
    ForbiddenPath {
        forbidden_path: String,
        pattern: String,
    },
    /// A possible secret in what the phase added: where and what kind, never the value.
    Secret {
        secret: super::secrets::Kind,
        path: String,
        line: usize,
        /// A human let it pass (`orch approve secrets`).
        approved: bool,
    },
    /// A guarded git file (the worktree's `gitdir`, the common dir's `config`, hooks, …)
    /// changed during the phase.
    GitFile {
        git_file: PathBuf,
        change: String,
    },
}

impl GuardLine {
    /// A violation found now.
    pub fn violation(what: Found, restored: bool) -> GuardLine {
        GuardLine::Violation(ViolationLine {
            ts: crate::util::timeutil::now_rfc3339(),
            what,
            restored,
        })
    }

    /// A refused attempt's command (`gt sync`) and rule, if this is one.
    pub fn refusal(&self) -> Option<(String, &str)> {
        match self {
            GuardLine::Attempt(Attempt {
                argv,
                decision: Decided::Deny { rule, .. },
                ..
            }) => Some((argv.join(" "), rule.as_str())),
            _ => None,
        }
    }
}

/// Appends lines to a guard log, one write per line: shims of phases in flight at once append
/// to their own logs, and orch to the phase's after it, and each line stays whole.
pub fn append(path: &Path, lines: &[GuardLine]) -> std::io::Result<()> {
    let values: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::to_value(l).expect("a guard line serialises"))
        .collect();
    crate::util::fsutil::append_json_lines(path, &values)
}

/// The lines of a guard log that read as guard lines (none when there is no log).
pub fn read(path: &Path) -> Vec<GuardLine> {
    read_text(&std::fs::read_to_string(path).unwrap_or_default())
}

fn read_text(text: &str) -> Vec<GuardLine> {
    text.lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// The attempts allowed and denied, and the violations.
pub fn counts(path: &Path) -> GuardCounts {
    let mut counts = GuardCounts::default();
    for line in read(path) {
        match line {
            GuardLine::Attempt(Attempt {
                decision: Decided::Allow { .. },
                ..
            }) => counts.allowed += 1,
            GuardLine::Attempt(_) => counts.denied += 1,
            GuardLine::Violation(_) => counts.violations += 1,
        }
    }
    counts
}

/// The refusals a running phase's log recorded past byte `from`, each as its command and
/// rule, with the offset to read from next time (only whole lines are taken).
pub fn refusals_since(path: &Path, from: u64) -> (Vec<(String, String)>, u64) {
    use std::io::{Read, Seek};
    let Ok(mut file) = std::fs::File::open(path) else {
        return (Vec::new(), from);
    };
    let mut text = String::new();
    if file.seek(std::io::SeekFrom::Start(from)).is_err() || file.read_to_string(&mut text).is_err()
    {
        return (Vec::new(), from);
    }
    let whole = text.rfind('\n').map_or(0, |i| i + 1);
    let refused = read_text(&text[..whole])
        .iter()
        .filter_map(|l| {
            l.refusal()
                .map(|(command, rule)| (command, rule.to_owned()))
        })
        .collect();
    (refused, from + whole as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind of line as the shim and the engine have always written it.
    const WRITTEN: &[&str] = &[
        r#"{"ts":"t","kind":"attempt","cwd":"/wt","argv":["git","status"],"exit_code":0,"decision":"allow","forwarded":["status"]}"#,
        r#"{"ts":"t","kind":"attempt","cwd":"/wt","argv":["gt","sync"],"exit_code":126,"decision":"deny","rule":"restack","reason":"`gt sync` restacks"}"#,
        r#"{"ts":"t","kind":"violation","ref":"refs/heads/main","before":"a","after":"b","restored":true}"#,
        r#"{"ts":"t","kind":"violation","ref":"refs/heads/x","before":null,"after":"b","restored":true,"also_in_flight":["B-1"]}"#,
        r#"{"ts":"t","kind":"violation","worktree_added":"/tmp/w","restored":true,"rescue_ref":null}"#,
        r#"{"ts":"t","kind":"violation","worktree_removed":"/tmp/w","restored":false}"#,
        r#"{"ts":"t","kind":"violation","forbidden_path":"Cargo.lock","pattern":"Cargo.lock","restored":false}"#,
        r#"{"ts":"t","kind":"violation","secret":"assignment","path":"a.env","line":3,"restored":false,"approved":false}"#,
        r#"{"ts":"t","kind":"violation","git_file":"/r/.git/config","change":"modified","restored":true}"#,
    ];

    #[test]
    fn every_line_reads_typed_and_writes_back_the_same() {
        for text in WRITTEN {
            let line: GuardLine =
                serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"));
            let back = serde_json::to_value(&line).unwrap();
            let original: serde_json::Value = serde_json::from_str(text).unwrap();
            assert_eq!(back, original, "{text}");
        }
        let lines = read_text(&WRITTEN.join("\n"));
        assert!(matches!(
            lines[4],
            GuardLine::Violation(ViolationLine {
                what: Found::WorktreeAdded { .. },
                ..
            })
        ));
        assert!(matches!(
            lines[6],
            GuardLine::Violation(ViolationLine {
                what: Found::ForbiddenPath { .. },
                ..
            })
        ));
        assert_eq!(lines[1].refusal(), Some(("gt sync".to_owned(), "restack")));
    }

    #[test]
    fn counts_and_refusals_as_they_come() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("guard.jsonl");
        std::fs::write(&path, WRITTEN[..2].join("\n") + "\n").unwrap();
        let (refused, next) = refusals_since(&path, 0);
        assert_eq!(refused, [("gt sync".to_owned(), "restack".to_owned())]);
        let more = GuardLine::violation(
            Found::WorktreeRemoved {
                worktree_removed: "/w".into(),
            },
            false,
        );
        append(&path, &[more]).unwrap();
        assert_eq!(refusals_since(&path, next).0, []);
        assert_eq!(
            counts(&path),
            GuardCounts {
                allowed: 1,
                denied: 1,
                violations: 1
            }
        );
    }
}
