//! `wgsplat bench readback`: blocking against asynchronous image readback (a ring of staging
//! buffers): views/s of renders whose images (rgba and depth) are copied to the CPU.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use serde_json::json;
use wgsplat::GpuContext;
use wgsplat::profile::bench::{BenchMetric, BenchReport, Better};
use wgsplat::profile::env::Environment;
use wgsplat::render::{GpuSplats, Renderer, View};

use super::common::{orbit_views, parse_count, random_scene, wait_idle, write_report};

#[derive(Args)]
pub struct ReadbackBench {
    /// Size of the random scene.
    #[arg(long, default_value_t = 200_000, value_parser = parse_count)]
    pub splats: usize,
    #[arg(long, default_value_t = 800)]
    pub width: u32,
    #[arg(long, default_value_t = 800)]
    pub height: u32,
    /// Cameras per render call.
    #[arg(long, default_value_t = 4)]
    pub cameras: usize,
    /// Render calls per measurement.
    #[arg(long, default_value_t = 32)]
    pub calls: usize,
    /// Staging buffers in flight for the asynchronous readback.
    #[arg(long, default_value_t = 3)]
    pub ring: usize,
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    #[arg(long, default_value = "bench-readback.json")]
    pub json: PathBuf,
}

struct Staging {
    buffer: wgpu::Buffer,
    ready: Arc<AtomicBool>,
    pending: bool,
}

/// Seconds for `calls` renders whose images (rgba and depth) are copied to the CPU; with a ring
/// of 1 every readback is waited for before the next render is submitted (blocking), with more
/// the CPU waits only when the oldest staging buffer is needed again.
fn time_readback(
    gpu: &GpuContext,
    renderer: &mut Renderer,
    splats: &GpuSplats,
    views: &[View],
    calls: usize,
    ring: usize,
) -> anyhow::Result<(f64, u64)> {
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
        let forward = renderer.render(gpu, splats, views)?;
        let target = &forward.target;
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

pub fn readback_bench(gpu: &GpuContext, args: ReadbackBench) -> anyhow::Result<()> {
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
