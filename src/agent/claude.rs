//! Runs a phase with the real Claude Code CLI, headless: `claude -p --output-format
//! stream-json --verbose --json-schema <schema>`, the prompt on stdin (see [`super::drive`]
//! for the process, its stream and its limits). The `structured_output` of the final
//! `result` line is the phase's result. Decided from `is_error` and the exit code, not the
//! `subtype` (an API error ends `success` with `is_error`); tool calls Claude Code denied
//! itself fail the phase even when the run says it succeeded.
//!
//! Confined (`[claude] sandbox = "worktree"`, the default) the phase runs `acceptEdits` with
//! orch's settings only, its Bash commands in Claude Code's sandbox ([`super::claude_sandbox`]);
//! open (`none`) it runs `bypassPermissions` (as root that needs `IS_SANDBOX=1`).
//!
//! Claude's Bash tool inherits claude's environment, so claude gets only what it needs: the
//! core variables, its own (`ANTHROPIC_*`, `CLAUDE_*`), proxies and certificates, and what
//! `[agent] pass_env` names; confined, the sandbox hides claude's credentials from the
//! commands (`credentials.envVars`). Its own retries are off (`CLAUDE_CODE_MAX_RETRIES=0`):
//! orch's retry policy is the one layer.

use super::drive;
use super::{PhaseFailure, PhaseOutcome, PhaseRequest, Runner, Usage};
use crate::util::redact::redact;
use serde_json::Value;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct ClaudeRunner {
    /// The `claude` binary.
    pub bin: PathBuf,
    /// Extra arguments (`[claude] args`).
    pub args: Vec<String>,
    /// `--model` (`[claude] model`).
    pub model: Option<String>,
    /// What claude inherits besides the core (`[agent] pass_env`, names or globs).
    pub pass_env: Vec<String>,
    /// Whether its commands run in Claude Code's sandbox (`[claude] sandbox`).
    pub sandboxed: bool,
}

/// Variables claude keeps from orch's environment besides the core every agent's commands
/// get ([`super::sandbox::CORE_ENV`]): its own, proxies, certificates (a trailing `*` is a
/// prefix).
const KEEP_ENV: &[&str] = &[
    "ANTHROPIC_*",
    "CLAUDE_*",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "NODE_EXTRA_CA_CERTS",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

/// Set for every run: unattended, offline from Anthropic's side services, one retry layer.
const FIXED_ENV: &[(&str, &str)] = &[
    ("CLAUDE_CODE_MAX_RETRIES", "0"),
    ("DISABLE_AUTOUPDATER", "1"),
    ("DISABLE_TELEMETRY", "1"),
    ("DISABLE_ERROR_REPORTING", "1"),
    ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
];

fn kept(name: &str, patterns: &[&str]) -> bool {
    patterns.iter().any(|p| match p.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => name == *p,
    })
}

impl ClaudeRunner {
    /// The full argument list for a request (without the binary).
    pub fn argv(&self, req: &PhaseRequest) -> Vec<String> {
        let mut argv: Vec<String> = ["-p", "--output-format", "stream-json", "--verbose"]
            .map(str::to_owned)
            .to_vec();
        if self.sandboxed {
            argv.extend(super::claude_sandbox::args(
                &req.confinement,
                &self.hidden_env(),
            ));
        } else {
            // Edits, commands and commits anywhere without a prompt (as root this needs
            // IS_SANDBOX=1, which the runner sets); orch's guard and audits stay the
            // boundary for git and gt.
            argv.extend(["--permission-mode".into(), "bypassPermissions".into()]);
        }
        // Claude Code's validator knows no draft 2020-12 meta-schema (measured with 2.1.328:
        // "no schema with key or ref …"); the schema is the same without naming it.
        let mut schema = (*req.expect.schema).clone();
        if let Some(o) = schema.as_object_mut() {
            o.remove("$schema");
        }
        argv.extend(["--json-schema".into(), schema.to_string()]);
        if let Some(model) = &self.model {
            argv.extend(["--model".into(), model.clone()]);
        }
        argv.extend(self.args.iter().cloned());
        if let Some(session) = &req.resume {
            argv.extend(["--resume".into(), session.clone()]);
        }
        argv
    }

    /// The variables of orch's environment claude keeps.
    fn kept_env(&self) -> Vec<(String, String)> {
        let pass: Vec<&str> = self.pass_env.iter().map(String::as_str).collect();
        std::env::vars()
            .filter(|(k, _)| {
                kept(k, super::sandbox::CORE_ENV) || kept(k, KEEP_ENV) || kept(k, &pass)
            })
            .collect()
    }

