//! `wgsplat bench allreduce`: what summing the gradients across devices (`kernel::all_reduce`,
//! data-parallel training's exchange) costs per step, alone: the gradients of a scene of N
//! splats (59 floats each at SH degree 3) summed across `--gpus` devices, with nothing before
//! it to wait for, so the download, the host's writes and the upload are all that is measured.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use serde_json::json;
use wgsplat::kernel::all_reduce::{AllReduce, Member};
use wgsplat::kernel::buffers;
use wgsplat::profile::bench::{BenchMetric, BenchReport, Better};
use wgsplat::profile::env::Environment;
use wgsplat::render::backward::GpuSplatGrads;

use super::common::{count_name, median, parse_count, wait_idle, write_report};

#[derive(Args)]
pub struct AllReduceBench {
    /// Scene sizes whose gradients are summed (comma separated; lego ends at about 260k).
    #[arg(long, value_delimiter = ',', default_values_t = vec![100_000, 260_000, 1_000_000], value_parser = parse_count)]
    pub splats: Vec<usize>,
    /// Devices summing (one a GPU; see --share-gpu).
    #[arg(long, default_value_t = 2)]
    pub gpus: usize,
    /// Put every device on the one best GPU (the transfers still cross the bus twice each).
    #[arg(long)]
    pub share_gpu: bool,
    /// Sums timed per size (after two untimed ones).
    #[arg(long, default_value_t = 20)]
    pub repeats: usize,
    #[arg(long, default_value = "bench-allreduce.json")]
    pub json: PathBuf,
}

pub fn allreduce_bench(args: AllReduceBench) -> anyhow::Result<()> {
    anyhow::ensure!((2..=crate::MAX_GPUS).contains(&args.gpus), "--gpus {}: 2 to {} devices", args.gpus, crate::MAX_GPUS);
    let gpus = crate::gpus(args.gpus, args.share_gpu)?;
    let lead = &gpus[0];
    let mut report = BenchReport::new(
        "allreduce",
        Environment::detect(Some(lead)),
        json!({"splats": args.splats, "gpus": args.gpus, "share_gpu": args.share_gpu, "repeats": args.repeats}),
    );
    let refs: Vec<&wgsplat::GpuContext> = gpus.iter().collect();
    let mut all_reduce = AllReduce::new(&refs);
    let mut rows = Vec::new();
    println!("{:<8} {:>10} {:>10} {:>10} {:>10} {:>10}", "splats", "MB/device", "total ms", "wait ms", "host ms", "GB/s");
    for &n in &args.splats {
        let bytes = GpuSplatGrads::floats(n as u32, 16) * 4;
        let values: Vec<wgpu::Buffer> = gpus.iter().map(|g| buffers::storage(&g.device, "gradients", bytes)).collect();
        let tails: Vec<wgpu::Buffer> = gpus.iter().map(|g| buffers::storage(&g.device, "tail", 40)).collect();
        let members: Vec<Member> =
            gpus.iter().zip(&values).zip(&tails).map(|((gpu, buffer), tail)| Member { gpu, buffer, tail: Some(tail) }).collect();
        let (mut total, mut wait, mut host) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..args.repeats.max(1) + 2 {
            for g in &gpus {
                wait_idle(g)?;
            }
            let start = Instant::now();
            let (_, timing) = pollster::block_on(all_reduce.sum(&members, bytes, 40))?;
            for g in &gpus {
                wait_idle(g)?;
            }
            if i >= 2 {
                total.push(start.elapsed().as_secs_f64() * 1e3);
                wait.push(timing.wait_us / 1e3);
                host.push(timing.host_us / 1e3);
            }
        }
        // Every device sends its gradients once and receives every other's.
        let moved = bytes as f64 * args.gpus as f64 * args.gpus as f64;
        let (t, w, h) = (median(total.clone()), median(wait.clone()), median(host.clone()));
        let gbps = moved / (t / 1e3) / 1e9;
        println!("{:<8} {:>10.1} {:>10.3} {:>10.3} {:>10.3} {:>10.1}", count_name(n), bytes as f64 / 1e6, t, w, h, gbps);
        rows.push(json!({"splats": n, "bytes_per_device": bytes, "total_ms": t, "wait_ms": w, "host_ms": h, "gb_per_s": gbps}));
        let name = count_name(n);
        report.metric(BenchMetric::new(format!("allreduce {name} total ms"), "ms", Better::Lower, total));
        report.metric(BenchMetric::new(format!("allreduce {name} download ms"), "ms", Better::Lower, wait));
        report.metric(BenchMetric::new(format!("allreduce {name} host and upload ms"), "ms", Better::Lower, host));
    }
    report.results = json!({"sizes": rows, "adapters": gpus.iter().map(|g| g.report.to_string()).collect::<Vec<_>>()});
    write_report(&args.json, &report)
}
