//! `orch guard log <ISSUE>`: every gt/git attempt the guard saw for an issue, and every
//! audit violation. `orch guard gt|git -- ARGS` runs the shim explicitly (as the links in a
//! phase's bin directory do).

use super::{hinted, GlobalArgs, Workspace};
use crate::cli::exit;
use crate::report::style::Styler;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: GuardCommand,
}

#[derive(Debug, clap::Subcommand)]
enum GuardCommand {
    /// Show the gt/git attempts and violations recorded for an issue.
    Log {
        issue: String,
        /// The milestone: `<project>/<milestone>`, or one with --project (default: every
        /// milestone whose logs hold the issue).
        #[arg(long)]
        milestone: Option<String>,
        /// Only the milestones of this project.
        #[arg(long, value_name = "PROJECT")]
        project: Option<String>,
        /// An earlier run (its id, as `orch status` shows it) instead of the latest.
        #[arg(long, value_name = "RUN_ID")]
        run: Option<String>,
        /// Also the agent's read-only probes (`git status`, `git log`, `gt ls`, …), hidden
        /// by default.
        #[arg(long, conflicts_with = "denied")]
        all: bool,
        /// Only what was refused, and the audit's violations.
        #[arg(long)]
        denied: bool,
        /// One JSON object per line: the entries as recorded, each with its phase.
        #[arg(long)]
        json: bool,
    },
    /// Run the gt shim (inside a phase).
    #[command(hide = true)]
    Gt {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Run the git shim (inside a phase).
    #[command(hide = true)]
    Git {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

impl Args {
    /// `orch guard log`: it only reads and prints.
    pub(super) fn is_log(&self) -> bool {
        matches!(self.command, GuardCommand::Log { .. })
    }
}

pub fn run(global: &GlobalArgs, args: &Args) -> anyhow::Result<i32> {
    match &args.command {
        GuardCommand::Gt { args } => Ok(crate::guard::shim::run("gt", args)),
        GuardCommand::Git { args } => Ok(crate::guard::shim::run("git", args)),
        GuardCommand::Log {
            issue,
            milestone,
            project,
            run,
            all,
            denied,
            json,
        } => {
            let ws = Workspace::open_reading(global)?;
            let repo = ws.git()?;
            let logs = ws.config.orch_logs(&repo.main_root());
            let runs = super::issue_runs(
                &ws,
                &repo,
                issue,
                (milestone.as_deref(), project.as_deref(), run.as_deref()),
                &format!("orch guard log {issue} --milestone"),
            )?;
            let dirs: Vec<std::path::PathBuf> = runs
                .into_iter()
                .map(|r| r.dir)
                .filter(|d| d.is_dir())
                .collect();
            if dirs.is_empty() {
                return Err(hinted(
                    format!("no logs for issue `{issue}` under {}", logs.display()),
                    "check the id (and --milestone)",
                ));
            }
            let style = Styler::stdout(global.color);
            let mut hidden = 0;
            for dir in dirs {
                let mut phases: Vec<_> = std::fs::read_dir(&dir)?
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.join(crate::model::layout::GUARD_LOG).is_file())
                    .collect();
                phases.sort();
                for phase in phases {
                    let name = phase
                        .file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned();
                    use crate::guard::log::{self, Attempt, Decided, GuardLine};
                    for line in log::read(&phase.join(crate::model::layout::GUARD_LOG)) {
                        let (shown, probe) = match &line {
                            GuardLine::Attempt(Attempt {
                                argv,
                                decision: Decided::Allow { .. },
                                ..
                            }) => {
                                let probe = is_probe(argv);
                                (!*denied && (*all || !probe), probe)
                            }
                            _ => (true, false),
                        };
                        if !shown {
                            hidden += usize::from(probe && !*denied);
                            continue;
                        }
                        if *json {
                            let mut value = serde_json::to_value(&line)?;
                            value["phase"] = name.clone().into();
                            println!("{value}");
                            continue;
                        }
                        let text = match &line {
                            GuardLine::Attempt(a) => match &a.decision {
                                Decided::Allow { .. } => format!(
                                    "{} {}  (exit {})",
                                    style.green("allowed"),
                                    a.argv.join(" "),
                                    a.exit_code
                                ),
                                Decided::Deny { rule, reason } => format!(
                                    "{} {}  ({rule}: {reason})",
                                    style.red("denied "),
                                    a.argv.join(" ")
                                ),
                            },
                            GuardLine::Violation(v) => {
                                format!("{} {}", style.red("violation"), describe_violation(v))
                            }
                        };
                        println!("{name}  {text}");
                    }
                }
            }
            if hidden > 0 && !*json {
                eprintln!(
                    "{hidden} read-only probe{} (git status, git log, gt ls, …) not shown; `--all` shows them",
                    if hidden == 1 { "" } else { "s" }
                );
            }
            Ok(exit::OK)
        }
    }
}

/// Whether a recorded attempt only looked (`git status`, `gt ls`, …).
fn is_probe(argv: &[String]) -> bool {
    match argv.split_first() {
        Some((tool, rest)) => crate::guard::probe::is_probe(tool, rest),
        None => false,
    }
}

/// A violation in a few words: what changed, and whether orch put it back.
fn describe_violation(v: &crate::guard::log::ViolationLine) -> String {
    use crate::guard::log::Found;
    let restored = if v.restored {
        "restored"
    } else {
        "not restored"
    };
    match &v.what {
        Found::Ref {
            name,
            before,
            after,
            ..
        } => format!(
            "{name}: {} → {} ({restored})",
            before.as_deref().unwrap_or("absent"),
            after.as_deref().unwrap_or("deleted")
        ),
        Found::WorktreeAdded { worktree_added, .. } => {
            format!(
                "worktree added at {} ({restored})",
                worktree_added.display()
            )
        }
        Found::WorktreeRemoved { worktree_removed } => {
            format!(
                "worktree removed at {} ({restored})",
                worktree_removed.display()
            )
        }
        Found::ForbiddenPath {
            forbidden_path,
            pattern,
        } => format!("{forbidden_path} changed, forbidden by `{pattern}`"),
        Found::Secret {
            secret,
            path,
            line,
            approved,
        } => format!(
            "a possible {} at {path}:{line}{}",
            secret.name(),
            if *approved { " (approved)" } else { "" }
        ),
        Found::GitFile { git_file, change } => {
            format!("{} {change} ({restored})", git_file.display())
        }
    }
}
