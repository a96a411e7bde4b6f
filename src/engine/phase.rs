//! One phase: its directory, prompt and schema, the guard's shims, the agent (with retries),
//! then what it did — the commit range captured and pinned, the audit, the acceptance checks
//! — and its record.

use super::context::LoopContext;
use super::{git, logs, prompt, Engine, EngineError};
use crate::agent::{PhaseOutcome, PhaseRequest, Runner};
use crate::model::event::EngineEvent;
use crate::model::layout;
use crate::model::phase::{PhaseFailure, PhaseKind, Usage};
use crate::model::plan::Shard;
use crate::model::record::{GateRecord, PhaseRecord};
use crate::workspace::capture::{self, PhaseId};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What a phase did: the agent's outcome, the record kept, and the budget a retry of it did
/// not fit in, if one did not.
pub(super) struct Ran {
    pub outcome: PhaseOutcome,
    pub record: PhaseRecord,
    pub budget_stop: Option<crate::model::budget::BudgetStop>,
}

/// What one step of the loop asks the phase to do.
pub(super) struct StepInput<'s> {
    pub kind: PhaseKind,
    pub cycle: u32,
    /// The review a fix addresses.
    pub review: Option<&'s serde_json::Value>,
    /// The fix a review follows.
    pub prior_fix: Option<&'s serde_json::Value>,
    /// The latest acceptance results (a fix addresses the failed checks too).
    pub gate: Option<&'s GateRecord>,
    /// The shard a dev phase works on.
    pub shard: Option<&'s Shard>,
    /// Run every check of the task after this phase (else only the shard's own).
    pub full_gate: bool,
}

