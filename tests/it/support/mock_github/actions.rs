//! The stand-in's GitHub Actions: orch's workflow dispatched (run at once by the stand-in
//! runner, [`crate::support::actions_runner`], on a thread of its own), a workflow run read,
//! the runs of the workflow listed, a run cancelled (its step's process group killed).

use super::{MockGithub, Reply, Server, State};
use crate::support::actions_runner::{ActionsRunner, Dispatch};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

/// A workflow run the stand-in holds.
#[derive(Debug, Clone)]
pub struct Run {
    pub id: u64,
    pub title: String,
    pub inputs: Value,
    pub status: String,
    pub conclusion: Option<String>,
    /// The process group of the step running now.
    pub group: Option<u32>,
}

impl MockGithub {
    /// Runs each dispatch of orch's workflow with `runner`.
    pub fn set_runner(&self, runner: ActionsRunner) {
        self.state.lock().unwrap().runner = Some(Arc::new(runner));
    }

    /// The runner that runs the dispatches (to script its next one).
    pub fn runner(&self) -> Arc<ActionsRunner> {
        self.state.lock().unwrap().runner.clone().expect("a runner")
    }

    pub fn workflow_runs(&self) -> Vec<Run> {
        self.state.lock().unwrap().workflow_runs.clone()
    }
}

impl Server {
    /// `/repos/<slug>/actions/…`.
    pub(super) fn actions(
        &self,
        st: &mut State,
        method: &str,
        segments: &[&str],
        body: &Value,
    ) -> Reply {
        match (method, segments) {
            ("POST", ["workflows", "orch-issue.yml", "dispatches"]) => self.dispatch(st, body),
            ("GET", ["workflows", "orch-issue.yml", "runs"]) => {
                let runs: Vec<Value> = st.workflow_runs.iter().map(|r| self.run_json(r)).collect();
                Reply::json(
                    200,
                    json!({"total_count": runs.len(), "workflow_runs": runs}),
                )
            }
            ("GET", ["runs", id]) => {
                match (st.workflow_runs.iter()).find(|r| r.id.to_string() == *id) {
                    Some(run) => Reply::json(200, self.run_json(run)),
                    None => Reply::error(404, "Not Found"),
                }
            }
            ("POST", ["runs", id, "cancel"]) => {
                let Some(run) = (st.workflow_runs.iter_mut()).find(|r| r.id.to_string() == *id)
                else {
                    return Reply::error(404, "Not Found");
                };
                if run.status != "completed" {
                    if let Some(group) = run.group {
                        // SAFETY: kill(2) on a process group the stand-in started.
                        unsafe { libc::kill(-(group as i32), libc::SIGTERM) };
                    }
                    run.conclusion = Some("cancelled".into());
                }
                Reply::json(202, json!({}))
            }
            _ => Reply::error(404, "Not Found"),
        }
    }

    fn dispatch(&self, st: &mut State, body: &Value) -> Reply {
        let Some(runner) = st.runner.clone() else {
            return Reply::error(404, "Not Found: no workflow orch-issue.yml");
        };
        let id = 7000 + st.workflow_runs.len() as u64;
        let dispatch = Dispatch {
            id,
            git_ref: body["ref"].as_str().unwrap_or("main").to_owned(),
            inputs: body["inputs"].clone(),
        };
        let run = Run {
            id,
            title: runner.title(&dispatch),
            inputs: dispatch.inputs.clone(),
            status: "queued".into(),
            conclusion: None,
            group: None,
        };
        let value = self.run_json(&run);
        st.workflow_runs.push(run);
        let state = self.state.clone();
        std::thread::spawn(move || execute(state, &runner, &dispatch));
        if body["return_run_details"].as_bool() == Some(true) {
            return Reply::json(
                200,
                json!({"workflow_run_id": id, "run_url": value["url"], "html_url": value["html_url"]}),
            );
        }
        Reply {
            status: 204,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    fn run_json(&self, run: &Run) -> Value {
        json!({
            "id": run.id, "name": "orch issue", "display_title": run.title,
            "event": "workflow_dispatch", "status": run.status, "conclusion": run.conclusion,
            "url": format!("http://127.0.0.1:{}/repos/{}/actions/runs/{}", self.port, self.slug, run.id),
            "html_url": format!("https://github.test/{}/actions/runs/{}", self.slug, run.id),
        })
    }
}

/// Runs `dispatch` and records its state as it goes.
fn execute(state: Arc<Mutex<State>>, runner: &ActionsRunner, dispatch: &Dispatch) {
    let set = |f: &dyn Fn(&mut super::actions::Run)| {
        let mut st = state.lock().unwrap();
        if let Some(run) = st.workflow_runs.iter_mut().find(|r| r.id == dispatch.id) {
            f(run);
        }
    };
    set(&|r| r.status = "in_progress".into());
    let conclusion = runner.run(dispatch, &|group| set(&|r| r.group = Some(group)));
    set(&|r| {
        r.status = "completed".into();
        r.group = None;
        if r.conclusion.is_none() {
            r.conclusion = Some(conclusion.into());
        }
    });
}
