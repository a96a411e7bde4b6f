//! What an earlier runner left of the issue in this run, for `orch work` to go on from (a
//! resume with a larger budget, a retry): the result ref it pushed, fetched from `[forge]
//! remote`; its logs put back in this runner's issue log directory; its record, its paths made
//! this runner's; and its branch set here at the head it named. The first runner finds none.

use crate::engine::EngineError;
use crate::input::config::Config;
use crate::model::plan::PlannedIssue;
use crate::model::request::WorkOrder;
use crate::model::state::IssueState;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// An earlier runner's record of the issue and its result commit.
#[derive(Debug, Clone)]
pub struct Earlier {
    /// The issue's run-state record as that runner left it, its paths this runner's.
    pub record: IssueState,
    /// Its result commit: the next result's parent, so that the result ref only goes forward.
    pub result: String,
}

/// The remote, the issue and where this runner logs it.
pub struct Asked<'a> {
    pub repo_root: &'a Path,
    pub config: &'a Config,
    pub work: &'a WorkOrder,
    pub issue: &'a PlannedIssue,
    pub issue_dir: &'a Path,
}

impl Asked<'_> {
    /// git against the remote, as a runner runs it (the job's token as a header).
    fn remote_git(&self) -> crate::engine::remote_git::RemoteGit<'_> {
        crate::engine::remote_git::RemoteGit {
            dir: self.repo_root,
            config: self.config,
            cancel: None,
            on_runner: true,
        }
    }
}

/// The earlier runner's record, `None` for the first; `Err`: why it cannot be gone on from
/// (the runner then fails, and the dispatcher says so).
pub async fn earlier(asked: &Asked<'_>) -> Result<Result<Option<Earlier>, String>, EngineError> {
    let name = crate::model::naming::result_ref(&asked.work.run_id, &asked.issue.id);
    let git = asked.remote_git();
    let log = |name: &str| crate::model::layout::command_log(asked.issue_dir, name);
    let look = ["ls-remote", "--exit-code", git.remote(), &name];
    match git.run(&log("earlier-result"), &look).await {
        Ok(()) => {}
        // `--exit-code`: no such ref, no earlier result.
        Err(failed) if failed.status == Some(2) => return Ok(Ok(None)),
        Err(failed) => {
            let why = format!("its earlier result cannot be looked for: {}", failed.said);
            return Ok(Err(why));
        }
    }
    let spec = format!("+{name}:{name}");
    let fetch = ["fetch", "--no-tags", "--quiet", git.remote(), &spec];
    if let Err(failed) = git.run(&log("earlier-result"), &fetch).await {
        let why = format!("its earlier result cannot be fetched: {}", failed.said);
        return Ok(Err(why));
    }
    let read = read(asked, &name).await?;
    let whose = (
        asked.work.run_id.as_str(),
        asked.issue.id.as_str(),
        asked.work.base.as_str(),
    );
    let head = match checked(&read.provenance, &read.logs, whose) {
        Ok(head) => head,
        Err(why) => return Ok(Err(why)),
    };
    if let Some(head) = &head {
        let branch = format!("refs/heads/{}", asked.issue.branch);
        let spec = format!("+{branch}:{branch}");
        let fetch = ["fetch", "--no-tags", "--quiet", git.remote(), &spec];
        if let Err(failed) = git.run(&log("earlier-branch"), &fetch).await {
            let why = format!("its branch cannot be fetched: {}", failed.said);
            return Ok(Err(why));
        }
        let (root, branch) = (asked.repo_root.to_owned(), asked.issue.branch.clone());
        let base = asked.work.base.clone();
        let (tip, on_base) = crate::engine::git(&root, move |repo| {
            let tip = repo.branch_tip(&branch)?;
            let on_base = match &tip {
                Some(tip) => repo.descends_from(tip, &base)?,
                None => false,
            };
            Ok((tip, on_base))
        })
        .await?;
        if tip.as_deref() != Some(head.as_str()) {
            return Ok(Err(format!(
                "its branch on the remote is at {}, not at {head} as its earlier result says",
                tip.as_deref().unwrap_or("nothing")
            )));
        }
        if !on_base {
            return Ok(Err(format!(
                "its branch's head {head} does not descend from its base {}",
                asked.work.base
            )));
        }
    }
    Ok(put_back(asked, read).map(Some))
}

