//! `wgsplat train <dataset>`: decode the images on worker threads, train, evaluate on the test
//! split, write the splats, the evaluation JSON and checkpoints.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use wgsplat::GpuContext;
use wgsplat::profile::{Profiler, ProfilerOptions};
use wgsplat::dataset::source::open_path;
use wgsplat::dataset::{DatasetIndex, DecodePool, FrameInfo, LoadOptions, load_dataset};
use wgsplat::train::demo_views;
use wgsplat::train::densify::DensifyConfig;
use wgsplat::scene::ply;
use wgsplat::train::images::GpuImages;
use wgsplat::train::init::{default_background, initial_splats};
use wgsplat::train::trainer::{EvalResult, TrainConfig, TrainView, Trainer};

#[derive(Clone, Copy, ValueEnum)]
enum Background {
    White,
    Black,
    Random,
}

#[derive(Args)]
pub struct TrainArgs {
    /// Dataset folder or .zip (COLMAP or nerfstudio/Blender transforms).
    #[arg(required_unless_present = "demo")]
    dataset: Option<PathBuf>,
    /// Train on the demo training set instead (the page's "Train on the demo scene": the demo
    /// scene rendered from 24 orbit cameras at 128 px, 3000 random initial points).
    #[arg(long, conflicts_with = "dataset")]
    demo: bool,
    /// Optimizer steps (each of --batch views).
    #[arg(long, default_value_t = 30_000)]
    steps: u32,
    /// Views per step.
    #[arg(long, default_value_t = 1)]
    batch: u32,
    /// Evaluate on the test split every this many steps (0: only at the end).
    #[arg(long, default_value_t = 0)]
    eval_every: u32,
    /// Also evaluate at these steps (comma separated), e.g. 7000.
    #[arg(long, value_delimiter = ',')]
    eval_at: Vec<u32>,
    #[arg(long, default_value = "out")]
    out: PathBuf,
    /// Image decoding threads (default: all cores).
    #[arg(long)]
    workers: Option<usize>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Background for RGBA images (default: white for NeRF-synthetic, else black).
    #[arg(long, value_enum)]
    background: Option<Background>,
    /// Scale the images (and cameras) by this factor.
    #[arg(long, default_value_t = 1.0)]
    resolution_scale: f32,
    /// Write a checkpoint every this many steps (0: never).
    #[arg(long, default_value_t = 2000)]
    checkpoint_every: u32,
    /// Continue from the checkpoint in <out>/checkpoint.
    #[arg(long)]
    resume: bool,
    /// Test images: every n-th image when the dataset has no test split of its own.
    #[arg(long, default_value_t = 8)]
    test_every: usize,
    /// Only these test views (names ending like this, comma separated), e.g. the lego-25
    /// protocol's r_0,r_8,...
    #[arg(long, value_delimiter = ',')]
    test_views: Vec<String>,
    /// Density control from this many views on (3DGS: 500) ...
    #[arg(long, default_value_t = 500)]
    refine_start: u32,
    /// ... every this many views.
    #[arg(long, default_value_t = 100)]
    refine_every: u32,
    /// Random initial points when the dataset has none.
    #[arg(long, default_value_t = 100_000)]
    init_points: usize,
    /// Write a profile of the run here (Chrome Trace Event Format JSON, docs/profile-format.md):
    /// GPU time of every pass of every step, CPU spans, memory, loss and splat count.
    #[arg(long)]
    profile: Option<PathBuf>,
}

#[derive(Serialize)]
struct EvalReport<'a> {
    dataset: String,
    adapter: &'a wgsplat::gpu::AdapterReport,
    batch: u32,
    steps: u32,
    /// Seconds of training, without evaluation and checkpoints.
    train_seconds: f64,
    steps_per_second: f64,
    views_per_second: f64,
    peak_gpu_bytes: u64,
    evaluations: &'a [EvalResult],
}

