//! `~/.config/graphite/aliases`: gt's user aliases, read the way gt 1.8.6 reads them.
//!
//! Verified against the real binary (gt 1.8.6, fresh `HOME`, a repo after
//! `gt init --trunk main`), by aliasing words to git passthrough commands so gt printed the
//! exact argv it ran:
//! - The first run writes the file with comment lines and the three defaults `ls log short`,
//!   `ll log long`, `ss submit --stack`. Deleting those lines keeps the defaults; a line with
//!   the same name replaces one.
//! - A line is `<alias> <command words…>`, split on single spaces only. Two spaces in a row or
//!   a trailing space give gt an empty argument; a tab is part of a word; a leading space
//!   makes the alias name empty, so the line never applies. `=` and quotes are literal, and a
//!   `#` after the alias is an ordinary word. A carriage return stays in the last word.
//! - Lines starting with `#` are comments. A line with only an alias name is ignored.
//! - The first line for a name wins over later ones.
//! - Names are case-sensitive and may be any word, including a gt command (`log`), a git
//!   passthrough word (`status`), a legacy shortcut (`rs`) or a flag-like word (`-z`): a user
//!   alias beats all of them.
//! - An alias applies only as gt's very first argument (`gt --debug ss` is an error), and its
//!   expansion is not expanded again (`a b` plus `b log` makes `gt a` fail with "Unknown
//!   argument: b"), so aliases cannot loop. The rest of argv follows the expansion, and the
//!   expansion may start with global flags (`x --cwd . log short` works).
//!
//! [`GtAliases::parse`] models all of that but rejects, with the line number, the lines gt
//! reads in a way nobody means (leading space, tab, carriage return, empty words, a name
//! without a command), so an operator fixes the file instead of the guard guessing.

use std::collections::BTreeMap;
use thiserror::Error;

/// The aliases gt defines even when the file does not mention them.
pub const DEFAULT_ALIASES: [(&str, &str); 3] = [
    ("ss", "submit --stack"),
    ("ls", "log short"),
    ("ll", "log long"),
];

/// A line of the aliases file gt would not read the way it looks.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("graphite aliases line {line}: {message}")]
pub struct AliasError {
    /// 1-based line number.
    pub line: usize,
    pub message: String,
}

/// User aliases: name → expansion words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GtAliases {
    entries: BTreeMap<String, Vec<String>>,
}

impl Default for GtAliases {
    /// The defaults gt writes on first run: `ss`, `ls`, `ll`.
    fn default() -> Self {
        let mut aliases = GtAliases {
            entries: BTreeMap::new(),
        };
        aliases.add_defaults();
        aliases
    }
}

impl GtAliases {
    /// Parses the text of `~/.config/graphite/aliases`; the defaults fill in names the file
    /// does not define.
    pub fn parse(text: &str) -> Result<GtAliases, AliasError> {
        let mut entries: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (index, line) in text.split('\n').enumerate() {
            let number = index + 1;
            let err = |message: String| AliasError {
                line: number,
                message,
            };
            if line.starts_with('#') || line.chars().all(|c| c == ' ' || c == '\r') {
                continue;
            }
            if line.contains('\r') {
                return Err(err(
                    "carriage return: gt keeps it as part of the last word; save the file with \
                     LF line endings"
                        .to_owned(),
                ));
            }
            if line.contains('\t') {
                return Err(err(
                    "tab: gt separates words with spaces only, so the tab joins two words"
                        .to_owned(),
                ));
            }
            if line.starts_with(' ') {
                return Err(err(
                    "leading space: gt reads an empty alias name, so this line never applies"
                        .to_owned(),
                ));
            }
            let words: Vec<&str> = line.split(' ').collect();
            if words.iter().any(|w| w.is_empty()) {
                return Err(err(
                    "empty word (two spaces in a row or a trailing space): gt would pass an \
                     empty argument"
                        .to_owned(),
                ));
            }
            let (name, expansion) = words.split_first().expect("split yields one item");
            if expansion.is_empty() {
                return Err(err(format!(
                    "alias `{name}` has no command; gt ignores this line"
                )));
            }
            entries
                .entry((*name).to_owned())
                .or_insert_with(|| expansion.iter().map(|w| (*w).to_owned()).collect());
        }
        let mut aliases = GtAliases { entries };
        aliases.add_defaults();
        Ok(aliases)
    }

