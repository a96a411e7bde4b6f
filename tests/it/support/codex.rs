//! A repository with issue docs and `orch` wired to the real `codex` binary (pinned,
//! installed by scripts/install-tools.sh) pointed at a fresh local mock model server: the
//! harness of the end-to-end tests.

use super::mock_model::MockModel;
use super::TestEnv;
use std::path::{Path, PathBuf};

pub fn codex_bin() -> PathBuf {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/node_modules/.bin/codex");
    assert!(
        bin.exists(),
        "the pinned codex CLI is missing at {}: run scripts/install-tools.sh (scripts/test.sh does)",
        bin.display()
    );
    bin
}

pub fn gt_bin() -> PathBuf {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/node_modules/.bin/gt");
    assert!(
        bin.exists(),
        "the pinned gt CLI is missing at {}: run scripts/install-tools.sh (scripts/test.sh does)",
        bin.display()
    );
    bin
}

pub fn claude_bin() -> PathBuf {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/node_modules/.bin/claude");
    assert!(
        bin.exists(),
        "the pinned claude CLI is missing at {}: run scripts/install-tools.sh (scripts/test.sh does)",
        bin.display()
    );
    bin
}

/// Where scripts/install-tools.sh put what Claude Code's sandbox needs (`bwrap`, `socat`).
pub fn sandbox_tools() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/bin");
    for tool in ["bwrap", "socat"] {
        assert!(
            dir.join(tool).exists(),
            "{tool} for Claude Code's sandbox is missing in {}: run scripts/install-tools.sh (scripts/test.sh does)",
            dir.display()
        );
    }
    dir
}

pub struct CodexRepo {
    pub env: TestEnv,
    pub model: MockModel,
}

impl CodexRepo {
    /// A repo with the given docs (project `p`), orch.toml pointing codex at a fresh mock.
    pub fn new(docs: &[(&str, String)], extra_config: &str) -> CodexRepo {
        let env = TestEnv::new();
        for (name, text) in docs {
            env.doc("p", name, text);
        }
        CodexRepo::in_env(env, extra_config)
    }

    /// A repo holding the docs tree of `fixtures/<tree>`.
    pub fn with_tree(tree: &str) -> CodexRepo {
        let env = TestEnv::new();
        super::copy_dir(
            &super::fixtures().join(tree).join("docs"),
            &env.repo.join("docs"),
        );
        CodexRepo::in_env(env, "")
    }

    pub fn in_env(env: TestEnv, extra_config: &str) -> CodexRepo {
        let model = MockModel::start();
        let args: Vec<String> = model
            .codex_args()
            .iter()
            .map(|a| format!("{a:?}"))
            .collect();
        env.write(
            "orch.toml",
            format!(
                "worktree_root = \"../wt\"\n{extra_config}\n[codex]\nargs = [{}]\n",
                args.join(", ")
            ),
        );
        env.write(".gitignore", "logs/\n");
        env.git(&["add", "."]);
        env.git(&["commit", "-q", "-m", "Milestone docs"]);
        std::fs::create_dir_all(env.root().join("codex-home")).unwrap();
        CodexRepo { env, model }
    }

    pub fn orch(&self) -> assert_cmd::Command {
        let mut cmd = self.env.orch();
        for (k, v) in self.agent_env() {
            cmd.env(k, v);
        }
        cmd
    }

    /// The same `orch` as a `std::process::Command`, for a test that spawns and signals it.
    pub fn orch_std(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("orch"));
        cmd.current_dir(&self.env.repo).env_clear();
        for (k, v) in super::git_env(self.env.home()) {
            cmd.env(k, v);
        }
        for (k, v) in self.agent_env() {
            cmd.env(k, v);
        }
        cmd
    }

    /// What a machine that runs orch's workflow has: git's environment, the agents' (the
    /// mock model's), and this orch first on PATH.
    pub fn runner_env(&self) -> Vec<(String, String)> {
        let orch = assert_cmd::cargo::cargo_bin("orch");
        let orch_dir = orch.parent().unwrap().display().to_string();
        let mut env: Vec<(String, String)> = super::git_env(self.env.home())
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        env.extend(self.agent_env());
        for (k, v) in env.iter_mut() {
            if k == "PATH" {
                *v = format!("{orch_dir}:{v}");
            }
        }
        env
    }

    /// What `orch` gets here over the hermetic environment: the real agent CLIs, pointed at
    /// the mock model.
    fn agent_env(&self) -> Vec<(String, String)> {
        let path = format!(
            "{}:{}",
            sandbox_tools().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut env = vec![
            (
                "ORCH_CODEX_BIN".to_owned(),
                codex_bin().display().to_string(),
            ),
            (
                "CODEX_HOME".to_owned(),
                self.env.root().join("codex-home").display().to_string(),
            ),
            (
                "ORCH_MOCK_API_KEY".to_owned(),
                "mock-key-not-secret".to_owned(),
            ),
            (
                "ORCH_CLAUDE_BIN".to_owned(),
                claude_bin().display().to_string(),
            ),
            ("PATH".to_owned(), path),
        ];
        let claude_config = self.env.root().join("claude-config");
        for (k, v) in super::mock_claude::claude_env(self.model.port, &claude_config) {
            env.push((k, v));
        }
        env
    }

    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.orch().arg("run").args(args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// The latest run's logs of `p/M1`.
    pub fn logs(&self) -> PathBuf {
        super::run_logs(&self.env.repo, "p/M1")
    }

    pub fn summary(&self, id: &str) -> serde_json::Value {
        let text = std::fs::read_to_string(self.logs().join(id).join("summary.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    pub fn branch_of(&self, id: &str) -> String {
        self.summary(id)["branch"].as_str().unwrap().to_owned()
    }
}
