//! `wgsplat bench raster`: forward and backward rasterization at 0.5M, 1M and 2M random splats:
//! ms per view of each, and GPU milliseconds per view of each stage.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use serde_json::json;
use wgsplat::GpuContext;
use wgsplat::kernel::timer::{GpuTimer, sum_by_name};
use wgsplat::profile::bench::{BenchMetric, BenchReport, Better};
use wgsplat::profile::env::Environment;
use wgsplat::render::{Forward, GpuSplats, Renderer};

use super::common::{count_name, orbit_views, parse_count, random_scene, wait_idle, write_report};

#[derive(Args)]
pub struct RasterBench {
    /// Random splat counts.
    #[arg(long, value_delimiter = ',', value_parser = parse_count, default_value = "500k,1M,2M")]
    pub splats: Vec<usize>,
    #[arg(long, default_value_t = 800)]
    pub width: u32,
    #[arg(long, default_value_t = 800)]
    pub height: u32,
    /// Cameras per render call.
    #[arg(long, default_value_t = 1)]
    pub cameras: usize,
    /// Views per measurement.
    #[arg(long, default_value_t = 16)]
    pub views: usize,
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// Forward only.
    #[arg(long)]
    pub no_backward: bool,
    #[arg(long, default_value = "bench-raster.json")]
    pub json: PathBuf,
}

/// Seconds of the backward pass of `forward` (gradient buffers allocated included), with
/// dL/dpixel a small constant.
fn time_backward(
    gpu: &GpuContext,
    renderer: &mut Renderer,
    splats: &GpuSplats,
    forward: Forward,
    v: &(wgpu::Buffer, wgpu::Buffer),
) -> anyhow::Result<f64> {
    wait_idle(gpu)?;
    let start = Instant::now();
    let grads = renderer.backward(gpu, splats, forward, &v.0, &v.1, None)?;
    wait_idle(gpu)?;
    let secs = start.elapsed().as_secs_f64();
    drop(grads);
    Ok(secs)
}

pub fn raster_bench(gpu: &GpuContext, args: RasterBench) -> anyhow::Result<()> {
    let per_call = args.cameras.max(1);
    let total = args.views.max(1).div_ceil(per_call) * per_call;
    let mut report = BenchReport::new(
        "raster",
        Environment::detect(Some(gpu)),
        json!({"splats": args.splats, "width": args.width, "height": args.height, "cameras": per_call, "views": total, "repeats": args.repeats, "backward": !args.no_backward}),
    );
    println!("{:>10} {:>10} {:>10} {:>12}  GPU ms per view by stage", "splats", "views/s", "ms/view", "backward ms");
    let mut rows = Vec::new();
    for &n in &args.splats {
        let splats = random_scene(n);
        let mut renderer = Renderer::new(gpu)?;
        let gpu_splats = renderer.upload(gpu, &splats)?;
        let views = orbit_views(&splats, total, args.width, args.height);
        pollster::block_on(renderer.render_images(gpu, &gpu_splats, &views[..per_call]))?;
        let mut ms_per_view = Vec::new();
        for _ in 0..args.repeats.max(1) {
            wait_idle(gpu)?;
            let start = Instant::now();
            for batch in views.chunks(per_call) {
                renderer.render(gpu, &gpu_splats, batch)?;
            }
            wait_idle(gpu)?;
            ms_per_view.push(start.elapsed().as_secs_f64() * 1e3 / total as f64);
        }
        // Backward of one call's render, per view.
        let pixels = (args.width as u64 * args.height as u64 * per_call as u64) as usize;
        let v = (!args.no_backward).then(|| {
            (
                wgsplat::kernel::buffers::storage_init(&gpu.device, "bench v_rgba", &vec![1e-3f32; pixels * 4]),
                wgsplat::kernel::buffers::storage_init(&gpu.device, "bench v_depth", &vec![0f32; pixels]),
            )
        });
        let mut backward_ms = Vec::new();
        if let Some(v) = &v {
            for (i, batch) in views.chunks(per_call).enumerate().take(args.repeats.max(1) + 1) {
                let forward = renderer.render(gpu, &gpu_splats, batch)?;
                let secs = time_backward(gpu, &mut renderer, &gpu_splats, forward, v)?;
                // The first one compiles and warms up.
                if i > 0 {
                    backward_ms.push(secs * 1e3 / per_call as f64);
                }
            }
        }
        // Per-stage GPU times: every render timed into the ring.
        let mut stages: Vec<(String, Vec<f64>)> = Vec::new();
        if let Some(timer) = GpuTimer::new(gpu, 64).map(GpuTimer::shared) {
            gpu.attach_timer(Some(timer.clone()));
            for batch in views.chunks(per_call) {
                let forward = renderer.render(gpu, &gpu_splats, batch)?;
                if let Some(v) = &v {
                    drop(renderer.backward(gpu, &gpu_splats, forward, &v.0, &v.1, None)?);
                }
                timer.lock().expect("timer").collect(gpu);
            }
            gpu.attach_timer(None);
            let mut t = timer.lock().expect("timer");
            t.finish(gpu)?;
            for frame in t.take_frames() {
                for (stage, ms) in sum_by_name(&frame.passes) {
                    let per_view = ms / per_call as f64;
                    match stages.iter_mut().find(|(s, _)| *s == stage) {
                        Some((_, v)) => v.push(per_view),
                        None => stages.push((stage, vec![per_view])),
                    }
                }
            }
        }
        let name = count_name(n);
        let m = BenchMetric::new(format!("raster forward {name} ms/view"), "ms/view", Better::Lower, ms_per_view);
        let b = (!backward_ms.is_empty())
            .then(|| BenchMetric::new(format!("raster backward {name} ms/view"), "ms/view", Better::Lower, backward_ms));
        let stage_metrics: Vec<BenchMetric> =
            stages.into_iter().map(|(s, v)| BenchMetric::new(format!("raster {name} GPU {s}"), "ms/view", Better::Lower, v)).collect();
        let stage_text: Vec<String> =
            stage_metrics.iter().map(|s| format!("{} {:.3}", s.name.rsplit(" GPU ").next().unwrap_or(""), s.median)).collect();
        println!(
            "{:>10} {:>10.1} {:>10.3} {:>12}  {}",
            n,
            1e3 / m.median,
            m.median,
            b.as_ref().map_or("-".into(), |b| format!("{:.3}", b.median)),
            stage_text.join(", ")
        );
        rows.push(json!({
            "splats": n,
            "ms_per_view": m.median,
            "views_per_s": 1e3 / m.median,
            "backward_ms_per_view": b.as_ref().map(|b| b.median),
            "stages_ms_per_view": stage_metrics.iter().map(|s| json!([s.name, s.median])).collect::<Vec<_>>()
        }));
        report.metric(m);
        if let Some(b) = b {
            report.metric(b);
        }
        for s in stage_metrics {
            report.metric(s);
        }
    }
    report.results = json!(rows);
    write_report(&args.json, &report)
}
