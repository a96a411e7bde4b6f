//! One phase's prompt, and what its result must be. The prompt opens with the `ORCH_CONTEXT`
//! block; its template gets the same values as placeholders (camelCase, as the contract names
//! them), the older snake_case inputs, orch's rules for this repository (committing,
//! submitting, the review doc), and `$ARGUMENTS` (the block plus the issue) for prompt files
//! written for it. Paths of docs are inside the issue's worktree: the docs as committed on
//! the branch the agent works on.

use crate::agent::contract::context::PhaseContext;
use crate::agent::contract::schema::Schemas;
use crate::agent::contract::Expected;
use crate::agent::prompts::PromptError;
use crate::input::config::Config;
use crate::model::phase::PhaseKind;
use crate::model::plan::{Plan, PlannedIssue};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What one phase of one issue is, for its prompt.
pub(super) struct PromptInput<'a> {
    pub plan: &'a Plan,
    pub issue: &'a PlannedIssue,
    pub body: &'a str,
    pub base: &'a str,
    pub kind: PhaseKind,
    /// 1-based review cycle.
    pub cycle: u32,
    /// The review a fix addresses.
    pub review: Option<&'a Value>,
    /// The fix a review follows.
    pub prior_fix: Option<&'a Value>,
    /// What the pull request's forge asks a fix for (failed checks, review threads).
    pub forge: Option<&'a crate::model::forge::Feedback>,
    pub task_context: String,
    /// `<issue>/<NN-phase>`, on a line of its own in every prompt.
    pub phase_key: String,
    /// orch submits the issue's drafts itself (its agents cannot: sandboxed, no network).
    pub orch_submits: bool,
}

/// The prompt, and the result it asks for.
pub(super) fn compose(
    repo_root: &Path,
    config: &Config,
    schemas: &Schemas,
    input: PromptInput<'_>,
) -> Result<(String, Expected), PromptError> {
    let (context, milestone_doc) = phase_context(repo_root, &input);
    let block = context.block();
    let inputs = placeholders(config, &input, &context, milestone_doc, &block);
    let (issue, kind, phase_key) = (input.issue, input.kind, &input.phase_key);
    let rendered = crate::agent::prompts::render_tracked(repo_root, kind.prompt(), &inputs)?;
    let mut text = rendered.text;
    text.push_str(&left_out(kind, &inputs, &rendered.used));
    // The ORCH_CONTEXT block opens the prompt, once: a prompt file that places it itself
    // (through `$ARGUMENTS`) gets no second copy.
    let mut prompt = if text.contains(&block) {
        text
    } else {
        format!("{block}\n{text}")
    };
    // orch finds its phase by this line (and so do the test agents): every prompt has it.
    if !prompt.contains(&format!("orch-phase-key: {phase_key}")) {
        prompt.push_str(&format!("\n\norch-phase-key: {phase_key}\n"));
    }
    let plan = input.plan;
    let schema = match input.forge {
        Some(_) => schemas.forge_fix(),
        None => Arc::clone(&schemas.of(kind).value),
    };
    let expected = Expected {
        schema,
        phase: kind,
        issue_id: issue.id.clone(),
        milestone_id: plan.milestone.clone(),
        branch: issue.branch.clone(),
        worktree_path: context.worktree_path,
    };
    Ok((prompt, expected))
}

/// The `ORCH_CONTEXT` of the phase (the issue's and milestone's docs as in its worktree),
/// and the milestone doc's path there.
fn phase_context(repo_root: &Path, input: &PromptInput<'_>) -> (PhaseContext, Option<PathBuf>) {
    let (plan, issue) = (input.plan, input.issue);
    let worktree = &issue.worktree;
    let issue_doc = in_worktree(repo_root, worktree, &issue.path);
    let milestone_doc =
        (plan.milestone_doc.as_ref()).map(|d| in_worktree(repo_root, worktree, &d.path));
    let context = PhaseContext {
        issue_id: issue.id.clone(),
        issue_doc_path: issue_doc.display().to_string(),
        milestone_id: plan.milestone.clone(),
        milestone_doc_path: (milestone_doc.as_ref())
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        branch_name: issue.branch.clone(),
        worktree_path: worktree.display().to_string(),
        max_review_cycles: plan.max_review_cycles,
        review_cycle: input.cycle,
        project_id: plan.project.clone().unwrap_or_default(),
        phase: input.kind.name().to_owned(),
        prior_fix_summary: input.prior_fix.map(|f| {
            let summary = f.get("summary").and_then(Value::as_str);
            summary.unwrap_or_default().to_owned()
        }),
        review_result: input.review.cloned(),
        ci_failures: input.forge.map(|f| f.ci_failures.clone()),
        review_comments: input.forge.map(|f| f.review_comments.clone()),
    };
    (context, milestone_doc)
}

