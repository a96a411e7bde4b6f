//! The GitHub Actions workflow `orch init --ci github` writes: one issue's loop on a runner.
//! `orch run --on github` dispatches it once per ready issue with the run, the milestone,
//! the issue, the commit its branch starts from and its agents; the job checks that commit
//! out, installs this orch and the agent CLIs it was measured with (unless the runner has
//! them), and runs `orch work`, which pushes back the issue's branch, its pins and its result
//! ref, and nothing else.
//!
//! What it is careful about: dispatch inputs reach the shell through `env:`, never spliced
//! into a script; the checkout keeps no credential on disk (an agent could read it), and
//! orch's own push gets the job's token in its environment alone; the model keys come from
//! the repository's Actions secrets and go to the step that runs the agents; one runner per
//! run and issue (the concurrency group); `contents: write` is the only permission.

use crate::model::versions;

/// Where the workflow goes, from the repository root.
pub const PATH: &str = ".github/workflows/orch-issue.yml";

/// What the workflow installs on the runner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workflow {
    /// This orch's version: the runner installs the same.
    pub orch_version: String,
    /// The git repository runners build orch from (`cargo install --git … --tag v<version>`).
    pub orch_source: String,
}

impl Workflow {
    /// The workflow for this orch, built on runners from `orch_source`.
    pub fn new(orch_source: &str) -> Workflow {
        Workflow {
            orch_version: env!("CARGO_PKG_VERSION").to_owned(),
            orch_source: orch_source.to_owned(),
        }
    }

