//! What a run shows while it goes, on stderr. Several issues may be in flight, so every line
//! names its issue. On a terminal, a live region (indicatif) holds one line per issue in
//! flight (phase, cycle, elapsed, the agent's latest action) above a one-line tally of the
//! milestone, redrawn in place, with finished phases, checks and outcomes printed above it;
//! elsewhere the same news comes as plain lines prefixed `[ISSUE]`, and the tally after each
//! issue ends.

use super::style::Styler;
use super::table::truncate;
use crate::model::event::{EngineEvent, Report, ReportError, Stamped};
use crate::model::phase::PhaseKind;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Progress as a run goes: a live region on a terminal, plain prefixed lines otherwise.
pub struct Progress {
    style: Styler,
    live: Option<Live>,
    /// Where plain lines go (stderr, or a test's buffer).
    out: Mutex<Box<dyn Write + Send>>,
    board: Mutex<Tally>,
}

/// How much of an agent's action a line shows; the rest is cut with `…`.
const ACTIVITY_WIDTH: usize = 90;

/// A phase whose agent has said nothing for this long shows "quiet for …".
const QUIET_AFTER_SECS: u64 = 60;

/// The live region being drawn now, if any: logging writes through it (above it, the region
/// redrawn after), never across it.
static DRAWN: Mutex<Option<MultiProgress>> = Mutex::new(None);

/// Where orch's log lines (`tracing`) go: stderr, through the live region while one is
/// drawn.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let drawn = DRAWN.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match drawn {
            Some(multi) => multi.suspend(|| std::io::stderr().write(buf)),
            None => std::io::stderr().write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// The live region: a bar per issue in flight, and the tally under them.
struct Live {
    multi: MultiProgress,
    tally: ProgressBar,
}

/// Where the run stands, as the progress shows it.
#[derive(Default)]
struct Tally {
    total: usize,
    started: usize,
    /// Completed, or done by their docs (`landed`, …).
    completed: usize,
    /// Skipped by their docs' not-ready state (`future`, …): the user's choice.
    skipped: usize,
    /// Ended without passing (failed, blocked, capped, skipped for a dependency, …).
    other: usize,
    issues: BTreeMap<String, InFlight>,
}

/// An issue in flight.
struct InFlight {
    /// `NN-phase`, while a phase runs.
    phase: Option<String>,
    /// Fix phases started: the cycle the issue is in.
    fixes: u32,
    /// When its agent was last heard from (a phase start, an action).
    heard: Instant,
    /// Plain output: the silence last reported, in whole minutes.
    quiet_said: u64,
    last: String,
    bar: Option<ProgressBar>,
}

impl Tally {
    fn tally(&self) -> String {
        let running = self.issues.len();
        let waiting = self.total.saturating_sub(self.started);
        let skipped = match self.skipped {
            0 => String::new(),
            n => format!(" · {n} skipped"),
        };
        format!(
            "{} done · {running} running · {waiting} waiting{skipped} · {} not passed",
            self.completed, self.other
        )
    }
}

impl Report for Progress {
    /// The terminal: what it cannot show is lost to nobody (the state and logs have it).
    fn write(&self, event: &Stamped<'_>) -> Result<(), ReportError> {
        self.on(event.event);
        Ok(())
    }
}

impl Progress {
    /// `live`: draw the live region (stderr is a terminal); else plain lines to `out`.
    pub fn new(style: Styler, live: bool, out: Box<dyn Write + Send>) -> Self {
        let live = live.then(|| {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let tally = multi.add(ProgressBar::new_spinner());
            tally.set_style(ProgressStyle::with_template("{msg}").expect("a valid template"));
            *DRAWN.lock().unwrap_or_else(|p| p.into_inner()) = Some(multi.clone());
            Live { multi, tally }
        });
        Progress {
            style,
            live,
            out: Mutex::new(out),
            board: Mutex::new(Tally::default()),
        }
    }

    pub fn on(&self, event: &EngineEvent) {
        let mut board = self.board.lock().unwrap_or_else(|p| p.into_inner());
        let lines = self.lines(event, &mut board);
        match &self.live {
            Some(live) => {
                for line in &lines {
                    live.multi.suspend(|| eprintln_line(line));
                }
                match event {
                    EngineEvent::RunFinished { .. } => {}
                    EngineEvent::PhaseStarted { id, .. } => self.redraw(live, &mut board, Some(id)),
                    _ => self.redraw(live, &mut board, None),
                }
            }
            None => {
                let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
                for line in &lines {
                    let _ = writeln!(out, "{line}");
                }
            }
        }
    }

