//! The guard in front of the real `gt` (pinned, installed by scripts/install-tools.sh), in a
//! repository initialised for Graphite with a stack of three branches.

use crate::support;
use orch::guard::shim::ShimContext;
use std::path::PathBuf;
use support::TestEnv;

use support::codex::gt_bin;

struct Stack {
    env: TestEnv,
    ctx_path: PathBuf,
}

impl Stack {
    /// main → s1 → s2 → s3, all tracked by Graphite; the issue branch is s2, checked out.
    fn new() -> Stack {
        let env = TestEnv::new();
        env.commit_file("README.md", "hello\n", "init");
        let gt = |args: &[&str]| {
            let out = env.gt_output(&gt_bin(), args);
            assert!(
                out.status.success(),
                "gt {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        gt(&["init", "--trunk", "main", "--no-interactive"]);
        for name in ["s1", "s2", "s3"] {
            env.write(&format!("{name}.txt"), name);
            gt(&[
                "create",
                name,
                "-a",
                "-m",
                &format!("Add {name}"),
                "--no-interactive",
            ]);
        }
        env.git(&["checkout", "-q", "s2"]);
        let ctx = ShimContext {
            real_git: Some(PathBuf::from(support::real_git())),
            real_gt: Some(gt_bin()),
            guard_log: env.root().join("guard.jsonl"),
            repo_root: env.repo.clone(),
            worktree: env.repo.clone(),
            issue_branch: "s2".into(),
            stack: Vec::new(),
            preexisting: ["main", "s1", "s2", "s3"].map(String::from).to_vec(),
            foreign: Vec::new(),
            bin_dir: env.root().join("bin"),
            common_dir: Some(env.repo.join(".git")),
            secret_hold: None,
        };
        let ctx_path = env.root().join("guard-context.json");
        std::fs::write(&ctx_path, serde_json::to_vec(&ctx).unwrap()).unwrap();
        Stack { env, ctx_path }
    }

    fn guarded(&self, args: &[&str]) -> std::process::Output {
        self.env
            .orch()
            .env(orch::guard::shim::CONTEXT_ENV, &self.ctx_path)
            .args(["guard", "gt", "--"])
            .args(args)
            .output()
            .unwrap()
    }

    /// Every ref and Graphite's metadata, byte for byte.
    fn state(&self) -> String {
        let refs = self
            .env
            .git(&["for-each-ref", "--format=%(refname) %(objectname)"]);
        let config = std::fs::read_to_string(self.env.repo.join(".git/.graphite_repo_config"))
            .unwrap_or_default();
        format!("{refs}\n{config}")
    }
}

#[test]
fn allowed_commands_behave_like_real_gt() {
    let stack = Stack::new();
    let out = stack.guarded(&["log", "short", "--no-interactive"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let direct = stack
        .env
        .gt_output(&gt_bin(), &["log", "short", "--no-interactive"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&direct.stdout)
    );

    // gt create stacks a new branch on the issue branch.
    stack.env.write("part.txt", "part");
    let out = stack.guarded(&[
        "create",
        "s2-part",
        "-a",
        "-m",
        "Part of s2",
        "--no-interactive",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stack.env.git(&["rev-parse", "--abbrev-ref", "HEAD"]).trim(),
        "s2-part"
    );
    assert_eq!(
        stack.env.git(&["rev-parse", "s2-part^"]),
        stack.env.git(&["rev-parse", "s2"])
    );
    let log = stack
        .env
        .gt_output(&gt_bin(), &["log", "short", "--no-interactive"]);
    assert!(String::from_utf8_lossy(&log.stdout).contains("s2-part"));

    // gt modify on the top of the issue's stack (no foreign descendants) amends it.
    let before = stack.env.git(&["rev-parse", "s2-part"]);
    stack.env.write("part.txt", "part, amended");
    let out = stack.guarded(&["modify", "-a", "--no-interactive"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(stack.env.git(&["rev-parse", "s2-part"]), before);
    assert_eq!(
        stack.env.git(&["show", "s2-part:part.txt"]),
        "part, amended"
    );

    let log = std::fs::read_to_string(stack.env.root().join("guard.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 3);
    assert!(
        log.lines()
            .all(|l| l.contains("\"decision\":\"allow\"") && l.contains("\"exit_code\":0")),
        "{log}"
    );
}

#[test]
fn denied_commands_leave_every_ref_untouched() {
    let stack = Stack::new();
    let before = stack.state();
    let denied: &[&[&str]] = &[
        &["restack"],
        &["sr"],
        &["stack", "restack"],
        &["sync"],
        &["rs"],
        &["ss", "-p"],
        &["submit", "--stack"],
        &["move", "--onto", "main"],
        &["us", "o", "main"],
        &["delete", "s1", "-f"],
        &["fold"],
        &["undo", "-f"],
        &["modify", "-a", "-m", "touches s3 by restacking it"],
        &["push", "--force"],
        &["frobnicate"],
    ];
    for args in denied {
        let out = stack.guarded(args);
        assert_eq!(
            out.status.code(),
            Some(126),
            "gt {args:?} was not refused: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("orch guard: refused"));
        assert_eq!(stack.state(), before, "gt {args:?} changed refs");
    }
    let log = std::fs::read_to_string(stack.env.root().join("guard.jsonl")).unwrap();
    assert_eq!(
        log.lines()
            .filter(|l| l.contains("\"decision\":\"deny\""))
            .count(),
        denied.len()
    );
}

#[test]
fn orch_run_tracks_new_issue_branches_in_a_graphite_repo() {
    let env = TestEnv::new();
    env.write(
        "docs/projects/p/issues/a.md",
        support::issue("A-1", "M1", ""),
    );
    env.write(".gitignore", "logs/\n");
    env.write("orch.toml", "worktree_root = \"../wt\"\n");
    env.git(&["add", "."]);
    env.git(&["commit", "-q", "-m", "docs"]);
    let out = env.gt_output(&gt_bin(), &["init", "--trunk", "main", "--no-interactive"]);
    assert!(out.status.success());
    let script = env.root().join("script.json");
    // The agent stacks a branch with gt create, which needs the issue branch tracked.
    std::fs::write(
        &script,
        serde_json::json!({"A-1/01-dev": [
            {"run": "echo x > x.txt && gt create a1-part -a -m 'Part' --no-interactive; echo create=$?"},
            {"message": support::fake::work_json("pass")}
        ]})
        .to_string(),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        gt_bin().parent().unwrap().display(),
        std::env::var("PATH").unwrap()
    );
    let run = |args: &[&str]| {
        env.orch()
            .env("PATH", &path)
            .env(
                "ORCH_CODEX_BIN",
                support::fixtures().join("agents/fake-codex"),
            )
            .env("ORCH_CODEX_SANDBOX", "danger-full-access")
            .env("ORCH_FAKE_SCRIPT", &script)
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["run", "M1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let events = std::fs::read_to_string(
        crate::support::run_logs(&env.repo, "p/M1").join("A-1/01-dev/events.jsonl"),
    )
    .unwrap();
    assert!(events.contains("create=0"), "{events}");
    assert_eq!(
        env.git(&["rev-parse", "a1-part^"]),
        env.git(&["rev-parse", "orch/p/M1/A-1-work-item-a-1"])
    );
    let range: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            crate::support::run_logs(&env.repo, "p/M1").join("A-1/01-dev/range.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(range["stack"][1]["name"], "a1-part");
    assert_eq!(range["branch_after"], "a1-part");

    // Redone from scratch: the earlier branch is set aside, the new one tracked again.
    let old = env.git(&["rev-parse", "orch/p/M1/A-1-work-item-a-1"]);
    std::fs::write(
        &script,
        serde_json::json!({"A-1/01-dev": [
            {"run": "echo y > y.txt && git add y.txt && git commit -q -m again"},
            {"message": support::fake::work_json("pass")}
        ]})
        .to_string(),
    )
    .unwrap();
    let out = run(&["run", "M1", "--retry", "A-1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let kept = env.git(&[
        "for-each-ref",
        "--format=%(objectname)",
        "refs/orch/rescue/p/M1/A-1/",
    ]);
    assert_eq!(kept, old, "the earlier branch is kept");
    let info = env.gt_output(
        &gt_bin(),
        &["info", "orch/p/M1/A-1-work-item-a-1", "--no-interactive"],
    );
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(info.contains("Parent: main"), "{info}");
}

#[test]
fn submit_is_held_while_a_commit_holds_a_secret_no_human_approved() {
    let stack = Stack::new();
    let base = stack.env.git(&["rev-parse", "main"]).trim().to_owned();
    stack.env.commit_file(
        "config.env",
        "API_TOKEN=Zx81mNw4Rt7vHk29dLq0AbCd\n",
        "Add config",
    );
    let hold = |allow: &[&str]| {
        let mut ctx: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&stack.ctx_path).unwrap()).unwrap();
        ctx["secret_hold"] = serde_json::json!({"base": base, "issue": "A-1", "allow": allow});
        std::fs::write(&stack.ctx_path, ctx.to_string()).unwrap();
    };
    hold(&[]);
    let before = stack.state();
    for argv in [&["submit", "--draft"][..], &["ss", "--draft"][..]] {
        let out = stack.guarded(argv);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(126), "{argv:?}: {stderr}");
        assert!(
            stderr.contains("a secret assignment at config.env:1")
                && stderr.contains("orch approve secrets --task A-1"),
            "{stderr}"
        );
    }
    assert_eq!(stack.state(), before);
    let log = std::fs::read_to_string(stack.env.root().join("guard.jsonl")).unwrap();
    assert_eq!(log.matches("\"rule\":\"secret\"").count(), 2, "{log}");
    // Other commands are not held; an allowed path is not a finding.
    assert!(stack
        .guarded(&["log", "short", "--no-interactive"])
        .status
        .success());
    hold(&["*.env"]);
    let out = stack.guarded(&["submit", "--draft"]);
    assert_ne!(
        out.status.code(),
        Some(126),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
