// One pass of a stable least-significant-digit radix sort of (u32 key, u32 value) pairs over a
// 4-bit digit. A pass is: histogram, an exclusive prefix sum of the histograms (prefix_sum.wgsl),
// scatter. Blocks of 1024 elements, 128 invocations of 8 elements each.
// Bindings:
//   0 params      uniform SortParams (counters_base: the sort job, shift, identity_values)
//   1 counters    array<u32> read: [base] = element count, [base + 1] = number of blocks
//   2 keys_in     array<u32>
//   3 values_in   array<u32> (unused when identity_values = 1: the value is the index)
//   4 block_hist  array<u32> [16 * blocks], digit-major: count of digit d in block b at d*blocks+b;
//                 after the prefix sum, where those elements go
//   5 keys_out    array<u32>
//   6 values_out  array<u32>
// Both entry points run one workgroup per block of the buffers' capacity; blocks past the sort
// job's block count return at once.
// histogram: one invocation counts the digits of 8 strided elements of its block.
// scatter: one invocation moves 8 consecutive elements to their stable place.

#import dispatch

// Mirrors `SortParams` in kernel/sort.rs.
struct SortParams {
    // Index into `counters` of the sort job.
    counters_base: u32,
    // Lowest bit of this pass's digit.
    shift: u32,
    // 1 when the values are the element indices (the first pass of a sort by index).
    identity_values: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: SortParams;
@group(0) @binding(1) var<storage, read> counters: array<u32>;
@group(0) @binding(2) var<storage, read> keys_in: array<u32>;
@group(0) @binding(3) var<storage, read> values_in: array<u32>;
@group(0) @binding(4) var<storage, read_write> block_hist: array<u32>;
@group(0) @binding(5) var<storage, read_write> keys_out: array<u32>;
@group(0) @binding(6) var<storage, read_write> values_out: array<u32>;

const WG: u32 = 128u;
const ITEMS: u32 = 8u;
const BLOCK: u32 = 1024u;
const BINS: u32 = 16u;

var<workgroup> digit_counts: array<atomic<u32>, 16>;
// The block count, read by one invocation and made uniform for the workgroup, so that blocks
// past it (the dispatch covers the buffers' capacity) return before any barrier.
var<workgroup> blocks_now: u32;
// Per-thread digit counts, digit-major: [digit * WG + thread].
var<workgroup> thread_counts: array<u32, 2048>;

fn uniform_block_count(lid: u32) -> u32 {
    if lid == 0u {
        blocks_now = counters[p.counters_base + 1u];
    }
    return workgroupUniformLoad(&blocks_now);
}

fn digit_of(key: u32) -> u32 {
    return (key >> p.shift) & (BINS - 1u);
}

@compute @workgroup_size(128)
fn histogram(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let block = linear_workgroup(wg, nwg);
    let num_blocks = uniform_block_count(lid);
    if block >= num_blocks {
        return;
    }
    let n = counters[p.counters_base];
    if lid < BINS {
        atomicStore(&digit_counts[lid], 0u);
    }
    workgroupBarrier();
    for (var k = 0u; k < ITEMS; k++) {
        let i = block * BLOCK + k * WG + lid;
        if i < n {
            atomicAdd(&digit_counts[digit_of(keys_in[i])], 1u);
        }
    }
    workgroupBarrier();
    if lid < BINS {
        block_hist[lid * num_blocks + block] = atomicLoad(&digit_counts[lid]);
    }
}

@compute @workgroup_size(128)
fn scatter(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let block = linear_workgroup(wg, nwg);
    let num_blocks = uniform_block_count(lid);
    if block >= num_blocks {
        return;
    }
    let n = counters[p.counters_base];
    let first = block * BLOCK + lid * ITEMS;

    var keys: array<u32, 8>;
    var own: array<u32, 16>;
    for (var d = 0u; d < BINS; d++) {
        own[d] = 0u;
    }
    for (var k = 0u; k < ITEMS; k++) {
        let i = first + k;
        if i < n {
            keys[k] = keys_in[i];
            own[digit_of(keys[k])] += 1u;
        }
    }
    for (var d = 0u; d < BINS; d++) {
        thread_counts[d * WG + lid] = own[d];
    }
    workgroupBarrier();
    // Inclusive scan over threads, every digit at once.
    for (var offset = 1u; offset < WG; offset <<= 1u) {
        var add: array<u32, 16>;
        for (var d = 0u; d < BINS; d++) {
            add[d] = 0u;
            if lid >= offset {
                add[d] = thread_counts[d * WG + lid - offset];
            }
        }
        workgroupBarrier();
        for (var d = 0u; d < BINS; d++) {
            thread_counts[d * WG + lid] += add[d];
        }
        workgroupBarrier();
    }
    var dest: array<u32, 16>;
    for (var d = 0u; d < BINS; d++) {
        dest[d] = block_hist[d * num_blocks + block] + thread_counts[d * WG + lid] - own[d];
    }
    for (var k = 0u; k < ITEMS; k++) {
        let i = first + k;
        if i < n {
            let d = digit_of(keys[k]);
            let to = dest[d];
            dest[d] = to + 1u;
            keys_out[to] = keys[k];
            if p.identity_values == 1u {
                values_out[to] = i;
            } else {
                values_out[to] = values_in[i];
            }
        }
    }
}
