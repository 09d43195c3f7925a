//! `wgsplat bench rvs <scene.ply> <dataset>`: random view synthesis throughput at the dataset's
//! resolution, on the same sampled views for every measurement, warm-up excluded:
//! - render + readback, C cameras per call (1, 8, 32 by default);
//! - end to end: render, encode on the worker pool and write the files, per C, no cache;
//! - fresh against cached: a run into an empty cache (render, encode, write, store) and a second
//!   run of the same views that reads every view from the cache.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use serde_json::json;
use wgsplat::GpuContext;
use wgsplat::profile::bench::{BenchMetric, BenchReport, Better};
use wgsplat::profile::env::Environment;
use wgsplat::render::Renderer;
use wgsplat::rvs::batch::{render_batch, render_batch_reusing};
use wgsplat::rvs::cache::RenderCache;
use wgsplat::rvs::generate::{GenerateOptions, generate_images};
use wgsplat::rvs::{ImageFormat, RvsParams, SampledView, sample_views};

#[derive(Args)]
pub struct RvsBench {
    /// The trained scene (.ply).
    scene: PathBuf,
    /// The dataset whose training cameras are perturbed (folder, .zip or transforms.json).
    dataset: PathBuf,
    /// Views per measurement (drawn round the training cameras).
    #[arg(long, default_value_t = 64)]
    views: usize,
    /// Cameras per call to measure.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
    batches: Vec<usize>,
    /// Resolution scale of the views (1: the dataset's resolution).
    #[arg(long, default_value_t = 1.0)]
    scale: f32,
    /// Image format for the end-to-end and cache measurements: png or jpeg.
    #[arg(long, default_value = "png")]
    format: String,
    #[arg(long, default_value_t = 90)]
    quality: u8,
    /// Encoder threads (0: all cores but one).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Repetitions per measurement; the median is reported.
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// Scratch folder for written images and caches (removed afterwards).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    #[arg(long, default_value = "bench-rvs.json")]
    json: PathBuf,
}

/// `count` views drawn round the training cameras (as many per camera as needed, then cut).
fn bench_views(index: &wgsplat::dataset::DatasetIndex, count: usize) -> anyhow::Result<Vec<SampledView>> {
    let per_view = count.div_ceil(index.train.len()).max(1);
    let mut views = sample_views(&index.train, &RvsParams { per_view, seed: 7, ..Default::default() })?;
    // Interleave the sources, so a cut keeps views of many cameras.
    views.sort_by_key(|v| (v.sample, v.source_index));
    views.truncate(count.max(1));
    for (i, v) in views.iter_mut().enumerate() {
        v.index = i;
    }
    Ok(views)
}

