//! What `orch run` (or a resume) asks for: the milestone or plan file, the selection, the
//! flags, and the budget flags. Read by the launch and by the dry run alike.

use crate::model::naming::Scope;
use crate::model::request::RunRequest;
use std::path::PathBuf;

/// `--budget-tokens` and friends on `orch run` and `orch resume`: the run's budget, replacing
/// orch.toml's (and, on a resume, the one the run recorded).
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct BudgetFlags {
    /// Tokens (input + output) the whole run may spend.
    #[arg(long, value_name = "N")]
    pub budget_tokens: Option<u64>,
    /// Dollars the whole run may spend (priced with orch.toml's `[pricing]`).
    #[arg(long, value_name = "USD")]
    pub budget_usd: Option<f64>,
    /// Tokens one issue may spend.
    #[arg(long, value_name = "N")]
    pub issue_budget_tokens: Option<u64>,
    /// Dollars one issue may spend.
    #[arg(long, value_name = "USD")]
    pub issue_budget_usd: Option<f64>,
}

impl BudgetFlags {
    /// `base` with the limits these flags give replaced.
    pub(super) fn apply(&self, base: crate::model::budget::Limits) -> crate::model::budget::Limits {
        crate::model::budget::Limits {
            run_tokens: self.budget_tokens.or(base.run_tokens),
            run_usd: self.budget_usd.or(base.run_usd),
            issue_tokens: self.issue_budget_tokens.or(base.issue_tokens),
            issue_usd: self.issue_budget_usd.or(base.issue_usd),
            reserve_tokens: base.reserve_tokens,
        }
    }
}

/// What to run, and how: `orch run`'s arguments, or a recorded run's for a resume. What the
/// run's state keeps of it is [`RunRequest`]; the rest is this invocation's.
pub(super) struct Launch {
    pub milestone: Option<String>,
    pub project: Option<String>,
    /// The exact milestone, when a resume continues a recorded run.
    pub scope: Option<Scope>,
    /// `--file [PLAN]`.
    pub file: Option<Option<PathBuf>>,
    /// What the run is asked for (its plan file is resolved by `prepare`).
    pub request: RunRequest,
    pub base: Option<String>,
    pub docs: Option<PathBuf>,
    pub dry_run: bool,
    pub force_unlock: bool,
    /// `--jobs`: issues in flight at once (else orch.toml's `jobs`).
    pub jobs: Option<usize>,
    pub budget: BudgetFlags,
    /// `--fresh`: every issue from scratch, earlier branches set aside.
    pub fresh: bool,
    /// `orch watch`: watches that ended capped or blocked start again.
    pub rewatch: bool,
    /// `orch run --retry ID`: these issues and their dependents from scratch, in a new run.
    pub again: Vec<String>,
    /// `--on github` (true) or `--on local` (false); `None`: `[executor] on` decides.
    pub on_github: Option<bool>,
}
