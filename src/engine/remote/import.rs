//! A runner's result, brought into the run: its result ref fetched, then the refs it names
//! (the branch, the pins), each under `refs/orch/incoming/<run>/<issue>/` first; checked
//! ([`super::verify`]); only then the branch and pins set under their own names, the logs
//! written to the issue's log directory, and the summary read with its paths made this
//! machine's. A result that does not check is refused and nothing of it is adopted (what
//! was fetched stays under `incoming/`, for a look).

use super::verify::{matches, named, Asked, Fetched};
use crate::engine::context::RunScope;
use crate::engine::host::Host;
use crate::engine::{git, EngineError};
use crate::forge::actions::WorkflowRun;
use crate::model::naming::ref_component;
use crate::model::plan::PlannedIssue;
use crate::model::record::{IssueSummary, Outcome};
use crate::model::remote::RanOn;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The issue a result is for, where its branch started, where its logs go.
pub(super) struct At<'a> {
    pub issue: &'a PlannedIssue,
    pub base: &'a str,
    pub issue_dir: &'a Path,
    /// The dispatch it was (recorded with where it ran).
    pub attempt: u32,
}

/// What the result commit holds that the import reads.
struct Result_ {
    /// The result commit.
    commit: String,
    provenance: Value,
    summary: Value,
    /// `logs/…` paths (without `logs/`) and their blobs.
    logs: Vec<(String, String)>,
}

/// The commit of the issue's result ref for this run on the remote, `None` when it has none
/// (`Err`: it cannot be told).
pub(super) async fn remote_result(
    host: Host<'_>,
    run: &RunScope<'_>,
    id: &str,
) -> Result<Result<Option<String>, String>, EngineError> {
    let name = crate::model::naming::result_ref(&run.opts.run_id, id);
    let git = host.remote_git();
    let log = crate::model::layout::command_log(&scratch(host, run, id), "ls-remote");
    let looked = (git
        .run(&log, &["ls-remote", "--exit-code", git.remote(), &name])
        .await)
        .map_err(|failed| (failed.status, failed.said));
    Ok(match looked {
        Ok(()) => {
            let said = std::fs::read_to_string(&log).unwrap_or_default();
            let oid = (said.lines())
                .filter_map(|l| l.split_whitespace().next())
                .find(|w| super::verify::is_oid(w));
            Ok(Some(oid.unwrap_or_default().to_owned()))
        }
        // `--exit-code`: no such ref.
        Err((Some(2), _)) => Ok(None),
        Err((_, said)) => Err(said),
    })
}

