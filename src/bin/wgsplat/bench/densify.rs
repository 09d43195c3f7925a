//! `wgsplat bench densify`: GPU time of one density-control round (clone, split, prune on the
//! GPU) at several splat counts, on random scenes with random statistics (about a quarter of
//! the splats above the gradient threshold), and the wall time of the round including its one
//! readback of counts. Each repetition starts again from the same uploaded scene.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use serde_json::json;
use wgsplat::GpuContext;
use wgsplat::kernel::buffers;
use wgsplat::profile::bench::{BenchMetric, BenchReport, Better};
use wgsplat::profile::env::Environment;
use wgsplat::render::GpuSplats;
use wgsplat::train::adam::Group;
use wgsplat::train::strategy::densify::DensifyConfig;
use wgsplat::train::strategy::densify_gpu::{DensifyTargets, GpuDensify, Round};

use super::common::{count_name, parse_count, random_scene, rng, stage_millis, wait_idle, write_report};

#[derive(Args)]
pub struct DensifyBench {
    /// Splats per scene.
    #[arg(long, value_delimiter = ',', value_parser = parse_count, default_value = "100k,300k,1M")]
    pub splats: Vec<usize>,
    #[arg(long, default_value_t = 5)]
    pub repeats: usize,
    #[arg(long, default_value = "bench-densify.json")]
    pub json: PathBuf,
}

pub fn densify_bench(gpu: &GpuContext, args: DensifyBench) -> anyhow::Result<()> {
    let mut report = BenchReport::new("densify", Environment::detect(Some(gpu)), json!({"splats": args.splats, "repeats": args.repeats}));
    println!("{:>10} {:>14} {:>14} {:>12}", "splats", "GPU ms/round", "wall ms/round", "after");
    let mut rows = Vec::new();
    let config = DensifyConfig::default();
    let mut density = GpuDensify::new(gpu);
    for &n in &args.splats {
        let scene = random_scene(n);
        let mut next = rng(n as u64 ^ 0xd15);
        let stats: Vec<[f32; 4]> = (0..n)
            .map(|_| {
                let grad = 10f32.powf(-4.5 + 1.5 * next());
                [grad * 3.0, 3.0, 20.0 * next(), 0.0]
            })
            .collect();
        let coeffs = scene.coeffs_per_splat() as u32;
        let mut gpu_ms = Vec::new();
        let mut wall_ms = Vec::new();
        let mut after = 0;
        for repeat in 0..args.repeats.max(1) + 1 {
            let mut splats = GpuSplats::upload(gpu, &scene)?;
            let mut moments = Group::ALL.map(|g| buffers::storage(&gpu.device, "moments", n as u64 * g.row_len(coeffs) as u64 * 8));
            let mut stats_buffer = buffers::storage_init(&gpu.device, "stats", &stats);
            wait_idle(gpu)?;
            let start = Instant::now();
            let mut total = 0;
            let stages = stage_millis(gpu, || {
                let targets = DensifyTargets { splats: &mut splats, moments: &mut moments, stats: &mut stats_buffer };
                let round = Round {
                    extent: 1.0,
                    prune_large: true,
                    seed: repeat as u32,
                    max_splats: 0,
                    kind: wgsplat::train::strategy::densify_gpu::RoundKind::Refine,
                };
                total = pollster::block_on(density.refine(gpu, targets, &config, round))?.total;
                wait_idle(gpu)
            })?;
            // The first round compiles and allocates.
            if repeat > 0 {
                wall_ms.push(start.elapsed().as_secs_f64() * 1e3);
                gpu_ms.push(stages.iter().map(|(_, ms)| ms).sum::<f64>());
            }
            after = total;
        }
        let name = count_name(n);
        let wall = BenchMetric::new(format!("densify {name} splats round (wall)"), "ms", Better::Lower, wall_ms);
        let gpu_metric = (!gpu_ms.iter().all(|ms| *ms == 0.0))
            .then(|| BenchMetric::new(format!("densify {name} splats round (GPU)"), "ms", Better::Lower, gpu_ms));
        println!(
            "{:>10} {:>14} {:>14.2} {:>12}",
            n,
            gpu_metric.as_ref().map_or("-".into(), |g| format!("{:.3}", g.median)),
            wall.median,
            after
        );
        rows.push(json!({"splats": n, "gpu_ms": gpu_metric.as_ref().map(|g| g.median), "wall_ms": wall.median, "splats_after": after}));
        report.metric(wall);
        if let Some(g) = gpu_metric {
            report.metric(g);
        }
    }
    report.results = json!(rows);
    write_report(&args.json, &report)
}