/// Decodes `frames` on the pool and uploads them into one `GpuImages`; broken images are
/// reported and left out.
fn load_images(gpu: &GpuContext, pool: &DecodePool, source: &Arc<dyn wgsplat::dataset::FileSource>, frames: &[FrameInfo], label: &str) -> GpuImages {
    let sizes: Vec<(u32, u32)> = frames.iter().map(|f| (f.camera.width, f.camera.height)).collect();
    let mut images = GpuImages::new(gpu, &sizes);
    let progress = ProgressBar::new(frames.len() as u64);
    progress.set_style(ProgressStyle::with_template(&format!("{label} {{bar:40}} {{pos}}/{{len}} images {{per_sec}}")).expect("valid template"));
    let jobs: Vec<(usize, FrameInfo)> = frames.iter().cloned().enumerate().collect();
    for decoded in pool.stream(source.clone(), jobs, pool.workers() * 2) {
        match decoded.result {
            Ok(image) => images.upload(gpu, decoded.index, &image.rgba),
            Err(e) => progress.println(format!("warning: skipping {}: {e}", decoded.name)),
        }
        progress.inc(1);
    }
    progress.finish_and_clear();
    images
}

/// Reads a dataset and decodes its images on a pool of threads.
fn load(gpu: &GpuContext, path: &std::path::Path, args: &TrainArgs) -> anyhow::Result<(String, DatasetIndex, GpuImages, GpuImages)> {
    let source = open_path(path)?;
    let name = path.display().to_string();
    let options = LoadOptions { test_every: args.test_every, resolution_scale: args.resolution_scale, ..Default::default() };
    let mut index = load_dataset(source.as_ref(), &name, &options)?;
    if !args.test_views.is_empty() {
        index.test.retain(|f| args.test_views.iter().any(|t| f.name.ends_with(&format!("/{t}")) || f.name == *t));
    }
    eprintln!("{name}: {} ({} train, {} test views, extent {:.2})", index.format, index.train.len(), index.test.len(), index.scene_extent);
    let pool = DecodePool::new(args.workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(4, |n| n.get())));
    let decode_start = Instant::now();
    let train_images = load_images(gpu, &pool, &source, &index.train, "decoding train");
    let test_images = load_images(gpu, &pool, &source, &index.test, "decoding test ");
    eprintln!("decoded {} images in {:.1} s on {} threads", index.train.len() + index.test.len(), decode_start.elapsed().as_secs_f64(), pool.workers());
    Ok((name, index, train_images, test_images))
}

pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    if args.batch == 0 || args.steps == 0 {
        bail!("--batch and --steps must be at least 1");
    }
    let gpu = super::gpu()?;
    let (name, index, train_images, test_images) = match &args.dataset {
        Some(path) if !args.demo => load(&gpu, path, &args)?,
        _ => {
            let (index, train, test) = pollster::block_on(demo_views::demo_dataset(&gpu, demo_views::DEMO_TRAIN_VIEWS, demo_views::DEMO_SIZE))?;
            ("demo scene".to_string(), index, train, test)
        }
    };

    let background = match args.background {
        Some(Background::White) => [1.0; 3],
        Some(Background::Black) => [0.0; 3],
        Some(Background::Random) => [0.0; 3],
        None => default_background(&index),
    };
    let config = TrainConfig {
        steps: args.steps,
        batch: args.batch,
        seed: args.seed,
        background,
        random_background: matches!(args.background, Some(Background::Random)),
        densify: DensifyConfig { start_views: args.refine_start, every_views: args.refine_every.max(1), ..DensifyConfig::default() },
        ..TrainConfig::default()
    };
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let checkpoint_dir = args.out.join("checkpoint");
    let mut trainer = if args.resume {
        let t = Trainer::resume(&gpu, &checkpoint_dir, TrainView::of_frames(&index.train), train_images)?;
        eprintln!("resumed at step {} from {}", t.step, checkpoint_dir.display());
        t
    } else {
        let splats = initial_splats(&index, args.init_points, args.seed);
        Trainer::new(&gpu, &splats, TrainView::of_frames(&index.train), train_images, index.scene_extent, config)?
    };
    let test_views = TrainView::of_frames(&index.test);
    let profiler = match &args.profile {
        Some(_) => Profiler::new(&gpu, ProfilerOptions { label: "train".into(), ..Default::default() }),
        None => Profiler::disabled(),
    };
    trainer.renderer.attach_gpu_timer(profiler.gpu_timer());

    let progress = ProgressBar::new(args.steps as u64);
    progress.set_position(trainer.step as u64);
    progress.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} steps {per_sec} eta {eta} {msg}").expect("valid template"));
    let mut evaluations = Vec::new();
    let mut train_time = Duration::ZERO;
    let mut peak_gpu = 0u64;
    let mut last_loss = f64::NAN;
    let mut last_psnr = f64::NAN;
    let mut since = Instant::now();
    while trainer.step < args.steps {
        {
            let _step = profiler.begin_step(trainer.step as u64);
            profiler.scope("step", || pollster::block_on(trainer.step(&gpu)))?;
        }
        for m in trainer.poll_metrics(&gpu)? {
            last_loss = m.loss;
            last_psnr = m.psnr;
            if profiler.is_enabled() {
                profiler.counters("training", &[("loss", m.loss), ("psnr", m.psnr)]);
            }
        }
        peak_gpu = peak_gpu.max(trainer.memory_bytes().total());
        if profiler.is_enabled() && trainer.step % 10 == 0 {
            trainer.observe(&profiler);
            profiler.collect(&gpu);
        }
        progress.set_position(trainer.step as u64);
        if trainer.step % 10 == 0 {
            progress.set_message(format!("loss {last_loss:.4} psnr {last_psnr:.2} splats {}", trainer.num_splats()));
        }
        let step = trainer.step;
        let eval_now = (args.eval_every > 0 && step % args.eval_every == 0) || args.eval_at.contains(&step) || step == args.steps;
        let checkpoint_now = args.checkpoint_every > 0 && step % args.checkpoint_every == 0;
        if (eval_now && !test_views.is_empty()) || checkpoint_now {
            pollster::block_on(trainer.finish(&gpu));
            train_time += since.elapsed();
            if eval_now && !test_views.is_empty() {
                let result = pollster::block_on(trainer.evaluate(&gpu, &test_views, &test_images))?;
                progress.println(format!(
                    "step {step}: test PSNR {:.2} SSIM {:.4} over {} views, {} splats, {:.1} s of training",
                    result.psnr,
                    result.ssim,
                    result.views,
                    result.splats,
                    train_time.as_secs_f64()
                ));
                evaluations.push(result);
            }
            if checkpoint_now {
                pollster::block_on(trainer.save_checkpoint(&gpu, &checkpoint_dir))?;
            }
            since = Instant::now();
        }
    }
    pollster::block_on(trainer.finish(&gpu));
    train_time += since.elapsed();
    progress.finish();

    if let Some(path) = &args.profile {
        let profile = profiler.finish(Some(&gpu));
        profile.write(path).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("{}\nwrote the profile {}", profile.report_text(), path.display());
    }
    let splats = pollster::block_on(trainer.export(&gpu))?;
    let ply_path = args.out.join("splats.ply");
    std::fs::write(&ply_path, ply::write_ply(&splats)).with_context(|| format!("writing {}", ply_path.display()))?;
    let secs = train_time.as_secs_f64();
    let report = EvalReport {
        dataset: name,
        adapter: &gpu.report,
        batch: args.batch,
        steps: args.steps,
        train_seconds: secs,
        steps_per_second: args.steps as f64 / secs,
        views_per_second: (args.steps * args.batch) as f64 / secs,
        peak_gpu_bytes: peak_gpu,
        evaluations: &evaluations,
    };
    let eval_path = args.out.join("eval.json");
    std::fs::write(&eval_path, serde_json::to_string_pretty(&report)?).with_context(|| format!("writing {}", eval_path.display()))?;
    eprintln!("wrote {} ({} splats) and {} after {:.1} s of training ({:.1} steps/s)", ply_path.display(), splats.len(), eval_path.display(), secs, report.steps_per_second);
    Ok(())
}
