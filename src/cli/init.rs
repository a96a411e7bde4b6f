//! `orch init`: scaffold orch's files in the current repository, never overwriting one.

use super::{GlobalArgs, Workspace};
use crate::cli::exit;
use crate::input::scaffold::{self, Step};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Commit what it wrote (as "Set up orch"): a run starts only from a clean repository.
    #[arg(long)]
    commit: bool,
    /// Also write the CI workflow that runs issues on that CI's runners (`orch run --on
    /// github`): `.github/workflows/orch-issue.yml`.
    #[arg(long, value_enum, value_name = "CI")]
    ci: Option<Ci>,
    /// The git repository runners build this orch from (`cargo install --git URL --tag
    /// v<version>`), for `--ci`.
    #[arg(long, value_name = "URL", requires = "ci")]
    orch_source: Option<String>,
}

/// A CI whose runners orch can run issues on.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Ci {
    Github,
}

pub fn run(global: &GlobalArgs, args: &Args) -> anyhow::Result<i32> {
    let ws = Workspace::open(global, None)?;
    let repo = ws.git()?;
    let root = repo.root().to_owned();
    let mut steps = scaffold::config_and_plan(&root)?;
    for exported in crate::agent::prompts::export(&root)? {
        steps.push(scaffold::file_step(&root, &exported.path, exported.written));
    }
    steps.push(scaffold::ignore_logs(&repo, &root, &ws.config)?);
    if let Some(Ci::Github) = args.ci {
        steps.push(workflow(&root, args.orch_source.as_deref())?);
    }
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
    // What it wrote, for the commit a run needs first.
    let written: Vec<&std::path::Path> = steps
        .iter()
        .filter_map(|step| match step {
            Step::Created(path) => Some(path.as_path()),
            Step::IgnoreAdded { .. } => Some(std::path::Path::new(".gitignore")),
            _ => None,
        })
        .collect();
    let shown = repo.root().display();
    if created == 0 {
        println!("orch init: nothing to create in {shown}; {kept} files already exist");
    } else {
        println!("orch init: created {created} files in {shown}, kept {kept}");
    }
    if !written.is_empty() {
        if args.commit {
            match repo.commit_files(&written, "Set up orch")? {
                Some(oid) => println!(
                    "committed them as {} (\"Set up orch\")",
                    crate::model::naming::short_oid(&oid)
                ),
                None => println!("nothing new to commit"),
            }
        } else {
            let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
            println!(
                "commit them before a run (a run starts only from a clean repository): `git add {} && git commit -m \"Set up orch\"`, or `orch init --commit`",
                names.join(" ")
            );
        }
    }
    println!("next: {}", next_step(&ws));
    Ok(exit::OK)
}

/// The GitHub workflow, built on runners from `source` (else where this orch says it comes
/// from).
fn workflow(root: &std::path::Path, source: Option<&str>) -> anyhow::Result<Step> {
    use crate::input::workflow::{Workflow, PATH};
    let source = match source.unwrap_or(env!("CARGO_PKG_REPOSITORY")).trim() {
        "" => {
            return Err(crate::cli::error::hinted(
                "orch init --ci github: runners need to know where to get this orch",
                format!(
                    "say which git repository they build it from: `orch init --ci github --orch-source <URL>` (runners run `cargo install --locked --git <URL> --tag v{} orch`)",
                    env!("CARGO_PKG_VERSION")
                ),
            ))
        }
        s => s.to_owned(),
    };
    let text = Workflow::new(&source).render();
    Ok(scaffold::create(root, std::path::Path::new(PATH), &text)?)
}

/// What to do next in this repository: plan a milestone its docs have, else the plan file.
fn next_step(ws: &Workspace) -> String {
    let milestone = ws.load_docs().ok().and_then(|set| {
        let rules = ws.config.state_rules(&[]);
        crate::input::docs::plan::milestones(&set, None, &rules)
            .into_iter()
            .find(|m| m.to_run > 0)
    });
    match milestone {
        Some(m) => format!(
            "`orch plan {0}` shows what a run of it would do; then `orch run {0}` (`orch plan` lists every milestone)",
            m.scope
        ),
        None => "no issue docs here (`docs/projects/<project>/issues/*.md`): review orch.toml, adapt orchestrator.yml to your project, then `orch plan validate` and `orch run --file --dry-run`".to_owned(),
    }
}
