//! Which problems of a docs tree concern one run. A run of `ledger-api/M1` must not stop on a
//! sloppy doc of another project, or of another milestone of its own project; it must stop on
//! any problem in a doc that is (or might be) one of its issues.
//!
//! - A broken doc whose milestone could be read is the run's when its scope is the run's.
//! - A doc that could not be read at all might be any milestone's: it blocks every project
//!   it may belong to (its directory's, and those the docs beside it declare).
//! - A doc with no `milestone` key (or `milestone: null`) cannot be the run's: in its own
//!   project its problems are warnings.
//! - A file that is no issue doc at all (no front matter, nothing like one) is one warning.
//! - Anything else is elsewhere: counted, so one line can say where to look.
//!
//! A doc that blocks says why it may be the run's, and every way out of it.

use super::issue::{BrokenDoc, Membership};
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
        let ours = broken.may_be_in(&scope.project);
        match &broken.milestone {
            Membership::In(m) if ours && m == &scope.milestone => {
                out.blocking.extend(blocking(set, broken, scope))
            }
            Membership::Unknown if ours => out.blocking.extend(blocking(set, broken, scope)),
            Membership::Missing | Membership::Unassigned if ours => {
                out.warnings
                    .extend(broken.problems.iter().cloned().map(|mut p| {
                        p.severity = Severity::Warning;
                        p.message
                            .push_str(" (not in this milestone, so not blocking)");
                        p
                    }))
            }
            Membership::NotAnIssueDoc if ours => {
                out.warnings.extend(broken.problems.iter().cloned())
            }
            Membership::NotAnIssueDoc => {}
            _ => out.elsewhere += 1,
        }
    }
    out
}

/// A blocking doc's problems, the first one's hint saying why the doc may be one of the
/// run's issues and every way out.
fn blocking(set: &DocSet, broken: &BrokenDoc, scope: &Scope) -> Vec<Problem> {
    let mut problems = broken.problems.clone();
    if let Some(first) = problems.first_mut() {
        let note = ways_out(set, broken, scope);
        first.hint = Some(match first.hint.take() {
            Some(hint) => format!("{hint}. {note}"),
            None => note,
        });
    }
    problems
}

fn ways_out(set: &DocSet, broken: &BrokenDoc, scope: &Scope) -> String {
    let why = match &broken.milestone {
        Membership::In(m) => format!("It blocks {scope}: it says `milestone: {m}`"),
        _ => {
            let whose = match (&broken.project, &scope.project) {
                (Some(dir), Some(run)) if dir == run => format!("its directory is project {run}'s"),
                (_, Some(run)) => format!("docs beside it say `project: {run}`"),
                (_, None) => "it is in this docs tree".to_owned(),
            };
            format!("Its milestone cannot be read, so it may be an issue of {scope} ({whose})")
        }
    };
    let mut outs = vec![if broken.fixable {
        "fix it (`orch docs fix` repairs it; `--dry-run` shows how)".to_owned()
    } else {
        "fix it".to_owned()
    }];
    if let (Some(dir), Some(name)) = (broken.path.parent(), broken.path.file_name()) {
        let archived = dir.join("_archive").join(name);
        if !set.would_read(&archived) {
            outs.push(format!(
                "move it to `{}` (orch does not read it there)",
                dir.join("_archive").display()
            ));
        }
    }
    outs.push("narrow `docs_glob` in orch.toml so it is not read".to_owned());
    format!("{why}. Ways out: {}", outs.join("; or "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::docs::issue::BrokenDoc;
    use std::path::PathBuf;

    fn broken(project: Option<&str>, milestone: Membership) -> BrokenDoc {
        BrokenDoc {
            milestone,
            project: project.map(str::to_owned),
            ..BrokenDoc::unreadable(
                &PathBuf::from("d.md"),
                vec![Problem::error("d.md", Some(2), "bad")],
            )
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
            (Some("p"), Membership::NotAnIssueDoc, "warning"),
        ];
        for (project, membership, want) in table {
            let mut set = DocSet::default();
            set.broken = vec![broken(project, membership.clone())];
            let got = for_scope(&set, &scope);
            if membership == Membership::NotAnIssueDoc {
                assert!(got.warnings.iter().all(|p| p.message == "bad"));
            }
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

#[cfg(test)]
mod attributed {
    use super::*;
    use crate::input::docs::DocSet;
    use std::path::Path;

    /// A doc that cannot be read, in a directory named `cli-orch` whose docs say `project:
    /// cli-orchestration-v0`, blocks that project's milestones (and the directory's), and
    /// says why and how out.
    #[test]
    fn a_broken_doc_blocks_the_projects_its_neighbours_declare() {
        let dir = Path::new("docs/projects/cli-orch/issues");
        let ok = "---\nid: C-1\ntitle: t\nproject: cli-orchestration-v0\nmilestone: M1\n---\n";
        let bad = "---\nid: C-2\ntitle: a: b: c\nmilestone: M1\n---\n";
        let checklist = "# ISSUE: notes\n\n- [ ] one\n";
        let (a, b, c) = (dir.join("C-1.md"), dir.join("C-2.md"), dir.join("todo.md"));
        let set = DocSet::from_texts([
            (a.as_path(), a.as_path(), ok.as_bytes()),
            (b.as_path(), b.as_path(), bad.as_bytes()),
            (c.as_path(), c.as_path(), checklist.as_bytes()),
        ]);
        let run = for_scope(&set, &Scope::new(Some("cli-orchestration-v0"), "M1"));
        assert_eq!(run.blocking.len(), 1, "{:?}", run.blocking);
        let hint = run.blocking[0].hint.as_deref().unwrap();
        assert!(
            hint.contains("may be an issue of cli-orchestration-v0/M1 (docs beside it say `project: cli-orchestration-v0`)"),
            "{hint}"
        );
        assert!(hint.contains("`orch docs fix` repairs it"), "{hint}");
        assert!(
            hint.contains("docs/projects/cli-orch/issues/_archive"),
            "{hint}"
        );
        assert!(hint.contains("narrow `docs_glob`"), "{hint}");
        assert_eq!(run.warnings.len(), 1);
        assert_eq!(
            run.warnings[0].message,
            "not an issue doc: no front matter; ignored"
        );
        let by_dir = for_scope(&set, &Scope::new(Some("cli-orch"), "M2"));
        assert_eq!(by_dir.blocking.len(), 1);
        let other = for_scope(&set, &Scope::new(Some("web"), "M1"));
        assert!(other.blocking.is_empty() && other.warnings.is_empty());
        assert_eq!(other.elsewhere, 1);
    }
}
