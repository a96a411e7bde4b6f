//! `orch diff <ISSUE>`: what each phase changed, from the recorded ranges — also after the
//! worktree is gone and the branch deleted (the pinned refs keep the commits).

use super::{hinted, GlobalArgs, Workspace};
use crate::cli::exit;
use crate::model::naming::short_oid;
use crate::report::style::Styler;
use crate::workspace::capture::{self, PhaseRange};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The issue id.
    issue: String,
    /// Only this phase: its number (`2`, `02`) or name (`review`, `02-review`).
    #[arg(long)]
    phase: Option<String>,
    /// The milestone: `<project>/<milestone>`, or one with --project (default: the one whose
    /// logs hold the issue).
    #[arg(long)]
    milestone: Option<String>,
    /// The project whose milestones' logs hold the issue.
    #[arg(long, value_name = "PROJECT")]
    project: Option<String>,
    /// An earlier run (its id, as `orch status` shows it) instead of the latest.
    #[arg(long, value_name = "RUN_ID")]
    run: Option<String>,
    /// Files with line counts instead of the patch.
    #[arg(long, conflicts_with_all = ["name_only", "json"])]
    stat: bool,
    /// Only the names of changed files.
    #[arg(long, conflicts_with = "json")]
    name_only: bool,
    /// The recorded ranges as JSON (with each phase's patch).
    #[arg(long)]
    json: bool,
}

pub fn run(global: &GlobalArgs, args: &Args) -> anyhow::Result<i32> {
    let ws = Workspace::open_reading(global)?;
    let repo = ws.git()?;
    let runs = super::issue_runs(
        &ws,
        &repo,
        &args.issue,
        (
            args.milestone.as_deref(),
            args.project.as_deref(),
            args.run.as_deref(),
        ),
        &format!("orch diff {} --milestone", args.issue),
    )?;
    let found = match runs.as_slice() {
        [one] => one,
        [] => {
            return Err(hinted(
                format!(
                    "no recorded phases for issue `{}` under {}",
                    args.issue,
                    ws.config.orch_logs(&repo.main_root()).display()
                ),
                "phases are recorded by `orch run`; check the id (and --milestone)",
            ))
        }
        many => {
            let names: Vec<String> = many.iter().map(|r| r.milestone.clone()).collect();
            return Err(hinted(
                format!(
                    "issue `{}` has runs in {} milestones: {}",
                    args.issue,
                    many.len(),
                    names.join(", ")
                ),
                format!(
                    "choose one with --milestone, e.g. `--milestone {}`",
                    names[0]
                ),
            ));
        }
    };
    let issue_dir = &found.dir;
    let run_id = found.state.as_ref().map_or("?", |s| s.run_id.as_str());
    let recorded = found.state.as_ref().and_then(|s| s.issue(&args.issue));
    let summary = recorded.and_then(|i| i.summary.as_ref());
    if let Some(s) = summary.filter(|s| s.phases.is_empty()) {
        // Nothing ran: say why, rather than nothing.
        println!(
            "{} {} in run {run_id}: {}",
            args.issue,
            s.outcome.name(),
            s.reason.as_deref().unwrap_or("no phase ran")
        );
        return Ok(exit::OK);
    }
    if let Some(run) = summary.and_then(|s| s.completed_in.as_deref()) {
        eprintln!(
            "{} completed in run {run} (carried by run {run_id}); its phases are that run's",
            args.issue
        );
    }
    let mut ranges = capture::load_ranges(issue_dir)?;
    if ranges.is_empty() && !args.json {
        // Nothing finished yet: say where the issue stands rather than nothing.
        let cut_off = recorded
            .and_then(|i| i.current_phase.as_ref())
            .map(|c| {
                format!(
                    " ({:02}-{} is running, or was cut off)",
                    c.seq,
                    c.phase.name()
                )
            })
            .unwrap_or_default();
        println!(
            "{} has no finished phase in run {run_id}{cut_off}",
            args.issue
        );
        return Ok(exit::OK);
    }
    if let Some(want) = &args.phase {
        ranges.retain(|r| phase_matches(r, want));
        if ranges.is_empty() {
            return Err(hinted(
                format!("issue `{}` has no recorded phase `{want}`", args.issue),
                "`orch diff <ISSUE>` without --phase lists every phase",
            ));
        }
    }
    if args.json {
        let mut out = Vec::new();
        for r in &ranges {
            let mut value = serde_json::to_value(r)?;
            value["patch"] = repo.patch(&r.base, &r.head)?.into();
            out.push(value);
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(exit::OK);
    }
    let style = Styler::stdout(global.color);
    for r in &ranges {
        let status = result_status(&issue_dir.join(r.id.dir_name()));
        println!(
            "{}",
            style.bold(&format!(
                "── {} {}..{} · {} commit{}{}",
                r.id.dir_name(),
                short_oid(&r.base),
                short_oid(&r.head),
                r.commits.len(),
                if r.commits.len() == 1 { "" } else { "s" },
                status
                    .map(|s| format!(" · status: {s}"))
                    .unwrap_or_default()
            ))
        );
        for c in &r.commits {
            println!("   {} {}", style.yellow(short_oid(&c.oid)), c.summary);
        }
        if args.name_only {
            for f in &r.diffstat.files {
                println!("{}", f.path);
            }
        } else if args.stat {
            for f in &r.diffstat.files {
                println!(" {} | +{} -{}", f.path, f.additions, f.deletions);
            }
            println!(
                " {} file{} changed, {} insertions(+), {} deletions(-)",
                r.diffstat.files_changed,
                if r.diffstat.files_changed == 1 {
                    ""
                } else {
                    "s"
                },
                r.diffstat.insertions,
                r.diffstat.deletions
            );
        } else {
            print!("{}", colour_patch(&repo.patch(&r.base, &r.head)?, &style));
        }
        if let Some(u) = &r.uncommitted {
            let names: Vec<&str> = u.files.iter().map(|f| f.path.as_str()).collect();
            println!(
                "{}",
                style.yellow(&format!(
                    "   left uncommitted by the agent (not on the branch): {}",
                    names.join(", ")
                ))
            );
            if !args.stat && !args.name_only {
                let patch =
                    std::fs::read_to_string(issue_dir.join(r.id.dir_name()).join(&u.patch_file))
                        .unwrap_or_default();
                print!("{}", colour_patch(&patch, &style));
            }
        }
        println!();
    }
    Ok(exit::OK)
}

fn phase_matches(r: &PhaseRange, want: &str) -> bool {
    want == r.id.dir_name()
        || want == r.id.phase
        || want.parse::<u32>().is_ok_and(|n| n == r.id.seq)
}

fn result_status(phase_dir: &std::path::Path) -> Option<String> {
    let value = crate::record::phase_logs::result(phase_dir)?;
    value.get("status")?.as_str().map(str::to_owned)
}

fn colour_patch(patch: &str, style: &Styler) -> String {
    if !style.enabled() {
        return patch.to_owned();
    }
    let mut out = String::with_capacity(patch.len() + patch.len() / 8);
    for line in patch.split_inclusive('\n') {
        let (body, nl) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
        let painted =
            if body.starts_with("+++") || body.starts_with("---") || body.starts_with("diff ") {
                style.bold(body)
            } else if body.starts_with('+') {
                style.green(body)
            } else if body.starts_with('-') {
                style.red(body)
            } else if body.starts_with("@@") {
                style.cyan(body)
            } else {
                body.to_owned()
            };
        out.push_str(&painted);
        out.push_str(nl);
    }
    out
}
