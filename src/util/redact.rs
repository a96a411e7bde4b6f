//! Keeps secrets out of every file orch writes: values of environment variables named like
//! `*KEY*`, `*TOKEN*`, `*SECRET*`, `*PASSWORD*`, and strings shaped like common API keys.

use regex::Regex;
use std::sync::OnceLock;

/// The name of the line every prompt carries to name its phase.
const PHASE_KEY_NAME: &str = "orch-phase-key";

/// Replaces secrets in `text`.
pub fn redact(text: &str) -> String {
    let mut out = text.to_owned();
    let learnt = learnt().lock().unwrap_or_else(|e| e.into_inner());
    for (name, value) in learnt.iter().chain(secret_env()) {
        if out.contains(value.as_str()) {
            out = out.replace(value.as_str(), &format!("[REDACTED:{name}]"));
        }
    }
    let out = crate::util::secret_shapes::key_shapes().replace_all(&out, "[REDACTED]");
    let out = private_key_blocks().replace_all(&out, "[REDACTED:private key]");
    // A secret-named assignment of a random-looking value: the value goes, the name stays.
    crate::util::secret_shapes::assignment()
        .replace_all(&out, |caps: &regex::Captures<'_>| {
            let whole = caps.get(0).expect("group 0");
            // orch's own line naming a phase (`orch-phase-key: LEDGER-API-12/03-review`) is
            // no secret, however random its value looks.
            let ours = caps
                .get(1)
                .is_some_and(|n| n.as_str().eq_ignore_ascii_case(PHASE_KEY_NAME));
            match caps.get(2) {
                Some(v) if !ours && crate::util::secret_shapes::looks_random(v.as_str()) => {
                    format!(
                        "{}[REDACTED]{}",
                        &whole.as_str()[..v.start() - whole.start()],
                        &whole.as_str()[v.end() - whole.start()..]
                    )
                }
                _ => whole.as_str().to_owned(),
            }
        })
        .into_owned()
}

/// A private key block, also inside a JSON string (newlines as `\n`) or a patch (`+` lines),
/// up to its END line or the first character no key body has.
fn private_key_blocks() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(&format!(
            "{}{}{}",
            crate::util::secret_shapes::PRIVATE_KEY_BEGIN,
            r"(?:[A-Za-z0-9+/=:,\s]|\\[nr])*",
            r"(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----)?"
        ))
        .expect("valid regex")
    })
}

/// Makes `value` a secret for every later [`redact`]: one orch obtained other than from its
/// environment (a token `gh auth token` printed), named `name` where it is replaced.
pub fn learn(name: &str, value: &str) {
    if value.len() < 6 {
        return;
    }
    let mut learnt = learnt().lock().unwrap_or_else(|e| e.into_inner());
    if !learnt.iter().any(|(_, v)| v == value) {
        learnt.push((name.to_owned(), value.to_owned()));
    }
}

fn learnt() -> &'static std::sync::Mutex<Vec<(String, String)>> {
    static LEARNT: OnceLock<std::sync::Mutex<Vec<(String, String)>>> = OnceLock::new();
    LEARNT.get_or_init(Default::default)
}

fn secret_env() -> &'static Vec<(String, String)> {
    static ENV: OnceLock<Vec<(String, String)>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut pairs: Vec<(String, String)> = std::env::vars()
            .filter(|(k, v)| {
                let k = k.to_ascii_uppercase();
                v.len() >= 6
                    && ["KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD"]
                        .iter()
                        .any(|w| k.contains(w))
            })
            .collect();
        // Longest first, so a value containing another is replaced whole.
        pairs.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
        pairs
    })
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn a_learnt_secret_is_redacted_by_name() {
        super::learn("gh auth token", "q7Wz-learnt-not-in-env");
        assert_eq!(
            redact("Authorization: q7Wz-learnt-not-in-env"),
            "Authorization: [REDACTED:gh auth token]"
        );
    }

    #[test]
    fn a_phase_key_line_is_no_secret() {
        let line = "orch-phase-key: LEDGER-API-12/03-review\n";
        assert_eq!(redact(line), line);
        assert_eq!(
            redact("ledger_key: Zx81mNw4Rt7vHk29dLq0AbCd\n"),
            "ledger_key: [REDACTED]\n"
        );
    }

    #[test]
    fn key_shapes_are_redacted() {
        let text = "token sk-proj-abcdefghijklmnopqrstuvwx and ghp_abcdefghijklmnopqrstuvwxyz0123456789 ok";
        let out = redact(text);
        assert_eq!(out, "token [REDACTED] and [REDACTED] ok");
        assert_eq!(redact("AKIAABCDEFGHIJKLMNOP"), "[REDACTED]");
        assert_eq!(redact("nothing secret here"), "nothing secret here");
    }

    #[test]
    fn key_blocks_and_random_secret_assignments_are_redacted_also_inside_json() {
        let block =
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7x\n-----END RSA PRIVATE KEY-----";
        assert_eq!(
            redact(&format!("a {block} b")),
            "a [REDACTED:private key] b"
        );
        let json = serde_json::json!({"cmd": format!("printf '{block}' > k.pem")}).to_string();
        let out = redact(&json);
        assert!(
            !out.contains("MIIEow") && serde_json::from_str::<serde_json::Value>(&out).is_ok(),
            "{out}"
        );
        let json =
            serde_json::json!({"cmd": "echo \"STRIPE_API_KEY=q8Xr2LmN4vT7bY1kZ9wE3sD6\" > .env"})
                .to_string();
        let out = redact(&json);
        assert!(
            out.contains("STRIPE_API_KEY=[REDACTED]") && !out.contains("q8Xr2"),
            "{out}"
        );
        assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok());
        let plain = "\"total_tokens\": 1234, API_KEY=${API_KEY}";
        assert_eq!(redact(plain), plain);
    }
}
