//! The opening every document about a run shares (TASKS.md, `orch report`): its title with the
//! milestone, then one line with the run id, when it started, when it was last updated and
//! whether it finished.

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
