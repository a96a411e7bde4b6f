//! `orch docs fix`: the repairs of issue docs that are mechanical, planned on the text of one
//! doc as line edits, so exactly what is reported is what changes. Exactly these:
//!
//! - a front matter whose opening `---` line is missing gets it;
//! - a one-line top-level value that is not valid YAML because it is unquoted and contains
//!   `: ` (or, for a text field, starts with an indicator) is single-quoted, same text;
//! - `blocks:` is renamed to `blocked:`;
//! - an edge declared on one side only gets its other side (an entry added to a flow list,
//!   a block list, an empty value, or a new `key: [ID]` line).
//!
//! Nothing else is touched: not the body, not the order, formatting, comments or quoting of
//! other keys. A byte-order mark and the file's line endings stay as they were.

use super::frontmatter;
use crate::model::patch::Op;

/// Fields whose value is text: a value there that is not valid YAML is quoted whatever it
/// starts with. Other keys are quoted only for a `: ` inside.
const TEXT_FIELDS: &[&str] = &["id", "title", "state", "project", "milestone", "parent"];

/// One entry to add to a list of a doc: the missing side of a one-sided edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addition {
    /// `blocked` or `blocked_by`.
    pub key: &'static str,
    /// The reference to add (`ID`, or `project/ID`).
    pub reference: String,
}

/// What one repair did, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repair {
    /// 1-based line of the original the repair is at.
    pub line: usize,
    pub what: String,
}

/// A repair that could not be made, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub line: usize,
    pub what: String,
}

/// The planned repairs of one doc.
#[derive(Debug, Clone, Default)]
pub struct Fixed {
    /// The whole new file (the same bytes when nothing was repaired).
    pub bytes: Vec<u8>,
    pub repairs: Vec<Repair>,
    pub refused: Vec<Refusal>,
    /// The original's lines and what became of each: the diff's input.
    pub ops: Vec<Op>,
}

impl Fixed {
    pub fn changed(&self) -> bool {
        !self.repairs.is_empty()
    }
}

/// A line of the doc: its text and its terminator (`\n`, `\r\n`, or none at the end).
#[derive(Debug, Clone)]
struct Line {
    text: String,
    eol: &'static str,
}

