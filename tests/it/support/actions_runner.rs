//! A stand-in for a GitHub-hosted runner: for each dispatch the GitHub stand-in receives, it
//! reads the workflow from the dispatched ref of the bare remote, clones the remote afresh
//! over the transport, does what `actions/checkout` does (the commit it is given fetched by
//! its id, detached, full history), and
//! runs each `run:` step as Actions does (`bash --noprofile --norc -eo pipefail`), with the
//! job's and the step's `env:` and their `${{ … }}` expressions filled in from the dispatch's
//! inputs, the secrets and the run. An expression it does not know fails the test: a change
//! to the workflow is run as written, or not at all.
#![allow(dead_code)]

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// How the stand-in runner runs a dispatch.
#[derive(Debug, Clone)]
pub struct ActionsRunner {
    /// The bare repository the runners clone and push to.
    pub remote: PathBuf,
    /// Where each run's clone and step logs go (`<root>/<run id>/`).
    pub root: PathBuf,
    /// The machine's environment (PATH with orch and the agents, HOME, git's identity).
    pub env: Vec<(String, String)>,
    /// The repository's Actions secrets.
    pub secrets: BTreeMap<String, String>,
    /// `github.token`.
    pub token: String,
    /// `owner/name`.
    pub repository: String,
    /// Environment the next dispatch's steps get on top (then cleared): one runner made
    /// to fail, say.
    pub next_env: std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>,
    /// A shell command run (in the test's root) once the next dispatch's steps are done,
    /// before its run completes: someone tampering with what it pushed.
    pub after_next: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

/// One dispatch, as the runner gets it.
#[derive(Debug, Clone)]
pub struct Dispatch {
    pub id: u64,
    pub git_ref: String,
    pub inputs: Value,
}

impl ActionsRunner {
    /// The workflow `orch-issue.yml` at `git_ref` of the remote, as JSON.
    pub fn workflow(&self, git_ref: &str) -> Value {
        let out = Command::new(super::real_git())
            .arg("--git-dir")
            .arg(&self.remote)
            .args([
                "show",
                &format!("{git_ref}:.github/workflows/orch-issue.yml"),
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "no workflow at {git_ref}");
        serde_norway::from_str(&String::from_utf8_lossy(&out.stdout)).expect("workflow YAML")
    }

    /// The run's title: the workflow's `run-name` with its expressions filled in.
    pub fn title(&self, dispatch: &Dispatch) -> String {
        let workflow = self.workflow(&dispatch.git_ref);
        let name = workflow["run-name"].as_str().unwrap_or("orch issue");
        self.fill(name, dispatch)
    }

    /// Runs the dispatch's job; `started` gets each step's process group; the conclusion.
    pub fn run(&self, dispatch: &Dispatch, started: &dyn Fn(u32)) -> &'static str {
        let workflow = self.workflow(&dispatch.git_ref);
        let job = &workflow["jobs"]["issue"];
        let dir = self.root.join(dispatch.id.to_string());
        let clone = dir.join("work");
        std::fs::create_dir_all(&dir).unwrap();
        let mut job_env: Vec<(String, String)> =
            std::mem::take(&mut *self.next_env.lock().unwrap());
        for (k, v) in job["env"].as_object().into_iter().flatten() {
            job_env.push((k.clone(), self.fill(&scalar(v), dispatch)));
        }
        for (n, step) in job["steps"].as_array().into_iter().flatten().enumerate() {
            let log = dir.join(format!("step-{n}.log"));
            let ok = if let Some(uses) = step["uses"].as_str() {
                assert!(
                    uses.starts_with("actions/checkout@"),
                    "unknown action {uses}"
                );
                let at = self.fill(&scalar(&step["with"]["ref"]), dispatch);
                self.checkout(&clone, &at, &log)
            } else {
                let script = self.fill(step["run"].as_str().expect("a run: step"), dispatch);
                let mut env = job_env.clone();
                for (k, v) in step["env"].as_object().into_iter().flatten() {
                    env.push((k.clone(), self.fill(&scalar(v), dispatch)));
                }
                self.step(&clone, &script, &env, &log, started)
            };
            if !ok {
                return "failure";
            }
        }
        if let Some(command) = self.after_next.lock().unwrap().take() {
            let ok = Command::new("sh")
                .args(["-c", &command])
                .current_dir(&self.root)
                .envs(self.env.iter().cloned())
                .status()
                .unwrap();
            assert!(ok.success(), "{command}");
        }
        "success"
    }

    /// What `actions/checkout` leaves: a clone over the transport (no shared objects), the
    /// commit fetched by its id (GitHub serves any commit a ref reaches, as the remote here
    /// is set to), HEAD detached at it, no credential.
    fn checkout(&self, clone: &Path, at: &str, log: &Path) -> bool {
        let git = super::real_git();
        let url = format!("file://{}", self.remote.display());
        let run = |dir: Option<&Path>, args: &[&str]| {
            let mut cmd = Command::new(&git);
            if let Some(dir) = dir {
                cmd.current_dir(dir);
            }
            cmd.args(args)
                .envs(self.env.iter().cloned())
                .status()
                .unwrap()
                .success()
        };
        let ok = run(
            None,
            &[
                "clone",
                "-q",
                "--no-local",
                &url,
                &clone.display().to_string(),
            ],
        ) && run(Some(clone), &["fetch", "-q", "origin", at])
            && run(Some(clone), &["checkout", "-q", "--detach", at]);
        std::fs::write(log, format!("checkout {at}: {ok}\n")).unwrap();
        ok
    }

    fn step(
        &self,
        clone: &Path,
        script: &str,
        env: &[(String, String)],
        log: &Path,
        started: &dyn Fn(u32),
    ) -> bool {
        use std::os::unix::process::CommandExt;
        let out = std::fs::File::create(log).unwrap();
        let mut child = Command::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
            .current_dir(clone)
            .env_clear()
            .envs(self.env.iter().cloned())
            .envs(env.iter().cloned())
            .stdin(std::process::Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .process_group(0)
            .spawn()
            .unwrap();
        started(child.id());
        child.wait().unwrap().success()
    }

    /// `text` with each `${{ … }}` replaced by its value for `dispatch`.
    fn fill(&self, text: &str, dispatch: &Dispatch) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${{") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find("}}").expect("an unclosed ${{") + start;
            let expr = rest[start + 3..end].trim();
            out.push_str(&self.value(expr, dispatch));
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        out
    }

    fn value(&self, expr: &str, dispatch: &Dispatch) -> String {
        if let Some(input) = expr.strip_prefix("inputs.") {
            return scalar(&dispatch.inputs[input]);
        }
        if let Some(secret) = expr.strip_prefix("secrets.") {
            return self.secrets.get(secret).cloned().unwrap_or_default();
        }
        match expr {
            "github.token" => self.token.clone(),
            "github.repository" => self.repository.clone(),
            "github.server_url" => "https://github.test".to_owned(),
            "github.run_id" => dispatch.id.to_string(),
            "runner.name" => format!("stand-in-runner-{}", dispatch.id),
            _ => panic!("the stand-in runner does not know `${{{{ {expr} }}}}`"),
        }
    }
}

/// A YAML scalar as the string Actions would see.
fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
