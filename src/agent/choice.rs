//! The agent CLI of each phase (`[agents]` in orch.toml, `--agent review=claude` on a run, a
//! plan task's own `agents:` on the request): one [`Runner`] that hands each phase to codex or
//! claude. (The engine resumes a fix in the dev session only when both run on one CLI.)

use super::claude::ClaudeRunner;
use super::codex::CodexRunner;
use super::{PhaseKind, PhaseOutcome, PhaseRequest, Runner};
use crate::input::config::{AgentKind, AgentsConfig};

/// Which CLI runs each phase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Agents {
    pub dev: AgentKind,
    pub review: AgentKind,
    pub fix: AgentKind,
}

impl Agents {
    /// orch.toml's choice, then `overrides` (`phase=agent`, from the command line).
    pub fn choose(config: &AgentsConfig, overrides: &[String]) -> Result<Agents, String> {
        let mut agents = Agents {
            dev: config.dev.unwrap_or_default(),
            review: config.review.unwrap_or_default(),
            fix: config.fix.unwrap_or_default(),
        };
        for o in overrides {
            let (phase, agent) = o
                .split_once('=')
                .ok_or_else(|| format!("`--agent {o}` is not PHASE=AGENT (like review=claude)"))?;
            let kind = AgentKind::parse(agent.trim())
                .ok_or_else(|| format!("`--agent {o}`: no agent `{agent}` (codex or claude)"))?;
            match phase.trim() {
                "dev" => agents.dev = kind,
                "review" => agents.review = kind,
                "fix" => agents.fix = kind,
                "all" => {
                    agents = Agents {
                        dev: kind,
                        review: kind,
                        fix: kind,
                    }
                }
                other => {
                    return Err(format!(
                        "`--agent {o}`: no phase `{other}` (dev, review, fix or all)"
                    ))
                }
            }
        }
        Ok(agents)
    }

    pub fn of(&self, kind: PhaseKind) -> AgentKind {
        match kind {
            PhaseKind::Dev => self.dev,
            PhaseKind::Review => self.review,
            PhaseKind::Fix => self.fix,
        }
    }

    pub fn uses(&self, agent: AgentKind) -> bool {
        [self.dev, self.review, self.fix].contains(&agent)
    }

    /// `dev=codex review=claude fix=codex`, for the summary and the dry run.
    pub fn describe(&self) -> String {
        format!(
            "dev={} review={} fix={}",
            self.dev.name(),
            self.review.name(),
            self.fix.name()
        )
    }
}

/// The agent a plan task chooses for its phases of `kind` (its `agents:`), if it chooses.
pub fn task_agent(issue: &crate::model::plan::PlannedIssue, kind: PhaseKind) -> Option<AgentKind> {
    issue.spec.agent_for(kind.name()).and_then(AgentKind::parse)
}

/// The agent CLI that runs `issue`'s phases of `kind`: the task's own choice, else the run's
/// (`run`; `None` for an in-process runner).
pub fn phase_agent(
    issue: &crate::model::plan::PlannedIssue,
    kind: PhaseKind,
    run: Option<AgentKind>,
) -> Option<AgentKind> {
    task_agent(issue, kind).or(run)
}

/// The agents that write an issue's commits (its dev and fix phases'; an in-process runner
/// counts as codex): whether orch submits its drafts depends on them.
pub fn writers(
    issue: &crate::model::plan::PlannedIssue,
    run: impl Fn(PhaseKind) -> Option<AgentKind>,
) -> [AgentKind; 2] {
    [PhaseKind::Dev, PhaseKind::Fix].map(|k| phase_agent(issue, k, run(k)).unwrap_or_default())
}

/// Whether some plan task of `plan` chooses `agent` for some of its phases.
pub fn chosen_by_tasks(plan: &crate::model::plan::Plan, agent: AgentKind) -> bool {
    plan.issues.iter().any(|i| {
        [PhaseKind::Dev, PhaseKind::Review, PhaseKind::Fix]
            .iter()
            .any(|k| task_agent(i, *k) == Some(agent))
    })
}

/// Hands each phase to the runner its agent names.
#[derive(Debug, Clone)]
pub struct AnyRunner {
    pub codex: CodexRunner,
    pub claude: ClaudeRunner,
    pub agents: Agents,
}

impl Runner for AnyRunner {
    fn agent(&self, kind: PhaseKind) -> Option<AgentKind> {
        Some(self.agents.of(kind))
    }

    async fn run(&self, req: &PhaseRequest) -> PhaseOutcome {
        match req.agent.unwrap_or(self.agents.of(req.kind)) {
            AgentKind::Codex => self.codex.run(req).await,
            AgentKind::Claude => self.claude.run(req).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_then_flags_choose_each_phase() {
        let config = AgentsConfig {
            review: Some(AgentKind::Claude),
            ..AgentsConfig::default()
        };
        let a = Agents::choose(&config, &[]).unwrap();
        assert_eq!(a.describe(), "dev=codex review=claude fix=codex");
        let a = Agents::choose(&config, &["fix=claude".into(), "review=codex".into()]).unwrap();
        assert_eq!(a.describe(), "dev=codex review=codex fix=claude");
        let a = Agents::choose(&config, &["all=claude".into()]).unwrap();
        assert!(!a.uses(AgentKind::Codex));
        for bad in ["review", "review=gemini", "test=claude"] {
            assert!(Agents::choose(&config, &[bad.into()]).is_err(), "{bad}");
        }
    }
}