/// Plans the repairs of one doc (`bytes` as read) and the `additions` it should get.
/// Text that is not UTF-8 is left alone.
pub fn fix(bytes: &[u8], additions: &[Addition]) -> Fixed {
    let (bom, body) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (true, rest),
        None => (false, bytes),
    };
    let Ok(text) = std::str::from_utf8(body) else {
        return Fixed {
            bytes: bytes.to_vec(),
            ..Fixed::default()
        };
    };
    let lines = split_lines(text);
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut plan = Plan::default();
    let mut out = Fixed::default();

    let fence_missing = frontmatter::lacks_opening_fence(text);
    if fence_missing {
        plan.insert(0, "---".to_owned());
        out.repairs.push(Repair {
            line: 1,
            what: "added the missing opening `---` of the front matter".to_owned(),
        });
    }
    // The front matter's lines: from the first field to the line before the closing fence.
    let first = usize::from(!fence_missing);
    let close = if fence_missing || lines.first().is_some_and(|l| l.text.trim_end() == "---") {
        lines
            .iter()
            .enumerate()
            .skip(first)
            .find(|(_, l)| matches!(l.text.trim_end(), "---" | "..."))
            .map(|(i, _)| i)
    } else {
        None
    };
    let Some(close) = close else {
        // No front matter to repair (or never closed): nothing is touched.
        return unchanged(bytes, &lines);
    };
    let fm = first..close;
    plan.close = close;

    let keys: Vec<(usize, String)> = fm
        .clone()
        .filter_map(|i| top_level_key(&lines[i].text).map(|(k, _)| (i, k.to_owned())))
        .collect();
    let has_key = |k: &str| keys.iter().any(|(_, key)| key == k);

    for i in fm.clone() {
        let Some((key, value)) = top_level_key(&lines[i].text) else {
            continue;
        };
        let continued = lines
            .get(i + 1)
            .filter(|_| i + 1 < close)
            .is_some_and(|l| is_continuation(&l.text));
        if let Some(quoted) = quote_if_broken(key, value, continued) {
            plan.replace(i, format!("{key}: {quoted}"));
            out.repairs.push(Repair {
                line: i + 1,
                what: format!("quoted the value of `{key}`, which is not valid YAML unquoted"),
            });
        }
        if key == "blocks" {
            if has_key("blocked") {
                out.refused.push(Refusal {
                    line: i + 1,
                    what:
                        "`blocks` and `blocked` are both there: merge them into `blocked` by hand"
                            .to_owned(),
                });
            } else {
                let renamed = format!("blocked{}", &plan.text_of(i, &lines)["blocks".len()..]);
                plan.replace(i, renamed);
                out.repairs.push(Repair {
                    line: i + 1,
                    what: "renamed `blocks` to `blocked`".to_owned(),
                });
            }
        }
    }

    for key in ["blocked_by", "blocked"] {
        let refs: Vec<&str> = additions
            .iter()
            .filter(|a| a.key == key)
            .map(|a| a.reference.as_str())
            .collect();
        if refs.is_empty() {
            continue;
        }
        let synonyms: &[&str] = if key == "blocked" {
            &["blocked", "blocking", "blocks"]
        } else {
            &["blocked_by"]
        };
        let at = synonyms
            .iter()
            .find_map(|s| keys.iter().find(|(_, k)| k == s).map(|(i, _)| *i));
        match add_to_list(&lines, &mut plan, at, close, key, &refs) {
            Ok(line) => out.repairs.push(Repair {
                line,
                what: format!(
                    "added {} to `{key}` (the other side of the edge)",
                    refs.join(", ")
                ),
            }),
            Err(why) => out.refused.push(Refusal {
                line: at.map_or(1, |i| i + 1),
                what: why,
            }),
        }
    }

    out.ops = plan.ops(&lines, eol, bom);
    let mut bytes_out = Vec::with_capacity(bytes.len() + 64);
    if bom {
        bytes_out.extend_from_slice(b"\xEF\xBB\xBF");
    }
    for (i, line) in lines.iter().enumerate() {
        for added in plan.inserted(i) {
            bytes_out.extend_from_slice(added.as_bytes());
            bytes_out.extend_from_slice(eol.as_bytes());
        }
        bytes_out.extend_from_slice(plan.text_of(i, &lines).as_bytes());
        bytes_out.extend_from_slice(line.eol.as_bytes());
    }
    // A fence is added only where what it opens reads as front matter.
    if fence_missing && !reads_as_front_matter(&bytes_out) {
        let mut kept = unchanged(bytes, &lines);
        kept.refused.push(Refusal {
            line: 1,
            what: "the lines before the first `---` do not read as front matter, even with an opening `---`".to_owned(),
        });
        return kept;
    }
    out.bytes = bytes_out;
    out
}

fn reads_as_front_matter(bytes: &[u8]) -> bool {
    let text = std::str::from_utf8(bytes).unwrap_or_default();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    frontmatter::split(text).is_ok_and(|s| {
        matches!(
            serde_norway::from_str::<serde_norway::Value>(s.yaml),
            Ok(serde_norway::Value::Mapping(_))
        )
    })
}

fn unchanged(bytes: &[u8], lines: &[Line]) -> Fixed {
    Fixed {
        bytes: bytes.to_vec(),
        ops: lines
            .iter()
            .map(|l| Op::Keep(format!("{}{}", l.text, l.eol)))
            .collect(),
        ..Fixed::default()
    }
}

/// Line edits: replacements of original lines and lines inserted before them.
#[derive(Debug, Default)]
struct Plan {
    replaced: std::collections::BTreeMap<usize, String>,
    before: std::collections::BTreeMap<usize, Vec<String>>,
    /// New `key: [..]` lines, at the end of the front matter: after any list item added
    /// there too (an item must stay under its key).
    appended: Vec<String>,
    /// The closing fence's line, before which `appended` goes.
    close: usize,
}

impl Plan {
    fn replace(&mut self, i: usize, text: String) {
        self.replaced.insert(i, text);
    }

    fn insert(&mut self, before: usize, text: String) {
        self.before.entry(before).or_default().push(text);
    }

    /// Every line inserted before original line `i`, in order.
    fn inserted(&self, i: usize) -> impl Iterator<Item = &String> {
        let tail = (i == self.close).then_some(&self.appended);
        self.before
            .get(&i)
            .into_iter()
            .flatten()
            .chain(tail.into_iter().flatten())
    }