    /// Claude's credentials among them, which its sandboxed commands must not see (unless
    /// `[agent] pass_env` names them).
    fn hidden_env(&self) -> Vec<String> {
        let pass: Vec<&str> = self.pass_env.iter().map(String::as_str).collect();
        let mut names: Vec<String> = self
            .kept_env()
            .into_iter()
            .map(|(k, _)| k)
            .filter(|k| super::claude_sandbox::hidden(k) && !kept(k, &pass))
            .collect();
        names.sort();
        names
    }

    /// The environment claude is started with (orch's is cleared first).
    pub fn env(&self, req: &PhaseRequest) -> Vec<(String, String)> {
        let mut env = self.kept_env();
        env.extend(
            FIXED_ENV
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        // SAFETY: geteuid(2) has no preconditions.
        if !self.sandboxed && unsafe { libc::geteuid() } == 0 {
            env.push(("IS_SANDBOX".into(), "1".into()));
        }
        // Claude Code's own temp dir (its commands' TMPDIR, `<dir>/claude-<uid>`) inside the
        // phase's private one, removed with it, instead of one `/tmp/claude-<uid>` every phase
        // of the user shares and none cleans.
        env.push((
            "CLAUDE_CODE_TMPDIR".into(),
            req.confinement.tmp_dir.display().to_string(),
        ));
        env.extend(req.env.iter().cloned());
        env
    }
}

impl Runner for ClaudeRunner {
    fn agent(&self, _kind: super::PhaseKind) -> Option<crate::input::config::AgentKind> {
        Some(crate::input::config::AgentKind::Claude)
    }

