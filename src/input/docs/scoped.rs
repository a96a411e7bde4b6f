//! Which problems of a docs tree concern one run. A run of `ledger-api/M1` must not stop on a
//! sloppy doc of another project, or of another milestone of its own project; it must stop on
//! any problem in a doc that is (or might be) one of its issues.
//!
//! - A broken doc whose milestone could be read is the run's when its scope is the run's.
//! - A doc that could not be read at all might be any milestone's: it blocks its project.
//! - A doc with no `milestone` key (or `milestone: null`) cannot be the run's: in its own
//!   project its problems are warnings.
//! - Anything else is elsewhere: counted, so one line can say where to look.

use super::issue::Membership;
use super::DocSet;
use crate::model::naming::Scope;
use crate::model::problem::{Problem, Severity};

#[derive(Debug, Default)]
pub struct ScopedProblems {
    /// Problems in docs that are or might be the run's: the run cannot start.
    pub blocking: Vec<Problem>,
    /// Problems in docs of the run's project that cannot be its issues.
    pub warnings: Vec<Problem>,
    /// Docs with problems that are not the run's.
    pub elsewhere: usize,
}

pub fn for_scope(set: &DocSet, scope: &Scope) -> ScopedProblems {
    let mut out = ScopedProblems::default();
    for broken in &set.broken {
        let same_project = broken.project == scope.project;
        match &broken.milestone {
            Membership::In(m) if same_project && m == &scope.milestone => {
                out.blocking.extend(broken.problems.iter().cloned())
            }
            Membership::Unknown if same_project => {
                out.blocking.extend(broken.problems.iter().cloned())
            }
            Membership::Missing | Membership::Unassigned if same_project => {
                out.warnings
                    .extend(broken.problems.iter().cloned().map(|mut p| {
                        p.severity = Severity::Warning;
                        p.message
                            .push_str(" (not in this milestone, so not blocking)");
                        p
                    }))
            }
            _ => out.elsewhere += 1,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::docs::issue::BrokenDoc;
    use std::path::PathBuf;

    fn broken(project: Option<&str>, milestone: Membership) -> BrokenDoc {
        BrokenDoc {
            path: PathBuf::from("d.md"),
            project: project.map(str::to_owned),
            milestone,
            problems: vec![Problem::error("d.md", Some(2), "bad")],
        }
    }

    #[test]
    fn what_blocks_a_run_of_p_m1() {
        let scope = Scope::new(Some("p"), "M1");
        let table = [
            (Some("p"), Membership::In("M1".into()), "blocking"),
            (Some("p"), Membership::Unknown, "blocking"),
            (Some("p"), Membership::In("M2".into()), "elsewhere"),
            (Some("p"), Membership::Missing, "warning"),
            (Some("p"), Membership::Unassigned, "warning"),
            (Some("q"), Membership::In("M1".into()), "elsewhere"),
            (Some("q"), Membership::Unknown, "elsewhere"),
            (None, Membership::Unknown, "elsewhere"),
        ];
        for (project, membership, want) in table {
            let set = DocSet {
                broken: vec![broken(project, membership.clone())],
                ..DocSet::default()
            };
            let got = for_scope(&set, &scope);
            let seen = match (got.blocking.len(), got.warnings.len(), got.elsewhere) {
                (1, 0, 0) => "blocking",
                (0, 1, 0) => "warning",
                (0, 0, 1) => "elsewhere",
                other => panic!("{other:?}"),
            };
            assert_eq!(seen, want, "{project:?} {membership:?}");
        }
    }
}
