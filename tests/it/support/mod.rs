//! Hermetic test environment: a temp git repository, a cleared environment, fixed git
//! identity and dates, and helpers to write docs and run the `orch` binary.

pub mod actions_runner;
pub mod codex;
pub mod fake;
pub mod forge;
pub mod http;
pub mod mock_claude;
pub mod mock_github;
pub mod mock_model;
pub mod scripted;

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

pub const FIXED_DATE: &str = "2026-01-02T03:04:05Z";

pub struct TestEnv {
    _tmp: TempDir,
    /// The repository orch runs in.
    pub repo: PathBuf,
    home: PathBuf,
}

impl TestEnv {
    /// A fresh, empty git repository in a temp dir.
    pub fn new() -> TestEnv {
        let tmp = tempfile::Builder::new()
            .prefix("orch-test-")
            // ORCH_TEST_KEEP=1 keeps every test's directory (and its logs) for a look.
            .disable_cleanup(std::env::var_os("ORCH_TEST_KEEP").is_some())
            .tempdir()
            .expect("temp dir");
        let root = tmp.path().canonicalize().expect("canonical temp dir");
        let repo = root.join("repo");
        let home = root.join("home");
        std::fs::create_dir_all(&repo).unwrap();
        std::fs::create_dir_all(&home).unwrap();
        let env = TestEnv {
            _tmp: tmp,
            repo,
            home,
        };
        env.git(&["init", "-q", "-b", "main"]);
        env
    }

    /// A repository holding a copy of `fixtures/sample-docs`.
    pub fn with_sample_docs() -> TestEnv {
        let env = TestEnv::new();
        copy_dir(&fixtures().join("sample-docs/docs"), &env.repo.join("docs"));
        env
    }

    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.repo.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// Writes an issue doc under the default glob: `docs/projects/<project>/issues/<name>`.
    pub fn doc(&self, project: &str, name: &str, contents: impl AsRef<[u8]>) -> String {
        let rel = format!("docs/projects/{project}/issues/{name}");
        self.write(&rel, contents);
        rel
    }

    /// `orch` with a cleared environment, run from the repository.
    pub fn orch(&self) -> Command {
        let mut cmd = Command::cargo_bin("orch").expect("orch binary");
        cmd.current_dir(&self.repo);
        hermetic(&mut cmd, &self.home);
        cmd
    }

    /// Runs `orch ARGS`, asserting it exits 0 (its stderr in the failure message).
    pub fn orch_ok(&self, args: &[&str]) -> std::process::Output {
        let out = self.orch().args(args).output().expect("orch runs");
        assert_eq!(
            out.status.code(),
            Some(0),
            "orch {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    pub fn git(&self, args: &[&str]) -> String {
        self.git_in(&self.repo, args)
    }

    /// Runs git in `dir` with the hermetic environment; panics on failure.
    pub fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let out = self.git_output(dir, args);
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs git in `dir`; the caller checks the status.
    pub fn git_output(&self, dir: &Path, args: &[&str]) -> std::process::Output {
        let mut cmd = std::process::Command::new("git");
        cmd.args(args).current_dir(dir).env_clear();
        for (k, v) in git_env(&self.home) {
            cmd.env(k, v);
        }
        cmd.output().expect("run git")
    }

    /// Runs the real gt binary in the repository with the hermetic environment.
    pub fn gt_output(&self, gt: &Path, args: &[&str]) -> std::process::Output {
        let mut cmd = std::process::Command::new(gt);
        cmd.args(args)
            .current_dir(&self.repo)
            .env_clear()
            .stdin(std::process::Stdio::null());
        for (k, v) in git_env(&self.home) {
            cmd.env(k, v);
        }
        cmd.output().expect("run gt")
    }

    /// Writes `rel` and commits it on the current branch; returns the new HEAD.
    pub fn commit_file(&self, rel: &str, contents: &str, message: &str) -> String {
        self.commit_file_in(&self.repo.clone(), rel, contents, message)
    }

    pub fn commit_file_in(&self, dir: &Path, rel: &str, contents: &str, message: &str) -> String {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        self.git_in(dir, &["add", "--", rel]);
        self.git_in(dir, &["commit", "-q", "-m", message]);
        self.git_in(dir, &["rev-parse", "HEAD"]).trim().to_owned()
    }

    /// The scratch HOME every command gets.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The temp root holding the repository (worktree roots go here).
    pub fn root(&self) -> PathBuf {
        self.repo.parent().unwrap().to_owned()
    }

    /// Every file under the temp root with its contents: to prove a command changed nothing.
    pub fn snapshot_tree(&self) -> Vec<(PathBuf, usize, u64)> {
        let root = self.repo.parent().unwrap();
        let mut out = Vec::new();
        for entry in walk(root) {
            let data = std::fs::read(&entry).unwrap_or_default();
            let hash = data.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            });
            out.push((entry, data.len(), hash));
        }
        out.sort();
        out
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        out.push(path.clone());
        if entry.file_type().unwrap().is_dir() {
            out.extend(walk(&path));
        }
    }
    out
}

