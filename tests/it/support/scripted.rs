//! The engine in-process: a [`ScriptedRunner`] implements [`Runner`] by playing scripted acts
//! (commit a file, make a branch, reply, fail, wait for Ctrl-C) with no agent process, and
//! [`InProcess`] runs a milestone's plan through [`Engine::run`] on a tokio runtime in the
//! test itself. The worktrees, captures, pins, audit and records are all real; only the agent
//! is a script, so a run takes milliseconds.

use super::TestEnv;
use orch::agent::{PhaseOutcome, PhaseRequest, Runner};
use orch::engine::{Engine, RunOptions};
use orch::input::config::Config;
use orch::model::event::EngineEvent;
use orch::model::phase::{PhaseFailure, PhaseKind, Usage};
use orch::model::plan::Plan;
use orch::model::record::RunSummary;
use orch::model::state::RunState;
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// One thing a scripted phase does, in order.
#[derive(Debug, Clone)]
pub enum Act {
    /// Writes this file in the worktree (its content names the phase) and commits it.
    Commit(&'static str),
    /// Points this branch at the worktree's HEAD, creating or moving it (a branch made on top
    /// of the issue's joins its stack; moving another is the audit's business).
    Branch(&'static str),
    /// Ends the phase with this result; its identity fields are filled in from the prompt's
    /// `ORCH_CONTEXT` block.
    Reply(Value),
    /// Ends the phase with this failure, `stderr` written to its log.
    Fail {
        failure: PhaseFailure,
        stderr: &'static str,
    },
    /// Waits until the run is cancelled (at most 30 s, else the test fails), then ends
    /// interrupted.
    AwaitCancel,
    /// Reports this session instead of the phase's own (an attempt that started afresh).
    Session(&'static str),
}

/// What the engine asked of one phase.
#[derive(Debug, Clone)]
pub struct Call {
    /// `<issue>/<NN>-<phase>`.
    pub key: String,
    pub kind: PhaseKind,
    pub prompt: String,
    pub resume: Option<String>,
}

/// A runner that plays, for each phase key (`A-1/01-dev`), one scripted attempt per call.
/// A phase with no attempt left plays the default: dev and fix commit a file and pass, a
/// review passes.
#[derive(Default)]
pub struct ScriptedRunner {
    script: Mutex<BTreeMap<String, VecDeque<Vec<Act>>>>,
    calls: Mutex<Vec<Call>>,
    /// Cumulative usage per session, as an agent reports it.
    sessions: Mutex<BTreeMap<String, Usage>>,
}

impl ScriptedRunner {
    pub fn new() -> ScriptedRunner {
        ScriptedRunner::default()
    }

    /// Adds an attempt for `key` (several calls add several attempts, played in order).
    pub fn on(self, key: &str, acts: Vec<Act>) -> ScriptedRunner {
        self.script
            .lock()
            .unwrap()
            .entry(key.to_owned())
            .or_default()
            .push_back(acts);
        self
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// The phase keys the engine ran, in order.
    pub fn keys(&self) -> Vec<String> {
        self.calls().into_iter().map(|c| c.key).collect()
    }

    /// Fails the test if a scripted attempt was not played: a script the run never reached
    /// says the test is not testing what it thinks.
    pub fn assert_played(&self) {
        assert_eq!(
            self.unplayed(),
            Vec::<String>::new(),
            "scripts the run never reached"
        );
    }

    /// The scripted attempts no phase played.
    pub fn unplayed(&self) -> Vec<String> {
        self.script
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, attempts)| !attempts.is_empty())
            .map(|(key, attempts)| format!("{key} ({} attempt(s))", attempts.len()))
            .collect()
    }

    fn acts(&self, key: &str, kind: PhaseKind) -> Vec<Act> {
        let scripted = self
            .script
            .lock()
            .unwrap()
            .get_mut(key)
            .and_then(VecDeque::pop_front);
        scripted.unwrap_or_else(|| match kind {
            PhaseKind::Review => vec![Act::Reply(review("pass", &[]))],
            _ => vec![Act::Commit("work.txt"), Act::Reply(work("pass"))],
        })
    }
}

/// A dev or fix result in the contract's shape (identity fields left to the runner).
pub fn work(status: &str) -> Value {
    serde_json::from_str(&super::fake::work_json(status)).unwrap()
}

/// A review result with these required actions (identity fields left to the runner).
pub fn review(status: &str, actions: &[&str]) -> Value {
    serde_json::from_str(&super::fake::review_json(status, actions)).unwrap()
}

/// `<issue>/<NN>-<phase>`: the last two components of the phase's log directory.
fn key_of(log_dir: &Path) -> String {
    let mut parts: Vec<String> = log_dir
        .iter()
        .rev()
        .take(2)
        .map(|c| c.to_string_lossy().into_owned())
        .collect();
    parts.reverse();
    parts.join("/")
}

impl Runner for ScriptedRunner {
    async fn run(&self, req: &PhaseRequest) -> PhaseOutcome {
        let key = key_of(&req.log_dir);
        self.calls.lock().unwrap().push(Call {
            key: key.clone(),
            kind: req.kind,
            prompt: req.prompt.clone(),
            resume: req.resume.clone(),
        });
        let events_path = req.log_dir.join(orch::model::layout::EVENTS);
        let stderr_path = req.log_dir.join(orch::model::layout::STDERR);
        let mut session = req.resume.clone().unwrap_or_else(|| format!("s-{key}"));
        let mut stderr = String::new();
        let mut result = Err(PhaseFailure::NoFinalMessage);
        for act in self.acts(&key, req.kind) {
            match act {
                Act::Commit(path) => commit(&req.worktree, path, &key),
                Act::Branch(name) => branch(&req.worktree, name),
                Act::Reply(mut value) => {
                    fill_identity(&mut value, req);
                    result = req.expect.check(&value).map(|()| value.into());
                }
                Act::Fail {
                    failure,
                    stderr: text,
                } => {
                    stderr.push_str(text);
                    result = Err(failure);
                }
                Act::AwaitCancel => {
                    // A cancel that never comes fails the test instead of hanging it.
                    let cancelled = orch::util::process::cancelled(req.cancel.clone());
                    tokio::time::timeout(std::time::Duration::from_secs(30), cancelled)
                        .await
                        .unwrap_or_else(|_| panic!("{key}: the run was never cancelled"));
                    result = Err(PhaseFailure::Interrupted);
                }
                Act::Session(id) => session = id.to_owned(),
            }
        }
        // A killed agent never reports its turn's usage; one that ended reports it (also a
        // failed one: it got that far).
        let killed = result == Err(PhaseFailure::Interrupted);
        let usage = {
            let mut sessions = self.sessions.lock().unwrap();
            let total = sessions.entry(session.clone()).or_default();
            if !killed {
                *total = *total
                    + Usage {
                        input_tokens: 100,
                        output_tokens: 10,
                        ..Usage::default()
                    };
            }
            (!killed).then_some(*total)
        };
        std::fs::write(
            &events_path,
            format!("{{\"type\":\"scripted\",\"key\":\"{key}\"}}\n"),
        )
        .unwrap();
        std::fs::write(&stderr_path, stderr).unwrap();
        PhaseOutcome {
            result,
            session_id: Some(session),
            usage,
            usage_is_phase: false,
            cost_usd: None,
            exit_code: Some(0),
            events_path,
            stderr_path,
            duration_ms: 1,
        }
    }
}

/// Fills the result's identity fields from the prompt's `ORCH_CONTEXT` block, as an agent
/// that read its context would (a field the script set stays); a prompt without the block
/// leaves them out, and the contract's check says so.
fn fill_identity(value: &mut Value, req: &PhaseRequest) {
    let context = req
        .prompt
        .strip_prefix("ORCH_CONTEXT:")
        .and_then(|rest| {
            serde_json::Deserializer::from_str(rest.trim_start())
                .into_iter::<Value>()
                .next()?
                .ok()
        })
        .unwrap_or(Value::Null);
    for (field, from) in [
        ("phase", "phase"),
        ("issueId", "issueId"),
        ("milestoneId", "milestoneId"),
        ("branch", "branchName"),
        ("worktreePath", "worktreePath"),
    ] {
        if value.get(field).is_none() && !context[from].is_null() {
            value[field] = context[from].clone();
        }
    }
}

fn signature() -> git2::Signature<'static> {
    git2::Signature::new(
        "Scripted",
        "scripted@example.invalid",
        &git2::Time::new(0, 0),
    )
    .unwrap()
}

/// Writes `path` (its content names the phase, so every commit differs) and commits it.
fn commit(worktree: &Path, path: &str, key: &str) {
    let repo = git2::Repository::open(worktree).unwrap();
    let file = worktree.join(path);
    let before = std::fs::read_to_string(&file).unwrap_or_default();
    std::fs::write(&file, format!("{before}{key}\n")).unwrap();
    let mut index = repo.index().unwrap();
    index.add_path(Path::new(path)).unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let parent = repo.head().unwrap().peel_to_commit().unwrap();
    let sig = signature();
    repo.commit(Some("HEAD"), &sig, &sig, key, &tree, &[&parent])
        .unwrap();
}

fn branch(worktree: &Path, name: &str) {
    let repo = git2::Repository::open(worktree).unwrap();
    let head = repo.head().unwrap().peel_to_commit().unwrap();
    repo.branch(name, &head, true).unwrap();
}

/// A repository with issue docs (project `p`, milestone `M1`), ready for in-process runs.
pub struct InProcess {
    pub env: TestEnv,
}

/// What one in-process run left.
pub struct Ran {
    pub summary: RunSummary,
    pub events: Vec<EngineEvent>,
    /// Each event's stamp: its wall-clock time and the milliseconds since the run started.
    pub stamps: Vec<(String, u64)>,
    /// The run state as the recorder last wrote it (what `orch resume` reads).
    pub state: RunState,
}

impl Ran {
    pub fn outcome(&self, id: &str) -> &'static str {
        let issue = self.summary.issues.iter().find(|i| i.id == id);
        issue.map_or("not run", |i| i.outcome.name())
    }

