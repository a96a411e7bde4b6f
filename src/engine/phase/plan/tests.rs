//! The phase plan as a table: for each configuration, agent and loop state, what the phase
//! would be confined to, what the guard knows, which session it continues, which checks
//! follow it.

use super::*;
use crate::model::plan::Shard;
use serde_json::json;

fn config(toml: &str) -> Config {
    Config::parse(Path::new("orch.toml"), toml).unwrap()
}

fn around(graphite: bool) -> Surroundings {
    Surroundings {
        common_dir: "/r/.git".into(),
        worktree_git: "/r/.git/worktrees/a-1".into(),
        temp_root: "/tmp".into(),
        secret_stores: vec!["/h/.config/graphite/user_config".into(), "/h/.ssh".into()],
        graphite_homes: graphite.then(|| vec!["/h/.config/graphite".into()]),
        other_worktrees: vec!["/r/.git/worktrees/b-2".into()],
        real_git: Some("/usr/bin/git".into()),
        real_gt: None,
    }
}

fn issue() -> PlannedIssue {
    let mut issue = PlannedIssue::for_test("A-1", &[]);
    issue.worktree = "/w/a-1".into();
    issue.spec.acceptance = vec![command("make check")];
    issue.spec.shards = vec![shard()];
    issue
}

fn shard() -> Shard {
    Shard {
        id: "s1".into(),
        title: "Part one".into(),
        description: None,
        acceptance: vec![Check::FileExists {
            path: "src/one.rs".into(),
        }],
    }
}

/// One row: what differs from a codex dev phase with the default configuration.
struct Row {
    name: &'static str,
    toml: &'static str,
    kind: PhaseKind,
    agent: Option<AgentKind>,
    dev_agent: Option<AgentKind>,
    fix_agent: Option<AgentKind>,
    graphite: bool,
    approved: bool,
    shard: bool,
    full_gate: bool,
}

const CODEX: Option<AgentKind> = Some(AgentKind::Codex);
const CLAUDE: Option<AgentKind> = Some(AgentKind::Claude);

const BASE: Row = Row {
    name: "",
    toml: "",
    kind: PhaseKind::Dev,
    agent: CODEX,
    dev_agent: CODEX,
    fix_agent: CODEX,
    graphite: false,
    approved: false,
    shard: false,
    full_gate: true,
};

fn planned(row: &Row) -> PhasePlan {
    let config = config(row.toml);
    let issue = issue();
    let around = around(row.graphite);
    let shard = shard();
    let stack = vec![issue.branch.clone(), "a-1-part".to_owned()];
    let id = PhaseId {
        run_id: "20261207-1".into(),
        milestone: "M1".into(),
        issue: "A-1".into(),
        seq: 3,
        phase: row.kind.name().into(),
    };
    plan(PhaseInputs {
        dir: PathBuf::from("/logs/A-1").join(id.dir_name()),
        id,
        kind: row.kind,
        issue: &issue,
        base: "b45e",
        config: &config,
        repo_root: Path::new("/r"),
        agent: row.agent,
        dev_agent: row.dev_agent,
        fix_agent: row.fix_agent,
        dev_session: Some("dev-session"),
        stack: &stack,
        foreign: vec!["orch/p/M1/B-2".into()],
        secrets_approved: row.approved,
        shard: row.shard.then_some(&shard),
        full_gate: row.full_gate,
        prompt: "do it".into(),
        expected: Expected {
            schema: Arc::new(json!({"type": "object"})),
            phase: row.kind,
            issue_id: "A-1".into(),
            milestone_id: "M1".into(),
            branch: issue.branch.clone(),
            worktree_path: "/w/a-1".into(),
        },
        timeout: Duration::from_secs(600),
        around: &around,
    })
}

/// What the table checks of each plan.
#[derive(Debug, PartialEq)]
struct Seen {
    sandboxed: bool,
    make_dirs: Vec<PathBuf>,
    shim_log_in_tmp: bool,
    mask_for_claude: bool,
    graphite_homes: bool,
    deny_read: Vec<PathBuf>,
    other_worktrees: usize,
    network: bool,
    resume: Option<String>,
    secret_hold: bool,
    checks: Vec<Check>,
}

fn seen(plan: &PhasePlan) -> Seen {
    Seen {
        sandboxed: plan.sandboxed,
        make_dirs: plan.make_dirs.clone(),
        shim_log_in_tmp: plan.shim_log().starts_with(&plan.confinement.tmp_dir),
        mask_for_claude: plan.mask_for_claude,
        graphite_homes: plan.confinement.graphite_homes.is_some(),
        deny_read: plan.confinement.deny_read.clone(),
        other_worktrees: plan.confinement.other_worktrees.len(),
        network: plan.confinement.network,
        resume: plan.resume.clone(),
        secret_hold: plan.shim.secret_hold.is_some(),
        checks: plan.checks.clone(),
    }
}

fn paths(p: &[&str]) -> Vec<PathBuf> {
    p.iter().map(PathBuf::from).collect()
}

fn command(c: &str) -> Check {
    Check::Command { command: c.into() }
}

/// The default: a codex dev phase in the worktree profile.
fn default_seen() -> Seen {
    Seen {
        sandboxed: true,
        make_dirs: paths(&["/r/.git/refs/replace"]),
        shim_log_in_tmp: true,
        mask_for_claude: false,
        graphite_homes: false,
        deny_read: paths(&["/h/.config/graphite/user_config", "/h/.ssh"]),
        other_worktrees: 0,
        network: false,
        resume: None,
        secret_hold: true,
        checks: vec![command("make check"), shard().acceptance[0].clone()],
    }
}

