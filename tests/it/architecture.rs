//! The library's module graph has no cycles: every `crate::` path in `src/` (outside the CLI
//! and the test modules) is an edge from the file that names it to the module file it reaches,
//! and a cycle fails with its path. The same holds with every module collapsed to its top-level
//! module (`vmdk::sparse` → `vmdk`): no two top-level modules depend on each other, directly or
//! round a longer loop. A shared piece moves down into a module both sides use.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// Module path (`vmdk::sparse`) → file text, for every library source file but test modules.
fn modules(src: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                if p != src.join("bin") {
                    stack.push(p);
                }
                continue;
            }
            // `tests.rs` is a `#[cfg(test)] mod tests;` of its parent: test code, no edge.
            if p.extension().and_then(|x| x.to_str()) != Some("rs")
                || p.file_name().is_some_and(|n| n == "tests.rs")
            {
                continue;
            }
            let rel = p.strip_prefix(src).unwrap().with_extension("");
            let mut segs: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if segs.last().is_some_and(|s| s == "mod" || s == "lib") {
                segs.pop();
            }
            out.insert(segs.join("::"), fs::read_to_string(&p).unwrap());
        }
    }
    out
}

/// The code of a file without comments and without its `#[cfg(test)] mod tests`.
fn code(text: &str) -> String {
    let body = text
        .find("#[cfg(test)]\nmod tests")
        .map_or(text, |i| &text[..i]);
    body.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .map(|l| l.split(" // ").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

#[derive(Debug, PartialEq)]
enum Tok {
    Ident(String),
    Sep,
    Open,
    Close,
    Comma,
}

/// The tokens of a path or use tree starting at `s`, up to the first token that cannot be part
/// of one at depth 0.
fn tokens(s: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_alphanumeric() || c == b'_' || c == b'*' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'*') {
                i += 1;
            }
            out.push(Tok::Ident(s[start..i].to_string()));
            continue;
        }
        if s[i..].starts_with("::") {
            out.push(Tok::Sep);
            i += 2;
            continue;
        }
        match c {
            b'{' => {
                depth += 1;
                out.push(Tok::Open);
            }
            b'}' if depth > 0 => {
                depth -= 1;
                out.push(Tok::Close);
                if depth == 0 {
                    break;
                }
            }
            b',' if depth > 0 => out.push(Tok::Comma),
            c if c.is_ascii_whitespace() && depth > 0 => {}
            _ => break,
        }
        i += 1;
    }
    out
}

/// Every full path of a use tree (`a::{b, c::d}` → `a::b`, `a::c::d`).
fn expand(toks: &[Tok], pos: &mut usize, prefix: &[String], out: &mut Vec<Vec<String>>) {
    let mut path = prefix.to_vec();
    while *pos < toks.len() {
        match &toks[*pos] {
            Tok::Ident(s) if s == "as" => {
                // `x as y`: the alias is not a path segment.
                *pos += 2;
                break;
            }
            Tok::Ident(s) => {
                if s != "self" {
                    path.push(s.clone());
                }
                *pos += 1;
            }
            Tok::Sep => *pos += 1,
            Tok::Open => {
                *pos += 1;
                loop {
                    expand(toks, pos, &path, out);
                    match toks.get(*pos) {
                        Some(Tok::Comma) => *pos += 1,
                        Some(Tok::Close) => {
                            *pos += 1;
                            return;
                        }
                        _ => return,
                    }
                    if matches!(toks.get(*pos), Some(Tok::Close)) {
                        *pos += 1;
                        return;
                    }
                }
            }
            Tok::Comma | Tok::Close => break,
        }
    }
    out.push(path);
}

/// The items the crate root re-exports (`pub use convert::{convert, ConvertOptions}` in
/// `lib.rs`), each with the module it comes from: `crate::convert` is the function, an edge to
/// the module `convert`.
fn root_reexports(mods: &BTreeMap<String, String>) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    let lib = mods.get("").map(|t| code(t)).unwrap_or_default();
    for (i, _) in lib.match_indices("pub use ") {
        let toks = tokens(&lib[i + "pub use ".len()..]);
        let mut paths = Vec::new();
        expand(&toks, &mut 0, &[], &mut paths);
        for p in paths {
            if let Some((name, module)) = p.split_last() {
                if !module.is_empty() {
                    out.insert(name.clone(), module.to_vec());
                }
            }
        }
    }
    out
}

/// The module files each module file reaches through `crate::` paths.
fn edges(mods: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let reexports = root_reexports(mods);
    let mut out = BTreeMap::new();
    for (name, text) in mods {
        let code = code(text);
        let mut to = BTreeSet::new();
        for (i, _) in code.match_indices("crate::") {
            let before = code[..i].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                continue;
            }
            let toks = tokens(&code[i + "crate::".len()..]);
            let mut paths = Vec::new();
            expand(&toks, &mut 0, &[], &mut paths);
            for mut p in paths {
                if let Some(module) = p.first().and_then(|first| reexports.get(first)) {
                    p.splice(..1, module.iter().cloned());
                }
                // The longest prefix that is a module file.
                let target = (1..=p.len())
                    .rev()
                    .map(|n| p[..n].join("::"))
                    .find(|m| mods.contains_key(m));
                if let Some(t) = target {
                    if &t != name && !t.is_empty() {
                        to.insert(t);
                    }
                }
            }
        }
        out.insert(name.clone(), to);
    }
    out
}