    fn text_of<'a>(&'a self, i: usize, lines: &'a [Line]) -> &'a str {
        self.replaced
            .get(&i)
            .map_or(lines[i].text.as_str(), String::as_str)
    }

    /// The diff of the original to the fixed doc, line by line, each line with its
    /// terminator; `eol` ends inserted lines, `bom` opens the first line of either side.
    fn ops(&self, lines: &[Line], eol: &str, bom: bool) -> Vec<Op> {
        let mut ops = Vec::with_capacity(lines.len() + 2);
        for (i, line) in lines.iter().enumerate() {
            for added in self.inserted(i) {
                ops.push(Op::Add(format!("{added}{eol}")));
            }
            let old = format!("{}{}", line.text, line.eol);
            match self.replaced.get(&i) {
                Some(new) if *new != line.text => {
                    ops.push(Op::Remove(old));
                    ops.push(Op::Add(format!("{new}{}", line.eol)));
                }
                _ => ops.push(Op::Keep(old)),
            }
        }
        if bom {
            put_bom(&mut ops);
        }
        ops
    }
}

/// The byte-order mark belongs to the first line of each side: of the original, and of the
/// fixed doc (which may be a line added before it).
fn put_bom(ops: &mut Vec<Op>) {
    const BOM: char = '\u{feff}';
    let old = ops.iter().position(|o| !matches!(o, Op::Add(_)));
    let new = ops.iter().position(|o| !matches!(o, Op::Remove(_)));
    match (old, new) {
        (Some(o), Some(n)) if o == n => {
            if let Op::Keep(t) = &mut ops[o] {
                t.insert(0, BOM);
            }
        }
        (old, _) => {
            if let Some(o) = old {
                if let Op::Keep(t) = ops[o].clone() {
                    ops[o] = Op::Remove(t.clone());
                    ops.insert(o + 1, Op::Add(t));
                }
                if let Op::Remove(t) = &mut ops[o] {
                    t.insert(0, BOM);
                }
            }
            if let Some(n) = ops.iter().position(|o| !matches!(o, Op::Remove(_))) {
                if let Op::Add(t) | Op::Keep(t) = &mut ops[n] {
                    t.insert(0, BOM);
                }
            }
        }
    }
}

fn split_lines(text: &str) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (line, eol, advance) = match rest.find('\n') {
            Some(nl) if nl > 0 && rest.as_bytes()[nl - 1] == b'\r' => {
                (&rest[..nl - 1], "\r\n", nl + 1)
            }
            Some(nl) => (&rest[..nl], "\n", nl + 1),
            None => (rest, "", rest.len()),
        };
        lines.push(Line {
            text: line.to_owned(),
            eol,
        });
        rest = &rest[advance..];
    }
    lines
}

/// `(key, value)` of a top-level `key: value` line (value trimmed, maybe empty).
fn top_level_key(line: &str) -> Option<(&str, &str)> {
    if line.starts_with([' ', '\t', '#', '-']) {
        return None;
    }
    let colon = line.find(':')?;
    let key = &line[..colon];
    let mut chars = key.chars();
    let plain = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let after = &line[colon + 1..];
    if !plain || !(after.is_empty() || after.starts_with([' ', '\t'])) {
        return None;
    }
    Some((key, after.trim()))
}

/// A line that carries on the value of the key above it: indented, or a `- ` item.
fn is_continuation(line: &str) -> bool {
    (line.starts_with([' ', '\t']) && !line.trim().is_empty()) || line.starts_with('-')
}

/// `'value'` when `key: value` is one line that YAML refuses only because the value is not
/// quoted: it contains `: ` (or ends in `:`), or — for a text field — starts with an
/// indicator. The quoted form must read back as the same text.
fn quote_if_broken(key: &str, value: &str, continued: bool) -> Option<String> {
    if value.is_empty() || continued || value.starts_with(['"', '\'']) {
        return None;
    }
    if serde_norway::from_str::<serde_norway::Value>(&format!("{key}: {value}")).is_ok() {
        return None;
    }
    let colon = value.contains(": ") || value.ends_with(':');
    let indicator = value.starts_with([
        '[', ']', '{', '}', '&', '*', '!', '|', '>', '%', '@', '`', ',', '?', '-', '#',
    ]);
    if !(colon || (indicator && TEXT_FIELDS.contains(&key))) {
        return None;
    }
    let quoted = format!("'{}'", value.replace('\'', "''"));
    let back: serde_norway::Value = serde_norway::from_str(&format!("{key}: {quoted}")).ok()?;
    (back.get(key)?.as_str()? == value).then_some(quoted)
}

