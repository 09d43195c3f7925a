//! `cargo xtask test`: installs what is missing, checks formatting, lints and import cycles, then
//! runs the native tests on lavapipe, renders the demo natively as the page test's reference,
//! builds the page and runs the page tests (the viewer, training in the browser, and our files in
//! Spark). Every native step builds with the `burn` feature, so the library compiles once for the
//! tests, the burn tests and the CLI.

use crate::cmd::{cargo, run, section};
use crate::{repo_root, target_dir};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The size of the demo view that the page test compares with the native render.
const WIDTH: u32 = 320;
const HEIGHT: u32 = 240;

pub fn test_command() -> Result<()> {
    let start = Instant::now();
    let mut timings = Vec::new();
    let mut step = |name: &str, f: &mut dyn FnMut() -> Result<()>| -> Result<()> {
        let t = Instant::now();
        let result = f().with_context(|| format!("step `{name}` failed"));
        timings.push((name.to_string(), t.elapsed().as_secs_f64(), result.is_ok()));
        result
    };
    let scratch = scratch_dir()?;
    let runtime_dir = scratch.join("xdg-runtime");
    make_private_dir(&runtime_dir)?;
    let reference_dir = scratch.join("reference");

    // After setup, a failing step does not stop the later ones (CI shows every failure at once);
    // only the page test waits for the wasm build.
    let mut failures = Vec::new();
    let result = (|| -> Result<()> {
        step("setup", &mut crate::setup::install_missing)?;
        let mut keep_going = |r: Result<()>| {
            r.map_err(|e| {
                println!("\n{e:#}");
                failures.push(format!("{e:#}"));
            })
        };
        let _ = keep_going(step("format, lints, cycles", &mut style_checks));
        let _ = keep_going(step("native tests", &mut || native_tests(&runtime_dir)));
        let _ = keep_going(step("native reference render", &mut || reference_render(&runtime_dir, &reference_dir)));
        if keep_going(step("wasm build", &mut crate::wasm::build_page)).is_ok() {
            let _ = keep_going(step("page test", &mut || page_test(&scratch, &reference_dir.join("demo.png"))));
            let _ = keep_going(step("browser benchmark (brief)", &mut || bench_web_brief(&runtime_dir, &scratch.join("bench-web"))));
        }
        Ok(())
    })();

    section("summary");
    for (name, secs, ok) in &timings {
        println!("{:<26} {:>8.1} s  {}", name, secs, if *ok { "ok" } else { "FAILED" });
    }
    println!("{:<26} {:>8.1} s", "total", start.elapsed().as_secs_f64());
    result?;
    if !failures.is_empty() {
        anyhow::bail!("{} step(s) failed:\n  {}", failures.len(), failures.join("\n  "));
    }
    println!("\nall tests passed");
    Ok(())
}

/// Environment for native GPU work on lavapipe (or whatever Vulkan device is present).
fn native_env(cmd: &mut Command, runtime_dir: &Path) {
    cmd.env("XDG_RUNTIME_DIR", runtime_dir).env("WGPU_BACKEND", "vulkan");
}

/// The features every native build of this command uses: one set, so nothing compiles twice.
const NATIVE_FEATURES: &str = "wgsplat/burn";

/// `cargo fmt --check`, clippy with warnings as errors over every target, and no import cycles.
fn style_checks() -> Result<()> {
    section("format (cargo fmt --all --check)");
    run(cargo().current_dir(repo_root()).args(["fmt", "--all", "--check"]))?;
    section("lints (cargo clippy --workspace --all-targets -- -D warnings)");
    run(cargo().current_dir(repo_root()).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--features",
        NATIVE_FEATURES,
        "--",
        "-D",
        "warnings",
    ]))?;
    section("import cycles (cargo xtask cycles)");
    crate::cycles::cycles_command(&repo_root())
}

/// Every workspace test binary: the unit tests, the formats' tests, the integration tests and
/// the burn autodiff op (losses written with burn tensors backpropagating through the renderer).
fn native_tests(runtime_dir: &Path) -> Result<()> {
    section("native tests (cargo test --workspace --tests --features wgsplat/burn, Vulkan)");
    let mut cmd = cargo();
    cmd.current_dir(repo_root()).args(["test", "--workspace", "--tests", "--no-fail-fast", "--features", NATIVE_FEATURES]);
    native_env(&mut cmd, runtime_dir);
    run(&mut cmd)
}

