//! Acceptance checks as data: the forms a check line may take (`Tests pass: <command>`,
//! `File exists: <path>`, …), parsed, and what one check's run came to. Running them is
//! `gates::acceptance`.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

/// One parsed acceptance check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Check {
    /// `Tests pass: <command>`: the command exits 0.
    TestsPass { command: String },
    /// `Command: <command>`: the command exits 0.
    Command { command: String },
    /// `File exists: <path>`: relative to the worktree root.
    FileExists { path: String },
    /// `Contains: [<path>:] <text>`: the text occurs in `path`, or (without a path) in one of
    /// the task's preferred paths (the whole tree when it has none).
    Contains { path: Option<String>, text: String },
    /// `Not contains: [<path>:] <text>`: the opposite.
    NotContains { path: Option<String>, text: String },
}

/// The forms a check line may take, for error messages and hints.
pub const FORMS: &[&str] = &[
    "Tests pass: <command>",
    "Command: <command>",
    "File exists: <path>",
    "Contains: [<path>:] <text>",
    "Not contains: [<path>:] <text>",
];

impl Check {
    /// Parses one check line. The label is case-insensitive; the error says what was wrong.
    pub fn parse(line: &str) -> Result<Check, String> {
        let line = line.trim();
        let Some((label, rest)) = line.split_once(':') else {
            return Err(format!(
                "acceptance check `{line}` has no `<kind>:` label (one of: {})",
                FORMS.join(", ")
            ));
        };
        let rest = rest.trim();
        let label_norm = label.trim().to_ascii_lowercase().replace(['_', '-'], " ");
        let need = |what: &str| -> Result<String, String> {
            if rest.is_empty() {
                Err(format!(
                    "acceptance check `{line}` is missing its {what} after `{}:`",
                    label.trim()
                ))
            } else {
                Ok(rest.to_owned())
            }
        };
        match label_norm.as_str() {
            "tests pass" | "test pass" | "tests passing" => Ok(Check::TestsPass {
                command: need("command")?,
            }),
            "command" | "command succeeds" | "run" => Ok(Check::Command {
                command: need("command")?,
            }),
            "file exists" | "exists" => Ok(Check::FileExists {
                path: need("path")?,
            }),
            "contains" => {
                let (path, text) = split_path_text(&need("text")?);
                Ok(Check::Contains { path, text })
            }
            "not contains" | "does not contain" => {
                let (path, text) = split_path_text(&need("text")?);
                Ok(Check::NotContains { path, text })
            }
            _ => Err(format!(
                "unknown acceptance check kind `{}` (one of: {})",
                label.trim(),
                FORMS.join(", ")
            )),
        }
    }

    /// The check's label as written in events (`Tests pass`, `File exists`, …).
    pub fn label(&self) -> &'static str {
        match self {
            Check::TestsPass { .. } => "Tests pass",
            Check::Command { .. } => "Command",
            Check::FileExists { .. } => "File exists",
            Check::Contains { .. } => "Contains",
            Check::NotContains { .. } => "Not contains",
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Check::TestsPass { command } | Check::Command { command } => {
                write!(f, "{}: {command}", self.label())
            }
            Check::FileExists { path } => write!(f, "{}: {path}", self.label()),
            Check::Contains { path, text } | Check::NotContains { path, text } => match path {
                Some(path) => write!(f, "{}: {path}: {text}", self.label()),
                None => write!(f, "{}: {text}", self.label()),
            },
        }
    }
}

/// `src/lib.rs: enum AppError` → (Some(path), text). The part before the first `: ` is a path
/// only when it looks like one (no spaces, has a `/` or a `.`), so `Contains: a: b` with a
/// text that itself has a colon keeps working.
fn split_path_text(rest: &str) -> (Option<String>, String) {
    if let Some((head, tail)) = rest.split_once(": ") {
        let head = head.trim();
        let looks_like_path = !head.is_empty()
            && !head.contains(char::is_whitespace)
            && (head.contains('/') || head.contains('.'));
        if looks_like_path && !tail.trim().is_empty() {
            return (Some(head.to_owned()), tail.trim().to_owned());
        }
    }
    (None, rest.to_owned())
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckOutcome {
    /// The check as written (`Tests pass: cargo test`).
    pub check: String,
    pub label: String,
    pub passed: bool,
    /// Why it failed (or what passed), one line.
    pub detail: String,
    /// A command check's output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        let cases = [
            (
                "Tests pass: cargo test -p x",
                Check::TestsPass {
                    command: "cargo test -p x".into(),
                },
            ),
            (
                "Command: make lint",
                Check::Command {
                    command: "make lint".into(),
                },
            ),
            (
                "File exists: src/error.rs",
                Check::FileExists {
                    path: "src/error.rs".into(),
                },
            ),
            (
                "Contains: enum AppError",
                Check::Contains {
                    path: None,
                    text: "enum AppError".into(),
                },
            ),
            (
                "Contains: src/lib.rs: pub mod error;",
                Check::Contains {
                    path: Some("src/lib.rs".into()),
                    text: "pub mod error;".into(),
                },
            ),
            (
                "not contains: TODO",
                Check::NotContains {
                    path: None,
                    text: "TODO".into(),
                },
            ),
            (
                "Contains: note: keep",
                Check::Contains {
                    path: None,
                    text: "note: keep".into(),
                },
            ),
        ];
        for (line, want) in cases {
            assert_eq!(Check::parse(line).as_ref(), Ok(&want), "{line}");
            assert_eq!(Check::parse(&want.to_string()), Ok(want), "round trip");
        }
    }

    #[test]
    fn rejects_bad_lines_with_a_reason() {
        assert!(Check::parse("works fine")
            .unwrap_err()
            .contains("no `<kind>:` label"));
        assert!(Check::parse("Tests pass:")
            .unwrap_err()
            .contains("missing its command"));
        assert!(Check::parse("Smells good: yes")
            .unwrap_err()
            .contains("unknown acceptance check kind `Smells good`"));
    }
}
