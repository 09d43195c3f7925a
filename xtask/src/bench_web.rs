//! `cargo xtask bench-web`: training in the page against the native CLI, same data, same run.
//! Serves the page, opens it in headless Chromium with `?bench=demo` and (with `--dataset`)
//! `?bench=dataset`, where the page trains by itself (web/train/bench.js) and POSTs what it
//! measured; then trains the same sets with the native `wgsplat train`. Reports steps/s, test
//! PSNR, the longest main-thread task, the adapters and, from the two profiles, GPU time per pass
//! (`wgsplat compare`): a table on stdout and `bench-web.json` with the profiles in `--out`.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::cmd::{cargo, run, section};
use crate::serve::{BenchRoutes, spawn_with};
use crate::{repo_root, target_dir};

pub const USAGE: &str = "  cargo xtask bench-web [--demo-steps N] [--dataset DIR --steps N] [--seed S]
                       [--browser 'COMMAND {url} FLAGS'] [--wgsplat BIN] [--no-build]
                       [--out DIR] [--timeout SECONDS] [--page-query QUERY] [--probe]
      train in the page (headless Chromium) and natively on the same data; steps/s, PSNR,
      longest main-thread task, GPU time per pass. Default browser: local chromium on
      SwiftShader; on the GPU machine: --browser '/opt/chr/chr.sh run {url}'.
      --page-query adds to the page's address (e.g. without=timestamps); --probe first
      measures what the browser's WebGPU charges per submission, pass and dispatch";

/// Chromium on this machine, WebGPU on SwiftShader, with the flags the page tests and
/// wasm-bindgen-test use (webdriver.json holds them for all three).
fn local_browser() -> Result<String> {
    let path = repo_root().join("webdriver.json");
    let config = read_json(&path)?;
    let args: Vec<&str> = config["goog:chromeOptions"]["args"]
        .as_array()
        .with_context(|| format!("{}: no goog:chromeOptions.args", path.display()))?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    Ok(format!("chromium {} --remote-debugging-port=0 --user-data-dir={{profile}} {{url}}", args.join(" ")))
}

pub struct Options {
    pub demo_steps: u32,
    pub dataset: Option<PathBuf>,
    pub steps: u32,
    pub seed: u64,
    pub browser: String,
    pub wgsplat: Option<PathBuf>,
    pub build: bool,
    pub out: PathBuf,
    pub timeout: Duration,
    /// Environment for the native CLI (the test command's lavapipe settings).
    pub native_env: Vec<(String, PathBuf)>,
    /// Added to the page's query string (`without=timestamps`), for variants of the page.
    pub page_query: String,
    /// Measure the browser's WebGPU costs first (web/train/probe.js).
    pub probe: bool,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Self> {
        let mut o = Options {
            demo_steps: 3000,
            dataset: None,
            steps: 3000,
            seed: 0,
            browser: String::new(),
            wgsplat: None,
            build: true,
            out: PathBuf::from("bench-web"),
            timeout: Duration::from_secs(3600),
            native_env: Vec::new(),
            page_query: String::new(),
            probe: false,
        };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let mut value = |name: &str| it.next().with_context(|| format!("{name} needs a value")).cloned();
            let number = |name: &str, v: String| v.parse::<u64>().with_context(|| format!("{name} {v:?} is not a whole number"));
            match arg.as_str() {
                "--demo-steps" => o.demo_steps = number(arg, value(arg)?)? as u32,
                "--steps" => o.steps = number(arg, value(arg)?)? as u32,
                "--seed" => o.seed = number(arg, value(arg)?)?,
                "--dataset" => o.dataset = Some(PathBuf::from(value(arg)?)),
                "--browser" => o.browser = value(arg)?,
                "--wgsplat" => o.wgsplat = Some(PathBuf::from(value(arg)?)),
                "--no-build" => o.build = false,
                "--out" => o.out = PathBuf::from(value(arg)?),
                "--timeout" => o.timeout = Duration::from_secs(number(arg, value(arg)?)?),
                "--page-query" => o.page_query = value(arg)?,
                "--probe" => o.probe = true,
                other => bail!("unknown argument {other:?}\n{USAGE}"),
            }
        }
        if o.browser.is_empty() {
            o.browser = local_browser()?;
        }
        if !o.browser.contains("{url}") {
            bail!("--browser must contain {{url}} where the page's address goes");
        }
        if !o.page_query.is_empty() && (o.page_query.contains([' ', '#', '?']) || !o.page_query.split('&').all(|p| p.contains('='))) {
            bail!("--page-query {:?}: give name=value pairs joined by &", o.page_query);
        }
        if let Some(dir) = &o.dataset
            && !dir.is_dir()
        {
            bail!("--dataset {}: not a folder", dir.display());
        }
        Ok(o)
    }
}

