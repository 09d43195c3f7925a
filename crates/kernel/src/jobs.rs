//! GPU-side jobs: sizes that a kernel reads from a `counters` buffer (array<u32>), so that a
//! pass sized by an earlier pass needs no CPU round trip. The CPU writes the jobs whose sizes it
//! knows (`plan_scan`, `plan_sort`); the GPU writes the others (render's plan_intersections.wgsl,
//! the same layout). Mirrored by crates/kernel/shaders/shared/jobs.wgsl.
//!
//! Such passes are dispatched for their buffers' capacity, not indirectly: their kernels return
//! past the job's sizes. Chromium charges about 0.2 ms for each indirect dispatch (it checks the
//! arguments on the GPU first), against 9 us for a direct one; with some 80 of them a step, the
//! page trained at 0.2x native speed (BENCHMARKS.md, "What the browser's WebGPU charges").
//!
//! A scan job at `s`: `[s..s+2]` = length of levels 0..2. A sort job at `b`: `[b]` = n,
//! `[b+1]` = blocks, and a scan job at `b + SORT_SCAN_OFFSET` over its `16 * blocks` histogram
//! entries. Words a job does not name are unused (they held dispatch arguments once).

pub const SORT_SCAN_OFFSET: u32 = 8;
/// Words a sort job takes.
pub const SORT_JOB_LEN: u32 = 32;
/// Words a scan job takes.
pub const SCAN_JOB_LEN: u32 = 16;
pub const SORT_BLOCK: u32 = 1024;
pub const SCAN_BLOCK: u32 = 512;
/// Three scan levels of 512-element blocks.
pub const SCAN_MAX_LEN: u64 = 512 * 512 * 512;
pub const DISPATCH_X_MAX: u32 = 32768;

/// Workgroups split over x and y (each dimension is limited to 65535); the kernels linearize.
pub fn dispatch_2d(groups: u32) -> [u32; 3] {
    let g = groups.max(1);
    let x = g.min(DISPATCH_X_MAX);
    [x, g.div_ceil(x), 1]
}

/// A dispatch for every u32 element `buffer` can hold, `per_group` elements a workgroup: how a
/// pass whose count the GPU decides is sized (its kernel returns past the count).
pub fn capacity_dispatch(buffer: &wgpu::Buffer, per_group: u32) -> [u32; 3] {
    dispatch_2d((buffer.size() / 4).div_ceil(per_group as u64).min(u32::MAX as u64) as u32)
}

/// Writes a scan job of length `len` at `s` into `counters` (CPU twin of the planning in WGSL).
pub fn plan_scan(counters: &mut [u32], s: usize, len: u32) {
    let mut level_len = len;
    for level in 0..3 {
        counters[s + level] = level_len;
        level_len = level_len.div_ceil(SCAN_BLOCK);
    }
}

/// Writes a sort job of `n` elements at `b` into `counters`.
pub fn plan_sort(counters: &mut [u32], b: usize, n: u32) {
    let blocks = n.div_ceil(SORT_BLOCK);
    counters[b] = n;
    counters[b + 1] = blocks;
    plan_scan(counters, b + SORT_SCAN_OFFSET as usize, 16 * blocks);
}
