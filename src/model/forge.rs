//! What orch knows of an issue's pull request after it opened it: the feedback a fix phase
//! is given (failed checks with their log's excerpt, unresolved review threads), and the
//! watch's record (its cycles, the threads answered, how it ended). Pure data: the forge
//! layer reads it off GitHub, the engine decides on it, the run state keeps it.

use serde::{Deserialize, Serialize};

/// A check that failed on the PR's head, as the fix phase gets it (`ciFailures`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CiFailure {
    pub check: String,
    /// `failure`, `timed_out`, `cancelled`, `action_required`, `error`, …
    pub conclusion: String,
    pub url: String,
    /// The failed job's log around its first error (bounded), or the check's own output.
    pub log_excerpt: String,
}

/// One unresolved review thread, or a change request, as the fix phase gets it
/// (`reviewComments`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewComment {
    /// The thread's id (a review's, for a change request outside any thread).
    pub thread_id: String,
    /// The file it is on (`""` for a change request).
    pub path: String,
    pub line: Option<u64>,
    pub author: String,
    /// The thread's comments, oldest first, each as `author: body`.
    pub body: String,
    pub url: String,
}

/// What the forge says an issue's next fix must address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Feedback {
    pub ci_failures: Vec<CiFailure>,
    pub review_comments: Vec<ReviewComment>,
}

impl Feedback {
    pub fn is_empty(&self) -> bool {
        self.ci_failures.is_empty() && self.review_comments.is_empty()
    }

    /// The feedback as a review result (`changes_required`), for the fix prompts written for
    /// one: each failed check and each thread an issue and a required action.
    pub fn as_review(&self) -> serde_json::Value {
        let mut issues = Vec::new();
        let mut actions = Vec::new();
        for f in &self.ci_failures {
            issues.push(serde_json::json!({
                "severity": "high",
                "title": format!("CI check `{}` {}", f.check, f.conclusion),
                "details": format!("The check failed on the pull request's head ({}).", f.url),
                "evidence": f.log_excerpt,
            }));
            actions.push(format!("Make the check `{}` pass", f.check));
        }
        for c in &self.review_comments {
            let at = match c.line {
                Some(line) if !c.path.is_empty() => format!(" on {}:{line}", c.path),
                _ if !c.path.is_empty() => format!(" on {}", c.path),
                _ => String::new(),
            };
            issues.push(serde_json::json!({
                "severity": "medium",
                "title": format!("Review thread {}{at} by {}", c.thread_id, c.author),
                "details": c.body,
                "evidence": c.url,
            }));
            actions.push(format!(
                "Address or decline review thread {} (say which in `threads`)",
                c.thread_id
            ));
        }
        serde_json::json!({
            "phase": "review",
            "status": "changes_required",
            "summary": self.headline(),
            "issues": issues,
            "requiredActions": actions,
            "followups": [],
            "reviewDocPath": "",
            "confidence": "high",
        })
    }

    /// `2 failed checks (ci/test, lint) and 1 review thread`.
    pub fn headline(&self) -> String {
        let mut parts = Vec::new();
        if !self.ci_failures.is_empty() {
            let names: Vec<&str> = self.ci_failures.iter().map(|f| f.check.as_str()).collect();
            parts.push(format!(
                "{} failed check(s) ({})",
                names.len(),
                names.join(", ")
            ));
        }
        if !self.review_comments.is_empty() {
            parts.push(format!(
                "{} unresolved review thread(s)",
                self.review_comments.len()
            ));
        }
        if parts.is_empty() {
            "nothing to fix".to_owned()
        } else {
            format!("On the pull request: {}", parts.join(" and "))
        }
    }
}

/// How a fix said it handled one thread (the fix result's `threads`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadAnswer {
    pub thread_id: String,
    /// `addressed` or `declined`.
    pub status: String,
    /// The commit that addressed it (`addressed`).
    #[serde(default)]
    pub commit: String,
    /// Why it was declined, or what was done.
    #[serde(default)]
    pub reason: String,
}

/// How watching an issue's PR ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WatchOutcome {
    /// The checks pass and no thread is open.
    Green,
    /// `max_forge_cycles` fixes ran and the forge still reports something.
    Capped,
    /// A fix failed or deferred, or the branch moved under orch: a human decides.
    Blocked,
    Merged,
    Closed,
}

impl WatchOutcome {
    pub fn name(self) -> &'static str {
        match self {
            WatchOutcome::Green => "green",
            WatchOutcome::Capped => "capped",
            WatchOutcome::Blocked => "blocked",
            WatchOutcome::Merged => "merged",
            WatchOutcome::Closed => "closed",
        }
    }
}

/// The last look at a PR: its checks and open threads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sighting {
    /// The head commit looked at.
    pub head: String,
    /// Check name → `pass`, `pending` or its failing conclusion.
    pub checks: Vec<(String, String)>,
    /// Unresolved threads and change requests orch has not answered.
    pub open_threads: usize,
}

/// A fix the watch started and has not finished (its phase's number): a restart after a
/// crash knows to pin what it committed and finish it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixInFlight {
    pub seq: u32,
    pub feedback: Feedback,
    /// The PR's head the fix started from (what its failed checks were seen on).
    #[serde(default)]
    pub head: String,
    /// The fix phase finished and passed: only its push and replies are left.
    #[serde(default)]
    pub fixed: bool,
    /// Its answers to the threads, once it finished.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<ThreadAnswer>,
}

/// An issue's watch, as the run state keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchRecord {
    /// Fix phases the forge started.
    pub cycles: u32,
    /// Set once the watch ended for this issue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<WatchOutcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Threads orch replied in (never twice).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replied: Vec<String>,
    /// Failed checks a fix took up, as `<head> <check>` (not taken up twice).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taken_up: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixing: Option<FixInFlight>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<Sighting>,
    /// Looks at a head that had no check at all (after a few, it counts as green).
    #[serde(default)]
    pub quiet: u32,
    /// Looks in a row at a PR whose head is not what orch pushed last (GitHub catching up
    /// with a push, or someone else's commit).
    #[serde(default)]
    pub lag: u32,
}

impl WatchRecord {
    /// The key of check `check` failing on `head` in [`WatchRecord::taken_up`].
    pub fn taken_key(head: &str, check: &str) -> String {
        format!("{head} {check}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feedback_reads_as_a_review_a_fix_prompt_knows() {
        let feedback = Feedback {
            ci_failures: vec![CiFailure {
                check: "test".into(),
                conclusion: "failure".into(),
                url: "u".into(),
                log_excerpt: "assertion failed".into(),
            }],
            review_comments: vec![ReviewComment {
                thread_id: "T1".into(),
                path: "src/a.rs".into(),
                line: Some(3),
                author: "ana".into(),
                body: "ana: rename this".into(),
                url: "v".into(),
            }],
        };
        let review = feedback.as_review();
        assert_eq!(review["status"], "changes_required");
        assert_eq!(review["requiredActions"].as_array().unwrap().len(), 2);
        assert_eq!(review["issues"][0]["evidence"], "assertion failed");
        assert!(review["issues"][1]["title"]
            .as_str()
            .unwrap()
            .contains("src/a.rs:3"));
        assert_eq!(
            feedback.headline(),
            "On the pull request: 1 failed check(s) (test) and 1 unresolved review thread(s)"
        );
        let json = serde_json::to_value(&feedback).unwrap();
        assert!(json["ciFailures"][0]["logExcerpt"].is_string());
        assert!(json["reviewComments"][0]["threadId"].is_string());
    }
}
