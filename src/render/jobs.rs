//! Layout of the `counters` buffer: the GPU-side sizes and indirect dispatch arguments of a render.
//! Mirrors shaders/shared/jobs.wgsl; the CPU writes the jobs whose sizes it knows, the GPU
//! (plan_intersections.wgsl) those it does not.

pub const STATUS_MAX_ISECTS: u32 = 0;
pub const CHUNKS_BASE: u32 = 64;
pub const CHUNK_STRIDE: u32 = 128;

pub const DEPTH_SORT_JOB: u32 = 0;
pub const COUNT_SCAN_JOB: u32 = 32;
pub const ISECT_SORT_JOB: u32 = 48;
pub const ISECT_DISPATCH: u32 = 80;
pub const SORT_SCAN_OFFSET: u32 = 8;
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

/// Writes a scan job of length `len` at `s` into `counters` (CPU twin of the planning in WGSL).
pub fn plan_scan(counters: &mut [u32], s: usize, len: u32) {
    let mut level_len = len;
    for level in 0..3 {
        counters[s + level] = level_len;
        counters[s + 4 + 4 * level..s + 7 + 4 * level].copy_from_slice(&dispatch_2d(level_len.div_ceil(SCAN_BLOCK)));
        level_len = level_len.div_ceil(SCAN_BLOCK);
    }
}

/// Writes a sort job of `n` elements at `b` into `counters`.
pub fn plan_sort(counters: &mut [u32], b: usize, n: u32) {
    let blocks = n.div_ceil(SORT_BLOCK);
    counters[b] = n;
    counters[b + 1] = blocks;
    counters[b + 4..b + 7].copy_from_slice(&dispatch_2d(blocks));
    plan_scan(counters, b + SORT_SCAN_OFFSET as usize, 16 * blocks);
}

pub fn chunk_base(chunk: usize) -> u32 {
    CHUNKS_BASE + CHUNK_STRIDE * chunk as u32
}

pub fn counters_len(chunks: usize) -> usize {
    (CHUNKS_BASE + CHUNK_STRIDE * chunks as u32) as usize
}
