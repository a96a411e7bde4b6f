//! Draft pull requests through the GitHub API (`[submit] via = "github"`): after an issue
//! converged (and its clean-room verification passed), orch pushes the issue's branch — that
//! branch only, never forced, through the guard's own push rules — to the forge's remote, and
//! opens its draft based on the branch it stacks on (its blocker's, else the run's base). A
//! second run finds the draft already open and only pushes. The forge is connected once per
//! run, at the first submit; when it cannot be, the run says why once and submits nothing.

use super::context::RunScope;
use super::host::Host;
use super::{git, EngineError};
use crate::forge::pulls::{NewPull, Pull};
use crate::forge::{Forge, ForgeError};
use crate::git::{CommitInfo, DiffStat};
use crate::guard::{Decision, StackContext};
use crate::model::event::EngineEvent;
use crate::model::plan::PlannedIssue;
use crate::model::record::{CommandRecord, IssueSummary, Outcome, PullRecord, Verification};
use std::path::Path;

/// Where the converged issue is, and what its phases said.
pub(super) struct Converged<'a> {
    pub worktree: &'a Path,
    /// The commit its branch starts from.
    pub base: &'a str,
    /// The branch it stacks on: its PR's base.
    pub parent: &'a str,
    pub stack: &'a [String],
    pub issue_dir: &'a Path,
    /// Each dev and fix phase's name and summary, in order.
    pub notes: &'a [(String, String)],
}

/// The run's forge, connected at the first call; `None` (said once) when it cannot be.
pub(super) async fn forge<'r>(host: Host<'_>, run: &'r RunScope<'_>) -> Option<&'r Forge> {
    connected(host, run).await.as_ref().ok()
}

/// The same, or why it cannot be connected.
pub(super) async fn connected<'r>(
    host: Host<'_>,
    run: &'r RunScope<'_>,
) -> &'r Result<Forge, String> {
    let connect = || async {
        let config = host.config.forge();
        let remote = config.remote().to_owned();
        let url = git(host.repo_root, move |repo| Ok(repo.remote_url(&remote)))
            .await
            .ok()
            .flatten();
        match Forge::connect(config, url.as_deref(), host.cancel()).await {
            Ok(forge) => Ok(forge),
            Err(e) => {
                host.emit(&EngineEvent::ForgeNote {
                    id: None,
                    message: format!("no draft pull requests in this run: {e}"),
                });
                Err(e.to_string())
            }
        }
    };
    run.forge.get_or_init(connect).await
}

/// A converged issue of a run that opens no drafts and was not told not to: once per run,
/// when the repository's remote names a GitHub repository, the run says how drafts would be
/// opened (or how to say no).
pub(super) async fn say_unsubmitted(host: Host<'_>, run: &RunScope<'_>) {
    use crate::input::config::{Submit, SubmitVia};
    let config = host.config;
    let declined = config.submit.via == Some(SubmitVia::Never)
        || config.graphite.submit == Some(Submit::Never);
    if config.submit_via().is_some() || declined {
        return;
    }
    let say = || async {
        let remote = config.forge().remote().to_owned();
        let url = git(host.repo_root, move |repo| Ok(repo.remote_url(&remote)))
            .await
            .ok()
            .flatten();
        let Some(repo) = url
            .as_deref()
            .and_then(crate::forge::remote::RepoId::from_remote_url)
        else {
            return;
        };
        host.emit(&EngineEvent::ForgeNote {
            id: None,
            message: format!(
                "no draft pull requests: no forge is configured for {} on {}; add `[forge]` to \
                 orch.toml (the token from GITHUB_TOKEN, GH_TOKEN or `gh auth token`), or \
                 `[submit] via = \"never\"` to say no",
                repo.slug(),
                repo.host
            ),
        });
    };
    run.unsubmitted.get_or_init(say).await;
}

