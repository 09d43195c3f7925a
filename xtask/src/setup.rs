//! Installing what the tests need when it is missing: apt packages (lavapipe, Chromium,
//! chromedriver, Node.js when absent) and web/package.json's packages from npm: playwright-core,
//! and the ecosystem's own splat tools the format tests check our files with (splat-transform,
//! Spark and THREE.js). The Rust tools live in `wasm.rs`.

use crate::cmd::{on_path, output, run, section};
use crate::repo_root;
use anyhow::{Context, Result, bail};
use std::process::Command;

/// Debian packages: Mesa's lavapipe (Vulkan on the CPU) and headless Chromium with its driver.
const APT_PACKAGES: &[&str] = &["mesa-vulkan-drivers", "libvulkan1", "chromium", "chromium-driver"];

pub fn install_missing() -> Result<()> {
    section("setup: system packages");
    apt_packages()?;
    crate::wasm::ensure_target()?;
    crate::wasm::ensure_bindgen()?;
    rust_components()?;
    section("setup: npm (playwright-core, splat-transform, Spark, three)");
    npm_install()
}

fn apt_packages() -> Result<()> {
    let mut missing: Vec<&str> = APT_PACKAGES.iter().copied().filter(|p| !dpkg_installed(p)).collect();
    if !on_path("node") || !on_path("npm") {
        // The page test runs under Node.js; Debian's nodejs + npm are recent enough.
        missing.extend(["nodejs", "npm"]);
    }
    if missing.is_empty() {
        println!("apt packages present: {}", APT_PACKAGES.join(" "));
        return Ok(());
    }
    if !on_path("apt-get") {
        bail!("missing packages {missing:?} and no apt-get here: install them by hand");
    }
    println!("installing missing apt packages: {}", missing.join(" "));
    let root = output(Command::new("id").arg("-u")).is_some_and(|uid| uid.trim() == "0");
    let sudo = |args: &[&str]| {
        let mut cmd = if root { Command::new(args[0]) } else { Command::new("sudo") };
        if !root {
            cmd.arg("-E").arg(args[0]);
        }
        cmd.args(&args[1..]).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    run(&mut sudo(&["apt-get", "update"]))?;
    let mut install = vec!["apt-get", "install", "-y", "--no-install-recommends"];
    install.extend(&missing);
    run(&mut sudo(&install))
}

/// rustfmt and clippy, which the test command's first check runs (rustup's default profile has
/// them; a minimal toolchain does not).
fn rust_components() -> Result<()> {
    let present = |tool: &str| output(crate::cmd::cargo().args([tool, "--version"])).is_some();
    let missing: Vec<&str> =
        [("fmt", "rustfmt"), ("clippy", "clippy")].iter().filter(|(tool, _)| !present(tool)).map(|(_, c)| *c).collect();
    if missing.is_empty() {
        return Ok(());
    }
    println!("installing rust components: {}", missing.join(" "));
    run(Command::new("rustup").args(["component", "add"]).args(&missing))
}

fn dpkg_installed(package: &str) -> bool {
    output(Command::new("dpkg-query").args(["-W", "-f=${Status}", package])).is_some_and(|s| s.contains("install ok installed"))
}

fn npm_install() -> Result<()> {
    let web = repo_root().join("web");
    // What web/package.json asks for: the list lives there only.
    let manifest = std::fs::read_to_string(web.join("package.json")).context("reading web/package.json")?;
    let manifest: serde_json::Value = serde_json::from_str(&manifest).context("web/package.json is not JSON")?;
    let packages: Vec<&str> =
        manifest["devDependencies"].as_object().map(|deps| deps.keys().map(String::as_str).collect()).unwrap_or_default();
    if packages.is_empty() {
        bail!("web/package.json lists no devDependencies (playwright-core and the splat tools belong there)");
    }
    if packages.iter().all(|p| web.join("node_modules").join(p).join("package.json").is_file()) {
        println!("{}: installed", packages.join(", "));
        return Ok(());
    }
    if !on_path("npm") {
        bail!("npm is missing: install Node.js 18+ (with npm) to run the page test");
    }
    run(Command::new("npm").current_dir(&web).args(["install", "--no-audit", "--no-fund"]))
}
