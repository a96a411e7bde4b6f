//! `orch init`: scaffold orch's files in the current repository, never overwriting one.

use super::{GlobalArgs, Workspace};
use crate::cli::exit;
use crate::input::scaffold::{self, Step};

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(global: &GlobalArgs, _args: &Args) -> anyhow::Result<i32> {
    let ws = Workspace::open(global, None)?;
    let repo = ws.git()?;
    let root = repo.root().to_owned();
    let mut steps = scaffold::config_and_plan(&root)?;
    for exported in crate::agent::prompts::export(&root)? {
        steps.push(scaffold::file_step(&root, &exported.path, exported.written));
    }
    steps.push(scaffold::ignore_logs(&repo, &root, &ws.config)?);
    let mut created = 0;
    let mut kept = 0;
    for step in &steps {
        match step {
            Step::Created(path) => {
                created += 1;
                println!("created {}", path.display());
            }
            Step::Kept(path) => {
                kept += 1;
                println!("kept {} (already exists)", path.display());
            }
            Step::IgnoreAdded { entry } => println!("added {entry} to .gitignore"),
            Step::IgnoreKept { entry } => println!("kept .gitignore ({entry} is already ignored)"),
            Step::IgnoreNotNeeded { logs } => println!(
                "left .gitignore alone (logs go to {}, outside the repository)",
                logs.display()
            ),
        }
    }
    let root = repo.root().display();
    if created == 0 {
        println!("orch init: nothing to create in {root}; {kept} files already exist");
    } else {
        println!("orch init: created {created} files in {root}, kept {kept}");
        println!(
            "next: review orch.toml, adapt orchestrator.yml to your project, then `orch plan validate` and `orch run --file --dry-run`"
        );
    }
    Ok(exit::OK)
}
