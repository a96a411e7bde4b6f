//! `orch verify-clean`: the precondition of a run, callable alone.

use super::{GlobalArgs, Workspace};
use crate::cli::exit;
use crate::report::style::Styler;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print `{"clean": bool, "problems": [...]}` on stdout.
    #[arg(long)]
    json: bool,
    /// Expect HEAD on this branch (a run's `--base`) instead of the trunk.
    #[arg(long, value_name = "BRANCH")]
    base: Option<String>,
}

pub fn run(global: &GlobalArgs, args: &Args) -> anyhow::Result<i32> {
    let mut ws = Workspace::open(global, None)?;
    if let Some(base) = &args.base {
        ws.config.base = Some(base.clone());
    }
    let repo = ws.git()?;
    let report = crate::workspace::verify_clean::verify_clean(&repo, &ws.config)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if report.clean {
        println!("{} is clean: ready for a run", repo.root().display());
    } else {
        let style = Styler::stderr(global.color);
        for p in &report.problems {
            eprintln!("{}: {}", style.yellow(p.kind), p.message);
            eprintln!("  {} {}", style.cyan("Hint:"), p.hint);
        }
        eprintln!(
            "{} {} is not clean: {} problem{}",
            style.red("Error:"),
            repo.root().display(),
            report.problems.len(),
            if report.problems.len() == 1 { "" } else { "s" }
        );
    }
    Ok(if report.clean {
        exit::OK
    } else {
        exit::USER_ERROR
    })
}
