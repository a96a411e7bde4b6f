//! orch's own git commands against `[forge] remote` (a look with `ls-remote`, a fetch, a push
//! of refs it names), run outside any sandbox: each logged as one of the commands,
//! and, when one fails, the line git said that tells why.

use crate::input::config::Config;
use std::path::Path;

/// Where orch's git runs, and how.
pub(super) struct RemoteGit<'a> {
    pub dir: &'a Path,
    pub config: &'a Config,
    pub cancel: Option<tokio::sync::watch::Receiver<bool>>,
    /// On a runner: the job's token goes as an HTTP header (see [`credentials`]).
    pub on_runner: bool,
}

/// A git command that failed: its exit status and the line git said of it.
pub(super) struct Failed {
    pub status: Option<i32>,
    pub said: String,
}

impl RemoteGit<'_> {
    /// The remote's name (`[forge] remote`).
    pub fn remote(&self) -> &str {
        self.config.forge().remote()
    }

    /// Runs `git <args>` (each one word), logged at `log`.
    pub async fn run(&self, log: &Path, args: &[&str]) -> Result<(), Failed> {
        let words: Vec<String> = args
            .iter()
            .map(|a| crate::util::process::sh_word(a))
            .collect();
        let auth = if self.on_runner {
            credentials()
        } else {
            String::new()
        };
        let command = format!("{auth}GIT_TERMINAL_PROMPT=0 git {}", words.join(" "));
        let timeout = self.config.phase_timeout();
        let cancel = self.cancel.clone();
        let ran = crate::gates::shell::run_own(&command, self.dir, log, timeout, cancel).await;
        if ran.success() {
            return Ok(());
        }
        Err(Failed {
            status: ran.status,
            said: said(&std::fs::read_to_string(log).unwrap_or_default()),
        })
    }
}

/// The line of git's output that tells why it failed: a ref rejected or a lease gone stale,
/// else its first `fatal:` or `error:`, else its last line.
pub(super) fn said(output: &str) -> String {
    (output.lines())
        .find(|l| l.contains("[rejected]") || l.contains("stale info"))
        .or_else(|| (output.lines()).find(|l| l.starts_with("fatal:") || l.starts_with("error:")))
        .or_else(|| output.lines().rfind(|l| !l.trim().is_empty()))
        .unwrap_or("git failed")
        .trim()
        .to_owned()
}

/// On a runner the checkout keeps no credential (an agent could read it): git gets the job's
/// token as an HTTP header, as `actions/checkout` would give it, from the environment when
/// the shell runs (the command's text never holds it). Nothing without a token.
fn credentials() -> String {
    let var = ["GITHUB_TOKEN", "GH_TOKEN"]
        .into_iter()
        .find(|v| std::env::var(v).is_ok_and(|t| !t.is_empty()));
    match var {
        Some(var) => format!(
            "GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=http.extraheader GIT_CONFIG_VALUE_0=\"AUTHORIZATION: basic $(printf 'x-access-token:%s' \"${var}\" | base64 | tr -d '\\n')\" "
        ),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_line_that_tells_why_a_git_command_failed() {
        let rejected =
            "To origin\n ! [rejected] x -> x (non-fast-forward)\nerror: failed to push\n";
        assert_eq!(
            super::said(rejected),
            "! [rejected] x -> x (non-fast-forward)"
        );
        let fatal = "warning: a\nfatal: couldn't find remote ref refs/x\n";
        assert_eq!(super::said(fatal), "fatal: couldn't find remote ref refs/x");
        assert_eq!(super::said("one\ntwo\n\n"), "two");
        assert_eq!(super::said(""), "git failed");
    }
}
