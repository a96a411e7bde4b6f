//! Top-level definitions of a source file, found line by line with anchored regexes.
//!
//! This is deliberately not a parser: each language has a short table of patterns matched
//! at the start of a line (column 0 for languages whose top level is unindented, a little
//! indentation allowed where members conventionally nest: Java, Kotlin, C#, Ruby). The first
//! pattern that matches a line wins. The result is an index for navigation, so a rare miss or
//! an extra hit is acceptable; speed and predictability matter more.

use super::{Def, Lang};
use regex::Regex;
use std::sync::OnceLock;

/// Lines longer than this are skipped (minified code, data tables).
const MAX_LINE: usize = 400;

/// Which language a path holds, from its name, or from the first line (`#!`) when the name
/// has no extension.
pub fn detect(path: &str, first_line: Option<&[u8]>) -> Option<Lang> {
    let name = path.rsplit('/').next().unwrap_or(path);
    match name {
        "Rakefile" | "Gemfile" | "Guardfile" | "Vagrantfile" => return Some(Lang::Ruby),
        _ => {}
    }
    let Some((stem, ext)) = name.rsplit_once('.') else {
        return first_line.and_then(from_shebang);
    };
    if stem.is_empty() {
        // A dotfile such as `.bashrc`.
        return match ext {
            "bashrc" | "bash_profile" | "profile" | "zshrc" => Some(Lang::Shell),
            _ => None,
        };
    }
    Some(match ext.to_ascii_lowercase().as_str() {
        "rs" => Lang::Rust,
        "py" | "pyi" => Lang::Python,
        "js" | "mjs" | "cjs" | "jsx" => Lang::JavaScript,
        "ts" | "tsx" | "mts" | "cts" => Lang::TypeScript,
        "go" => Lang::Go,
        "java" => Lang::Java,
        "kt" | "kts" => Lang::Kotlin,
        "cs" => Lang::CSharp,
        "c" | "h" => Lang::C,
        "cc" | "cpp" | "cxx" | "c++" | "hh" | "hpp" | "hxx" | "h++" | "ipp" => Lang::Cpp,
        "rb" | "rake" | "gemspec" => Lang::Ruby,
        "sh" | "bash" | "zsh" | "ksh" => Lang::Shell,
        _ => return None,
    })
}

fn from_shebang(line: &[u8]) -> Option<Lang> {
    let line = std::str::from_utf8(line).ok()?.strip_prefix("#!")?;
    let mut words = line.split_whitespace();
    let mut prog = words.next()?.rsplit('/').next()?;
    if prog == "env" {
        prog = words.find(|w| !w.starts_with('-'))?;
    }
    let prog = prog.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    match prog {
        "sh" | "bash" | "zsh" | "ksh" | "dash" => Some(Lang::Shell),
        "python" => Some(Lang::Python),
        "ruby" => Some(Lang::Ruby),
        "node" | "nodejs" => Some(Lang::JavaScript),
        _ => None,
    }
}

/// One line pattern: capture group 1 is the name; `kind` is what it is.
struct Rule {
    re: Regex,
    kind: &'static str,
    /// For `KIND_FROM_GROUP`: the kind is capture group 1 and the name group 2.
    kind_group: bool,
}

const KIND_FROM_GROUP: &str = "";

fn rule(kind: &'static str, pattern: &str) -> Rule {
    Rule {
        re: Regex::new(pattern).expect("built-in repomap pattern compiles"),
        kind,
        kind_group: kind.is_empty(),
    }
}

struct Table {
    /// Whether definitions may be indented (else lines starting with whitespace are skipped
    /// before any pattern runs).
    indented: bool,
    rules: Vec<Rule>,
}

const RUST_VIS: &str = r"(?:pub(?:\s*\([^)]*\))?\s+)?";

