//! The layering of `src/`, checked from the source: every `crate::X` path (and every `X` of a
//! `use crate::{X, …}` group) in a top-level module's files is an import of module `X`. A
//! module may import its own layer and the layers under it, never one above; no two
//! top-level modules may import each other, directly or around a loop, except the peers
//! listed in [`KNOWN_CYCLES`] (the list may only shrink).
//!
//! What it cannot see: a method that a module above adds to a type below (`impl App { … }` in
//! a feature) is called without a path, so calling it is no import; that is the point of
//! those accessors. Comment lines and the `#[cfg(test)] mod …` block at the end of a file are
//! skipped (a unit test may reach anywhere).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, bottom first. Adding a top-level module means adding it here.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "leaves",
        &[
            "budget",
            "clock",
            "config",
            "fields",
            "files",
            "filters",
            "large_buffers",
            "net",
            "proptest_util",
            "serde_util",
            "smtp",
            "ttl_map",
            "zstd_frame",
        ],
    ),
    ("store", &["store"]),
    ("errors", &["error"]),
    ("queue", &["queue"]),
    ("handle", &["handle"]),
    (
        "services",
        &[
            "audience",
            "auth",
            "branding",
            "broadcasts",
            "delivery",
            "domains",
            "emails",
            "exports",
            "feedback",
            "logs",
            "metrics",
            "suppressions",
            "teams",
            "telemetry",
            "templates",
            "tracking",
            "webhooks",
        ],
    ),
    ("front ends", &["http", "api", "dashboard"]),
    ("wiring", &["app", "cli"]),
];

/// Peers of one layer that still import each other around a loop: each entry is the most
/// a cycle may hold. A cycle that is not inside one of these fails the test.
const KNOWN_CYCLES: &[&[&str]] = &[&[
    "audience",
    "auth",
    "domains",
    "emails",
    "teams",
    "templates",
    "webhooks",
]];

/// Files that are not a module of the library's tree.
const NOT_MODULES: &[&str] = &["lib", "main", "bin", "layers"];

type Imports = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// `importer -> imported -> ["file:line", …]` over `src/`.
fn imports(src: &Path) -> Imports {
    let mut found = Imports::new();
    let mut files = Vec::new();
    rust_files(src, &mut files);
    for file in files {
        let rel = file.strip_prefix(src).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_str()
            .unwrap()
            .trim_end_matches(".rs")
            .to_string();
        if NOT_MODULES.contains(&top.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let mut group = false; // inside a multi-line `use crate::{ … }`
        for (n, line) in lines.iter().enumerate() {
            let code = line.trim();
            if code == "#[cfg(test)]" && lines.get(n + 1).is_some_and(|l| l.starts_with("mod ")) {
                break;
            }
            if code.starts_with("//") {
                continue;
            }
            let mut targets = paths_after(code, "crate::");
            if let Some(rest) = code.split("crate::{").nth(1) {
                targets.extend(group_items(rest));
                group = !rest.contains('}');
            } else if group {
                targets.extend(group_items(code));
                group = !code.contains('}');
            }
            for target in targets {
                if target != top {
                    let at = format!("src/{}:{}", rel.display(), n + 1);
                    found
                        .entry(top.clone())
                        .or_default()
                        .entry(target)
                        .or_default()
                        .push(at);
                }
            }
        }
    }
    found
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
    out.sort();
}

/// The identifiers right after each `prefix` in `code`.
fn paths_after(code: &str, prefix: &str) -> Vec<String> {
    code.match_indices(prefix)
        .map(|(at, _)| ident(&code[at + prefix.len()..]))
        .filter(|name| !name.is_empty())
        .collect()
}

/// The first identifier of each item of a `use` group (`a, b::c, d::{e, f}}`), top level only.
fn group_items(rest: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut depth = 0;
    let mut start = true;
    for (at, c) in rest.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => start = true,
            c if start && !c.is_whitespace() => {
                start = false;
                items.push(ident(&rest[at..]));
            }
            _ => {}
        }
    }
    items
}

fn ident(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, mods)| mods.contains(&module))
}

/// Upward imports, modules in no layer, and cycles outside [`KNOWN_CYCLES`], one line each.
fn violations(src: &Path) -> Vec<String> {
    let found = imports(src);
    let mut out = Vec::new();
    let mut modules = BTreeSet::new();
    for entry in std::fs::read_dir(src).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let name = name.trim_end_matches(".rs").to_string();
        if !NOT_MODULES.contains(&name.as_str()) {
            modules.insert(name);
        }
    }
    for module in &modules {
        if layer_of(module).is_none() {
            out.push(format!(
                "src/{module}: in no layer; add it to LAYERS in src/layers.rs"
            ));
        }
    }
    for (from, targets) in &found {
        for (to, at) in targets {
            let (Some(low), Some(high)) = (layer_of(from), layer_of(to)) else {
                continue;
            };
            if high > low {
                out.push(format!(
                    "{from} ({}) imports {to} ({}) above it: {}",
                    LAYERS[low].0,
                    LAYERS[high].0,
                    at.join(", ")
                ));
            }
        }
    }
    for cycle in cycles(&found) {
        let known = KNOWN_CYCLES
            .iter()
            .any(|allowed| cycle.iter().all(|m| allowed.contains(&m.as_str())));
        if !known {
            let edges: Vec<String> = cycle
                .iter()
                .flat_map(|from| {
                    found[from]
                        .iter()
                        .filter(|(to, _)| cycle.contains(*to))
                        .map(move |(to, at)| format!("{from} -> {to} ({})", at[0]))
                })
                .collect();
            out.push(format!(
                "import cycle between {}: {}",
                cycle.join(", "),
                edges.join("; ")
            ));
        }
    }
    out
}

/// The strongly connected groups of more than one module (Tarjan's algorithm).
fn cycles(found: &Imports) -> Vec<Vec<String>> {
    struct Walk<'a> {
        found: &'a Imports,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        out: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a str) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            for w in self.found.get(v).into_iter().flat_map(|t| t.keys()) {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    self.low.insert(v, self.low[v].min(self.low[w]));
                } else if self.stack.contains(&w) {
                    self.low.insert(v, self.low[v].min(self.index[w]));
                }
            }
            if self.low[v] == self.index[v] {
                let at = self.stack.iter().position(|m| *m == v).unwrap();
                let mut group: Vec<String> = self
                    .stack
                    .split_off(at)
                    .into_iter()
                    .map(String::from)
                    .collect();
                if group.len() > 1 {
                    group.sort();
                    self.out.push(group);
                }
            }
        }
    }
    let mut walk = Walk {
        found,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        out: Vec::new(),
    };
    for v in found.keys() {
        if !walk.index.contains_key(v.as_str()) {
            walk.visit(v);
        }
    }
    walk.out
}

#[test]
fn layers_import_downward_only() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let violations = violations(&src);
    assert!(
        violations.is_empty(),
        "{} layering violation(s) (the layers are in src/layers.rs):\n{}",
        violations.len(),
        violations.join("\n")
    );
}

#[test]
fn use_groups_are_read() {
    assert_eq!(
        group_items("store::{Db, new_id}, app::App, clock};"),
        ["store", "app", "clock"]
    );
    assert_eq!(
        paths_after("x: crate::a::B, crate::b", "crate::"),
        ["a", "b"]
    );
}
