//! The layering of the workspace, checked on the sources (docs/architecture.md).
//!
//! - Each crate names only the crates below it: model < ingest < engine < report < the
//!   CLI. Cargo refuses a dependency cycle between crates; this also keeps a lower crate
//!   from gaining a dependency on a higher one that is merely allowed by Cargo.
//! - Inside each crate, the top-level modules form no cycle: if `a` names `b`, `b` does
//!   not name `a`, directly or through others. The crate root is exempt (it declares the
//!   modules and holds what they share), and so are test modules.
//! - The orchestrator of `analyze` fits on one screen (under 300 lines).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The crates of the workspace, lowest first, with the xborder crates each may name.
const LAYERS: &[(&str, &str, &[&str])] = &[
    ("crates/model", "xborder-model", &[]),
    ("crates/ingest", "xborder-ingest", &["xborder-model"]),
    (
        "crates/engine",
        "xborder-engine",
        &["xborder-model", "xborder-ingest"],
    ),
    (
        "crates/report",
        "xborder-report",
        &["xborder-model", "xborder-ingest", "xborder-engine"],
    ),
];

/// The xborder crates a manifest's `[dependencies]` names (dev-dependencies are for tests).
fn xborder_dependencies(manifest: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(manifest).unwrap();
    let mut section = String::new();
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            section = line.to_string();
            continue;
        }
        if section == "[dependencies]" && line.starts_with("xborder-") {
            let name = line.split(['.', '=', ' ']).next().unwrap();
            out.insert(name.to_string());
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Source text without comments (line comments, doc comments, block comments), so a
/// doc link to another module does not count as a use of it.
fn code_of(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut in_string = false;
    while let Some(c) = rest.chars().next() {
        if !in_string && rest.starts_with("//") {
            let end = rest.find('\n').unwrap_or(rest.len());
            rest = &rest[end..];
            continue;
        }
        if !in_string && rest.starts_with("/*") {
            let end = rest.find("*/").map_or(rest.len(), |i| i + 2);
            rest = &rest[end..];
            continue;
        }
        if c == '"' && !out.ends_with('\\') && !out.ends_with('\'') {
            in_string = !in_string;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The top-level modules a source names through `crate::name` or `crate::{a, b::c}`.
fn modules_named(code: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let after = &code[i + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            // Top-level names at depth 1 of the group.
            let mut depth = 1;
            let mut expect = true;
            let mut chars = group.char_indices();
            while let Some((j, c)) = chars.next() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => expect = true,
                    c if expect && depth == 1 && (c.is_ascii_alphabetic() || c == '_') => {
                        let name = ident(&group[j..]);
                        for _ in 1..name.len() {
                            chars.next();
                        }
                        out.insert(name);
                        expect = false;
                    }
                    _ => {}
                }
            }
        } else {
            let name = ident(after);
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

/// The top-level module a file of `src` belongs to, or `None` for the crate root.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next()?.as_os_str().to_string_lossy();
    let name = first.trim_end_matches(".rs").to_string();
    (name != "lib" && name != "main").then_some(name)
}

/// A cycle among the top-level modules of `src`, if there is one.
fn module_cycle(src: &Path) -> Option<Vec<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut modules = BTreeSet::new();
    for f in &files {
        if let Some(m) = module_of(src, f) {
            modules.insert(m);
        }
    }
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let Some(from) = module_of(src, f) else {
            continue;
        };
        let code = code_of(&std::fs::read_to_string(f).unwrap());
        // Test modules are left out: a test may compare siblings (the same records through
        // the TSV, JSON and Parquet readers) without making the code depend on them.
        let code = code.split("#[cfg(test)]").next().unwrap_or("").to_string();
        let mut named = modules_named(&code);
        // In a top-level module's own file, `super::` is the crate root, so `super::b` is
        // the sibling `b`.
        let depth =
            f.strip_prefix(src).unwrap().components().count() - usize::from(f.ends_with("mod.rs"));
        if depth == 1 {
            named.extend(modules_named(&code.replace("super::", "crate::")));
        }
        for to in named {
            if to != from && modules.contains(&to) {
                edges.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    // Depth-first search with the path on the stack.
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for m in &modules {
        if let Some(c) = visit(m, &edges, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

#[test]
fn each_crate_names_only_the_crates_below_it() {
    for (dir, name, allowed) in LAYERS {
        let deps = xborder_dependencies(&root().join(dir).join("Cargo.toml"));
        let allowed: BTreeSet<String> = allowed.iter().map(|s| s.to_string()).collect();
        let extra: Vec<&String> = deps.difference(&allowed).collect();
        assert!(
            extra.is_empty(),
            "{name} names {extra:?}, above or beside it"
        );
        // And no source names a crate the manifest does not list (a path dependency
        // added later would otherwise slip in).
        let mut files = Vec::new();
        rust_files(&root().join(dir).join("src"), &mut files);
        for (_, other, _) in LAYERS {
            if other == name || allowed.contains(*other) {
                continue;
            }
            let ident = other.replace('-', "_");
            for f in &files {
                let code = code_of(&std::fs::read_to_string(f).unwrap());
                assert!(
                    !code.contains(&format!("{ident}::")),
                    "{} names {other}",
                    f.display()
                );
            }
        }
    }
}

#[test]
fn no_crate_has_a_module_cycle() {
    let mut srcs: Vec<PathBuf> = LAYERS
        .iter()
        .map(|(d, _, _)| root().join(d).join("src"))
        .collect();
    srcs.push(root().join("src"));
    for src in srcs {
        if let Some(cycle) = module_cycle(&src) {
            panic!("module cycle in {}: {}", src.display(), cycle.join(" -> "));
        }
    }
}

#[test]
fn the_cycle_check_finds_a_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::write(src.join("lib.rs"), "pub mod a; pub mod b;").unwrap();
    std::fs::write(src.join("a.rs"), "use crate::b::Thing; // crate::c\n").unwrap();
    std::fs::write(src.join("b.rs"), "use crate::{x, a::Other};\n").unwrap();
    assert_eq!(
        module_cycle(src),
        Some(vec!["a".to_string(), "b".to_string(), "a".to_string()])
    );
    std::fs::write(src.join("b.rs"), "/// [`crate::a`]\npub struct Thing;\n").unwrap();
    assert_eq!(module_cycle(src), None);
}

#[test]
fn the_orchestrator_fits_on_one_screen() {
    let text = std::fs::read_to_string(root().join("src/pipeline/mod.rs")).unwrap();
    let lines = text.lines().count();
    assert!(lines < 300, "src/pipeline/mod.rs has {lines} lines");
}
