//! The crash matrix: orch is SIGKILLed at each crash point (`ORCH_CRASH_AT`, see
//! `src/failpoint.rs`) during a 3-issue milestone, then `orch resume` finishes the run. The
//! end result must be the one an uninterrupted run of the same fixture reaches: the same
//! outcomes and cycle counts, the same branches with the same trees, the same pinned phases
//! and rescue refs, no completed phase run twice, every commit reachable, no worktree left
//! behind, and `orch verify-clean` passing.
//!
//! Also: an agent left running by a SIGKILLed orch is stopped by `orch resume`.

use crate::support;
use serde_json::json;
use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::sync::OnceLock;
use support::fake::FakeRepo;
use support::issue;

use support::fake::work_json as work;

fn fixed() -> String {
    work("pass")
}

fn review(status: &str) -> String {
    support::fake::review_json(status, &["add the test"])
}

/// Writes `file` with `text` and commits it, unless that is already so (a re-run phase
/// finds its work done and changes nothing: contents never depend on the phase number).
fn commit(file: &str, text: &str) -> serde_json::Value {
    json!({"run": format!(
        "mkdir -p work && echo '{text}' > work/{file} && git add work && \
         (git diff --cached --quiet || git commit -q -m '{file}: {text}')"
    )})
}

/// A-1 needs one fix cycle (its review passes once the fix is there); B-1 stacks on A-1;
/// C-1 leaves uncommitted work behind, which its worktree's removal rescues. The matrix runs
/// it with `--jobs 1`, so each crash point is one moment of the run; the cases with issues
/// in flight together use the default three.
fn fixture() -> FakeRepo {
    fixture_with(0.0)
}

/// The fixture, each dev phase taking `dev_secs` after its commit.
fn fixture_with(dev_secs: f64) -> FakeRepo {
    let slow = json!({"sleep": dev_secs});
    FakeRepo::new(
        &[
            ("a.md", issue("A-1", "M1", "")),
            ("b.md", issue("B-1", "M1", "blocked_by: [A-1]\n")),
            ("c.md", issue("C-1", "M1", "")),
        ],
        "max_review_cycles = 2\n",
        json!({
            "A-1/dev": [commit("a.txt", "dev"), slow, {"message": work("pass")}],
            "A-1/review": [
                {"when": "test -f work/a-fix.txt", "steps": [{"message": review("pass")}]},
                {"when": "! test -f work/a-fix.txt", "steps": [{"message": review("changes_required")}]},
            ],
            "A-1/fix": [commit("a-fix.txt", "fixed"), {"message": fixed()}],
            "B-1/dev": [commit("b.txt", "dev"), {"message": work("pass")}],
            "C-1/dev": [commit("c.txt", "dev"), {"run": "echo scratch > notes.tmp"}, slow, {"message": work("pass")}],
        }),
    )
}

/// What a finished run leaves, in terms that do not depend on run ids, dates or phase numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Observed {
    /// Issue → (state, outcome, cycles).
    pub issues: BTreeMap<String, (String, String, u64)>,
    /// Branch → its tip's tree.
    pub trees: BTreeMap<String, String>,
    /// Issue → its pinned phases' names in phase order.
    pub pins: BTreeMap<String, Vec<String>>,
    /// Rescue refs → their trees.
    pub rescues: BTreeMap<String, String>,
    /// (issue, phase) → how many times the agent ran it.
    pub calls: BTreeMap<(String, String), usize>,
}

