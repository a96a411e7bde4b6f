//! The agents of a run as the CLI sees them: which are running (for a second Ctrl-C, which
//! kills them at once), and those a killed orch left running (stopped before a resume).

use crate::cli::exit;
use crate::model::event::EngineEvent;
use crate::model::phase::AgentProcess;
use crate::report::style::Styler;

/// A SIGKILLed orch cannot stop its agent: before resuming, stop any agent process group the
/// state records as running that is still alive (and is still that agent), and say so.
pub(super) fn stop_orphaned(state: &crate::model::state::RunState, err_style: &Styler) {
    use crate::agent::process::Survivors;
    for issue in &state.issues {
        let Some(current) = &issue.current_phase else {
            continue;
        };
        let Some(agent) = &current.agent else {
            continue;
        };
        let what = format!(
            "the agent of {} {:02}-{} (process group {})",
            issue.id,
            current.seq,
            current.phase.name(),
            agent.pgid
        );
        match agent.stop_if_alive(crate::util::process::GRACE) {
            Survivors::Alive(pids) => eprintln!(
                "{} {what} outlived the orch that started it ({} process(es)); stopped it before running the phase again",
                err_style.yellow("Stopped:"),
                pids.len()
            ),
            Survivors::Unknown => eprintln!(
                "{} cannot tell whether {what} is still running (no /proc); make sure it is stopped",
                err_style.yellow("Warning:")
            ),
            Survivors::Gone | Survivors::OtherHost => {}
        }
    }
}

/// The agents running now, by issue (for a second Ctrl-C).
pub(super) fn track(
    agents: &std::sync::Mutex<std::collections::BTreeMap<String, AgentProcess>>,
    event: &EngineEvent,
) {
    let mut agents = agents.lock().unwrap_or_else(|p| p.into_inner());
    match event {
        EngineEvent::AgentStarted { id, agent, .. } => {
            agents.insert(id.clone(), agent.clone());
        }
        EngineEvent::PhaseFinished { id, .. } => {
            agents.remove(id);
        }
        _ => {}
    }
}

/// A second interrupt: SIGKILL every running agent's process group (each still the agent
/// recorded), and exit at once. The run state still shows the phases as running, so
/// `orch resume` pins what they did and runs them again, as after a crash.
pub(super) fn kill_at_once(
    agents: &std::sync::Mutex<std::collections::BTreeMap<String, AgentProcess>>,
    err_style: &Styler,
) -> ! {
    let agents = agents.lock().unwrap_or_else(|p| p.into_inner());
    for agent in agents.values() {
        if let crate::agent::process::Survivors::Alive(_) = agent.survivors() {
            crate::util::process::signal_group(agent.pgid, libc::SIGKILL);
        }
    }
    eprintln!(
        "{} a second interrupt: {} agent(s) killed; the worktrees and branches are kept. Continue with `orch resume`.",
        err_style.yellow("Killed:"),
        agents.len()
    );
    std::process::exit(exit::INTERRUPTED)
}
