//! What the benchmarks share: the random scene, the seeded numbers, orbit views around a scene,
//! count parsing and naming (`1M`, `500k`), medians, waiting for the GPU and writing reports.

use std::path::Path;

use anyhow::Context;
use wgsplat::profile::bench::BenchReport;
use wgsplat::render::View;
use wgsplat::rng::SplitMix;
use wgsplat::scene::Splats;
use wgsplat::{Camera, GpuContext};

pub fn write_report(path: &Path, report: &BenchReport) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    crate::outputs::write_replacing(path, serde_json::to_string_pretty(report)?.as_bytes())?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

/// Splats spread through a ball, small and mostly opaque, like a trained scene's.
pub fn random_scene(n: usize) -> Splats {
    let mut next = rng(0x9e37_79b9_7f4a_7c15);
    let mut s = Splats { sh_degree: 3, ..Default::default() };
    for _ in 0..n {
        let (u, v, r) = (next() * std::f32::consts::TAU, next() * 2.0 - 1.0, next().cbrt());
        let h = (1.0 - v * v).sqrt();
        s.means.push([r * h * u.cos(), r * h * u.sin(), r * v]);
        s.rotations.push([next() - 0.5, next() - 0.5, next() - 0.5, next() - 0.5]);
        let base = -5.0 + next();
        s.log_scales.push([base + next() * 0.5, base + next() * 0.5, base + next() * 0.5]);
        s.opacity_logits.push(next() * 5.0 - 2.0);
        for j in 0..48 {
            s.sh.push(if j < 3 { next() * 2.0 - 1.0 } else { (next() - 0.5) * 0.2 });
        }
    }
    s
}

/// Uniform numbers in [0, 1) (splitmix64, the top 53 bits rounded to f32).
pub fn rng(seed: u64) -> impl FnMut() -> f32 {
    let mut rng = SplitMix(seed);
    move || (rng.next_u64() >> 11) as f32 / (1u64 << 53) as f32
}

pub fn orbit_views(splats: &Splats, count: usize, width: u32, height: u32) -> Vec<View> {
    let (lo, hi) = splats.bounds().unwrap_or(([-1.0; 3], [1.0; 3]));
    let center = [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0, (lo[2] + hi[2]) / 2.0];
    let radius = ((hi[0] - lo[0]).powi(2) + (hi[1] - lo[1]).powi(2) + (hi[2] - lo[2]).powi(2)).sqrt() / 2.0;
    (0..count)
        .map(|i| {
            let yaw = i as f32 / count as f32 * std::f32::consts::TAU;
            View { camera: Camera::orbit(center, radius * 1.6, yaw, 0.35, 0.8, width, height), background: [0.0; 3] }
        })
        .collect()
}

pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

pub fn wait_idle(gpu: &GpuContext) -> anyhow::Result<()> {
    gpu.device.poll(wgpu::PollType::wait_indefinitely()).context("waiting for the GPU")?;
    Ok(())
}

pub fn parse_count(text: &str) -> Result<usize, String> {
    let t = text.trim().to_ascii_lowercase();
    let (num, mul) = match t.strip_suffix('m') {
        Some(n) => (n, 1_000_000.0),
        None => match t.strip_suffix('k') {
            Some(n) => (n, 1_000.0),
            None => (t.as_str(), 1.0),
        },
    };
    num.parse::<f64>().map(|v| (v * mul).round() as usize).map_err(|e| format!("{text}: {e}"))
}

pub fn count_name(n: usize) -> String {
    if n >= 1_000_000 && n.is_multiple_of(100_000) {
        format!("{}M", n as f64 / 1e6)
    } else if n >= 1000 && n.is_multiple_of(1000) {
        format!("{}k", n / 1000)
    } else {
        n.to_string()
    }
}

/// GPU milliseconds per stage of whatever `run` submits, summed over its jobs: a timer is
/// attached to the context for the call and read back (waiting) at the end. Empty without
/// timestamp queries.
pub fn stage_millis(gpu: &GpuContext, run: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<Vec<(String, f64)>> {
    // A ring of 64 frames: `run` may submit that many before it waits, and none goes untimed.
    let Some(timer) = wgsplat::kernel::timer::GpuTimer::with_ring(gpu, 256, 64).map(wgsplat::kernel::timer::GpuTimer::shared) else {
        run()?;
        return Ok(Vec::new());
    };
    let before = gpu.timer();
    gpu.attach_timer(Some(timer.clone()));
    let result = run();
    gpu.attach_timer(before);
    result?;
    let mut t = timer.lock().unwrap_or_else(|e| e.into_inner());
    t.finish(gpu)?;
    let passes: Vec<_> = t.take_frames().into_iter().flat_map(|f| f.passes).collect();
    Ok(wgsplat::kernel::timer::sum_by_name(&passes))
}