    /// The lines an event prints (above the live region, or as they are). Keeps the board.
    fn lines(&self, event: &EngineEvent, board: &mut Tally) -> Vec<String> {
        let s = &self.style;
        let tag = |id: &str| s.bold(&format!("[{id}]"));
        match event {
            EngineEvent::RunStarted {
                run_id,
                project,
                milestone,
                issues,
                log_dir,
                resumed,
                base,
                base_commit,
                ..
            } => {
                board.total = *issues;
                let scope = crate::model::naming::Scope::new(project.as_deref(), milestone);
                let mut out = Vec::new();
                if *resumed {
                    out.push(format!("{} run {run_id}", s.bold("resuming")));
                }
                out.push(format!(
                    "{} run {run_id}: milestone {scope}, {issues} issue(s) from {base} at {}; logs in {}",
                    s.bold("orch"),
                    crate::model::naming::short_oid(base_commit),
                    crate::model::layout::run_dir(log_dir, run_id).display()
                ));
                out
            }
            EngineEvent::BranchSetAside { id, set_aside } => {
                let mut what = match (&set_aside.moved_to, &set_aside.uncommitted) {
                    (Some(to), _) => {
                        format!("earlier branch {} set aside as {to}", set_aside.branch)
                    }
                    (None, Some(_)) => "its earlier worktree removed".to_owned(),
                    // Nothing of an earlier run was there: nothing to say.
                    (None, None) => return Vec::new(),
                };
                if let Some(r) = &set_aside.uncommitted {
                    what.push_str(&format!(" (its uncommitted work as {r})"));
                }
                vec![format!("{} {what}; it runs from scratch", tag(id))]
            }
            EngineEvent::IssueStarted {
                id,
                position,
                total,
            } => {
                board.started += 1;
                board.issues.insert(
                    id.clone(),
                    InFlight {
                        phase: None,
                        fixes: 0,
                        heard: Instant::now(),
                        quiet_said: 0,
                        last: String::new(),
                        bar: None,
                    },
                );
                vec![format!("{} started ({position}/{total})", tag(id))]
            }
            EngineEvent::WorktreeReady { id, path, created } => vec![format!(
                "{} worktree {} ({})",
                tag(id),
                path.display(),
                if *created { "created" } else { "reused" }
            )],
            EngineEvent::PhaseStarted {
                id,
                seq,
                phase,
                agent,
            } => {
                if let Some(i) = board.issues.get_mut(id) {
                    i.fixes += u32::from(*phase == PhaseKind::Fix);
                    i.phase = Some(format!("{seq:02}-{}", phase.name()));
                    i.last.clear();
                    i.heard = Instant::now();
                    i.quiet_said = 0;
                }
                match self.live {
                    Some(_) => Vec::new(),
                    // The default agent goes unsaid; another one is named.
                    None => vec![format!(
                        "{} {seq:02}-{} started{}",
                        tag(id),
                        phase.name(),
                        super::header::on_agent(Some(agent))
                    )],
                }
            }
            EngineEvent::Activity {
                id,
                text,
                done,
                exit_code,
                ..
            } => {
                let text = truncate(&text.replace('\n', " "), ACTIVITY_WIDTH);
                let text = match exit_code {
                    Some(0) => format!("{text} {}", s.dim("(exit 0)")),
                    Some(code) => format!("{text} {}", s.red(&format!("(exit {code})"))),
                    None => text,
                };
                if let Some(i) = board.issues.get_mut(id) {
                    i.last.clone_from(&text);
                    i.heard = Instant::now();
                    i.quiet_said = 0;
                }
                // A command is said once, as it ends (the live region shows it running).
                match (&self.live, done) {
                    (None, true) => vec![format!("{}     {text}", tag(id))],
                    _ => Vec::new(),
                }
            }
            EngineEvent::GuardRefused { id, command, rule } => vec![format!(
                "{} {} {}: {rule}",
                tag(id),
                s.yellow("guard refused"),
                truncate(command, ACTIVITY_WIDTH)
            )],
            EngineEvent::PhaseFinished { id, record } => {
                if let Some(i) = board.issues.get_mut(id) {
                    i.phase = None;
                    i.last.clear();
                }
                let what = match (&record.status, &record.failure) {
                    (Some(st), _) => s.green(st),
                    // Stopped by Ctrl-C: nothing failed, the phase runs again on resume.
                    (None, Some(crate::model::phase::PhaseFailure::Interrupted)) => {
                        s.yellow("interrupted")
                    }
                    (None, Some(f)) => s.red(&format!("failed: {f}")),
                    _ => String::new(),
                };
                vec![format!(
                    "{} {:02}-{} {what} ({} commit(s), {:.1}s)",
                    tag(id),
                    record.seq,
                    record.phase.name(),
                    record.commits,
                    record.duration_ms as f64 / 1000.0
                )]
            }
            EngineEvent::IssueFinished { summary } => {
                match board.issues.remove(&summary.id) {
                    Some(i) => {
                        if let (Some(bar), Some(live)) = (i.bar, &self.live) {
                            bar.finish_and_clear();
                            live.multi.remove(&bar);
                        }
                    }
                    // Finished when the run starts (its docs skip it): never in flight.
                    None => board.started += 1,
                }
                if summary.is_done() {
                    board.completed += 1;
                } else if summary.skip_kind() == Some(crate::model::record::SkipKind::State) {
                    board.skipped += 1;
                } else {
                    board.other += 1;
                }
                let reason = summary
                    .reason
                    .as_ref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default();
                let mut out = vec![match &summary.completed_in {
                    Some(run) => {
                        format!("{} completed in run {run}; not run again", tag(&summary.id))
                    }
                    None => format!("{} → {}{reason}", tag(&summary.id), summary.outcome.name()),
                }];
                if self.live.is_none() {
                    out.push(format!("{} {}", s.bold("[run]"), board.tally()));
                }
                out
            }
            EngineEvent::ShardStarted { id, shard, title } => {
                vec![format!("{} shard {shard}: {title}", tag(id))]
            }
            EngineEvent::AcceptanceChecked { id, outcomes, .. } => outcomes
                .iter()
                .map(|o| {
                    let mark = if o.passed {
                        s.green("pass")
                    } else {
                        s.red("FAIL")
                    };
                    let detail = o.detail.lines().next().unwrap_or_default();
                    format!("{}   check {mark} {}: {detail}", tag(id), o.label)
                })
                .collect(),
            EngineEvent::Verified {
                id, verification, ..
            } => {
                let at = crate::model::naming::short_oid(&verification.commit);
                let mut lines: Vec<String> = verification
                    .checks
                    .iter()
                    .map(|c| {
                        let mark = if c.passed {
                            s.green("✓")
                        } else {
                            s.red("✗")
                        };
                        format!("{} verified at {at}: {} {mark}", tag(id), c.check)
                    })
                    .collect();
                if let Some(e) = &verification.error {
                    lines.push(format!("{} {} {e}", tag(id), s.red("clean room:")));
                }
                lines
            }
            EngineEvent::CommandRun { id, name, record } => {
                let status = match record.status {
                    Some(0) => s.green("ok"),
                    Some(code) => s.red(&format!("exit {code}")),
                    None => s.red("killed"),
                };
                vec![format!("{} {name}: `{}` {status}", tag(id), record.command)]
            }
            EngineEvent::BaseFallback { id, reason } => {
                vec![format!("{} {} {reason}", tag(id), s.yellow("note:"))]
            }
            EngineEvent::PullRequest { id, pull, created } => {
                let what = if *created {
                    "opened draft"
                } else {
                    "pushed to open"
                };
                vec![format!(
                    "{} {what} #{} into {}: {}",
                    tag(id),
                    pull.number,
                    pull.base,
                    pull.url
                )]
            }
            EngineEvent::Watched { id, note, .. } => {
                vec![format!("{} {} {note}", tag(id), s.cyan("pr:"))]
            }
            EngineEvent::Dispatched {
                id,
                record,
                attached,
            } => {
                let what = if *attached {
                    "following its run"
                } else {
                    "dispatched to a runner"
                };
                vec![format!(
                    "{} {what} (attempt {}): {}",
                    tag(id),
                    record.attempt,
                    record.url
                )]
            }
            // The watch says what changed in its own lines.
            EngineEvent::IssueUpdated { .. } => Vec::new(),
            EngineEvent::ForgeNote { id, message } => {
                let tagged = id.as_deref().map(|id| format!("{} ", tag(id)));
                vec![format!(
                    "{}{} {message}",
                    tagged.unwrap_or_default(),
                    s.yellow("forge:")
                )]
            }
            EngineEvent::AwaitingApproval { id, gate } => vec![format!(
                "{} {} {gate}: `orch approve {gate} --task {id}`, then `orch resume`",
                tag(id),
                s.bold("awaiting approval")
            )],
            EngineEvent::PhaseRetry {
                id,
                seq,
                phase,
                attempt,
                reason,
                delay_ms,
            } => vec![format!(
                "{} {seq:02}-{} {reason}; attempt {attempt} in {:.1}s",
                tag(id),
                phase.name(),
                *delay_ms as f64 / 1000.0
            )],
            EngineEvent::BudgetExhausted { id, stop, .. } => vec![format!(
                "{} {} {}",
                tag(id),
                s.yellow("budget:"),
                stop.describe()
            )],
            EngineEvent::BudgetReserved { .. } => Vec::new(),
            EngineEvent::AgentStarted { .. } | EngineEvent::RunFinished { .. } => {
                if let (EngineEvent::RunFinished { .. }, Some(live)) = (event, &self.live) {
                    live.tally.finish_and_clear();
                    *DRAWN.lock().unwrap_or_else(|p| p.into_inner()) = None;
                }
                Vec::new()
            }
        }
    }