    pub fn issue(&self, id: &str) -> &orch::model::record::IssueSummary {
        self.summary.issues.iter().find(|i| i.id == id).unwrap()
    }
}

/// How a run is started: a resume of a recorded state, issues to retry, and an event at which
/// the run is cancelled (as Ctrl-C would).
#[derive(Default)]
pub struct Start {
    pub resume: Option<RunState>,
    pub retry: Vec<&'static str>,
    pub cancel_at: Option<fn(&EngineEvent) -> bool>,
    /// Issues in flight at once (default: the config's `jobs`, as `orch run`).
    pub jobs: Option<usize>,
}

impl InProcess {
    /// Docs under project `p`, a milestone doc, `orch.toml` (`worktree_root = "../wt"` plus
    /// `config`), all committed.
    pub fn new(docs: &[(&str, String)], config: &str) -> InProcess {
        let env = TestEnv::new();
        for (name, text) in docs {
            env.doc("p", name, text);
        }
        env.write(
            "docs/projects/p/milestones/M1-first.md",
            "# M1: First\n\nThe goal of the first milestone.\n",
        );
        env.write("orch.toml", format!("worktree_root = \"../wt\"\n{config}"));
        env.write(".gitignore", "logs/\n");
        env.git(&["add", "."]);
        env.git(&["commit", "-q", "-m", "docs"]);
        InProcess { env }
    }