/// Pushes the issue's branch and opens (or finds) its draft; a failure fails the issue with
/// what to do.
pub(super) async fn submit(
    host: Host<'_>,
    run: &RunScope<'_>,
    summary: &mut IssueSummary,
    issue: &PlannedIssue,
    at: Converged<'_>,
) -> Result<(), EngineError> {
    let Some(forge) = forge(host, run).await else {
        return Ok(());
    };
    let (base, worktree, branch) = (
        at.base.to_owned(),
        at.worktree.to_owned(),
        issue.branch.clone(),
    );
    let (tip, commits, stat) = git(&worktree, move |repo| {
        // What is pushed: the issue's branch (its worktree's HEAD, when it has one).
        let tip = repo.branch_tip(&branch)?.unwrap_or_default();
        let commits = repo.commits_between(&base, &tip)?;
        let stat = repo.diff_stat(&base, &tip)?;
        Ok((tip, commits, stat))
    })
    .await?;
    if let Err(reason) = push(host, issue, &at, summary).await {
        summary.outcome = Outcome::Failed;
        summary.reason = Some(reason);
        return Ok(());
    }
    let waited = forge.client.waits().len();
    let new = || NewPull {
        title: title(issue, &commits),
        head: issue.branch.clone(),
        base: at.parent.to_owned(),
        // What goes to the forge is redacted as every file orch writes is.
        body: crate::util::redact::redact(&body(
            issue,
            &run.opts.run_id,
            &at,
            summary.verified.as_ref(),
            &stat,
        )),
    };
    let opened = open_or_find(forge, &issue.branch, new).await;
    say_waits(host, forge, waited, Some(&issue.id));
    let (pull, created) = match opened {
        Ok(opened) => opened,
        Err(e) => {
            not_opened(summary, issue, &at, e);
            return Ok(());
        }
    };
    let record = PullRecord {
        number: pull.number,
        url: pull.url.clone(),
        base: pull.base,
        head: pull.head,
        pushed: tip,
        restacking: None,
    };
    host.emit(&EngineEvent::PullRequest {
        id: issue.id.clone(),
        pull: record.clone(),
        created,
    });
    if !summary.draft_prs.contains(&record.url) {
        summary.draft_prs.push(record.url.clone());
    }
    summary.pull = Some(Box::new(record));
    Ok(())
}

/// The draft open for `branch`, else a new one (`true`).
async fn open_or_find(
    forge: &Forge,
    branch: &str,
    new: impl FnOnce() -> NewPull,
) -> Result<(Pull, bool), ForgeError> {
    if let Some(open) = forge.open_pull_for(branch).await? {
        return Ok((open, false));
    }
    Ok((forge.create_draft(&new()).await?, true))
}

/// Says each rate-limit wait since the `since`-th.
pub(super) fn say_waits(host: Host<'_>, forge: &Forge, since: usize, id: Option<&str>) {
    for wait in forge.client.waits().iter().skip(since) {
        host.emit(&EngineEvent::ForgeNote {
            id: id.map(str::to_owned),
            message: format!(
                "waited {} s for GitHub's rate limit ({})",
                wait.waited.as_secs(),
                wait.request
            ),
        });
    }
}

/// The issue fails for its draft not opened, recorded as a failed step so that `orch resume
/// --retry` takes it up from there (the phases stand: the issue converged).
fn not_opened(summary: &mut IssueSummary, issue: &PlannedIssue, at: &Converged<'_>, e: ForgeError) {
    let log = crate::model::layout::command_log(at.issue_dir, "pull-request");
    let _ = (log.parent()).map(std::fs::create_dir_all);
    let _ = std::fs::write(&log, format!("{e}\n"));
    summary.commands.push(CommandRecord {
        name: "pull-request".to_owned(),
        command: format!("open the draft of {} into {}", issue.branch, at.parent),
        status: Some(1),
        log,
        duration_ms: 0,
        approved_by: None,
    });
    summary.outcome = Outcome::Failed;
    summary.reason = Some(format!(
        "pushed `{}`, but its draft pull request was not opened: {e}; `orch resume --retry {}` tries again",
        issue.branch, issue.id
    ));
}

/// `git push <remote> refs/heads/B:refs/heads/B` of the issue's branch, decided by the guard
/// as an agent's push would be, run outside the sandbox and recorded as the `push` command;
/// `Err` says why it failed and how out.
pub(super) async fn push(
    host: Host<'_>,
    issue: &PlannedIssue,
    at: &Converged<'_>,
    summary: &mut IssueSummary,
) -> Result<(), String> {
    let forge = host.config.forge();
    let remote = forge.remote();
    let refspec = format!("refs/heads/{0}:refs/heads/{0}", issue.branch);
    let argv: Vec<String> = ["push", remote, &refspec].map(str::to_owned).to_vec();
    let ctx = StackContext {
        issue_branch: issue.branch.clone(),
        stack: at.stack.to_vec(),
        current_branch: Some(issue.branch.clone()),
        children: Default::default(),
        worktree: Some(at.worktree.to_owned()),
    };
    let guard = host.config.guard.clone().unwrap_or_default();
    if let Decision::Deny { reason, .. } = crate::guard::git::decide_git(&argv, &ctx, &guard) {
        return Err(format!("the guard refused orch's own push: {reason}"));
    }
    let timeout = host.task_timeout(issue);
    let how = super::push::Push {
        dir: at.worktree,
        timeout,
        lease: None,
    };
    let Err(failed) = super::push::push(host, how, summary).await else {
        return Ok(());
    };
    let said = failed.said;
    let hint = if said.contains("[rejected]") {
        format!(
            "`{remote}/{}` has commits the issue's branch lacks; orch never force-pushes: \
             look at both, then `orch resume --retry {}`",
            issue.branch, issue.id
        )
    } else {
        format!(
            "check that `git push {remote}` works here, then `orch resume --retry {}`",
            issue.id
        )
    };
    Err(format!(
        "not submitted: `git push` of `{}` failed ({}: {said}); {hint}",
        issue.branch, failed.how
    ))
}

