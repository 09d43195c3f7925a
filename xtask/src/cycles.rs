//! `cargo xtask cycles`: no module imports a module that imports it back. It reads the `use`
//! statements of every crate of the workspace (not the compiler's view: a check any reader can
//! follow), resolves each to the module that defines what it names (through `pub use`
//! re-exports), and fails on any cycle between modules. A module and its ancestors are left out of
//! it: a parent declares its children and re-exports what they define, which is structure, not a
//! dependency.

use anyhow::{Context, Result, bail};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crates checked: (name, the folder of its root file, the root file).
const CRATES: &[(&str, &str, &str)] = &[
    ("wgsplat", "src", "lib.rs"),
    ("wgsplat (CLI)", "src/bin/wgsplat", "main.rs"),
    ("wgsplat-formats", "crates/formats/src", "lib.rs"),
    ("wgsplat-kernel", "crates/kernel/src", "lib.rs"),
    ("xtask", "xtask/src", "main.rs"),
];

pub fn cycles_command(root: &Path) -> Result<()> {
    let mut problems = Vec::new();
    let mut modules_checked = 0;
    for (name, dir, root_file) in CRATES {
        let krate = Crate::read(&root.join(dir), root_file).with_context(|| format!("reading crate {name}"))?;
        modules_checked += krate.modules.len();
        for cycle in krate.cycles() {
            problems.push(format!("{name}: {}", cycle.join(" -> ")));
        }
    }
    if !problems.is_empty() {
        bail!("modules that import each other (by their `use` lines):\n  {}", problems.join("\n  "));
    }
    println!("no import cycles among {modules_checked} modules of {} crates", CRATES.len());
    Ok(())
}

/// One crate's modules (as `a::b` paths, the root is ""), their `use` paths and re-exports.
struct Crate {
    modules: BTreeMap<String, Module>,
}

#[derive(Default)]
struct Module {
    file: PathBuf,
    /// Every `use` as written: (pub, segments, alias).
    written: Vec<(bool, Vec<String>, Option<String>)>,
    /// Absolute paths (segments) of every `use` in the file.
    uses: Vec<Vec<String>>,
    /// `pub use` re-exports: the name they export -> the absolute path they point to.
    reexports: BTreeMap<String, Vec<String>>,
}

impl Crate {
    fn read(dir: &Path, root_file: &str) -> Result<Self> {
        let mut modules = BTreeMap::new();
        let mut pending = vec![(String::new(), dir.join(root_file))];
        while let Some((path, file)) = pending.pop() {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let code = strip_comments(&text);
            let mut module = Module { file: file.clone(), ..Default::default() };
            for child in child_modules(&code) {
                let child_path = if path.is_empty() { child.clone() } else { format!("{path}::{child}") };
                // Children of a root or mod.rs sit beside it; children of foo.rs in foo/.
                let base = match file.file_name().and_then(|n| n.to_str()) {
                    Some("lib.rs" | "main.rs" | "mod.rs") => file.parent().map(Path::to_path_buf).unwrap_or_default(),
                    _ => file.with_extension(""),
                };
                let candidates = [base.join(format!("{child}.rs")), base.join(&child).join("mod.rs")];
                if let Some(found) = candidates.into_iter().find(|c| c.is_file()) {
                    pending.push((child_path, found));
                }
            }
            for (public, tree) in use_statements(&code) {
                for (segments, alias) in flatten_use_tree(&tree) {
                    module.written.push((public, segments, alias));
                }
            }
            modules.insert(path, module);
        }
        // With every module known, a path that starts with a child module's name is relative.
        let names: BTreeSet<String> = modules.keys().cloned().collect();
        for (path, module) in modules.iter_mut() {
            for (public, segments, alias) in std::mem::take(&mut module.written) {
                let Some(absolute) = absolute_path(path, &segments, &|m| names.contains(m)) else { continue };
                if public {
                    let exported = alias.unwrap_or_else(|| absolute.last().cloned().unwrap_or_default());
                    module.reexports.insert(exported, absolute.clone());
                }
                module.uses.push(absolute);
            }
        }
        Ok(Self { modules })
    }

    /// The module that defines what `path` names: its longest module prefix, followed through
    /// that module's re-exports of the next segment.
    fn defining_module(&self, path: &[String]) -> Option<String> {
        let mut path = path.to_vec();
        for _ in 0..16 {
            let (module, rest) = (0..=path.len()).rev().find_map(|n| {
                let candidate = path[..n].join("::");
                self.modules.contains_key(&candidate).then(|| (candidate, path[n..].to_vec()))
            })?;
            match rest.first().and_then(|item| self.modules[&module].reexports.get(item)) {
                Some(target) if target.as_slice() != path.as_slice() => {
                    let mut next = target.clone();
                    next.extend(rest[1..].iter().cloned());
                    path = next;
                }
                _ => return Some(module),
            }
        }
        None
    }

