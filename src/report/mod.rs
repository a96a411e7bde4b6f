//! Everything people read: plans as tables and diagrams, problems, diffs, the TASKS.md
//! dashboard, the run report, and styling. Renderers return strings; only `cli` writes them.

pub mod columns;
pub mod dashboard;
pub mod diagram;
pub mod dry_run;
pub mod header;
pub mod markdown;
pub mod patch;
pub mod problems;
pub mod progress;
pub mod pulls;
pub mod status;
pub mod style;
pub mod summary;
pub mod table;

use crate::model::dag::Dependency;

/// `X-1`, `X-1 (M2, done)`, `p/X-1 (p/M2, not done)`: an issue of another project is named
/// with its project. `mark` follows the words that call for attention (`!` in the table).
pub fn dependency_label(dep: &Dependency, run_project: Option<&str>, mark: &str) -> String {
    let at = |id: &str, project: &Option<String>, milestone: &Option<String>| {
        let foreign = project.as_deref().filter(|p| Some(*p) != run_project);
        let name = match foreign {
            Some(p) => format!("{p}/{id}"),
            None => id.to_owned(),
        };
        let place = match (foreign, milestone) {
            (Some(p), Some(m)) => format!("{p}/{m}"),
            (None, Some(m)) => m.clone(),
            (_, None) => "no milestone".to_owned(),
        };
        (name, place)
    };
    match dep {
        Dependency::InMilestone { id } => id.clone(),
        Dependency::Satisfied {
            id,
            project,
            milestone,
        } => {
            let (name, place) = at(id, project, milestone);
            format!("{name} ({place}, done)")
        }
        Dependency::Pending {
            id,
            project,
            milestone,
            ..
        } => {
            let (name, place) = at(id, project, milestone);
            format!("{name} ({place}, not done{mark})")
        }
        Dependency::Unknown { id } => format!("{id} (unknown{mark})"),
    }
}
