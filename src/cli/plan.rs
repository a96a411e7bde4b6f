//! `orch plan <MILESTONE>`: what a run would do, in order, before anything runs.

use super::{hinted, GlobalArgs, Workspace};
use crate::exit;
use crate::render::{diagram, problems, table};
use crate::style::Styler;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Mermaid,
    Dot,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The milestone to plan (the `milestone:` value of its issue docs).
    milestone: String,
    /// Base directory the docs glob is matched from (default: the repository root).
    #[arg(long, value_name = "DIR")]
    docs: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Same as `--format json`.
    #[arg(long, conflicts_with = "format")]
    json: bool,
    /// Treat warnings as errors.
    #[arg(long)]
    strict: bool,
}

pub fn run(global: &GlobalArgs, args: &Args) -> anyhow::Result<i32> {
    let ws = Workspace::open(global, args.docs.as_deref())?;
    let Some(repo_root) = ws.repo_root.clone() else {
        return Err(hinted(
            "not inside a git repository: branches and worktrees need one",
            "run orch inside your repository, or pass -C <repo>",
        ));
    };
    let set = ws.load_docs()?;
    let err_style = Styler::stderr(global.color);
    let plan = match super::plan_or_report(
        global,
        &set,
        &args.milestone,
        &ws.config,
        &repo_root,
        "plan",
    ) {
        Ok(plan) => plan,
        Err(code) => return Ok(code),
    };
    if args.strict && !plan.warnings.is_empty() {
        eprint!("{}", problems::render(&plan.warnings, &err_style));
        eprintln!(
            "{} --strict: {} treated as errors",
            err_style.red("Error:"),
            problems::count(&plan.warnings).replace("0 errors, ", "")
        );
        return Ok(exit::USER_ERROR);
    }
    let format = if args.json { Format::Json } else { args.format };
    let out = match format {
        Format::Table => table::plan(&plan, &Styler::stdout(global.color)),
        Format::Json => serde_json::to_string_pretty(&plan)? + "\n",
        Format::Mermaid => diagram::mermaid(&plan),
        Format::Dot => diagram::dot(&plan),
    };
    print!("{out}");
    Ok(exit::OK)
}