    async fn run(&self, req: &PhaseRequest) -> PhaseOutcome {
        let started = Instant::now();
        let mut outcome = drive::outcome_for(req);
        outcome.usage_is_phase = true;
        if let Err(f) = self.drive(req, &mut outcome).await {
            outcome.result = Err(f);
        }
        crate::util::fsutil::redact_in_place(&outcome.stderr_path);
        outcome.duration_ms = started.elapsed().as_millis() as u64;
        outcome
    }
}

/// What the stream said, as far as the phase's outcome goes.
#[derive(Default)]
struct Seen {
    session: Option<String>,
    result: Option<Value>,
    last_retry: Option<String>,
    /// Bash commands asked for and not answered yet, by tool-use id.
    commands: std::collections::BTreeMap<String, String>,
}

impl ClaudeRunner {
    async fn drive(
        &self,
        req: &PhaseRequest,
        outcome: &mut PhaseOutcome,
    ) -> Result<(), PhaseFailure> {
        let mut cmd = tokio::process::Command::new(&self.bin);
        cmd.args(self.argv(req)).env_clear().envs(self.env(req));
        let mut seen = Seen::default();
        let what = self.bin.display().to_string();
        let ran = drive::run(cmd, &what, req, outcome, |line| {
            on_line(line, req, &mut seen)
        })
        .await;
        outcome.session_id = seen.session.clone();
        if let Some(result) = &seen.result {
            outcome.usage = Some(usage_of(&result["usage"]));
            outcome.cost_usd = result["total_cost_usd"].as_f64();
        }
        let status = ran?;
        outcome.exit_code = status.code();
        drive::check_session(req, seen.session.as_ref())?;
        let Some(result) = seen.result else {
            return Err(if status.success() {
                PhaseFailure::NoFinalMessage
            } else {
                PhaseFailure::Exit {
                    code: status.code(),
                    message: seen.last_retry.unwrap_or_default(),
                }
            });
        };
        let denied: Vec<String> = result["permission_denials"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| {
                let tool = d["tool_name"].as_str().unwrap_or("a tool");
                match d["tool_input"]["command"].as_str() {
                    Some(c) => redact(&format!("{tool}(`{c}`)")),
                    None => tool.to_owned(),
                }
            })
            .collect();
        if result["is_error"].as_bool() == Some(true) || !status.success() {
            return Err(PhaseFailure::TurnFailed {
                message: failure_text(&result),
            });
        }
        if !denied.is_empty() {
            return Err(PhaseFailure::PermissionDenied { denied });
        }
        let value = match result.get("structured_output") {
            Some(v) if !v.is_null() => v.clone(),
            _ => return Err(PhaseFailure::NoFinalMessage),
        };
        req.expect.check(&value)?;
        outcome.result = Ok(value.into());
        Ok(())
    }
}

/// Takes one stream line into `seen`; tool results are the agent's finished actions.
fn on_line(line: &str, req: &PhaseRequest, seen: &mut Seen) -> drive::Line {
    let Ok(v) = serde_json::from_str::<Value>(line) else {
        return drive::Line::Quiet;
    };
    if let Some(session) = v["session_id"].as_str() {
        seen.session.get_or_insert_with(|| session.to_owned());
    }
    match (v["type"].as_str(), v["subtype"].as_str()) {
        (Some("assistant"), _) => {
            for block in v["message"]["content"].as_array().into_iter().flatten() {
                if block["type"] == "tool_use" {
                    report(block, req);
                    if let (Some(id), Some(command)) =
                        (block["id"].as_str(), block["input"]["command"].as_str())
                    {
                        seen.commands.insert(id.to_owned(), command.to_owned());
                    }
                }
            }
        }
        (Some("user"), _) => {
            let results: Vec<&Value> = v["message"]["content"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|b| b["type"] == "tool_result")
                .collect();
            if let Some(last) = results.last() {
                // A command with what it answered: the same many times in a row is a loop.
                let same = last["tool_use_id"]
                    .as_str()
                    .and_then(|id| seen.commands.remove(id))
                    .map(|command| (command, last["content"].to_string()));
                return drive::Line::ActionDone { same };
            }
        }
        (Some("system"), Some("api_retry")) => {
            let said = format!(
                "API retry {} of {}: status {}",
                v["attempt"], v["max_retries"], v["error_status"]
            );
            if let Some(activity) = &req.activity {
                activity(super::Action {
                    text: &format!("model unreachable: {said}"),
                    done: true,
                    exit_code: None,
                });
            }
            seen.last_retry = Some(said.clone());
            return drive::Line::Unreachable(said);
        }
        (Some("system"), _) => return drive::Line::Quiet,
        (Some("result"), _) => seen.result = Some(v),
        _ => {}
    }
    drive::Line::Event
}

fn report(block: &Value, req: &PhaseRequest) {
    let Some(activity) = &req.activity else {
        return;
    };
    let input = &block["input"];
    // Claude Code says what a tool is asked to do, once; not how a command exited.
    let said = |text: &str| {
        activity(super::Action {
            text,
            done: true,
            exit_code: None,
        })
    };
    match (
        block["name"].as_str(),
        input["command"].as_str(),
        input["file_path"].as_str(),
    ) {
        (Some("Bash"), Some(command), _) => said(&format!("$ {command}")),
        (Some("Edit" | "Write" | "MultiEdit" | "NotebookEdit"), _, Some(path)) => {
            said(&format!("edit {path}"))
        }
        _ => {}
    }
}

/// Input (fresh, cache written and cache read), cached input, output.
fn usage_of(u: &Value) -> Usage {
    let n = |k: &str| u[k].as_u64().unwrap_or(0);
    let cached = n("cache_read_input_tokens");
    Usage {
        input_tokens: n("input_tokens") + n("cache_creation_input_tokens") + cached,
        cached_input_tokens: cached,
        output_tokens: n("output_tokens"),
        reasoning_output_tokens: 0,
    }
}

/// Why a `result` with `is_error` failed: the API status (a 5xx or 429 is transient for orch's
/// retry policy), else its subtype and errors.
fn failure_text(result: &Value) -> String {
    let text = result["result"].as_str().unwrap_or_default();
    let errors: Vec<&str> = result["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e.as_str())
        .collect();
    let said = if errors.is_empty() {
        text.to_owned()
    } else {
        errors.join("; ")
    };
    let said = redact(said.trim());
    match (result["api_error_status"].as_u64(), result["subtype"].as_str()) {
        (Some(status), _) => format!("API error (status {status}): {said}"),
        (None, Some("error_max_structured_output_retries")) => {
            "claude's result did not match the phase schema in 5 tries (error_max_structured_output_retries)".to_owned()
        }
        (None, subtype) => format!(
            "claude ended with `{}`: {said}",
            subtype.unwrap_or("an error")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_told_from_the_result_line() {
        let api = serde_json::json!({"type": "result", "subtype": "success", "is_error": true,
            "api_error_status": 503, "result": "API Error: 503 overloaded"});
        let text = failure_text(&api);
        assert_eq!(text, "API error (status 503): API Error: 503 overloaded");
        assert!(PhaseFailure::TurnFailed { message: text }
            .transient_reason("")
            .is_some());
        let schema =
            serde_json::json!({"subtype": "error_max_structured_output_retries", "is_error": true});
        assert!(failure_text(&schema).contains("did not match the phase schema in 5 tries"));
        let turns = serde_json::json!({"subtype": "error_max_turns", "is_error": true,
            "errors": ["Reached maximum number of turns (1)"]});
        assert_eq!(
            failure_text(&turns),
            "claude ended with `error_max_turns`: Reached maximum number of turns (1)"
        );
        let u = usage_of(
            &serde_json::json!({"input_tokens": 10, "cache_creation_input_tokens": 5,
            "cache_read_input_tokens": 85, "output_tokens": 20}),
        );
        assert_eq!(
            (u.input_tokens, u.cached_input_tokens, u.output_tokens),
            (100, 85, 20)
        );
        assert!(kept("LC_ALL", crate::agent::sandbox::CORE_ENV));
        assert!(kept("ANTHROPIC_API_KEY", KEEP_ENV));
        assert!(!kept("GITHUB_TOKEN", KEEP_ENV) && !kept("OPENAI_API_KEY", KEEP_ENV));
    }
}
