//! Stream compaction on the GPU (crates/kernel/shaders/compact.wgsl): from per-element keep flags, the indices
//! of the kept elements in order (`global_from_compact`) and their count, by a mark pass, an
//! exclusive scan and a scatter. Nothing is read back: the count stays on the GPU for the passes
//! that follow (density control reads it a few steps late).

use bytemuck::{Pod, Zeroable};

use super::jobs::{self, dispatch_2d};
use super::recorder::{Binding, Recorder, Uniforms, Workgroups};
use super::scan::{ScanPipelines, ScanScratch, record_scan};
use super::{buffers, shader};

/// Mirrors `CompactParams` in compact.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, Default)]
pub struct CompactParams {
    pub len: u32,
    pub _pad: [u32; 3],
}

pub struct CompactPipelines {
    mark: wgpu::ComputePipeline,
    scatter: wgpu::ComputePipeline,
    pub scan: ScanPipelines,
}

impl CompactPipelines {
    pub fn new(device: &wgpu::Device) -> Self {
        Self {
            mark: shader::compute_pipeline(device, crate::shaders::COMPACT, &[], "mark"),
            scatter: shader::compute_pipeline(device, crate::shaders::COMPACT, &[], "scatter"),
            scan: ScanPipelines::new(device),
        }
    }
}

/// The buffers of a compaction of up to `capacity` elements.
pub struct CompactBuffers {
    pub capacity: u64,
    /// Per element: its index among the kept ones (after the scan).
    pub offsets: wgpu::Buffer,
    /// Per kept element, in order: its index in the input.
    pub global_from_compact: wgpu::Buffer,
    /// [0]: how many were kept.
    pub count: wgpu::Buffer,
    /// The scan's own job (CPU-planned: the length is known when recording).
    counters: wgpu::Buffer,
    scratch: ScanScratch,
}

impl CompactBuffers {
    pub fn new(device: &wgpu::Device, capacity: u64) -> Self {
        Self {
            capacity,
            offsets: buffers::storage(device, "compact offsets", capacity * 4),
            global_from_compact: buffers::storage(device, "global_from_compact", capacity * 4),
            count: buffers::storage(device, "compact count", 4),
            counters: buffers::counters(device, jobs::SCAN_JOB_LEN as usize),
            scratch: ScanScratch::new(device, capacity),
        }
    }

    pub fn memory_bytes(&self) -> u64 {
        self.offsets.size() + self.global_from_compact.size() + self.count.size() + self.counters.size() + self.scratch.memory_bytes()
    }
}

/// Records the compaction of the first `len` flags of `keep` (at most `bufs.capacity`). The
/// scan's length is written into `bufs` now, so one submission holds at most one compaction
/// per `CompactBuffers`.
pub fn record_compact(
    gpu: &crate::GpuContext,
    rec: &mut Recorder,
    pipes: &CompactPipelines,
    keep: &wgpu::Buffer,
    len: u32,
    bufs: &CompactBuffers,
) {
    assert!(
        len as u64 <= bufs.capacity && len as u64 <= jobs::SCAN_MAX_LEN,
        "compaction of {len} elements past its capacity {}",
        bufs.capacity
    );
    let mut job = vec![0u32; jobs::SCAN_JOB_LEN as usize];
    jobs::plan_scan(&mut job, 0, len);
    gpu.queue.write_buffer(&bufs.counters, 0, bytemuck::cast_slice(&job));
    let params = CompactParams { len, _pad: [0; 3] };
    let per_element = || Workgroups::Direct(dispatch_2d(len.div_ceil(256)));
    rec.dispatch(
        "compact_mark",
        &pipes.mark,
        &params,
        vec![(0, Binding::Params), (1, Binding::of(keep)), (2, Binding::of(&bufs.offsets))],
        per_element(),
    );
    record_scan(rec, &pipes.scan, &bufs.counters, 0, &bufs.offsets, &bufs.scratch);
    if len == 0 {
        rec.clear(&bufs.count);
        return;
    }
    rec.dispatch(
        "compact_scatter",
        &pipes.scatter,
        &params,
        vec![
            (0, Binding::Params),
            (1, Binding::of(keep)),
            (2, Binding::of(&bufs.offsets)),
            (3, Binding::of(&bufs.global_from_compact)),
            (4, Binding::of(&bufs.count)),
        ],
        per_element(),
    );
}

/// Compacts on the GPU and reads the kept indices back (tests and benchmarks).
pub async fn compact(gpu: &crate::GpuContext, pipes: &CompactPipelines, keep: &[u32]) -> Result<Vec<u32>, super::GpuError> {
    let device = &gpu.device;
    let flags = buffers::storage_init(device, "keep flags", keep);
    let bufs = CompactBuffers::new(device, keep.len() as u64);
    let mut rec = Recorder::new();
    rec.stage("compact");
    record_compact(gpu, &mut rec, pipes, &flags, keep.len() as u32, &bufs);
    super::submit::submit(gpu, "compact", rec, &mut Uniforms::default(), |_| {});
    let count = buffers::read_u32s(gpu, &bufs.count, 4).await?[0] as u64;
    if count == 0 {
        return Ok(Vec::new());
    }
    buffers::read_u32s(gpu, &bufs.global_from_compact, count * 4).await
}
