//! `wgsplat bench`: quick micro-benchmarks that need no dataset. Each prints a table and writes a
//! JSON report (`format: wgsplat-bench`, docs/profile-format.md) that `wgsplat compare` reads.
//!
//! - `render`: batched rendering (C cameras per call) against one camera per call, 800x800;
//! - `readback`: blocking against asynchronous (ring of staging buffers) image readback;
//! - `decode`: image decoding on 1 against N worker threads, on generated images;
//! - `sort`: GPU radix sort throughput (keys/s);
//! - `raster`: forward and backward rasterization at 0.5M, 1M and 2M random splats, per-stage
//!   GPU times;
//! - `rvs`: random view synthesis views/s on a scene and dataset (bench/rvs.rs; not in `all`,
//!   it needs both);
//! - `all`: every one of them, reports into one folder.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde::Serialize;
use serde_json::json;
use wgsplat::profile::bench::{BenchMetric, BenchReport, Better};
use wgsplat::profile::env::Environment;
use wgsplat::profile::gpu_timer::{GpuTimer, sum_by_name};
use wgsplat::render::{GpuSplats, Renderer, View};
use wgsplat::scene::{Splats, ply};
use wgsplat::{Camera, GpuContext};

mod rvs;

#[derive(Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    which: Which,
}

#[derive(Subcommand)]
enum Which {
    /// Batched forward rendering against one camera per call.
    Render(RenderBench),
    /// Blocking against asynchronous readback of rendered images.
    Readback(ReadbackBench),
    /// Image decoding on 1 against N worker threads (generated images).
    Decode(DecodeBench),
    /// GPU radix sort throughput (keys/s).
    Sort(SortBench),
    /// Forward and backward rasterization at several splat counts, with GPU time per stage.
    Raster(RasterBench),
    /// Random view synthesis views/s: batched render, end to end with encoding, cached vs fresh.
    Rvs(rvs::RvsBench),
    /// Every benchmark, one JSON each in a folder.
    All(AllBench),
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.which {
        Which::Render(b) => render_bench(&super::gpu()?, b),
        Which::Readback(b) => readback_bench(&super::gpu()?, b),
        Which::Decode(b) => decode_bench(b),
        Which::Sort(b) => sort_bench(&super::gpu()?, b),
        Which::Raster(b) => raster_bench(&super::gpu()?, b),
        Which::Rvs(b) => rvs::rvs_bench(&super::gpu()?, b),
        Which::All(b) => all_bench(b),
    }
}

fn write_report(path: &Path, report: &BenchReport) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(path, serde_json::to_string_pretty(report)?).with_context(|| format!("writing {}", path.display()))?;
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

/// Uniform numbers in [0, 1) (splitmix64).
fn rng(seed: u64) -> impl FnMut() -> f32 {
    let mut state = seed;
    move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 11) as f32 / (1u64 << 53) as f32
    }
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

