//! `wgsplat bench render`: batched rendering (C cameras per call) against one camera per call,
//! at 800x800, on the sample scene and on 1M random splats. Views/s and ms per view, as a table
//! and as JSON.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde::Serialize;
use wgsplat::render::{GpuSplats, Renderer, View};
use wgsplat::scene::{Splats, ply};
use wgsplat::{Camera, GpuContext};

#[derive(Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    which: Which,
}

#[derive(Subcommand)]
enum Which {
    /// Batched forward rendering.
    Render(RenderBench),
}

#[derive(Args)]
struct RenderBench {
    /// Trained scene to render (default: the 3DGS sample in ../shared/data when present).
    #[arg(long)]
    scene: Option<PathBuf>,
    /// Size of the random scene.
    #[arg(long, default_value_t = 1_000_000)]
    random_splats: usize,
    #[arg(long, default_value_t = 800)]
    width: u32,
    #[arg(long, default_value_t = 800)]
    height: u32,
    /// Cameras per call to measure.
    #[arg(long, value_delimiter = ',', default_value = "1,4,16,64")]
    batches: Vec<usize>,
    /// Views rendered per measurement (rounded up to a multiple of the batch).
    #[arg(long, default_value_t = 64)]
    views: usize,
    /// Repetitions per measurement; the median is reported.
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    #[arg(long, default_value = "bench-render.json")]
    json: PathBuf,
}

#[derive(Serialize)]
struct RenderResult {
    scene: String,
    splats: usize,
    cameras_per_call: usize,
    views: usize,
    /// Render submitted, GPU finished, images left on the GPU.
    gpu_views_per_s: f64,
    gpu_ms_per_view: f64,
    /// The same with every batch's images read back to the CPU (one readback per call).
    readback_views_per_s: f64,
    readback_ms_per_view: f64,
    speedup_vs_one_per_call: f64,
    /// GPU milliseconds per view of each stage, from timestamps around each stage's pass
    /// (empty without timestamp support).
    stage_ms_per_view: Vec<(String, f64)>,
}

#[derive(Serialize)]
struct RenderReport {
    benchmark: &'static str,
    adapter: wgsplat::gpu::AdapterReport,
    width: u32,
    height: u32,
    results: Vec<RenderResult>,
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.which {
        Which::Render(b) => render_bench(b),
    }
}

/// Splats spread through a ball, small and mostly opaque, like a trained scene's.
fn random_scene(n: usize) -> Splats {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 11) as f32 / (1u64 << 53) as f32
    };
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

fn orbit_views(splats: &Splats, count: usize, width: u32, height: u32) -> Vec<View> {
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

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn wait_idle(gpu: &GpuContext) -> anyhow::Result<()> {
    gpu.device.poll(wgpu::PollType::wait_indefinitely()).context("waiting for the GPU")?;
    Ok(())
}

/// Seconds to render `views` in calls of `per_call` cameras, without and with readback.
fn time_batches(gpu: &GpuContext, renderer: &mut Renderer, splats: &GpuSplats, views: &[View], per_call: usize) -> anyhow::Result<(f64, f64)> {
    wait_idle(gpu)?;
    let start = Instant::now();
    for batch in views.chunks(per_call) {
        renderer.render(gpu, splats, batch)?;
    }
    wait_idle(gpu)?;
    let gpu_secs = start.elapsed().as_secs_f64();
    let start = Instant::now();
    for batch in views.chunks(per_call) {
        pollster::block_on(renderer.render_images(gpu, splats, batch))?;
    }
    Ok((gpu_secs, start.elapsed().as_secs_f64()))
}

fn render_bench(args: RenderBench) -> anyhow::Result<()> {
    let gpu = super::gpu()?;
    let mut scenes: Vec<(String, Splats)> = Vec::new();
    let sample = args.scene.clone().unwrap_or_else(|| PathBuf::from("../shared/data/3dgs_ply_sample/point_cloud/iteration_7000/point_cloud.ply"));
    match std::fs::read(&sample) {
        Ok(bytes) => scenes.push(("sample".into(), ply::read_ply(&bytes, &sample.display().to_string())?)),
        Err(e) => eprintln!("skipping the sample scene: {}: {e}", sample.display()),
    }
    if args.random_splats > 0 {
        scenes.push((format!("random-{}", args.random_splats), random_scene(args.random_splats)));
    }

    let mut results = Vec::new();
    println!("{:<16} {:>9} {:>6} {:>12} {:>10} {:>14} {:>12} {:>8}", "scene", "splats", "C", "gpu views/s", "gpu ms/v", "readback v/s", "readback ms/v", "speedup");
    for (name, splats) in &scenes {
        let mut renderer = Renderer::new(&gpu)?;
        let gpu_splats = renderer.upload(&gpu, splats)?;
        let max_batch = args.batches.iter().copied().max().unwrap_or(1).max(1);
        let total = args.views.div_ceil(max_batch) * max_batch;
        let views = orbit_views(splats, total, args.width, args.height);
        // Warm up: compile, and grow the buffers to the largest batch.
        pollster::block_on(renderer.render_images(&gpu, &gpu_splats, &views[..max_batch]))?;
        let mut baseline = None;
        for &per_call in &args.batches {
            let per_call = per_call.max(1);
            let runs: Vec<(f64, f64)> = (0..args.repeats.max(1)).map(|_| time_batches(&gpu, &mut renderer, &gpu_splats, &views, per_call)).collect::<Result<_, _>>()?;
            let gpu_secs = median(runs.iter().map(|r| r.0).collect());
            let readback_secs = median(runs.iter().map(|r| r.1).collect());
            let gpu_vps = total as f64 / gpu_secs;
            renderer.set_profiling(true);
            pollster::block_on(renderer.render_images(&gpu, &gpu_splats, &views[..per_call.min(total)]))?;
            renderer.set_profiling(false);
            let stage_ms_per_view: Vec<(String, f64)> = renderer.last_stage_millis().iter().map(|(s, ms)| (s.clone(), ms / per_call.min(total) as f64)).collect();
            let base = *baseline.get_or_insert(gpu_vps);
            let result = RenderResult {
                scene: name.clone(),
                splats: splats.len(),
                cameras_per_call: per_call,
                views: total,
                gpu_views_per_s: gpu_vps,
                gpu_ms_per_view: gpu_secs * 1e3 / total as f64,
                readback_views_per_s: total as f64 / readback_secs,
                readback_ms_per_view: readback_secs * 1e3 / total as f64,
                speedup_vs_one_per_call: gpu_vps / base,
                stage_ms_per_view,
            };
            println!(
                "{:<16} {:>9} {:>6} {:>12.1} {:>10.3} {:>14.1} {:>12.3} {:>7.2}x",
                result.scene, result.splats, per_call, result.gpu_views_per_s, result.gpu_ms_per_view, result.readback_views_per_s, result.readback_ms_per_view, result.speedup_vs_one_per_call
            );
            let stages: Vec<String> = result.stage_ms_per_view.iter().map(|(s, ms)| format!("{s} {ms:.3}")).collect();
            if !stages.is_empty() {
                println!("{:<16} ms per view by stage: {}", "", stages.join(", "));
            }
            results.push(result);
        }
    }
    let report = RenderReport { benchmark: "render", adapter: gpu.report.clone(), width: args.width, height: args.height, results };
    std::fs::write(&args.json, serde_json::to_string_pretty(&report)?).with_context(|| format!("writing {}", args.json.display()))?;
    eprintln!("wrote {}", args.json.display());
    Ok(())
}
