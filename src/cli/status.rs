//! `orch status [MILESTONE]`: where the last run stands, read from its state file (works
//! while the run is going; it does not take the lock).

use super::{GlobalArgs, Workspace};
use crate::cli::exit;
use crate::model::state::IssueStatus;
use crate::report::style::Styler;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    run: super::WhichRun,
    /// Print the run state as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(global: &GlobalArgs, args: &Args) -> anyhow::Result<i32> {
    let ws = Workspace::open(global, None)?;
    let repo = ws.git()?;
    let state = args.run.state(global, &ws, &repo, "orch status")?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&state)?);
        return Ok(exit::OK);
    }
    let style = Styler::stdout(global.color);
    let status = if state.finished {
        "finished"
    } else {
        "not finished"
    };
    println!(
        "{}",
        style.bold(&format!(
            "Run {} of milestone {} ({status}, updated {})",
            state.run_id,
            state.scope(),
            state.updated_at
        ))
    );
    println!(
        "{:<14} {:<12} {:<10} {:>6} {:<16} {:>7} {:>8}",
        "ISSUE", "STATE", "PHASE", "CYCLES", "LAST REVIEW", "COMMITS", "TOKENS"
    );
    for issue in &state.issues {
        let phase = issue
            .current_phase
            .as_ref()
            .map(|c| format!("{:02}-{}", c.seq, c.phase.name()))
            .unwrap_or_else(|| "-".to_owned());
        let stats = issue.stats();
        let review = stats.last_review.clone().unwrap_or_else(|| "-".to_owned());
        let (cycles, commits, tokens) = (stats.cycles, stats.commits, stats.tokens);
        let label = issue.status_name();
        let pad = 12usize.saturating_sub(label.len());
        let label = match issue.status {
            IssueStatus::Completed => style.green(&label),
            IssueStatus::Failed
            | IssueStatus::Blocked
            | IssueStatus::Capped
            | IssueStatus::Deferred
            | IssueStatus::Interrupted => style.red(&label),
            _ => label,
        };
        println!(
            "{:<14} {label}{} {:<10} {:>6} {:<16} {:>7} {:>8}",
            issue.id,
            " ".repeat(pad),
            phase,
            cycles,
            review,
            commits,
            tokens
        );
    }
    let waiting: Vec<(&str, &String)> = state
        .issues
        .iter()
        .filter_map(|i| Some((i.id.as_str(), i.summary.as_ref()?)))
        .flat_map(|(id, s)| s.awaiting.iter().map(move |g| (id, g)))
        .collect();
    if !waiting.is_empty() {
        println!();
        println!("{}", style.bold("Awaiting approval:"));
        for (id, gate) in waiting {
            println!("  {id}: `{gate}` — `orch approve {gate} --task {id}`, then `orch resume`");
        }
    }
    Ok(exit::OK)
}
