//! Developer tasks: `cargo xtask serve` (build the wasm page and serve it) and `cargo xtask test`
//! (install what is missing, then native tests, a native reference render and the page test).

mod bench_web;
mod cmd;
mod cycles;
mod fuzz;
mod serve;
mod setup;
mod test;
mod wasm;

use anyhow::{Context, Result, bail};
use std::path::PathBuf;

const USAGE_HEAD: &str = "usage:
  cargo xtask serve [--port N] [--no-build]   build the wasm page and serve it on 127.0.0.1
  cargo xtask test                            install what is missing, run native + page tests
  cargo xtask cycles                          fail if modules import each other (by `use` lines)
";

fn usage() -> String {
    format!("{USAGE_HEAD}{}\n{}", bench_web::USAGE, fuzz::USAGE)
}

fn main() {
    if let Err(e) = run() {
        eprintln!("\nxtask failed: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let task = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    match task.as_str() {
        "serve" => {
            let mut port = 8080u16;
            let mut build = true;
            let mut it = rest.iter();
            while let Some(arg) = it.next() {
                match arg.as_str() {
                    "--port" => {
                        let value = it.next().context("--port needs a number")?;
                        port = value.parse().with_context(|| format!("--port {value:?} is not a port number"))?;
                    }
                    "--no-build" => build = false,
                    other => bail!("unknown argument {other:?}\n{}", usage()),
                }
            }
            serve::serve_command(port, build)
        }
        "test" => {
            if let Some(other) = rest.first() {
                bail!("unknown argument {other:?}\n{}", usage());
            }
            test::test_command()
        }
        "fuzz" => fuzz::fuzz_command(&rest),
        "cycles" => cycles::cycles_command(&repo_root()),
        "bench-web" => bench_web::bench_web_command(bench_web::Options::parse(&rest)?).map(|_| ()),
        "" | "help" | "--help" | "-h" => {
            println!("{}", usage());
            Ok(())
        }
        other => bail!("unknown task {other:?}\n{}", usage()),
    }
}

/// The workspace root: the nearest folder up from the current one that holds `xtask/`, as
/// `cargo xtask` runs from inside the checkout; else the parent of this crate's directory (a
/// compile-time path, which a build shared between checkouts would get wrong).
pub fn repo_root() -> PathBuf {
    let from_cwd =
        std::env::current_dir().ok().and_then(|cwd| cwd.ancestors().find(|d| d.join("xtask/Cargo.toml").is_file()).map(PathBuf::from));
    from_cwd.unwrap_or_else(|| {
        let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        manifest.parent().map(PathBuf::from).unwrap_or(manifest)
    })
}

/// Cargo's target directory: `CARGO_TARGET_DIR` when set, else `<root>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() { dir } else { repo_root().join(dir) }
        }
        _ => repo_root().join("target"),
    }
}