fn parse_count(text: &str) -> Result<usize, String> {
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

fn count_name(n: usize) -> String {
    if n >= 1_000_000 && n % 100_000 == 0 {
        format!("{}M", n as f64 / 1e6)
    } else if n >= 1000 && n % 1000 == 0 {
        format!("{}k", n / 1000)
    } else {
        n.to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// render

#[derive(Args)]
struct RenderBench {
    /// Trained scene to render (default: the 3DGS sample in ../shared/data when present).
    #[arg(long)]
    scene: Option<PathBuf>,
    /// Size of the random scene (0: none).
    #[arg(long, default_value_t = 1_000_000, value_parser = parse_count)]
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

fn render_bench(gpu: &GpuContext, args: RenderBench) -> anyhow::Result<()> {
    let mut scenes: Vec<(String, Splats)> = Vec::new();
    let sample = args.scene.clone().unwrap_or_else(|| PathBuf::from("../shared/data/3dgs_ply_sample/point_cloud/iteration_7000/point_cloud.ply"));
    match std::fs::read(&sample) {
        Ok(bytes) => scenes.push(("sample".into(), ply::read_ply(&bytes, &sample.display().to_string())?)),
        Err(e) => eprintln!("skipping the sample scene: {}: {e}", sample.display()),
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
            let runs: Vec<(f64, f64)> =
                (0..args.repeats.max(1)).map(|_| time_batches(gpu, &mut renderer, &gpu_splats, &views, per_call)).collect::<Result<_, _>>()?;
            let gpu_secs = median(runs.iter().map(|r| r.0).collect());
            let readback_secs = median(runs.iter().map(|r| r.1).collect());
            let gpu_vps = total as f64 / gpu_secs;
            renderer.set_profiling(true);
            pollster::block_on(renderer.render_images(gpu, &gpu_splats, &views[..per_call.min(total)]))?;
            renderer.set_profiling(false);
            let stage_ms_per_view: Vec<(String, f64)> =
                renderer.last_stage_millis().iter().map(|(s, ms)| (s.clone(), ms / per_call.min(total) as f64)).collect();
            let base = *baseline.get_or_insert(gpu_vps);
            report.metric(BenchMetric::new(
                format!("render {name} C={per_call} views/s"),
                "views/s",
                Better::Higher,
                runs.iter().map(|r| total as f64 / r.0).collect(),
            ));
            report.metric(BenchMetric::new(
                format!("render {name} C={per_call} with readback views/s"),
                "views/s",
                Better::Higher,
                runs.iter().map(|r| total as f64 / r.1).collect(),
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
                gpu_ms_per_view: gpu_secs * 1e3 / total as f64,
                readback_views_per_s: total as f64 / readback_secs,
                readback_ms_per_view: readback_secs * 1e3 / total as f64,
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

// ---------------------------------------------------------------------------------------------
// readback

#[derive(Args)]
struct ReadbackBench {
    /// Size of the random scene.
    #[arg(long, default_value_t = 200_000, value_parser = parse_count)]
    splats: usize,
    #[arg(long, default_value_t = 800)]
    width: u32,
    #[arg(long, default_value_t = 800)]
    height: u32,
    /// Cameras per render call.
    #[arg(long, default_value_t = 4)]
    cameras: usize,
    /// Render calls per measurement.
    #[arg(long, default_value_t = 32)]
    calls: usize,
    /// Staging buffers in flight for the asynchronous readback.
    #[arg(long, default_value_t = 3)]
    ring: usize,
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    #[arg(long, default_value = "bench-readback.json")]
    json: PathBuf,
}

struct Staging {
    buffer: wgpu::Buffer,
    ready: Arc<AtomicBool>,
    pending: bool,
}

/// Seconds for `calls` renders whose images (rgba and depth) are copied to the CPU; with a ring
/// of 1 every readback is waited for before the next render is submitted (blocking), with more
/// the CPU waits only when the oldest staging buffer is needed again.
fn time_readback(gpu: &GpuContext, renderer: &mut Renderer, splats: &GpuSplats, views: &[View], calls: usize, ring: usize) -> anyhow::Result<(f64, u64)> {
    let pixels: u64 = views.iter().map(|v| v.camera.width as u64 * v.camera.height as u64).sum();
    let bytes = pixels * 20;
    let mut ring: Vec<Staging> = (0..ring.max(1))
        .map(|i| Staging {
            buffer: gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(if i == 0 { "readback 0" } else { "readback n" }),
                size: bytes,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
            ready: Arc::new(AtomicBool::new(false)),
            pending: false,
        })
        .collect();
    let mut checksum = 0u64;
    let mut consume = |gpu: &GpuContext, s: &mut Staging| -> anyhow::Result<()> {
        while !s.ready.load(Ordering::Acquire) {
            gpu.device.poll(wgpu::PollType::wait_indefinitely()).context("waiting for a readback")?;
        }
        let data = s.buffer.slice(..).get_mapped_range().map_err(|e| anyhow::anyhow!("{e}"))?.to_vec();
        checksum = checksum.wrapping_add(data.iter().step_by(4099).map(|&b| b as u64).sum::<u64>());
        s.buffer.unmap();
        s.pending = false;
        s.ready.store(false, Ordering::Release);
        Ok(())
    };
    wait_idle(gpu)?;
    let start = Instant::now();
    let n = ring.len();
    for call in 0..calls {
        let slot = &mut ring[call % n];
        if slot.pending {
            consume(gpu, slot)?;
        }
        let target = renderer.render(gpu, splats, views)?;
        let mut encoder = gpu.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(&target.rgba, 0, &slot.buffer, 0, pixels * 16);
        encoder.copy_buffer_to_buffer(&target.depth, 0, &slot.buffer, pixels * 16, pixels * 4);
        gpu.queue.submit([encoder.finish()]);
        let ready = slot.ready.clone();
        slot.buffer.slice(..).map_async(wgpu::MapMode::Read, move |r| {
            if r.is_ok() {
                ready.store(true, Ordering::Release);
            }
        });
        slot.pending = true;
        let _ = gpu.device.poll(wgpu::PollType::Poll);
    }
    for slot in &mut ring {
        if slot.pending {
            consume(gpu, slot)?;
        }
    }
    Ok((start.elapsed().as_secs_f64(), checksum))
}

fn readback_bench(gpu: &GpuContext, args: ReadbackBench) -> anyhow::Result<()> {
    let splats = random_scene(args.splats);
    let mut renderer = Renderer::new(gpu)?;
    let gpu_splats = renderer.upload(gpu, &splats)?;
    let views = orbit_views(&splats, args.cameras.max(1), args.width, args.height);
    // Warm up with the blocking path, which also grows the intersection buffers.
    pollster::block_on(renderer.render_images(gpu, &gpu_splats, &views))?;
    let mut report = BenchReport::new(
        "readback",
        Environment::detect(Some(gpu)),
        json!({"splats": args.splats, "width": args.width, "height": args.height, "cameras": args.cameras, "calls": args.calls, "ring": args.ring, "repeats": args.repeats}),
    );
    let views_per_call = views.len() as f64;
    let mut rows = Vec::new();
    println!("{:<10} {:>6} {:>12} {:>12}", "readback", "ring", "calls/s", "views/s");
    for (name, ring) in [("blocking", 1usize), ("async", args.ring.max(2))] {
        let secs: Vec<f64> = (0..args.repeats.max(1))
            .map(|_| time_readback(gpu, &mut renderer, &gpu_splats, &views, args.calls, ring).map(|r| r.0))
            .collect::<Result<_, _>>()?;
        let vps: Vec<f64> = secs.iter().map(|s| args.calls as f64 * views_per_call / s).collect();
        let m = BenchMetric::new(format!("readback {name} views/s"), "views/s", Better::Higher, vps);
        println!("{:<10} {:>6} {:>12.1} {:>12.1}", name, ring, m.median / views_per_call, m.median);
        rows.push(json!({"mode": name, "ring": ring, "views_per_s": m.median, "spread": m.spread}));
        report.metric(m);
    }
    let speedup = report.metrics[1].median / report.metrics[0].median;
    println!("async / blocking: {speedup:.2}x");
    report.results = json!({"modes": rows, "async_speedup": speedup});
    write_report(&args.json, &report)
}

// ---------------------------------------------------------------------------------------------
// decode

#[derive(Args)]
struct DecodeBench {
    /// Images generated and decoded per measurement.
    #[arg(long, default_value_t = 48)]
    images: usize,
    #[arg(long, default_value_t = 800)]
    width: u32,
    #[arg(long, default_value_t = 800)]
    height: u32,
    /// png (RGBA, like NeRF-synthetic) or jpeg (RGB).
    #[arg(long, default_value = "png")]
    format: String,
    /// Worker threads to compare (default: 1 and every core).
    #[arg(long, value_delimiter = ',')]
    threads: Vec<usize>,
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    #[arg(long, default_value = "bench-decode.json")]
    json: PathBuf,
}

/// An RGBA image with smooth shapes, texture noise and a transparent background (compresses
/// like a rendered object rather than like noise or a flat colour).
fn generated_image(seed: u64, width: u32, height: u32) -> image::RgbaImage {
    let mut next = rng(seed);
    let (cx, cy, r) = (width as f32 * (0.4 + 0.2 * next()), height as f32 * (0.4 + 0.2 * next()), width.min(height) as f32 * (0.25 + 0.1 * next()));
    let tint = [next(), next(), next()];
    image::RgbaImage::from_fn(width, height, |x, y| {
        let (dx, dy) = (x as f32 - cx, y as f32 - cy);
        let d = (dx * dx + dy * dy).sqrt() / r;
        if d > 1.0 {
            return image::Rgba([255, 255, 255, 0]);
        }
        let shade = (1.0 - d * d).sqrt();
        let stripes = ((x as f32 * 0.05).sin() * (y as f32 * 0.07).cos() + 1.0) * 0.25;
        let noise = next() * 0.08;
        let c = |t: f32| ((shade * (0.5 + 0.5 * t) + stripes + noise).clamp(0.0, 1.0) * 255.0) as u8;
        image::Rgba([c(tint[0]), c(tint[1]), c(tint[2]), 255])
    })
}

/// Seconds to read and decode every file on `threads` threads, and the decoded bytes.
fn time_decode(files: &[PathBuf], threads: usize) -> anyhow::Result<(f64, u64)> {
    let next = AtomicUsize::new(0);
    let start = Instant::now();
    let bytes = std::thread::scope(|scope| -> anyhow::Result<u64> {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<u64> {
                    let mut bytes = 0u64;
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(path) = files.get(i) else { return Ok(bytes) };
                        let data = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                        let image = image::load_from_memory(&data).with_context(|| format!("decoding {}", path.display()))?.into_rgba8();
                        bytes += image.as_raw().len() as u64;
                    }
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().map_err(|_| anyhow::anyhow!("a decode worker panicked"))?).sum()
    })?;
    Ok((start.elapsed().as_secs_f64(), bytes))
}

/// Seconds for the dataset loader's decode pool (`DecodePool`, `workers` threads, files read
/// through a `DirSource`, images checked against their camera) to decode every file.
fn time_pool(dir: &Path, files: &[PathBuf], width: u32, height: u32, workers: usize) -> anyhow::Result<f64> {
    use wgsplat::dataset::{DecodePool, DirSource, FileSource, FrameInfo};
    let source: Arc<dyn FileSource> = Arc::new(DirSource::new(dir)?);
    let frames: Vec<FrameInfo> = files
        .iter()
        .map(|f| {
            let name = f.file_name().expect("generated file").to_string_lossy().into_owned();
            FrameInfo { name: name.clone(), image_path: name, camera: Camera::orbit([0.0; 3], 4.0, 0.0, 0.0, 0.8, width, height), image_size: (width, height) }
        })
        .collect();
    let pool = DecodePool::new(workers);
    let start = Instant::now();
    let results = pool.decode_all(source, &frames);
    let secs = start.elapsed().as_secs_f64();
    if let Some(e) = results.iter().find_map(|r| r.result.as_ref().err()) {
        bail!("the decode pool failed: {e}");
    }
    anyhow::ensure!(results.len() == files.len(), "the decode pool returned {} of {} images", results.len(), files.len());
    Ok(secs)
}

fn decode_bench(args: DecodeBench) -> anyhow::Result<()> {
    let format = match args.format.as_str() {
        "png" => image::ImageFormat::Png,
        "jpeg" | "jpg" => image::ImageFormat::Jpeg,
        other => bail!("--format {other}: expected png or jpeg"),
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut threads = if args.threads.is_empty() { vec![1, cores] } else { args.threads.clone() };
    threads.dedup();
    let dir = std::env::temp_dir().join(format!("wgsplat-bench-decode-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    eprintln!("generating {} {}x{} {} images in {}", args.images, args.width, args.height, args.format, dir.display());
    let mut files = Vec::new();
    let mut encoded_bytes = 0u64;
    for i in 0..args.images.max(1) {
        let image = generated_image(i as u64 + 1, args.width, args.height);
        let path = dir.join(format!("r_{i}.{}", if format == image::ImageFormat::Png { "png" } else { "jpg" }));
        if format == image::ImageFormat::Png {
            image.save_with_format(&path, format)
        } else {
            image::DynamicImage::ImageRgba8(image).into_rgb8().save_with_format(&path, format)
        }
        .with_context(|| format!("writing {}", path.display()))?;
        encoded_bytes += std::fs::metadata(&path)?.len();
        files.push(path);
    }
    let result = (|| -> anyhow::Result<()> {
        let mut report = BenchReport::new(
            "decode",
            Environment::detect(None),
            json!({"images": files.len(), "width": args.width, "height": args.height, "format": args.format, "threads": threads, "repeats": args.repeats, "encoded_bytes": encoded_bytes}),
        );
        // Warm the page cache so the first measurement does not pay for the disk.
        time_decode(&files, cores)?;
        println!("{:<8} {:>10} {:>12} {:>8}", "threads", "images/s", "MB/s decoded", "speedup");
        let mut rows = Vec::new();
        let mut base = None;
        for &t in &threads {
            let runs: Vec<(f64, u64)> = (0..args.repeats.max(1)).map(|_| time_decode(&files, t)).collect::<Result<_, _>>()?;
            let ips: Vec<f64> = runs.iter().map(|r| files.len() as f64 / r.0).collect();
            let m = BenchMetric::new(format!("decode {} x{t} images/s", args.format), "images/s", Better::Higher, ips);
            let mbps = m.median * (runs[0].1 as f64 / files.len() as f64) / 1e6;
            let b = *base.get_or_insert(m.median);
            println!("{:<8} {:>10.1} {:>12.1} {:>7.2}x", t, m.median, mbps, m.median / b);
            rows.push(json!({"decoder": "threads", "threads": t, "images_per_s": m.median, "decoded_mb_per_s": mbps, "speedup_vs_first": m.median / b}));
            report.metric(m);
        }
        // The dataset loader's pool, with the same worker counts.
        println!("{:<8} {:>10}  (dataset DecodePool)", "workers", "images/s");
        for &t in &threads {
            let secs: Vec<f64> = (0..args.repeats.max(1)).map(|_| time_pool(&dir, &files, args.width, args.height, t)).collect::<Result<_, _>>()?;
            let m = BenchMetric::new(
                format!("decode {} pool x{t} images/s", args.format),
                "images/s",
                Better::Higher,
                secs.iter().map(|s| files.len() as f64 / s).collect(),
            );
            println!("{:<8} {:>10.1}", t, m.median);
            rows.push(json!({"decoder": "DecodePool", "threads": t, "images_per_s": m.median}));
            report.metric(m);
        }
        report.results = json!(rows);
        write_report(&args.json, &report)
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

// ---------------------------------------------------------------------------------------------
// sort

#[derive(Args)]
struct SortBench {
    /// Pairs per sort.
    #[arg(long, value_delimiter = ',', value_parser = parse_count, default_value = "1M,4M,16M")]
    sizes: Vec<usize>,
    /// Key bits sorted (32: 8 passes of 4 bits).
    #[arg(long, default_value_t = 32)]
    bits: u32,
    /// Sorts per measurement, submitted back to back.
    #[arg(long, default_value_t = 10)]
    iterations: usize,
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    #[arg(long, default_value = "bench-sort.json")]
    json: PathBuf,
}

/// A sort of fixed size whose input is restored from pristine copies before every run.
struct SortRun {
    n: u64,
    bits: u32,
    bufs: wgsplat::render::radix_sort::SortBuffers,
    pristine: [wgpu::Buffer; 2],
    counters: wgpu::Buffer,
    counter_values: Vec<u32>,
    scratch: wgsplat::render::prefix_sum::ScanScratch,
    uniforms: wgpu::Buffer,
    cameras: wgpu::Buffer,
}

impl SortRun {
    fn new(gpu: &GpuContext, keys: &[u32], bits: u32) -> Self {
        use wgsplat::render::{buffers, jobs, radix_sort};
        let device = &gpu.device;
        let n = keys.len() as u64;
        let values: Vec<u32> = (0..n as u32).collect();
        let mut counter_values = vec![0u32; 32];
        jobs::plan_sort(&mut counter_values, 0, n as u32);
        Self {
            n,
            bits,
            bufs: radix_sort::SortBuffers::new(device, "bench sort", n),
            pristine: [buffers::storage_init(device, "pristine keys", keys), buffers::storage_init(device, "pristine values", &values)],
            counters: buffers::counters(device, counter_values.len()),
            counter_values,
            scratch: wgsplat::render::prefix_sum::ScanScratch::new(device, radix_sort::hist_len(n)),
            // 8 passes of (histogram, 5 scan levels, scatter) at most.
            uniforms: buffers::uniform(device, "bench sort params", 64 * wgsplat::render::recorder::PARAMS_SLOT),
            cameras: buffers::uniform(device, "bench sort cameras", wgsplat::render::recorder::CAMERAS_BYTES),
        }
    }

    /// Restores the input and records one sort; returns which buffer pair holds the result.
    fn encode(&self, gpu: &GpuContext, renderer: &Renderer, encoder: &mut wgpu::CommandEncoder, timer: Option<&mut GpuTimer>) -> usize {
        gpu.queue.write_buffer(&self.counters, 0, bytemuck::cast_slice(&self.counter_values));
        encoder.copy_buffer_to_buffer(&self.pristine[0], 0, &self.bufs.keys[0], 0, self.n * 4);
        encoder.copy_buffer_to_buffer(&self.pristine[1], 0, &self.bufs.values[0], 0, self.n * 4);
        let mut rec = wgsplat::render::recorder::Recorder::default();
        rec.stage("sort");
        let out = wgsplat::render::radix_sort::record_sort(&mut rec, renderer.pipelines(), &self.counters, 0, self.bits, &self.bufs, &self.scratch, false);
        rec.encode(&gpu.device, &gpu.queue, encoder, &self.uniforms, &self.cameras, &self.counters, timer);
        out
    }
}

fn sort_bench(gpu: &GpuContext, args: SortBench) -> anyhow::Result<()> {
    let renderer = Renderer::new(gpu)?;
    let mut report = BenchReport::new(
        "sort",
        Environment::detect(Some(gpu)),
        json!({"sizes": args.sizes, "bits": args.bits, "iterations": args.iterations, "repeats": args.repeats}),
    );
    let mut timer = GpuTimer::with_ring(gpu, 1, args.iterations.max(1) + 1);
    println!("{:>10} {:>16} {:>16}", "pairs", "Mkeys/s (wall)", "Mkeys/s (GPU)");
    let mut rows = Vec::new();
    for &n in &args.sizes {
        let mut next = rng(n as u64);
        let mask = if args.bits >= 32 { u32::MAX } else { (1u32 << args.bits) - 1 };
        let keys: Vec<u32> = (0..n).map(|_| (next() * 4294967296.0) as u32 & mask).collect();
        let run = SortRun::new(gpu, &keys, args.bits);
        // Warm up, and check the result once.
        let mut encoder = gpu.device.create_command_encoder(&Default::default());
        let out = run.encode(gpu, &renderer, &mut encoder, None);
        gpu.queue.submit([encoder.finish()]);
        let sorted = pollster::block_on(wgsplat::render::buffers::read_u32s(gpu, &run.bufs.keys[out], n as u64 * 4))?;
        if sorted.windows(2).any(|w| w[0] > w[1]) {
            bail!("the GPU sort of {n} keys returned them out of order");
        }
        let mut wall = Vec::new();
        let mut gpu_rates = Vec::new();
        for _ in 0..args.repeats.max(1) {
            wait_idle(gpu)?;
            let start = Instant::now();
            for _ in 0..args.iterations.max(1) {
                let mut encoder = gpu.device.create_command_encoder(&Default::default());
                run.encode(gpu, &renderer, &mut encoder, None);
                gpu.queue.submit([encoder.finish()]);
            }
            wait_idle(gpu)?;
            wall.push((n * args.iterations.max(1)) as f64 / start.elapsed().as_secs_f64());
        }
        // GPU time of the sort passes alone (no restore copies), where timestamps exist.
        if let Some(t) = timer.as_mut() {
            t.take_frames();
            for _ in 0..args.iterations.max(1) {
                let mut encoder = gpu.device.create_command_encoder(&Default::default());
                let timed = t.begin_frame(gpu, 1, "sort");
                run.encode(gpu, &renderer, &mut encoder, timed.then_some(&mut *t));
                t.end_frame(&mut encoder);
                gpu.queue.submit([encoder.finish()]);
                t.submitted();
            }
            t.finish(gpu)?;
            gpu_rates = t
                .take_frames()
                .iter()
                .map(|f| n as f64 / (sum_by_name(&f.passes).iter().map(|(_, ms)| ms).sum::<f64>() / 1e3))
                .filter(|r| r.is_finite())
                .collect();
        }
        let name = count_name(n);
        let m = BenchMetric::new(format!("sort {name} pairs {}-bit keys/s (wall)", args.bits), "keys/s", Better::Higher, wall);
        let g =
            (!gpu_rates.is_empty()).then(|| BenchMetric::new(format!("sort {name} pairs {}-bit keys/s (GPU)", args.bits), "keys/s", Better::Higher, gpu_rates));
        println!("{:>10} {:>16.1} {:>16}", n, m.median / 1e6, g.as_ref().map_or("-".into(), |g| format!("{:.1}", g.median / 1e6)));
        rows.push(json!({"pairs": n, "keys_per_s_wall": m.median, "keys_per_s_gpu": g.as_ref().map(|g| g.median)}));
        report.metric(m);
        if let Some(g) = g {
            report.metric(g);
        }
    }
    report.results = json!(rows);
    write_report(&args.json, &report)
}

// ---------------------------------------------------------------------------------------------
// raster

#[derive(Args)]
struct RasterBench {
    /// Random splat counts.
    #[arg(long, value_delimiter = ',', value_parser = parse_count, default_value = "500k,1M,2M")]
    splats: Vec<usize>,
    #[arg(long, default_value_t = 800)]
    width: u32,
    #[arg(long, default_value_t = 800)]
    height: u32,
    /// Cameras per render call.
    #[arg(long, default_value_t = 1)]
    cameras: usize,
    /// Views per measurement.
    #[arg(long, default_value_t = 16)]
    views: usize,
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// Forward only.
    #[arg(long)]
    no_backward: bool,
    #[arg(long, default_value = "bench-raster.json")]
    json: PathBuf,
}

/// Seconds of one backward pass of the last render (gradient buffers allocated included), with
/// dL/dpixel a small constant.
fn time_backward(gpu: &GpuContext, renderer: &mut Renderer, splats: &GpuSplats, v: &(wgpu::Buffer, wgpu::Buffer)) -> anyhow::Result<f64> {
    wait_idle(gpu)?;
    let start = Instant::now();
    let grads = renderer.backward(gpu, splats, &v.0, &v.1, None)?;
    wait_idle(gpu)?;
    let secs = start.elapsed().as_secs_f64();
    drop(grads);
    Ok(secs)
}

fn raster_bench(gpu: &GpuContext, args: RasterBench) -> anyhow::Result<()> {
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
                wgsplat::render::buffers::storage_init(&gpu.device, "bench v_rgba", &vec![1e-3f32; pixels * 4]),
                wgsplat::render::buffers::storage_init(&gpu.device, "bench v_depth", &vec![0f32; pixels]),
            )
        });
        let mut backward_ms = Vec::new();
        if let Some(v) = &v {
            for (i, batch) in views.chunks(per_call).enumerate().take(args.repeats.max(1) + 1) {
                renderer.render(gpu, &gpu_splats, batch)?;
                let secs = time_backward(gpu, &mut renderer, &gpu_splats, v)?;
                // The first one compiles and warms up.
                if i > 0 {
                    backward_ms.push(secs * 1e3 / per_call as f64);
                }
            }
        }
        // Per-stage GPU times: every render timed into the ring.
        let mut stages: Vec<(String, Vec<f64>)> = Vec::new();
        if let Some(timer) = GpuTimer::new(gpu, 64).map(GpuTimer::shared) {
            renderer.attach_gpu_timer(Some(timer.clone()));
            for batch in views.chunks(per_call) {
                renderer.render(gpu, &gpu_splats, batch)?;
                if let Some(v) = &v {
                    // Timed too once the backward pass records into the attached timer.
                    drop(renderer.backward(gpu, &gpu_splats, &v.0, &v.1, None)?);
                }
                timer.lock().expect("timer").collect(gpu);
            }
            renderer.attach_gpu_timer(None);
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
        let b = (!backward_ms.is_empty()).then(|| BenchMetric::new(format!("raster backward {name} ms/view"), "ms/view", Better::Lower, backward_ms));
        let stage_metrics: Vec<BenchMetric> =
            stages.into_iter().map(|(s, v)| BenchMetric::new(format!("raster {name} GPU {s}"), "ms/view", Better::Lower, v)).collect();
        let stage_text: Vec<String> = stage_metrics.iter().map(|s| format!("{} {:.3}", s.name.rsplit(" GPU ").next().unwrap_or(""), s.median)).collect();
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

// ---------------------------------------------------------------------------------------------
// all

#[derive(Args)]
struct AllBench {
    /// Folder for the reports (bench-<name>.json).
    #[arg(long, default_value = "bench")]
    out: PathBuf,
    /// Small sizes (seconds on a software rasterizer): for CI and smoke tests.
    #[arg(long)]
    quick: bool,
}

fn all_bench(args: AllBench) -> anyhow::Result<()> {
    let gpu = super::gpu()?;
    let json = |name: &str| args.out.join(format!("bench-{name}.json"));
    let q = args.quick;
    println!("== render");
    render_bench(
        &gpu,
        RenderBench {
            scene: None,
            random_splats: if q { 20_000 } else { 1_000_000 },
            width: if q { 128 } else { 800 },
            height: if q { 128 } else { 800 },
            batches: if q { vec![1, 4] } else { vec![1, 4, 16, 64] },
            views: if q { 4 } else { 64 },
            repeats: 3,
            json: json("render"),
        },
    )?;
    println!("== readback");
    readback_bench(
        &gpu,
        ReadbackBench {
            splats: if q { 20_000 } else { 200_000 },
            width: if q { 128 } else { 800 },
            height: if q { 128 } else { 800 },
            cameras: 4,
            calls: if q { 8 } else { 32 },
            ring: 3,
            repeats: 3,
            json: json("readback"),
        },
    )?;
    println!("== decode");
    decode_bench(DecodeBench {
        images: if q { 8 } else { 48 },
        width: if q { 256 } else { 800 },
        height: if q { 256 } else { 800 },
        format: "png".into(),
        threads: Vec::new(),
        repeats: 3,
        json: json("decode"),
    })?;
    println!("== sort");
    sort_bench(
        &gpu,
        SortBench {
            sizes: if q { vec![100_000, 1_000_000] } else { vec![1_000_000, 4_000_000, 16_000_000] },
            bits: 32,
            iterations: if q { 3 } else { 10 },
            repeats: 3,
            json: json("sort"),
        },
    )?;
    println!("== raster");
    raster_bench(
        &gpu,
        RasterBench {
            splats: if q { vec![25_000, 50_000] } else { vec![500_000, 1_000_000, 2_000_000] },
            width: if q { 128 } else { 800 },
            height: if q { 128 } else { 800 },
            cameras: 1,
            views: if q { 4 } else { 16 },
            repeats: 3,
            no_backward: false,
            json: json("raster"),
        },
    )
}