/// One training set, in the page and natively.
struct Run {
    name: &'static str,
    steps: u32,
}

/// Runs the benchmark; returns the report it wrote.
pub fn bench_web_command(o: Options) -> Result<Value> {
    let root = repo_root();
    if o.build {
        crate::wasm::build_page()?;
        if o.wgsplat.is_none() {
            section("bench-web: native CLI (release)");
            run(cargo().current_dir(&root).args(["build", "--release", "--bin", "wgsplat"]))?;
        }
    }
    let wgsplat =
        o.wgsplat.clone().unwrap_or_else(|| target_dir().join("release").join(format!("wgsplat{}", std::env::consts::EXE_SUFFIX)));
    if !wgsplat.is_file() {
        bail!("{} is missing: build it (or pass --wgsplat)", wgsplat.display());
    }
    if !root.join("web/pkg/wgsplat.js").is_file() {
        bail!("web/pkg/wgsplat.js is missing: run without --no-build first");
    }
    std::fs::create_dir_all(&o.out).with_context(|| format!("creating {}", o.out.display()))?;
    let out = o.out.canonicalize()?;

    let (sender, results) = mpsc::channel();
    let routes = Arc::new(BenchRoutes { dataset: o.dataset.clone(), results: sender });
    let base = spawn_with(root.clone(), Some(routes))?;

    let probe = if o.probe { Some(probe_run(&o, &base, &results, &out)?) } else { None };

    let mut runs = vec![Run { name: "demo", steps: o.demo_steps }];
    if o.dataset.is_some() {
        runs.push(Run { name: "dataset", steps: o.steps });
    }
    let mut rows = Vec::new();
    for r in &runs {
        section(&format!("bench-web: {} in the page ({} steps)", r.name, r.steps));
        let url = page_url(&base, &o, &format!("bench={}&steps={}", r.name, r.steps));
        let profile_dir = fresh_profile_dir(&out, r.name)?;
        let page = page_run(&o, &url, &results, &profile_dir, r.name)?;
        let page_profile = out.join(format!("page-{}-profile.json", r.name));
        std::fs::write(&page_profile, serde_json::to_vec(&page["profile"])?)?;

        section(&format!("bench-web: {} natively ({} steps)", r.name, r.steps));
        let native_dir = out.join(format!("native-{}", r.name));
        let native_profile = out.join(format!("native-{}-profile.json", r.name));
        let mut train = Command::new(&wgsplat);
        train.arg("train");
        match r.name {
            "demo" => train.arg("--demo"),
            _ => train.arg(o.dataset.as_ref().expect("the dataset run has a dataset")),
        };
        train.envs(o.native_env.iter().map(|(k, v)| (k, v)));
        train
            .args(["--steps", &r.steps.to_string(), "--seed", &o.seed.to_string(), "--checkpoint-every", "0", "--out"])
            .arg(&native_dir)
            .arg("--profile")
            .arg(&native_profile);
        run(&mut train)?;
        let native: Value = read_json(&native_dir.join("eval.json"))?;

        let passes = out.join(format!("{}-passes.md", r.name));
        run(Command::new(&wgsplat).arg("compare").arg(&native_profile).arg(&page_profile).arg("--markdown").arg(&passes))?;
        rows.push(row(r, &page, &native, &passes)?);
    }

    let report = json!({ "runs": rows, "seed": o.seed, "page_query": o.page_query, "probe": probe });
    let json_path = out.join("bench-web.json");
    std::fs::write(&json_path, serde_json::to_string_pretty(&report)?)?;
    section("bench-web: results");
    if let Some(probe) = &probe {
        print_probe(probe);
    }
    print_table(&rows);
    for r in &runs {
        println!("\nGPU time per pass, {} (A: native, B: the page):\n", r.name);
        print!("{}", std::fs::read_to_string(out.join(format!("{}-passes.md", r.name)))?);
    }
    println!("\nwrote {}", json_path.display());
    Ok(report)
}

