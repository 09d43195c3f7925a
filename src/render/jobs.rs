//! Layout of a render's `counters` buffer (kernel::jobs describes the jobs themselves): a status
//! word, then per chunk the jobs of its depth sort, count scan and intersection sort and its
//! intersection counts. Mirrors crates/kernel/shaders/shared/jobs.wgsl; the CPU writes the jobs
//! whose sizes it knows, the GPU (plan_intersections.wgsl) those it does not.

pub use crate::kernel::jobs::{SCAN_MAX_LEN, dispatch_2d, plan_scan, plan_sort};

pub const STATUS_MAX_ISECTS: u32 = 0;
pub const CHUNKS_BASE: u32 = 64;
pub const CHUNK_STRIDE: u32 = 128;

pub const DEPTH_SORT_JOB: u32 = 0;
pub const COUNT_SCAN_JOB: u32 = 32;
pub const ISECT_SORT_JOB: u32 = 48;

pub fn chunk_base(chunk: usize) -> u32 {
    CHUNKS_BASE + CHUNK_STRIDE * chunk as u32
}

pub fn counters_len(chunks: usize) -> usize {
    (CHUNKS_BASE + CHUNK_STRIDE * chunks as u32) as usize
}
