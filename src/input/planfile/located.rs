//! A YAML (and so JSON) tree where every node and every mapping key knows its line and column.
//!
//! serde_norway (like serde_yaml before it) keeps no positions, so plan files are read from the event stream of
//! `saphyr-parser` and built into [`Node`]s here. Plain scalars resolve by the YAML 1.2 core
//! schema (`null`, `true`, `12`, `1.5`, everything else text); quoted scalars are always text.
//! Anchors and aliases are resolved by copying the anchored node. A file holds one document.

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, ScanError};
use std::collections::HashMap;

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

impl Pos {
    fn from_marker(m: &Marker) -> Pos {
        Pos {
            line: m.line(),
            col: m.col() + 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

/// A mapping key (always text: `1: x` has the key `"1"`).
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub name: String,
    pub pos: Pos,
}

/// Why a file could not be read as YAML at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

/// A problem in a well-formed file that the tree still tolerates (a repeated key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flaw {
    pub pos: Pos,
    pub message: String,
}

impl Node {
    /// What kind of value this is, as error messages name it.
    pub fn kind(&self) -> &'static str {
        kind_of(&self.value)
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Key, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The value under `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key and value under `key` of a mapping.
    pub fn entry(&self, key: &str) -> Option<(&Key, &Node)> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(k, v)| (k, v))
    }

    /// The node at a JSON pointer (`/tasks/0/id`), if there is one.
    pub fn pointer(&self, pointer: &str) -> Option<&Node> {
        let mut node = self;
        for segment in pointer_segments(pointer) {
            node = match &node.value {
                Value::Seq(items) => items.get(segment.parse::<usize>().ok()?)?,
                Value::Map(_) => node.get(&segment)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// The tree as JSON, for schema validation and typed deserialisation.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(n) => J::from(*n),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Int(_) => "an integer",
        Value::Float(_) => "a number",
        Value::Str(_) => "text",
        Value::Seq(_) => "a list",
        Value::Map(_) => "a map",
    }
}

/// The unescaped segments of a JSON pointer.
pub fn pointer_segments(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// Deeper nesting is refused (a plan needs a handful of levels; the tree is recursive).
pub const MAX_DEPTH: usize = 128;
/// The most nodes a plan file may expand to, its aliases' copies counted: a few aliases of
/// aliases (the "billion laughs") cannot make a small file fill memory.
pub const MAX_NODES: usize = 1_000_000;

/// Nodes in `node`, counting no further than `limit`.
fn node_count(node: &Node, limit: usize) -> usize {
    let mut count = 1;
    let mut pending: Vec<&Node> = vec![node];
    while let Some(n) = pending.pop() {
        if count > limit {
            break;
        }
        match &n.value {
            Value::Seq(items) => {
                count += items.len();
                pending.extend(items);
            }
            Value::Map(entries) => {
                count += entries.len();
                pending.extend(entries.iter().map(|(_, v)| v));
            }
            _ => {}
        }
    }
    count
}

enum Frame {
    Seq {
        pos: Pos,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        pos: Pos,
        anchor: usize,
        entries: Vec<(Key, Node)>,
        key: Option<Key>,
    },
}

/// Parses one YAML document (an empty file is `null`).
pub fn parse(text: &str) -> Result<(Node, Vec<Flaw>), SyntaxError> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut flaws = Vec::new();
    let mut root: Option<Node> = None;
    let mut documents = 0;
    let mut nodes = 0usize;
    while let Some(event) = parser.next_event() {
        let (event, span) = event.map_err(|e| syntax_error(&e))?;
        let pos = Pos::from_marker(&span.start);
        if stack.len() > MAX_DEPTH {
            return Err(SyntaxError {
                pos,
                message: format!("nesting deeper than {MAX_DEPTH} levels"),
            });
        }
        let done = match event {
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(SyntaxError {
                        pos,
                        message: "a plan file holds one YAML document; found a second one".into(),
                    });
                }
                None
            }
            Event::Nothing | Event::StreamStart | Event::DocumentEnd => None,
            Event::Alias(id) => match anchors.get(&id) {
                Some(node) => {
                    nodes += node_count(node, MAX_NODES);
                    if nodes > MAX_NODES {
                        return Err(SyntaxError {
                            pos,
                            message: format!(
                                "aliases expand this file past {MAX_NODES} nodes; write it out instead"
                            ),
                        });
                    }
                    Some((
                        Node {
                            value: node.value.clone(),
                            pos,
                        },
                        0,
                    ))
                }
                None => {
                    return Err(SyntaxError {
                        pos,
                        message: "alias to an unknown anchor".into(),
                    })
                }
            },
            Event::Scalar(text, style, anchor, tag) => {
                let forced_text = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let value = if style == ScalarStyle::Plain && !forced_text {
                    resolve_plain(&text)
                } else {
                    Value::Str(text.into_owned())
                };
                Some((Node { value, pos }, anchor))
            }
            Event::SequenceStart(anchor, _) => {
                stack.push(Frame::Seq {
                    pos,
                    anchor,
                    items: Vec::new(),
                });
                None
            }
            Event::MappingStart(anchor, _) => {
                stack.push(Frame::Map {
                    pos,
                    anchor,
                    entries: Vec::new(),
                    key: None,
                });
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq { pos, anchor, items }) => Some((
                    Node {
                        value: Value::Seq(items),
                        pos,
                    },
                    anchor,
                )),
                Some(Frame::Map {
                    pos,
                    anchor,
                    entries,
                    ..
                }) => Some((
                    Node {
                        value: Value::Map(entries),
                        pos,
                    },
                    anchor,
                )),
                None => None,
            },
        };
        let Some((node, anchor)) = done else {
            continue;
        };
        if anchor != 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                Some(k) => entries.push((k, node)),
                None => {
                    let name = match &node.value {
                        Value::Str(s) => s.clone(),
                        Value::Int(n) => n.to_string(),
                        Value::Float(f) => f.to_string(),
                        Value::Bool(b) => b.to_string(),
                        Value::Null => "null".to_owned(),
                        Value::Seq(_) | Value::Map(_) => {
                            return Err(SyntaxError {
                                pos: node.pos,
                                message: format!(
                                    "a mapping key must be text, found {}",
                                    node.kind()
                                ),
                            })
                        }
                    };
                    if let Some((first, _)) = entries.iter().find(|(k, _)| k.name == name) {
                        flaws.push(Flaw {
                            pos: node.pos,
                            message: format!(
                                "duplicate key `{name}` (first at line {})",
                                first.pos.line
                            ),
                        });
                    }
                    *key = Some(Key {
                        name,
                        pos: node.pos,
                    });
                }
            },
        }
    }
    let root = root.unwrap_or(Node {
        value: Value::Null,
        pos: Pos { line: 1, col: 1 },
    });
    Ok((root, flaws))
}

fn syntax_error(e: &ScanError) -> SyntaxError {
    SyntaxError {
        pos: Pos::from_marker(e.marker()),
        message: format!("invalid YAML: {}", e.info()),
    }
}

/// The YAML 1.2 core schema for plain scalars.
fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(n) = text.parse::<i64>() {
            return Value::Int(n);
        }
    }
    if let Some(hex) = text.strip_prefix("0x") {
        if let Ok(n) = i64::from_str_radix(hex, 16) {
            return Value::Int(n);
        }
    }
    if let Some(oct) = text.strip_prefix("0o") {
        if let Ok(n) = i64::from_str_radix(oct, 8) {
            return Value::Int(n);
        }
    }
    let looks_float = {
        let (mantissa, exp) = match digits.find(['e', 'E']) {
            Some(i) => (&digits[..i], Some(&digits[i + 1..])),
            None => (digits, None),
        };
        let mantissa_ok = !mantissa.is_empty()
            && mantissa != "."
            && mantissa.bytes().filter(|&b| b == b'.').count() <= 1
            && mantissa.bytes().all(|b| b.is_ascii_digit() || b == b'.');
        let exp_ok = exp.is_none_or(|e| {
            let e = e.strip_prefix(['-', '+']).unwrap_or(e);
            !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
        });
        mantissa_ok && exp_ok
    };
    if looks_float {
        if let Ok(f) = text.parse::<f64>() {
            return Value::Float(f);
        }
    }
    Value::Str(text.to_owned())
}

/// A problem at a position of a file.
pub fn at(
    path: &std::path::Path,
    pos: Pos,
    message: impl Into<String>,
) -> crate::model::problem::Problem {
    crate::model::problem::Problem::error(path, Some(pos.line), message).at_column(pos.col)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: usize, col: usize) -> Pos {
        Pos { line, col }
    }

    #[test]
    fn block_style_keys_and_values_know_where_they_are() {
        let text = "version: 1\nproject:\n  name: demo\n  build:\n    test: cargo test\ntasks:\n  - id: A-1\n    deps: [x, y]\n";
        let (root, flaws) = parse(text).unwrap();
        assert!(flaws.is_empty());
        assert_eq!(root.pos, at(1, 1));
        assert_eq!(root.entry("project").unwrap().0.pos, at(2, 1));
        let build = root.pointer("/project/build").unwrap();
        assert_eq!(build.entry("test").unwrap().0.pos, at(5, 5));
        assert_eq!(build.get("test").unwrap().pos, at(5, 11));
        let task = root.pointer("/tasks/0").unwrap();
        assert_eq!(task.pos, at(7, 5));
        assert_eq!(task.entry("id").unwrap().1.pos, at(7, 9));
        assert_eq!(root.pointer("/tasks/0/deps/1").unwrap().pos, at(8, 15));
        assert_eq!(root.pointer("/version").unwrap().value, Value::Int(1));
    }

    #[test]
    fn aliases_of_aliases_cannot_expand_without_bound() {
        // Nine levels of ten aliases each: 10^9 nodes from a 400-byte file.
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let e = parse(&text).unwrap_err();
        assert!(e.message.contains("past 1000000 nodes"), "{}", e.message);
        assert_eq!(e.pos.line, 6, "the first alias past the budget");
        // A few aliases are fine.
        let (root, _) = parse("base: &b {x: 1}\none: *b\ntwo: *b\n").unwrap();
        assert_eq!(root.pointer("/two/x").unwrap().value, Value::Int(1));
    }

    #[test]
    fn flow_style_positions() {
        let text = "a: {b: 1, c: [true, \"x\", ~]}\n";
        let (root, _) = parse(text).unwrap();
        let a = root.get("a").unwrap();
        assert_eq!(a.pos, at(1, 4));
        assert_eq!(a.entry("c").unwrap().0.pos, at(1, 11));
        let c = a.get("c").unwrap().as_seq().unwrap();
        assert_eq!(c[0].value, Value::Bool(true));
        assert_eq!((c[1].pos, c[1].as_str()), (at(1, 21), Some("x")));
        assert_eq!(c[2].value, Value::Null);
    }

    #[test]
    fn json_parses_through_the_same_path() {
        let text =
            "{\n  \"version\": 1,\n  \"tasks\": [\n    {\"id\": \"T-1\", \"n\": 2.5}\n  ]\n}\n";
        let (root, _) = parse(text).unwrap();
        let id = root.pointer("/tasks/0/id").unwrap();
        assert_eq!((id.pos, id.as_str()), (at(4, 12), Some("T-1")));
        assert_eq!(root.entry("tasks").unwrap().0.pos, at(3, 3));
        assert_eq!(
            root.to_json(),
            serde_json::json!({"version": 1, "tasks": [{"id": "T-1", "n": 2.5}]})
        );
    }

    #[test]
    fn scalars_resolve_by_the_core_schema() {
        let (root, _) =
            parse("a: '1'\nb: 0x10\nc: 1e3\nd: yes\ne: -7\nf: !!str 12\ng: .5\nh: 1.2.3\n")
                .unwrap();
        let v = |k: &str| root.get(k).unwrap().value.clone();
        assert_eq!(v("a"), Value::Str("1".into()));
        assert_eq!(v("b"), Value::Int(16));
        assert_eq!(v("c"), Value::Float(1000.0));
        assert_eq!(v("d"), Value::Str("yes".into()));
        assert_eq!(v("e"), Value::Int(-7));
        assert_eq!(v("f"), Value::Str("12".into()));
        assert_eq!(v("g"), Value::Float(0.5));
        assert_eq!(v("h"), Value::Str("1.2.3".into()));
    }

    #[test]
    fn anchors_duplicates_and_errors() {
        let (root, flaws) = parse("x: &a [1]\ny: *a\nx: 2\n").unwrap();
        assert_eq!(root.get("y").unwrap().as_seq().unwrap().len(), 1);
        assert_eq!(
            flaws,
            vec![Flaw {
                pos: at(3, 1),
                message: "duplicate key `x` (first at line 1)".into()
            }]
        );
        let err = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.message.starts_with("invalid YAML"), "{err:?}");
        assert!(parse("a: 1\n---\nb: 2\n").is_err());
        assert_eq!(parse("").unwrap().0.value, Value::Null);
    }

    #[test]
    fn hostile_input_is_an_error_not_a_crash() {
        let deep = "[".repeat(200);
        assert!(
            parse(&deep).unwrap_err().message.contains("nesting deeper"),
            "{:?}",
            parse(&deep)
        );
        assert!(parse(&"[".repeat(100_000)).is_err());
        for text in [
            "\t- a",
            "- [",
            "*nope",
            "? [a, b]\n: 1",
            "a: !!binary AAAA",
            ":",
            "{a: *b}",
            "a: |\n  x\n b: 1",
            "\u{feff}a: 1",
            "- - - - -",
            "'unterminated",
            "[a, b]: 1",
            "%YAML 1.2\n---\na: 1",
            "a: 1\n...\n",
            "&x a: &x b",
        ] {
            let _ = parse(text);
        }
    }

    #[test]
    fn a_line_separator_is_content() {
        let (node, _) = parse("a: '\u{2028}  '\nb: \"x\u{2029}y\"\n").unwrap();
        assert_eq!(
            node.to_json(),
            serde_json::json!({"a": "\u{2028}  ", "b": "x\u{2029}y"})
        );
    }

    fn json_value() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(serde_json::Value::from),
            // Without U+2028/U+2029: serde_norway writes YAML 1.1, where they are line breaks
            // (it indents after them inside a quoted scalar); this reader is YAML 1.2, where
            // they are content (`a_line_separator_is_content`).
            "\\PC{0,12}"
                .prop_map(|s| serde_json::Value::String(s.replace(['\u{2028}', '\u{2029}'], " "))),
            prop_oneof![
                Just("yes"),
                Just("1.0"),
                Just("0x1f"),
                Just("~"),
                Just("- a"),
                Just("a: b"),
                Just("#x"),
                Just("true"),
                Just(" padded "),
                Just("multi\nline"),
                Just("")
            ]
            .prop_map(|s| serde_json::Value::String(s.to_owned())),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(serde_json::Value::Array),
                proptest::collection::btree_map("[a-z_]{1,8}", inner, 0..5)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// Whatever serde_norway or serde_json writes, the located reader reads back the same value.
        #[test]
        fn reads_back_what_serde_writes(value in json_value()) {
            let yaml = serde_norway::to_string(&value).unwrap();
            let (node, flaws) = parse(&yaml).unwrap();
            proptest::prop_assert!(flaws.is_empty());
            proptest::prop_assert_eq!(node.to_json(), value.clone(), "yaml:\n{}", yaml);
            let json = serde_json::to_string_pretty(&value).unwrap();
            let (node, _) = parse(&json).unwrap();
            proptest::prop_assert_eq!(node.to_json(), value, "json:\n{}", json);
        }
    }
}