    /// Edges module -> module it imports, leaving out a module and its ancestors.
    fn edges(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (name, module) in &self.modules {
            for path in &module.uses {
                let Some(target) = self.defining_module(path) else { continue };
                if target == *name || is_ancestor(&target, name) || is_ancestor(name, &target) {
                    continue;
                }
                edges.entry(name.clone()).or_default().insert(target);
            }
        }
        edges
    }

    /// Every cycle, as the modules along it (each cycle once, from its smallest module).
    fn cycles(&self) -> Vec<Vec<String>> {
        let edges = self.edges();
        let mut found = BTreeSet::new();
        for start in edges.keys() {
            // Depth-first search for paths back to `start` through larger modules only, so each
            // cycle is reported once.
            let mut stack = vec![(start.clone(), vec![start.clone()])];
            while let Some((at, trail)) = stack.pop() {
                for next in edges.get(&at).into_iter().flatten() {
                    if next == start {
                        let mut cycle = trail.clone();
                        cycle.push(start.clone());
                        found.insert(cycle.iter().map(|m| self.display(m)).collect::<Vec<_>>());
                    } else if next > start && !trail.contains(next) && trail.len() < 8 {
                        let mut longer = trail.clone();
                        longer.push(next.clone());
                        stack.push((next.clone(), longer));
                    }
                }
            }
        }
        found.into_iter().collect()
    }

    fn display(&self, module: &str) -> String {
        let file = self.modules.get(module).map(|m| m.file.display().to_string()).unwrap_or_default();
        format!("{} ({file})", if module.is_empty() { "crate" } else { module })
    }
}

fn is_ancestor(ancestor: &str, module: &str) -> bool {
    ancestor.is_empty() || module.strip_prefix(ancestor).is_some_and(|rest| rest.starts_with("::"))
}

/// `path` (segments as written) from inside module `current`, as segments from the crate root;
/// None for paths into other crates and `std`. `is_module` tells the crate's modules apart (a
/// path may start with the name of a child module).
fn absolute_path(current: &str, segments: &[String], is_module: &dyn Fn(&str) -> bool) -> Option<Vec<String>> {
    let mut base: Vec<String> = if current.is_empty() { Vec::new() } else { current.split("::").map(String::from).collect() };
    let mut rest = segments;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            base.clear();
            rest = &rest[1..];
        }
        Some("self") => rest = &rest[1..],
        Some("super") => {
            while rest.first().is_some_and(|s| s == "super") {
                base.pop()?;
                rest = &rest[1..];
            }
        }
        Some(first) if is_module(&if current.is_empty() { first.to_string() } else { format!("{current}::{first}") }) => {}
        // A name of another crate (std, wgpu, wgsplat_kernel, ...) or a local item in scope.
        _ => return None,
    }
    base.extend(rest.iter().filter(|s| *s != "self").cloned());
    Some(base)
}

/// The names of `mod name;` declarations (files), not inline `mod name { ... }` blocks.
fn child_modules(code: &str) -> Vec<String> {
    let mut children = Vec::new();
    for statement in code.split(';') {
        let words: Vec<&str> = statement.split_whitespace().collect();
        if let Some(at) = words.iter().position(|w| *w == "mod") {
            // Only a statement that ends right after the name: `[pub[(..)]] mod name`.
            if at + 2 == words.len() && words[..at].iter().all(|w| w.starts_with("pub") || w.starts_with("#[") || w.ends_with(']')) {
                children.push(words[at + 1].to_string());
            }
        }
    }
    children
}

/// Every `use` statement: (whether it is `pub`, its tree text without `use` and `;`).
fn use_statements(code: &str) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while let Some(offset) = code[i..].find("use ") {
        let at = i + offset;
        i = at + 4;
        let starts_word = at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
        if !starts_word {
            continue;
        }
        // Statement start: what precedes `use` on its line is only visibility.
        let line_start = code[..at].rfind(['\n', ';', '{', '}']).map_or(0, |p| p + 1);
        let before = code[line_start..at].trim();
        let public = before.starts_with("pub");
        if !(before.is_empty() || public) {
            continue;
        }
        let Some(end) = code[at..].find(';') else { break };
        out.push((public, code[at + 4..at + end].trim().to_string()));
        i = at + end;
    }
    out
}

