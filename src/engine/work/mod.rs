//! `orch work`'s delivery: once the issue's loop has ended on this runner, its record goes
//! back to the orch that dispatched it by one push to `[forge] remote` (default `origin`):
//! - the result ref `refs/orch/results/<run>/<issue>`: a commit whose tree holds the
//!   issue's summary, its run-state record, where and with what it ran (`provenance.json`,
//!   with every pin and the branch's head), and its logs, each text redacted again;
//! - the issue's branch and its pins (`refs/orch/runs/<run>/<issue>/…`, its rescue refs),
//!   unless its commits hold possible secrets: then they stay here, and the result says so.
//!
//! Nothing else is pushed, and nothing is forced. A runner that goes on from an earlier
//! runner's result ([`earlier`]) makes its result a child of that one.

mod earlier;

pub use earlier::{earlier, Asked, Earlier};

use super::EngineError;
use crate::input::config::Config;
use crate::model::plan::Plan;
use crate::model::record::IssueSummary;
use crate::model::request::WorkOrder;
use serde_json::{json, Value};
use std::path::Path;

/// What `orch work` pushed, or why it did not.
#[derive(Debug)]
pub struct Delivered {
    /// The result ref and its commit.
    pub result: (String, String),
    /// Every ref pushed, the result ref among them.
    pub refs: Vec<String>,
    /// Why the branch and pins were kept back, when they were.
    pub held: Option<String>,
    /// Whether the push went through, and git's line on it when not.
    pub pushed: Result<(), String>,
}

/// The refs a work run leaves for the issue: its result, and (not held) its branch and pins.
/// A push of them all that the remote refuses (its branch there already, say) leaves the
/// result alone to go, saying so, with the issue failed: the dispatcher learns why.
pub async fn deliver(
    (repo_root, config): (&Path, &Config),
    (plan, work): (&Plan, &WorkOrder),
    summary: &IssueSummary,
    (mut record, earlier): (Value, Option<&Earlier>),
) -> Result<Delivered, EngineError> {
    // Gone on from an earlier runner: the record holds every phase and command, as the
    // summary does, and the result follows the earlier one.
    let parent = earlier.map(|e| e.result.clone());
    if parent.is_some() && record.is_object() {
        record["phases"] = json!(summary.phases);
        record["commands"] = json!(summary.commands);
    }
    let secrets = summary
        .awaiting
        .iter()
        .any(|g| g == crate::guard::secrets::GATE);
    let held = secrets.then(|| {
        "its commits hold possible secrets: its branch and pins stay on this runner".to_owned()
    });
    let (pins, head) = pins_and_head(repo_root, plan, work, summary).await?;
    let mut provenance = provenance((config, repo_root), work, summary, (&pins, &head));
    provenance["held"] = json!(held);
    let name = crate::model::naming::result_ref(&work.run_id, &summary.id);
    let written = files(summary, &record, &provenance);
    let commit = commit_result(repo_root, (&name, &parent), written, summary).await?;
    let mut refs = vec![name.clone()];
    if held.is_none() {
        if head.is_some() {
            refs.push(format!("refs/heads/{}", summary.branch));
        }
        refs.extend(pins.into_iter().map(|(name, _)| name));
    }
    let pushed = push((repo_root, config), summary, &refs).await;
    let line = match &pushed {
        Err(line) if refs.len() > 1 => line.clone(),
        _ => {
            return Ok(Delivered {
                result: (name, commit),
                refs,
                held,
                pushed,
            })
        }
    };
    // Refused with the branch and pins: the result goes alone, saying why.
    let why = format!("its branch and pins were not pushed: {line}");
    let mut failed = summary.clone();
    failed.outcome = crate::model::record::Outcome::Failed;
    failed.reason = Some(why.clone());
    provenance["held"] = json!(why);
    let written = files(&failed, &record, &provenance);
    let commit = commit_result(repo_root, (&name, &parent), written, &failed).await?;
    let pushed = push((repo_root, config), summary, std::slice::from_ref(&name)).await;
    Ok(Delivered {
        result: (name.clone(), commit),
        refs: vec![name],
        held: Some(why),
        pushed,
    })
}

/// The issue's pins (this run's, its rescue refs) and its branch's head here.
async fn pins_and_head(
    repo_root: &Path,
    plan: &Plan,
    work: &WorkOrder,
    summary: &IssueSummary,
) -> Result<(Vec<(String, String)>, Option<String>), EngineError> {
    let pins_prefix = crate::model::naming::pins_prefix(&work.run_id, &summary.id);
    let rescue_prefix = crate::model::naming::rescue_prefix(&plan.scope(), &summary.id);
    let branch = summary.branch.clone();
    super::git(repo_root, move |repo| {
        let mut pins = Vec::new();
        for prefix in [pins_prefix, rescue_prefix] {
            for name in repo.refs_under(&prefix)? {
                let oid = repo.resolve_commit(&name)?;
                pins.push((name, oid));
            }
        }
        Ok((pins, repo.branch_tip(&branch)?))
    })
    .await
}