/// The page's address for one run: the bench's own parameters, then `--page-query`.
fn page_url(base: &str, o: &Options, bench: &str) -> String {
    let extra = if o.page_query.is_empty() { String::new() } else { format!("&{}", o.page_query) };
    format!("{base}index.html?{bench}&seed={}&timeout={}{extra}", o.seed, o.timeout.as_secs())
}

/// A fresh browser profile for run `name`: no saved run to offer, no lock a leftover browser
/// holds.
fn fresh_profile_dir(out: &Path, name: &str) -> Result<PathBuf> {
    let dir = out.join(format!("chromium-{name}"));
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    Ok(dir)
}

/// The browser's WebGPU costs, measured by the page (`?bench=probe`).
fn probe_run(o: &Options, base: &str, results: &mpsc::Receiver<String>, out: &Path) -> Result<Value> {
    section("bench-web: what the browser's WebGPU costs (probe)");
    let profile_dir = fresh_profile_dir(out, "probe")?;
    let page = page_run(o, &page_url(base, o, "bench=probe"), results, &profile_dir, "probe")?;
    Ok(page["probe"].clone())
}

fn print_probe(probe: &Value) {
    println!("WebGPU in the page ({}), microseconds per item:\n", probe["adapter"].as_str().unwrap_or("?"));
    println!("| item | us | what one item is |");
    println!("|---|---|---|");
    for r in probe["results"].as_array().into_iter().flatten() {
        let us = r["us"].as_f64().map_or_else(|| r["note"].as_str().unwrap_or("-").to_string(), |x| format!("{x:.2}"));
        println!("| {} | {} | {} |", r["name"].as_str().unwrap_or("?"), us, r["what"].as_str().unwrap_or(""));
    }
    println!();
}

/// Opens `url` in the browser and waits for the page's POST; the browser is stopped either way.
fn page_run(o: &Options, url: &str, results: &mpsc::Receiver<String>, profile_dir: &Path, kind: &str) -> Result<Value> {
    let command = o.browser.replace("{url}", url).replace("{profile}", &profile_dir.display().to_string());
    let words: Vec<&str> = command.split_whitespace().collect();
    let (program, args) = words.split_first().context("--browser is empty")?;
    println!("$ {command}");
    let log = std::fs::File::create(profile_dir.with_extension("log"))?;
    let mut command = Command::new(program);
    command.args(args).stdout(Stdio::null()).stderr(log);
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut browser = Browser(command.spawn().with_context(|| format!("could not start the browser `{program}`"))?);
    let started = Instant::now();
    let text = loop {
        match results.recv_timeout(Duration::from_secs(5)) {
            // A result of another run (a page left over from an earlier one) is not this one's.
            Ok(text) if serde_json::from_str::<Value>(&text).is_ok_and(|v| v["kind"] != kind) => continue,
            Ok(text) => break text,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Some(status) = browser.0.try_wait()? {
                    bail!(
                        "the browser exited ({status}) before the page reported (its output: {})",
                        profile_dir.with_extension("log").display()
                    );
                }
                if started.elapsed() > o.timeout {
                    bail!("no result from the page after {:?}", o.timeout);
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => bail!("the server stopped"),
        }
    };
    drop(browser);
    let value: Value = serde_json::from_str(&text).context("the page's result is not JSON")?;
    if value["ok"] != Value::Bool(true) {
        bail!("the page's run failed: {}", value["error"].as_str().unwrap_or("no reason given"));
    }
    Ok(value)
}

/// The browser's processes (Chromium starts several), stopped on drop.
struct Browser(Child);

impl Browser {
    /// Stops every process of the browser's group (on unix; elsewhere the one started), even
    /// when the first one has already exited and left the others running.
    fn stop(&mut self) {
        #[cfg(unix)]
        {
            let group = format!("-{}", self.0.id());
            let signal = |s: &str| {
                Command::new("kill")
                    .args([s, "--", &group])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|st| st.success())
            };
            signal("-TERM");
            let deadline = Instant::now() + Duration::from_secs(5);
            // `kill -0` succeeds while any process of the group is left.
            while Instant::now() < deadline && signal("-0") {
                let _ = self.0.try_wait();
                std::thread::sleep(Duration::from_millis(100));
            }
            signal("-KILL");
        }
        #[cfg(not(unix))]
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.stop();
    }
}

fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

/// The last evaluation's PSNR in a list of evaluations.
fn last_psnr(evaluations: &Value) -> Option<f64> {
    evaluations.as_array()?.last()?["psnr"].as_f64()
}

fn row(r: &Run, page: &Value, native: &Value, passes: &Path) -> Result<Value> {
    let page_sps = page["steps_per_second"].as_f64().context("the page reported no steps/s")?;
    anyhow::ensure!(
        page["export"]["splats"].as_u64().is_some_and(|n| n > 0),
        "the page's model did not export and load back: {}",
        page["export"]
    );
    let native_sps = native["steps_per_second"].as_f64().context("eval.json has no steps_per_second")?;
    Ok(json!({
        "run": r.name,
        "steps": r.steps,
        "page": {
            "steps_per_second": page_sps,
            "train_seconds": page["train_seconds"],
            "psnr": last_psnr(&page["evaluations"]),
            "longest_main_thread_task_ms": page["longest_task_ms"],
            "splats": page["status"]["splats"],
            "busy_seconds": page["status"]["busy_seconds"],
            "longest_slice_ms": page["status"]["longest_slice_ms"],
            "peak_gpu_bytes": page["status"]["peak_gpu_bytes"],
            "adapter": page["adapter"],
            "decode": page["decode"],
            // The downloaded model, read back (bytes, splats, SH degree), and the splats the
            // non-finite guard removed.
            "export": page["export"],
            "nonfinite_removed": page["nonfinite_removed"],
        },
        "native": {
            "steps_per_second": native_sps,
            "train_seconds": native["train_seconds"],
            "psnr": last_psnr(&native["evaluations"]),
            "peak_gpu_bytes": native["peak_gpu_bytes"],
            "adapter": native["adapter"],
            "nonfinite_removed": native["nonfinite_removed"],
        },
        "page_over_native": page_sps / native_sps,
        "passes_markdown": passes.display().to_string(),
    }))
}

fn print_table(rows: &[Value]) {
    let f = |v: &Value, digits: usize| v.as_f64().map_or_else(|| "-".to_string(), |x| format!("{x:.digits$}"));
    println!("| run | steps | native steps/s | page steps/s | page / native | native PSNR | page PSNR | longest main-thread task (ms) |");
    println!("|---|---|---|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {}x | {} | {} | {} |",
            r["run"].as_str().unwrap_or("?"),
            r["steps"],
            f(&r["native"]["steps_per_second"], 1),
            f(&r["page"]["steps_per_second"], 1),
            f(&r["page_over_native"], 2),
            f(&r["native"]["psnr"], 2),
            f(&r["page"]["psnr"], 2),
            // The Long Tasks API reports only tasks of 50 ms or more.
            match r["page"]["longest_main_thread_task_ms"].as_f64() {
                Some(ms) if ms > 0.0 => format!("{ms:.0}"),
                Some(_) => "none of 50 or more".to_string(),
                None => "not measurable".to_string(),
            },
        );
    }
    for r in rows {
        let export = &r["page"]["export"];
        println!(
            "{}: the page's downloaded model: {} bytes, {} splats, read back valid; non-finite splats removed: page {}, native {}",
            r["run"].as_str().unwrap_or("?"),
            export["bytes"],
            export["splats"],
            r["page"]["nonfinite_removed"]["removed"],
            r["native"]["nonfinite_removed"]["removed"]
        );
    }
    if let Some(first) = rows.first() {
        println!("\npage adapter: {}", first["page"]["adapter"].as_str().unwrap_or("?"));
        let native = &first["native"]["adapter"];
        println!("native adapter: {} ({})", native["name"].as_str().unwrap_or("?"), native["backend"].as_str().unwrap_or("?"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_browser_is_swiftshader_chromium_with_the_page_tests_flags() {
        let o = Options::parse(&[]).unwrap();
        assert!(o.browser.starts_with("chromium --headless=new --no-sandbox --enable-unsafe-webgpu"), "{}", o.browser);
        for part in ["--enable-features=Vulkan --use-vulkan=swiftshader --use-angle=swiftshader", "--user-data-dir={profile}", "{url}"] {
            assert!(o.browser.contains(part), "{part} is not in {}", o.browser);
        }
        assert!(Options::parse(&["--browser".into(), "x".into()]).is_err(), "a browser command without {{url}}");
    }
}