/// Adds `refs` to the list under `key` (whose line is `at`, or absent): returns the 1-based
/// line the repair is at, or why it cannot be done.
fn add_to_list(
    lines: &[Line],
    plan: &mut Plan,
    at: Option<usize>,
    close: usize,
    key: &str,
    refs: &[&str],
) -> Result<usize, String> {
    let Some(i) = at else {
        plan.appended.push(format!("{key}: [{}]", refs.join(", ")));
        return Ok(close + 1);
    };
    let current = plan.text_of(i, lines).to_owned();
    let (name, value) = top_level_key(&current).ok_or("not a `key: value` line")?;
    let name = name.to_owned();
    let items: Vec<usize> = (i + 1..close)
        .take_while(|&j| is_continuation(&lines[j].text) || lines[j].text.trim().is_empty())
        .filter(|&j| !lines[j].text.trim().is_empty())
        .collect();
    let (value, comment) = split_comment(value);
    if matches!(value, "" | "null" | "~") && items.is_empty() {
        let comment = comment.map(|c| format!(" {c}")).unwrap_or_default();
        plan.replace(i, format!("{name}: [{}]{comment}", refs.join(", ")));
        return Ok(i + 1);
    }
    if value.is_empty() && !items.is_empty() {
        let first = &lines[items[0]].text;
        let last = *items.last().expect("items");
        let indent: String = first.chars().take_while(|c| *c == ' ').collect();
        if !items
            .iter()
            .all(|&j| lines[j].text.trim_start().starts_with("- "))
        {
            return Err(format!(
                "`{name}` is not a plain list: add the entry by hand"
            ));
        }
        for r in refs {
            plan.insert(last + 1, format!("{indent}- {r}"));
        }
        return Ok(last + 2);
    }
    if value.starts_with('[') && value.ends_with(']') && items.is_empty() {
        let inner = value[1..value.len() - 1].trim();
        let joined = if inner.is_empty() {
            refs.join(", ")
        } else {
            format!("{inner}, {}", refs.join(", "))
        };
        let comment = comment.map(|c| format!(" {c}")).unwrap_or_default();
        plan.replace(i, format!("{name}: [{joined}]{comment}"));
        return Ok(i + 1);
    }
    Err(format!(
        "`{name}` is not a one-line `[…]` list or a `- item` list: add {} by hand",
        refs.join(", ")
    ))
}