#[test]
fn the_plan_of_each_phase_follows_from_its_inputs() {
    #[allow(clippy::type_complexity)]
    let rows: Vec<(Row, fn(&mut Seen))> = vec![
        (
            Row {
                name: "codex dev, defaults",
                ..BASE
            },
            |_| {},
        ),
        (
            Row {
                name: "codex open",
                toml: "[codex]\nsandbox = \"danger-full-access\"\n",
                ..BASE
            },
            |s| {
                s.sandboxed = false;
                s.make_dirs.clear();
                s.shim_log_in_tmp = false;
            },
        ),
        (
            Row {
                name: "claude review, sandboxed",
                kind: PhaseKind::Review,
                agent: CLAUDE,
                ..BASE
            },
            |s| {
                s.mask_for_claude = true;
                s.checks.clear();
            },
        ),
        (
            Row {
                name: "claude open",
                toml: "[claude]\nsandbox = \"none\"\n",
                agent: CLAUDE,
                ..BASE
            },
            |s| {
                s.sandboxed = false;
                s.make_dirs.clear();
                s.shim_log_in_tmp = false;
            },
        ),
        (
            Row {
                name: "in-process runner: confined as codex",
                agent: None,
                ..BASE
            },
            |_| {},
        ),
        (
            Row {
                name: "graphite, sandboxed",
                graphite: true,
                ..BASE
            },
            |s| {
                s.make_dirs = paths(&["/r/.git/refs/replace", "/r/.git/modules", "/r/.git/hooks"]);
                s.graphite_homes = true;
                s.deny_read = paths(&["/h/.ssh"]);
                s.other_worktrees = 1;
            },
        ),
        (
            Row {
                name: "graphite, open: gt's homes are not opened",
                toml: "[codex]\nsandbox = \"danger-full-access\"\n",
                graphite: true,
                ..BASE
            },
            |s| {
                s.sandboxed = false;
                s.make_dirs.clear();
                s.shim_log_in_tmp = false;
            },
        ),
        (
            Row {
                name: "network on",
                toml: "[agent]\nnetwork = true\n",
                ..BASE
            },
            |s| s.network = true,
        ),
        (
            Row {
                name: "fix on the dev's agent continues its session",
                kind: PhaseKind::Fix,
                ..BASE
            },
            |s| s.resume = Some("dev-session".into()),
        ),
        (
            Row {
                name: "fix on another agent starts fresh",
                kind: PhaseKind::Fix,
                fix_agent: CLAUDE,
                ..BASE
            },
            |_| {},
        ),
        (
            Row {
                name: "resume_fix off",
                toml: "[codex]\nresume_fix = false\n",
                kind: PhaseKind::Fix,
                ..BASE
            },
            |_| {},
        ),
        (
            Row {
                name: "secrets approved: no hold on submit",
                approved: true,
                ..BASE
            },
            |s| s.secret_hold = false,
        ),
        (
            Row {
                name: "a shard's dev runs its own checks",
                shard: true,
                full_gate: false,
                ..BASE
            },
            |s| s.checks = shard().acceptance,
        ),
        (
            Row {
                name: "the last shard runs the full gate",
                shard: true,
                ..BASE
            },
            |_| {},
        ),
    ];
    for (row, change) in rows {
        let mut want = default_seen();
        change(&mut want);
        assert_eq!(seen(&planned(&row)), want, "{}", row.name);
    }
}

#[test]
fn the_plan_names_its_places_and_the_request_carries_it_whole() {
    let plan = planned(&BASE);
    assert_eq!(
        plan.confinement.tmp_dir,
        Path::new("/tmp/orch-20261207-1-A-1-03")
    );
    assert_eq!(plan.dir, Path::new("/logs/A-1/03-dev"));
    assert_eq!(plan.shim.stack, ["orch/p/M1/A-1", "a-1-part"]);
    assert_eq!(plan.shim.foreign, ["orch/p/M1/B-2"]);
    assert!(
        plan.shim.preexisting.is_empty(),
        "known only when it starts"
    );
    let hold = plan.shim.secret_hold.as_ref().unwrap();
    assert_eq!((hold.base.as_str(), hold.issue.as_str()), ("b45e", "A-1"));
    let request = plan.request(vec![("PATH".into(), "/shims".into())], Hooks::default());
    assert_eq!(
        request.schema_path,
        Path::new("/logs/A-1/03-dev/schema.json")
    );
    assert_eq!(request.log_dir, plan.dir);
    assert_eq!(request.worktree, Path::new("/w/a-1"));
    assert_eq!(request.timeout, Duration::from_secs(600));
    assert_eq!(request.prompt, "do it");
    assert_eq!(request.env, [("PATH".to_owned(), "/shims".to_owned())]);
    assert_eq!(
        request.confinement.worktree_git,
        plan.confinement.worktree_git
    );
    assert!(
        request.agent.is_none(),
        "the run's agent: the task chose none"
    );
}

#[test]
fn a_worktree_not_made_yet_is_foreseen_under_the_common_dir() {
    let around = Surroundings::foreseen(Path::new("/r/.git"), "p-M1-A-1");
    assert_eq!(around.worktree_git, Path::new("/r/.git/worktrees/p-M1-A-1"));
    assert_eq!(around.common_dir, Path::new("/r/.git"));
}
