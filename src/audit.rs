//! The post-phase ref audit: the backstop behind the guard. Anything the agent did to refs
//! outside its issue's stack (and orch's own `refs/orch/`) — through a blocked command, the
//! real binary by absolute path, or plain file writes — shows up as a changed ref between
//! the phase's before/after snapshots. Each is a violation: recorded, and by default undone.

use crate::capture::{PhaseRange, RefChange};
use crate::git::{GitError, Repo};
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

#[cfg(test)]
mod tests {
    use super::is_allowed;

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