impl<R: Runner> Engine<'_, R> {
    pub(super) async fn phase(
        &self,
        ctx: &mut LoopContext<'_>,
        step: StepInput<'_>,
    ) -> Result<Ran, EngineError> {
        let StepInput {
            kind,
            cycle,
            review,
            prior_fix,
            gate,
            shard,
            full_gate,
        } = step;
        ctx.seq += 1;
        ctx.phase_since = ctx.flight.phase_started(&ctx.issue.id);
        let id = PhaseId {
            run_id: ctx.opts.run_id.clone(),
            milestone: ctx.plan.milestone.clone(),
            issue: ctx.issue.id.clone(),
            seq: ctx.seq,
            phase: kind.name().to_owned(),
        };
        let dir = ctx.issue_dir.join(id.dir_name());
        logs::create_dir(&dir)?;
        if let Some(shard) = shard {
            (self.reporter)(&EngineEvent::ShardStarted {
                id: ctx.issue.id.clone(),
                shard: shard.id.clone(),
                title: shard.title.clone(),
            });
        }
        (self.reporter)(&EngineEvent::PhaseStarted {
            id: ctx.issue.id.clone(),
            seq: ctx.seq,
            phase: kind,
            agent: self.phase_agent(ctx.issue, kind).to_owned(),
        });
        let phase_key = format!(
            "{}/{}",
            crate::model::naming::ref_component(&ctx.issue.id),
            id.dir_name()
        );
        let repo_map = self.repo_map(ctx).await;
        let task_context =
            crate::agent::handoff::task_context(&ctx.issue.spec, shard, gate, repo_map.as_deref());
        let (prompt, expected) = prompt::compose(
            &self.repo_root,
            self.config,
            &self.schemas,
            prompt::PromptInput {
                plan: ctx.plan,
                issue: ctx.issue,
                body: ctx.body,
                base: ctx.base,
                kind,
                cycle,
                review,
                prior_fix,
                task_context,
                phase_key,
                orch_submits: self.orch_submits(ctx.issue),
            },
        )?;
        logs::write_text(&dir.join(layout::PROMPT), &prompt)?;
        let schema_path = dir.join(layout::SCHEMA);
        logs::write_json(&schema_path, &*expected.schema)?;

        let start = git(&ctx.issue.worktree, |repo| Ok(capture::begin(repo)?)).await?;
        let confined = self.confine(ctx, kind, &dir)?;
        let request = self.request(
            ctx,
            kind,
            &dir,
            prompt,
            expected,
            schema_path,
            &start,
            &confined,
        )?;
        let tried = self.run_with_retries(ctx, &request).await;
        // Before anything runs git there again.
        let git_files = self.unconfine(confined, &dir)?;
        ctx.budget.release(tried.held);
        let (mut outcome, retried, budget_stop) = (tried.outcome, tried.earlier, tried.stop);

        let (branch, dir2, foreign) = (ctx.issue.branch.clone(), dir.clone(), foreign(ctx));
        let peers: Vec<PathBuf> = ctx
            .flight
            .others_since(&ctx.issue.id, ctx.phase_since)
            .into_iter()
            .map(|p| p.worktree)
            .collect();
        let range = git(&ctx.issue.worktree, move |repo| {
            Ok(capture::finish(
                repo,
                &branch,
                &start,
                id,
                &dir2,
                (&foreign, &peers),
            )?)
        })
        .await?;
        for b in range.stack.iter().filter(|b| b.created) {
            if !ctx.stack.contains(&b.name) {
                ctx.stack.push(b.name.clone());
            }
        }
        let mut violations = git_files;
        violations.extend(self.audit(ctx, &range, &dir).await?);
        let secrets = self.secrets(ctx, &range, &dir).await?;
        ctx.flight.phase_ended(&ctx.issue.id, &ctx.stack);
        let fails =
            !secrets.is_empty() || (!violations.is_empty() && self.config.audit_fails_phase());
        if fails && outcome.result.is_ok() {
            violations.extend(secrets);
            outcome.result = Err(PhaseFailure::GuardViolation {
                changes: violations,
            });
        }
        let acceptance = self
            .acceptance(ctx, kind, shard, full_gate, &dir, &mut outcome)
            .await?;
        match &outcome.result {
            Ok(value) => logs::write_json(&dir.join(layout::RESULT), value)?,
            Err(failure) => logs::write_json(&dir.join(layout::FAILURE), failure)?,
        }
        let usage = match (&outcome.session_id, outcome.usage) {
            // This phase's own (Claude Code reports each run's usage apart).
            (_, Some(now)) if outcome.usage_is_phase => now,
            (Some(session), Some(now)) => {
                let before = ctx
                    .sessions
                    .insert(session.clone(), now)
                    .unwrap_or_default();
                now.since(&before)
            }
            (None, Some(now)) => now,
            _ => Usage::default(),
        } + retried;
        let record = PhaseRecord {
            seq: ctx.seq,
            phase: kind,
            status: outcome
                .result
                .as_ref()
                .ok()
                .map(|v| super::step::status_of(v).to_owned()),
            failure: outcome.result.as_ref().err().cloned(),
            session_id: outcome.session_id.clone(),
            usage,
            commits: range.commits.len(),
            duration_ms: outcome.duration_ms,
            guard: crate::guard::log::counts(&dir.join(layout::GUARD_LOG)),
            superseded: false,
            shard: shard.map(|s| s.id.clone()),
            acceptance,
            log_dir: dir,
            // What the agent CLI says it cost, else what orch.toml's price says.
            cost_usd: outcome.cost_usd.or_else(|| ctx.budget.cost(&usage)),
            agent: Some(self.phase_agent(ctx.issue, kind).to_owned()).filter(|a| a != "agent"),
        };
        (self.reporter)(&EngineEvent::PhaseFinished {
            id: ctx.issue.id.clone(),
            record: record.clone(),
        });
        crate::util::failpoint::hit(&format!("after-{}", kind.name()));
        Ok(Ran {
            outcome,
            record,
            budget_stop,
        })
    }

    /// The request to the runner: the prompt, the guard's environment (its shims know the
    /// issue's stack and the branches that existed before the phase), the phase's limits and
    /// where its events go.
    #[allow(clippy::too_many_arguments)]
    fn request(
        &self,
        ctx: &LoopContext<'_>,
        kind: PhaseKind,
        dir: &Path,
        prompt: String,
        expected: crate::agent::contract::Expected,
        schema_path: PathBuf,
        start: &capture::PhaseStart,
        confined: &super::confine::Confined,
    ) -> Result<PhaseRequest, EngineError> {
        // A fix continues the dev session only on the same agent CLI; otherwise it starts
        // fresh (its prompt carries the review either way).
        let same_agent = self.phase_agent(ctx.issue, PhaseKind::Fix)
            == self.phase_agent(ctx.issue, PhaseKind::Dev);
        let resume = match kind {
            PhaseKind::Fix if self.config.codex.resume_fix.unwrap_or(true) && same_agent => {
                ctx.dev_session.clone()
            }
            _ => None,
        };
        let preexisting = start
            .refs
            .keys()
            .filter_map(|r| r.strip_prefix("refs/heads/"))
            .filter(|b| !ctx.stack.iter().any(|s| s == b))
            .map(str::to_owned)
            .collect();
        let env = crate::guard::shim::prepare(
            dir,
            crate::guard::shim::ShimContext {
                real_git: crate::util::process::find_real("git"),
                real_gt: crate::util::process::find_real("gt"),
                guard_log: confined.shim_log.clone(),
                repo_root: self.repo_root.clone(),
                worktree: ctx.issue.worktree.clone(),
                issue_branch: ctx.issue.branch.clone(),
                stack: ctx.stack.clone(),
                preexisting,
                foreign: foreign(ctx),
                bin_dir: PathBuf::new(),
                common_dir: Some(ctx.common_dir.to_owned()),
                secret_hold: crate::gates::approval::covering(
                    &ctx.opts.approvals,
                    crate::guard::secrets::GATE,
                    &ctx.issue.id,
                )
                .is_none()
                .then(|| crate::guard::shim::SecretHold {
                    base: ctx.base.to_owned(),
                    issue: ctx.issue.id.clone(),
                    allow: self
                        .config
                        .guard
                        .as_ref()
                        .map(|g| g.secret_allow.clone())
                        .unwrap_or_default(),
                }),
            },
        )
        .map_err(|source| {
            EngineError::Io(crate::util::fsutil::IoError {
                action: "write",
                path: dir.join(layout::SHIM_BIN),
                source,
            })
        })?;
        let (spawn_reporter, spawn_id, seq) =
            (self.reporter.clone(), ctx.issue.id.clone(), ctx.seq);
        let (reporter, issue_id) = (self.reporter.clone(), ctx.issue.id.clone());
        // The guard's refusals are said as they happen: at each action of the agent, what
        // the shim's log added since (a sandboxed agent's shim writes in its temp dir; the
        // lines join the phase's log after it).
        let guard_log = confined.shim_log.clone();
        let guard_read = std::sync::Mutex::new(0u64);
        Ok(PhaseRequest {
            env,
            kind,
            prompt,
            expect: Arc::new(expected),
            worktree: ctx.issue.worktree.clone(),
            confinement: confined.confinement.clone(),
            agent: crate::agent::choice::task_agent(ctx.issue, kind),
            schema_path,
            timeout: ctx.timeout,
            stall_timeout: self.config.stall_timeout(),
            unreachable_timeout: self.config.unreachable_timeout(),
            max_repeats: self.config.max_repeats(),
            resume,
            log_dir: dir.to_owned(),
            cancel: self.cancel.clone(),
            on_spawn: Some(Arc::new(
                move |agent: &crate::model::phase::AgentProcess| {
                    spawn_reporter(&EngineEvent::AgentStarted {
                        id: spawn_id.clone(),
                        seq,
                        agent: agent.clone(),
                    })
                },
            )),
            activity: Some(Arc::new(move |action: crate::agent::Action<'_>| {
                let mut read = guard_read.lock().unwrap_or_else(|p| p.into_inner());
                let (refused, next) = crate::guard::log::refusals_since(&guard_log, *read);
                *read = next;
                drop(read);
                for (command, rule) in refused {
                    reporter(&EngineEvent::GuardRefused {
                        id: issue_id.clone(),
                        command,
                        rule,
                    });
                }
                reporter(&EngineEvent::Activity {
                    id: issue_id.clone(),
                    phase: kind,
                    text: action.text.to_owned(),
                    done: action.done,
                    exit_code: action.exit_code,
                })
            })),
        })
    }

    /// The acceptance checks after a dev or fix phase that succeeded: the shard's own, or
    /// every check of the task (`full_gate`). Checks cut short by Ctrl-C say nothing: the
    /// phase is then interrupted and runs again on resume.
    async fn acceptance(
        &self,
        ctx: &LoopContext<'_>,
        kind: PhaseKind,
        shard: Option<&Shard>,
        full_gate: bool,
        dir: &Path,
        outcome: &mut PhaseOutcome,
    ) -> Result<Option<GateRecord>, EngineError> {
        let checks: Vec<crate::model::check::Check> = match (kind, &outcome.result) {
            (PhaseKind::Review, _) | (_, Err(_)) => Vec::new(),
            _ if full_gate => ctx.issue.spec.all_checks(),
            _ => shard.map(|s| s.acceptance.clone()).unwrap_or_default(),
        };
        let checked = |outcomes: &[crate::model::check::CheckOutcome]| {
            (self.reporter)(&EngineEvent::AcceptanceChecked {
                id: ctx.issue.id.clone(),
                seq: ctx.seq,
                phase: kind,
                shard: shard.map(|s| s.id.clone()),
                outcomes: outcomes.to_vec(),
            })
        };
        if checks.is_empty() {
            if shard.is_some() && outcome.result.is_ok() {
                // A shard with no checks of its own is done when its phase is: the event log
                // still says so (`shard_completed`).
                checked(&[]);
            }
            return Ok(None);
        }
        let outcomes = crate::gates::acceptance::evaluate(
            &checks,
            &ctx.issue.spec.workdir(&ctx.issue.worktree),
            &ctx.issue.spec.paths,
            &dir.join(layout::ACCEPTANCE_LOGS),
            ctx.timeout,
            self.cancel.clone(),
        )
        .await;
        logs::write_json(&dir.join(layout::ACCEPTANCE), &outcomes)?;
        if self.cancelled() {
            outcome.result = Err(PhaseFailure::Interrupted);
            return Ok(None);
        }
        checked(&outcomes);
        Ok(Some(GateRecord {
            full: full_gate,
            passed: outcomes.iter().filter(|o| o.passed).count(),
            failed: outcomes
                .iter()
                .filter(|o| !o.passed)
                .map(|o| format!("{} — {}", o.check, o.detail))
                .collect(),
        }))
    }

    /// The repository map of the worktree's HEAD for a phase prompt, the task's preferred
    /// paths first (built once per tree, then read from the cache under the git dir). A map
    /// that cannot be built is left out, with a warning: it is a help, not a precondition.
    async fn repo_map(&self, ctx: &LoopContext<'_>) -> Option<String> {
        let budget = self.config.repo_map_bytes();
        if budget == 0 {
            return None;
        }
        let (common, hints) = (ctx.common_dir.to_owned(), ctx.issue.spec.paths.clone());
        let built = git(&ctx.issue.worktree, move |repo| {
            let Some(head) = repo.head()?.oid else {
                return Ok(Err("the worktree has no commit".to_owned()));
            };
            Ok(
                crate::agent::repomap::for_prompt(repo, &common, &head, &hints, budget)
                    .map_err(|e| e.to_string()),
            )
        })
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
        built
            .inspect_err(|e| tracing::warn!("no repository map for {}: {e}", ctx.issue.id))
            .ok()
    }
}

/// The branches of the run's other issues (each one's branch, and those its phases made):
/// never part of this issue's stack, even where one starts from the same commit.
fn foreign(ctx: &LoopContext<'_>) -> Vec<String> {
    let mut out: Vec<String> = ctx
        .plan
        .issues
        .iter()
        .filter(|i| i.id != ctx.issue.id)
        .map(|i| i.branch.clone())
        .chain(ctx.flight.branches_of_others(&ctx.issue.id))
        .collect();
    out.sort();
    out.dedup();
    out
}