fn table(lang: Lang) -> &'static Table {
    static TABLES: OnceLock<Vec<(Lang, Table)>> = OnceLock::new();
    let tables = TABLES.get_or_init(|| {
        vec![
            (
                Lang::Rust,
                Table {
                    indented: false,
                    rules: vec![
                        rule(
                            "fn",
                            &format!(
                                r#"^{RUST_VIS}(?:default\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?(?:extern\s+(?:"[^"]*"\s+)?)?fn\s+([A-Za-z_]\w*)"#
                            ),
                        ),
                        rule(
                            KIND_FROM_GROUP,
                            &format!(
                                r"^{RUST_VIS}(?:unsafe\s+)?(?:auto\s+)?(struct|enum|union|trait|type|mod)\s+([A-Za-z_]\w*)"
                            ),
                        ),
                        rule("macro", r"^macro_rules!\s*([A-Za-z_]\w*)"),
                    ],
                },
            ),
            (
                Lang::Python,
                Table {
                    indented: false,
                    rules: vec![
                        rule("def", r"^(?:async\s+)?def\s+([A-Za-z_]\w*)"),
                        rule("class", r"^class\s+([A-Za-z_]\w*)"),
                    ],
                },
            ),
            (Lang::JavaScript, js_table()),
            (Lang::TypeScript, js_table()),
            (
                Lang::Go,
                Table {
                    indented: false,
                    rules: vec![
                        rule(
                            "method",
                            r"^func\s*\(\s*(?:[A-Za-z_]\w*\s+)?\*?\s*([A-Za-z_]\w*(?:\[[^\]]*\])?\s*\)\s*[A-Za-z_]\w*)",
                        ),
                        rule("func", r"^func\s+([A-Za-z_]\w*)"),
                        rule("type", r"^type\s+([A-Za-z_]\w*)"),
                    ],
                },
            ),
            (Lang::Java, jvm_table(false)),
            (Lang::Kotlin, jvm_table(true)),
            (Lang::CSharp, jvm_table(false)),
            (Lang::C, c_table()),
            (Lang::Cpp, c_table()),
            (
                Lang::Ruby,
                Table {
                    indented: true,
                    rules: vec![
                        rule(
                            "def",
                            r"^\s{0,4}def\s+((?:self\.)?[A-Za-z_]\w*[?!=]?|[+\-*/%<>=!\[\]~^&|]+)",
                        ),
                        rule("class", r"^\s{0,4}class\s+([A-Z][\w:]*)"),
                        rule("module", r"^\s{0,4}module\s+([A-Z][\w:]*)"),
                    ],
                },
            ),
            (
                Lang::Shell,
                Table {
                    indented: false,
                    rules: vec![
                        rule("function", r"^function\s+([A-Za-z_][\w.:-]*)"),
                        rule("function", r"^([A-Za-z_][\w.:-]*)\s*\(\s*\)"),
                    ],
                },
            ),
        ]
    });
    &tables
        .iter()
        .find(|(l, _)| *l == lang)
        .expect("every language has a table")
        .1
}

fn js_table() -> Table {
    const EXPORT: &str = r"(?:export\s+)?(?:default\s+)?(?:declare\s+)?";
    Table {
        indented: false,
        rules: vec![
            rule(
                "function",
                &format!(r"^{EXPORT}(?:async\s+)?function\s*\*?\s*([A-Za-z_$][\w$]*)"),
            ),
            rule(
                "class",
                &format!(r"^{EXPORT}(?:abstract\s+)?class\s+([A-Za-z_$][\w$]*)"),
            ),
            rule(
                "interface",
                &format!(r"^{EXPORT}interface\s+([A-Za-z_$][\w$]*)"),
            ),
            rule(
                "type",
                &format!(r"^{EXPORT}type\s+([A-Za-z_$][\w$]*)\s*(?:<[^=]*>)?\s*="),
            ),
            rule(
                "enum",
                &format!(r"^{EXPORT}(?:const\s+)?enum\s+([A-Za-z_$][\w$]*)"),
            ),
            rule(
                "function",
                r"^(?:export\s+)?(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::[^=]*)?=\s*(?:async\s+)?(?:function\b|\([^)]*\)\s*(?::[^=]*)?=>|[A-Za-z_$][\w$]*\s*=>)",
            ),
            rule("const", r"^export\s+(?:const|let|var)\s+([A-Za-z_$][\w$]*)"),
            rule("export", r"^export\s+(default)\b"),
            rule("export", r"^(module\.exports)\s*="),
        ],
    }
}

fn jvm_table(kotlin: bool) -> Table {
    const MODIFIERS: &str = r"(?:(?:public|private|protected|internal|static|final|abstract|sealed|non-sealed|partial|open|data|inner|enum|annotation|value|readonly|ref|unsafe|new|file|strictfp|companion|fun|expect|actual)\s+)*";
    let mut rules = vec![rule(
        KIND_FROM_GROUP,
        &format!(
            r"^\s{{0,4}}(?:@\w+(?:\([^)]*\))?\s+)*{MODIFIERS}(class|interface|enum|record|object|struct)\s+([A-Za-z_]\w*)"
        ),
    )];
    if kotlin {
        rules.push(rule(
            "fun",
            r"^(?:(?:public|private|internal|inline|suspend|operator|infix|tailrec|external|expect|actual)\s+)*fun\s+(?:<[^>]*>\s*)?((?:[A-Za-z_][\w.<>?]*\.)?[A-Za-z_]\w*)",
        ));
        rules.push(rule(
            "typealias",
            r"^(?:(?:public|private|internal)\s+)?typealias\s+([A-Za-z_]\w*)",
        ));
    }
    Table {
        indented: true,
        rules,
    }
}

