//! Several issues in flight (`--jobs`), with the fake agent: the same run with one job and
//! with three ends the same (outcomes, branch trees, pins, agent calls); a failed issue's
//! dependent is skipped while a sibling chain goes on; never more agents are alive than
//! `jobs` (from the agents' own start/end records); one phase's audit does not count a
//! sibling's work, and catches a foreign ref one of two phases in flight moves; Ctrl-C with
//! three in flight interrupts all three, and a resume finishes them.

use crate::crash::observe;
use crate::support;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::fake::work_json as work;
use support::fake::FakeRepo;
use support::issue;

/// A dev phase that commits `work/<id>.txt` and then takes `secs` (so phases overlap).
fn slow_dev(id: &str, secs: f64) -> serde_json::Value {
    json!([
        {"run": format!("mkdir -p work && echo '{id} dev' >> work/{id}.txt && git add work && git commit -q -m '{id}: dev'")},
        {"sleep": secs},
        {"message": work("pass")},
    ])
}

/// A diamond (D-1 → D-2, D-3 → D-4) and three chains of two (X, Y, Z), every dev phase slow.
fn diamond_and_chains() -> (Vec<(String, String)>, serde_json::Value) {
    let mut docs = vec![
        ("d1.md".to_owned(), issue("D-1", "M1", "")),
        (
            "d2.md".to_owned(),
            issue("D-2", "M1", "blocked_by: [D-1]\n"),
        ),
        (
            "d3.md".to_owned(),
            issue("D-3", "M1", "blocked_by: [D-1]\n"),
        ),
        (
            "d4.md".to_owned(),
            issue("D-4", "M1", "blocked_by: [D-2, D-3]\n"),
        ),
    ];
    for chain in ["X", "Y", "Z"] {
        docs.push((
            format!("{chain}1.md"),
            issue(&format!("{chain}-1"), "M1", ""),
        ));
        docs.push((
            format!("{chain}2.md"),
            issue(
                &format!("{chain}-2"),
                "M1",
                &format!("blocked_by: [{chain}-1]\n"),
            ),
        ));
    }
    let mut script = serde_json::Map::new();
    for (_, text) in &docs {
        let id = text.lines().nth(1).unwrap().trim_start_matches("id: ");
        // Long enough that three in flight overlap even on a loaded machine.
        script.insert(format!("{id}/01-dev"), slow_dev(id, 1.0));
    }
    (docs, serde_json::Value::Object(script))
}

/// A step that waits (up to 10 s) for the marker `name` in the directory `marks`: how one
/// scripted agent waits for another to be at a given point.
fn wait_mark(marks: &str, name: &str) -> serde_json::Value {
    json!({"run": format!("for i in $(seq 200); do test -f {marks}/{name} && break; sleep 0.05; done")})
}

fn repo(docs: &[(String, String)], config: &str, script: serde_json::Value) -> FakeRepo {
    let docs: Vec<(&str, String)> = docs.iter().map(|(n, t)| (n.as_str(), t.clone())).collect();
    FakeRepo::new(&docs, config, script)
}

