// Exclusive prefix sum of u32, in place, in up to three levels of 512-element blocks.
// Bindings:
//   0 params      uniform ScanParams (counters_base: the scan job, level: which level)
//   1 counters    array<u32> read: counters[base + level] = length of this level's array
//   2 data        array<u32> this level's array, scanned in place
//   3 block_sums  array<u32> out (scan_blocks): one sum per block; in (add_block_sums): the
//                 scanned sums of the level above
// scan_blocks: one invocation scans two elements of a 512-element block and writes the block's
// total. add_block_sums: one invocation adds its block's offset to two elements.

#import dispatch

// Mirrors `ScanParams` in kernel/scan.rs.
struct ScanParams {
    // Index into `counters` of the scan job.
    counters_base: u32,
    // Which level (0 = the caller's array).
    level: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: ScanParams;
@group(0) @binding(1) var<storage, read> counters: array<u32>;
@group(0) @binding(2) var<storage, read_write> data: array<u32>;
@group(0) @binding(3) var<storage, read_write> block_sums: array<u32>;

const WG: u32 = 256u;
const BLOCK: u32 = 512u;

var<workgroup> partial: array<u32, 256>;

@compute @workgroup_size(256)
fn scan_blocks(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let len = counters[p.counters_base + p.level];
    let block = linear_workgroup(wg, nwg);
    let i0 = block * BLOCK + 2u * lid;
    var a = 0u;
    var b = 0u;
    if i0 < len {
        a = data[i0];
    }
    if i0 + 1u < len {
        b = data[i0 + 1u];
    }
    let own = a + b;
    partial[lid] = own;
    workgroupBarrier();
    // Hillis-Steele inclusive scan of the per-thread pair sums.
    for (var offset = 1u; offset < WG; offset <<= 1u) {
        var add = 0u;
        if lid >= offset {
            add = partial[lid - offset];
        }
        workgroupBarrier();
        partial[lid] += add;
        workgroupBarrier();
    }
    let inclusive = partial[lid];
    let exclusive = inclusive - own;
    if i0 < len {
        data[i0] = exclusive;
    }
    if i0 + 1u < len {
        data[i0 + 1u] = exclusive + a;
    }
    if lid == WG - 1u && block < ceil_div(len, BLOCK) {
        block_sums[block] = inclusive;
    }
}

@compute @workgroup_size(256)
fn add_block_sums(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let len = counters[p.counters_base + p.level];
    let block = linear_workgroup(wg, nwg);
    if block * BLOCK >= len {
        return;
    }
    let offset = block_sums[block];
    let i0 = block * BLOCK + 2u * lid;
    if i0 < len {
        data[i0] += offset;
    }
    if i0 + 1u < len {
        data[i0 + 1u] += offset;
    }
}
