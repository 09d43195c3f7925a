//! `wgsplat bench render`: batched rendering (C cameras per call) against one camera per call,
//! 800x800, on the 3DGS sample scene (when present) and a random one: views/s with the images
//! left on the GPU and with them read back, and GPU milliseconds per view of each stage.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use serde::Serialize;
use serde_json::json;
use wgsplat::GpuContext;
use wgsplat::profile::bench::{BenchMetric, BenchReport, Better};
use wgsplat::profile::env::Environment;
use wgsplat::render::{GpuSplats, Renderer, View};
use wgsplat::scene::Splats;

use super::common::{count_name, median, orbit_views, parse_count, random_scene, stage_millis, wait_idle, write_report};

#[derive(Args)]
pub struct RenderBench {
    /// Trained scene to render (default: the 3DGS sample in ../shared/data when present).
    #[arg(long)]
    pub scene: Option<PathBuf>,
    /// Size of the random scene (0: none).
    #[arg(long, default_value_t = 1_000_000, value_parser = parse_count)]
    pub random_splats: usize,
    #[arg(long, default_value_t = 800)]
    pub width: u32,
    #[arg(long, default_value_t = 800)]
    pub height: u32,
    /// Cameras per call to measure.
    #[arg(long, value_delimiter = ',', default_value = "1,4,16,64")]
    pub batches: Vec<usize>,
    /// Views rendered per measurement (rounded up to a multiple of the batch).
    #[arg(long, default_value_t = 64)]
    pub views: usize,
    /// Repetitions per measurement; the median is reported.
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    #[arg(long, default_value = "bench-render.json")]
    pub json: PathBuf,
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

/// An idle GPU clocks down, and a measurement of a few calls after a pause (a readback, the
/// previous batch size) ran at a third of the speed: each measurement renders for this long
/// first, and each timed run lasts at least as long.
const WARM_SECONDS: f64 = 0.3;
/// Calls of one stage measurement (the timer's ring holds them all).
const STAGE_CALLS: usize = 32;

/// Renders `views` in calls of `per_call` cameras, waiting at the end, until `seconds` passed:
/// the views rendered and the seconds taken.
fn render_for(
    gpu: &GpuContext,
    renderer: &mut Renderer,
    splats: &GpuSplats,
    views: &[View],
    per_call: usize,
    seconds: f64,
) -> anyhow::Result<(usize, f64)> {
    let start = Instant::now();
    let mut rendered = 0;
    while rendered == 0 || start.elapsed().as_secs_f64() < seconds {
        for batch in views.chunks(per_call) {
            renderer.render(gpu, splats, batch)?;
        }
        wait_idle(gpu)?;
        rendered += views.len();
    }
    Ok((rendered, start.elapsed().as_secs_f64()))
}

/// Views/s rendering `views` in calls of `per_call` cameras, without and with readback, each
/// after a warm-up.
fn time_batches(
    gpu: &GpuContext,
    renderer: &mut Renderer,
    splats: &GpuSplats,
    views: &[View],
    per_call: usize,
) -> anyhow::Result<(f64, f64)> {
    render_for(gpu, renderer, splats, views, per_call, WARM_SECONDS)?;
    let (rendered, secs) = render_for(gpu, renderer, splats, views, per_call, WARM_SECONDS)?;
    let start = Instant::now();
    for batch in views.chunks(per_call) {
        pollster::block_on(renderer.render_images(gpu, splats, batch))?;
    }
    Ok((rendered as f64 / secs, views.len() as f64 / start.elapsed().as_secs_f64()))
}

pub fn render_bench(gpu: &GpuContext, args: RenderBench) -> anyhow::Result<()> {
    let mut scenes: Vec<(String, Splats)> = Vec::new();
    let sample =
        args.scene.clone().unwrap_or_else(|| PathBuf::from("../shared/data/3dgs_ply_sample/point_cloud/iteration_7000/point_cloud.ply"));
    if sample.exists() {
        scenes.push(("sample".into(), crate::scene_file::read(&sample)?));
    } else {
        eprintln!("skipping the sample scene: {} does not exist", sample.display());
    }
    if args.random_splats > 0 {
        scenes.push((format!("random-{}", count_name(args.random_splats)), random_scene(args.random_splats)));
    }
    let mut report = BenchReport::new(
        "render",
        Environment::detect(Some(gpu)),
        json!({"width": args.width, "height": args.height, "batches": args.batches, "views": args.views, "repeats": args.repeats}),
    );
    let mut results = Vec::new();
    println!(
        "{:<16} {:>9} {:>6} {:>12} {:>10} {:>14} {:>12} {:>8}",
        "scene", "splats", "C", "gpu views/s", "gpu ms/v", "readback v/s", "readback ms/v", "speedup"
    );
    for (name, splats) in &scenes {
        let mut renderer = Renderer::new(gpu)?;
        let gpu_splats = renderer.upload(gpu, splats)?;
        let max_batch = args.batches.iter().copied().max().unwrap_or(1).max(1);
        let total = args.views.div_ceil(max_batch) * max_batch;
        let views = orbit_views(splats, total, args.width, args.height);
        // Warm up: compile, and grow the buffers to the largest batch.
        pollster::block_on(renderer.render_images(gpu, &gpu_splats, &views[..max_batch]))?;
        let mut baseline = None;
        for &per_call in &args.batches {
            let per_call = per_call.max(1);
            // (views/s without readback, views/s with readback) per repetition.
            let runs: Vec<(f64, f64)> = (0..args.repeats.max(1))
                .map(|_| time_batches(gpu, &mut renderer, &gpu_splats, &views, per_call))
                .collect::<Result<_, _>>()?;
            let gpu_vps = median(runs.iter().map(|r| r.0).collect());
            let readback_vps = median(runs.iter().map(|r| r.1).collect());
            render_for(gpu, &mut renderer, &gpu_splats, &views, per_call, WARM_SECONDS)?;
            let timed = &views[..(STAGE_CALLS * per_call).min(total)];
            let stage_ms = stage_millis(gpu, || {
                for batch in timed.chunks(per_call) {
                    renderer.render(gpu, &gpu_splats, batch)?;
                }
                wait_idle(gpu)
            })?;
            let stage_ms_per_view: Vec<(String, f64)> = stage_ms.into_iter().map(|(s, ms)| (s, ms / timed.len() as f64)).collect();
            let base = *baseline.get_or_insert(gpu_vps);
            report.metric(BenchMetric::new(
                format!("render {name} C={per_call} views/s"),
                "views/s",
                Better::Higher,
                runs.iter().map(|r| r.0).collect(),
            ));
            report.metric(BenchMetric::new(
                format!("render {name} C={per_call} with readback views/s"),
                "views/s",
                Better::Higher,
                runs.iter().map(|r| r.1).collect(),
            ));
            for (stage, ms) in &stage_ms_per_view {
                report.metric(BenchMetric::new(format!("render {name} C={per_call} GPU {stage}"), "ms/view", Better::Lower, vec![*ms]));
            }
            let result = RenderResult {
                scene: name.clone(),
                splats: splats.len(),
                cameras_per_call: per_call,
                views: total,
                gpu_views_per_s: gpu_vps,
                gpu_ms_per_view: 1e3 / gpu_vps,
                readback_views_per_s: readback_vps,
                readback_ms_per_view: 1e3 / readback_vps,
                speedup_vs_one_per_call: gpu_vps / base,
                stage_ms_per_view,
            };
            println!(
                "{:<16} {:>9} {:>6} {:>12.1} {:>10.3} {:>14.1} {:>12.3} {:>7.2}x",
                result.scene,
                result.splats,
                per_call,
                result.gpu_views_per_s,
                result.gpu_ms_per_view,
                result.readback_views_per_s,
                result.readback_ms_per_view,
                result.speedup_vs_one_per_call
            );
            let stages: Vec<String> = result.stage_ms_per_view.iter().map(|(s, ms)| format!("{s} {ms:.3}")).collect();
            if !stages.is_empty() {
                println!("{:<16} ms per view by stage: {}", "", stages.join(", "));
            }
            results.push(result);
        }
    }
    report.results = serde_json::to_value(&results)?;
    write_report(&args.json, &report)
}