/// The phase kinds (`dev`, `review`, `fix`) of an issue summary's phases, in order.
pub fn phase_kinds(summary: &serde_json::Value) -> Vec<&str> {
    summary["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["phase"].as_str().unwrap())
        .collect()
}

/// Every file orch wrote under `dir`, recursively (not the shims' links to the orch binary).
pub fn files_written(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let kind = e.file_type().unwrap();
        if kind.is_symlink() {
            continue;
        }
        if kind.is_dir() {
            out.extend(files_written(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

pub(crate) fn git_env(home: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("PATH", std::env::var("PATH").unwrap_or_default()),
        ("HOME", home.display().to_string()),
        ("GIT_CONFIG_NOSYSTEM", "1".into()),
        // gt's upgrade check is a detached `npm view` that outlives the test and writes its
        // HOME after the temp dir is gone.
        ("GRAPHITE_DISABLE_UPGRADE_PROMPT", "1".into()),
        ("GRAPHITE_DISABLE_TELEMETRY", "1".into()),
        ("GIT_AUTHOR_NAME", "Orch Test".into()),
        ("GIT_AUTHOR_EMAIL", "orch-test@example.invalid".into()),
        ("GIT_COMMITTER_NAME", "Orch Test".into()),
        ("GIT_COMMITTER_EMAIL", "orch-test@example.invalid".into()),
        ("GIT_AUTHOR_DATE", FIXED_DATE.into()),
        ("GIT_COMMITTER_DATE", FIXED_DATE.into()),
    ]
}

fn hermetic(cmd: &mut Command, home: &Path) {
    cmd.env_clear();
    for (k, v) in git_env(home) {
        cmd.env(k, v);
    }
}

/// The real git binary's absolute path (to call it past the guard's shim).
pub fn real_git() -> String {
    real_tool("git")
}

/// The absolute path of `tool` on the test's PATH.
pub fn real_tool(tool: &str) -> String {
    let out = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .expect("sh");
    String::from_utf8(out.stdout)
        .expect("utf-8 path")
        .trim()
        .to_owned()
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A well-formed issue doc.
pub fn issue(id: &str, milestone: &str, extra: &str) -> String {
    format!("---\nid: {id}\ntitle: \"Work item {id}\"\nstate: planned\nmilestone: {milestone}\n{extra}---\n\n## TL;DR\nDo {id}.\n")
}

/// Waits until `ready` holds, polling every 20 ms; fails the test naming `what` after `limit`.
pub fn wait_until(what: &str, limit: std::time::Duration, ready: impl Fn() -> bool) {
    let start = std::time::Instant::now();
    while !ready() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// `logs/orch/<milestone>/<run-id>/` of the latest recorded run of `milestone` (`p/M1`, `M1`,
/// or a plan's name) in `repo`: where its issues' logs are.
pub fn run_logs(repo: &Path, milestone: &str) -> PathBuf {
    let runs = repo.join(".git/orch/runs");
    let mut latest: Option<(String, String)> = None;
    for entry in std::fs::read_dir(&runs).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".json") {
            continue;
        }
        // A state being replaced this instant reads as nothing: the next poll sees it.
        let Ok(state) = serde_json::from_slice::<serde_json::Value>(
            &std::fs::read(entry.path()).unwrap_or_default(),
        ) else {
            continue;
        };
        let scope = match state["project"].as_str() {
            Some(p) => format!("{p}/{}", state["milestone"].as_str().unwrap()),
            None => state["milestone"].as_str().unwrap().to_owned(),
        };
        if scope != milestone {
            continue;
        }
        let key = (
            state["updated_at"].as_str().unwrap().to_owned(),
            state["run_id"].as_str().unwrap().to_owned(),
        );
        if latest.as_ref().is_none_or(|l| *l < key) {
            latest = Some(key);
        }
    }
    // No run recorded yet (a test polling for one to start): a directory that does not exist.
    let run_id = latest.map_or_else(|| "no-run-yet".to_owned(), |(_, id)| id);
    repo.join("logs/orch").join(milestone).join(run_id)
}