fn c_table() -> Table {
    Table {
        indented: false,
        rules: vec![
            rule(
                KIND_FROM_GROUP,
                r"^(?:typedef\s+)?(?:template\s*<[^>]*>\s*)?(struct|class|enum|union)\s+(?:class\s+|struct\s+)?(?:[A-Z_][A-Z0-9_]*\s+)?([A-Za-z_]\w*)\s*(?:final\s*)?(?:[:{]|$)",
            ),
            rule("namespace", r"^namespace\s+([A-Za-z_][\w:]*)"),
            rule("typedef", r"^typedef\s+[^;]*?\(\s*\*\s*([A-Za-z_]\w*)\s*\)"),
            rule(
                "typedef",
                r"^typedef\s+[^;(]*?\b([A-Za-z_]\w*)\s*(?:\[[^\]]*\]\s*)*;",
            ),
            rule("typedef", r"^using\s+([A-Za-z_]\w*)\s*="),
            rule("define", r"^#\s*define\s+([A-Za-z_]\w*)\("),
            rule(
                "fn",
                r"^(?:[A-Za-z_][\w:<>,\s\*&]*?[\s\*&])?((?:[A-Za-z_]\w*::)*~?[A-Za-z_]\w*)\s*\([^;{}]*\)?\s*(?:const\s*)?(?:noexcept\s*)?(?:;|\{|$)",
            ),
        ],
    }
}

/// Words that start a C/C++ statement, never a function's name.
const C_NOT_NAMES: &[&str] = &[
    "if", "for", "while", "switch", "return", "sizeof", "else", "do", "case", "goto", "defined",
];

/// Every top-level definition of `text`, in line order (lines numbered from 1).
pub fn defs(lang: Lang, text: &str) -> Vec<Def> {
    let table = table(lang);
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.is_empty() || line.len() > MAX_LINE {
            continue;
        }
        let first = line.as_bytes()[0];
        if !table.indented && (first == b' ' || first == b'\t') {
            continue;
        }
        if first == b'}' || first == b')' {
            continue;
        }
        let found = if lang == Lang::Rust {
            rust_impl(line).map(|name| ("impl", name))
        } else {
            None
        };
        let found = found.or_else(|| {
            table.rules.iter().find_map(|r| {
                let caps = r.re.captures(line)?;
                if r.kind_group {
                    Some((
                        kind_name(caps.get(1)?.as_str()),
                        caps.get(2)?.as_str().to_owned(),
                    ))
                } else {
                    Some((r.kind, caps.get(1)?.as_str().to_owned()))
                }
            })
        });
        let Some((kind, name)) = found else {
            continue;
        };
        let name = tidy_name(lang, kind, &name);
        if name.is_empty()
            || (matches!(lang, Lang::C | Lang::Cpp)
                && kind == "fn"
                && (C_NOT_NAMES.contains(&name.as_str()) || line.starts_with('#')))
        {
            continue;
        }
        out.push(Def {
            line: index as u32 + 1,
            kind: kind.to_owned(),
            name,
        });
    }
    out
}

/// The static kind for a captured keyword.
fn kind_name(word: &str) -> &'static str {
    match word {
        "struct" => "struct",
        "enum" => "enum",
        "union" => "union",
        "trait" => "trait",
        "type" => "type",
        "mod" => "mod",
        "class" => "class",
        "interface" => "interface",
        "record" => "record",
        "object" => "object",
        _ => "def",
    }
}

fn tidy_name(lang: Lang, kind: &str, name: &str) -> String {
    if lang == Lang::Go && kind == "method" {
        // `T) Name` or `T[K]) Name` → `T.Name`.
        let (recv, method) = name.split_once(')').unwrap_or((name, ""));
        let recv = recv.split('[').next().unwrap_or(recv).trim();
        return format!("{recv}.{}", method.trim());
    }
    name.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `impl X`, `impl<T> X for Y<T> where …`, `unsafe impl Send for Z {}` → `X`, `X for Y<T>`.
fn rust_impl(line: &str) -> Option<String> {
    let rest = line.strip_prefix("unsafe ").unwrap_or(line);
    let rest = rest.strip_prefix("impl")?;
    let rest = match rest.chars().next()? {
        '<' => skip_generics(rest)?,
        c if c.is_whitespace() => rest,
        _ => return None,
    };
    let rest = rest.trim_start();
    let end = rest
        .find('{')
        .into_iter()
        .chain(find_word(rest, "where"))
        .min()
        .unwrap_or(rest.len());
    let name = rest[..end].trim();
    (!name.is_empty()).then(|| name.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// `<…>rest` (balanced angle brackets) → `rest`.
fn skip_generics(s: &str) -> Option<&str> {
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(&s[i + 1..]);
                }
            }
            _ => {}
        }
    }
    None
}

