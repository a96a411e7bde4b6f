//! Acceptance checks: the gates a task must pass before it converges.
//!
//! A check is written as one line in a plan's `acceptance:` list (or an issue doc's front
//! matter): `Tests pass: <command>`, `Command: <command>`, `File exists: <path>`,
//! `Contains: [<path>:] <text>`, `Not contains: [<path>:] <text>`. Parsing is pure; running
//! happens in the task's worktree after an agent phase.

use crate::model::check::{Check, CheckOutcome};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Files bigger than this are not searched by `Contains`.
const MAX_SEARCH_BYTES: u64 = 8 * 1024 * 1024;

/// Runs every check in `worktree`, in order, all of them (a failure does not stop the rest:
/// the fix phase wants the full list). Command output goes to `log_dir/<n>.log`.
pub async fn evaluate(
    checks: &[Check],
    worktree: &Path,
    hints: &[String],
    log_dir: &Path,
    timeout: Duration,
    cancel: Option<tokio::sync::watch::Receiver<bool>>,
) -> Vec<CheckOutcome> {
    let mut out = Vec::new();
    for (n, check) in checks.iter().enumerate() {
        let (passed, detail, log) = match check {
            Check::TestsPass { command } | Check::Command { command } => {
                let log = log_dir.join(format!("{:02}.log", n + 1));
                let r = crate::gates::shell::run_shell(
                    command,
                    worktree,
                    &log,
                    timeout,
                    cancel.clone(),
                )
                .await;
                let detail = if r.success() {
                    format!("`{command}` exited 0")
                } else {
                    let tail = r.tail(20);
                    format!(
                        "`{command}`: {}{}",
                        r.describe(timeout),
                        if tail.is_empty() {
                            String::new()
                        } else {
                            format!("; last output:\n{tail}")
                        }
                    )
                };
                (r.success(), detail, Some(log))
            }
            Check::FileExists { path } => match crate::util::fsutil::join_inside(worktree, path) {
                Some(p) if p.exists() => (true, format!("{path} exists"), None),
                Some(_) => (false, format!("{path} does not exist"), None),
                None => (false, format!("{path} is outside the worktree"), None),
            },
            Check::Contains { path, text } | Check::NotContains { path, text } => {
                let want = matches!(check, Check::Contains { .. });
                let scope: Vec<String> = match path {
                    Some(p) => vec![p.clone()],
                    None => hints.to_vec(),
                };
                let found = search(worktree, &scope, text);
                let where_ = if scope.is_empty() {
                    "the worktree".to_owned()
                } else {
                    scope.join(", ")
                };
                match (want, found) {
                    (true, Some(file)) => (true, format!("found `{text}` in {file}"), None),
                    (true, None) => (false, format!("`{text}` not found in {where_}"), None),
                    (false, None) => (true, format!("`{text}` not in {where_}"), None),
                    (false, Some(file)) => (
                        false,
                        format!("`{text}` must not appear, but {file} has it"),
                        None,
                    ),
                }
            }
        };
        out.push(CheckOutcome {
            check: check.to_string(),
            label: check.label().to_owned(),
            passed,
            detail,
            log,
        });
    }
    out
}

/// The first file (relative path) under `scope` (files or directories; the whole tree when
/// empty) whose bytes contain `text`. `.git` is never searched.
fn search(root: &Path, scope: &[String], text: &str) -> Option<String> {
    let starts: Vec<PathBuf> = if scope.is_empty() {
        vec![root.to_owned()]
    } else {
        scope
            .iter()
            .filter_map(|s| crate::util::fsutil::join_inside(root, s))
            .collect()
    };
    let needle = text.as_bytes();
    for start in starts {
        let walker = walkdir::WalkDir::new(&start)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.file_name() != ".git");
        for entry in walker.flatten() {
            if !entry.file_type().is_file()
                || entry
                    .metadata()
                    .map_or(true, |m| m.len() > MAX_SEARCH_BYTES)
            {
                continue;
            }
            let Ok(bytes) = std::fs::read(entry.path()) else {
                continue;
            };
            if needle.is_empty() || bytes.windows(needle.len()).any(|w| w == needle) {
                let rel = entry.path().strip_prefix(root).unwrap_or(entry.path());
                return Some(rel.display().to_string());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluates_every_kind_in_a_tree() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::write(root.join("src/error.rs"), "pub enum AppError { Io }\n").unwrap();
        std::fs::write(root.join("README.md"), "hello\n").unwrap();
        let checks: Vec<Check> = [
            "File exists: src/error.rs",
            "File exists: src/missing.rs",
            "File exists: ../escape",
            "Contains: enum AppError",
            "Contains: README.md: enum AppError",
            "Not contains: src/: TODO",
            "Not contains: hello",
            "Tests pass: test -f src/error.rs",
            "Command: echo nope; exit 4",
        ]
        .iter()
        .map(|l| Check::parse(l).unwrap())
        .collect();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let got = rt.block_on(evaluate(
            &checks,
            root,
            &["src".to_owned()],
            &root.join("logs"),
            Duration::from_secs(30),
            None,
        ));
        let passed: Vec<bool> = got.iter().map(|o| o.passed).collect();
        assert_eq!(
            passed,
            [true, false, false, true, false, true, true, true, false],
            "{got:#?}"
        );
        assert_eq!(got[3].detail, "found `enum AppError` in src/error.rs");
        assert_eq!(
            got[6].detail, "`hello` not in src",
            "without a path, Contains looks in the hints only"
        );
        assert!(got[8].detail.contains("exit 4") && got[8].detail.contains("nope"));
        assert!(got[8].log.as_ref().unwrap().exists());
    }
}
