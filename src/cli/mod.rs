//! The command line: argument parsing, logging setup, and the dispatch to the subcommands,
//! each in its own file and glue over the library. How errors end the process is `error`;
//! the exit codes are `exit`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod agents;
mod approve;
mod completions;
mod debug;
mod diff;
mod docs;
mod dry_run;
pub mod error;
mod execute;
pub mod exit;
mod guard;
mod init;
mod launch;
mod man;
mod plan;
mod prepare;
mod prompts;
mod report;
mod reporters;
mod request;
mod rerun;
mod resume;
mod run;
mod sandbox;
mod select;
mod status;
mod validate;
mod verify_clean;
mod watch;
mod work;
mod worktrees;

use crate::input::config::{find_repo_root, Config};
use error::hinted;

use crate::model::naming::Scope;
use crate::report::style::{ColorChoice, Styler};
use clap::{Parser, Subcommand};
use select::{issue_runs, latest_state, select_scope, WhichRun};
use std::path::{Path, PathBuf};

#[derive(Debug, Parser)]
#[command(
    name = "orch",
    version,
    about = "Run a milestone of issue docs through coding agents, one isolated worktree per issue."
)]
pub struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Args)]
pub struct GlobalArgs {
    /// Run as if started in DIR.
    #[arg(short = 'C', long = "repo", global = true, value_name = "DIR")]
    repo: Option<PathBuf>,
    /// More logging (-v info, -vv debug, -vvv trace); `ORCH_LOG` overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// When to colour output (`NO_COLOR` is honoured in `auto`).
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        value_name = "WHEN"
    )]
    color: ColorChoice,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Scaffold orch.toml, an example orchestrator.yml, .orch/prompts/ and the logs ignore
    /// entry in this repository (never overwrites).
    Init(init::Args),
    /// Show the ordered plan of a milestone (or of a plan file with --file); `plan validate` checks a plan file.
    Plan(plan::Args),
    /// Run a milestone: every issue through dev → review ⇄ fix on the agent CLIs (Codex, Claude Code).
    Run(run::Args),
    /// Continue the last run: finished issues are kept, an interrupted one picks up where it stopped.
    Resume(resume::Args),
    /// Watch the last run's pull requests: a failed check or a reviewer's thread starts a fix,
    /// pushed and answered, until each is green, merged, closed, capped or blocked.
    Watch(watch::Args),
    /// Work one issue of another orch's run on this machine (a CI runner), then push back its
    /// branch, pins and result ref.
    Work(work::Args),
    /// The last run as a document (Markdown or JSON).
    Report(report::Args),
    /// Where the last run stands (reads its state; works while it runs).
    Status(status::Args),
    /// Approve a gate (`deploy`, `apply_patch`, …) a task waits for; then `orch resume`.
    Approve(approve::Args),
    /// Check every issue doc of every milestone; exit 1 on any error.
    Validate(validate::Args),
    /// Issue docs: `orch docs fix` repairs what is mechanical and prints the diff.
    Docs(docs::Args),
    /// Check the repository is clean enough to start a run; exit 1 with every problem.
    VerifyClean(verify_clean::Args),
    /// List orch's worktrees; `--prune` removes orphans safely.
    Worktrees(worktrees::Args),
    /// Show what each phase of an issue changed, from the recorded ranges.
    Diff(diff::Args),
    /// The gt/git guard: `orch guard log <ISSUE>` shows what it allowed and refused.
    Guard(guard::Args),
    /// Show or export the phase prompts.
    Prompts(prompts::Args),
    /// Print a shell completion script.
    Completions(completions::Args),
    /// Write manual pages, one per command, generated from this CLI.
    Man(man::Args),
    /// Library operations for benchmarks and troubleshooting.
    #[command(hide = true)]
    Debug(debug::Args),
    /// The milestone or issue names of this repository, for the completion scripts.
    #[command(hide = true, name = "__complete")]
    Names(completions::NamesArgs),
}

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    std::panic::set_hook(Box::new(|info| {
        // Output to a reader that went away (`orch run … | head -1`) is no bug: end
        // quietly, as a process killed by SIGPIPE does.
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to std") && message.contains("Broken pipe") {
            std::process::exit(exit::BROKEN_PIPE);
        }
        eprintln!("Internal error: orch panicked: {info}");
        eprintln!("Hint: {}", error::BUG);
        std::process::exit(exit::INTERNAL);
    }));
    let mut argv = std::env::args();
    if let Some(tool) = argv
        .next()
        .as_deref()
        .and_then(crate::guard::shim::invoked_as)
    {
        let args: Vec<String> = argv.collect();
        return crate::guard::shim::run(tool, &args);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                error::Kind::Usage.exit_code()
            } else {
                exit::OK
            };
        }
    };
    init_logging(&cli.global);
    crate::git::tune_for_cli();
    if only_prints(&cli.command) {
        // A command that only prints ends at once when its reader goes away, as other CLIs
        // do. (Commands that run agents keep SIGPIPE ignored: an agent that exits before it
        // read its prompt must not take orch with it.)
        crate::util::process::default_sigpipe();
    }
    let result = match &cli.command {
        Command::Init(args) => init::run(&cli.global, args),
        Command::Plan(args) => plan::run(&cli.global, args),
        Command::Run(args) => run::run(&cli.global, args),
        Command::Resume(args) => resume::run(&cli.global, args),
        Command::Watch(args) => watch::run(&cli.global, args),
        Command::Work(args) => work::run(&cli.global, args),
        Command::Status(args) => status::run(&cli.global, args),
        Command::Approve(args) => approve::run(&cli.global, args),
        Command::Report(args) => report::run(&cli.global, args),
        Command::Validate(args) => validate::run(&cli.global, args),
        Command::Docs(args) => docs::run(&cli.global, args),
        Command::VerifyClean(args) => verify_clean::run(&cli.global, args),
        Command::Worktrees(args) => worktrees::run(&cli.global, args),
        Command::Diff(args) => diff::run(&cli.global, args),
        Command::Guard(args) => guard::run(&cli.global, args),
        Command::Prompts(args) => prompts::run(&cli.global, args),
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => man::run(args),
        Command::Debug(args) => debug::run(&cli.global, args),
        Command::Names(args) => completions::names(&cli.global, args),
    };
    match result {
        Ok(code) => code,
        Err(err) => error::report(&err, &Styler::stderr(cli.global.color)),
    }
}

