// Find where each tile's run starts and ends in the sorted intersection keys.
// Bindings:
//   0 params      uniform RenderParams (counters_base: this chunk)
//   1 counters    array<u32> read: [c + ISECT_COUNT] = number of intersections
//   2 isect_keys  array<u32> sorted tile keys
//   3 ranges      array<u32> [2 * tiles] out: start, end per tile (cleared to 0 before)
// One invocation: one intersection, which writes a start or an end where the key changes.

#import params
#import jobs

@group(0) @binding(0) var<uniform> p: RenderParams;
@group(0) @binding(1) var<storage, read> counters: array<u32>;
@group(0) @binding(2) var<storage, read> isect_keys: array<u32>;
@group(0) @binding(3) var<storage, read_write> ranges: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let n = counters[p.counters_base + ISECT_COUNT];
    let i = linear_workgroup(wg, nwg) * 256u + lid;
    if i >= n {
        return;
    }
    let key = isect_keys[i];
    if i == 0u || isect_keys[i - 1u] != key {
        ranges[2u * key] = i;
    }
    if i == n - 1u || isect_keys[i + 1u] != key {
        ranges[2u * key + 1u] = i + 1u;
    }
}
