// Layout of the `counters` buffer, which holds the GPU-side sizes of a render. Mirrored by
// render/jobs.rs; keep the two in step.
//   [0]                 largest intersection count any chunk of this render needed
//   per chunk at base c (CHUNK_STRIDE apart, from CHUNKS_BASE):
//   c + DEPTH_SORT_JOB  sort job of the depth keys (written by the CPU)
//   c + COUNT_SCAN_JOB  scan job of the per-splat tile counts (written by the CPU)
//   c + ISECT_SORT_JOB  sort job of the intersections (written by plan_intersections)
//   c + ISECT_TOTAL     intersections the chunk needs; c + ISECT_COUNT: those that fit
// A sort job at b: [b] = n, [b+1] = blocks of 1024, and a scan job at b + 8 over its 16 * blocks
// histogram entries. A scan job at s: [s..s+2] = length of levels 0..2 (blocks of 512).
// (Words a job does not name are unused: they held indirect dispatch arguments once.)

const DEPTH_SORT_JOB: u32 = 0u;
const COUNT_SCAN_JOB: u32 = 32u;
const ISECT_SORT_JOB: u32 = 48u;
const ISECT_TOTAL: u32 = 84u;
const ISECT_COUNT: u32 = 85u;
const SORT_SCAN_OFFSET: u32 = 8u;
const SORT_BLOCK: u32 = 1024u;
const SCAN_BLOCK: u32 = 512u;