/// Observes a finished run, checking what every finished run must hold: no orphan worktree,
/// every commit reachable, the repository clean, the event log whole and ended.
pub(crate) fn observe(repo: &FakeRepo) -> Observed {
    let git = |args: &[&str]| repo.env.git(args);
    let out = repo.command(&["status", "--json"]).output().unwrap();
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["finished"], true, "{status}");
    let mut issues = BTreeMap::new();
    for i in status["issues"].as_array().unwrap() {
        let id = i["id"].as_str().unwrap().to_owned();
        let s = repo.summary(&id);
        issues.insert(
            id,
            (
                i["status"].as_str().unwrap().to_owned(),
                s["outcome"].as_str().unwrap().to_owned(),
                s["cycles"].as_u64().unwrap(),
            ),
        );
    }
    let tree = |r: &str| {
        git(&["rev-parse", &format!("{r}^{{tree}}")])
            .trim()
            .to_owned()
    };
    let refs = |prefix: &str| -> Vec<String> {
        git(&["for-each-ref", "--format=%(refname)", prefix])
            .lines()
            .map(str::to_owned)
            .collect()
    };
    let trees = refs("refs/heads/")
        .iter()
        .map(|r| (r.clone(), tree(r)))
        .collect();
    let mut pinned: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for r in refs("refs/orch/runs/") {
        // refs/orch/runs/<run-id>/<issue>/<NN>-<phase>
        let parts: Vec<&str> = r.split('/').collect();
        let (seq, phase) = parts[5].split_once('-').unwrap();
        pinned
            .entry(parts[4].to_owned())
            .or_default()
            .push((format!("{seq:0>4}"), phase.to_owned()));
    }
    let pins = pinned
        .into_iter()
        .map(|(issue, mut p)| {
            p.sort();
            (issue, p.into_iter().map(|(_, phase)| phase).collect())
        })
        .collect();
    let rescues = refs("refs/orch/rescue/")
        .iter()
        .map(|r| (r.clone(), tree(r)))
        .collect();
    let mut calls = BTreeMap::new();
    for key in repo.keys() {
        // An agent whose orch died before handing it the prompt has no key.
        let Some((issue, phase)) = key.split_once('/') else {
            continue;
        };
        let name = phase.split_once('-').unwrap().1;
        *calls
            .entry((issue.to_owned(), name.to_owned()))
            .or_default() += 1;
    }

    // No orphan worktree: only the main one is registered, and no directory is left.
    let worktrees = git(&["worktree", "list", "--porcelain"]);
    assert_eq!(
        worktrees
            .lines()
            .filter(|l| l.starts_with("worktree "))
            .count(),
        1,
        "{worktrees}"
    );
    assert!(
        !repo.env.root().join("wt/p/M1").exists(),
        "a worktree directory is left"
    );
    // Every commit any phase made is reachable from a ref.
    let fsck = git(&["fsck", "--unreachable", "--no-reflogs", "--no-progress"]);
    for line in fsck.lines() {
        if let Some(oid) = line.strip_prefix("unreachable commit ") {
            let author = git(&["log", "-1", "--format=%an <%ae> %s", oid]);
            panic!("commit {oid} is unreachable: {author}");
        }
    }
    repo.env.orch().arg("verify-clean").assert().success();
    // The event log: every line parses, and the run ends with `completed`.
    let types = event_types(repo);
    assert_eq!(
        types.last().map(String::as_str),
        Some("completed"),
        "{types:?}"
    );
    Observed {
        issues,
        trees,
        pins,
        rescues,
        calls,
    }
}

/// The `type` of every line of the run's event log (each line must parse).
fn event_types(repo: &FakeRepo) -> Vec<String> {
    let logs = repo.env.repo.join("logs/orch/p/M1");
    let mut types = Vec::new();
    for entry in std::fs::read_dir(&logs).unwrap().flatten() {
        if !entry.file_name().to_string_lossy().starts_with("events-") {
            continue;
        }
        for line in std::fs::read_to_string(entry.path()).unwrap().lines() {
            let event: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            types.push(event["type"].as_str().unwrap().to_owned());
        }
    }
    types
}

/// The uninterrupted run of the fixture, observed once for every test.
fn baseline() -> &'static Observed {
    static BASELINE: OnceLock<Observed> = OnceLock::new();
    BASELINE.get_or_init(|| {
        let repo = fixture();
        let (code, out) = repo.run(&["run", "M1", "--jobs", "1"]);
        assert_eq!(code, 0, "{out}");
        let seen = observe(&repo);
        // The fixture is what the matrix needs: a fix cycle, a stack, a rescue.
        assert_eq!(
            seen.issues["A-1"],
            ("completed".into(), "completed".into(), 1)
        );
        assert_eq!(seen.pins["A-1"], ["dev", "review", "fix", "review"]);
        assert_eq!(seen.rescues.len(), 1, "{seen:?}");
        seen
    })
}

