//! Where a profile or benchmark was recorded: adapter, OS or browser, build.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    /// `GpuContext.report`: adapter name, backend, device type, driver, optional features and
    /// binding limits. Null when recorded without a GPU.
    pub adapter: Option<serde_json::Value>,
    /// `linux`, `macos`, `windows`, or `browser` for wasm32.
    pub os: String,
    /// Distribution and kernel (Linux), the user agent (browser), where known.
    pub os_version: Option<String>,
    pub arch: String,
    /// Threads the host offers (`available_parallelism`; `navigator.hardwareConcurrency`).
    pub cpu_threads: Option<usize>,
    pub build: Build,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Build {
    pub crate_version: String,
    /// `debug` or `release` (from `debug_assertions`).
    pub profile: String,
    pub target: String,
    /// From the `WGSPLAT_GIT_COMMIT` environment variable at compile time, when set.
    pub git_commit: Option<String>,
}

impl Environment {
    /// The environment of this process; `adapter` from the GPU context where there is one.
    pub fn detect(gpu: Option<&crate::GpuContext>) -> Self {
        Self {
            adapter: gpu.and_then(|g| serde_json::to_value(&g.report).ok()),
            os: if cfg!(target_arch = "wasm32") { "browser".into() } else { std::env::consts::OS.into() },
            os_version: os_version(),
            arch: std::env::consts::ARCH.into(),
            cpu_threads: cpu_threads(),
            build: Build {
                crate_version: env!("CARGO_PKG_VERSION").into(),
                profile: if cfg!(debug_assertions) { "debug" } else { "release" }.into(),
                target: format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS),
                git_commit: option_env!("WGSPLAT_GIT_COMMIT").map(str::to_string),
            },
        }
    }

    /// One line: adapter, OS, build.
    pub fn describe(&self) -> String {
        let adapter = self
            .adapter
            .as_ref()
            .map(|a| {
                let field = |k: &str| a.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
                format!("{} ({})", field("name"), field("backend"))
            })
            .unwrap_or_else(|| "no GPU".into());
        format!("{adapter}, {} {}, {} build {}", self.os, self.arch, self.build.profile, self.build.crate_version)
    }
}

#[cfg(target_os = "linux")]
fn os_version() -> Option<String> {
    let pretty = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=").map(|v| v.trim_matches('"').to_string())));
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok().map(|s| s.trim().to_string());
    match (pretty, kernel) {
        (Some(p), Some(k)) => Some(format!("{p}, kernel {k}")),
        (p, k) => p.or(k),
    }
}

#[cfg(target_arch = "wasm32")]
fn os_version() -> Option<String> {
    let navigator = js_sys::Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
    js_sys::Reflect::get(&navigator, &"userAgent".into()).ok()?.as_string()
}

#[cfg(not(any(target_os = "linux", target_arch = "wasm32")))]
fn os_version() -> Option<String> {
    None
}

#[cfg(not(target_arch = "wasm32"))]
fn cpu_threads() -> Option<usize> {
    std::thread::available_parallelism().ok().map(|n| n.get())
}

#[cfg(target_arch = "wasm32")]
fn cpu_threads() -> Option<usize> {
    let navigator = js_sys::Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
    js_sys::Reflect::get(&navigator, &"hardwareConcurrency".into()).ok()?.as_f64().map(|n| n as usize)
}
