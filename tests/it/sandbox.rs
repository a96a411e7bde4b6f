//! The locked-down agent through the real codex (mock model server): the default sandbox
//! lets it commit in its worktree and nothing else, its commands see none of orch's secrets,
//! a redirect of the git dirs is caught and put back, and no process outlives its phase.

use crate::support::codex::CodexRepo;
use crate::support::issue;
use crate::support::mock_model::{dev_json, Reply};

/// Planted in orch's environment: none may reach the agent's commands.
pub(crate) const SECRETS: &[(&str, &str)] = &[
    ("OPENAI_API_KEY", "sk-planted-0123456789abcdef0123"),
    ("GITHUB_TOKEN", "ghp_planted0123456789abcdef0123456789"),
    ("SSH_AUTH_SOCK", "/tmp/planted-agent.sock"),
    ("MY_SERVICE_PASSWORD", "planted-password"),
    ("AWS_SECRET_ACCESS_KEY", "planted-aws-secret"),
];

/// `echo NAME_DENIED` when `probe` fails, `NAME_WROTE` when it succeeds.
pub(crate) fn attempt(name: &str, probe: &str) -> String {
    format!("({probe}) 2>/dev/null && echo {name}_WROTE || echo {name}_DENIED")
}

/// The escapes every agent's sandbox must refuse, planted for `run`: one command line printing
/// `NAME_DENIED` (or `NAME_WROTE`) per attempt, and what the host must still look like.
pub(crate) struct Escapes {
    pub command: String,
    names: Vec<String>,
    paths: Vec<std::path::PathBuf>,
    common: std::path::PathBuf,
    config_before: Vec<u8>,
}

impl Escapes {
    /// The common attempts (outside writes, the git files that run code or redirect git,
    /// `refs/replace`, a planted key under `~/.ssh`), then `extra` ones.
    pub(crate) fn plant(run: &CodexRepo, extra: &[(&str, &str)]) -> Escapes {
        let repo = run.env.repo.clone();
        let common = repo.join(".git");
        let outside = run.env.root().join("outside-probe");
        let home = run.env.home().to_owned();
        std::fs::create_dir_all(home.join(".ssh")).unwrap();
        std::fs::write(home.join(".ssh/id_ed25519"), "PLANTED PRIVATE KEY\n").unwrap();
        let c = common.display();
        let mut probes: Vec<(String, String)> = [
            ("TMP", format!("touch {}", outside.display())),
            ("HOME", "touch \"$HOME/probe\"".to_owned()),
            ("MAIN", format!("touch {}/probe", repo.display())),
            ("CONFIG", format!("echo '[x]' >> {c}/config")),
            ("HOOKS", format!("touch {c}/hooks/post-checkout")),
            (
                "WTCOMMONDIR",
                "echo /tmp >> \"$(git rev-parse --git-dir)/commondir\"".to_owned(),
            ),
            ("COMMONDIR", format!("echo /tmp > {c}/commondir")),
            (
                "REPLACE",
                format!("mkdir -p {c}/refs/replace && touch {c}/refs/replace/x"),
            ),
            ("SSHREAD", "cat \"$HOME/.ssh/id_ed25519\"".to_owned()),
        ]
        .into_iter()
        .map(|(n, p)| (n.to_owned(), p))
        .collect();
        probes.extend(
            extra
                .iter()
                .map(|(n, p)| ((*n).to_owned(), (*p).to_owned())),
        );
        Escapes {
            command: probes
                .iter()
                .map(|(n, p)| attempt(n, p))
                .collect::<Vec<_>>()
                .join("; "),
            names: probes.into_iter().map(|(n, _)| n).collect(),
            paths: vec![
                outside,
                home.join("probe"),
                repo.join("probe"),
                common.join("commondir"),
                common.join("hooks/post-checkout"),
                common.join("refs/replace/x"),
            ],
            config_before: std::fs::read(common.join("config")).unwrap(),
            common,
        }
    }

