//! `wgsplat bench dispatch`: what wgpu charges natively for the pieces a training step is made
//! of (a submission, a pass, a dispatch direct and indirect, a bind group change, a timed pass, a
//! clear, a small write, a round trip), on trivial work so that the wall clock measures the API
//! and the driver, not the GPU. The page measures the same items in the browser
//! (web/train/probe.js, `cargo xtask bench-web --probe`) with the same kernel
//! (crates/kernel/shaders/bench_probe.wgsl), so the two tables compare item by item. Microseconds per item,
//! the median of the repeats; the wait at the end of a repeat is spread over its items (one
//! round trip over `--items`, a fraction of a microsecond at the default).

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use serde_json::json;
use wgpu::util::DeviceExt;
use wgsplat::GpuContext;
use wgsplat::kernel::shader;
use wgsplat::profile::bench::{BenchMetric, BenchReport, Better};
use wgsplat::profile::env::Environment;

use super::common::{median, wait_idle, write_report};

#[derive(Args)]
pub struct DispatchBench {
    /// Items per measurement (dispatches, passes, submissions).
    #[arg(long, default_value_t = 400)]
    pub items: u32,
    #[arg(long, default_value_t = 5)]
    pub repeats: usize,
    #[arg(long, default_value = "bench-dispatch.json")]
    pub json: PathBuf,
}

struct Probe<'a> {
    gpu: &'a GpuContext,
    pipeline: wgpu::ComputePipeline,
    groups: [wgpu::BindGroup; 2],
    big_group: wgpu::BindGroup,
    small: wgpu::Buffer,
    indirect: wgpu::Buffer,
    queries: Option<wgpu::QuerySet>,
}

impl Probe<'_> {
    fn pass<'e>(
        &self,
        encoder: &'e mut wgpu::CommandEncoder,
        timestamps: Option<wgpu::ComputePassTimestampWrites<'e>>,
    ) -> wgpu::ComputePass<'e> {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: None, timestamp_writes: timestamps });
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.groups[0], &[]);
        pass
    }

    fn single(&self, encoder: &mut wgpu::CommandEncoder) {
        self.pass(encoder, None).dispatch_workgroups(1, 1, 1);
    }

    /// One submission of what `record` encodes, waited for.
    fn submitted(&self, record: impl FnOnce(&mut wgpu::CommandEncoder)) -> anyhow::Result<()> {
        let mut encoder = self.gpu.device.create_command_encoder(&Default::default());
        record(&mut encoder);
        self.gpu.queue.submit([encoder.finish()]);
        wait_idle(self.gpu)
    }

    /// Runs case `name` with `n` items.
    fn run(&self, name: &str, n: u32) -> anyhow::Result<()> {
        match name {
            "round trip" => (0..n).try_for_each(|_| self.submitted(|e| self.single(e))),
            "submission" => {
                for _ in 0..n {
                    let mut encoder = self.gpu.device.create_command_encoder(&Default::default());
                    self.single(&mut encoder);
                    self.gpu.queue.submit([encoder.finish()]);
                }
                wait_idle(self.gpu)
            }
            "dispatch" => self.submitted(|e| {
                let mut pass = self.pass(e, None);
                (0..n).for_each(|_| pass.dispatch_workgroups(1, 1, 1));
            }),
            "dispatch + bind group" => self.submitted(|e| {
                let mut pass = self.pass(e, None);
                for i in 0..n as usize {
                    pass.set_pipeline(&self.pipeline);
                    pass.set_bind_group(0, &self.groups[i % 2], &[]);
                    pass.dispatch_workgroups(1, 1, 1);
                }
            }),
            "indirect dispatch" => self.submitted(|e| {
                let mut pass = self.pass(e, None);
                (0..n).for_each(|_| pass.dispatch_workgroups_indirect(&self.indirect, 0));
            }),
            "pass" => self.submitted(|e| (0..n).for_each(|_| self.single(e))),
            "timed pass" => self.submitted(|e| {
                let queries = self.queries.as_ref().expect("timed pass only with timestamps");
                for i in 0..n {
                    let writes = wgpu::ComputePassTimestampWrites {
                        query_set: queries,
                        beginning_of_pass_write_index: Some(2 * i),
                        end_of_pass_write_index: Some(2 * i + 1),
                    };
                    self.pass(e, Some(writes)).dispatch_workgroups(1, 1, 1);
                }
            }),
            "clear" => self.submitted(|e| {
                for _ in 0..n {
                    e.clear_buffer(&self.small, 0, None);
                    self.single(e);
                }
            }),
            "write_buffer" => {
                (0..n).for_each(|_| self.gpu.queue.write_buffer(&self.small, 0, &[0u8; 256]));
                self.submitted(|e| self.single(e))
            }
            "16 MiB dispatch" => self.submitted(|e| {
                let mut pass = self.pass(e, None);
                pass.set_bind_group(0, &self.big_group, &[]);
                (0..n).for_each(|_| pass.dispatch_workgroups(256, 256, 1));
            }),
            other => anyhow::bail!("no probe case {other}"),
        }
    }
}