/// `[ID] type(scope): summary`: the first of its commits titled for the issue, else the
/// issue's own title.
fn title(issue: &PlannedIssue, commits: &[CommitInfo]) -> String {
    let tag = format!("[{}]", issue.id);
    (commits.iter())
        .map(|c| c.summary.trim())
        .find(|s| s.starts_with(&tag) && s.len() > tag.len() + 1)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{tag} {}", issue.title.trim()))
}

/// The draft's description: what the phases said they did, the clean-room verification, the
/// diffstat, and a marker naming the issue and run.
fn body(
    issue: &PlannedIssue,
    run_id: &str,
    at: &Converged<'_>,
    verified: Option<&Verification>,
    stat: &DiffStat,
) -> String {
    let mut out = format!(
        "<!-- orch: issue {} · run {run_id} -->\n**{}**: {} (`{}`)\n",
        issue.id,
        issue.id,
        issue.title.trim(),
        issue.path.display()
    );
    if !at.notes.is_empty() {
        out.push_str("\n### What changed\n");
        for (phase, note) in at.notes {
            out.push_str(&format!("- **{phase}**: {}\n", one_line(note)));
        }
    }
    out.push_str("\n### Verification\n");
    match verified {
        None => out.push_str("No clean-room checks ran (`[verify]` has none).\n"),
        Some(v) => {
            let short = crate::model::naming::short_oid(&v.commit);
            out.push_str(&format!("In a clean checkout of `{short}`:\n"));
            if let Some(error) = &v.error {
                out.push_str(&format!("- could not be made: {}\n", one_line(error)));
            }
            for check in &v.checks {
                let mark = if check.passed { "pass" } else { "FAIL" };
                out.push_str(&format!("- {mark}: {}\n", one_line(&check.check)));
            }
        }
    }
    out.push_str(&format!(
        "\n### Diffstat\n{} file(s) changed, +{} −{}\n",
        stat.files_changed, stat.insertions, stat.deletions
    ));
    const LISTED: usize = 30;
    for file in stat.files.iter().take(LISTED) {
        out.push_str(&format!(
            "- `{}` (+{} −{})\n",
            file.path, file.additions, file.deletions
        ));
    }
    if stat.files.len() > LISTED {
        out.push_str(&format!("- … and {} more\n", stat.files.len() - LISTED));
    }
    out.push_str(&format!(
        "\nStacked on `{}`. Opened by orch as a draft.\n",
        at.parent
    ));
    out
}

fn one_line(text: &str) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue() -> PlannedIssue {
        let mut issue = PlannedIssue::for_test("A-1", &[]);
        issue.title = "Ledger API".to_owned();
        issue
    }

    #[test]
    fn the_title_is_the_first_commit_titled_for_the_issue() {
        let commit = |s: &str| CommitInfo {
            oid: "0".into(),
            summary: s.into(),
        };
        let commits = [commit("wip"), commit("[A-1] feat(api): ledger endpoints")];
        assert_eq!(
            title(&issue(), &commits),
            "[A-1] feat(api): ledger endpoints"
        );
        assert_eq!(title(&issue(), &[commit("[A-1]")]), "[A-1] Ledger API");
        assert_eq!(title(&issue(), &[]), "[A-1] Ledger API");
    }

    #[test]
    fn the_body_says_what_changed_how_it_was_verified_and_where_it_stacks() {
        let notes = [("dev".to_owned(), "Added\nthe endpoints".to_owned())];
        let at = Converged {
            worktree: Path::new("/wt"),
            base: "b",
            parent: "orch/M1/A-0",
            stack: &[],
            issue_dir: Path::new("/logs"),
            notes: &notes,
        };
        let verified = Verification {
            commit: "0123456789abcdef".into(),
            checks: vec![crate::model::check::CheckOutcome {
                check: "Tests pass: cargo test".into(),
                label: "Tests pass".into(),
                passed: true,
                detail: String::new(),
                log: None,
            }],
            error: None,
        };
        let stat = DiffStat {
            files_changed: 1,
            insertions: 3,
            deletions: 1,
            files: vec![],
        };
        let text = body(&issue(), "run-1", &at, Some(&verified), &stat);
        for want in [
            "<!-- orch: issue A-1 · run run-1 -->",
            "- **dev**: Added the endpoints",
            "- pass: Tests pass: cargo test",
            "1 file(s) changed, +3 −1",
            "Stacked on `orch/M1/A-0`",
        ] {
            assert!(text.contains(want), "{want} in:\n{text}");
        }
    }
}
