//! Exclusive prefix sum of u32 on the GPU (crates/kernel/shaders/prefix_sum.wgsl), in place: up to three levels
//! of 512-element blocks, lengths and dispatch sizes read from a scan job in a counters buffer
//! (`jobs::plan_scan`), so that a scan over a length the GPU computed needs no readback.

use bytemuck::{Pod, Zeroable};

use super::jobs::{self, SCAN_BLOCK};
use super::recorder::{Binding, Recorder, Uniforms, Workgroups};
use super::{buffers, shader};

/// Mirrors `ScanParams` in prefix_sum.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, Default)]
pub struct ScanParams {
    pub counters_base: u32,
    pub level: u32,
    pub _pad: [u32; 2],
}

pub struct ScanPipelines {
    scan_blocks: wgpu::ComputePipeline,
    add_block_sums: wgpu::ComputePipeline,
}

impl ScanPipelines {
    pub fn new(device: &wgpu::Device) -> Self {
        Self {
            scan_blocks: shader::compute_pipeline(device, crate::shaders::PREFIX_SUM, &[], "scan_blocks"),
            add_block_sums: shader::compute_pipeline(device, crate::shaders::PREFIX_SUM, &[], "add_block_sums"),
        }
    }
}

/// Block sums of up to three levels, sized for the longest array scanned (the last, one
/// word, is written by a three-level scan and read by nothing else).
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

    pub fn memory_bytes(&self) -> u64 {
        self.levels.iter().map(|b| b.size()).sum()
    }
}

/// Records an in-place exclusive scan of `data` for the scan job at word `job` of `counters`.
/// Each level's dispatch is sized for the longest array that level's buffer holds; the blocks
/// past the job's length return at once.
pub fn record_scan(
    rec: &mut Recorder,
    pipes: &ScanPipelines,
    counters: &wgpu::Buffer,
    job: u32,
    data: &wgpu::Buffer,
    scratch: &ScanScratch,
) {
    let arrays = [data, &scratch.levels[0], &scratch.levels[1], &scratch.levels[2]];
    let step = |rec: &mut Recorder, pipeline: &wgpu::ComputePipeline, label: &'static str, level: usize| {
        rec.dispatch(
            label,
            pipeline,
            &ScanParams { counters_base: job, level: level as u32, ..Default::default() },
            vec![(0, Binding::Params), (1, Binding::of(counters)), (2, Binding::of(arrays[level])), (3, Binding::of(arrays[level + 1]))],
            Workgroups::Direct(jobs::capacity_dispatch(arrays[level], SCAN_BLOCK)),
        );
    };
    // Levels past the one whose array fits in one block are no-ops (the block's sum is the
    // total, added to nothing), and every level's length is at most what its buffer holds: the
    // data's capacity says how many levels the scan needs without a readback. Small scans (a
    // sort's histograms, most steps' counts) skip two or four dispatches, each a few
    // microseconds of barrier on a big GPU.
    let levels = levels_for_capacity(data.size() / 4);
    for level in 0..levels {
        step(rec, &pipes.scan_blocks, "scan_blocks", level);
    }
    for level in (0..levels - 1).rev() {
        step(rec, &pipes.add_block_sums, "add_block_sums", level);
    }
}

/// Levels of blocks a scan of at most `capacity` elements needs: 1 up to one block, 2 up to a
/// block of blocks, else 3.
pub fn levels_for_capacity(capacity: u64) -> usize {
    let block = SCAN_BLOCK as u64;
    if capacity <= block {
        1
    } else if capacity <= block * block {
        2
    } else {
        3
    }
}

/// Scans `data` on the GPU and reads the result back (tests and benchmarks).
pub async fn exclusive_scan(gpu: &crate::GpuContext, pipes: &ScanPipelines, data: &[u32]) -> Result<Vec<u32>, super::GpuError> {
    let device = &gpu.device;
    let buffer = buffers::storage_init(device, "scan data", data);
    let mut counter_values = vec![0u32; jobs::SCAN_JOB_LEN as usize];
    jobs::plan_scan(&mut counter_values, 0, data.len() as u32);
    let counters = buffers::counters(device, counter_values.len());
    gpu.queue.write_buffer(&counters, 0, bytemuck::cast_slice(&counter_values));
    let scratch = ScanScratch::new(device, data.len() as u64);
    let mut rec = Recorder::new();
    rec.stage("scan");
    record_scan(&mut rec, pipes, &counters, 0, &buffer, &scratch);
    super::submit::submit(gpu, "scan", rec, &mut Uniforms::default(), |_| {});
    buffers::read_u32s(gpu, &buffer, data.len() as u64 * 4).await
}