/// Whether `command` only reads and prints (no agent, no write a signal may cut short).
fn only_prints(command: &Command) -> bool {
    match command {
        Command::Plan(_)
        | Command::Status(_)
        | Command::Report(_)
        | Command::Validate(_)
        | Command::Diff(_)
        | Command::Completions(_)
        | Command::Man(_)
        | Command::Names(_)
        | Command::VerifyClean(_) => true,
        Command::Guard(args) => args.is_log(),
        Command::Prompts(args) => args.only_shows(),
        _ => false,
    }
}

fn init_logging(global: &GlobalArgs) {
    let default = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ORCH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| crate::report::progress::LogWriter)
        .with_ansi(Styler::stderr(global.color).enabled())
        .without_time()
        .try_init();
}

/// Where a command works: the repository, its config, and where the docs are.
struct Workspace {
    repo_root: Option<PathBuf>,
    config: Config,
    /// Base the docs glob is matched from, as it should be shown to the user.
    docs_base: PathBuf,
}

impl Workspace {
    fn open(global: &GlobalArgs, docs: Option<&Path>) -> anyhow::Result<Workspace> {
        Workspace::opened(global, docs, false)
    }

    /// For the commands that only read a run's records (`status`, `report`, `diff`, `guard
    /// log`, `worktrees` without `--prune`): a broken orch.toml is a warning, not a stop.
    fn open_reading(global: &GlobalArgs) -> anyhow::Result<Workspace> {
        Workspace::opened(global, None, true)
    }

