//! The shape of the tree, checked: the layers import only downwards, no two modules import
//! each other (directly or round a loop), the engine is one narrow type, and its functions
//! stay short enough to read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first: a module may import only from a lower one.
const LAYERS: &[(&str, u8)] = &[
    ("util", 0),
    ("model", 1),
    ("git", 2),
    ("input", 3),
    ("workspace", 4),
    ("guard", 4),
    ("gates", 4),
    ("forge", 4),
    ("agent", 5),
    ("record", 5),
    ("engine", 6),
    ("report", 6),
    ("cli", 7),
];

/// Every source file by module path (`engine::phase::plan`), its text without its tests.
fn modules() -> BTreeMap<String, (PathBuf, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    for entry in walkdir::WalkDir::new(&src) {
        let path = entry.unwrap().into_path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let rel = path.strip_prefix(&src).unwrap().with_extension("");
        let mut parts: Vec<String> = rel
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        if parts.last().is_some_and(|p| p == "mod") {
            parts.pop();
        }
        if parts == ["lib"] || parts == ["main"] || parts.last().is_some_and(|p| p == "tests") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let text = match text.find("#[cfg(test)]\nmod tests") {
            Some(i) => text[..i].to_owned(),
            None => text,
        };
        out.insert(parts.join("::"), (path, text));
    }
    out
}

/// The longest module path `path` starts with.
fn resolve(path: &[String], mods: &BTreeMap<String, (PathBuf, String)>) -> Option<String> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].join("::"))
        .find(|m| mods.contains_key(m))
}

/// Which modules each module names (`crate::…`, `super::…`, `self::…`, its own children),
/// but for a module's references to its ancestors (the items a parent shares with its
/// children are no import cycle).
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let mods = modules();
    let path_re = regex::Regex::new(r"\b(crate|super|self)((?:::\w+)+)").unwrap();
    let group_re = regex::Regex::new(r"use (crate|super)::\{([^}]*)\}").unwrap();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, (path, text)) in &mods {
        let here: Vec<String> = name.split("::").map(str::to_owned).collect();
        let is_mod = path.ends_with("mod.rs");
        let parent = here[..here.len() - 1].to_vec();
        let mut named = Vec::new();
        for c in path_re.captures_iter(text) {
            let mut full = match &c[1] {
                "crate" => Vec::new(),
                "self" => here.clone(),
                _ => parent.clone(),
            };
            full.extend(c[2].trim_start_matches(':').split("::").map(str::to_owned));
            while let Some(i) = full.iter().position(|s| s == "super") {
                full.drain(i.saturating_sub(1)..=i);
            }
            named.push(full);
        }
        for c in group_re.captures_iter(text) {
            let base = if &c[1] == "crate" {
                Vec::new()
            } else {
                parent.clone()
            };
            for item in c[2].split(',') {
                let item = item.split_whitespace().next().unwrap_or_default();
                if !item.is_empty() {
                    let mut full = base.clone();
                    full.extend(item.split("::").map(str::to_owned));
                    named.push(full);
                }
            }
        }
        if is_mod {
            for child in mods
                .keys()
                .filter_map(|m| m.strip_prefix(&format!("{name}::")))
            {
                let child = child.split("::").next().unwrap();
                let used = regex::Regex::new(&format!(r"(^|[^:\w]){child}::")).unwrap();
                if used.is_match(text) {
                    named.push(here.iter().cloned().chain([child.to_owned()]).collect());
                }
            }
        }
        let to: BTreeSet<String> = named
            .iter()
            .filter_map(|p| resolve(p, &mods))
            .filter(|m| m != name && !name.starts_with(&format!("{m}::")))
            .collect();
        edges.insert(name.clone(), to);
    }
    edges
}

#[test]
fn the_layers_import_only_downwards() {
    let rank: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();
    let mut upward = Vec::new();
    for (from, to) in imports() {
        let top = from.split("::").next().unwrap();
        let Some(&mine) = rank.get(top) else {
            panic!("`{top}` is in no layer: add it to LAYERS");
        };
        for t in to {
            let other = t.split("::").next().unwrap();
            if other != top && rank[other] >= mine {
                upward.push(format!("{from} → {t}"));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports up or across:\n{}",
        upward.join("\n")
    );
}

#[test]
fn no_two_modules_import_each_other() {
    let edges = imports();
    // Tarjan's strongly connected components (the module graph is small enough to recurse).
    struct Walk<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        cycles: Vec<Vec<&'a str>>,
    }
    fn visit<'a>(w: &mut Walk<'a>, v: &'a str) {
        let n = w.index.len();
        w.index.insert(v, n);
        w.low.insert(v, n);
        w.stack.push(v);
        for t in &w.edges[v] {
            let t = t.as_str();
            if !w.index.contains_key(t) {
                visit(w, t);
                let low = w.low[v].min(w.low[t]);
                w.low.insert(v, low);
            } else if w.stack.contains(&t) {
                let low = w.low[v].min(w.index[t]);
                w.low.insert(v, low);
            }
        }
        if w.low[v] == w.index[v] {
            let at = w.stack.iter().rposition(|s| *s == v).unwrap();
            let component: Vec<&str> = w.stack.drain(at..).collect();
            if component.len() > 1 {
                w.cycles.push(component);
            }
        }
    }
    let mut w = Walk {
        edges: &edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        cycles: Vec::new(),
    };
    for v in edges.keys() {
        if !w.index.contains_key(v.as_str()) {
            visit(&mut w, v);
        }
    }
    assert!(w.cycles.is_empty(), "import cycles: {:?}", w.cycles);
    assert!(edges["engine::phase::execute"].contains("engine::phase::confine"));
}

#[test]
fn the_engine_is_narrow_and_its_functions_short() {
    let mods = modules();
    let impls: Vec<&String> = mods
        .iter()
        .filter(|(_, (_, text))| text.contains("> Engine<'_, R> {"))
        .map(|(name, _)| name)
        .collect();
    assert!(impls.len() <= 3, "impl Engine in {impls:?}");
    let fn_re = regex::Regex::new(r"^(\s*)(pub(\([^)]*\))?\s+)?(async\s+)?fn\s+(\w+)").unwrap();
    let mut long = Vec::new();
    for (name, (_, text)) in mods.iter().filter(|(n, _)| n.starts_with("engine")) {
        let lines: Vec<&str> = text.lines().collect();
        let mut i = 0;
        while i < lines.len() {
            let Some(c) = fn_re.captures(lines[i]) else {
                i += 1;
                continue;
            };
            let indent = c[1].len();
            let close = format!("{}}}", " ".repeat(indent));
            let one_line = lines[i].trim_end().ends_with(['}', ';']);
            let end = match one_line {
                true => i,
                false => (i + 1..lines.len())
                    .find(|&j| lines[j].starts_with(&close))
                    .unwrap_or(i),
            };
            if end - i + 1 > 80 {
                long.push(format!("{name}::{} ({} lines)", &c[5], end - i + 1));
            }
            i = end + 1;
        }
    }
    assert!(long.is_empty(), "engine functions over 80 lines: {long:?}");
}
