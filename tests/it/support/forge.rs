//! A repository on a forge: its `origin` a bare repository, a GitHub stand-in over it, orch
//! wired to the real codex through the mock model; and what the forge tests read back.
#![allow(dead_code)]

use super::codex::CodexRepo;
use super::mock_github::MockGithub;
use super::mock_model::Reply;
use super::TestEnv;
use std::path::PathBuf;

/// Not shaped like any known key, so only orch's handling (not the shape redactor) keeps it
/// out of what it writes.
pub const TOKEN: &str = "forge-test-token-7c1e55d2";

/// A repository whose `origin` is a bare repository holding `main`, and a GitHub stand-in
/// for `acme/widgets` over it.
pub struct ForgeRepo {
    pub run: CodexRepo,
    pub github: MockGithub,
    pub remote: PathBuf,
}

/// The branches orch names for of milestone `p/M1`.
pub const B1: &str = "orch/p/M1/A-1-work-item-a-1";
pub const B2: &str = "orch/p/M1/A-2-work-item-a-2";

impl ForgeRepo {
    /// stacked on it.
    pub fn stacked() -> ForgeRepo {
        ForgeRepo::stacked_with("")
    }

    /// The same, with more of orch.toml (top-level keys and tables before `[forge]`).
    pub fn stacked_with(extra_config: &str) -> ForgeRepo {
        ForgeRepo::new(
            &[
                ("a1.md", super::issue("A-1", "M1", "blocked: [A-2]\n")),
                ("a2.md", super::issue("A-2", "M1", "blocked_by: [A-1]\n")),
            ],
            extra_config,
        )
    }

    pub fn new(docs: &[(&str, String)], extra_config: &str) -> ForgeRepo {
        ForgeRepo::with_forge(docs, extra_config, "")
    }

    /// The same, with more keys of `[forge]` (`resolve = true`, …).
    pub fn with_forge(docs: &[(&str, String)], extra_config: &str, forge: &str) -> ForgeRepo {
        let env = TestEnv::new();
        for (name, text) in docs {
            env.doc("p", name, text);
        }
        let remote = env.root().join("remote.git");
        let github = MockGithub::start("acme", "widgets", TOKEN, &remote);
        let config = format!("{extra_config}{}{forge}", github.forge_toml());
        let run = CodexRepo::in_env(env, &config);
        let git = super::real_git();
        let status = std::process::Command::new(&git)
            .args(["init", "-q", "--bare", "-b", "main"])
            .arg(&remote)
            .status()
            .unwrap();
        assert!(status.success());
        run.env
            .git(&["remote", "add", "origin", remote.to_str().unwrap()]);
        run.env.git(&["push", "-q", "origin", "main"]);
        ForgeRepo {
            run,
            github,
            remote,
        }
    }

    /// The workflow `orch init --ci github` writes, committed on main and pushed, and the
    /// GitHub stand-in running each dispatch of it on a stand-in runner (a fresh clone).
    pub fn with_runners(self) -> ForgeRepo {
        let text = orch::input::workflow::Workflow::new("https://example.invalid/orch").render();
        self.run.env.write(orch::input::workflow::PATH, text);
        self.run.env.git(&["add", "."]);
        self.run
            .env
            .git(&["commit", "-q", "-m", "Run issues on GitHub Actions"]);
        self.run.env.git(&["push", "-q", "origin", "main"]);
        // As GitHub does: a commit any ref reaches can be fetched by its id.
        let ok = std::process::Command::new(super::real_git())
            .arg("--git-dir")
            .arg(&self.remote)
            .args(["config", "uploadpack.allowReachableSHA1InWant", "true"])
            .status()
            .unwrap();
        assert!(ok.success());
        let mut env = self.run.runner_env();
        // GitHub's runners have their own HOME.
        let home = self.run.env.root().join("runner-home");
        std::fs::create_dir_all(&home).unwrap();
        for (k, v) in env.iter_mut() {
            if k == "HOME" {
                *v = home.display().to_string();
            }
        }
        self.github
            .set_runner(super::actions_runner::ActionsRunner {
                remote: self.remote.clone(),
                root: self.run.env.root().join("runners"),
                env,
                secrets: [("OPENAI_API_KEY".to_owned(), "sk-not-a-real-key".to_owned())].into(),
                token: TOKEN.to_owned(),
                repository: format!("{}/{}", self.github.owner, self.github.name),
                next_env: Default::default(),
                after_next: Default::default(),
            });
        self
    }

