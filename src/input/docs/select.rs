//! Which milestone a command means. Every command that takes a milestone reads it the same
//! way: `ledger-api/M1`; `M1` with `--project ledger-api` (or `project = "…"` in orch.toml);
//! a bare `M1` when exactly one project has it; or a milestone's leading id, `M3` for
//! `M3-core-engine-refactor`, when that is unique. Within a project an exact name wins over a
//! leading-id match; a bare name that two projects answer to (either way) is an error.
//! Pure: the known milestones come from the docs (or the recorded runs).

use crate::model::naming::Scope;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectError {
    /// `p/M1` given together with `--project q`.
    ProjectMismatch { named: String, flag: String },
    /// The project has no milestones (or does not exist).
    NoProject {
        project: String,
        projects: Vec<String>,
    },
    NoMilestone {
        milestone: String,
        project: Option<String>,
        /// Milestones of that name in other projects.
        elsewhere: Vec<Scope>,
        /// Every milestone there is (of the project, when one was named).
        known: Vec<Scope>,
    },
    /// A bare name that several projects have.
    InSeveralProjects {
        milestone: String,
        scopes: Vec<Scope>,
    },
    /// A leading id that matches several milestones.
    Ambiguous { prefix: String, scopes: Vec<Scope> },
}

impl SelectError {
    /// The message and the hint, with `command` (`orch run`) in the commands it suggests.
    pub fn explain(&self, command: &str) -> (String, String) {
        let list = |scopes: &[Scope]| {
            scopes
                .iter()
                .map(|s| format!("`{command} {s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            SelectError::ProjectMismatch { named, flag } => (
                format!("`{named}` names another project than `--project {flag}`"),
                "name the project once: `<project>/<milestone>`, or the milestone with --project"
                    .to_owned(),
            ),
            SelectError::NoProject { project, projects } => (
                format!("no project `{project}` has a milestone"),
                if projects.is_empty() {
                    "this docs tree has no projects (`docs/projects/<project>/issues/`)".to_owned()
                } else {
                    format!("projects: {}", projects.join(", "))
                },
            ),
            SelectError::NoMilestone {
                milestone,
                project,
                elsewhere,
                known,
            } => {
                let message = match project {
                    Some(p) => format!("project {p} has no milestone `{milestone}`"),
                    None => format!("no issue doc has `milestone: {milestone}`"),
                };
                let hint = if !elsewhere.is_empty() {
                    format!("it exists as {}", list(elsewhere))
                } else if known.is_empty() {
                    "no issue docs with a milestone were found; check `--docs` or `docs_glob`"
                        .to_owned()
                } else {
                    let names: Vec<String> = known.iter().map(Scope::to_string).collect();
                    format!("milestones found: {}", names.join(", "))
                };
                (message, hint)
            }
            SelectError::InSeveralProjects { milestone, scopes } => {
                let mut projects: Vec<&str> =
                    scopes.iter().filter_map(|s| s.project.as_deref()).collect();
                projects.dedup();
                (
                    format!(
                        "milestone {milestone} exists in {} projects: {}",
                        scopes.len(),
                        projects.join(", ")
                    ),
                    format!(
                        "pick one: {} (or `--project <P>`, or `project = \"<P>\"` in orch.toml)",
                        list(scopes)
                    ),
                )
            }
            SelectError::Ambiguous { prefix, scopes } => {
                let names: Vec<String> = scopes.iter().map(Scope::to_string).collect();
                (
                    format!(
                        "`{prefix}` is the leading id of {} milestones: {}",
                        scopes.len(),
                        names.join(", ")
                    ),
                    format!("name one in full: {}", list(scopes)),
                )
            }
        }
    }
}

/// The milestone `text` names among `known`, `project` being `--project` (or orch.toml's
/// `project`) when given. `text` may itself be `<project>/<milestone>`.
pub fn select(text: &str, project: Option<&str>, known: &[Scope]) -> Result<Scope, SelectError> {
    let (named, milestone) = match text.split_once('/') {
        Some((p, m)) => (Some(p), m),
        None => (None, text),
    };
    let project = match (named, project) {
        (Some(n), Some(f)) if n != f => {
            return Err(SelectError::ProjectMismatch {
                named: text.to_owned(),
                flag: f.to_owned(),
            })
        }
        (n, f) => n.or(f),
    };
    let mut known: Vec<Scope> = known.to_vec();
    known.sort();
    known.dedup();
    let candidates: Vec<&Scope> = known
        .iter()
        .filter(|s| project.is_none_or(|p| s.project.as_deref() == Some(p)))
        .collect();
    if let Some(p) = project {
        if candidates.is_empty() {
            let mut projects: Vec<String> =
                known.iter().filter_map(|s| s.project.clone()).collect();
            projects.dedup();
            return Err(SelectError::NoProject {
                project: p.to_owned(),
                projects,
            });
        }
    }
    // Within one project an exact name beats a leading id; across projects every project
    // that answers to the name (either way) counts, so a bare `M1` never silently picks one
    // project's `M1` over another's `M1-foundation`.
    let mut projects: Vec<Option<&str>> = candidates.iter().map(|s| s.project.as_deref()).collect();
    projects.dedup();
    let mut answers: Vec<Vec<Scope>> = Vec::new();
    for p in projects {
        let in_project = candidates.iter().filter(|s| s.project.as_deref() == p);
        let exact: Vec<Scope> = in_project
            .clone()
            .filter(|s| s.milestone == milestone)
            .map(|s| (*s).clone())
            .collect();
        let found = if exact.is_empty() {
            in_project
                .filter(|s| has_leading_id(&s.milestone, milestone))
                .map(|s| (*s).clone())
                .collect()
        } else {
            exact
        };
        if !found.is_empty() {
            answers.push(found);
        }
    }
    match answers.len() {
        0 => Err(SelectError::NoMilestone {
            milestone: milestone.to_owned(),
            project: project.map(str::to_owned),
            elsewhere: known
                .iter()
                .filter(|s| s.milestone == milestone || has_leading_id(&s.milestone, milestone))
                .cloned()
                .collect(),
            known: candidates.into_iter().cloned().collect(),
        }),
        1 => {
            let mut found = answers.pop().expect("one");
            if found.len() == 1 {
                Ok(found.pop().expect("one"))
            } else {
                Err(SelectError::Ambiguous {
                    prefix: milestone.to_owned(),
                    scopes: found,
                })
            }
        }
        _ => Err(SelectError::InSeveralProjects {
            milestone: milestone.to_owned(),
            scopes: answers.into_iter().flatten().collect(),
        }),
    }
}

/// Whether `prefix` is a leading id of `milestone`: `M3` of `M3-core` or `M3_core`.
pub fn has_leading_id(milestone: &str, prefix: &str) -> bool {
    !prefix.is_empty()
        && milestone
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with(['-', '_']))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(p: Option<&str>, m: &str) -> Scope {
        Scope::new(p, m)
    }