    pub fn config(&self) -> Config {
        Config::load(&self.env.repo).unwrap()
    }

    /// The plan of `p/M1`, as `orch run p/M1` builds it.
    pub fn plan(&self) -> Plan {
        let config = self.config();
        let set = orch::input::docs::load(&self.env.repo, config.docs_glob()).unwrap();
        let scope = orch::model::naming::Scope::new(Some("p"), "M1");
        let rules = config.state_rules(&[]);
        orch::input::docs::plan::build(&set, &scope, &config, &self.env.repo, &rules).unwrap()
    }

    /// Runs the plan through the engine with `runner`, recording the state as `orch run`
    /// does.
    pub fn run(&self, runner: &ScriptedRunner, start: Start) -> Ran {
        let config = self.config();
        let plan = self.plan();
        let common_dir = self.env.repo.join(".git");
        let recorder =
            orch::record::recorder::StateRecorder::new(common_dir.clone(), start.resume.clone());
        let events = Arc::new(Mutex::new(Vec::new()));
        let state = Arc::new(Mutex::new(None));
        let stamps = Arc::new(Mutex::new(Vec::new()));
        let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
        let reporter = {
            let (events, state, stamps) = (events.clone(), state.clone(), stamps.clone());
            Arc::new(move |stamped: &orch::model::event::Stamped<'_>| {
                let e = stamped.event;
                if let Some(s) = recorder.record(stamped).expect("the state is written") {
                    *state.lock().unwrap() = Some(s);
                }
                stamps
                    .lock()
                    .unwrap()
                    .push((stamped.ts.to_owned(), stamped.elapsed_ms));
                events.lock().unwrap().push(e.clone());
                if start.cancel_at.is_some_and(|at| at(e)) {
                    let _ = cancel_tx.send(true);
                }
            })
        };
        let engine = Engine {
            repo_root: self.env.repo.clone(),
            config: &config,
            schemas: orch::agent::contract::schema::Schemas::load(&self.env.repo).unwrap(),
            runner,
            reporter,
            cancel: Some(cancel_rx),
        };
        let opts = RunOptions {
            run_id: start
                .resume
                .as_ref()
                .map_or_else(|| "run-1".to_owned(), |s| s.run_id.clone()),
            only_issue: None,
            resume: start.resume,
            retry: start.retry.iter().map(|s| s.to_string()).collect(),
            no_build: false,
            approvals: Vec::new(),
            jobs: start.jobs.unwrap_or_else(|| config.jobs()),
            budget: config.budget(),
            carried: Vec::new(),
            restart: Vec::new(),
            follow: false,
            rewatch: false,
            work: None,
            earlier: None,
            on_github: false,
            agents: Vec::new(),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let summary = runtime.block_on(engine.run(&plan, &opts)).unwrap();
        drop(engine);
        let events = events.lock().unwrap().clone();
        let stamps = stamps.lock().unwrap().clone();
        let written = state
            .lock()
            .unwrap()
            .clone()
            .expect("the recorder wrote a state");
        // What `orch resume` will read: the state on disk, which must be the last one written.
        let state =
            orch::record::state::latest(&common_dir, Some(&plan.scope())).expect("a state on disk");
        assert_eq!(
            serde_json::to_value(&state).unwrap(),
            serde_json::to_value(&written).unwrap(),
            "the state on disk is the last one the recorder wrote"
        );
        Ran {
            summary,
            events,
            stamps,
            state,
        }
    }
}
