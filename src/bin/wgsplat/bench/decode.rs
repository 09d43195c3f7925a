//! `wgsplat bench decode`: image decoding on 1 against N worker threads, on generated images
//! (PNG or JPEG): images/s and decoded MB/s of plain threads, then of the dataset loader's
//! `DecodePool` with the same worker counts.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use serde_json::json;
use wgsplat::Camera;
use wgsplat::profile::bench::{BenchMetric, BenchReport, Better};
use wgsplat::profile::env::Environment;

use super::common::{rng, write_report};

#[derive(Args)]
pub struct DecodeBench {
    /// Images generated and decoded per measurement.
    #[arg(long, default_value_t = 48)]
    pub images: usize,
    #[arg(long, default_value_t = 800)]
    pub width: u32,
    #[arg(long, default_value_t = 800)]
    pub height: u32,
    /// png (RGBA, like NeRF-synthetic) or jpeg (RGB).
    #[arg(long, default_value = "png")]
    pub format: String,
    /// Worker threads to compare (default: 1 and every core).
    #[arg(long, value_delimiter = ',')]
    pub threads: Vec<usize>,
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    #[arg(long, default_value = "bench-decode.json")]
    pub json: PathBuf,
}

/// An RGBA image with smooth shapes, texture noise and a transparent background (compresses
/// like a rendered object rather than like noise or a flat colour).
fn generated_image(seed: u64, width: u32, height: u32) -> image::RgbaImage {
    let mut next = rng(seed);
    let (cx, cy, r) =
        (width as f32 * (0.4 + 0.2 * next()), height as f32 * (0.4 + 0.2 * next()), width.min(height) as f32 * (0.25 + 0.1 * next()));
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
            FrameInfo {
                name: name.clone(),
                image_path: name,
                camera: Camera::orbit([0.0; 3], 4.0, 0.0, 0.0, 0.8, width, height),
                image_size: (width, height),
            }
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

pub fn decode_bench(args: DecodeBench) -> anyhow::Result<()> {
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
            let secs: Vec<f64> =
                (0..args.repeats.max(1)).map(|_| time_pool(&dir, &files, args.width, args.height, t)).collect::<Result<_, _>>()?;
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
