//! Building the page's wasm: the wasm32 target, a wasm-bindgen-cli matching the pinned
//! `wasm-bindgen` crate, the release build, the JS bindings in `web/pkg` and wasm-opt if present.

use crate::cmd::{self, cargo, on_path, output, run, section};
use crate::{repo_root, target_dir};
use anyhow::{Context, Result, bail};
use std::path::PathBuf;
use std::process::Command;

pub const TARGET: &str = "wasm32-unknown-unknown";

/// Adds the wasm32 target through rustup when it is not installed.
pub fn ensure_target() -> Result<()> {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if installed.lines().any(|l| l.trim() == TARGET) {
        println!("rust target {TARGET}: installed");
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", TARGET]))
}

/// The wasm-bindgen version pinned in Cargo.toml (`wasm-bindgen = "=X.Y.Z"`), else Cargo.lock's.
pub fn pinned_version() -> Result<String> {
    let root = repo_root();
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).context("reading Cargo.toml")?;
    for line in manifest.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("wasm-bindgen") {
            let rest = rest.trim_start();
            if let Some(value) = rest.strip_prefix('=') {
                let value = value.trim();
                let version = value.trim_matches('"').trim_start_matches('=');
                if value.starts_with("\"=") && !version.is_empty() && version.chars().all(|c| c.is_ascii_digit() || c == '.') {
                    return Ok(version.to_string());
                }
            }
        }
    }
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap_or_default();
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\""
            && let Some(v) = lines.next().and_then(|l| l.trim().strip_prefix("version = "))
        {
            return Ok(v.trim_matches('"').to_string());
        }
    }
    bail!("no exact wasm-bindgen version (`wasm-bindgen = \"=X.Y.Z\"`) in Cargo.toml or Cargo.lock")
}

/// Returns the wasm-bindgen CLI to run, installing the pinned version when missing or different.
pub fn ensure_bindgen() -> Result<PathBuf> {
    let version = pinned_version()?;
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|home| home.join("bin").join("wasm-bindgen"));
    let mut candidates = vec![PathBuf::from("wasm-bindgen")];
    candidates.extend(cargo_bin.clone());
    for candidate in &candidates {
        if let Some(out) = output(Command::new(candidate).arg("--version")) {
            if out.split_whitespace().nth(1) == Some(version.as_str()) {
                println!("wasm-bindgen-cli {version}: installed ({})", candidate.display());
                return Ok(candidate.clone());
            }
            println!("found `{}` but need wasm-bindgen {version}", out.trim());
        }
    }
    println!("installing wasm-bindgen-cli {version} (takes a few minutes)");
    run(cargo().args(["install", "wasm-bindgen-cli", "--version", &version]))?;
    for candidate in candidates {
        if output(Command::new(&candidate).arg("--version")).is_some_and(|o| o.contains(&version)) {
            return Ok(candidate);
        }
    }
    bail!("installed wasm-bindgen-cli {version} but cannot run it; is ~/.cargo/bin on PATH?")
}

/// Builds the library for wasm32 in release mode and writes the bindings to `web/pkg`.
pub fn build_page() -> Result<()> {
    section("page: wasm toolchain");
    ensure_target()?;
    let bindgen = ensure_bindgen()?;
    section("page: build wasm (release)");
    let root = repo_root();
    run(cargo().current_dir(&root).args(["build", "--lib", "--target", TARGET, "--release"]))?;
    let wasm = target_dir().join(TARGET).join("release").join("wgsplat.wasm");
    if !wasm.is_file() {
        bail!("the build did not produce {}", wasm.display());
    }
    let out_dir = root.join("web").join("pkg");
    run(Command::new(&bindgen).arg("--target").arg("web").arg("--out-dir").arg(&out_dir).arg(&wasm))?;
    let bg = out_dir.join("wgsplat_bg.wasm");
    if on_path("wasm-opt") {
        // wasm-opt failing is not fatal: the unoptimized module works.
        let opt = cmd::run(Command::new("wasm-opt").args(["-O2", "--all-features", "-o"]).arg(&bg).arg(&bg));
        if let Err(e) = opt {
            println!("warning: wasm-opt failed, keeping the unoptimized module: {e:#}");
        }
    } else {
        println!("wasm-opt not on PATH: skipping size optimization");
    }
    let size = std::fs::metadata(&bg).map(|m| m.len()).unwrap_or(0);
    println!("wrote {} ({:.1} MiB)", bg.display(), size as f64 / (1024.0 * 1024.0));
    Ok(())
}
