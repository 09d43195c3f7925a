//! `wgsplat bench scan` and `wgsplat bench compact`: throughput (elements/s) of the kernel's
//! exclusive prefix sum and stream compaction on random inputs, by wall clock over calls
//! submitted back to back and by GPU time of their passes alone (where timestamps exist). Both
//! are one recorded job on buffers made once; the result of the first call is checked against
//! the CPU twin.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::bail;
use clap::Args;
use serde_json::json;
use wgsplat::GpuContext;
use wgsplat::kernel::compact::{CompactBuffers, CompactPipelines, record_compact};
use wgsplat::kernel::cpu;
use wgsplat::kernel::recorder::{Recorder, Uniforms};
use wgsplat::kernel::scan::{ScanPipelines, ScanScratch, record_scan};
use wgsplat::kernel::{buffers, jobs, submit};
use wgsplat::profile::bench::{BenchMetric, BenchReport, Better};
use wgsplat::profile::env::Environment;

use super::common::{count_name, parse_count, rng, stage_millis, wait_idle, write_report};

#[derive(Args)]
pub struct ScanBench {
    /// Elements per call.
    #[arg(long, value_delimiter = ',', value_parser = parse_count, default_value = "1M,4M,16M")]
    pub sizes: Vec<usize>,
    /// Calls per measurement, submitted back to back.
    #[arg(long, default_value_t = 10)]
    pub iterations: usize,
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// Compaction only: one element in this many is kept.
    #[arg(long, default_value_t = 4)]
    pub keep_one_in: u32,
    #[arg(long)]
    pub json: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq)]
pub enum Primitive {
    Scan,
    Compact,
}

impl Primitive {
    fn name(self) -> &'static str {
        match self {
            Primitive::Scan => "scan",
            Primitive::Compact => "compact",
        }
    }
}

/// One primitive's job on fixed buffers, recorded again for every call.
struct Job {
    primitive: Primitive,
    n: u32,
    input: wgpu::Buffer,
    /// Scan: the array scanned in place (restored from `input` first) and its job.
    data: wgpu::Buffer,
    counters: wgpu::Buffer,
    scratch: ScanScratch,
    compact: CompactBuffers,
    scan_pipes: ScanPipelines,
    compact_pipes: CompactPipelines,
    uniforms: Uniforms,
}

impl Job {
    fn new(gpu: &GpuContext, primitive: Primitive, values: &[u32]) -> Self {
        let device = &gpu.device;
        let n = values.len() as u32;
        let mut job = vec![0u32; jobs::SCAN_JOB_LEN as usize];
        jobs::plan_scan(&mut job, 0, n);
        let counters = buffers::counters(device, job.len());
        gpu.queue.write_buffer(&counters, 0, bytemuck::cast_slice(&job));
        Self {
            primitive,
            n,
            input: buffers::storage_init(device, "bench input", values),
            data: buffers::storage(device, "bench scan data", n as u64 * 4),
            counters,
            scratch: ScanScratch::new(device, n as u64),
            compact: CompactBuffers::new(device, if primitive == Primitive::Compact { n as u64 } else { 1 }),
            scan_pipes: ScanPipelines::new(device),
            compact_pipes: CompactPipelines::new(device),
            uniforms: Uniforms::default(),
        }
    }

    fn submit(&mut self, gpu: &GpuContext) {
        let mut rec = Recorder::new();
        rec.stage(self.primitive.name());
        match self.primitive {
            Primitive::Scan => {
                rec.copy(&self.input, 0, &self.data, 0, self.n as u64 * 4);
                record_scan(&mut rec, &self.scan_pipes, &self.counters, 0, &self.data, &self.scratch);
            }
            Primitive::Compact => record_compact(gpu, &mut rec, &self.compact_pipes, &self.input, self.n, &self.compact),
        }
        submit::submit(gpu, self.primitive.name(), rec, &mut self.uniforms, |_| {});
    }

