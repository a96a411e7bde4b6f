//! What the stand-in's CI reports on each new head of a PR's branch: a GitHub Actions job
//! `test` (a check run, with a job log) or an outside CI's commit status `ci/jenkins`,
//! scripted per branch as a list of outcomes, one per head.

use super::{MockGithub, Server, State};
use serde_json::{json, Value};

/// What CI reports on one head: passes, fails with this log (an Actions job's log, or a
/// status's description), or is still running at this look (the next look at that head
/// reports the next outcome).
#[derive(Debug, Clone)]
pub enum Ci {
    Pass,
    Fail(String),
    Running,
}

/// How CI reports: a check run (GitHub Actions) or a commit status (other CI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Kind {
    CheckRun,
    Status,
}

impl MockGithub {
    /// What GitHub Actions reports on the next heads of `branch`, one per head, in order; a
    /// head after them (or of a branch not named) passes.
    pub fn ci(&self, branch: &str, outcomes: Vec<Ci>) {
        let key = (Kind::CheckRun, branch.to_owned());
        self.state.lock().unwrap().ci.insert(key, outcomes.into());
    }

    /// What an outside CI reports as commit status `ci/jenkins` on the next heads of
    /// `branch`; a branch not named gets no status.
    pub fn ci_status(&self, branch: &str, outcomes: Vec<Ci>) {
        let key = (Kind::Status, branch.to_owned());
        self.state.lock().unwrap().ci.insert(key, outcomes.into());
    }
}

impl Server {
    /// CI's report of `kind` on `sha`, made the first time it is asked for (again while
    /// it runs), when `sha` is the head of an open PR.
    pub(super) fn run_ci(&self, st: &mut State, sha: &str, kind: Kind) {
        let seen = match kind {
            Kind::CheckRun => st.check_runs.contains_key(sha),
            Kind::Status => st.statuses.contains_key(sha),
        };
        if seen && !st.running.remove(&(kind, sha.to_owned())) {
            return;
        }
        let Some(branch) = (st.pulls.iter())
            .map(|p| p.head.clone())
            .find(|h| self.branch_sha(h).as_deref() == Some(sha))
        else {
            return;
        };
        let queue = st.ci.get_mut(&(kind, branch));
        let outcome = match (kind, queue) {
            (_, Some(queue)) => queue.pop_front().unwrap_or(Ci::Pass),
            (Kind::CheckRun, None) => Ci::Pass,
            (Kind::Status, None) => return,
        };
        if matches!(outcome, Ci::Running) {
            st.running.insert((kind, sha.to_owned()));
        }
        match kind {
            Kind::CheckRun => {
                let run = self.check_run(st, &outcome);
                st.check_runs.insert(sha.to_owned(), vec![run]);
            }
            Kind::Status => {
                let status = self.status(&outcome);
                st.statuses.insert(sha.to_owned(), vec![status]);
            }
        }
    }

    fn check_run(&self, st: &mut State, outcome: &Ci) -> Value {
        let job = 1000 + st.job_logs.len() as u64 + st.check_runs.len() as u64;
        let (status, conclusion) = match outcome {
            Ci::Pass => ("completed", json!("success")),
            Ci::Fail(log) => {
                st.job_logs.insert(job, log.clone());
                ("completed", json!("failure"))
            }
            Ci::Running => ("in_progress", Value::Null),
        };
        json!({"id": job, "name": "test", "status": status, "conclusion": conclusion,
            "app": {"slug": "github-actions"},
            "html_url": format!("https://github.test/{}/actions/runs/1/job/{job}", self.slug)})
    }

    fn status(&self, outcome: &Ci) -> Value {
        let (state, description) = match outcome {
            Ci::Pass => ("success", "All tests passed"),
            Ci::Fail(log) => ("failure", log.as_str()),
            Ci::Running => ("pending", "Running"),
        };
        json!({"context": "ci/jenkins", "state": state, "description": description,
            "target_url": "https://jenkins.test/job/widgets/7/"})
    }
}
