//! The front matter most issue docs have, read without a YAML parser: one `key: value` per
//! line at column 0, each value a plain word or phrase, a double-quoted string without
//! escapes, a whole number, `null`, or a flow list of those. Anything else (a comment, an
//! indented line, a quote with an escape, a word that YAML might read as a number, a
//! boolean or a date, a repeated key) makes [`read`] say `None`, and the full YAML reader
//! reads the doc (and says what is wrong with it). What it does read is what the full reader
//! reads: a property test holds the two together.
//!
//! Why: a tree of thousands of docs spends most of `orch plan` in the YAML reader.

use serde_norway::{Mapping, Number, Value};

/// The mapping `yaml` holds, when it is all in the plain shape (see the module doc), with the
/// 0-based line each key is on (every key is on one line, once).
pub fn read_with_lines(yaml: &str) -> Option<(Mapping, Vec<(String, usize)>)> {
    let mut map = Mapping::new();
    let mut lines = Vec::new();
    for (i, line) in yaml.lines().enumerate() {
        if line.bytes().all(|b| b == b' ') {
            continue;
        }
        let (key, rest) = line.split_once(':')?;
        if !is_key(key) {
            return None;
        }
        let value = match rest {
            "" => Value::Null,
            _ => value(rest.strip_prefix(' ')?.trim_end_matches(' '))?,
        };
        if map.insert(Value::String(key.to_owned()), value).is_some() {
            return None;
        }
        lines.push((key.to_owned(), i));
    }
    Some((map, lines))
}

/// A key at column 0: a letter or `_`, then letters, digits, `_` or `-`; not a word YAML
/// reads as something else (`true: x` has a boolean key), nor longer than 128 characters
/// (YAML gives up looking for a key's `:` after 1,024).
fn is_key(key: &str) -> bool {
    let mut chars = key.chars();
    key.len() <= 128
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !special(key)
}

/// One value: a flow list `[a, b]` or a scalar.
fn value(text: &str) -> Option<Value> {
    if let Some(inner) = text.strip_prefix('[') {
        let inner = inner.strip_suffix(']')?;
        if inner.trim().is_empty() {
            return Some(Value::Sequence(Vec::new()));
        }
        let items: Option<Vec<Value>> = inner
            .split(',')
            .map(|item| scalar(item.trim_matches(' ')))
            .collect();
        return items.map(Value::Sequence);
    }
    scalar(text)
}

/// A scalar: a double-quoted string with no escape, `null`, a whole number, or a plain word
/// or phrase that can only be a string.
fn scalar(text: &str) -> Option<Value> {
    if let Some(inner) = text.strip_prefix('"') {
        let inner = inner.strip_suffix('"')?;
        if inner.contains(['"', '\\']) || !inner.chars().all(quotable) {
            return None;
        }
        return Some(Value::String(inner.to_owned()));
    }
    if text == "null" {
        return Some(Value::Null);
    }
    if let Some(n) = whole_number(text) {
        return Some(Value::Number(n));
    }
    plain_string(text).then(|| Value::String(text.to_owned()))
}

/// A character YAML keeps as it is inside double quotes: not a control character, not one of
/// the line breaks YAML 1.1 knows beyond `\n` (U+0085, U+2028, U+2029: spaces around them are
/// folded away, and a `---` after one ends the document), not a byte-order mark, and not
/// U+FFFE or U+FFFF (which the YAML reader refuses).
fn quotable(c: char) -> bool {
    !c.is_control()
        && !matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{FEFF}' | '\u{FFFE}' | '\u{FFFF}'
        )
}

/// `0`, or digits not starting with `0`, optionally after `-`: within 64 bits.
fn whole_number(text: &str) -> Option<Number> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let canonical = digits == "0"
        || (digits.starts_with(|c: char| ('1'..='9').contains(&c))
            && digits.bytes().all(|b| b.is_ascii_digit()));
    if !canonical || digits.len() > 18 {
        return None;
    }
    match text.starts_with('-') {
        true => text.parse::<i64>().ok().map(Number::from),
        false => text.parse::<u64>().ok().map(Number::from),
    }
}

/// A plain scalar YAML reads as this very string and nothing else: it opens with a letter and
/// holds only letters, digits, spaces and `-_./()+`, no two spaces in a row, and it is not a
/// word YAML gives another meaning (`true`, `no`, `~`, `.inf`, …). A letter first rules out
/// numbers, dates and indicators.
fn plain_string(text: &str) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    first.is_ascii_alphabetic()
        && text.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.' | '/' | '(' | ')' | '+')
        })
        && !text.contains("  ")
        && !text.ends_with(' ')
        && !special(text)
}

fn special(word: &str) -> bool {
    SPECIAL_WORDS.iter().any(|w| word.eq_ignore_ascii_case(w))
}