    fn opened(
        global: &GlobalArgs,
        docs: Option<&Path>,
        reading: bool,
    ) -> anyhow::Result<Workspace> {
        let cwd = std::env::current_dir().map_err(|e| {
            hinted(
                format!("cannot read the current directory: {e}"),
                "cd into your repository",
            )
        })?;
        let start = match &global.repo {
            Some(dir) => cwd.join(dir),
            None => cwd.clone(),
        };
        if !start.is_dir() {
            return Err(hinted(
                format!("`{}` is not a directory", start.display()),
                "pass an existing directory to -C/--repo",
            ));
        }
        let repo_root = find_repo_root(&start);
        let config_dir = repo_root.clone().unwrap_or_else(|| start.clone());
        let config = match Config::load(&config_dir) {
            Ok(config) => config,
            // Reading a run's records needs no more than where they are: say what is wrong
            // and go on with what can be read.
            Err(e) if reading => {
                let style = Styler::stderr(global.color);
                eprintln!(
                    "{}: {e}; reading with what can be read of it (a run needs it fixed)",
                    style.yellow("warning")
                );
                Config::lenient(&config_dir.join(crate::input::config::CONFIG_FILE))
            }
            Err(e) => return Err(e.into()),
        };
        let docs_base = match docs {
            Some(dir) => {
                if global.repo.is_some() && dir.is_relative() {
                    start.join(dir)
                } else {
                    dir.to_owned()
                }
            }
            None => relative_to(&config_dir, &cwd),
        };
        Ok(Workspace {
            repo_root,
            config,
            docs_base,
        })
    }

    fn git(&self) -> anyhow::Result<crate::git::Repo> {
        let Some(root) = &self.repo_root else {
            return Err(hinted(
                "not inside a git repository",
                "run orch inside your repository, or pass -C <repo>",
            ));
        };
        Ok(crate::git::Repo::open(root)?)
    }

    /// The main checkout's root, also from a linked worktree: what worktree paths, logs and
    /// plans are relative to, for every command alike.
    fn main_root(&self) -> anyhow::Result<PathBuf> {
        Ok(self.git()?.main_root())
    }

    fn load_docs(&self) -> anyhow::Result<crate::input::docs::DocSet> {
        crate::input::docs::load(&self.docs_base, self.config.docs_glob()).map_err(|e| {
            let hint = match &e {
                crate::input::docs::DiscoverError::MissingDir { .. } => format!(
                    "issue docs are looked up as `{}`; point at another tree with --docs <DIR> or set `docs_glob` in orch.toml",
                    self.config.docs_glob()
                ),
                crate::input::docs::DiscoverError::Glob { .. } => "fix `docs_glob` in orch.toml".to_owned(),
            };
            hinted(e.to_string(), hint)
        })
    }
}

/// The state vocabulary of a run that includes the not-ready states `include`; an include
/// that names no not-ready state is refused.
fn state_rules(
    ws: &Workspace,
    include: &[String],
) -> anyhow::Result<crate::input::docs::states::StateRules> {
    let rules = ws.config.state_rules(include);
    if let Some(bad) = rules.unknown_include() {
        return Err(hinted(
            format!("--include-state {bad}: `{bad}` is not a not-ready state"),
            format!(
                "not-ready states: {} (`not_ready_states` in orch.toml); done states never run",
                rules.not_ready().join(", ")
            ),
        ));
    }
    Ok(rules)
}

/// The plan of `scope`, or every problem printed and `Err(exit code)`: `verb` says what
/// could not be done ("plan", "run"). Problems in docs outside the run get one line.
fn plan_or_report(
    global: &GlobalArgs,
    set: &crate::input::docs::DocSet,
    scope: &Scope,
    config: &Config,
    repo_root: &Path,
    rules: &crate::input::docs::states::StateRules,
    verb: &str,
) -> Result<crate::model::plan::Plan, i32> {
    let style = Styler::stderr(global.color);
    let plan =
        crate::input::docs::plan::build(set, scope, config, repo_root, rules).map_err(|found| {
            eprint!("{}", crate::report::problems::render(&found, &style));
            eprintln!(
                "{} cannot {verb} milestone {scope}: {}; nothing was changed",
                style.red("Error:"),
                crate::report::problems::count(&found)
            );
            exit::USER_ERROR
        })?;
    if verb == "run" {
        // `orch plan` shows them in full; a run names each once, before it starts.
        eprint!("{}", crate::report::problems::brief(&plan.warnings, &style));
    }
    if plan.problems_elsewhere > 0 {
        eprintln!(
            "{}: {} doc{} outside {scope} {} problems (not part of this run); `orch validate` lists them",
            style.yellow("warning"),
            plan.problems_elsewhere,
            if plan.problems_elsewhere == 1 { "" } else { "s" },
            if plan.problems_elsewhere == 1 { "has" } else { "have" },
        );
    }
    Ok(plan)
}

