//! The GitHub token: `GITHUB_TOKEN`, else `GH_TOKEN`, else what `gh auth token` prints when
//! the GitHub CLI is installed. It lives in a [`Token`], which never prints itself; orch's
//! redaction learns it, and no agent's environment carries it (see [`TOKEN_VARS`]).

use super::ForgeError;
use std::time::Duration;

pub use crate::util::process::FORGE_TOKEN_VARS as TOKEN_VARS;

/// A token. `Debug` shows where it came from, never its value.
#[derive(Clone)]
pub struct Token {
    value: String,
    pub source: String,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Token(from {})", self.source)
    }
}

impl Token {
    pub fn new(value: String, source: &str) -> Token {
        crate::util::redact::learn(source, &value);
        Token {
            value,
            source: source.to_owned(),
        }
    }

    /// The `Authorization` header's value.
    pub(super) fn bearer(&self) -> String {
        format!("Bearer {}", self.value)
    }
}

/// The token for `host` (`github.com`, or a GitHub Enterprise host): from the environment,
/// else from `gh auth token --hostname <host>`.
pub async fn resolve(host: &str) -> Result<Token, ForgeError> {
    for var in &TOKEN_VARS[..2] {
        if let Some(value) = std::env::var(var).ok().filter(|v| !v.trim().is_empty()) {
            return Ok(Token::new(value.trim().to_owned(), var));
        }
    }
    let mut gh = tokio::process::Command::new("gh");
    gh.args(["auth", "token", "--hostname", host])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let output = match tokio::time::timeout(Duration::from_secs(20), gh.output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ForgeError::NoToken {
                why: "the GitHub CLI (`gh`) is not installed".to_owned(),
            })
        }
        Ok(Err(e)) => {
            return Err(ForgeError::NoToken {
                why: format!("`gh auth token` did not run: {e}"),
            })
        }
        Err(_) => {
            return Err(ForgeError::NoToken {
                why: "`gh auth token` did not answer in 20 s".to_owned(),
            })
        }
    };
    let value = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if !output.status.success() || value.is_empty() {
        let said = String::from_utf8_lossy(&output.stderr);
        return Err(ForgeError::NoToken {
            why: format!(
                "`gh auth token --hostname {host}` has none ({})",
                said.lines().next().unwrap_or("no output").trim()
            ),
        });
    }
    Ok(Token::new(value, "gh auth token"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_never_prints_its_value() {
        let token = Token::new("tok-3141592653589793".to_owned(), "GITHUB_TOKEN");
        let shown = format!("{token:?}");
        assert_eq!(shown, "Token(from GITHUB_TOKEN)");
        assert_eq!(
            crate::util::redact::redact("x tok-3141592653589793 y"),
            "x [REDACTED:GITHUB_TOKEN] y"
        );
    }
}