/// Words YAML (1.1 or 1.2) reads as something other than a string.
const SPECIAL_WORDS: &[&str] = &[
    "null", "true", "false", "yes", "no", "on", "off", "y", "n", "inf", "nan",
];

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn read(yaml: &str) -> Option<Mapping> {
        read_with_lines(yaml).map(|(map, _)| map)
    }

    fn full(yaml: &str) -> Option<Value> {
        serde_norway::from_str::<Value>(yaml).ok()
    }

    #[test]
    fn the_docs_front_matter_reads_as_the_full_reader_reads_it() {
        let yaml = "id: GEN-1003\ntitle: \"Refactor session store (1003)\"\nstate: in_progress\npriority: 2\nestimate: 1\nproject: bench\nmilestone: M1\nassignees: [codex]\nlabels: [API, Docs]\nparent: null\nchildren: []\nblocked_by: [GEN-519, GEN-627]\nblocked: [GEN-1431]\nrelated_to: []\n";
        let fast = read(yaml).expect("the plain shape");
        assert_eq!(Some(Value::Mapping(fast)), full(yaml));
    }

    #[test]
    fn the_sample_docs_take_the_plain_path() {
        // The point of the plain reader: the docs people write are read by it.
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample-docs");
        let mut read_plain = 0;
        for entry in walkdir::WalkDir::new(root) {
            let path = entry.unwrap().into_path();
            if !path.to_string_lossy().contains("/issues/")
                || path.extension().is_none_or(|e| e != "md")
            {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let split = crate::input::docs::frontmatter::split(&text).unwrap();
            let fast = read(split.yaml).unwrap_or_else(|| panic!("{} is plain", path.display()));
            assert_eq!(
                Some(Value::Mapping(fast)),
                full(split.yaml),
                "{}",
                path.display()
            );
            read_plain += 1;
        }
        assert!(read_plain >= 10, "{read_plain} docs");
    }

    #[test]
    fn what_is_not_plain_goes_to_the_full_reader() {
        for yaml in [
            "id: A-1 # a comment\n",
            "# a comment\nid: A-1\n",
            "title: \"a \\\"quote\\\"\"\n",
            "title: 'single'\n",
            "done: yes\n",
            "done: True\n",
            "when: 2026-01-05\n",
            "n: 0x1f\n",
            "n: 012\n",
            "n: 1.5\n",
            "n: ~\n",
            "labels:\n  - a\n",
            "id: A-1\nid: A-2\n",
            "title: a: b\n",
            "labels: [a, [b]]\n",
            "labels: {a: b}\n",
            "x: &anchor a\n",
            "x:\ttab\n",
            "  id: A-1\n",
            "'id': A-1\n",
            "true: x\n",
            "id:A-1\n",
            "title: \"a \u{2028}b\"\n",
            "title: \"x\u{2029}--- y\"\n",
            "title: \"a\u{FFFF}\"\n",
            "title: \"a\u{FEFF}\"\n",
        ] {
            assert_eq!(read(yaml), None, "{yaml:?}");
        }
        let long_key = format!("{}: v\n", "k".repeat(1025));
        assert_eq!(read(&long_key), None);
        // Letters beyond ASCII in quotes read as they are.
        for yaml in ["title: \"Café — ünïcode ✓\"\n", "title: \"日本語\"\n"] {
            let fast = read(yaml).expect("plain");
            assert_eq!(Some(Value::Mapping(fast)), full(yaml), "{yaml:?}");
        }
    }

    /// Pieces of front matter, plain and not.
    fn word() -> impl Strategy<Value = String> {
        prop_oneof![
            "[A-Za-z][A-Za-z0-9_./()+-]{0,12}",
            "[A-Za-z]{1,6}( [A-Za-z0-9-]{1,6}){0,3}",
            "-?[0-9]{1,20}",
            "[0-9][0-9.:-]{0,10}",
            Just("null".to_owned()),
            Just("~".to_owned()),
            "(?i)(true|false|yes|no|on|off|y|n|null|inf|nan)",
            "\\.(inf|nan|Inf|NaN)",
            "\"[^\"\\\\\\n]{0,12}\"",
            "\"[a-z\\\\\"]{0,6}\"",
            "'[a-z ]{0,6}'",
            "\"[a \u{2028}\u{2029}\u{85}\u{FEFF}\u{FFFF}é—✓-]{0,6}\"",
            "[a-z]{1,4}[#&*!|>%@`,:?{}\\[\\]][a-z]{0,3}",
        ]
    }

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => word(),
            2 => prop::collection::vec(word(), 0..4).prop_map(|w| format!("[{}]", w.join(", "))),
            1 => Just(String::new()),
        ]
    }

    fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            8 => ("[a-z_][a-z_0-9-]{0,8}|k{1020,1030}", value()).prop_map(|(k, v)| match v.is_empty() {
                true => format!("{k}:"),
                false => format!("{k}: {v}"),
            }),
            1 => Just(String::new()),
            1 => "[ #\\t-][a-z: ]{0,8}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(6000))]
        /// Whatever the plain reader reads, the full reader reads the same.
        #[test]
        fn the_plain_reader_never_disagrees_with_the_full_one(
            lines in prop::collection::vec(line(), 0..8)
        ) {
            let yaml = lines.join("\n") + "\n";
            if let Some((_, lines)) = read_with_lines(&yaml) {
                // Each key's line is the one the full reader's doc would name.
                let named = crate::input::docs::issue::field_lines(&yaml, 1);
                for (key, i) in &lines {
                    prop_assert_eq!(named.get(key), Some(i + 1), "{:?}", yaml);
                }
            }
            if let Some(fast) = read(&yaml) {
                let expected = match full(&yaml) {
                    Some(Value::Null) => Some(Value::Mapping(Mapping::new())),
                    other => other,
                };
                prop_assert_eq!(Some(Value::Mapping(fast)), expected, "{:?}", yaml);
            }
        }
    }
}