/// Crashes the fixture's run at `point`, resumes it, and compares with the baseline.
/// `killed` is the phase the crash cut off (run again on resume), if any.
fn crash_and_resume(point: &str, killed: Option<(&str, &str)>) {
    let expected = baseline().clone();
    let repo = fixture();
    repo.crash_at(point, &["run", "M1", "--jobs", "1"]);
    let (code, text) = repo.run(&["resume", "--jobs", "1"]);
    assert_eq!(code, 0, "resume after a crash at {point}: {text}");
    let mut seen = observe(&repo);
    assert!(
        event_types(&repo).iter().any(|t| t == "resumed"),
        "the event log says the run was resumed"
    );
    if let Some((issue, phase)) = killed {
        // The cut-off phase ran at most once more than in the baseline (a crash right after
        // the spawn leaves an agent that never got its prompt), and its pin is followed by
        // the pin of its re-run; nothing else ran again.
        let key = (issue.to_owned(), phase.to_owned());
        let n = seen.calls.get_mut(&key).unwrap();
        if *n == expected.calls[&key] + 1 {
            *n -= 1;
        }
        let pins = seen.pins.get_mut(issue).unwrap();
        let at = pins
            .windows(2)
            .position(|w| w[0] == phase && w[1] == phase)
            .unwrap_or_else(|| panic!("no re-run of {issue} {phase} in {pins:?}"));
        pins.remove(at);
    }
    assert_eq!(
        seen.issues, expected.issues,
        "outcomes after a crash at {point}"
    );
    assert_eq!(
        seen.trees, expected.trees,
        "branches after a crash at {point}"
    );
    assert_eq!(
        seen.pins, expected.pins,
        "pinned phases after a crash at {point}"
    );
    assert_eq!(
        seen.rescues, expected.rescues,
        "rescue refs after a crash at {point}"
    );
    assert_eq!(
        seen.calls, expected.calls,
        "agent invocations after a crash at {point}"
    );
}

#[test]
fn crash_before_the_first_worktree() {
    crash_and_resume("before-worktree", None);
}

#[test]
fn crash_before_a_stacked_issue_s_worktree() {
    crash_and_resume("before-worktree:2", None);
}

#[test]
fn crash_mid_dev() {
    crash_and_resume("mid-dev", Some(("A-1", "dev")));
}

#[test]
fn crash_between_dev_and_review() {
    crash_and_resume("after-dev", None);
}

#[test]
fn crash_mid_review_and_after_it() {
    crash_and_resume("mid-review", Some(("A-1", "review")));
    crash_and_resume("after-review", None);
}

#[test]
fn crash_mid_fix() {
    crash_and_resume("mid-fix", Some(("A-1", "fix")));
}

#[test]
fn crash_between_fix_and_review() {
    crash_and_resume("after-fix", None);
}

#[test]
fn crash_during_worktree_removal() {
    crash_and_resume("mid-removal", None);
}

#[test]
fn crash_during_removal_after_a_rescue() {
    // The third removal is C-1's, which has uncommitted work to rescue first.
    crash_and_resume("mid-removal:3", None);
}

#[test]
fn crash_while_deleting_a_worktree_s_files() {
    // The files are gone, the directories, `.git` and the registration not yet: first for
    // A-1, then for C-1 (whose work was rescued just before).
    crash_and_resume("mid-delete", None);
    crash_and_resume("mid-delete:3", None);
}

#[test]
fn crash_while_writing_the_dashboard() {
    // Its temp file is left in the working tree: resume must not take it for the user's.
    crash_and_resume("mid-dashboard-write", None);
}

#[test]
fn crash_while_writing_the_first_state() {
    // Killed before the state document was ever renamed into place.
    crash_and_resume("mid-state-write", None);
}

#[test]
fn crash_while_writing_later_states() {
    // A-1's writes: 1 run started, 2 issue started, 3 dev started, 4 dev's agent spawned
    // (the crash cuts dev off), 5 dev's record (in the temp file only: it must count),
    // 6 review started, 7 its agent, 8 review's record.
    for (n, killed) in [(4, Some(("A-1", "dev"))), (5, None), (8, None)] {
        crash_and_resume(&format!("mid-state-write:{n}"), killed);
    }
}

/// Crashes the fixture run with three jobs (A-1 and C-1 in flight together, their dev
/// phases slow enough to overlap) at `point`, resumes it, and compares with the
/// uninterrupted run of one job: the same outcomes, trees, pins and rescues. A phase the
/// crash cut off (any issue's, whichever were in flight) is pinned, then runs again: its
/// pin is followed by its re-run's, and its agent ran at most once more; nothing that had
/// finished runs again.
fn crash_in_flight_and_resume(point: &str, cut_off: std::ops::RangeInclusive<usize>) {
    let expected = baseline().clone();
    let repo = fixture_with(1.0);
    repo.crash_at(point, &["run", "M1"]);
    let (code, text) = repo.run(&["resume"]);
    assert_eq!(code, 0, "resume after a crash at {point}: {text}");
    let mut seen = observe(&repo);
    let mut reruns = 0;
    for (issue, pins) in seen.pins.iter_mut() {
        let mut kept: Vec<String> = Vec::new();
        for phase in pins.drain(..) {
            if kept.last() == Some(&phase) {
                reruns += 1;
                let key = (issue.clone(), phase.clone());
                let calls = seen.calls.get_mut(&key).unwrap();
                assert!(
                    *calls <= expected.calls[&key] + 1,
                    "{issue} {phase} ran {calls} times after a crash at {point}"
                );
                *calls = expected.calls[&key].min(*calls);
                continue;
            }
            kept.push(phase);
        }
        *pins = kept;
    }
    assert!(
        cut_off.contains(&reruns),
        "{reruns} phases cut off by a crash at {point}, expected {cut_off:?}"
    );
    assert_eq!(seen.issues, expected.issues, "outcomes after {point}");
    assert_eq!(seen.trees, expected.trees, "branches after {point}");
    assert_eq!(seen.pins, expected.pins, "pinned phases after {point}");
    assert_eq!(seen.rescues, expected.rescues, "rescue refs after {point}");
    assert_eq!(seen.calls, expected.calls, "agent calls after {point}");
}