    /// Every attempt was refused (`said` is what the agent's commands printed), and nothing
    /// landed on the host.
    pub(crate) fn check(&self, said: &str) {
        for name in &self.names {
            assert!(said.contains(&format!("{name}_DENIED")), "{name}: {said}");
        }
        for p in &self.paths {
            assert!(!p.exists(), "{} was written", p.display());
        }
        assert_eq!(
            std::fs::read(self.common.join("config")).unwrap(),
            self.config_before
        );
    }
}

/// `orch <args>` with [`SECRETS`] planted in orch's environment and `ORCH_TEST_PASSED` for
/// `[agent] pass_env` to pass.
pub(crate) fn run_with_planted_secrets(run: &CodexRepo, args: &[&str]) -> std::process::Output {
    let mut cmd = run.orch();
    for (k, v) in SECRETS {
        cmd.env(k, v);
    }
    cmd.env("ORCH_TEST_PASSED", "passed-through")
        .args(args)
        .output()
        .unwrap()
}

fn outputs(events: &str) -> String {
    events
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["type"] == "item.completed" && v["item"]["type"] == "command_execution")
        .map(|v| {
            v["item"]["aggregated_output"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_default_sandbox_lets_the_agent_commit_and_write_nothing_else() {
    let run = CodexRepo::new(
        &[("a1.md", issue("A-1", "M1", ""))],
        "[agent]\npass_env = [\"ORCH_TEST_PASSED\"]\n",
    );
    let escapes = Escapes::plant(&run, &[("PRIVTMP", "mktemp")]);
    run.model.script(
        "A-1/01-dev",
        vec![
            Reply::Commands(vec![escapes.command.clone()]),
            Reply::Commands(vec!["env | sort".into()]),
            Reply::Commands(vec![
                "echo work > work.txt && git add work.txt && git commit -q -m 'A-1: work' && echo COMMIT_OK".into(),
            ]),
            Reply::Message(dev_json("pass")),
        ],
    );
    let out = run_with_planted_secrets(&run, &["run", "M1"]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    let dev = run.logs().join("A-1/01-dev");
    let events = std::fs::read_to_string(dev.join("events.jsonl")).unwrap();
    let said = outputs(&events);
    let review = run.logs().join("A-1/02-review");
    let agent_err = ["stderr.log", "events.jsonl"]
        .map(|f| std::fs::read_to_string(review.join(f)).unwrap_or_default())
        .join("\n");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{stderr}\n{said}\n{agent_err}\n{events}"
    );
    // The private temp dir is the one place outside the worktree a command may write.
    let escapes_said = said.replace("PRIVTMP_WROTE", "PRIVTMP_DENIED");
    escapes.check(&escapes_said);
    assert!(
        said.contains("PRIVTMP_WROTE") && said.contains("COMMIT_OK"),
        "{said}"
    );
    // No secret reaches the commands; what pass_env names does.
    for (name, value) in SECRETS {
        assert!(
            !said.contains(name) && !said.contains(value),
            "{name} leaked: {said}"
        );
    }
    assert!(said.contains("ORCH_TEST_PASSED=passed-through"), "{said}");
    assert!(said.contains("CODEX_PERMISSION_PROFILE=orch"), "{said}");
    // The commit is the issue's; the shims' log (written in the private temp dir) is the
    // phase's; the temp dir is gone.
    let summary = run.summary("A-1");
    assert_eq!(summary["commits"], 1);
    let guard = std::fs::read_to_string(dev.join("guard.jsonl")).unwrap();
    assert!(guard.contains("\"commit\""), "{guard}");
    let run_id = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Run ")?.split_whitespace().next())
        .unwrap()
        .to_owned();
    let tmp_dirs: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("orch-") && name.contains(&run_id)
        })
        .collect();
    assert!(tmp_dirs.is_empty(), "{tmp_dirs:?}");
}

#[test]
fn a_redirect_of_the_git_dirs_is_caught_after_the_phase_and_put_back() {
    // Run open (the explicit opt-out, here by its environment variable), so the agent's
    // writes land: the post-phase check must find and undo them before orch's own git reads
    // the worktree again.
    let run = CodexRepo::new(&[("a1.md", issue("A-1", "M1", ""))], "");
    let common = run.env.repo.join(".git");
    let planted = run.env.root().join("planted");
    let pwned = run.env.root().join("pwned");
    std::fs::create_dir_all(planted.join("objects")).unwrap();
    std::fs::create_dir_all(planted.join("refs")).unwrap();
    std::fs::write(
        planted.join("config"),
        format!("[core]\n\tfsmonitor = \"touch {}\"\n", pwned.display()),
    )
    .unwrap();
    let wt_commondir_before = "../..\n";
    run.model.script(
        "A-1/01-dev",
        vec![
            Reply::Commands(vec![format!(
                "echo work > w.txt && git add w.txt && git commit -q -m 'A-1: work'; \
                 echo {p} > \"$(git rev-parse --git-dir)/commondir\"; \
                 printf '#!/bin/sh\\ntouch {pw}\\n' > {c}/hooks/post-checkout; chmod +x {c}/hooks/post-checkout; \
                 echo REDIRECTED",
                p = planted.display(),
                pw = pwned.display(),
                c = common.display()
            )]),
            Reply::Message(dev_json("pass")),
        ],
    );
    let out = run
        .orch()
        .env("ORCH_CODEX_SANDBOX", "danger-full-access")
        .args(["run", "M1"])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_ne!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let dev = run.logs().join("A-1/01-dev");
    let events = std::fs::read_to_string(dev.join("events.jsonl"))
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    assert!(outputs(&events).contains("REDIRECTED"), "{events}");
    let guard = std::fs::read_to_string(dev.join("guard.jsonl"))
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    let violations: Vec<serde_json::Value> = guard
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &serde_json::Value| v["kind"] == "violation" && v["git_file"].is_string())
        .collect();
    let files: Vec<&str> = violations
        .iter()
        .map(|v| v["git_file"].as_str().unwrap())
        .collect();
    assert_eq!(violations.len(), 2, "{guard}");
    assert!(files.iter().any(|f| f.ends_with("/commondir")), "{files:?}");
    assert!(
        files.iter().any(|f| f.ends_with("hooks/post-checkout")),
        "{files:?}"
    );
    assert!(violations.iter().all(|v| v["restored"] == true));
    // Put back, and never run: the hook is gone, the worktree points at the repository again.
    let wt = run.env.root().join("wt/p/M1/A-1");
    let wt_git = std::fs::read_to_string(wt.join(".git")).ok();
    let entry = common.join("worktrees");
    let commondirs: Vec<String> = std::fs::read_dir(&entry)
        .map(|d| {
            d.flatten()
                .filter_map(|e| std::fs::read_to_string(e.path().join("commondir")).ok())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        commondirs.iter().all(|c| c == wt_commondir_before),
        "{commondirs:?} {wt_git:?}"
    );
    assert!(!common.join("hooks/post-checkout").exists());
    assert!(!pwned.exists(), "the planted command ran");
    let failure = &run.summary("A-1")["phases"][0]["failure"];
    assert_eq!(failure["kind"], "guard_violation", "{failure}");
    // The opt-out is said where a morning reader looks.
    assert!(stdout.contains("Sandbox: off"), "{stdout}");
    let report = run.orch().args(["report", "M1"]).output().unwrap();
    let report = String::from_utf8_lossy(&report.stdout);
    assert!(report.contains("Sandbox: off"), "{report}");
}

#[test]
fn no_process_started_for_a_phase_outlives_it() {
    let run = CodexRepo::new(&[("a1.md", issue("A-1", "M1", ""))], "");
    // Leaves its process group (setsid, as bubblewrap does) and ignores SIGTERM. Run open:
    // in the sandbox the process dies with bubblewrap's pid namespace anyway, while the
    // bubblewrap process itself is what the reference saw outlive codex.
    run.model.script(
        "A-1/01-dev",
        vec![
            Reply::Commands(vec![
                "setsid sh -c 'trap \"\" TERM; exec sleep 300' > /dev/null 2>&1 < /dev/null & \
                 echo BGPID=$!; echo work > w.txt && git add w.txt && git commit -q -m 'A-1: work'"
                    .into(),
            ]),
            Reply::Message(dev_json("pass")),
        ],
    );
    let out = run
        .orch()
        .env("ORCH_CODEX_SANDBOX", "danger-full-access")
        .args(["run", "M1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let events = std::fs::read_to_string(run.logs().join("A-1/01-dev/events.jsonl")).unwrap();
    let said = outputs(&events);
    let pid: i32 = said
        .lines()
        .find_map(|l| l.strip_prefix("BGPID="))
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("no pid in {said}"));
    let alive =
        std::fs::read_to_string(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c.contains("sleep"));
    assert!(!alive, "pid {pid} (sleep 300) outlived its phase");
}

#[test]
fn in_a_graphite_repository_gt_create_and_modify_work_in_the_sandbox() {
    let run = CodexRepo::new(&[("a1.md", issue("A-1", "M1", ""))], "");
    let gt = crate::support::codex::gt_bin();
    let out = run
        .env
        .gt_output(&gt, &["init", "--trunk", "main", "--no-interactive"]);
    assert!(out.status.success(), "{out:?}");
    let config_before = std::fs::read(run.env.repo.join(".git/config")).unwrap();
    run.model.script(
        "A-1/01-dev",
        vec![
            Reply::Commands(vec![
                "echo one > one.txt && gt create a1-part -a -m 'A-1: part' --no-interactive; echo create=$?; \
                 echo two >> one.txt && gt modify -a -m 'A-1: part, amended' --no-interactive; echo modify=$?; \
                 gt log short --no-interactive; echo log=$?"
                    .into(),
            ]),
            Reply::Message(dev_json("pass")),
        ],
    );
    let path = format!(
        "{}:{}",
        gt.parent().unwrap().display(),
        std::env::var("PATH").unwrap()
    );
    let out = run
        .orch()
        .env("PATH", path)
        .args(["run", "M1"])
        .output()
        .unwrap();
    let events = std::fs::read_to_string(run.logs().join("A-1/01-dev/events.jsonl")).unwrap();
    let said = outputs(&events);
    assert_eq!(out.status.code(), Some(0), "{out:?}\n{said}");
    for step in ["create=0", "modify=0", "log=0"] {
        assert!(said.contains(step), "{step}: {said}");
    }
    assert_eq!(
        run.env.git(&["log", "-1", "--format=%s", "a1-part"]).trim(),
        "A-1: part, amended"
    );
    assert_eq!(
        std::fs::read(run.env.repo.join(".git/config")).unwrap(),
        config_before
    );
    assert!(!run.env.repo.join(".git/commondir").exists());
}

#[test]
fn a_codex_that_cannot_sandbox_is_refused_before_anything_starts() {
    // The fake agent has no `codex sandbox`: with the default sandbox the run must not start
    // open, and must say why and how to opt out.
    let fake = crate::support::fake::FakeRepo::new(
        &[("a1.md", issue("A-1", "M1", ""))],
        "",
        serde_json::json!({}),
    );
    let mut cmd = fake.command(&["run", "M1"]);
    cmd.env_remove("ORCH_CODEX_SANDBOX");
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the codex sandbox does not confine the agent here")
            && stderr.contains("danger-full-access"),
        "{stderr}"
    );
    assert!(!fake.env.root().join("fake.log").exists(), "an agent ran");
    assert!(!fake.env.root().join("wt").exists(), "a worktree was made");
    // A mode that is none is refused too.
    let mut cmd = fake.command(&["run", "M1"]);
    cmd.env("ORCH_CODEX_SANDBOX", "wide-open");
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no sandbox mode"));
}