/// The result commit of `files` (a child of `parent`, an earlier runner's result), set at
/// `name` here.
async fn commit_result(
    repo_root: &Path,
    (name, parent): (&str, &Option<String>),
    files: Vec<(String, Vec<u8>)>,
    summary: &IssueSummary,
) -> Result<String, EngineError> {
    let message = format!("orch result: {} ({})", summary.id, summary.outcome.name());
    let (at, parent) = (name.to_owned(), parent.clone());
    super::git(repo_root, move |repo| {
        let commit = repo.record_commit(&files, &message, parent.as_deref())?;
        repo.set_ref(&at, &commit, "orch work: the result")?;
        Ok(commit)
    })
    .await
}

/// Where and with what the issue ran, and what it leaves: the branch's head and every pin.
fn provenance(
    (config, repo_root): (&Config, &Path),
    work: &WorkOrder,
    summary: &IssueSummary,
    (pins, head): (&[(String, String)], &Option<String>),
) -> Value {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut agents = serde_json::Map::new();
    for agent in summary.phases.iter().filter_map(|p| p.agent.as_deref()) {
        let bin = match agent {
            "codex" => config.codex_bin(repo_root),
            "claude" => config.claude_bin(repo_root),
            _ => continue,
        };
        if !agents.contains_key(agent) {
            agents.insert(agent.to_owned(), json!(version_of(&bin)));
        }
    }
    let pins: serde_json::Map<String, Value> = (pins.iter())
        .map(|(name, oid)| (name.clone(), json!(oid)))
        .collect();
    json!({
        "run_id": work.run_id,
        "issue": summary.id,
        "base": work.base,
        "branch": summary.branch,
        "head": head,
        "pins": pins,
        "orch": env!("CARGO_PKG_VERSION"),
        "agents": agents,
        "host": crate::util::platform::hostname(),
        "runner": env("ORCH_RUNNER"),
        "workflow_run": env("ORCH_WORKFLOW_RUN"),
    })
}

/// What `bin --version` says (its first line), if it runs.
fn version_of(bin: &Path) -> Option<String> {
    let out = std::process::Command::new(bin)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    (out.status.success()).then(|| text.lines().next().unwrap_or_default().trim().to_owned())
}

/// The result's files: the summary, the record, the provenance, and the issue's logs under
/// `logs/`, text redacted (again: what orch wrote was redacted already).
fn files(summary: &IssueSummary, record: &Value, provenance: &Value) -> Vec<(String, Vec<u8>)> {
    let mut out = vec![
        ("summary.json".to_owned(), pretty(summary)),
        ("record.json".to_owned(), pretty(record)),
        ("provenance.json".to_owned(), pretty(provenance)),
    ];
    for entry in walkdir::WalkDir::new(&summary.log_dir)
        .sort_by_file_name()
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
    {
        let Ok(rel) = entry.path().strip_prefix(&summary.log_dir) else {
            continue;
        };
        let Ok(bytes) = std::fs::read(entry.path()) else {
            continue;
        };
        // Redacted as text even when it is not all UTF-8: nothing goes out unredacted.
        let bytes = crate::util::redact::redact(&String::from_utf8_lossy(&bytes)).into_bytes();
        out.push((format!("logs/{}", rel.to_string_lossy()), bytes));
    }
    out
}

/// `value` as pretty JSON, redacted.
fn pretty<T: serde::Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    crate::util::redact::redact(&text).into_bytes()
}

/// One atomic push of `refs` (each to the same name) to `[forge] remote`, never forced,
/// logged as the issue's `deliver` command: a runner lost mid-push leaves nothing half
/// delivered.
async fn push(
    (repo_root, config): (&Path, &Config),
    summary: &IssueSummary,
    refs: &[String],
) -> Result<(), String> {
    let git = super::remote_git::RemoteGit {
        dir: repo_root,
        config,
        cancel: None,
        on_runner: true,
    };
    let specs: Vec<String> = refs.iter().map(|r| format!("{r}:{r}")).collect();
    let mut args = vec!["push", "--porcelain", "--atomic", git.remote()];
    args.extend(specs.iter().map(String::as_str));
    let log = crate::model::layout::command_log(&summary.log_dir, "deliver");
    git.run(&log, &args).await.map_err(|failed| failed.said)
}
