//! Exclusive prefix sum of u32 on the GPU (shaders/prefix_sum.wgsl): three levels of 512-element
//! blocks, lengths and dispatch sizes read from a scan job in the counters buffer.

use super::buffers;
use super::jobs::{self, SCAN_BLOCK};
use super::pipelines::Pipelines;
use super::recorder::{Binding, DispatchParams, Recorder, Workgroups};

/// Block sums of the three levels, sized for the longest array scanned.
pub struct ScanScratch {
    levels: [wgpu::Buffer; 3],
}

impl ScanScratch {
    pub fn new(device: &wgpu::Device, max_len: u64) -> Self {
        let l1 = max_len.div_ceil(SCAN_BLOCK as u64);
        let l2 = l1.div_ceil(SCAN_BLOCK as u64);
        Self {
            levels: [
                buffers::storage(device, "scan level 1", l1 * 4),
                buffers::storage(device, "scan level 2", l2 * 4),
                buffers::storage(device, "scan total", 4),
            ],
        }
    }
}

/// Records an in-place exclusive scan of `data` for the scan job at `job`.
pub fn record_scan(rec: &mut Recorder, pipes: &Pipelines, counters: &wgpu::Buffer, job: u32, data: &wgpu::Buffer, scratch: &ScanScratch) {
    let arrays = [data, &scratch.levels[0], &scratch.levels[1], &scratch.levels[2]];
    let step = |rec: &mut Recorder, pipeline: &wgpu::ComputePipeline, label: &'static str, level: usize| {
        rec.dispatch(
            label,
            pipeline,
            DispatchParams { counters_base: job, level: level as u32, ..Default::default() },
            vec![
                (0, Binding::Params),
                (1, Binding::Buffer(counters.clone())),
                (2, Binding::Buffer(arrays[level].clone())),
                (3, Binding::Buffer(arrays[level + 1].clone())),
            ],
            Workgroups::Indirect((job as u64 + 4 + 4 * level as u64) * 4),
        );
    };
    for level in 0..3 {
        step(rec, &pipes.scan_blocks, "scan_blocks", level);
    }
    for level in [1, 0] {
        step(rec, &pipes.add_block_sums, "add_block_sums", level);
    }
}

/// Scans `data` on the GPU and reads the result back (tests and benchmarks).
pub async fn exclusive_scan(gpu: &crate::GpuContext, pipes: &Pipelines, data: &[u32]) -> Result<Vec<u32>, crate::gpu::GpuError> {
    let device = &gpu.device;
    let buffer = buffers::storage_init(device, "scan data", data);
    let mut counter_values = vec![0u32; 32];
    jobs::plan_scan(&mut counter_values, 0, data.len() as u32);
    let counters = buffers::counters(device, counter_values.len());
    gpu.queue.write_buffer(&counters, 0, bytemuck::cast_slice(&counter_values));
    let scratch = ScanScratch::new(device, data.len() as u64);
    let mut rec = Recorder::default();
    record_scan(&mut rec, pipes, &counters, 0, &buffer, &scratch);
    let uniforms = buffers::uniform(device, "params", rec.uniform_bytes());
    let cameras = buffers::uniform(device, "cameras", super::recorder::CAMERAS_BYTES);
    let mut encoder = device.create_command_encoder(&Default::default());
    rec.encode(device, &gpu.queue, &mut encoder, &uniforms, &cameras, &counters, None);
    gpu.queue.submit([encoder.finish()]);
    buffers::read_u32s(gpu, &buffer, data.len() as u64 * 4).await
}

/// CPU twin.
pub fn exclusive_scan_cpu(data: &[u32]) -> Vec<u32> {
    data.iter()
        .scan(0u32, |sum, &x| {
            let before = *sum;
            *sum = sum.wrapping_add(x);
            Some(before)
        })
        .collect()
}