#[test]
fn crash_while_two_issues_are_mid_dev() {
    // The second agent's first item: A-1's and C-1's dev agents both at work.
    crash_in_flight_and_resume("mid-dev:2", 2..=2);
}

#[test]
fn crash_while_one_issue_is_removed_and_another_runs() {
    // C-1 ends first (two phases to A-1's four): its work is rescued, its worktree not yet
    // removed, while A-1 runs (mid-phase, or between two) and B-1 waits on it.
    crash_in_flight_and_resume("mid-removal", 0..=1);
}

#[test]
fn crash_as_a_stacked_issue_starts_while_another_is_removed() {
    // A-1 ends, B-1's branch exists and its worktree not yet; C-1 has ended or is ending.
    crash_in_flight_and_resume("before-worktree:3", 0..=0);
}

#[test]
fn resume_stops_an_agent_that_outlived_a_killed_orch() {
    let repo = FakeRepo::new(
        &[("a.md", issue("A-1", "M1", ""))],
        "",
        json!({"A-1/01-dev": [commit("a.txt", "dev"), {"sleep": 60}, {"message": work("pass")}]}),
    );
    let out = repo
        .command(&["run", "M1"])
        .env("ORCH_CRASH_AT", "mid-dev")
        .output()
        .unwrap();
    assert_eq!(out.status.signal(), Some(libc::SIGKILL));
    // The state names the agent's process group, and that agent is still running.
    let status: serde_json::Value =
        serde_json::from_slice(&repo.command(&["status", "--json"]).output().unwrap().stdout)
            .unwrap();
    let agent = &status["issues"][0]["current_phase"]["agent"];
    let pid = agent["pid"].as_i64().expect("agent recorded") as i32;
    assert_eq!(agent["pgid"].as_i64(), Some(i64::from(pid)));
    assert!(agent["start_time"].is_u64(), "{agent}");
    assert!(alive(pid), "the agent outlived orch");

    let started = std::time::Instant::now();
    let (code, out) = repo.run(&["resume", "--force-unlock"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("Stopped:") && out.contains("A-1 01-dev"),
        "resume says it stopped the agent: {out}"
    );
    assert!(!alive(pid), "the orphaned agent is gone");
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    // The dev phase ran again (once), and the killed one's commit is kept.
    assert_eq!(repo.keys(), ["A-1/01-dev", "A-1/02-dev", "A-1/03-review"]);
    assert_eq!(repo.summary("A-1")["outcome"], "completed");
    // A second resume finds nothing to stop (the recorded agent is no longer current).
    let (code, out) = repo.run(&["resume"]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("Stopped:"), "{out}");
}

/// Running (a zombie waiting for its reaper does not count).
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        let state = s[s.rfind(')').unwrap() + 1..].split_whitespace().next();
        state != Some("Z")
    })
}

/// A finished run's observation with the run ids taken out of rescue ref names
/// (`…/branch-<run-id>`), so twins run at different moments compare.
fn without_run_ids(mut seen: Observed) -> Observed {
    seen.rescues = seen
        .rescues
        .into_iter()
        .map(|(name, tree)| match name.split_once("/branch-") {
            Some((prefix, _)) => (format!("{prefix}/branch-<run>"), tree),
            None => (name, tree),
        })
        .collect();
    seen
}

/// The fixture run once to its end, then run again with `again` (`--fresh`, `--retry A-1`):
/// straight through, or killed at `crash` and resumed. What it ends with, observed.
fn second_run(again: &[&str], crash: Option<&str>) -> Observed {
    let repo = fixture();
    let (code, out) = repo.run(&["run", "M1", "--jobs", "1"]);
    assert_eq!(code, 0, "{out}");
    let args = [&["run", "M1", "--jobs", "1"], again].concat();
    match crash {
        None => {
            let (code, out) = repo.run(&args);
            assert_eq!(code, 0, "{out}");
        }
        Some(point) => {
            repo.crash_at(point, &args);
            // The killed run is the milestone's last: a new run is refused, pointing at it.
            let (code, out) = repo.run(&["run", "M1"]);
            assert_eq!(code, 1, "{out}");
            assert!(out.contains("`orch resume p/M1`"), "{out}");
            let (code, out) = repo.run(&["resume", "--jobs", "1"]);
            assert_eq!(code, 0, "resume after a crash at {point}: {out}");
        }
    }
    without_run_ids(observe(&repo))
}