    pub fn orch(&self) -> assert_cmd::Command {
        let mut cmd = self.run.orch();
        cmd.env("GITHUB_TOKEN", TOKEN);
        cmd
    }

    pub fn orch_run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.orch().args(args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs `orch ARGS` with `ORCH_CRASH_AT=point`, asserting it died of SIGKILL there.
    pub fn killed_at(&self, point: &str, args: &[&str]) {
        use std::os::unix::process::ExitStatusExt;
        let out = self
            .orch()
            .env("ORCH_CRASH_AT", point)
            .args(args)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.signal(), Some(libc::SIGKILL), "{said}");
    }

    /// Whether commit `a` is `b` or under it, here.
    pub fn is_ancestor(&self, a: &str, b: &str) -> bool {
        let args = ["merge-base", "--is-ancestor", a, b];
        (self.run.env.git_output(&self.run.env.repo, &args).status).success()
    }

    /// The tip of `branch` in the bare remote.
    pub fn remote_tip(&self, branch: &str) -> Option<String> {
        self.github.branch_sha(branch)
    }

    /// The fix phase `key` commits to `file` under `message`, then passes, answering
    /// `threads` (the fix result's `threads`).
    pub fn fix_commits(
        &self,
        key: &str,
        (file, message): (&str, &str),
        threads: serde_json::Value,
    ) {
        self.run.model.script(
            key,
            vec![
                Reply::Commands(vec![commit_cmd(file, message)]),
                Reply::Message(forge_fix_json(threads)),
            ],
        );
    }
}

/// Every file orch wrote under the repository's logs and git dir.
pub fn everything_written(repo: &std::path::Path) -> Vec<PathBuf> {
    let mut files = super::files_written(&repo.join("logs"));
    files.extend(super::files_written(&repo.join(".git/orch")));
    files
}

/// The latest run state of `p/M1`.
pub fn state(repo: &std::path::Path) -> serde_json::Value {
    let dir = repo.join(".git/orch/runs");
    let mut states: Vec<serde_json::Value> = (std::fs::read_dir(&dir).unwrap().flatten())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .filter_map(|e| serde_json::from_slice(&std::fs::read(e.path()).unwrap()).ok())
        .collect();
    states.sort_by_key(|s| s["updated_at"].as_str().unwrap_or_default().to_owned());
    states.pop().expect("a run state")
}

pub fn watch_of(state: &serde_json::Value, id: &str) -> serde_json::Value {
    let issues = state["issues"].as_array().unwrap();
    let issue = issues.iter().find(|i| i["id"] == id).unwrap();
    issue["forge"].clone()
}

/// A fix result that answers `threads`.
pub fn forge_fix_json(threads: serde_json::Value) -> String {
    let mut v: serde_json::Value =
        serde_json::from_str(&super::mock_model::fix_json("pass")).unwrap();
    v["threads"] = threads;
    v.to_string()
}

pub fn commit_cmd(file: &str, message: &str) -> String {
    format!("echo fixed >> {file} && git add {file} && git commit -q -m '{message}'")
}

pub const CI_LOG: &str = "2026-12-07T10:00:01.0000000Z ##[group]Run cargo test\n\
2026-12-07T10:00:02.0000000Z    Compiling ledger v0.1.0\n\
2026-12-07T10:00:03.0000000Z error[E0308]: mismatched types in src/ledger.rs:12\n\
2026-12-07T10:00:04.0000000Z ##[error]Process completed with exit code 101.\n";