/// The cases, what one item is, and the share of `--items` each runs (round trips are slow).
const CASES: [(&str, &str, u32); 10] = [
    ("round trip", "one submission of one dispatch, then waiting for it", 10),
    ("submission", "a submission of one pass with one dispatch (not waited for)", 1),
    ("dispatch", "a dispatch in a pass of many, same pipeline and bind group", 1),
    ("dispatch + bind group", "a dispatch after set_pipeline and set_bind_group (alternating groups)", 1),
    ("indirect dispatch", "dispatch_workgroups_indirect in a pass of many", 1),
    ("pass", "a compute pass of one dispatch", 1),
    ("timed pass", "a compute pass of one dispatch with timestamps at both ends", 1),
    ("clear", "a clear_buffer of 256 bytes between dispatches", 1),
    ("write_buffer", "a 256-byte queue.write_buffer", 1),
    ("16 MiB dispatch", "a dispatch reading and writing 16 MiB (real work), in a pass of many", 4),
];

pub fn dispatch_bench(gpu: &GpuContext, b: DispatchBench) -> anyhow::Result<()> {
    if b.items < 10 || b.repeats == 0 {
        anyhow::bail!("--items must be at least 10 and --repeats at least 1");
    }
    let device = &gpu.device;
    let pipeline = shader::compute_pipeline(device, wgsplat::kernel::shaders::BENCH_PROBE, &[], "main");
    let storage = |bytes: u64| {
        device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("probe data"),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    };
    let small = storage(256);
    let big = storage(16 << 20);
    let mut params = vec![0u8; 512];
    params[0] = 1;
    params[256] = 2;
    let uniform = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("probe params"),
        contents: &params,
        usage: wgpu::BufferUsages::UNIFORM,
    });
    let group = |data: &wgpu::Buffer, offset: u64| {
        let params = wgpu::BufferBinding { buffer: &uniform, offset, size: wgpu::BufferSize::new(16) };
        shader::bind_group(device, &pipeline, &[(0, data.as_entire_binding()), (1, wgpu::BindingResource::Buffer(params))])
    };
    let probe = Probe {
        gpu,
        groups: [group(&small, 0), group(&small, 256)],
        big_group: group(&big, 0),
        indirect: device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("probe indirect"),
            contents: bytemuck::cast_slice(&[1u32, 1, 1, 0]),
            usage: wgpu::BufferUsages::INDIRECT,
        }),
        queries: gpu.features.timestamp_queries.then(|| {
            device.create_query_set(&wgpu::QuerySetDescriptor { label: None, ty: wgpu::QueryType::Timestamp, count: 2 * b.items })
        }),
        pipeline,
        small,
    };
    let seconds = |f: &dyn Fn() -> anyhow::Result<()>| -> anyhow::Result<f64> {
        let start = Instant::now();
        f()?;
        Ok(start.elapsed().as_secs_f64())
    };
    probe.submitted(|e| probe.single(e))?;
    let mut report = BenchReport::new("dispatch", Environment::detect(Some(gpu)), json!({ "items": b.items, "repeats": b.repeats }));
    let mut results = Vec::new();
    println!("{} natively, microseconds per item:\n", gpu.report.name);
    println!("| item | us | what one item is |\n|---|---|---|");
    for (name, what, share) in CASES {
        if name == "timed pass" && probe.queries.is_none() {
            results.push(json!({ "name": name, "what": what, "us": null }));
            continue;
        }
        let n = b.items / share;
        probe.run(name, n)?;
        let mut rounds = Vec::new();
        for _ in 0..b.repeats {
            rounds.push(seconds(&|| probe.run(name, n))? / n as f64 * 1e6);
        }
        let us = median(rounds.clone());
        println!("| {name} | {us:.2} | {what} |");
        report.metric(BenchMetric::new(format!("{name} us"), "us", Better::Lower, rounds.clone()));
        results.push(json!({ "name": name, "what": what, "us": us, "rounds": rounds }));
    }
    report.results = json!({ "adapter": gpu.report.name, "results": results });
    write_report(&b.json, &report)
}