fn find_word(s: &str, word: &str) -> Option<usize> {
    s.match_indices(word).map(|(i, _)| i).find(|&i| {
        let before = s[..i].chars().next_back();
        let after = s[i + word.len()..].chars().next();
        before.is_none_or(|c| c.is_whitespace()) && after.is_none_or(|c| !c.is_alphanumeric())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(lang: Lang, text: &str) -> Vec<String> {
        defs(lang, text)
            .into_iter()
            .map(|d| format!("{} {} {}", d.line, d.kind, d.name))
            .collect()
    }

    #[test]
    fn extraction_per_language() {
        let cases: &[(Lang, &str, &[&str])] = &[
            (
                Lang::Rust,
                "use std::fmt;\n\npub struct RepoMap {\n    pub tree: String,\n}\npub(crate) enum Kind { A }\n\
                 pub trait Render {\n    fn render(&self);\n}\ntype Alias = u8;\npub mod cache;\n\
                 macro_rules! bail {\n    () => {};\n}\nimpl RepoMap {\n    pub fn new() -> Self { Self::default() }\n}\n\
                 impl<T: Into<String>> From<T> for Name<T> where T: Clone {\n}\nunsafe impl Send for Z {}\n\
                 pub async fn run() {}\nconst fn k() {}\npub(super) unsafe extern \"C\" fn raw() {}\n\
                 // fn commented()\nimplement();\n",
                &[
                    "3 struct RepoMap",
                    "6 enum Kind",
                    "7 trait Render",
                    "10 type Alias",
                    "11 mod cache",
                    "12 macro bail",
                    "15 impl RepoMap",
                    "18 impl From<T> for Name<T>",
                    "20 impl Send for Z",
                    "21 fn run",
                    "22 fn k",
                    "23 fn raw",
                ],
            ),
            (
                Lang::Python,
                "import os\n\nclass Ledger(Base):\n    def post(self):\n        pass\n\ndef main():\n    pass\n\
                 async def fetch(url):\n    return 1\nx = 'def nope():'\n",
                &["3 class Ledger", "7 def main", "9 def fetch"],
            ),
            (
                Lang::JavaScript,
                "const fs = require('fs');\nfunction load(p) {}\nasync function* gen() {}\nclass Store extends Base {}\n\
                 export default function App() {}\nexport const LIMIT = 3;\nconst add = (a, b) => a + b;\n\
                 export default {\n};\nmodule.exports = { load };\n  function inner() {}\n",
                &[
                    "2 function load",
                    "3 function gen",
                    "4 class Store",
                    "5 function App",
                    "6 const LIMIT",
                    "7 function add",
                    "8 export default",
                    "10 export module.exports",
                ],
            ),
            (
                Lang::TypeScript,
                "export interface Props { a: string }\nexport type Id = string;\ntype Pair<A, B> = [A, B];\n\
                 export abstract class Repo<T> {}\nexport const enum Color { Red }\ndeclare function ext(): void;\n\
                 export const handler: Handler = async (req) => {};\n",
                &[
                    "1 interface Props",
                    "2 type Id",
                    "3 type Pair",
                    "4 class Repo",
                    "5 enum Color",
                    "6 function ext",
                    "7 function handler",
                ],
            ),
            (
                Lang::Go,
                "package ledger\n\ntype Account struct {\n\tID string\n}\nfunc New() *Account { return nil }\n\
                 func (a *Account) Post(e Entry) error {\n\treturn nil\n}\nfunc (Set[K]) Len() int { return 0 }\n\
                 type (\n\tA int\n)\n",
                &[
                    "3 type Account",
                    "6 func New",
                    "7 method Account.Post",
                    "10 method Set.Len",
                ],
            ),
            (
                Lang::Java,
                "package a;\n\npublic final class Ledger {\n    private static class Entry {}\n    public void post() {}\n}\n\
                 interface Store {}\npublic enum Kind { A }\npublic record Point(int x, int y) {}\n@Deprecated public abstract class Old {}\n",
                &[
                    "3 class Ledger",
                    "4 class Entry",
                    "7 interface Store",
                    "8 enum Kind",
                    "9 record Point",
                    "10 class Old",
                ],
            ),
            (
                Lang::Kotlin,
                "package a\n\ndata class User(val id: String)\nsealed interface Event\nenum class Color { RED }\n\
                 object Registry {}\nfun main() {}\nsuspend fun <T> List<T>.firstAsync(): T = first()\ntypealias Ids = List<String>\n",
                &[
                    "3 class User",
                    "4 interface Event",
                    "5 class Color",
                    "6 object Registry",
                    "7 fun main",
                    "8 fun List<T>.firstAsync",
                    "9 typealias Ids",
                ],
            ),
            (
                Lang::CSharp,
                "namespace Shop\n{\n    public sealed partial class Cart\n    {\n    }\n    internal readonly struct Money {}\n    public record Order(int Id);\n}\n",
                &["3 class Cart", "6 struct Money", "7 record Order"],
            ),
            (
                Lang::C,
                "#include <stdio.h>\n#define MAX 3\n#define SQUARE(x) ((x)*(x))\ntypedef struct node {\n    int v;\n} node_t;\n\
                 struct list {\n};\nenum color { RED };\ntypedef unsigned long size_type;\ntypedef int (*cmp_fn)(const void *, const void *);\n\
                 int list_len(const struct list *l);\nstatic void *xmalloc(size_t n)\n{\n    return malloc(n);\n}\n\
                 char **\nsplit(const char *s, char sep);\nif (x) {\n",
                &[
                    "3 define SQUARE",
                    "4 struct node",
                    "7 struct list",
                    "9 enum color",
                    "10 typedef size_type",
                    "11 typedef cmp_fn",
                    "12 fn list_len",
                    "13 fn xmalloc",
                    "18 fn split",
                ],
            ),
            (
                Lang::Cpp,
                "#pragma once\nnamespace shop {\nclass Cart final : public Base {\npublic:\n    void add(int);\n};\n\
                 template <typename T> class Box {};\nusing Id = std::string;\nstd::vector<int> parse(const std::string& s);\n\
                 void Cart::add(int n) {\n}\n}\n",
                &[
                    "2 namespace shop",
                    "3 class Cart",
                    "7 class Box",
                    "8 typedef Id",
                    "9 fn parse",
                    "10 fn Cart::add",
                ],
            ),
            (
                Lang::Ruby,
                "module Shop\n  class Cart < Base\n    def add(item)\n    end\n    def self.empty?\n    end\n  end\nend\n\
                 def helper; end\nclass << self\n",
                &[
                    "1 module Shop",
                    "2 class Cart",
                    "3 def add",
                    "5 def self.empty?",
                    "9 def helper",
                ],
            ),
            (
                Lang::Shell,
                "#!/bin/sh\nset -eu\nusage() {\n  echo hi\n}\nfunction build_all {\n  :\n}\nrun_it () { :; }\n  nested() { :; }\n",
                &["3 function usage", "6 function build_all", "9 function run_it"],
            ),
        ];
        for (lang, text, want) in cases {
            assert_eq!(names(*lang, text), *want, "{lang:?}");
        }
    }

    #[test]
    fn detection_by_name_and_shebang() {
        let cases: &[(&str, Option<&str>, Option<Lang>)] = &[
            ("src/lib.rs", None, Some(Lang::Rust)),
            ("a/b.PY", None, Some(Lang::Python)),
            ("web/app.tsx", None, Some(Lang::TypeScript)),
            ("web/app.mjs", None, Some(Lang::JavaScript)),
            ("inc/x.h", None, Some(Lang::C)),
            ("inc/x.hpp", None, Some(Lang::Cpp)),
            ("Rakefile", None, Some(Lang::Ruby)),
            ("bin/tool", Some("#!/usr/bin/env bash"), Some(Lang::Shell)),
            ("bin/tool", Some("#!/usr/bin/python3"), Some(Lang::Python)),
            (
                "bin/tool",
                Some("#!/usr/bin/env -S node --x"),
                Some(Lang::JavaScript),
            ),
            ("bin/tool", Some("plain text"), None),
            ("README.md", None, None),
            (".bashrc", None, Some(Lang::Shell)),
            (".gitignore", None, None),
        ];
        for (path, first, want) in cases {
            assert_eq!(detect(path, first.map(str::as_bytes)), *want, "{path}");
        }
    }

    #[test]
    fn long_lines_are_skipped() {
        let long = format!("fn {}() {{}}\nfn short() {{}}\n", "x".repeat(MAX_LINE));
        assert_eq!(names(Lang::Rust, &long), ["2 fn short"]);
    }
}