/// A value and its trailing ` # comment`, when the `#` is outside brackets and quotes.
fn split_comment(value: &str) -> (&str, Option<&str>) {
    match value.find(" #") {
        Some(at) if !value[..at].contains(['"', '\'']) => {
            (value[..at].trim_end(), Some(value[at + 1..].trim()))
        }
        _ => (value, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(text: &str, additions: &[Addition]) -> (String, Vec<String>) {
        let f = fix(text.as_bytes(), additions);
        (
            String::from_utf8(f.bytes).unwrap(),
            f.repairs
                .iter()
                .map(|r| format!("{}: {}", r.line, r.what))
                .collect(),
        )
    }

    fn add(key: &'static str, reference: &str) -> Addition {
        Addition {
            key,
            reference: reference.to_owned(),
        }
    }

    #[test]
    fn a_sound_doc_is_left_byte_for_byte() {
        let doc = "---\nid: A-1\ntitle: \"Fix: it\"\nmilestone: M1\nblocked: [B-1]\n---\nbody: x\n";
        let (out, repairs) = fixed(doc, &[]);
        assert_eq!(out, doc);
        assert!(repairs.is_empty());
    }

    #[test]
    fn each_repair_changes_only_its_line() {
        let doc = "id: A-1\r\ntitle: Event engine: subduction + rift\r\nstate: planned # keep\r\n\
                   milestone: M1\r\nblocks: [B-1]\r\nblocked_by:\r\n  - C-1\r\n---\r\n\r\n## Body: x\r\n";
        let (out, repairs) = fixed(doc, &[add("blocked_by", "D-1"), add("blocked", "E-1")]);
        assert_eq!(
            out,
            "---\r\nid: A-1\r\ntitle: 'Event engine: subduction + rift'\r\nstate: planned # keep\r\n\
             milestone: M1\r\nblocked: [B-1, E-1]\r\nblocked_by:\r\n  - C-1\r\n  - D-1\r\n---\r\n\r\n## Body: x\r\n"
        );
        assert_eq!(
            repairs,
            [
                "1: added the missing opening `---` of the front matter",
                "2: quoted the value of `title`, which is not valid YAML unquoted",
                "5: renamed `blocks` to `blocked`",
                "8: added D-1 to `blocked_by` (the other side of the edge)",
                "5: added E-1 to `blocked` (the other side of the edge)",
            ]
        );
        // The fixed doc parses, with the same title text.
        let doc = super::super::issue::parse(std::path::Path::new("d.md"), out.as_bytes()).unwrap();
        assert_eq!(doc.title, "Event engine: subduction + rift");
        assert_eq!(doc.blocked, ["B-1", "E-1"]);
        assert_eq!(doc.blocked_by, ["C-1", "D-1"]);
        // A second run has nothing to do.
        assert!(fixed(&out, &[]).1.is_empty());
    }

    #[test]
    fn lists_of_every_shape_get_the_missing_side() {
        let base = "---\nid: A\ntitle: t\nmilestone: M1\n";
        let cases = [
            ("blocked: []\n", "blocked: [X]\n"),
            ("blocked:\n", "blocked: [X]\n"),
            ("blocked: null # none yet\n", "blocked: [X] # none yet\n"),
            ("blocking: [B] # why\n", "blocking: [B, X] # why\n"),
            ("blocked:\n- B\n", "blocked:\n- B\n- X\n"),
            ("", "blocked: [X]\n"),
        ];
        for (list, want) in cases {
            let doc = format!("{base}{list}---\nbody\n");
            let (out, repairs) = fixed(&doc, &[add("blocked", "X")]);
            assert_eq!(out, format!("{base}{want}---\nbody\n"), "{list:?}");
            assert_eq!(repairs.len(), 1);
        }
        let odd = format!("{base}blocked: [B,\n  C]\n---\n");
        let f = fix(odd.as_bytes(), &[add("blocked", "X")]);
        assert!(f.repairs.is_empty() && f.refused.len() == 1, "{f:?}");
        assert_eq!(f.bytes, odd.as_bytes());
    }

    #[test]
    fn what_is_not_mechanical_is_left() {
        let cases = [
            "---\nid: A\ntitle: t\nmilestone: M1\nblocked_by: [A, B\n---\n",
            "---\nid: A\ntitle: \"unterminated\nmilestone: M1\n---\n",
            "# Title\n\nid: A\n",
            "---\nid: A\ntitle: a\n  b: c\n---\n",
            "---\nid: A\nnote: [x] y\n---\n",
        ];
        for doc in cases {
            let (out, repairs) = fixed(doc, &[]);
            assert_eq!(out, doc);
            assert!(repairs.is_empty(), "{doc:?}: {repairs:?}");
        }
        // A text field starting with an indicator is quoted; the BOM stays.
        let (out, _) = fixed("\u{feff}---\nid: A\ntitle: [WIP] it's done\n---\n", &[]);
        assert_eq!(out, "\u{feff}---\nid: A\ntitle: '[WIP] it''s done'\n---\n");
        let f = fix(b"---\nblocks: [A]\nblocked: [B]\n---\n", &[]);
        assert!(f.repairs.is_empty());
        assert!(f.refused[0].what.contains("merge them"));
    }

    #[test]
    fn the_diff_is_unified() {
        let doc = "id: A\ntitle: a: b\nmilestone: M1\n---\nbody\n";
        let f = fix(doc.as_bytes(), &[]);
        let diff = crate::report::patch::unified_diff(std::path::Path::new("d.md"), &f.ops);
        assert_eq!(
            diff,
            "--- a/d.md\n+++ b/d.md\n@@ -1,5 +1,6 @@\n+---\n id: A\n-title: a: b\n+title: 'a: b'\n milestone: M1\n ---\n body\n"
        );
    }
}