/// Runs `orch ARGS` with the agents recording their lives in `lives`; exit code and output.
fn run_recorded(repo: &FakeRepo, lives: &Path, args: &[&str]) -> (i32, String) {
    let out = repo
        .command(args)
        .env("ORCH_FAKE_LIVES", lives)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// The most agents alive at once, from their `start`/`end` records; every start has an end.
fn most_alive(lives: &Path) -> usize {
    let text = std::fs::read_to_string(lives).unwrap();
    let mut marks: Vec<(u64, i32)> = text
        .lines()
        .map(|l| {
            let parts: Vec<&str> = l.split(' ').collect();
            let at: u64 = parts[2].parse().unwrap();
            // An end sorts before a start at the same instant.
            (at, if parts[0] == "start" { 1 } else { -1 })
        })
        .collect();
    marks.sort();
    assert_eq!(
        marks.iter().map(|(_, d)| d).sum::<i32>(),
        0,
        "an agent has no end: {text}"
    );
    let (mut alive, mut most) = (0, 0);
    for (_, d) in marks {
        alive += d;
        most = most.max(alive);
    }
    most as usize
}

fn lives_path(repo: &FakeRepo) -> PathBuf {
    repo.env.root().join("lives")
}

#[test]
fn a_diamond_and_three_chains_end_the_same_with_one_job_and_with_three() {
    let (docs, script) = diamond_and_chains();
    let one = repo(&docs, "", script.clone());
    let three = repo(&docs, "", script);
    // The two runs, in repositories of their own, side by side.
    let ((code_one, out_one), (code, out)) = std::thread::scope(|s| {
        let one = s.spawn(|| run_recorded(&one, &lives_path(&one), &["run", "M1", "--jobs", "1"]));
        let three = run_recorded(&three, &lives_path(&three), &["run", "M1", "--jobs", "3"]);
        (one.join().unwrap(), three)
    });
    assert_eq!(code_one, 0, "{out_one}");
    assert_eq!(code, 0, "{out}");
    assert_eq!(most_alive(&lives_path(&one)), 1);
    let most = most_alive(&lives_path(&three));
    assert!(most > 1 && most <= 3, "{most} agents alive at once");

    let (a, b) = (observe(&one), observe(&three));
    assert_eq!(a.issues, b.issues, "outcomes");
    assert_eq!(a.trees, b.trees, "branches' trees");
    assert_eq!(a.pins, b.pins, "pinned phases");
    assert_eq!(a.calls, b.calls, "agent calls");
    assert_eq!(a.rescues, b.rescues, "rescued work");
    assert!(a
        .issues
        .values()
        .all(|(_, outcome, _)| outcome == "completed"));
    // The summary and TASKS.md list every issue in plan order, whatever finished first.
    let status = three.command(&["status", "--json"]).output().unwrap();
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let ids: Vec<&str> = status["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["D-1", "D-2", "D-3", "D-4", "X-1", "X-2", "Y-1", "Y-2", "Z-1", "Z-2"]
    );
    let dashboard = std::fs::read_to_string(three.env.repo.join("TASKS.md")).unwrap();
    let rows: Vec<usize> = ids
        .iter()
        .map(|id| {
            dashboard
                .find(&format!("**{id}**"))
                .unwrap_or_else(|| panic!("{id}: {dashboard}"))
        })
        .collect();
    assert!(rows.windows(2).all(|w| w[0] < w[1]), "{dashboard}");
    // Plain progress names each line's issue.
    assert!(out.contains("[X-1] 01-dev pass"), "{out}");
}

#[test]
fn the_dependent_of_a_failed_issue_is_skipped_while_a_sibling_chain_completes() {
    let docs = [
        ("a1.md", issue("A-1", "M1", "")),
        ("a2.md", issue("A-2", "M1", "blocked_by: [A-1]\n")),
        ("b1.md", issue("B-1", "M1", "")),
        ("b2.md", issue("B-2", "M1", "blocked_by: [B-1]\n")),
    ];
    let repo = FakeRepo::new(
        &docs,
        "",
        json!({
            "A-1/01-dev": [{"sleep": 0.5}, {"exit": 2}],
            "B-1/01-dev": slow_dev("B-1", 0.5),
        }),
    );
    let lives = lives_path(&repo);
    let (code, out) = run_recorded(&repo, &lives, &["run", "M1", "--jobs", "3"]);
    assert_eq!(code, 100, "{out}");
    assert_eq!(repo.summary("A-1")["outcome"], "failed");
    let a2 = repo.summary("A-2");
    assert_eq!(a2["outcome"], "skipped");
    assert_eq!(a2["reason"], "depends on A-1 (failed) which did not pass");
    assert_eq!(repo.summary("B-1")["outcome"], "completed");
    assert_eq!(repo.summary("B-2")["outcome"], "completed");
    // A-1 and B-1 ran side by side.
    assert_eq!(most_alive(&lives), 2);
}

#[test]
fn never_more_agents_alive_than_jobs() {
    let docs: Vec<(String, String)> = (1..=5)
        .map(|n| (format!("i{n}.md"), issue(&format!("I-{n}"), "M1", "")))
        .collect();
    let mut script = serde_json::Map::new();
    for n in 1..=5 {
        let id = format!("I-{n}");
        script.insert(format!("{id}/01-dev"), slow_dev(&id, 0.4));
    }
    let repo = repo(&docs, "jobs = 4\n", serde_json::Value::Object(script));
    let lives = lives_path(&repo);
    // --jobs beats orch.toml's `jobs`.
    let (code, out) = run_recorded(&repo, &lives, &["run", "M1", "--jobs", "2"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(most_alive(&lives), 2);
    // 5 dev and 5 review agents.
    let starts = std::fs::read_to_string(&lives).unwrap();
    assert_eq!(
        starts.lines().filter(|l| l.starts_with("start")).count(),
        10
    );
}

use support::wait_until as wait_for;

#[test]
fn one_phase_s_audit_leaves_a_sibling_s_work_alone_and_catches_the_foreign_ref_one_moves() {
    let marks = tempfile::tempdir().unwrap();
    let m = marks.path().display().to_string();
    let git = support::real_git();
    let repo = FakeRepo::new(
        &[
            ("a.md", issue("A-1", "M1", "")),
            ("b.md", issue("B-1", "M1", "")),
        ],
        "",
        json!({
            // A-1 commits, waits for B-1's agent to be at work, then moves `main` to its
            // commit with the real git by its path (past the guard) and tells B-1 so.
            "A-1/01-dev": [
                {"run": "mkdir -p work && echo a > work/a.txt && git add work && git commit -q -m a"},
                wait_mark(&m, "b-started"),
                {"run": format!("{git} update-ref refs/heads/main HEAD && touch {m}/a-moved")},
                {"message": work("pass")},
            ],
            // B-1 commits on its own branch while A-1's phase runs, and ends after A-1 moved main.
            "B-1/01-dev": [
                {"run": format!("mkdir -p work && echo b > work/b.txt && git add work && git commit -q -m b && touch {m}/b-started")},
                wait_mark(&m, "a-moved"),
                {"run": "echo more >> work/b.txt && git commit -qam 'b: more'"},
                {"message": work("pass")},
            ],
        }),
    );
    let main_before = repo.env.git(&["rev-parse", "main"]);
    let (code, out) = repo.run(&["run", "M1", "--jobs", "2"]);
    assert_eq!(code, 100, "{out}");
    assert!(
        marks.path().join("a-moved").exists(),
        "the phases did not overlap"
    );
    let violations = |id: &str| -> Vec<serde_json::Value> {
        let log = repo.phase_dir(id, "01-dev").join("guard.jsonl");
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| v["kind"] == "violation")
            .collect()
    };
    let a = violations("A-1");
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0]["ref"], "refs/heads/main");
    assert_eq!(a[0]["restored"], true);
    assert!(
        a[0].get("also_in_flight").is_none(),
        "attributed exactly: {a:?}"
    );
    assert_eq!(violations("B-1"), Vec::<serde_json::Value>::new());
    assert_eq!(repo.summary("A-1")["outcome"], "failed");
    assert_eq!(repo.summary("B-1")["outcome"], "completed");
    assert_eq!(repo.summary("B-1")["commits"], 2);
    assert_eq!(repo.env.git(&["rev-parse", "main"]), main_before);
}

