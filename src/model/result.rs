//! A phase's result as the engine reads it: the fields the loop decides on (its status, the
//! summary, the review's required actions, what was deferred or left open, the draft PRs),
//! read once at the runner boundary from the agent's JSON after it met its schema. The JSON
//! stays whole beside them: it is what `result.json` keeps and the next phase's prompt quotes.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a phase reported (the contract's statuses: `pass`, `failed`, `deferred` for dev and
/// fix; `pass`, `changes_required`, `blocked` for a review).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Pass,
    Failed,
    Deferred,
    ChangesRequired,
    Blocked,
    /// One the contract does not name (a repository's schema may allow more): the loop
    /// treats it as it treats no verdict.
    Other(String),
}

impl Status {
    pub fn parse(text: &str) -> Status {
        match text {
            "pass" => Status::Pass,
            "failed" => Status::Failed,
            "deferred" => Status::Deferred,
            "changes_required" => Status::ChangesRequired,
            "blocked" => Status::Blocked,
            other => Status::Other(other.to_owned()),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Status::Pass => "pass",
            Status::Failed => "failed",
            Status::Deferred => "deferred",
            Status::ChangesRequired => "changes_required",
            Status::Blocked => "blocked",
            Status::Other(other) => other,
        }
    }
}

/// A phase's result, typed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "Value", into = "Value")]
pub struct PhaseResult {
    pub status: Status,
    pub summary: String,
    /// What a review requires before it can pass.
    pub required_actions: Vec<String>,
    /// What a dev or fix phase left for a human, and the questions it could not answer.
    pub deferred: Vec<String>,
    pub open_questions: Vec<String>,
    /// The draft pull requests it opened.
    pub draft_prs: Vec<String>,
    /// The result as the agent gave it.
    pub json: Value,
}

impl From<Value> for PhaseResult {
    /// Reads the fields the loop decides on (a field missing or of another shape reads as
    /// empty: the schema decided what must be there).
    fn from(json: Value) -> PhaseResult {
        let text = |key: &str| json.get(key).and_then(Value::as_str).unwrap_or_default();
        let list = |key: &str| -> Vec<String> {
            let items = json.get(key).and_then(Value::as_array);
            let strings = items.into_iter().flatten().filter_map(Value::as_str);
            strings.map(str::to_owned).collect()
        };
        PhaseResult {
            status: Status::parse(text("status")),
            summary: text("summary").to_owned(),
            required_actions: list("requiredActions"),
            deferred: list("deferred"),
            open_questions: list("openQuestions"),
            draft_prs: list("draftPrs"),
            json,
        }
    }
}

impl From<PhaseResult> for Value {
    fn from(result: PhaseResult) -> Value {
        result.json
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_result_reads_the_fields_the_loop_decides_on_and_keeps_the_rest() {
        let json = json!({"status": "changes_required", "summary": "close",
            "requiredActions": ["rename it", 3], "issues": [{"title": "x"}]});
        let result = PhaseResult::from(json.clone());
        assert_eq!(result.status, Status::ChangesRequired);
        assert_eq!(result.summary, "close");
        assert_eq!(result.required_actions, ["rename it"]);
        assert!(result.deferred.is_empty() && result.draft_prs.is_empty());
        assert_eq!(
            serde_json::to_value(&result).unwrap(),
            json,
            "the JSON round-trips whole"
        );
        let back: PhaseResult = serde_json::from_value(json).unwrap();
        assert_eq!(back, result);
        for (text, status) in [
            ("pass", Status::Pass),
            ("failed", Status::Failed),
            ("deferred", Status::Deferred),
            ("blocked", Status::Blocked),
            ("later", Status::Other("later".into())),
        ] {
            assert_eq!(Status::parse(text), status);
            assert_eq!(status.name(), text);
        }
        let dev = PhaseResult::from(json!({"status": "deferred", "deferred": ["currency"],
            "openQuestions": ["which?"], "draftPrs": ["https://github.com/o/r/pull/1"]}));
        assert_eq!(dev.deferred, ["currency"]);
        assert_eq!(dev.open_questions, ["which?"]);
        assert_eq!(dev.draft_prs, ["https://github.com/o/r/pull/1"]);
        assert_eq!(
            PhaseResult::from(json!(null)).status,
            Status::Other(String::new())
        );
    }
}