    /// Runs once and compares with the CPU twin.
    fn check(&mut self, gpu: &GpuContext, values: &[u32]) -> anyhow::Result<()> {
        self.submit(gpu);
        let ok = match self.primitive {
            Primitive::Scan => pollster::block_on(buffers::read_u32s(gpu, &self.data, self.n as u64 * 4))? == cpu::exclusive_scan(values),
            Primitive::Compact => {
                let want = cpu::compact(values);
                let count = pollster::block_on(buffers::read_u32s(gpu, &self.compact.count, 4))?[0] as usize;
                count == want.len()
                    && (count == 0
                        || pollster::block_on(buffers::read_u32s(gpu, &self.compact.global_from_compact, count as u64 * 4))? == want)
            }
        };
        if !ok {
            bail!("the GPU {} of {} elements differs from the CPU twin", self.primitive.name(), self.n);
        }
        Ok(())
    }
}

pub fn scan_bench(gpu: &GpuContext, primitive: Primitive, args: ScanBench) -> anyhow::Result<()> {
    let name = primitive.name();
    let mut report = BenchReport::new(
        name,
        Environment::detect(Some(gpu)),
        json!({"sizes": args.sizes, "iterations": args.iterations, "repeats": args.repeats, "keep_one_in": args.keep_one_in}),
    );
    println!("{:>10} {:>18} {:>18}", "elements", "Melem/s (wall)", "Melem/s (GPU)");
    let mut rows = Vec::new();
    let iterations = args.iterations.max(1);
    for &n in &args.sizes {
        if n as u64 > jobs::SCAN_MAX_LEN {
            bail!("{name}: {n} elements is more than the scan's {} (three levels of 512)", jobs::SCAN_MAX_LEN);
        }
        let mut next = rng(n as u64 ^ 0x5ca7);
        let values: Vec<u32> = match primitive {
            Primitive::Scan => (0..n).map(|_| (next() * 16.0) as u32).collect(),
            Primitive::Compact => (0..n).map(|_| ((next() * args.keep_one_in.max(1) as f32) as u32 == 0) as u32).collect(),
        };
        let mut job = Job::new(gpu, primitive, &values);
        job.check(gpu, &values)?;
        let mut wall = Vec::new();
        for _ in 0..args.repeats.max(1) {
            wait_idle(gpu)?;
            let start = Instant::now();
            for _ in 0..iterations {
                job.submit(gpu);
            }
            wait_idle(gpu)?;
            wall.push((n * iterations) as f64 / start.elapsed().as_secs_f64());
        }
        let stages = stage_millis(gpu, || {
            for _ in 0..iterations {
                job.submit(gpu);
            }
            Ok(())
        })?;
        let gpu_ms: f64 = stages.iter().map(|(_, ms)| ms).sum::<f64>() / iterations as f64;
        let m = BenchMetric::new(format!("{name} {} elements/s (wall)", count_name(n)), "elements/s", Better::Higher, wall);
        let g = (gpu_ms > 0.0).then(|| {
            BenchMetric::new(
                format!("{name} {} elements/s (GPU)", count_name(n)),
                "elements/s",
                Better::Higher,
                vec![n as f64 / (gpu_ms / 1e3)],
            )
        });
        println!("{:>10} {:>18.1} {:>18}", n, m.median / 1e6, g.as_ref().map_or("-".into(), |g| format!("{:.1}", g.median / 1e6)));
        rows.push(
            json!({"elements": n, "elements_per_s_wall": m.median, "elements_per_s_gpu": g.as_ref().map(|g| g.median), "gpu_ms": gpu_ms}),
        );
        report.metric(m);
        if let Some(g) = g {
            report.metric(g);
        }
    }
    report.results = json!(rows);
    write_report(&args.json.unwrap_or_else(|| PathBuf::from(format!("bench-{name}.json"))), &report)
}