#[test]
fn ctrl_c_with_three_in_flight_interrupts_all_three_and_resume_finishes_them() {
    let docs = [
        ("a.md", issue("A-1", "M1", "")),
        ("b.md", issue("B-1", "M1", "")),
        ("c.md", issue("C-1", "M1", "")),
    ];
    let mut script = serde_json::Map::new();
    for id in ["A-1", "B-1", "C-1"] {
        script.insert(format!("{id}/01-dev"), slow_dev(id, 60.0));
    }
    let repo = FakeRepo::new(&docs, "", serde_json::Value::Object(script));
    let lives = lives_path(&repo);
    let mut child = repo
        .command(&["run", "M1", "--jobs", "3"])
        .env("ORCH_FAKE_LIVES", &lives)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // All three agents have committed and sleep.
    wait_for("three agents at work", Duration::from_secs(30), || {
        ["A-1", "B-1", "C-1"].iter().all(|id| {
            std::fs::read_to_string(repo.phase_dir(id, "01-dev").join("events.jsonl"))
                .is_ok_and(|e| e.contains("\"completed\""))
        })
    });
    // `orch status` meanwhile shows every issue in flight with its phase and time.
    let status = repo.command(&["status"]).output().unwrap();
    let status = String::from_utf8_lossy(&status.stdout);
    for id in ["A-1", "B-1", "C-1"] {
        assert!(
            status.lines().any(|l| l.starts_with(id)
                && l.contains("in_progress")
                && l.contains("01-dev for ")),
            "{status}"
        );
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let code = child.wait().unwrap().code();
    assert_eq!(code, Some(130));
    let status = repo.command(&["status", "--json"]).output().unwrap();
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    for i in status["issues"].as_array().unwrap() {
        assert_eq!(i["status"], "interrupted", "{status}");
    }
    // Every agent was stopped (each recorded no end: it was killed, not finished).
    let text = std::fs::read_to_string(&lives).unwrap();
    assert_eq!(text.lines().filter(|l| l.starts_with("start")).count(), 3);

    // The resume runs the cut-off phases again (now quick) and finishes all three.
    repo.script(json!({}));
    let (code, out) = repo.run(&["resume"]);
    assert_eq!(code, 0, "{out}");
    let seen = observe(&repo);
    for id in ["A-1", "B-1", "C-1"] {
        assert_eq!(seen.issues[id].1, "completed");
        assert_eq!(seen.pins[id], ["dev", "dev", "review"], "{id}");
    }
}

/// Alive and not a zombie.
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        let state = s[s.rfind(')').unwrap() + 1..].split_whitespace().next();
        state != Some("Z")
    })
}