    /// The workflow's text.
    pub fn render(&self) -> String {
        format!(
            r#"# Written by `orch init --ci github` (orch {orch}). `orch run <project/milestone> --on github`
# dispatches it once per ready issue: the job works that one issue (dev, review, fix, the
# clean-room checks) on this runner and pushes back the issue's branch, its refs/orch/ pins and
# its result ref refs/orch/results/<run>/<issue>; the orch that dispatched it imports the result.
# Secrets it reads: OPENAI_API_KEY (codex) and ANTHROPIC_API_KEY (claude), handed to the
# agents only. Edit freely; `orch init --ci github` never overwrites it.
name: orch issue
run-name: "orch ${{{{ inputs.run }}}}: ${{{{ inputs.issue }}}}"

on:
  workflow_dispatch:
    inputs:
      run:
        description: "The orch run the issue belongs to"
        required: true
        type: string
      milestone:
        description: "The milestone, as project/milestone"
        required: true
        type: string
      issue:
        description: "The issue's id"
        required: true
        type: string
      base:
        description: "The commit the issue's branch starts from"
        required: true
        type: string
      agents:
        description: "Agents by phase, as `orch run --agent` takes them (dev=codex review=claude)"
        required: false
        type: string
        default: ""
      budget:
        description: "The issue's share of the run's budget, in tokens (empty: orch.toml's)"
        required: false
        type: string
        default: ""
      budget_usd:
        description: "The issue's share of the run's budget, in dollars (empty: orch.toml's)"
        required: false
        type: string
        default: ""
      retry:
        description: "true: the phase an earlier runner ended on is done again (orch resume --retry)"
        required: false
        type: string
        default: ""

permissions:
  contents: write

concurrency:
  group: orch-${{{{ inputs.run }}}}-${{{{ inputs.issue }}}}
  cancel-in-progress: false

jobs:
  issue:
    name: ${{{{ inputs.issue }}}}
    runs-on: ubuntu-latest
    timeout-minutes: 360
    env:
      ORCH_VERSION: "{orch}"
      ORCH_SOURCE: "{source}"
      CODEX_VERSION: "{codex}"
      CLAUDE_VERSION: "{claude}"
    steps:
      - name: Check out the base
        uses: actions/checkout@v4
        with:
          ref: ${{{{ inputs.base }}}}
          fetch-depth: 0
          persist-credentials: false

      - name: Install orch {orch}
        run: |
          if [ "$(orch --version 2>/dev/null)" != "orch $ORCH_VERSION" ]; then
            cargo install --locked --git "$ORCH_SOURCE" --tag "v$ORCH_VERSION" orch
          fi
          orch --version

      - name: Install the agent CLIs
        run: |
          if [ "$(codex --version 2>/dev/null)" != "codex-cli $CODEX_VERSION" ]; then
            npm install --global "@openai/codex@$CODEX_VERSION"
          fi
          if ! claude --version 2>/dev/null | grep -q "^$CLAUDE_VERSION "; then
            npm install --global "@anthropic-ai/claude-code@$CLAUDE_VERSION"
          fi
          # The agents' sandboxes: bubblewrap and socat, and user namespaces (Ubuntu 24.04
          # restricts them to programs AppArmor names).
          if ! command -v bwrap >/dev/null || ! command -v socat >/dev/null; then
            sudo apt-get install --yes --no-install-recommends bubblewrap socat
          fi
          if [ "$(cat /proc/sys/kernel/apparmor_restrict_unprivileged_userns 2>/dev/null)" = 1 ]; then
            sudo sysctl --write kernel.apparmor_restrict_unprivileged_userns=0
          fi

      - name: Work ${{{{ inputs.issue }}}}
        env:
          ORCH_RUN: ${{{{ inputs.run }}}}
          ORCH_MILESTONE: ${{{{ inputs.milestone }}}}
          ORCH_ISSUE: ${{{{ inputs.issue }}}}
          ORCH_BASE: ${{{{ inputs.base }}}}
          ORCH_AGENTS: ${{{{ inputs.agents }}}}
          ORCH_BUDGET: ${{{{ inputs.budget }}}}
          ORCH_BUDGET_USD: ${{{{ inputs.budget_usd }}}}
          ORCH_RETRY: ${{{{ inputs.retry }}}}
          ORCH_RUNNER: ${{{{ runner.name }}}}
          ORCH_WORKFLOW_RUN: ${{{{ github.server_url }}}}/${{{{ github.repository }}}}/actions/runs/${{{{ github.run_id }}}}
          GITHUB_TOKEN: ${{{{ github.token }}}}
          OPENAI_API_KEY: ${{{{ secrets.OPENAI_API_KEY }}}}
          ANTHROPIC_API_KEY: ${{{{ secrets.ANTHROPIC_API_KEY }}}}
        run: |
          set --
          for agent in $ORCH_AGENTS; do set -- "$@" --agent "$agent"; done
          if [ -n "$ORCH_BUDGET" ]; then set -- "$@" --budget-tokens "$ORCH_BUDGET"; fi
          if [ -n "$ORCH_BUDGET_USD" ]; then set -- "$@" --budget-usd "$ORCH_BUDGET_USD"; fi
          if [ "$ORCH_RETRY" = true ]; then set -- "$@" --retry; fi
          orch work "$ORCH_MILESTONE" --issue "$ORCH_ISSUE" --run "$ORCH_RUN" --base "$ORCH_BASE" "$@"
"#,
            orch = self.orch_version,
            source = self.orch_source,
            codex = versions::CODEX,
            claude = versions::CLAUDE,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workflow_pins_this_orch_and_the_measured_agents_and_takes_inputs_through_env() {
        let text = Workflow::new("https://github.com/acme/orch").render();
        assert!(text.contains(&format!("ORCH_VERSION: \"{}\"", env!("CARGO_PKG_VERSION"))));
        assert!(text.contains("ORCH_SOURCE: \"https://github.com/acme/orch\""));
        assert!(text.contains(&format!("CODEX_VERSION: \"{}\"", versions::CODEX)));
        // No dispatch input is spliced into a script: each `run:` block reads env only.
        let mut in_run = false;
        for line in text.lines() {
            let trimmed = line.trim_start();
            if trimmed.starts_with("run: |") {
                in_run = true;
                continue;
            }
            if in_run && (trimmed.starts_with("- name:") || trimmed.is_empty()) {
                in_run = false;
            }
            assert!(!(in_run && line.contains("${{")), "{line}");
        }
        // Nothing of the job's token or the model keys is on disk or in another step.
        assert!(text.contains("persist-credentials: false"));
        assert_eq!(text.matches("secrets.").count(), 2);
    }
}
