//! `orch plan <MILESTONE>` / `orch plan --file orchestrator.yml`: what a run would do, in
//! order, before anything runs; `orch plan validate [--file F]`: every problem of a plan file.

use super::{GlobalArgs, Workspace};
use crate::cli::exit;
use crate::report::style::Styler;
use crate::report::{diagram, problems, table};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Mermaid,
    Dot,
}

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Args {
    #[command(subcommand)]
    action: Option<Action>,
    /// The milestone to plan: `<project>/<milestone>`, or a milestone with --project (or
    /// orch.toml's `project`); a bare one when one project has it; its leading id (`M3` for
    /// `M3-core-…`) when unique. Without one (and without --file): the milestones there are.
    milestone: Option<String>,
    /// The project the milestone is in.
    #[arg(long, value_name = "PROJECT", conflicts_with = "file")]
    project: Option<String>,
    /// Also plan issues in this not-ready state to run (`future`, `backlog`, …; repeatable).
    #[arg(long = "include-state", value_name = "STATE", value_delimiter = ',')]
    include_state: Vec<String>,
    /// Plan a plan file (`orchestrator.yml` or JSON) instead of a milestone of issue docs.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["milestone", "docs"])]
    file: Option<PathBuf>,
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
    /// Show the table's titles and branches whole (it is fit into 120 columns otherwise).
    #[arg(long)]
    wide: bool,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Check a plan file against its schema and rules; exit 1 with every problem.
    Validate(ValidateArgs),
}

#[derive(Debug, clap::Args)]
struct ValidateArgs {
    /// The plan file (default: `orchestrator.yml` at the repository root).
    #[arg(long, value_name = "FILE")]
    file: Option<PathBuf>,
    /// Print a JSON report on stdout.
    #[arg(long)]
    json: bool,
}

pub fn run(global: &GlobalArgs, args: &Args) -> anyhow::Result<i32> {
    if let Some(Action::Validate(v)) = &args.action {
        return validate(global, v);
    }
    let ws = Workspace::open(global, args.docs.as_deref())?;
    // Branches and worktrees need a repository; their paths are the main checkout's.
    let repo_root = ws.main_root()?;
    let err_style = Styler::stderr(global.color);
    let plan = if let Some(file) = &args.file {
        let path = super::plan_file_path(global, &ws, Some(file))?;
        match super::plan_file_or_report(global, &path, &ws.config, &repo_root, None, "plan") {
            Ok(plan) => plan,
            Err(code) => return Ok(code),
        }
    } else {
        let set = ws.load_docs()?;
        if args.milestone.is_none() {
            let rules = super::state_rules(&ws, &args.include_state)?;
            let listed =
                crate::input::docs::plan::milestones(&set, args.project.as_deref(), &rules);
            print!(
                "{}",
                table::milestones(&listed, &Styler::stdout(global.color))
            );
            return Ok(exit::OK);
        }
        let scope = super::select_scope(
            &ws,
            args.milestone.as_deref().unwrap_or_default(),
            args.project.as_deref(),
            &set.scopes(),
            "orch plan",
        )?;
        let rules = super::state_rules(&ws, &args.include_state)?;
        let planned =
            super::plan_or_report(global, &set, &scope, &ws.config, &repo_root, &rules, "plan");
        // The command ends once the plan is printed: freeing every doc of a large tree one
        // by one would cost more than printing them (the process frees it all at once).
        std::mem::forget(set);
        match planned {
            Ok(plan) => plan,
            Err(code) => return Ok(code),
        }
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
        Format::Table => table::plan(
            &plan,
            &Styler::stdout(global.color),
            (!args.wide).then_some(table::DEFAULT_WIDTH),
        ),
        Format::Json => serde_json::to_string_pretty(&plan)? + "\n",
        Format::Mermaid => diagram::mermaid(&plan),
        Format::Dot => diagram::dot(&plan),
    };
    print!("{out}");
    std::mem::forget(plan);
    Ok(exit::OK)
}

/// `orch plan validate`: exit 0 with a one-line summary, or 1 with every problem.
fn validate(global: &GlobalArgs, args: &ValidateArgs) -> anyhow::Result<i32> {
    let ws = Workspace::open(global, None)?;
    let path = super::plan_file_path(global, &ws, args.file.as_deref())?;
    let result = crate::input::planfile::load(&path);
    if args.json {
        let report = match &result {
            Ok(file) => serde_json::json!({
                "valid": true,
                "file": file.path,
                "included": file.included,
                "tasks": file.tasks.len(),
                "shards": file.tasks.iter().map(|t| t.shards.len()).sum::<usize>(),
                "errors": [],
            }),
            Err(found) => serde_json::json!({
                "valid": false,
                "file": path,
                "errors": found,
            }),
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        match &result {
            Ok(file) => println!("{}", summary(file)),
            Err(found) => {
                let err = Styler::stderr(global.color);
                eprint!("{}", problems::render(found, &err));
                eprintln!(
                    "{} plan file {} is invalid: {}",
                    err.red("Error:"),
                    path.display(),
                    problems::count(found)
                );
            }
        }
    }
    Ok(if result.is_ok() {
        exit::OK
    } else {
        exit::USER_ERROR
    })
}

/// `orchestrator.yml is valid: 4 tasks, 3 shards, 1 included file (milestone shop)`.
fn summary(file: &crate::input::planfile::PlanFile) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let shards: usize = file.tasks.iter().map(|t| t.shards.len()).sum();
    format!(
        "{} is valid: {}, {}, {} (milestone {})",
        file.path.display(),
        plural(file.tasks.len(), "task"),
        plural(shards, "shard"),
        plural(file.included.len(), "included file"),
        crate::input::planfile::convert_milestone(file),
    )
}
