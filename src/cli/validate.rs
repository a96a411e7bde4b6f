//! `orch validate [MILESTONE] [--project P]`: every problem of every issue doc at once (of one
//! project with `--project`); with a milestone, what stands between it and a run.

use super::{GlobalArgs, Workspace};
use crate::cli::exit;
use crate::model::problem::Severity;
use crate::report::problems;
use crate::report::style::Styler;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Check only what a run of this milestone would check (`<project>/<milestone>`, or a
    /// milestone with --project).
    milestone: Option<String>,
    /// Check only this project's docs.
    #[arg(long, value_name = "PROJECT")]
    project: Option<String>,
    /// Base directory the docs glob is matched from (default: the repository root).
    #[arg(long, value_name = "DIR")]
    docs: Option<PathBuf>,
    /// Print a JSON report on stdout.
    #[arg(long)]
    json: bool,
    /// Treat warnings as errors.
    #[arg(long)]
    strict: bool,
}

pub fn run(global: &GlobalArgs, args: &Args) -> anyhow::Result<i32> {
    let ws = Workspace::open(global, args.docs.as_deref())?;
    let set = ws.load_docs()?;
    let rules = super::state_rules(&ws, &[])?;
    let (mut found, what, selected) = match &args.milestone {
        Some(text) => {
            let scope = super::select_scope(
                &ws,
                text,
                args.project.as_deref(),
                &set.scopes(),
                "orch validate",
            )?;
            // Only the plan's worktree paths depend on it, and validate shows none: docs
            // outside a repository validate too.
            let root = ws
                .main_root()
                .unwrap_or_else(|_| ws.repo_root.clone().unwrap_or_default());
            let found =
                match crate::input::docs::plan::build(&set, &scope, &ws.config, &root, &rules) {
                    Ok(plan) => plan.warnings,
                    Err(found) => found,
                };
            (found, format!("milestone {scope}"), Some(scope))
        }
        None => {
            if let Some(p) = &args.project {
                if !set.projects().contains(p) {
                    return Err(super::hinted(
                        format!("no issue doc is in project `{p}`"),
                        format!("projects: {}", set.projects().join(", ")),
                    ));
                }
            }
            let found = crate::input::docs::plan::validate(&set, args.project.as_deref(), &rules);
            let what = match &args.project {
                Some(p) => format!("project {p}"),
                None => "issue docs".to_owned(),
            };
            (found, what, None)
        }
    };
    if args.strict {
        for p in found.iter_mut().filter(|p| p.severity == Severity::Warning) {
            p.severity = Severity::Error;
        }
    }
    let valid = !found.iter().any(|p| p.is_error());
    // What the counts are of: the milestone validated, else the project, else the tree.
    let counted =
        |project: &Option<String>, scope: Option<crate::model::naming::Scope>| match &selected {
            Some(selected) => scope.as_ref() == Some(selected),
            None => args.project.is_none() || project == &args.project,
        };
    let in_scope: Vec<&crate::input::docs::IssueDoc> = set
        .docs
        .iter()
        .filter(|d| counted(&d.project, d.scope()))
        .collect();
    let scopes: Vec<String> = set
        .scopes()
        .into_iter()
        .filter(|s| counted(&s.project, Some(s.clone())))
        .map(|s| s.to_string())
        .collect();
    if args.json {
        let of = |s: Severity| -> Vec<&crate::model::problem::Problem> {
            found.iter().filter(|p| p.severity == s).collect()
        };
        let unassigned: Vec<&std::path::Path> = in_scope
            .iter()
            .filter(|d| d.milestone.is_none())
            .map(|d| d.path.as_path())
            .collect();
        let report = serde_json::json!({
            "valid": valid,
            "files": set.files,
            "issues": in_scope.len(),
            "projects": set.projects(),
            "milestones": scopes,
            "unassigned": unassigned,
            "errors": of(Severity::Error),
            "warnings": of(Severity::Warning),
            "info": of(Severity::Info),
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let err = Styler::stderr(global.color);
        eprint!("{}", problems::render(&found, &err));
        if valid {
            println!(
                "{} issue docs in {} milestone{} are valid ({})",
                in_scope.len(),
                scopes.len(),
                if scopes.len() == 1 { "" } else { "s" },
                problems::count(&found)
            );
        } else {
            eprintln!(
                "{} {what} {} invalid: {}",
                err.red("Error:"),
                if what.starts_with("issue docs") {
                    "are"
                } else {
                    "is"
                },
                problems::count(&found)
            );
        }
    }
    Ok(if valid { exit::OK } else { exit::USER_ERROR })
}
