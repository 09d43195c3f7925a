//! `cargo xtask fuzz [--seconds N] [TARGET...]`: coverage-guided fuzzing of every parser of user
//! files (the targets in fuzz/), with libFuzzer through cargo-fuzz on the stable toolchain
//! (`--sanitizer none`: Rust's own checks find the panics, overflows and out-of-bounds reads;
//! `-timeout` finds hangs; allocations past 1 GiB, which no input of at most 64 KiB pays for in
//! any format, abort through the targets' own allocator, fuzz/fuzz_targets/alloc_limit.rs, since
//! without a sanitizer libFuzzer's `-malloc_limit_mb` is not enforced and `-rss_limit_mb` sees
//! only the pages a process touches; both are passed anyway). Each target
//! starts from its seeds in fuzz/seeds/<target>/ plus what earlier runs found (kept in
//! fuzz/corpus/<target>/, ignored by git) and runs for `--seconds`. Reports executions, corpus
//! size and findings per target, in a table and in fuzz/report.json; fails when a target found
//! something (the input is in fuzz/artifacts/<target>/).

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::process::Stdio;

use crate::cmd::{cargo, output, run, section};
use crate::repo_root;

pub const USAGE: &str = "  cargo xtask fuzz [--seconds N] [TARGET...]
      coverage-guided fuzzing of the file parsers (fuzz/), N seconds a target (default 600);
      targets: ply splat_formats colmap_binary colmap_text transforms zip_dataset checkpoint profile_json";

pub const TARGETS: [&str; 8] =
    ["ply", "splat_formats", "colmap_binary", "colmap_text", "transforms", "zip_dataset", "checkpoint", "profile_json"];

/// Largest input libFuzzer makes (and reads of a seed: the decompression bombs among the seeds
/// are smaller), memory limits well above what any valid input of this size pays for (the
/// readers bound memory by the input's size: see src/scene/), the same as alloc_limit.rs's
/// LIMIT_BYTES, and the longest one input may take.
const MAX_LEN: u32 = 65536;
const RSS_LIMIT_MB: u32 = 1024;
const MALLOC_LIMIT_MB: u32 = 1024;
const TIMEOUT_S: u32 = 20;

pub fn fuzz_command(args: &[String]) -> Result<()> {
    let mut seconds = 600u64;
    let mut targets = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--seconds" => {
                let v = it.next().context("--seconds needs a number")?;
                seconds = v.parse().with_context(|| format!("--seconds {v:?} is not a whole number"))?;
            }
            t if TARGETS.contains(&t) => targets.push(t.to_string()),
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    if targets.is_empty() {
        targets = TARGETS.iter().map(|t| t.to_string()).collect();
    }
    ensure_cargo_fuzz()?;
    let root = repo_root();
    let fuzz_dir = root.join("fuzz");
    let mut rows = Vec::new();
    for target in &targets {
        section(&format!("fuzz: {target} for {seconds} s"));
        let corpus = fuzz_dir.join("corpus").join(target);
        let artifacts = fuzz_dir.join("artifacts").join(target);
        std::fs::create_dir_all(&corpus)?;
        std::fs::create_dir_all(&artifacts)?;
        let before = count_files(&artifacts);
        let log_path = fuzz_dir.join("corpus").join(format!("{target}.log"));
        let log = std::fs::File::create(&log_path)?;
        let mut cmd = cargo();
        cmd.current_dir(&root)
            .args(["fuzz", "run", "--sanitizer", "none", "--fuzz-dir"])
            .arg(&fuzz_dir)
            .arg(target)
            .arg(&corpus)
            .arg(fuzz_dir.join("seeds").join(target))
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .arg(format!("-max_len={MAX_LEN}"))
            .arg(format!("-rss_limit_mb={RSS_LIMIT_MB}"))
            .arg(format!("-malloc_limit_mb={MALLOC_LIMIT_MB}"))
            .arg(format!("-timeout={TIMEOUT_S}"))
            .arg(format!("-artifact_prefix={}/", artifacts.display()))
            .stdout(log.try_clone()?)
            .stderr(log);
        println!("$ cargo fuzz run --sanitizer none {target} (log: {})", log_path.display());
        let status = cmd.status().context("could not start cargo fuzz")?;
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        let found = count_files(&artifacts).saturating_sub(before);
        let row = json!({
            "target": target,
            "seconds": seconds,
            "executions": executions(&text),
            "corpus": count_files(&corpus),
            "findings": found,
            "exit": status.code(),
            "log": log_path.display().to_string(),
        });
        println!("{target}: {} executions, corpus {}, findings {found}", row["executions"], row["corpus"]);
        rows.push(row);
    }
    let report = json!({ "targets": rows });
    std::fs::write(fuzz_dir.join("report.json"), serde_json::to_string_pretty(&report)?)?;
    section("fuzz: results");
    println!("| target | seconds | executions | corpus | findings |\n|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} |",
            r["target"].as_str().unwrap_or("?"),
            r["seconds"],
            r["executions"],
            r["corpus"],
            r["findings"]
        );
    }
    let failed: Vec<&str> =
        rows.iter().filter(|r| r["findings"].as_u64() != Some(0) || r["exit"] != json!(0)).filter_map(|r| r["target"].as_str()).collect();
    if !failed.is_empty() {
        bail!("fuzzing found inputs that crash, hang or exhaust memory in {failed:?}: see fuzz/artifacts/ and the logs");
    }
    Ok(())
}

/// Installs cargo-fuzz when `cargo fuzz` is not there.
fn ensure_cargo_fuzz() -> Result<()> {
    if output(cargo().args(["fuzz", "--version"]).stderr(Stdio::null())).is_some() {
        return Ok(());
    }
    run(cargo().args(["install", "cargo-fuzz", "--locked"]))
}

fn count_files(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir).map(|d| d.filter_map(|e| e.ok()).filter(|e| e.path().is_file()).count() as u64).unwrap_or(0)
}

/// Executions libFuzzer reports at the end ("Done 123 runs in 600 second(s)"), else the last
/// progress line's count ("#123 ...").
fn executions(log: &str) -> Value {
    for line in log.lines().rev() {
        if let Some(rest) = line.strip_prefix("Done ")
            && let Some(n) = rest.split_whitespace().next().and_then(|n| n.parse::<u64>().ok())
        {
            return json!(n);
        }
    }
    for line in log.lines().rev() {
        if let Some(n) = line.strip_prefix('#').and_then(|r| r.split_whitespace().next()).and_then(|n| n.parse::<u64>().ok()) {
            return json!(n);
        }
    }
    Value::Null
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executions_come_from_libfuzzers_last_words() {
        assert_eq!(executions("#2 INITED\n#100\tpulse\nDone 12345 runs in 10 second(s)\n"), json!(12345));
        assert_eq!(executions("#2 INITED cov: 5\n#4096 pulse cov: 9\n==1== ERROR: libFuzzer: deadly signal"), json!(4096));
        assert_eq!(executions("error: could not compile"), Value::Null);
    }
}