    fn known() -> Vec<Scope> {
        vec![
            s(Some("ledger"), "M1"),
            s(Some("web"), "M1"),
            s(Some("web"), "M2"),
            s(Some("core"), "M3-core-engine"),
            s(Some("core"), "M4-a"),
            s(Some("core"), "M4-b"),
            s(Some("web"), "M3"),
        ]
    }

    #[test]
    fn selection_table() {
        let k = known();
        let ok = |text: &str, project: Option<&str>| select(text, project, &k).unwrap();
        assert_eq!(ok("ledger/M1", None), s(Some("ledger"), "M1"));
        assert_eq!(ok("M1", Some("web")), s(Some("web"), "M1"));
        assert_eq!(ok("web/M1", Some("web")), s(Some("web"), "M1"));
        assert_eq!(ok("M2", None), s(Some("web"), "M2"));
        // A leading id, unique in the project; an exact name wins in its project.
        assert_eq!(ok("M3", Some("core")), s(Some("core"), "M3-core-engine"));
        assert_eq!(ok("M3", Some("web")), s(Some("web"), "M3"));
        assert_eq!(ok("M4-a", None), s(Some("core"), "M4-a"));
    }

    #[test]
    fn errors_name_what_to_type() {
        let k = known();
        let err = |text: &str, project: Option<&str>| select(text, project, &k).unwrap_err();
        let (message, hint) = err("M1", None).explain("orch run");
        assert_eq!(message, "milestone M1 exists in 2 projects: ledger, web");
        assert!(
            hint.contains("`orch run ledger/M1`, `orch run web/M1`"),
            "{hint}"
        );
        let (message, hint) = err("M4", None).explain("orch plan");
        assert_eq!(
            message,
            "`M4` is the leading id of 2 milestones: core/M4-a, core/M4-b"
        );
        assert!(hint.contains("`orch plan core/M4-a`"), "{hint}");
        // Across projects an exact name does not beat another project's leading id.
        let (message, hint) = err("M3", None).explain("orch run");
        assert_eq!(message, "milestone M3 exists in 2 projects: core, web");
        assert!(
            hint.contains("`orch run core/M3-core-engine`, `orch run web/M3`"),
            "{hint}"
        );
        assert!(matches!(
            err("ledger/M1", Some("web")),
            SelectError::ProjectMismatch { .. }
        ));
        let (message, hint) = err("nope/M1", None).explain("orch run");
        assert_eq!(message, "no project `nope` has a milestone");
        assert_eq!(hint, "projects: core, ledger, web");
        let (message, hint) = err("M2", Some("ledger")).explain("orch run");
        assert_eq!(message, "project ledger has no milestone `M2`");
        assert_eq!(hint, "it exists as `orch run web/M2`");
        let (_, hint) = err("M9", None).explain("orch run");
        assert!(
            hint.starts_with("milestones found: core/M3-core-engine"),
            "{hint}"
        );
    }

    #[test]
    fn within_one_project_an_exact_name_beats_a_leading_id() {
        let k = vec![s(Some("a"), "M1"), s(Some("a"), "M1-x"), s(Some("b"), "M2")];
        assert_eq!(select("M1", None, &k).unwrap(), s(Some("a"), "M1"));
        let k = vec![s(Some("a"), "M1"), s(Some("b"), "M1-foundation-ledger")];
        let (message, hint) = select("M1", None, &k).unwrap_err().explain("orch run");
        assert_eq!(message, "milestone M1 exists in 2 projects: a, b");
        assert!(hint.contains("`orch run b/M1-foundation-ledger`"), "{hint}");
    }

    #[test]
    fn a_tree_without_projects() {
        let k = vec![s(None, "M1"), s(None, "M2-beta")];
        assert_eq!(select("M1", None, &k).unwrap(), s(None, "M1"));
        assert_eq!(select("M2", None, &k).unwrap(), s(None, "M2-beta"));
        assert!(matches!(
            select("M1", Some("p"), &k),
            Err(SelectError::NoProject { .. })
        ));
    }

    #[test]
    fn leading_ids_end_at_a_separator() {
        assert!(has_leading_id("M3-core", "M3"));
        assert!(has_leading_id("M3_core", "M3"));
        assert!(!has_leading_id("M30", "M3"));
        assert!(!has_leading_id("M3", "M3"));
        assert!(!has_leading_id("M3-a", ""));
    }
}