    fn add_defaults(&mut self) {
        for (name, expansion) in DEFAULT_ALIASES {
            self.entries
                .entry(name.to_owned())
                .or_insert_with(|| expansion.split(' ').map(str::to_owned).collect());
        }
    }

    /// The expansion of `name`, if it is an alias.
    pub fn get(&self, name: &str) -> Option<&[String]> {
        self.entries.get(name).map(Vec::as_slice)
    }

    /// All aliases, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// `argv` with its first word expanded, exactly once, when that word is an alias.
    pub fn expand(&self, argv: &[String]) -> Option<Vec<String>> {
        let (first, rest) = argv.split_first()?;
        let expansion = self.get(first)?;
        Some(expansion.iter().chain(rest).cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(a: &GtAliases, name: &str) -> Option<String> {
        a.get(name).map(|w| w.join(" "))
    }

    #[test]
    fn defaults_exist_without_a_file_and_with_an_empty_one() {
        for a in [GtAliases::default(), GtAliases::parse("").unwrap()] {
            assert_eq!(words(&a, "ss").as_deref(), Some("submit --stack"));
            assert_eq!(words(&a, "ls").as_deref(), Some("log short"));
            assert_eq!(words(&a, "ll").as_deref(), Some("log long"));
            assert_eq!(a.iter().count(), 3);
        }
    }

    #[test]
    fn parses_the_file_gt_writes_plus_user_lines() {
        let text = "\n# Edit this file to configure aliases for Graphite commands.\n\
                    # The first word of each line is the alias, and the rest is the command.\n\
                    \n\
                    ls log short\nll log long\nss submit --stack\n\
                    shipit submit --publish\n\
                    ss submit --stack --draft\n\
                    log children\n\
                    eq = log short\n\
                    cm status # not a comment\n\
                    Up top";
        let a = GtAliases::parse(text).unwrap();
        assert_eq!(words(&a, "shipit").as_deref(), Some("submit --publish"));
        // The first line for a name wins.
        assert_eq!(words(&a, "ss").as_deref(), Some("submit --stack"));
        assert_eq!(words(&a, "log").as_deref(), Some("children"));
        assert_eq!(words(&a, "eq").as_deref(), Some("= log short"));
        assert_eq!(words(&a, "cm").as_deref(), Some("status # not a comment"));
        assert_eq!(words(&a, "Up").as_deref(), Some("top"));
        assert_eq!(words(&a, "up"), None);
        let argv: Vec<String> = ["shipit", "--stack"].map(String::from).to_vec();
        assert_eq!(
            a.expand(&argv).unwrap(),
            ["submit", "--publish", "--stack"]
                .map(String::from)
                .to_vec()
        );
        assert_eq!(a.expand(&["log".to_owned()]).unwrap(), ["children"]);
        assert_eq!(a.expand(&["children".to_owned()]), None);
        assert_eq!(a.expand(&[]), None);
    }

    #[test]
    fn a_file_line_overrides_a_default() {
        let a = GtAliases::parse("ss log short\n").unwrap();
        assert_eq!(words(&a, "ss").as_deref(), Some("log short"));
        assert_eq!(words(&a, "ll").as_deref(), Some("log long"));
    }

    #[test]
    fn errors_carry_the_line_number() {
        let cases = [
            ("ok log\n  indented log short\n", 2, "leading space"),
            ("a log\nb log\r\n", 2, "carriage return"),
            ("# c\n\nx\tlog\n", 3, "tab"),
            ("a log  short\n", 1, "empty word"),
            ("a log\nb log \n", 2, "empty word"),
            ("a log\n\n#\nbare\n", 4, "no command"),
        ];
        for (text, line, needle) in cases {
            let e = GtAliases::parse(text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.message.contains(needle), "{text:?}: {e}");
            assert!(e
                .to_string()
                .starts_with(&format!("graphite aliases line {line}: ")));
        }
    }

    #[test]
    fn blank_and_crlf_blank_lines_are_skipped() {
        let a = GtAliases::parse("a log\n   \n\r\nb top\n").unwrap();
        assert_eq!(words(&a, "b").as_deref(), Some("top"));
    }
}
