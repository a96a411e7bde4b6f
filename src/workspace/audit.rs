//! The post-phase ref audit: the backstop behind the guard. Anything the agent did to refs
//! outside its issue's stack (and orch's own `refs/orch/`) — through a blocked command, the
//! real binary by absolute path, or plain file writes — shows up as a changed ref between
//! the phase's before/after snapshots. Each is a violation: recorded, and by default undone.
//! A plan task's `forbidden_paths` are checked here too, against the files a phase changed.

use crate::git::{GitError, Repo};
use crate::workspace::capture::{PhaseRange, RefChange};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    pub name: String,
    pub before: Option<String>,
    pub after: Option<String>,
    /// The ref was put back to `before` (or deleted if it did not exist).
    pub restored: bool,
}

/// Refs an agent may create or move during a phase of this issue.
pub fn is_allowed(name: &str, issue_branch: &str, stack: &[String]) -> bool {
    if name.starts_with("refs/orch/") || name.starts_with("refs/remotes/") || name == "refs/stash" {
        return true;
    }
    match name.strip_prefix("refs/heads/") {
        Some(branch) => branch == issue_branch || stack.iter().any(|s| s == branch),
        None => false,
    }
}

/// Finds the violations among a phase's changed refs and, when `restore`, undoes them.
/// `stack` holds the branches of the issue's stack (the issue branch and the branches its
/// phases created on top of it).
pub fn audit(
    repo: &Repo,
    range: &PhaseRange,
    issue_branch: &str,
    stack: &[String],
    restore: bool,
) -> Result<Vec<Violation>, GitError> {
    let mut out = Vec::new();
    for RefChange {
        name,
        before,
        after,
    } in &range.refs_changed
    {
        if is_allowed(name, issue_branch, stack) {
            continue;
        }
        let mut restored = false;
        if restore {
            match before.as_deref() {
                Some(value) if value.starts_with("ref: ") => {}
                Some(oid) => {
                    repo.set_ref(name, oid, "orch: undo a change outside the issue's stack")?;
                    restored = true;
                }
                None => {
                    repo.delete_ref(name)?;
                    restored = true;
                }
            }
        }
        out.push(Violation {
            name: name.clone(),
            before: before.clone(),
            after: after.clone(),
            restored,
        });
    }
    Ok(out)
}

/// The changed paths a task's `forbidden_paths` globs match, each with the first pattern that
/// matched. A pattern naming a directory (`vendor/` or `vendor`) covers everything under it.
pub fn forbidden_changes<'p>(
    patterns: &[String],
    paths: impl Iterator<Item = &'p str>,
) -> Vec<(String, String)> {
    let globs: Vec<(String, Vec<globset::GlobMatcher>)> = patterns
        .iter()
        .map(|p| {
            let base = p.trim_end_matches('/');
            let matchers = [base.to_owned(), format!("{base}/**")]
                .iter()
                .filter_map(|g| globset::Glob::new(g).ok())
                .map(|g| g.compile_matcher())
                .collect();
            (p.clone(), matchers)
        })
        .collect();
    let mut out: Vec<(String, String)> = Vec::new();
    for path in paths {
        if let Some((pattern, _)) = globs
            .iter()
            .find(|(_, ms)| ms.iter().any(|m| m.is_match(path)))
        {
            if !out.iter().any(|(p, _)| p == path) {
                out.push((path.to_owned(), pattern.clone()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{forbidden_changes, is_allowed};

    #[test]
    fn forbidden_paths_match_files_and_directories() {
        let patterns = vec![
            "vendor/".to_owned(),
            "*.lock".to_owned(),
            "docs/api".to_owned(),
        ];
        let got = forbidden_changes(
            &patterns,
            [
                "src/a.rs",
                "vendor/x/y.c",
                "Cargo.lock",
                "docs/api/index.md",
                "docs/apis.md",
            ]
            .into_iter(),
        );
        let paths: Vec<&str> = got.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["vendor/x/y.c", "Cargo.lock", "docs/api/index.md"]);
        assert_eq!(got[0].1, "vendor/");
    }

    #[test]
    fn only_the_issue_stack_and_orch_refs_may_move() {
        let stack = vec!["orch/M1/A-1-x".to_owned(), "a1-part-2".to_owned()];
        let table = [
            ("refs/heads/orch/M1/A-1-x", true),
            ("refs/heads/a1-part-2", true),
            ("refs/orch/runs/r/A-1/01-dev", true),
            ("refs/remotes/origin/main", true),
            ("refs/heads/main", false),
            ("refs/heads/orch/M1/B-2-y", false),
            ("refs/tags/v1.0", false),
            ("refs/notes/commits", false),
        ];
        for (name, want) in table {
            assert_eq!(is_allowed(name, "orch/M1/A-1-x", &stack), want, "{name}");
        }
    }
}
