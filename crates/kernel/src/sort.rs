//! Stable LSD radix sort of (u32 key, u32 value) pairs on the GPU (crates/kernel/shaders/radix_sort.wgsl) by
//! the low `bits` bits of the keys, 4 bits per pass; the element count comes from a sort job in
//! a counters buffer (`jobs::plan_sort`), so the GPU may decide it. Dispatches are sized for the
//! buffers' capacity and the blocks past the count return at once (see `kernel::jobs` for why
//! not indirect dispatches).

use bytemuck::{Pod, Zeroable};

use super::jobs::{self, SORT_BLOCK, SORT_SCAN_OFFSET};
use super::recorder::{Binding, Recorder, Uniforms, Workgroups};
use super::scan::{ScanPipelines, ScanScratch, record_scan};
use super::{buffers, shader};

pub const BITS_PER_PASS: u32 = 4;

/// Mirrors `SortParams` in radix_sort.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, Default)]
pub struct SortParams {
    pub counters_base: u32,
    pub shift: u32,
    pub identity_values: u32,
    pub _pad: u32,
}

pub struct SortPipelines {
    histogram: wgpu::ComputePipeline,
    scatter: wgpu::ComputePipeline,
    pub scan: ScanPipelines,
}

impl SortPipelines {
    pub fn new(device: &wgpu::Device) -> Self {
        Self {
            histogram: shader::compute_pipeline(device, crate::shaders::RADIX_SORT, &[], "histogram"),
            scatter: shader::compute_pipeline(device, crate::shaders::RADIX_SORT, &[], "scatter"),
            scan: ScanPipelines::new(device),
        }
    }
}

/// Ping-pong key and value buffers plus the per-block histograms.
pub struct SortBuffers {
    pub keys: [wgpu::Buffer; 2],
    pub values: [wgpu::Buffer; 2],
    pub block_hist: wgpu::Buffer,
}

impl SortBuffers {
    pub fn new(device: &wgpu::Device, label: &str, capacity: u64) -> Self {
        let bytes = capacity * 4;
        Self {
            keys: [
                buffers::storage(device, &format!("{label} keys"), bytes),
                buffers::storage(device, &format!("{label} keys tmp"), bytes),
            ],
            values: [
                buffers::storage(device, &format!("{label} values"), bytes),
                buffers::storage(device, &format!("{label} values tmp"), bytes),
            ],
            block_hist: buffers::storage(device, &format!("{label} histograms"), hist_len(capacity) * 4),
        }
    }

    pub fn memory_bytes(&self) -> u64 {
        self.keys.iter().chain(&self.values).map(|b| b.size()).sum::<u64>() + self.block_hist.size()
    }
}

/// Histogram entries a sort of `n` elements needs.
pub fn hist_len(n: u64) -> u64 {
    16 * n.div_ceil(SORT_BLOCK as u64)
}

pub fn passes_for_bits(bits: u32) -> u32 {
    bits.div_ceil(BITS_PER_PASS).max(1)
}

/// Records a sort of `bufs.keys[0]`/`values[0]` by the low `bits` bits of the keys, for the
/// sort job at word `job` of `counters`. With `identity_values` the values start as the indices
/// 0..n. Returns which of the two buffer pairs holds the result.
#[allow(clippy::too_many_arguments)]
pub fn record_sort(
    rec: &mut Recorder,
    pipes: &SortPipelines,
    counters: &wgpu::Buffer,
    job: u32,
    bits: u32,
    bufs: &SortBuffers,
    scratch: &ScanScratch,
    identity_values: bool,
) -> usize {
    let passes = passes_for_bits(bits);
    // Histogram and scatter both run one workgroup per block of the buffers' capacity; the
    // sort job holds how many blocks there are now.
    let blocks = || Workgroups::Direct(jobs::capacity_dispatch(&bufs.keys[0], SORT_BLOCK));
    for pass in 0..passes {
        let (src, dst) = ((pass % 2) as usize, ((pass + 1) % 2) as usize);
        let params =
            SortParams { counters_base: job, shift: pass * BITS_PER_PASS, identity_values: (identity_values && pass == 0) as u32, _pad: 0 };
        rec.dispatch(
            "sort_histogram",
            &pipes.histogram,
            &params,
            vec![(0, Binding::Params), (1, Binding::of(counters)), (2, Binding::of(&bufs.keys[src])), (4, Binding::of(&bufs.block_hist))],
            blocks(),
        );
        record_scan(rec, &pipes.scan, counters, job + SORT_SCAN_OFFSET, &bufs.block_hist, scratch);
        rec.dispatch(
            "sort_scatter",
            &pipes.scatter,
            &params,
            vec![
                (0, Binding::Params),
                (1, Binding::of(counters)),
                (2, Binding::of(&bufs.keys[src])),
                (3, Binding::of(&bufs.values[src])),
                (4, Binding::of(&bufs.block_hist)),
                (5, Binding::of(&bufs.keys[dst])),
                (6, Binding::of(&bufs.values[dst])),
            ],
            blocks(),
        );
    }
    (passes % 2) as usize
}

/// Sorts pairs on the GPU by the low `bits` bits of the keys and reads them back (tests and
/// benchmarks).
pub async fn sort_pairs(
    gpu: &crate::GpuContext,
    pipes: &SortPipelines,
    keys: &[u32],
    values: &[u32],
    bits: u32,
) -> Result<(Vec<u32>, Vec<u32>), super::GpuError> {
    let device = &gpu.device;
    let n = keys.len() as u64;
    let bufs = SortBuffers::new(device, "sort", n);
    gpu.queue.write_buffer(&bufs.keys[0], 0, bytemuck::cast_slice(keys));
    gpu.queue.write_buffer(&bufs.values[0], 0, bytemuck::cast_slice(values));
    let mut counter_values = vec![0u32; jobs::SORT_JOB_LEN as usize];
    jobs::plan_sort(&mut counter_values, 0, n as u32);
    let counters = buffers::counters(device, counter_values.len());
    gpu.queue.write_buffer(&counters, 0, bytemuck::cast_slice(&counter_values));
    let scratch = ScanScratch::new(device, hist_len(n));
    let mut rec = Recorder::new();
    rec.stage("sort");
    let out = record_sort(&mut rec, pipes, &counters, 0, bits, &bufs, &scratch, false);
    super::submit::submit(gpu, "sort", rec, &mut Uniforms::default(), |_| {});
    let sorted_keys = buffers::read_u32s(gpu, &bufs.keys[out], n * 4).await?;
    let sorted_values = buffers::read_u32s(gpu, &bufs.values[out], n * 4).await?;
    Ok((sorted_keys, sorted_values))
}
