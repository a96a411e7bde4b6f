//! The judgement as tables: which findings fail a phase, and what its record says for each
//! way the agent can report usage, cost and checks.

use super::*;
use crate::engine::phase::plan::example;
use crate::input::config::AgentKind;
use crate::model::phase::PhaseKind;
use serde_json::json;
use std::path::PathBuf;

fn findings(violations: &[&str], secrets: &[&str]) -> Findings {
    Findings {
        violations: violations.iter().map(|s| s.to_string()).collect(),
        secrets: secrets.iter().map(|s| s.to_string()).collect(),
    }
}

fn guard(changes: &[&str]) -> Result<PhaseResult, PhaseFailure> {
    Err(PhaseFailure::GuardViolation {
        changes: changes.iter().map(|s| s.to_string()).collect(),
    })
}

#[test]
fn findings_fail_a_phase_that_succeeded_and_only_that() {
    let ok = || Ok(PhaseResult::from(json!({"status": "pass"})));
    let timed_out = || Err(PhaseFailure::Interrupted);
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        &str,
        Result<PhaseResult, PhaseFailure>,
        Findings,
        bool,
        Result<PhaseResult, PhaseFailure>,
    )> = vec![
        ("nothing found", ok(), findings(&[], &[]), true, ok()),
        (
            "a violation fails it",
            ok(),
            findings(&["ref x"], &[]),
            true,
            guard(&["ref x"]),
        ),
        (
            "unless the audit only reports",
            ok(),
            findings(&["ref x"], &[]),
            false,
            ok(),
        ),
        (
            "a secret fails it even then",
            ok(),
            findings(&[], &["a key at a:1"]),
            false,
            guard(&["a key at a:1"]),
        ),
        (
            "violations and secrets are named together",
            ok(),
            findings(&["ref x"], &["a key at a:1"]),
            false,
            guard(&["ref x", "a key at a:1"]),
        ),
        (
            "a failed phase stays as it failed",
            timed_out(),
            findings(&["ref x"], &["k"]),
            true,
            timed_out(),
        ),
    ];
    for (name, result, found, audit_fails, want) in rows {
        assert_eq!(verdict(result, found, audit_fails), want, "{name}");
    }
}

fn outcome(session: Option<&str>, usage: Option<u64>, per_phase: bool) -> PhaseOutcome {
    PhaseOutcome {
        result: Ok(json!({"status": "changes_required"}).into()),
        session_id: session.map(str::to_owned),
        usage: usage.map(tokens),
        usage_is_phase: per_phase,
        cost_usd: None,
        exit_code: Some(0),
        events_path: PathBuf::from("/logs/events.jsonl"),
        stderr_path: PathBuf::from("/logs/stderr.log"),
        duration_ms: 1200,
    }
}

fn tokens(n: u64) -> Usage {
    Usage {
        input_tokens: n,
        ..Usage::default()
    }
}

fn seen<'a>(
    checks: Checked,
    before: Option<u64>,
    price: &'a dyn Fn(&Usage) -> Option<f64>,
) -> Seen<'a> {
    Seen {
        retried: Usage::default(),
        commits: 2,
        checks,
        guard: GuardCounts::default(),
        session_before: before.map(tokens),
        price,
    }
}

#[test]
fn a_phases_tokens_are_its_own_however_the_agent_counts() {
    let no_price = |_: &Usage| None;
    let plan = example(PhaseKind::Dev, Some(AgentKind::Codex), true);
    // (case, outcome, the session's total before, this phase's tokens)
    let rows = [
        (
            "codex: its session grew by 150",
            outcome(Some("s"), Some(250), false),
            Some(100),
            150,
        ),
        (
            "a new session: all of it",
            outcome(Some("s"), Some(250), false),
            None,
            250,
        ),
        (
            "claude: reported per run",
            outcome(Some("s"), Some(80), true),
            Some(100),
            80,
        ),
        (
            "no session: what it said",
            outcome(None, Some(40), false),
            None,
            40,
        ),
        (
            "nothing reported",
            outcome(Some("s"), None, false),
            Some(100),
            0,
        ),
    ];
    for (name, out, before, want) in rows {
        let (_, record) = judge(&plan, out, seen(Checked::None, before, &no_price));
        assert_eq!(record.usage.input_tokens, want, "{name}");
    }
    // Earlier attempts' usage in other sessions adds to it.
    let mut with_retry = seen(Checked::None, Some(100), &no_price);
    with_retry.retried = tokens(7);
    let (_, record) = judge(&plan, outcome(Some("s"), Some(250), false), with_retry);
    assert_eq!(record.usage.input_tokens, 157);
}

