//! The opening every document about a run shares (TASKS.md, `orch report`): its title with the
//! milestone, then one line with the run id, when it started, when it was last updated and
//! whether it finished; and the budget line they and `orch status` show.

use crate::model::budget::Limits;
use crate::model::record::PhaseRecord;
use crate::model::state::RunState;

/// `# <title> — milestone <scope>`, a blank line, then the run's line (no newline after it:
/// a document may add to the sentence).
pub fn run_header(title: &str, state: &RunState) -> String {
    format!(
        "# {title} — milestone {}\n\nRun `{}` · started {} · updated {} · {}.",
        state.scope(),
        state.run_id,
        state.started_at,
        state.updated_at,
        if state.finished {
            "finished"
        } else {
            "in progress"
        }
    )
}

/// What a morning reader must know about how the agent was confined: said unless it was
/// orch's worktree sandbox (the default).
pub fn sandbox_line(sandbox: Option<&str>) -> Option<String> {
    match sandbox? {
        crate::input::config::SANDBOX_WORKTREE => None,
        crate::input::config::SANDBOX_CLAUDE_OPEN => Some(
            "Sandbox: off for claude phases (`[claude] sandbox = \"none\"`): their commands could write anywhere this user can".to_owned(),
        ),
        "danger-full-access" => Some(
            "Sandbox: off (`[codex] sandbox = \"danger-full-access\"`): the agent's commands could write anywhere this user can".to_owned(),
        ),
        mode => Some(format!(
            "Sandbox: codex's own `-s {mode}`, not orch's worktree profile"
        )),
    }
}

/// `Budget: 100 tokens for the run; …; 88 of 100 tokens spent (12 cached input)`, when the
/// run has a budget.
pub fn budget_line(state: &RunState) -> Option<String> {
    let budget = state.budget.as_ref()?;
    let spent = spent_of(budget, state.issues.iter().flat_map(|i| &i.phases));
    Some(format!("Budget: {}; {spent}", budget.describe()))
}

/// What `phases` spent against `budget`: `88 of 100 tokens spent (12 cached input), $0.33
/// of $0.60` (dollars where the phases were priced).
pub fn spent_of<'p>(
    budget: &Limits,
    phases: impl Iterator<Item = &'p PhaseRecord> + Clone,
) -> String {
    let spent: u64 = phases.clone().map(|p| p.usage.total()).sum();
    let cached: u64 = phases.clone().map(|p| p.usage.cached_input_tokens).sum();
    let of = |limit: Option<String>| limit.map(|l| format!(" of {l}")).unwrap_or_default();
    let usd = crate::model::record::cost_of(phases)
        .map(|c| {
            format!(
                ", ${c:.2}{}",
                of(budget.run_usd.map(|l| format!("${l:.2}")))
            )
        })
        .unwrap_or_default();
    format!(
        "{spent}{} tokens spent ({cached} cached input){usd}",
        of(budget.run_tokens.map(|l| l.to_string()))
    )
}

/// The agent CLIs an issue's phases ran on, in the order they first ran (`codex+claude`);
/// `-` before any phase. A phase recorded without one ran on codex (the only agent then).
pub fn agents_of<'p>(phases: impl IntoIterator<Item = &'p PhaseRecord>) -> String {
    let mut names: Vec<&str> = Vec::new();
    for p in phases {
        let name = p.agent.as_deref().unwrap_or("codex");
        if !names.contains(&name) {
            names.push(name);
        }
    }
    if names.is_empty() {
        "-".to_owned()
    } else {
        names.join("+")
    }
}

/// ` on claude` for a phase on another agent CLI than codex (as the progress lines say it),
/// else nothing.
pub fn on_agent(name: Option<&str>) -> String {
    name.filter(|a| !matches!(*a, "codex" | "agent"))
        .map(|a| format!(" on {a}"))
        .unwrap_or_default()
}

/// Whether a table about these phases needs an AGENTS column: some phase ran on another
/// agent than codex.
pub fn shows_agents<'p>(phases: impl IntoIterator<Item = &'p PhaseRecord>) -> bool {
    phases
        .into_iter()
        .any(|p| p.agent.as_deref().is_some_and(|a| a != "codex"))
}

/// Which optional columns a table of these issues' phases has: (AGENTS, COST).
pub fn optional_columns<'p>(
    phases: impl IntoIterator<Item = &'p PhaseRecord> + Clone,
) -> (bool, bool) {
    (
        shows_agents(phases.clone()),
        crate::model::record::cost_of(phases).is_some(),
    )
}

/// `$0.0123` for phases of which any was priced (by the agent CLI or orch.toml's price),
/// else `-`.
pub fn cost_cell<'p>(phases: impl IntoIterator<Item = &'p PhaseRecord>) -> String {
    crate::model::record::cost_of(phases)
        .map(|c| format!("${c:.4}"))
        .unwrap_or_else(|| "-".to_owned())
}
