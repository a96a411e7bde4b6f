//! Approval gates: a task (or the whole plan) names gates in `approvals.required`
//! (`apply_patch`, `deploy`, `tag`, …); orch pauses before the gated action until a human
//! runs `orch approve <gate> [--task ID]`.
//!
//! What each gate guards: `apply_patch` guards the agent's work on the task (nothing starts
//! before it is approved); any other gate guards the task's command of the same name
//! (`commands.deploy`, `commands.tag`, …), run after the task converged.
//!
//! Approvals are kept per milestone (a plan's name) in
//! `<git common dir>/orch/approvals/[<project>/]<milestone>.json` — outside the tree, so they never dirty
//! it — and stand until revoked (`orch approve <gate> --revoke`). An approval without a task
//! covers every task.

use crate::model::naming::Scope;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub gate: String,
    /// The task it is for; `None` covers every task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// Who approved (`user@host`).
    pub by: String,
    /// When (RFC 3339, UTC).
    pub at: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct ApprovalFile {
    approvals: Vec<Approval>,
}

#[derive(Debug, Error)]
pub enum ApprovalError {
    #[error("cannot read approvals from {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}: the approvals file is not valid: {message}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("cannot write approvals to {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub fn path(common_dir: &Path, scope: &Scope) -> PathBuf {
    let mut path = common_dir.join("orch").join("approvals");
    if let Some(project) = &scope.project {
        path.push(crate::model::naming::ref_component(project));
    }
    path.join(format!(
        "{}.json",
        crate::model::naming::ref_component(&scope.milestone)
    ))
}

/// Every approval recorded for `scope` (none when the file does not exist).
pub fn load(common_dir: &Path, scope: &Scope) -> Result<Vec<Approval>, ApprovalError> {
    let path = path(common_dir, scope);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(ApprovalError::Read { path, source }),
    };
    serde_json::from_str::<ApprovalFile>(&text)
        .map(|f| f.approvals)
        .map_err(|e| ApprovalError::Parse {
            line: e.line(),
            message: e.to_string(),
            path,
        })
}

/// The approval that lets `task` pass `gate`, if any.
pub fn covering<'a>(approvals: &'a [Approval], gate: &str, task: &str) -> Option<&'a Approval> {
    approvals
        .iter()
        .find(|a| a.gate == gate && a.task.as_deref().is_none_or(|t| t == task))
}

/// Records an approval (replacing an identical gate/task one) and returns it.
pub fn grant(
    common_dir: &Path,
    scope: &Scope,
    gate: &str,
    task: Option<&str>,
) -> Result<Approval, ApprovalError> {
    let mut approvals = load(common_dir, scope)?;
    approvals.retain(|a| !(a.gate == gate && a.task.as_deref() == task));
    let approval = Approval {
        gate: gate.to_owned(),
        task: task.map(str::to_owned),
        by: who(),
        at: crate::util::timeutil::now_rfc3339(),
    };
    approvals.push(approval.clone());
    store(common_dir, scope, approvals)?;
    Ok(approval)
}

/// Removes the approval of `gate` for `task` (or the task-less one); how many were removed.
pub fn revoke(
    common_dir: &Path,
    scope: &Scope,
    gate: &str,
    task: Option<&str>,
) -> Result<usize, ApprovalError> {
    let mut approvals = load(common_dir, scope)?;
    let before = approvals.len();
    approvals.retain(|a| !(a.gate == gate && a.task.as_deref() == task));
    let removed = before - approvals.len();
    store(common_dir, scope, approvals)?;
    Ok(removed)
}

fn store(common_dir: &Path, scope: &Scope, approvals: Vec<Approval>) -> Result<(), ApprovalError> {
    let path = path(common_dir, scope);
    let bytes = serde_json::to_vec_pretty(&ApprovalFile { approvals }).expect("serialises");
    crate::util::fsutil::write_atomically(&path, &bytes)
        .map_err(|source| ApprovalError::Write { path, source })
}

fn who() -> String {
    let user = ["USER", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned());
    format!("{user}@{}", crate::util::platform::hostname())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m() -> Scope {
        Scope::new(None, "m")
    }

    #[test]
    fn grant_cover_revoke() {
        let dir = tempfile::tempdir().unwrap();
        let common = dir.path();
        assert!(load(common, &m()).unwrap().is_empty());
        grant(common, &m(), "deploy", Some("T-1")).unwrap();
        let all = load(common, &m()).unwrap();
        assert!(covering(&all, "deploy", "T-1").is_some());
        assert!(covering(&all, "deploy", "T-2").is_none());
        assert!(covering(&all, "tag", "T-1").is_none());
        grant(common, &m(), "tag", None).unwrap();
        let all = load(common, &m()).unwrap();
        assert!(
            covering(&all, "tag", "T-9").is_some(),
            "task-less covers all"
        );
        assert!(
            load(common, &Scope::new(Some("p"), "m"))
                .unwrap()
                .is_empty(),
            "per milestone"
        );
        assert_eq!(revoke(common, &m(), "deploy", Some("T-1")).unwrap(), 1);
        assert!(covering(&load(common, &m()).unwrap(), "deploy", "T-1").is_none());
    }

    #[test]
    fn a_broken_file_is_an_error_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = path(dir.path(), &m());
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, "{\n  \"approvals\": [\n    oops\n").unwrap();
        let e = load(dir.path(), &m()).unwrap_err().to_string();
        assert!(e.contains("m.json:3:"), "{e}");
    }
}