#[test]
fn a_second_ctrl_c_kills_the_agents_at_once_and_resume_finishes() {
    let marks = tempfile::tempdir().unwrap();
    let m = marks.path().display().to_string();
    let docs = [
        ("a.md", issue("A-1", "M1", "")),
        ("b.md", issue("B-1", "M1", "")),
    ];
    // Agents that ignore SIGTERM: the first Ctrl-C would wait out the grace period for them.
    let mut script = serde_json::Map::new();
    for id in ["A-1", "B-1"] {
        script.insert(
            format!("{id}/01-dev"),
            json!([{"ignore_term": true}, {"run": format!("trap '' TERM; echo $$ > {m}/{id}.pid; sleep 60")}]),
        );
    }
    let repo = FakeRepo::new(&docs, "", serde_json::Value::Object(script));
    let child = repo
        .command(&["run", "M1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid_of = |id: &str| -> Option<i32> {
        std::fs::read_to_string(marks.path().join(format!("{id}.pid")))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    wait_for("both agents at work", Duration::from_secs(30), || {
        pid_of("A-1").is_some() && pid_of("B-1").is_some()
    });
    let pids = [pid_of("A-1").unwrap(), pid_of("B-1").unwrap()];
    let first = Instant::now();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    std::thread::sleep(Duration::from_millis(300));
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("a second interrupt: 2 agent(s) killed"),
        "{stderr}"
    );
    // Well inside the 3 s the first interrupt gives an agent to go.
    assert!(
        first.elapsed() < Duration::from_millis(2500),
        "{:?}",
        first.elapsed()
    );
    wait_for("the agents to be gone", Duration::from_secs(5), || {
        pids.iter().all(|&p| !alive(p))
    });

    repo.script(json!({}));
    let (code, out) = repo.run(&["resume"]);
    assert_eq!(code, 0, "{out}");
    let seen = observe(&repo);
    for id in ["A-1", "B-1"] {
        assert_eq!(seen.issues[id].1, "completed");
        assert_eq!(seen.pins[id], ["dev", "dev", "review"], "{id}");
    }
}

#[test]
fn a_plan_s_tasks_run_side_by_side_and_end_as_with_one_job() {
    // The diamond plan: SETUP (two shards, in order in its worktree) → DOCS, STORE → SHIP,
    // whose deploy waits for an approval.
    let run = |jobs: &str| {
        let fake = FakeRepo::new(
            &[],
            "",
            json!({
                "DOCS/03-fix": [{"run": "echo reviewed >> work/DOCS.txt && git commit -qam 'docs: reviewed'"},
                                {"message": work("pass")}],
                "DOCS/01-dev": [{"sleep": 0.5}, {"run": "mkdir -p work && echo DOCS >> work/DOCS.txt && git add work && git commit -qm docs"}, {"message": work("pass")}],
                "STORE/01-dev": [{"sleep": 0.5}, {"run": "mkdir -p work && echo STORE >> work/STORE.txt && git add work && git commit -qm store"}, {"message": work("pass")}],
            }),
        );
        fake.add_plan("diamond");
        let markers = tempfile::tempdir().unwrap();
        let out = fake
            .command(&["run", "--file", "orchestrator.yml", "--jobs", jobs])
            .env("ORCH_TEST_MARKER_DIR", markers.path())
            .env("ORCH_FAKE_LIVES", lives_path(&fake))
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(100),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (fake, markers)
    };
    let (one, _m1) = run("1");
    let (three, _m3) = run("3");
    assert_eq!(most_alive(&lives_path(&one)), 1);
    assert_eq!(
        most_alive(&lives_path(&three)),
        2,
        "DOCS and STORE side by side"
    );
    // Each task's phases are the same, and SETUP's shards stay in order.
    let by_task = |fake: &FakeRepo| {
        let mut keys = fake.keys();
        keys.sort();
        keys
    };
    assert_eq!(by_task(&one), by_task(&three));
    let keys = three.keys();
    let at = |k: &str| keys.iter().position(|x| x == k).unwrap();
    assert!(at("SETUP/01-dev") < at("SETUP/02-dev"));
    assert!(at("SETUP/03-review") < at("DOCS/01-dev").min(at("STORE/01-dev")));
    assert!(at("DOCS/04-review").max(at("STORE/02-review")) < at("SHIP/01-dev"));
    for task in ["SETUP", "DOCS", "STORE", "SHIP"] {
        let (a, b) = (
            one.summary_in("diamond", task),
            three.summary_in("diamond", task),
        );
        assert_eq!(a["outcome"], b["outcome"], "{task}");
        assert_eq!(a["cycles"], b["cycles"], "{task}");
        assert_eq!(a["awaiting"], b["awaiting"], "{task}");
    }
    let tree = |fake: &FakeRepo, r: &str| fake.env.git(&["rev-parse", &format!("{r}^{{tree}}")]);
    for task in ["SETUP", "DOCS", "STORE", "SHIP"] {
        let branch = one.summary_in("diamond", task)["branch"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(tree(&one, &branch), tree(&three, &branch), "{task}");
    }
}

#[test]
fn a_branch_a_sibling_makes_meanwhile_does_not_join_this_issue_s_stack() {
    // Both start from the trunk; while B-1's dev runs, A-1's makes `a-extra` on its work,
    // which descends from B-1's base too.
    let marks = tempfile::tempdir().unwrap();
    let m = marks.path().display().to_string();
    let repo = FakeRepo::new(
        &[
            ("a.md", issue("A-1", "M1", "")),
            ("b.md", issue("B-1", "M1", "")),
        ],
        "",
        json!({
            "A-1/01-dev": [
                wait_mark(&m, "b-started"),
                {"run": "mkdir -p work && echo a > work/a.txt && git add work && git commit -qm a && git branch a-extra"},
                {"run": format!("touch {m}/a-done")},
                // Its phase goes on well past B-1's: B-1's capture cannot know a-extra from
                // A-1's recorded stack, only from whose worktree made its commit.
                wait_mark(&m, "b-done"),
                {"sleep": 1},
                {"message": work("pass")},
            ],
            "B-1/01-dev": [
                {"run": format!("touch {m}/b-started")},
                wait_mark(&m, "a-done"),
                {"run": format!("mkdir -p work && echo b > work/b.txt && git add work && git commit -qm b && touch {m}/b-done")},
                {"message": work("pass")},
            ],
        }),
    );
    let (code, out) = repo.run(&["run", "M1", "--jobs", "2"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        marks.path().join("a-done").exists(),
        "the phases did not overlap"
    );
    let stack = |id: &str| -> Vec<String> {
        let range =
            std::fs::read_to_string(repo.phase_dir(id, "01-dev").join("range.json")).unwrap();
        let range: serde_json::Value = serde_json::from_str(&range).unwrap();
        range["stack"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let (a, b) = (stack("A-1"), stack("B-1"));
    assert!(a.contains(&"a-extra".to_owned()), "{a:?}");
    assert!(!b.contains(&"a-extra".to_owned()), "{b:?}");
    assert_eq!(repo.summary("B-1")["guard"]["violations"], 0);
}