/// The earlier result's files.
struct Read {
    commit: String,
    record: Value,
    provenance: Value,
    summary: Value,
    logs: Vec<(String, Vec<u8>)>,
}

async fn read(asked: &Asked<'_>, name: &str) -> Result<Read, EngineError> {
    let name = name.to_owned();
    crate::engine::git(asked.repo_root, move |repo| {
        let mut read = Read {
            commit: repo.resolve_commit(&name)?,
            record: Value::Null,
            provenance: Value::Null,
            summary: Value::Null,
            logs: Vec::new(),
        };
        for file in repo.tree_files(&name)? {
            let bytes = repo.blob(&file.oid)?;
            let json = || serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            match file.path.as_str() {
                "record.json" => read.record = json(),
                "provenance.json" => read.provenance = json(),
                "summary.json" => read.summary = json(),
                path => {
                    if let Some(rel) = path.strip_prefix("logs/") {
                        read.logs.push((rel.to_owned(), bytes));
                    }
                }
            }
        }
        Ok(read)
    })
    .await
}

/// The head the earlier result names, when it is the result of `(run, issue, base)`, with
/// its branch pushed and its logs inside their directory; else why not.
fn checked(
    p: &Value,
    logs: &[(String, Vec<u8>)],
    (run_id, issue, base): (&str, &str, &str),
) -> Result<Option<String>, String> {
    let text = |k: &str| p[k].as_str().unwrap_or_default();
    if text("run_id") != run_id || text("issue") != issue || text("base") != base {
        return Err("its earlier result is not of this run and issue from this base".to_owned());
    }
    if let Some(held) = p["held"].as_str() {
        return Err(format!(
            "an earlier runner kept its branch back ({held}): it cannot be gone on from here"
        ));
    }
    if let Some((rel, _)) = (logs.iter()).find(|(rel, _)| !normal(Path::new(rel))) {
        return Err(format!(
            "its earlier result holds a log path outside its directory: {rel}"
        ));
    }
    Ok(p["head"].as_str().map(str::to_owned))
}

/// The earlier logs written to this runner's issue log directory, and the record with its
/// paths made this runner's; why not, when a log cannot be written or the record read.
fn put_back(asked: &Asked<'_>, read: Read) -> Result<Earlier, String> {
    let mut record: IssueState = serde_json::from_value(read.record)
        .map_err(|e| format!("its earlier result's record cannot be read: {e}"))?;
    for (rel, bytes) in &read.logs {
        let path = asked.issue_dir.join(rel);
        // This runner's own logs (its look for this very result) are kept.
        if path.exists() {
            continue;
        }
        (path.parent().map_or(Ok(()), std::fs::create_dir_all))
            .and_then(|()| std::fs::write(&path, bytes))
            .map_err(|e| format!("its earlier log {} cannot be written: {e}", path.display()))?;
    }
    let theirs = PathBuf::from(read.summary["log_dir"].as_str().unwrap_or_default());
    rebased(&mut record, &theirs, asked.issue_dir)?;
    Ok(Earlier {
        record,
        result: read.commit,
    })
}

/// Every path `record` names, in the earlier runner's issue log directory `theirs`, made
/// this runner's (`ours`); one elsewhere (a record is the remote's word) is refused.
fn rebased(record: &mut IssueState, theirs: &Path, ours: &Path) -> Result<(), String> {
    let here = |p: &mut PathBuf| match p.strip_prefix(theirs) {
        Ok(rel) if normal(rel) => {
            *p = ours.join(rel);
            Ok(())
        }
        _ => Err(format!(
            "its earlier record names {} outside its log directory",
            p.display()
        )),
    };
    for phase in &mut record.phases {
        here(&mut phase.log_dir)?;
    }
    for command in &mut record.commands {
        here(&mut command.log)?;
    }
    Ok(())
}

/// Whether `path` is relative and goes only down (no `..`, no root; empty is here).
fn normal(path: &Path) -> bool {
    let rel = path.to_string_lossy();
    rel.is_empty() || crate::util::fsutil::is_inside(&rel)
}

#[cfg(test)]
mod tests;