/// `a::{b, c::{d, e as f}, g::*}` -> its paths, each with its alias (`as`).
fn flatten_use_tree(tree: &str) -> Vec<(Vec<String>, Option<String>)> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace() || *c == ' ').collect();
    let mut out = Vec::new();
    flatten_into(&tree, &mut Vec::new(), &mut out);
    out
}

fn flatten_into(tree: &str, prefix: &mut Vec<String>, out: &mut Vec<(Vec<String>, Option<String>)>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let head: Vec<String> = tree[..open].split("::").map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let depth = prefix.len();
        prefix.extend(head);
        for part in split_top_level(inner) {
            flatten_into(part, prefix, out);
        }
        prefix.truncate(depth);
    } else if !tree.is_empty() {
        let (path, alias) = match tree.split_once(" as ") {
            Some((path, alias)) => (path.trim(), Some(alias.trim().to_string())),
            None => (tree, None),
        };
        let mut segments = prefix.clone();
        segments.extend(path.split("::").map(str::trim).filter(|s| !s.is_empty() && *s != "*").map(String::from));
        out.push((segments, alias));
    }
}

/// `a, b::{c, d}, e` split at the commas outside braces.
fn split_top_level(text: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// The code without `//` comments and string literals' contents (so a `use` in a doc comment or
/// a string is not read as one).
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut in_string = false;
        let mut previous = ' ';
        let mut kept = String::new();
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if in_string {
                if c == '"' && previous != '\\' {
                    in_string = false;
                    kept.push('"');
                }
            } else if c == '"' {
                in_string = true;
                kept.push('"');
            } else if c == '/' && chars.get(i + 1) == Some(&'/') {
                break;
            } else {
                kept.push(c);
            }
            previous = if previous == '\\' && c == '\\' { ' ' } else { c };
            i += 1;
        }
        out.push_str(&kept);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn use_trees_flatten_with_their_aliases() {
        let paths = flatten_use_tree("crate::a::{b, c::{d, e as f}, g::*, self}");
        let text: Vec<String> =
            paths.iter().map(|(p, a)| format!("{}{}", p.join("::"), a.as_ref().map(|a| format!(" as {a}")).unwrap_or_default())).collect();
        assert_eq!(text, ["crate::a::b", "crate::a::c::d", "crate::a::c::e as f", "crate::a::g", "crate::a::self"]);
    }

    #[test]
    fn relative_paths_resolve_from_the_module() {
        let path = |s: &str| s.split("::").map(String::from).collect::<Vec<_>>();
        let modules = |m: &str| m == "train::loss";
        assert_eq!(absolute_path("train::loss", &path("super::images::GtView"), &modules), Some(path("train::images::GtView")));
        assert_eq!(absolute_path("train::loss", &path("crate::render::Forward"), &modules), Some(path("render::Forward")));
        assert_eq!(absolute_path("train", &path("loss::LossPass"), &modules), Some(path("train::loss::LossPass")));
        assert_eq!(absolute_path("train", &path("std::sync::Arc"), &modules), None);
    }

    /// Two sibling files importing each other are found; a parent re-exporting its child is not
    /// a cycle, and a re-export is followed to the module that defines the item.
    #[test]
    fn a_cycle_between_siblings_is_found_through_reexports() {
        let dir = std::env::temp_dir().join(format!("xtask-cycles-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("m")).unwrap();
        std::fs::write(dir.join("lib.rs"), "pub mod m;\npub mod other;\n").unwrap();
        std::fs::write(dir.join("m/mod.rs"), "mod a;\nmod b;\npub use a::A;\npub use b::B;\n").unwrap();
        std::fs::write(dir.join("m/a.rs"), "use super::B; // through m's re-export\npub struct A;\n").unwrap();
        std::fs::write(dir.join("m/b.rs"), "use crate::m::a::A;\npub struct B;\n").unwrap();
        std::fs::write(dir.join("other.rs"), "use crate::m::A;\n").unwrap();
        let cycles = Crate::read(&dir, "lib.rs").unwrap().cycles();
        assert_eq!(cycles.len(), 1, "{cycles:?}");
        assert!(cycles[0][0].starts_with("m::a") && cycles[0][1].starts_with("m::b"), "{cycles:?}");
        std::fs::write(dir.join("m/b.rs"), "pub struct B;\n").unwrap();
        assert!(Crate::read(&dir, "lib.rs").unwrap().cycles().is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
