//! `wgsplat bench sort`: GPU radix sort throughput (keys/s) of random key/value pairs, by wall
//! clock and, where timestamps exist, by GPU time of the sort passes alone.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::bail;
use clap::Args;
use serde_json::json;
use wgsplat::GpuContext;
use wgsplat::kernel::recorder::{Recorder, Uniforms};
use wgsplat::kernel::scan::ScanScratch;
use wgsplat::kernel::sort::{SortBuffers, SortPipelines, hist_len, record_sort};
use wgsplat::kernel::timer::{GpuTimer, sum_by_name};
use wgsplat::kernel::{buffers, jobs};
use wgsplat::profile::bench::{BenchMetric, BenchReport, Better};
use wgsplat::profile::env::Environment;

use super::common::{count_name, parse_count, rng, wait_idle, write_report};

#[derive(Args)]
pub struct SortBench {
    /// Pairs per sort.
    #[arg(long, value_delimiter = ',', value_parser = parse_count, default_value = "1M,4M,16M")]
    pub sizes: Vec<usize>,
    /// Key bits sorted (32: 8 passes of 4 bits).
    #[arg(long, default_value_t = 32)]
    pub bits: u32,
    /// Sorts per measurement, submitted back to back.
    #[arg(long, default_value_t = 10)]
    pub iterations: usize,
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    #[arg(long, default_value = "bench-sort.json")]
    pub json: PathBuf,
}

/// A sort of fixed size whose input is restored from pristine copies before every run.
struct SortRun {
    n: u64,
    bits: u32,
    bufs: SortBuffers,
    pristine: [wgpu::Buffer; 2],
    counters: wgpu::Buffer,
    counter_values: Vec<u32>,
    scratch: ScanScratch,
}

impl SortRun {
    fn new(gpu: &GpuContext, keys: &[u32], bits: u32) -> Self {
        let device = &gpu.device;
        let n = keys.len() as u64;
        let values: Vec<u32> = (0..n as u32).collect();
        let mut counter_values = vec![0u32; jobs::SORT_JOB_LEN as usize];
        jobs::plan_sort(&mut counter_values, 0, n as u32);
        Self {
            n,
            bits,
            bufs: SortBuffers::new(device, "bench sort", n),
            pristine: [buffers::storage_init(device, "pristine keys", keys), buffers::storage_init(device, "pristine values", &values)],
            counters: buffers::counters(device, counter_values.len()),
            counter_values,
            scratch: ScanScratch::new(device, hist_len(n)),
        }
    }

    /// Restores the input and records one sort; returns which buffer pair holds the result.
    fn encode(
        &self,
        gpu: &GpuContext,
        pipes: &SortPipelines,
        uniforms: &mut Uniforms,
        encoder: &mut wgpu::CommandEncoder,
        timer: Option<&mut GpuTimer>,
    ) -> usize {
        gpu.queue.write_buffer(&self.counters, 0, bytemuck::cast_slice(&self.counter_values));
        encoder.copy_buffer_to_buffer(&self.pristine[0], 0, &self.bufs.keys[0], 0, self.n * 4);
        encoder.copy_buffer_to_buffer(&self.pristine[1], 0, &self.bufs.values[0], 0, self.n * 4);
        let mut rec = Recorder::new();
        rec.stage("sort");
        let out = record_sort(&mut rec, pipes, &self.counters, 0, self.bits, &self.bufs, &self.scratch, false);
        rec.encode(&gpu.device, &gpu.queue, encoder, uniforms, timer);
        out
    }
}

pub fn sort_bench(gpu: &GpuContext, args: SortBench) -> anyhow::Result<()> {
    let pipes = SortPipelines::new(&gpu.device);
    let mut uniforms = Uniforms::default();
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
        let out = run.encode(gpu, &pipes, &mut uniforms, &mut encoder, None);
        gpu.queue.submit([encoder.finish()]);
        let sorted = pollster::block_on(buffers::read_u32s(gpu, &run.bufs.keys[out], n as u64 * 4))?;
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
                run.encode(gpu, &pipes, &mut uniforms, &mut encoder, None);
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
                run.encode(gpu, &pipes, &mut uniforms, &mut encoder, timed.then_some(&mut *t));
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
        let g = (!gpu_rates.is_empty())
            .then(|| BenchMetric::new(format!("sort {name} pairs {}-bit keys/s (GPU)", args.bits), "keys/s", Better::Higher, gpu_rates));
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
