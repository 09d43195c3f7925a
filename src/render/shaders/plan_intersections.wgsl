// Reads the number of intersections off the prefix sum and writes the sizes of everything that
// runs over intersections (dispatched for the buffers' capacity, returning past these sizes), so
// the CPU never waits for a count.
// Bindings:
//   0 params         uniform RenderParams (counters_base: this chunk, isect_capacity)
//   1 counters       array<atomic<u32>> read-write (layout in shared/jobs.wgsl)
//   2 offsets        array<u32> [C*N] exclusive prefix sum of the depth-ordered tile counts
//   3 tile_counts    array<u32> [C*N] by cam_gid
//   4 depth_sorted   array<u32> [C*N] cam_gid by depth rank
// A single invocation does it all: total = offset + count of the last depth rank.

#import params
#import jobs

@group(0) @binding(0) var<uniform> p: RenderParams;
@group(0) @binding(1) var<storage, read_write> counters: array<atomic<u32>>;
@group(0) @binding(2) var<storage, read> offsets: array<u32>;
@group(0) @binding(3) var<storage, read> tile_counts: array<u32>;
@group(0) @binding(4) var<storage, read> depth_sorted: array<u32>;

@compute @workgroup_size(1)
fn main() {
    let c = p.counters_base;
    let len = p.num_splats * p.num_cameras;
    let last = len - 1u;
    let total = offsets[last] + tile_counts[depth_sorted[last]];
    atomicMax(&counters[0], total);
    let n = min(total, p.isect_capacity);
    atomicStore(&counters[c + ISECT_TOTAL], total);
    atomicStore(&counters[c + ISECT_COUNT], n);

    // The intersection sort job and the scan job of its histograms.
    let s = c + ISECT_SORT_JOB;
    let blocks = ceil_div(n, SORT_BLOCK);
    atomicStore(&counters[s], n);
    atomicStore(&counters[s + 1u], blocks);
    let scan = s + SORT_SCAN_OFFSET;
    var level_len = 16u * blocks;
    for (var level = 0u; level < 3u; level++) {
        atomicStore(&counters[scan + level], level_len);
        level_len = ceil_div(level_len, SCAN_BLOCK);
    }
}