/// The graph of top-level modules: each module path collapsed to its first segment
/// (`vmdk::sparse` → `vmdk`), edges inside one top-level module dropped.
fn top_level(g: &BTreeMap<String, BTreeSet<String>>) -> BTreeMap<String, BTreeSet<String>> {
    let top = |m: &str| m.split("::").next().unwrap_or(m).to_string();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, tos) in g {
        let from = top(from);
        let set = out.entry(from.clone()).or_default();
        set.extend(tos.iter().map(|t| top(t)).filter(|t| *t != from));
    }
    out
}

/// A cycle of the graph, if any, as the list of modules along it.
fn find_cycle(g: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(
        v: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        marks: &mut BTreeMap<String, Mark>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        marks.insert(v.to_string(), Mark::Open);
        stack.push(v.to_string());
        for w in g.get(v).into_iter().flatten() {
            match marks.get(w).copied().unwrap_or(Mark::New) {
                Mark::Open => {
                    let start = stack.iter().position(|s| s == w).unwrap_or(0);
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(w.clone());
                    return Some(cycle);
                }
                Mark::New => {
                    if let Some(c) = visit(w, g, marks, stack) {
                        return Some(c);
                    }
                }
                Mark::Done => {}
            }
        }
        stack.pop();
        marks.insert(v.to_string(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for v in g.keys() {
        if marks.get(v).copied().unwrap_or(Mark::New) == Mark::New {
            if let Some(c) = visit(v, g, &mut marks, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

#[test]
fn library_modules_form_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mods = modules(&src);
    assert!(mods.contains_key("vmdk::sparse") && mods.contains_key("disk"));
    let g = edges(&mods);
    // The parser sees the edges it must see (a guard that finds nothing guards nothing).
    assert!(
        g["vmdk::sparse"].contains("codec"),
        "{:?}",
        g["vmdk::sparse"]
    );
    assert!(g["disk_open"].contains("disk"), "{:?}", g["disk_open"]);
    if let Some(cycle) = find_cycle(&g) {
        panic!("module cycle: {}", cycle.join(" -> "));
    }
}

#[test]
fn top_level_modules_form_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let g = top_level(&edges(&modules(&src)));
    // The edges that must be there: the readers implement the pipeline's traits, the one disk
    // opener reaches both the sniffer and the readers (through the root re-export
    // `crate::open_disk`), the sniffer classifies VMDKs.
    assert!(g["vmdk"].contains("disk"), "{:?}", g["vmdk"]);
    assert!(g["convert"].contains("disk_open"), "{:?}", g["convert"]);
    assert!(g["disk_open"].contains("sniff"), "{:?}", g["disk_open"]);
    assert!(g["sniff"].contains("vmdk"), "{:?}", g["sniff"]);
    if let Some(cycle) = find_cycle(&g) {
        panic!("top-level module cycle: {}", cycle.join(" -> "));
    }
}

#[test]
fn the_cycle_finder_finds_cycles_in_use_trees() {
    let mut mods = BTreeMap::new();
    mods.insert(
        "a".to_string(),
        "use crate::{b::{self, X}, c as d};\n".to_string(),
    );
    mods.insert("b".to_string(), "fn f() { crate::c::g() }\n".to_string());
    mods.insert(
        "c".to_string(),
        "// crate::a in a comment is no edge\nuse crate::a::Y;\n".to_string(),
    );
    mods.insert(
        "e".to_string(),
        "#[cfg(test)]\nmod tests { use crate::a; }".to_string(),
    );
    let g = edges(&mods);
    assert_eq!(g["a"], BTreeSet::from(["b".to_string(), "c".to_string()]));
    assert_eq!(g["b"], BTreeSet::from(["c".to_string()]));
    assert_eq!(g["c"], BTreeSet::from(["a".to_string()]));
    assert!(g["e"].is_empty());
    let cycle = find_cycle(&g).unwrap();
    assert_eq!(cycle.first(), cycle.last());
    mods.insert("c".to_string(), "use crate::e;\n".to_string());
    assert_eq!(find_cycle(&edges(&mods)), None);
}

#[test]
fn the_top_level_graph_sees_cycles_between_submodules_and_root_reexports() {
    let mut mods = BTreeMap::new();
    mods.insert(String::new(), "mod a;\npub use a::z::run;\n".to_string());
    // No file-level cycle: a::x -> b::y -> a::z.
    mods.insert("a::x".to_string(), "use crate::b::y::T;\n".to_string());
    mods.insert("a::z".to_string(), "pub fn run() {}\n".to_string());
    mods.insert(
        "b::y".to_string(),
        "fn f() { crate::a::z::run() }\n".to_string(),
    );
    mods.insert("c".to_string(), "fn f() { crate::run() }\n".to_string());
    let g = edges(&mods);
    assert_eq!(find_cycle(&g), None);
    assert_eq!(
        g["c"],
        BTreeSet::from(["a::z".to_string()]),
        "root re-export"
    );
    let top = top_level(&g);
    assert_eq!(top["a"], BTreeSet::from(["b".to_string()]));
    let cycle = find_cycle(&top).unwrap();
    assert_eq!(cycle.first(), cycle.last());
    // One direction only: no cycle.
    mods.insert("b::y".to_string(), "fn f() {}\n".to_string());
    assert_eq!(find_cycle(&top_level(&edges(&mods))), None);
}