#[test]
fn a_fresh_start_killed_while_it_sets_branches_aside_resumes_to_the_same_end() {
    let straight = second_run(&["--fresh"], None);
    // Every issue ran twice, and each earlier branch is kept.
    assert_eq!(straight.calls[&("B-1".to_owned(), "dev".to_owned())], 2);
    for id in ["A-1", "B-1", "C-1"] {
        assert!(
            straight
                .rescues
                .contains_key(&format!("refs/orch/rescue/p/M1/{id}/branch-<run>")),
            "{straight:?}"
        );
    }
    // Killed with A-1's branch set aside and B-1's tip kept but its branch not yet gone.
    assert_eq!(second_run(&["--fresh"], Some("mid-set-aside:2")), straight);
}

#[test]
fn a_retry_killed_while_it_sets_a_branch_aside_or_runs_resumes_to_the_same_end() {
    let straight = second_run(&["--retry", "A-1"], None);
    // A-1 and B-1 (stacked on it) ran again; C-1 was carried.
    assert_eq!(straight.calls[&("A-1".to_owned(), "dev".to_owned())], 2);
    assert_eq!(straight.calls[&("B-1".to_owned(), "dev".to_owned())], 2);
    assert_eq!(straight.calls[&("C-1".to_owned(), "dev".to_owned())], 1);
    for point in ["mid-set-aside", "mid-set-aside:2", "after-dev"] {
        assert_eq!(
            second_run(&["--retry", "A-1"], Some(point)),
            straight,
            "killed at {point}"
        );
    }
}

#[test]
fn a_run_state_that_cannot_be_written_stops_the_run_and_resume_goes_on_from_the_last_written() {
    let expected = baseline().clone();
    let repo = fixture();
    // From the 6th write on, the state cannot be written (as on a disk that filled up).
    let out = repo
        .command(&["run", "M1", "--jobs", "1"])
        .env("ORCH_FAIL_AT", "state-save:6")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the run state cannot be written")
            && stderr.contains("`orch resume p/M1` continues from the last transition written"),
        "{stderr}"
    );
    let (code, text) = repo.run(&["resume", "--jobs", "1"]);
    assert_eq!(code, 0, "{text}");
    let mut seen = observe(&repo);
    // The phase the stop cut off ran once more; nothing else did.
    for (key, n) in seen.calls.iter_mut() {
        if *n == expected.calls[key] + 1 {
            *n -= 1;
        }
    }
    assert_eq!(seen.issues, expected.issues);
    assert_eq!(seen.trees, expected.trees);
    assert_eq!(seen.pins, expected.pins);
    assert_eq!(seen.rescues, expected.rescues);
    assert_eq!(seen.calls, expected.calls);
}

#[test]
fn an_event_log_that_cannot_be_written_is_said_once_and_the_run_goes_on() {
    let expected = baseline().clone();
    let repo = fixture();
    let out = repo
        .command(&["run", "M1", "--jobs", "1"])
        .env("ORCH_FAIL_AT", "event-log:3")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        stderr.matches("cannot write the event log").count(),
        1,
        "said once: {stderr}"
    );
    assert!(stderr.contains("the run goes on without it"), "{stderr}");
    // The run did all it would have: the log is a record, not the resume point.
    let out = repo.command(&["status", "--json"]).output().unwrap();
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["finished"], true, "{status}");
    for (id, (state, outcome, cycles)) in &expected.issues {
        let s = repo.summary(id);
        let mut recorded = status["issues"].as_array().unwrap().iter();
        let i = recorded.find(|i| i["id"] == id.as_str()).unwrap();
        assert_eq!(i["status"], state.as_str(), "{id}");
        assert_eq!(s["outcome"], outcome.as_str(), "{id}");
        assert_eq!(s["cycles"], *cycles, "{id}");
    }
    // What it had written before stays; nothing after the failure was half-written.
    let logs = repo.env.repo.join("logs/orch/p/M1");
    let log = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("events-")
        })
        .expect("the event log");
    let text = std::fs::read_to_string(log).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text
        .lines()
        .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()));
}
