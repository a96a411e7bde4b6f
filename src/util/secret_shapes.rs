//! What a secret looks like: a private key block's opening line, the shapes of providers'
//! API keys, and a secret-named assignment of a random-looking value. Pure patterns at the
//! bottom of the tree: the guard's scan of what a phase added and the redaction of every file
//! orch writes both ask here, so they always agree.

use regex::Regex;
use std::sync::OnceLock;

/// `[guard] secret_allow` patterns, compiled (`*` does not cross `/`); a bad one is named.
pub fn allow_globs(patterns: &[String]) -> Result<globset::GlobSet, String> {
    let mut set = globset::GlobSetBuilder::new();
    for pattern in patterns {
        let glob = globset::GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .map_err(|e| format!("`[guard] secret_allow` has `{pattern}`: {e}"))?;
        set.add(glob);
    }
    set.build().map_err(|e| e.to_string())
}

/// The opening line of a private key block, as a pattern (redaction goes on to its end).
pub const PRIVATE_KEY_BEGIN: &str = r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----";

/// The opening line of a private key block.
pub fn private_key() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(PRIVATE_KEY_BEGIN).expect("valid regex"))
}

/// `NAME = "value"`, `NAME: value`, `"name": "value"`, with NAME holding a secret word.
pub fn assignment() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(concat!(
            r#"(?i)([A-Za-z0-9_.\-]*(?:key|token|secret|passw(?:or)?d)[A-Za-z0-9_.\-]*)"#,
            r#"(?:\\?["'])?(?:\s*:\s*&?(?:'static\s+)?[A-Za-z0-9_<>]+)?"#,
            r#"\s*(?::|=|:=|=>)\s*(?:\\?["'])?"#,
            r#"([A-Za-z0-9+/_\-.=~]{20,})"#
        ))
        .expect("valid regex")
    })
}

/// The value of a secret-named assignment in `line`, when it looks random (not a
/// placeholder, a variable reference or a word).
pub fn assignment_value(line: &str) -> Option<&str> {
    assignment()
        .captures_iter(line)
        .filter_map(|c| c.get(2))
        .map(|m| m.as_str())
        .find(|v| looks_random(v))
}

/// Long, of several character classes, and of high entropy: a generated secret rather than
/// `your-api-key-here` or `process.env.API_KEY`.
pub fn looks_random(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    if [
        "example",
        "placeholder",
        "changeme",
        "your",
        "xxxx",
        "dummy",
        "redacted",
    ]
    .iter()
    .any(|w| lower.contains(w))
    {
        return false;
    }
    let classes = [
        value.bytes().any(|b| b.is_ascii_lowercase()),
        value.bytes().any(|b| b.is_ascii_uppercase()),
        value.bytes().any(|b| b.is_ascii_digit()),
    ]
    .iter()
    .filter(|c| **c)
    .count();
    classes >= 2 && entropy(value) >= 3.5
}

/// Shannon entropy in bits per character.
fn entropy(s: &str) -> f64 {
    let mut counts = [0usize; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// Strings shaped like a provider's API key.
pub fn key_shapes() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(concat!(
            r"\b(?:sk-(?:proj-|ant-)?[A-Za-z0-9_\-]{20,}",
            r"|gh[pousr]_[A-Za-z0-9]{30,}",
            r"|github_pat_[A-Za-z0-9_]{30,}",
            r"|xox[abprs]-[A-Za-z0-9\-]{10,}",
            r"|AKIA[0-9A-Z]{16}",
            r"|AIza[0-9A-Za-z_\-]{35}",
            r"|glpat-[A-Za-z0-9_\-]{20,})"
        ))
        .expect("valid regex")
    })
}