/// What the prompt template's placeholders are filled with: the contract's values
/// (camelCase), the older snake_case inputs, orch's rules, and `$ARGUMENTS`.
fn placeholders<'a>(
    config: &Config,
    input: &PromptInput<'_>,
    context: &PhaseContext,
    milestone_doc: Option<PathBuf>,
    block: &str,
) -> BTreeMap<&'a str, String> {
    let (plan, issue, body, cycle) = (input.plan, input.issue, input.body, input.cycle);
    let mut inputs: BTreeMap<&str, String> = context.placeholders();
    inputs.insert("issue_id", issue.id.clone());
    inputs.insert("issue_title", issue.title.clone());
    inputs.insert("issue_path", context.issue_doc_path.clone());
    inputs.insert("issue_body", body.trim().to_owned());
    inputs.insert("milestone", plan.scope().to_string());
    inputs.insert(
        "milestone_doc",
        milestone_doc.map_or_else(|| "(none)".to_owned(), |p| p.display().to_string()),
    );
    inputs.insert("branch", issue.branch.clone());
    inputs.insert("worktree", context.worktree_path.clone());
    inputs.insert("base_commit", input.base.to_owned());
    inputs.insert("phase_key", input.phase_key.clone());
    inputs.insert("cycle", cycle.to_string());
    inputs.insert("task_context", input.task_context.clone());
    let mut submit = submit_rules(config, input.orch_submits);
    if let Some(feedback) = input.forge {
        submit = format!("{}\n\n{submit}", forge_rules(feedback));
    }
    inputs.insert("submit_rules", submit);
    inputs.insert(
        "review_doc_rules",
        review_doc_rules(config, plan, issue, cycle),
    );
    if let Some(review) = input.review {
        let pretty = serde_json::to_string_pretty(review).unwrap_or_default();
        inputs.insert("review_result", pretty);
    }
    let arguments = format!(
        "{block}\n# Issue {}: {}\n\n{}\n",
        issue.id,
        issue.title,
        body.trim()
    );
    inputs.insert(crate::agent::prompts::ARGUMENTS, arguments);
    inputs
}

/// `doc` (as shown, relative to where orch runs, or absolute) inside the worktree: the same
/// file as committed on the issue's branch. The main checkout's file when the worktree does
/// not have it (a doc that is not committed).
pub(super) fn in_worktree(repo_root: &Path, worktree: &Path, doc: &Path) -> PathBuf {
    let main = std::fs::canonicalize(doc).unwrap_or_else(|_| repo_root.join(doc));
    let root = std::fs::canonicalize(repo_root).unwrap_or_else(|_| repo_root.to_owned());
    match main.strip_prefix(&root) {
        Ok(rel) if worktree.join(rel).exists() => worktree.join(rel),
        _ => main,
    }
}

/// What orch's own prompt of a phase of `kind` carries and a prompt file of the user's own
/// leaves out (the repository map and the task's hints, the submit rules, the review doc's
/// rules), after its text under its own heading; empty when it leaves nothing out.
fn left_out(
    kind: PhaseKind,
    inputs: &BTreeMap<&str, String>,
    used: &std::collections::BTreeSet<String>,
) -> String {
    let rules = match kind {
        PhaseKind::Review => ("review_doc_rules", "The review doc"),
        PhaseKind::Dev | PhaseKind::Fix => ("submit_rules", "Pull requests"),
    };
    let parts: Vec<String> = [("task_context", "The repository and the task"), rules]
        .into_iter()
        .filter(|(name, _)| !used.contains(*name))
        .filter_map(|(name, heading)| {
            let value = inputs.get(name)?.trim();
            (!value.is_empty()).then(|| format!("### {heading}\n\n{value}"))
        })
        .collect();
    if parts.is_empty() {
        return String::new();
    }
    format!(
        "\n\n## Added by orch\n\nWhat orch tells every {} phase that this prompt does not ask for:\n\n{}\n",
        kind.name(),
        parts.join("\n\n")
    )
}

/// What a fix the pull request's forge started is for, and how it answers threads.
fn forge_rules(feedback: &crate::model::forge::Feedback) -> String {
    let mut text = format!(
        "This fix answers the issue's pull request: {}. `ciFailures` in ORCH_CONTEXT has each \
         failed check with an excerpt of its log; `reviewComments` has each open review thread \
         as its people wrote it. Commit each fix titled for the issue; orch pushes the branch.",
        feedback
            .headline()
            .trim_start_matches("On the pull request: ")
    );
    if !feedback.review_comments.is_empty() {
        text.push_str(
            " In `threads`, give every thread of `reviewComments` once: `addressed` with the \
             commit that addresses it, or `declined` with the reason (orch replies in the thread \
             with it).",
        );
    } else {
        text.push_str(" `threads` is `[]`.");
    }
    text
}

/// Whether, and how, the agent submits pull requests (`[submit]`, `[graphite] submit`).
fn submit_rules(config: &Config, orch_submits: bool) -> String {
    if orch_submits {
        let why = if config.submits_via_github() {
            "orch pushes the branch and opens its pull request"
        } else {
            "your commands have no network"
        };
        format!(
            "Do not submit pull requests yourself ({why}): once the review passes, orch submits \
             this issue's stack as draft pull requests. Leave `draftPrs` empty."
        )
    } else if config.submits_drafts() {
        "When the work is committed and verified, submit the stack as draft pull requests with \
         `gt ss --draft` (`gt ss -u` updates the pull requests that exist), and list their URLs \
         in `draftPrs`."
            .to_owned()
    } else {
        "Do not submit pull requests in this repository: leave `draftPrs` empty.".to_owned()
    }
}

/// Whether the review writes its entry to the milestone's review doc (`[review] doc`).
fn review_doc_rules(config: &Config, plan: &Plan, issue: &PlannedIssue, cycle: u32) -> String {
    if !config.review_doc() {
        return "Write no review doc: `reviewDocPath` is `\"\"`.".to_owned();
    }
    let dir = match &plan.project {
        Some(p) => format!("docs/projects/{p}/reviews"),
        None => "docs/reviews".to_owned(),
    };
    let doc = issue
        .worktree
        .join(dir)
        .join(format!("REVIEW-{}.md", plan.milestone));
    format!(
        "Append an entry for this review to `{}` (create the file if it is missing): the \
         issue, review cycle {cycle}, your verdict, and each finding with its evidence. Commit \
         only that file, titled `[{}] docs(review): review cycle {cycle}`, and give its path in \
         `reviewDocPath`.",
        doc.display(),
        issue.id
    )
}
