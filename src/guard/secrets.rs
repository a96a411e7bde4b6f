//! Secrets in what a phase added: every `+` line of its committed and uncommitted patch is
//! looked at for a private key block, a known API key shape, or an assignment to a
//! `*KEY*`/`*TOKEN*`/`*SECRET*`/`*PASSWORD*` name of a long random value. Pure: a patch in,
//! findings out (file, line, kind — never the value). A finding fails the phase and holds the
//! issue's submission until a human approves (`orch approve secrets --task ID`).

use crate::util::secret_shapes::{assignment_value, key_shapes, private_key};
use serde::{Deserialize, Serialize};

/// The approval gate that releases an issue whose work holds a finding.
pub const GATE: &str = "secrets";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    PrivateKey,
    /// A string shaped like a provider's API key (`sk-…`, `ghp_…`, `AKIA…`).
    KeyShape,
    /// `API_KEY = "…"` with a long random value.
    Assignment,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::PrivateKey => "private key",
            Kind::KeyShape => "API key",
            Kind::Assignment => "secret assignment",
        }
    }
}

/// One secret found: where, and what it looks like.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub path: String,
    /// 1-based, in the file as the phase left it.
    pub line: usize,
    pub kind: Kind,
}

/// The findings of a unified patch (as `git diff`), skipping paths `allowed` says yes to.
pub fn scan_patch(patch: &str, allowed: impl Fn(&str) -> bool) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut path: Option<String> = None;
    let mut line = 0usize;
    for text in patch.lines() {
        if let Some(p) = text.strip_prefix("+++ ") {
            path = match p.trim() {
                "/dev/null" => None,
                p => Some(p.strip_prefix("b/").unwrap_or(p).to_owned()),
            };
            continue;
        }
        if text.starts_with("--- ") {
            continue;
        }
        if let Some(hunk) = text.strip_prefix("@@ ") {
            line = new_start(hunk).unwrap_or(1);
            continue;
        }
        let Some(file) = path.as_deref().filter(|p| !allowed(p)) else {
            continue;
        };
        match text.as_bytes().first() {
            Some(b'+') => {
                if let Some(kind) = scan_line(&text[1..]) {
                    findings.push(Finding {
                        path: file.to_owned(),
                        line,
                        kind,
                    });
                }
                line += 1;
            }
            Some(b' ') => line += 1,
            _ => {}
        }
    }
    findings
}

/// `-a,b +c,d @@ …` → `c`.
fn new_start(hunk: &str) -> Option<usize> {
    let plus = hunk.split_whitespace().find(|w| w.starts_with('+'))?;
    plus[1..].split(',').next()?.parse().ok()
}

/// What secret, if any, one line holds.
pub fn scan_line(line: &str) -> Option<Kind> {
    if private_key().is_match(line) {
        return Some(Kind::PrivateKey);
    }
    if key_shapes().is_match(line) {
        return Some(Kind::KeyShape);
    }
    assignment_value(line).map(|_| Kind::Assignment)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_shape_of_secret_is_found_and_ordinary_lines_are_not() {
        let cases: &[(&str, Option<Kind>)] = &[
            (
                "-----BEGIN OPENSSH PRIVATE KEY-----",
                Some(Kind::PrivateKey),
            ),
            ("-----BEGIN RSA PRIVATE KEY-----", Some(Kind::PrivateKey)),
            ("-----BEGIN PRIVATE KEY-----", Some(Kind::PrivateKey)),
            ("-----BEGIN PUBLIC KEY-----", None),
            (
                "let k = \"sk-proj-abcdefghijklmnopqrstuvwx\";",
                Some(Kind::KeyShape),
            ),
            ("AKIAABCDEFGHIJKLMNOP", Some(Kind::KeyShape)),
            (
                "STRIPE_API_KEY=q8Xr2LmN4vT7bY1kZ9wE3sD6",
                Some(Kind::Assignment),
            ),
            (
                "export DB_PASSWORD='Hk29dLq0Zx81mNw4Rt7v'",
                Some(Kind::Assignment),
            ),
            (
                "  \"auth_token\": \"a9F3kL0qZ8xW2mN7vB4tR1yU\",",
                Some(Kind::Assignment),
            ),
            (
                "session_secret: 7Jd9Qm2Lx8Kp4Vn1Rz6Ty3Wb",
                Some(Kind::Assignment),
            ),
            ("API_KEY=your-api-key-goes-here-please", None),
            ("API_KEY=${API_KEY}", None),
            ("const TOKEN_LENGTH = 32;", None),
            ("password = os.environ[\"DB_PASSWORD\"]", None),
            ("MY_TOKEN=aaaaaaaaaaaaaaaaaaaaaaaaaaaa", None),
            ("keyboard_layout = us-international-alt-gr", None),
            ("fn parse_key(line: &str) -> Option<Key> {", None),
        ];
        for (line, want) in cases {
            assert_eq!(scan_line(line), *want, "{line}");
        }
    }

    #[test]
    fn a_patch_yields_file_and_new_line_numbers_and_honours_the_allowlist() {
        let patch = "\
diff --git a/src/app.rs b/src/app.rs
--- a/src/app.rs
+++ b/src/app.rs
@@ -10,3 +10,4 @@ fn main() {
 let a = 1;
-let b = 2;
+let b = 3;
+const API_KEY: &str = \"Zx81mNw4Rt7vHk29dLq0\";
 let c = 4;
diff --git a/tests/fixtures/key.pem b/tests/fixtures/key.pem
new file mode 100644
--- /dev/null
+++ b/tests/fixtures/key.pem
@@ -0,0 +1,2 @@
+-----BEGIN RSA PRIVATE KEY-----
+MIIEow
diff --git a/gone.txt b/gone.txt
--- a/gone.txt
+++ /dev/null
@@ -1 +0,0 @@
-GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789
";
        let all = scan_patch(patch, |_| false);
        assert_eq!(
            all,
            vec![
                Finding {
                    path: "src/app.rs".into(),
                    line: 12,
                    kind: Kind::Assignment
                },
                Finding {
                    path: "tests/fixtures/key.pem".into(),
                    line: 1,
                    kind: Kind::PrivateKey
                },
            ]
        );
        let allowed = scan_patch(patch, |p| p.starts_with("tests/fixtures/"));
        assert_eq!(allowed.len(), 1);
        assert_eq!(allowed[0].path, "src/app.rs");
    }
}
