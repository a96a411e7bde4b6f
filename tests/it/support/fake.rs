//! A repository with issue docs and `orch` wired to the scripted fake agent
//! (fixtures/agents/fake-codex): the harness of the fast run-loop and resume tests.

use super::{fixtures, TestEnv};
use serde_json::json;

/// A dev or fix result in the contract's shape. The identity fields (`phase`, `issueId`, …)
/// are left out: the fake agent fills them in from the prompt's ORCH_CONTEXT.
pub fn work_json(status: &str) -> String {
    json!({"status": status, "summary": "s", "testsRun": [], "docsUpdated": [], "draftPrs": [],
        "stackBranches": [], "deferred": [], "openQuestions": []})
    .to_string()
}

/// A review result with these required actions (identity fields filled in likewise).
pub fn review_json(status: &str, actions: &[&str]) -> String {
    json!({"status": status, "summary": status, "issues": [], "requiredActions": actions,
           "followups": [], "reviewDocPath": "", "confidence": "high"})
    .to_string()
}
use std::path::PathBuf;

pub struct FakeRepo {
    pub env: TestEnv,
}

impl FakeRepo {
    /// Docs under project `p`, `orch.toml` (`worktree_root = "../wt"` plus `config`), all
    /// committed; `script` is the fake agent's script.
    pub fn new(docs: &[(&str, String)], config: &str, script: serde_json::Value) -> FakeRepo {
        let env = TestEnv::new();
        for (name, text) in docs {
            env.doc("p", name, text);
        }
        env.write(
            "docs/projects/p/milestones/M1-first.md",
            "# M1: First\n\nThe goal of the first milestone.\n",
        );
        FakeRepo::committed(env, config, script)
    }

    /// `orch.toml` (`worktree_root = "../wt"` plus `config`) and `.gitignore` written, all
    /// committed; `script` is the fake agent's script.
    fn committed(env: TestEnv, config: &str, script: serde_json::Value) -> FakeRepo {
        env.write("orch.toml", format!("worktree_root = \"../wt\"\n{config}"));
        env.write(".gitignore", "logs/\n");
        env.git(&["add", "."]);
        env.git(&["commit", "-q", "-m", "docs"]);
        let repo = FakeRepo { env };
        repo.script(script);
        repo
    }

    /// The docs tree of `fixtures/<tree>` (its `docs/`), `orch.toml` (`worktree_root =
    /// "../wt"` plus `config`), all committed; `script` is the fake agent's script.
    pub fn with_tree(tree: &str, config: &str, script: serde_json::Value) -> FakeRepo {
        let env = TestEnv::new();
        super::copy_dir(&fixtures().join(tree).join("docs"), &env.repo.join("docs"));
        FakeRepo::committed(env, config, script)
    }

    pub fn script(&self, script: serde_json::Value) {
        std::fs::write(self.env.root().join("script.json"), script.to_string()).unwrap();
    }