    /// Called every second while a run goes: redraws the live region (its clocks and "quiet
    /// for" go on), or, in plain output, says of each phase whose agent has been silent for
    /// another whole minute that it is (`[A-1] 01-dev quiet for 2m00s`).
    pub fn tick(&self) {
        let mut board = self.board.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(live) = &self.live {
            self.redraw(live, &mut board, None);
            return;
        }
        let mut lines = Vec::new();
        for (id, issue) in &mut board.issues {
            let Some(phase) = &issue.phase else { continue };
            let quiet = issue.heard.elapsed().as_secs();
            let minutes = quiet / 60;
            if quiet >= QUIET_AFTER_SECS && minutes > issue.quiet_said {
                issue.quiet_said = minutes;
                let quiet = crate::util::timeutil::human_secs(minutes * 60);
                lines.push(format!(
                    "{} {phase} {}",
                    self.style.bold(&format!("[{id}]")),
                    self.style.yellow(&format!("quiet for {quiet}"))
                ));
            }
        }
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        for line in lines {
            let _ = writeln!(out, "{line}");
        }
    }

    /// Brings the live region up to date: a bar per issue in flight (made when it starts,
    /// kept above the tally; its clock restarts with each phase), then the tally.
    /// `started`: the issue whose phase just started (its clock restarts).
    fn redraw(&self, live: &Live, board: &mut Tally, started: Option<&str>) {
        let s = &self.style;
        for (id, issue) in &mut board.issues {
            let bar = issue.bar.get_or_insert_with(|| {
                let bar = live
                    .multi
                    .insert_before(&live.tally, ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {prefix} {elapsed:>4}  {wide_msg}")
                        .expect("a valid template"),
                );
                bar.enable_steady_tick(Duration::from_millis(250));
                bar
            });
            let cycle = match issue.fixes {
                0 => String::new(),
                n => format!(" cycle {n}"),
            };
            match &issue.phase {
                Some(phase) => {
                    bar.set_prefix(format!("{} {phase}{cycle}", s.bold(id)));
                    let quiet = issue.heard.elapsed().as_secs();
                    let last = if quiet >= QUIET_AFTER_SECS {
                        let quiet = crate::util::timeutil::human_secs(quiet);
                        format!("{} {}", s.yellow(&format!("quiet for {quiet}")), issue.last)
                    } else {
                        issue.last.clone()
                    };
                    bar.set_message(s.dim(&last));
                }
                None => {
                    bar.set_prefix(s.bold(id).to_string());
                    bar.set_message(s.dim("between phases"));
                }
            }
            if started == Some(id.as_str()) {
                bar.reset_elapsed();
            }
        }
        live.tally.set_message(board.tally());
    }
}

fn eprintln_line(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

#[cfg(test)]
mod tests;
