//! What every phase is given: the `ORCH_CONTEXT:` block at the top of its prompt, one JSON
//! object with the dev-auto contract's keys (plus `projectId` and `phase`), which prompt
//! authors treat as authoritative. The same values are the templates' placeholders.

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The first line of the block.
pub const MARKER: &str = "ORCH_CONTEXT:";

/// The contract's inputs of one phase.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseContext {
    pub issue_id: String,
    /// The issue doc as committed on the branch: absolute, inside the worktree.
    pub issue_doc_path: String,
    pub milestone_id: String,
    /// The milestone doc, likewise (`""` when the milestone has none).
    pub milestone_doc_path: String,
    pub branch_name: String,
    /// Absolute: the phase's working directory.
    pub worktree_path: String,
    pub max_review_cycles: u32,
    /// 1-based: the review cycle this phase belongs to.
    pub review_cycle: u32,
    /// `""` in a docs tree without projects.
    pub project_id: String,
    pub phase: String,
    /// Review phases after a fix: what the fix said it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prior_fix_summary: Option<String>,
    /// Fix phases: the review result to address, inline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review_result: Option<Value>,
    /// A fix the pull request's forge started: its failed checks, with their logs' excerpts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ci_failures: Option<Vec<crate::model::forge::CiFailure>>,
    /// The same: the review threads and change requests it answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review_comments: Option<Vec<crate::model::forge::ReviewComment>>,
}

impl PhaseContext {
    /// `ORCH_CONTEXT:` and the JSON object on the lines after it.
    pub fn block(&self) -> String {
        let json = serde_json::to_string_pretty(self).expect("context serialises");
        format!("{MARKER}\n{json}\n")
    }

    /// The same values as template placeholders (`{{issueId}}`, …); an optional one that
    /// does not apply to this phase is `""`.
    pub fn placeholders(&self) -> BTreeMap<&'static str, String> {
        let mut out = BTreeMap::new();
        out.insert("issueId", self.issue_id.clone());
        out.insert("issueDocPath", self.issue_doc_path.clone());
        out.insert("milestoneId", self.milestone_id.clone());
        out.insert("milestoneDocPath", self.milestone_doc_path.clone());
        out.insert("branchName", self.branch_name.clone());
        out.insert("worktreePath", self.worktree_path.clone());
        out.insert("maxReviewCycles", self.max_review_cycles.to_string());
        out.insert("reviewCycle", self.review_cycle.to_string());
        out.insert("projectId", self.project_id.clone());
        out.insert("phase", self.phase.clone());
        out.insert(
            "priorFixSummary",
            self.prior_fix_summary.clone().unwrap_or_default(),
        );
        out.insert(
            "reviewResult",
            self.review_result
                .as_ref()
                .map(|r| serde_json::to_string_pretty(r).unwrap_or_default())
                .unwrap_or_default(),
        );
        out
    }
}

/// The prompt's context block, read back (what an agent, or a test, does): the one it opens
/// with, or the one on a line of its own where a prompt file of the user's own placed its
/// input (`$ARGUMENTS`).
pub fn parse(prompt: &str) -> Option<Value> {
    let at = if prompt.starts_with(MARKER) {
        0
    } else {
        prompt.find(&format!("\n{MARKER}"))? + 1
    };
    let rest = &prompt[at + MARKER.len()..];
    serde_json::Deserializer::from_str(rest)
        .into_iter::<Value>()
        .next()?
        .ok()
        .filter(Value::is_object)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_block_reads_back_with_the_contract_keys() {
        let ctx = PhaseContext {
            issue_id: "LEDGER-2".into(),
            issue_doc_path: "/wt/ledger-api/M1/LEDGER-2/docs/projects/ledger-api/issues/L2.md"
                .into(),
            milestone_id: "M1".into(),
            milestone_doc_path: String::new(),
            branch_name: "orch/ledger-api/M1/LEDGER-2-post".into(),
            worktree_path: "/wt/ledger-api/M1/LEDGER-2".into(),
            max_review_cycles: 2,
            review_cycle: 2,
            project_id: "ledger-api".into(),
            phase: "review".into(),
            prior_fix_summary: Some("Balanced the postings.".into()),
            review_result: None,
            ci_failures: None,
            review_comments: None,
        };
        let prompt = format!("{}\n# Review\n", ctx.block());
        let back = parse(&prompt).unwrap();
        assert_eq!(back["issueId"], "LEDGER-2");
        assert_eq!(back["branchName"], "orch/ledger-api/M1/LEDGER-2-post");
        assert_eq!(back["reviewCycle"], 2);
        assert_eq!(back["priorFixSummary"], "Balanced the postings.");
        assert!(back.get("reviewResult").is_none());
        assert!(back.get("ciFailures").is_none() && back.get("reviewComments").is_none());
        assert_eq!(ctx.placeholders()["reviewResult"], "");
        assert!(parse("# no block\n").is_none());
    }
}