fn reference_render(runtime_dir: &Path, out_dir: &Path) -> Result<()> {
    section(&format!("native reference render of the demo ({WIDTH}x{HEIGHT})"));
    run(cargo().current_dir(repo_root()).args(["build", "--bin", "wgsplat", "--features", NATIVE_FEATURES]))?;
    let exe = target_dir().join("debug").join(format!("wgsplat{}", std::env::consts::EXE_SUFFIX));
    let mut cmd = Command::new(&exe);
    cmd.args(["render", "--demo", "--width", &WIDTH.to_string(), "--height", &HEIGHT.to_string(), "--out"]).arg(out_dir);
    native_env(&mut cmd, runtime_dir);
    run(&mut cmd)?;
    let png = out_dir.join("demo.png");
    anyhow::ensure!(png.is_file(), "the CLI did not write {}", png.display());
    Ok(())
}

fn page_test(scratch: &Path, reference_png: &Path) -> Result<()> {
    section("page test (headless Chromium, WebGPU on SwiftShader)");
    let root = repo_root();
    let base = crate::serve::spawn(root.clone())?;
    let url = format!("{base}?size={WIDTH}x{HEIGHT}");
    println!("serving {} at {base}", root.display());
    let mut node = Command::new("node");
    node.current_dir(&root).arg("web/tests/page.test.mjs").arg(&url);
    if reference_png.is_file() {
        node.arg(reference_png);
    } else {
        println!("no native reference ({}): the comparison case is skipped", reference_png.display());
    }
    let viewer = run(&mut node);
    section("page test: training in the browser (headless Chromium, WebGPU on SwiftShader)");
    let data = std::env::var_os("WGSPLAT_DATA").map(PathBuf::from).unwrap_or_else(|| root.join("..").join("shared").join("data"));
    let mut node = Command::new("node");
    node.current_dir(&root).arg("web/tests/train.test.mjs").arg(&base).arg(&data);
    let training = run(&mut node);
    section("page test: our files in Spark (THREE.js, headless Chromium, WebGL on SwiftShader)");
    // The test writes its files, Spark's pictures and the diff images to <scratch>/spark.
    let exe = target_dir().join("debug").join(format!("wgsplat{}", std::env::consts::EXE_SUFFIX));
    let mut node = Command::new("node");
    node.current_dir(&root).arg("web/tests/spark.test.mjs").arg(&base).arg(&exe).arg(scratch);
    native_env(&mut node, &scratch.join("xdg-runtime"));
    let spark = run(&mut node);
    viewer.context("the viewer page tests failed")?;
    training.context("the training page tests failed")?;
    spark.context("the Spark page test failed")
}

/// `bench-web` for a few demo steps on SwiftShader against the debug CLI on lavapipe: the
/// benchmark's whole path works (the page trains by itself and reports, the CLI runs, the
/// profiles compare); its numbers mean nothing here.
fn bench_web_brief(runtime_dir: &Path, out: &Path) -> Result<()> {
    section("browser benchmark, briefly (cargo xtask bench-web --demo-steps 20, SwiftShader)");
    let mut options =
        crate::bench_web::Options::parse(&["--no-build".into(), "--demo-steps".into(), "20".into(), "--timeout".into(), "600".into()])?;
    options.wgsplat = Some(target_dir().join("debug").join(format!("wgsplat{}", std::env::consts::EXE_SUFFIX)));
    options.out = out.to_path_buf();
    options.native_env = vec![("XDG_RUNTIME_DIR".into(), runtime_dir.to_path_buf()), ("WGPU_BACKEND".into(), "vulkan".into())];
    let report = crate::bench_web::bench_web_command(options)?;
    let demo = &report["runs"][0];
    for side in ["page", "native"] {
        let sps = demo[side]["steps_per_second"].as_f64().unwrap_or(0.0);
        let psnr = demo[side]["psnr"].as_f64().unwrap_or(f64::NAN);
        anyhow::ensure!(sps > 0.0 && psnr.is_finite(), "the {side} run reported {sps} steps/s and PSNR {psnr}");
    }
    Ok(())
}

/// A fresh scratch directory under the target directory (kept for inspection after failures).
fn scratch_dir() -> Result<PathBuf> {
    let dir = target_dir().join("xtask-test");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

fn make_private_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}
