//! Lists every WGSL file of `shaders/` (pipeline stages) and `shaders/shared/` (includes) for
//! `kernel::shader`, so that no list of shaders is kept by hand: a new file is loadable by its
//! name and covered by the validation test at once.

use std::fmt::Write;
use std::path::Path;

fn wgsl_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "wgsl"))
        .filter_map(|path| path.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    names.sort();
    names
}

/// The table of `dir` (relative to the package). The paths it includes are spelled from
/// `CARGO_MANIFEST_DIR` where the crate compiles, not where this script ran: checkouts sharing
/// one target directory otherwise compile each other's shaders.
fn table(out: &mut String, name: &str, root: &Path, dir: &str) {
    writeln!(out, "pub(crate) const {name}: &[(&str, &str)] = &[").unwrap();
    for stem in wgsl_files(&root.join(dir)) {
        writeln!(out, "    ({stem:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), {:?}))),", format!("/{dir}/{stem}.wgsl")).unwrap();
    }
    writeln!(out, "];").unwrap();
}

fn main() {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest_dir);
    println!("cargo:rerun-if-changed=shaders");
    println!("cargo:rerun-if-changed=shaders/shared");
    let mut out = String::new();
    table(&mut out, "STAGES", root, "shaders");
    table(&mut out, "SHARED", root, "shaders/shared");
    let dest = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("shader_sources.rs");
    std::fs::write(&dest, out).unwrap_or_else(|e| panic!("writing {}: {e}", dest.display()));
}
