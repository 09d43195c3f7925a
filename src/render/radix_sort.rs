//! Stable LSD radix sort of (u32 key, u32 value) pairs on the GPU (shaders/radix_sort.wgsl),
//! 4 bits per pass, sizes read from a sort job in the counters buffer.

use super::buffers;
use super::jobs::{self, SORT_BLOCK, SORT_SCAN_OFFSET};
use super::pipelines::Pipelines;
use super::prefix_sum::{ScanScratch, record_scan};
use super::recorder::{Binding, DispatchParams, Recorder, Workgroups};

pub const BITS_PER_PASS: u32 = 4;

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
            keys: [buffers::storage(device, &format!("{label} keys"), bytes), buffers::storage(device, &format!("{label} keys tmp"), bytes)],
            values: [buffers::storage(device, &format!("{label} values"), bytes), buffers::storage(device, &format!("{label} values tmp"), bytes)],
            block_hist: buffers::storage(device, &format!("{label} histograms"), hist_len(capacity) * 4),
        }
    }
}

/// Histogram entries a sort of `n` elements needs.
pub fn hist_len(n: u64) -> u64 {
    16 * n.div_ceil(SORT_BLOCK as u64)
}

pub fn passes_for_bits(bits: u32) -> u32 {
    bits.div_ceil(BITS_PER_PASS).max(1)
}

/// Records a sort of `buffers.keys[0]`/`values[0]` by the low `bits` bits of the keys, for the
/// sort job at `job`. With `identity_values` the values start as the indices 0..n. Returns which
/// of the two buffer pairs holds the result.
pub fn record_sort(
    rec: &mut Recorder,
    pipes: &Pipelines,
    counters: &wgpu::Buffer,
    job: u32,
    bits: u32,
    bufs: &SortBuffers,
    scratch: &ScanScratch,
    identity_values: bool,
) -> usize {
    let passes = passes_for_bits(bits);
    // Histogram and scatter both run one workgroup per block; the sort job holds that count.
    let blocks_args = (job as u64 + 4) * 4;
    for pass in 0..passes {
        let (src, dst) = ((pass % 2) as usize, ((pass + 1) % 2) as usize);
        let params = DispatchParams {
            counters_base: job,
            shift: pass * BITS_PER_PASS,
            identity_values: (identity_values && pass == 0) as u32,
            ..Default::default()
        };
        rec.dispatch(
            "sort_histogram",
            &pipes.sort_histogram,
            params,
            vec![
                (0, Binding::Params),
                (1, Binding::Buffer(counters.clone())),
                (2, Binding::Buffer(bufs.keys[src].clone())),
                (4, Binding::Buffer(bufs.block_hist.clone())),
            ],
            Workgroups::Indirect(blocks_args),
        );
        record_scan(rec, pipes, counters, job + SORT_SCAN_OFFSET, &bufs.block_hist, scratch);
        rec.dispatch(
            "sort_scatter",
            &pipes.sort_scatter,
            params,
            vec![
                (0, Binding::Params),
                (1, Binding::Buffer(counters.clone())),
                (2, Binding::Buffer(bufs.keys[src].clone())),
                (3, Binding::Buffer(bufs.values[src].clone())),
                (4, Binding::Buffer(bufs.block_hist.clone())),
                (5, Binding::Buffer(bufs.keys[dst].clone())),
                (6, Binding::Buffer(bufs.values[dst].clone())),
            ],
            Workgroups::Indirect(blocks_args),
        );
    }
    (passes % 2) as usize
}

/// Sorts pairs on the GPU by the low `bits` bits of the keys and reads them back (tests and
/// benchmarks).
pub async fn sort_pairs(gpu: &crate::GpuContext, pipes: &Pipelines, keys: &[u32], values: &[u32], bits: u32) -> Result<(Vec<u32>, Vec<u32>), crate::gpu::GpuError> {
    let device = &gpu.device;
    let n = keys.len() as u64;
    let bufs = SortBuffers::new(device, "sort", n);
    gpu.queue.write_buffer(&bufs.keys[0], 0, bytemuck::cast_slice(keys));
    gpu.queue.write_buffer(&bufs.values[0], 0, bytemuck::cast_slice(values));
    let mut counter_values = vec![0u32; 32];
    jobs::plan_sort(&mut counter_values, 0, n as u32);
    let counters = buffers::counters(device, counter_values.len());
    gpu.queue.write_buffer(&counters, 0, bytemuck::cast_slice(&counter_values));
    let scratch = ScanScratch::new(device, hist_len(n));
    let mut rec = Recorder::default();
    let out = record_sort(&mut rec, pipes, &counters, 0, bits, &bufs, &scratch, false);
    let uniforms = buffers::uniform(device, "params", rec.uniform_bytes());
    let cameras = buffers::uniform(device, "cameras", super::recorder::CAMERAS_BYTES);
    let mut encoder = device.create_command_encoder(&Default::default());
    rec.encode(device, &gpu.queue, &mut encoder, &uniforms, &cameras, &counters, None);
    gpu.queue.submit([encoder.finish()]);
    let sorted_keys = buffers::read_u32s(gpu, &bufs.keys[out], n * 4).await?;
    let sorted_values = buffers::read_u32s(gpu, &bufs.values[out], n * 4).await?;
    Ok((sorted_keys, sorted_values))
}

/// CPU twin: a stable sort by the low `bits` bits.
pub fn sort_pairs_cpu(keys: &[u32], values: &[u32], bits: u32) -> (Vec<u32>, Vec<u32>) {
    let mask = if bits >= 32 { u32::MAX } else { (1u32 << bits) - 1 };
    let mut pairs: Vec<(u32, u32)> = keys.iter().copied().zip(values.iter().copied()).collect();
    pairs.sort_by_key(|(k, _)| k & mask);
    pairs.into_iter().unzip()
}