    /// `orch ARGS` with the fake agent as codex (environment not cleared: for spawning).
    pub fn command(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("orch"));
        cmd.current_dir(&self.env.repo)
            .env("ORCH_CODEX_BIN", fixtures().join("agents/fake-codex"))
            // The fake agent is no codex: it has no sandbox to probe or confine with.
            .env("ORCH_CODEX_SANDBOX", "danger-full-access")
            .env("ORCH_FAKE_SCRIPT", self.env.root().join("script.json"))
            .env("ORCH_FAKE_LOG", self.env.root().join("fake.log"))
            .args(args);
        cmd
    }

    /// Runs `orch ARGS`; exit code and stdout+stderr.
    pub fn run(&self, args: &[&str]) -> (i32, String) {
        output(self.command(args))
    }

    /// Runs `orch ARGS` with `ORCH_CRASH_AT=point`, asserting orch was killed there.
    pub fn crash_at(&self, point: &str, args: &[&str]) {
        use std::os::unix::process::ExitStatusExt;
        let out = self
            .command(args)
            .env("ORCH_CRASH_AT", point)
            .output()
            .unwrap();
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGKILL),
            "orch {args:?} did not crash at {point}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs `orch ARGS` with `ORCH_TEST_MARKER_DIR` set: where a plan's commands and checks
    /// leave marker files that prove what ran.
    pub fn run_marked(&self, markers: &std::path::Path, args: &[&str]) -> (i32, String) {
        let mut cmd = self.command(args);
        cmd.env("ORCH_TEST_MARKER_DIR", markers);
        output(cmd)
    }

    pub fn summary(&self, id: &str) -> serde_json::Value {
        self.summary_in("p/M1", id)
    }

    /// The summary of `id` in a run of `milestone` (a plan's name in plan mode).
    pub fn summary_in(&self, milestone: &str, id: &str) -> serde_json::Value {
        let path = self.run_logs(milestone).join(id).join("summary.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    /// Writes `orchestrator.yml` with `text` and commits it.
    pub fn add_plan_text(&self, text: &str) {
        self.env.write("orchestrator.yml", text);
        self.env.git(&["add", "."]);
        self.env.git(&["commit", "-q", "-m", "plan"]);
    }

    /// The run's event log of `milestone` as one line per event: its type, then the values of
    /// the keys that identify it (task, phase, shard, check, gate, command, outcome, status).
    /// Every line must parse and carry `ts` and `type`.
    pub fn event_sequence(&self, milestone: &str) -> Vec<String> {
        let logs = self.event_logs(milestone);
        assert_eq!(logs.len(), 1, "one run, one event log: {logs:?}");
        std::fs::read_to_string(&logs[0])
            .unwrap()
            .lines()
            .map(|l| {
                let e: serde_json::Value = serde_json::from_str(l).expect("every line parses");
                assert!(e["ts"].is_string() && e["type"].is_string(), "{e}");
                let mut s = e["type"].as_str().unwrap().to_owned();
                for key in [
                    "task", "phase", "shard", "check", "gate", "name", "outcome", "status",
                ] {
                    if let Some(v) = e[key].as_str() {
                        s.push_str(&format!(" {v}"));
                    }
                }
                s
            })
            .collect()
    }

    /// The event logs of the milestone's runs (one per run id), in run order.
    pub fn event_logs(&self, milestone: &str) -> Vec<PathBuf> {
        let logs = self.env.repo.join("logs/orch").join(milestone);
        let mut found: Vec<PathBuf> = std::fs::read_dir(&logs)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("events-"))
            .map(|e| e.path())
            .collect();
        found.sort();
        found
    }

    /// Every event log of the milestone, one after the other.
    pub fn event_log(&self, milestone: &str) -> String {
        self.event_logs(milestone)
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }

    /// Copies a plan fixture directory (`fixtures/plans/<name>`) into the repository root
    /// and commits it.
    pub fn add_plan(&self, name: &str) {
        super::copy_dir(&fixtures().join("plans").join(name), &self.env.repo);
        self.env.git(&["add", "."]);
        self.env.git(&["commit", "-q", "-m", "plan"]);
    }

    /// Every invocation of the fake agent, in order.
    pub fn calls(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.env.root().join("fake.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The phase keys (`A-1/01-dev`) of every invocation, in order.
    pub fn keys(&self) -> Vec<String> {
        self.calls()
            .iter()
            .map(|c| c["key"].as_str().unwrap().to_owned())
            .collect()
    }

    /// `logs/orch/<milestone>/<run-id>/` of the latest run of `milestone`.
    pub fn run_logs(&self, milestone: &str) -> PathBuf {
        super::run_logs(&self.env.repo, milestone)
    }

    pub fn phase_dir(&self, id: &str, phase: &str) -> PathBuf {
        self.phase_dir_in("p/M1", id, phase)
    }

    pub fn phase_dir_in(&self, milestone: &str, id: &str, phase: &str) -> PathBuf {
        self.run_logs(milestone).join(id).join(phase)
    }

    pub fn events(&self, id: &str, phase: &str) -> String {
        std::fs::read_to_string(self.phase_dir(id, phase).join("events.jsonl")).unwrap_or_default()
    }
}

/// Exit code and stdout+stderr of a command run to its end.
fn output(mut cmd: std::process::Command) -> (i32, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}
