//! The dev-auto contract between orch and its phase prompts: what a phase is given (the
//! `ORCH_CONTEXT` block, [`context`]) and what it must give back (a result matching its
//! phase's schema, [`schema`], about the issue, branch and worktree it was given: checked
//! here by [`Expected::check`], for every runner alike).

pub mod context;
pub mod schema;

use crate::model::phase::{PhaseFailure, PhaseKind};
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;

/// What a phase's result must be: valid against `schema`, and about this phase.
#[derive(Debug, Clone)]
pub struct Expected {
    pub schema: Arc<Value>,
    pub phase: PhaseKind,
    pub issue_id: String,
    pub milestone_id: String,
    pub branch: String,
    pub worktree_path: String,
}

impl Expected {
    /// The schema, then the identity fields against what the phase was given.
    pub fn check(&self, value: &Value) -> Result<(), PhaseFailure> {
        schema::validate(&self.schema, value)
            .map_err(|errors| PhaseFailure::SchemaMismatch { errors })?;
        let text = |key: &str| value.get(key).and_then(Value::as_str).unwrap_or_default();
        let fields = [
            ("phase", self.phase.name()),
            ("issueId", &self.issue_id),
            ("milestoneId", &self.milestone_id),
            ("branch", &self.branch),
        ];
        for (field, want) in fields {
            if text(field) != want {
                return Err(mismatch(field, want, text(field)));
            }
        }
        let found = text("worktreePath");
        if !same_path(found, &self.worktree_path) {
            return Err(mismatch("worktreePath", &self.worktree_path, found));
        }
        Ok(())
    }
}

fn mismatch(field: &str, expected: &str, found: &str) -> PhaseFailure {
    PhaseFailure::IdentityMismatch {
        field: field.to_owned(),
        expected: expected.to_owned(),
        found: found.to_owned(),
    }
}

/// The same directory: compared after canonicalisation (where it exists), a trailing `/`
/// ignored.
fn same_path(a: &str, b: &str) -> bool {
    let norm = |p: &str| {
        let trimmed = if p.len() > 1 {
            p.trim_end_matches('/')
        } else {
            p
        };
        std::fs::canonicalize(Path::new(trimmed))
            .map(|c| c.display().to_string())
            .unwrap_or_else(|_| trimmed.to_owned())
    };
    !a.is_empty() && norm(a) == norm(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn expected(kind: PhaseKind, worktree: &str) -> Expected {
        Expected {
            schema: schema::Schemas::builtin().of(kind).value.clone(),
            phase: kind,
            issue_id: "LEDGER-2".into(),
            milestone_id: "M1".into(),
            branch: "orch/ledger-api/M1/LEDGER-2-post".into(),
            worktree_path: worktree.into(),
        }
    }

    /// The contract's own kinds of result, written by hand.
    fn dev_pass(worktree: &str) -> Value {
        json!({
            "phase": "dev", "status": "pass", "issueId": "LEDGER-2", "milestoneId": "M1",
            "branch": "orch/ledger-api/M1/LEDGER-2-post", "worktreePath": worktree,
            "summary": "Implemented the posting endpoint.",
            "testsRun": [{"command": "cargo test", "status": "pass", "notes": ""}],
            "docsUpdated": [], "draftPrs": [], "stackBranches": ["orch/ledger-api/M1/LEDGER-2-post"],
            "deferred": [], "openQuestions": []
        })
    }

    fn review(status: &str, worktree: &str) -> Value {
        json!({
            "phase": "review", "status": status, "issueId": "LEDGER-2", "milestoneId": "M1",
            "branch": "orch/ledger-api/M1/LEDGER-2-post", "worktreePath": worktree,
            "summary": "Reviewed.",
            "issues": if status == "pass" { json!([]) } else {
                json!([{"severity": "high", "title": "Unbalanced postings", "details": "Debits may differ from credits.", "evidence": "src/post.rs:40"}])
            },
            "requiredActions": if status == "pass" { json!([]) } else { json!(["Reject unbalanced postings"]) },
            "followups": [], "reviewDocPath": "", "confidence": "high"
        })
    }

    #[test]
    fn the_contracts_results_validate() {
        let dir = tempfile::tempdir().unwrap();
        let wt = dir.path().display().to_string();
        expected(PhaseKind::Dev, &wt).check(&dev_pass(&wt)).unwrap();
        let mut fix = dev_pass(&wt);
        fix["phase"] = json!("fix");
        expected(PhaseKind::Fix, &wt).check(&fix).unwrap();
        expected(PhaseKind::Review, &wt)
            .check(&review("pass", &wt))
            .unwrap();
        expected(PhaseKind::Review, &wt)
            .check(&review("changes_required", &wt))
            .unwrap();
        // A trailing slash, and another spelling of the same directory, are the same path.
        let mut slashed = dev_pass(&format!("{wt}/"));
        expected(PhaseKind::Dev, &wt).check(&slashed).unwrap();
        slashed["worktreePath"] = json!(format!("{wt}/./"));
        expected(PhaseKind::Dev, &wt).check(&slashed).unwrap();
    }

    #[test]
    fn each_kind_of_deviation_is_refused() {
        let wt = "/nonexistent/wt";
        let dev = expected(PhaseKind::Dev, wt);
        let schema_errors = |v: &Value| match dev.check(v) {
            Err(PhaseFailure::SchemaMismatch { errors }) => errors.join("; "),
            other => panic!("{other:?}"),
        };
        let mut missing = dev_pass(wt);
        missing.as_object_mut().unwrap().remove("milestoneId");
        assert!(schema_errors(&missing).contains("\"milestoneId\" is a required property"));
        let mut bad_enum = dev_pass(wt);
        bad_enum["status"] = json!("done");
        assert!(schema_errors(&bad_enum).starts_with("/status: "));
        let mut extra = dev_pass(wt);
        extra["commits"] = json!([]);
        assert!(schema_errors(&extra).contains("commits"));
        let mut old_shape = dev_pass(wt);
        old_shape["testsRun"][0]["notes"] = json!(null);
        assert!(schema_errors(&old_shape).starts_with("/testsRun/0/notes"));
        let mut other_issue = dev_pass(wt);
        other_issue["issueId"] = json!("LEDGER-3");
        assert_eq!(
            dev.check(&other_issue).unwrap_err().to_string(),
            "the result is about another issueId: `LEDGER-3`, but this phase was given `LEDGER-2`"
        );
        let mut elsewhere = dev_pass(wt);
        elsewhere["worktreePath"] = json!("/somewhere/else");
        assert!(matches!(
            dev.check(&elsewhere),
            Err(PhaseFailure::IdentityMismatch { field, .. }) if field == "worktreePath"
        ));
        let mut branch = dev_pass(wt);
        branch["branch"] = json!("main");
        assert!(dev.check(&branch).is_err());
        // A review result given to a dev phase is refused by the schema (its phase enum).
        assert!(dev.check(&review("pass", wt)).is_err());
    }
}