#[test]
fn the_record_says_what_the_phase_came_to() {
    let price = |u: &Usage| Some(u.input_tokens as f64 / 1000.0);
    let plan = example(PhaseKind::Fix, Some(AgentKind::Codex), true);
    let (out, record) = judge(
        &plan,
        outcome(Some("s"), Some(500), false),
        seen(Checked::None, None, &price),
    );
    assert_eq!(record.seq, 2);
    assert_eq!(record.phase, PhaseKind::Fix);
    assert_eq!(record.status.as_deref(), Some("changes_required"));
    assert_eq!(record.failure, None);
    assert_eq!(record.commits, 2);
    assert_eq!(record.duration_ms, 1200);
    assert_eq!(record.log_dir, PathBuf::from("/logs/A-1/02-fix"));
    assert_eq!(record.agent.as_deref(), Some("codex"));
    assert_eq!(
        record.cost_usd,
        Some(0.5),
        "the price, when the agent says no cost"
    );
    assert!(out.result.is_ok());

    let mut said = outcome(Some("s"), Some(500), false);
    said.cost_usd = Some(0.02);
    let (_, record) = judge(&plan, said, seen(Checked::None, None, &price));
    assert_eq!(
        record.cost_usd,
        Some(0.02),
        "what the agent CLI says it cost comes first"
    );

    let in_process = example(PhaseKind::Dev, None, true);
    let (_, record) = judge(
        &in_process,
        outcome(None, None, false),
        seen(Checked::None, None, &price),
    );
    assert_eq!(
        record.agent, None,
        "no agent CLI's name for an in-process runner"
    );

    let mut failed = outcome(Some("s"), None, false);
    failed.result = Err(PhaseFailure::NoFinalMessage);
    let (_, record) = judge(&plan, failed, seen(Checked::None, None, &price));
    assert_eq!(
        (record.status, record.failure),
        (None, Some(PhaseFailure::NoFinalMessage))
    );
}

#[test]
fn checks_become_the_gate_and_an_interruption_fails_the_phase() {
    let no_price = |_: &Usage| None;
    let check = |name: &str, passed: bool| crate::model::check::CheckOutcome {
        check: name.into(),
        label: "Command".into(),
        passed,
        detail: if passed {
            "exit 0".into()
        } else {
            "exit 2".into()
        },
        log: None,
    };
    let outcomes = vec![check("make lint", true), check("make test", false)];
    for full in [true, false] {
        let plan = example(PhaseKind::Dev, Some(AgentKind::Codex), full);
        let ran = Checked::Ran(outcomes.clone());
        let (out, record) = judge(
            &plan,
            outcome(Some("s"), None, false),
            seen(ran, None, &no_price),
        );
        let gate = record.acceptance.expect("a gate");
        assert_eq!((gate.full, gate.passed), (full, 1));
        assert_eq!(gate.failed, ["make test — exit 2"]);
        assert!(
            out.result.is_ok(),
            "failed checks go to a fix, they do not fail the phase"
        );
    }
    let plan = example(PhaseKind::Dev, Some(AgentKind::Codex), true);
    let (out, record) = judge(
        &plan,
        outcome(Some("s"), None, false),
        seen(Checked::Interrupted, None, &no_price),
    );
    assert_eq!(out.result, Err(PhaseFailure::Interrupted));
    assert_eq!(record.failure, Some(PhaseFailure::Interrupted));
    assert_eq!(record.acceptance, None, "checks cut short say nothing");
}

#[test]
fn the_session_total_is_kept_only_where_usage_is_cumulative() {
    assert_eq!(
        session_total(&outcome(Some("s"), Some(250), false)),
        Some(("s".to_owned(), tokens(250)))
    );
    assert_eq!(session_total(&outcome(Some("s"), Some(80), true)), None);
    assert_eq!(session_total(&outcome(None, Some(80), false)), None);
    assert_eq!(session_total(&outcome(Some("s"), None, false)), None);
}