fn fresh_dir(root: &std::path::Path, name: &str) -> anyhow::Result<PathBuf> {
    let dir = root.join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

pub fn rvs_bench(gpu: &GpuContext, args: RvsBench) -> anyhow::Result<()> {
    let (splats, scene_hash) = crate::rvs::read_scene(&args.scene)?;
    let index = crate::rvs::read_dataset(&args.dataset, args.scale, 8)?;
    let format = ImageFormat::parse(&args.format, args.quality)?;
    let views = bench_views(&index, args.views)?;
    let (width, height) = (views[0].camera.width, views[0].camera.height);
    let background = [0.0; 3];
    let work = args.work_dir.clone().unwrap_or_else(|| std::env::temp_dir().join(format!("wgsplat-bench-rvs-{}", std::process::id())));
    let mut renderer = Renderer::new(gpu)?;
    let gpu_splats = renderer.upload(gpu, &splats)?;
    let batches: Vec<usize> = args.batches.iter().map(|&c| c.max(1)).collect();
    let repeats = args.repeats.max(1);
    let n = views.len() as f64;

    // Warm-up (not timed): compiles the pipelines and grows the buffers to the largest batch.
    let largest = batches.iter().copied().max().unwrap_or(1).min(views.len());
    pollster::block_on(render_batch(&mut renderer, gpu, &gpu_splats, &views[..largest], background))?;

    let mut report = BenchReport::new(
        "rvs",
        Environment::detect(Some(gpu)),
        json!({"scene": args.scene.display().to_string(), "splats": splats.len(), "dataset": args.dataset.display().to_string(),
               "views": views.len(), "width": width, "height": height, "batches": batches, "format": format.extension(),
               "repeats": repeats}),
    );
    let mut rows = Vec::new();
    println!("{:<48} {:>6} {:>10} {:>10}", "rvs", "C", "views/s", "ms/view");
    let mut record = |report: &mut BenchReport, name: String, per_call: Option<usize>, secs: Vec<f64>| {
        let metric = BenchMetric::new(name.clone(), "views/s", Better::Higher, secs.iter().map(|s| n / s).collect());
        println!(
            "{:<48} {:>6} {:>10.1} {:>10.3}",
            name,
            per_call.map_or("-".into(), |c| c.to_string()),
            metric.median,
            1e3 / metric.median
        );
        rows.push(json!({"measurement": name, "cameras_per_call": per_call, "views": views.len(), "views_per_s": metric.median, "ms_per_view": 1e3 / metric.median, "spread": metric.spread}));
        report.metric(metric);
    };

    for &c in &batches {
        let mut secs = Vec::new();
        for _ in 0..repeats {
            super::common::wait_idle(gpu)?;
            let start = Instant::now();
            // As a consumer that recycles its buffers would (see `generate_images`).
            let mut spare = Vec::new();
            for chunk in views.chunks(c) {
                let images = pollster::block_on(render_batch_reusing(&mut renderer, gpu, &gpu_splats, chunk, background, &mut spare))?;
                spare.extend(images.into_iter().map(|i| i.rgba));
            }
            secs.push(start.elapsed().as_secs_f64());
        }
        record(&mut report, format!("rvs render+readback C={c} views/s"), Some(c), secs);
    }

    let options = |batch| GenerateOptions { batch, format, background, threads: args.threads, scene_hash };
    for &c in &batches {
        let mut secs = Vec::new();
        for _ in 0..repeats {
            let out = fresh_dir(&work, "out")?;
            super::common::wait_idle(gpu)?;
            let start = Instant::now();
            generate_images(gpu, &mut renderer, &gpu_splats, &views, &out, &options(c), None, |_| {})?;
            secs.push(start.elapsed().as_secs_f64());
        }
        record(&mut report, format!("rvs end-to-end {} C={c} views/s", format.extension()), Some(c), secs);
    }

    let c = *batches.last().unwrap_or(&1);
    let (mut fresh, mut cached) = (Vec::new(), Vec::new());
    for _ in 0..repeats {
        let cache_dir = fresh_dir(&work, "cache")?;
        let mut cache = RenderCache::open(&cache_dir, u64::MAX)?;
        for (times, expect_cached) in [(&mut fresh, false), (&mut cached, true)] {
            let out = fresh_dir(&work, "out")?;
            super::common::wait_idle(gpu)?;
            let start = Instant::now();
            let stats = generate_images(gpu, &mut renderer, &gpu_splats, &views, &out, &options(c), Some(&mut cache), |_| {})?;
            times.push(start.elapsed().as_secs_f64());
            let all = if expect_cached { stats.from_cache } else { stats.rendered };
            anyhow::ensure!(
                all == views.len(),
                "the {} run took {} of {} views from the cache",
                if expect_cached { "cached" } else { "fresh" },
                stats.from_cache,
                views.len()
            );
        }
    }
    record(&mut report, format!("rvs fresh (render, encode, store) C={c} views/s"), Some(c), fresh);
    record(&mut report, "rvs cached (read from the cache) views/s".to_string(), None, cached);

    let _ = std::fs::remove_dir_all(&work);
    report.results = json!({"rows": rows});
    super::common::write_report(&args.json, &report)
}
