//! `orch validate`: every problem of every issue doc, at once.

use super::{GlobalArgs, Workspace};
use crate::exit;
use crate::render::problems;
use crate::style::Styler;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
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
    let mut found = crate::plan::validate_all(&set);
    if args.strict {
        for p in &mut found {
            p.severity = crate::problem::Severity::Error;
        }
    }
    let valid = !found.iter().any(|p| p.is_error());
    if args.json {
        let (errors, warnings): (Vec<_>, Vec<_>) = found.iter().partition(|p| p.is_error());
        let report = serde_json::json!({
            "valid": valid,
            "files": set.files,
            "issues": set.docs.len(),
            "milestones": set.milestones(),
            "errors": errors,
            "warnings": warnings,
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let err = Styler::stderr(global.color);
        eprint!("{}", problems::render(&found, &err));
        if valid {
            println!(
                "{} issue docs in {} milestone{} are valid ({})",
                set.docs.len(),
                set.milestones().len(),
                if set.milestones().len() == 1 { "" } else { "s" },
                problems::count(&found)
            );
        } else {
            eprintln!(
                "{} issue docs are invalid: {} in {} files",
                err.red("Error:"),
                problems::count(&found),
                set.files
            );
        }
    }
    Ok(if valid { exit::OK } else { exit::USER_ERROR })
}
