//! A commit's checks as one list: GitHub's check runs (Actions jobs among them) and the
//! older commit statuses. For a failed Actions job, its log; for another check, its output.

use super::{text, Forge, ForgeError};
use serde_json::Value;

/// Where a check comes from, for where its evidence is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A GitHub Actions job: its log is at the job-log API (a check run's id is its job's).
    Actions { job: u64 },
    /// Another app's check run, with the output it reported.
    CheckRun { output: String },
    /// A commit status, with its description.
    Status { description: String },
}

/// How a check stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Pending,
    /// Success, or a conclusion that does not block (`neutral`, `skipped`).
    Passed,
    /// The failing conclusion (`failure`, `timed_out`, `cancelled`, `action_required`,
    /// `startup_failure`, `stale`; a status's `failure` or `error`).
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: String,
    pub state: State,
    pub url: String,
    pub source: Source,
}

impl Forge {
    /// Every check run and status on `sha`; a name reported by both is the check run's.
    pub async fn checks(&self, sha: &str) -> Result<Vec<Check>, ForgeError> {
        let repo = self.repo_path();
        let runs = (self.client)
            .get(&format!("{repo}/commits/{sha}/check-runs?per_page=100"))
            .await?;
        let mut checks: Vec<Check> = (runs["check_runs"].as_array().into_iter().flatten())
            .map(check_run)
            .collect();
        let status = (self.client)
            .get(&format!("{repo}/commits/{sha}/status"))
            .await?;
        for s in status["statuses"].as_array().into_iter().flatten() {
            let check = commit_status(s);
            if !checks.iter().any(|c| c.name == check.name) {
                checks.push(check);
            }
        }
        Ok(checks)
    }

    /// The log of Actions job `job` (GitHub redirects to storage; the client follows
    /// without the token).
    pub async fn job_log(&self, job: u64) -> Result<String, ForgeError> {
        (self.client)
            .get_text(&format!("{}/actions/jobs/{job}/logs", self.repo_path()))
            .await
    }
}

fn check_run(v: &Value) -> Check {
    let state = match (v["status"].as_str(), v["conclusion"].as_str()) {
        (Some("completed"), Some("success" | "neutral" | "skipped")) => State::Passed,
        (Some("completed"), Some(other)) => State::Failed(other.to_owned()),
        (Some("completed"), None) => State::Failed("unknown".to_owned()),
        _ => State::Pending,
    };
    let source = match (
        v.pointer("/app/slug").and_then(Value::as_str),
        v["id"].as_u64(),
    ) {
        (Some("github-actions"), Some(job)) => Source::Actions { job },
        _ => Source::CheckRun {
            output: [
                text(v, "/output/title"),
                text(v, "/output/summary"),
                text(v, "/output/text"),
            ]
            .into_iter()
            .filter(|s| !s.trim().is_empty())
            .collect::<Vec<_>>()
            .join("\n"),
        },
    };
    Check {
        name: text(v, "/name"),
        state,
        url: [text(v, "/html_url"), text(v, "/details_url")]
            .into_iter()
            .find(|u| !u.is_empty())
            .unwrap_or_default(),
        source,
    }
}

fn commit_status(v: &Value) -> Check {
    let state = match v["state"].as_str() {
        Some("success") => State::Passed,
        Some("pending") | None => State::Pending,
        Some(other) => State::Failed(other.to_owned()),
    };
    Check {
        name: text(v, "/context"),
        state,
        url: text(v, "/target_url"),
        source: Source::Status {
            description: text(v, "/description"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn check_runs_and_statuses_read_as_one_kind_of_check() {
        let rows = [
            (json!({"name": "t", "status": "queued"}), State::Pending),
            (
                json!({"name": "t", "status": "completed", "conclusion": "success"}),
                State::Passed,
            ),
            (
                json!({"name": "t", "status": "completed", "conclusion": "skipped"}),
                State::Passed,
            ),
            (
                json!({"name": "t", "status": "completed", "conclusion": "timed_out"}),
                State::Failed("timed_out".into()),
            ),
        ];
        for (v, want) in rows {
            assert_eq!(check_run(&v).state, want, "{v}");
        }
        let actions = check_run(
            &json!({"id": 42, "name": "test", "app": {"slug": "github-actions"},
            "status": "completed", "conclusion": "failure", "html_url": "h"}),
        );
        assert_eq!(actions.source, Source::Actions { job: 42 });
        let other = check_run(
            &json!({"id": 7, "name": "lint", "app": {"slug": "circleci"},
            "output": {"title": "2 problems", "summary": "", "text": "a.rs:1 unused"}}),
        );
        assert_eq!(
            other.source,
            Source::CheckRun {
                output: "2 problems\na.rs:1 unused".into()
            }
        );
        let status = commit_status(&json!({"context": "ci/jenkins", "state": "error",
            "target_url": "j", "description": "build broke"}));
        assert_eq!(status.state, State::Failed("error".into()));
    }
}