/// The issue's summary from workflow run `wf`'s result; else how the issue ends and why:
/// a run that ended without a result (a runner lost, a run cancelled) as interrupted, which
/// `orch resume` dispatches again; a result refused as failed.
pub(super) async fn import(
    host: Host<'_>,
    run: &RunScope<'_>,
    at: &At<'_>,
    wf: &WorkflowRun,
) -> Result<Result<IssueSummary, (Outcome, String)>, EngineError> {
    let (run_id, id) = (run.opts.run_id.as_str(), at.issue.id.as_str());
    let incoming = format!(
        "refs/orch/incoming/{}/{}/",
        ref_component(run_id),
        ref_component(id)
    );
    let result = crate::model::naming::result_ref(run_id, id);
    let spec = format!("+{result}:{incoming}result");
    if let Err(said) = fetch(host, at.issue_dir, "fetch-result", &[spec]).await {
        let why = format!(
            "its workflow run ended ({}) without a result ({said}): {}; `orch resume` dispatches it again",
            wf.conclusion.as_deref().unwrap_or("?"),
            wf.url
        );
        return Ok(Err((Outcome::Interrupted, why)));
    }
    let refuse = |why: String| {
        let why = format!(
            "refused the result of {}: {why}; look at refs/orch/incoming/, then `orch resume --retry {id}` dispatches it again",
            wf.url
        );
        Ok(Err((Outcome::Failed, why)))
    };
    let read = read_result(host, &format!("{incoming}result")).await?;
    if let Some(why) = not_new(run, id, &read, wf) {
        return Ok(Err((Outcome::Interrupted, why)));
    }
    let pins = [
        crate::model::naming::pins_prefix(run_id, id),
        crate::model::naming::rescue_prefix(&run.plan.scope(), id),
    ];
    let asked = Asked {
        run_id,
        issue: id,
        base: at.base,
        branch: &at.issue.branch,
        pins: &pins,
    };
    let names = match named(&asked, (&read.provenance, &read.summary)).and_then(|n| {
        inside(&read.logs)?;
        Ok(n)
    }) {
        Ok(names) => names,
        Err(why) => return refuse(why),
    };
    let specs: Vec<String> = (names.iter())
        .map(|n| format!("+{n}:{incoming}{}", n.trim_start_matches("refs/")))
        .collect();
    if !specs.is_empty() {
        if let Err(said) = fetch(host, at.issue_dir, "fetch-refs", &specs).await {
            return refuse(format!("the refs it names cannot be fetched ({said})"));
        }
    }
    let (fetched, head_on_base) = fetched_refs(host, &incoming, &names, at.base, &read).await?;
    let view = Fetched {
        refs: &fetched,
        head_on_base,
    };
    if let Err(why) = matches(&asked, &read.provenance, &view) {
        return refuse(why);
    }
    if let Err(why) = adopt(host, at, &fetched, &read).await? {
        return Ok(Err((Outcome::Failed, why)));
    }
    Ok(summary_of(at, &read).map_err(|why| (Outcome::Failed, why)))
}

/// Why `read` is no new result, when it is the one imported before (that of the runner
/// this one was to go on from: this one left nothing).
fn not_new(run: &RunScope<'_>, id: &str, read: &Result_, wf: &WorkflowRun) -> Option<String> {
    let before = super::imported_before(run, id).and_then(|s| s.ran_on.as_ref()?.result.clone());
    (before.as_deref() == Some(read.commit.as_str())).then(|| {
        format!(
            "its workflow run ended ({}) without a new result: {}; `orch resume` dispatches it again",
            wf.conclusion.as_deref().unwrap_or("?"),
            wf.url
        )
    })
}

/// Every log path stays inside the issue's log directory (a tree can name `..`).
fn inside(logs: &[(String, String)]) -> Result<(), String> {
    match (logs.iter()).find(|(rel, _)| !crate::util::fsutil::is_inside(rel)) {
        Some((rel, _)) => Err(format!("it holds a log path outside its directory: {rel}")),
        None => Ok(()),
    }
}

/// Runs `git fetch` of `specs` from `[forge] remote`, logged as the issue's command `name`;
/// the line git said when it fails.
async fn fetch(
    host: Host<'_>,
    issue_dir: &Path,
    name: &str,
    specs: &[String],
) -> Result<(), String> {
    let git = host.remote_git();
    let mut args = vec!["fetch", "--no-tags", "--quiet", git.remote()];
    args.extend(specs.iter().map(String::as_str));
    let log = crate::model::layout::command_log(issue_dir, name);
    git.run(&log, &args).await.map_err(|failed| failed.said)
}

/// Where a check before any log directory exists logs its command.
fn scratch(host: Host<'_>, run: &RunScope<'_>, id: &str) -> PathBuf {
    let logs = host.config.orch_logs(host.repo_root);
    logs.join(run.plan.scope().dir())
        .join(&run.opts.run_id)
        .join(id)
}