/// The plan file to read: `file` as given (under `-C`, relative to that directory), or
/// `orchestrator.yml` at the repository root, shown relative to the current directory.
fn plan_file_path(
    global: &GlobalArgs,
    ws: &Workspace,
    file: Option<&Path>,
) -> anyhow::Result<PathBuf> {
    let cwd = std::env::current_dir().map_err(|e| {
        hinted(
            format!("cannot read the current directory: {e}"),
            "cd into your repository",
        )
    })?;
    let path = match file {
        Some(f) if f.is_relative() => match &global.repo {
            Some(dir) => cwd.join(dir).join(f),
            None => f.to_owned(),
        },
        Some(f) => f.to_owned(),
        None => {
            let root = ws.repo_root.clone().unwrap_or_else(|| match &global.repo {
                Some(dir) => cwd.join(dir),
                None => cwd.clone(),
            });
            relative_to(&root, &cwd).join(crate::input::planfile::DEFAULT_FILE)
        }
    };
    let path = path.strip_prefix("./").map(Path::to_owned).unwrap_or(path);
    if !path.exists() {
        return Err(hinted(
            format!("plan file `{}` does not exist", path.display()),
            match file {
                Some(_) => "check the path given to --file".to_owned(),
                None => format!(
                    "write an `{}` at the repository root, or name one with --file",
                    crate::input::planfile::DEFAULT_FILE
                ),
            },
        ));
    }
    Ok(path)
}

/// The ordered plan of a plan file, or every problem printed and `Err(exit code)`.
fn plan_file_or_report(
    global: &GlobalArgs,
    path: &Path,
    config: &Config,
    repo_root: &Path,
    only: Option<&str>,
    verb: &str,
) -> Result<crate::model::plan::Plan, i32> {
    let result = crate::input::planfile::load(path)
        .and_then(|file| crate::input::planfile::to_plan(&file, config, repo_root, only));
    result.map_err(|found| {
        let style = Styler::stderr(global.color);
        eprint!("{}", crate::report::problems::render(&found, &style));
        eprintln!(
            "{} cannot {verb} plan file {}: {}; nothing was changed",
            style.red("Error:"),
            path.display(),
            crate::report::problems::count(&found)
        );
        exit::USER_ERROR
    })
}

/// The milestone name runs of a plan file are recorded under (its `project.name`).
fn plan_file_milestone(
    global: &GlobalArgs,
    ws: &Workspace,
    file: Option<&Path>,
) -> anyhow::Result<String> {
    Ok(plan_file_plan(global, ws, file)?.milestone)
}

/// The ordered plan of a plan file, its problems printed and an error when it has any.
fn plan_file_plan(
    global: &GlobalArgs,
    ws: &Workspace,
    file: Option<&Path>,
) -> anyhow::Result<crate::model::plan::Plan> {
    let path = plan_file_path(global, ws, file)?;
    let root = ws.main_root()?;
    let plan = crate::input::planfile::load(&path)
        .and_then(|plan| crate::input::planfile::to_plan(&plan, &ws.config, &root, None))
        .map_err(|found| {
            let style = Styler::stderr(global.color);
            eprint!("{}", crate::report::problems::render(&found, &style));
            hinted(
                format!(
                    "plan file {} has {}",
                    path.display(),
                    crate::report::problems::count(&found)
                ),
                "`orch plan validate --file <PLAN>` lists them",
            )
        })?;
    Ok(plan)
}

/// `path` shown relative to `cwd` when it is `cwd` or below it.
fn relative_to(path: &Path, cwd: &Path) -> PathBuf {
    match path.strip_prefix(cwd) {
        Ok(rel) if rel.as_os_str().is_empty() => PathBuf::from("."),
        Ok(rel) => rel.to_owned(),
        Err(_) => path.to_owned(),
    }
}