/// The provenance, the summary and the logs of result commit `at`.
async fn read_result(host: Host<'_>, at: &str) -> Result<Result_, EngineError> {
    let at = at.to_owned();
    git(host.repo_root, move |repo| {
        let mut out = Result_ {
            commit: repo.resolve_commit(&at)?,
            provenance: Value::Null,
            summary: Value::Null,
            logs: Vec::new(),
        };
        for file in repo.tree_files(&at)? {
            let json = || -> Value {
                let bytes = repo.blob(&file.oid).unwrap_or_default();
                serde_json::from_slice(&bytes).unwrap_or(Value::Null)
            };
            match file.path.as_str() {
                "provenance.json" => out.provenance = json(),
                "summary.json" => out.summary = json(),
                path => {
                    if let Some(rel) = path.strip_prefix("logs/") {
                        out.logs.push((rel.to_owned(), file.oid.clone()));
                    }
                }
            }
        }
        Ok(out)
    })
    .await
}

/// What was fetched of `names`, by their remote names; whether the named head sits on `base`.
async fn fetched_refs(
    host: Host<'_>,
    incoming: &str,
    names: &[String],
    base: &str,
    read: &Result_,
) -> Result<(BTreeMap<String, String>, bool), EngineError> {
    let (incoming, names, base) = (incoming.to_owned(), names.to_vec(), base.to_owned());
    let head = read.provenance["head"].as_str().map(str::to_owned);
    git(host.repo_root, move |repo| {
        let mut refs = BTreeMap::new();
        for name in names {
            let local = format!("{incoming}{}", name.trim_start_matches("refs/"));
            if let Ok(oid) = repo.resolve_commit(&local) {
                refs.insert(name, oid);
            }
        }
        let on_base = match &head {
            Some(head) => repo.has_commit(head) && repo.descends_from(head, &base)?,
            None => true,
        };
        Ok((refs, on_base))
    })
    .await
}

/// The logs in the issue's log directory, then the branch and pins under their own names;
/// why not, when a log cannot be written (then no ref is set).
async fn adopt(
    host: Host<'_>,
    at: &At<'_>,
    fetched: &BTreeMap<String, String>,
    read: &Result_,
) -> Result<Result<(), String>, EngineError> {
    let (refs, logs, dir) = (fetched.clone(), read.logs.clone(), at.issue_dir.to_owned());
    git(host.repo_root, move |repo| {
        for (rel, oid) in &logs {
            let path = dir.join(rel);
            let written = (path.parent().map_or(Ok(()), std::fs::create_dir_all))
                .and_then(|()| std::fs::write(&path, repo.blob(oid).unwrap_or_default()));
            if let Err(e) = written {
                return Ok(Err(format!(
                    "its log {} cannot be written: {e}",
                    path.display()
                )));
            }
        }
        for (name, oid) in &refs {
            repo.set_ref(name, oid, "orch: imported from a runner")?;
        }
        Ok(Ok(()))
    })
    .await
}

/// The runner's summary with this machine's paths and where it ran.
fn summary_of(at: &At<'_>, read: &Result_) -> Result<IssueSummary, String> {
    let mut summary: IssueSummary = serde_json::from_value(read.summary.clone())
        .map_err(|e| format!("its summary cannot be read: {e}"))?;
    let theirs = summary.log_dir.clone();
    let here = |p: &Path| match p.strip_prefix(&theirs) {
        Ok(rel) => at.issue_dir.join(rel),
        Err(_) => p.to_owned(),
    };
    summary.log_dir = at.issue_dir.to_owned();
    for phase in &mut summary.phases {
        phase.log_dir = here(&phase.log_dir);
    }
    for command in &mut summary.commands {
        command.log = here(&command.log);
    }
    summary.base = Some(at.base.to_owned());
    // What its dependents start from is the head that was checked, on the issue's branch.
    summary.branch = at.issue.branch.clone();
    summary.head = read.provenance["head"].as_str().map(str::to_owned);
    let mut ran_on: RanOn = serde_json::from_value(read.provenance.clone()).unwrap_or_default();
    (ran_on.result, ran_on.attempt) = (Some(read.commit.clone()), Some(at.attempt));
    summary.ran_on = Some(Box::new(ran_on));
    Ok(summary)
}
