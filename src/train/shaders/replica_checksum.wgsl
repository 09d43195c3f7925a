// A checksum of a buffer's first `count` words that depends only on their bits and positions,
// not on the order invocations run in (wrapping sums of mixed words): replicas of data-parallel
// training compare theirs to prove they hold the same parameters. One invocation per word; each
// workgroup adds its sums into the two words of its slot.
// Bindings:
//   0 params  uniform ChecksumParams
//   1 words   array<u32> [count] the buffer checked
//   2 sums    array<atomic<u32>> [2 * slots] added to: two differently mixed sums at 2 * slot

#import dispatch
#import hash

struct ChecksumParams {
    count: u32,
    slot: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: ChecksumParams;
@group(0) @binding(1) var<storage, read> words: array<u32>;
@group(0) @binding(2) var<storage, read_write> sums: array<atomic<u32>>;

var<workgroup> partial: array<vec2<u32>, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = linear_workgroup(wg, nwg) * 256u + lid;
    var h = vec2<u32>(0u, 0u);
    if i < p.count {
        let w = words[i];
        h = vec2<u32>(pcg_hash(w ^ pcg_hash(i)), pcg_hash(w + 0x9e3779b9u * (i + 1u)));
    }
    partial[lid] = h;
    workgroupBarrier();
    for (var stride = 128u; stride > 0u; stride >>= 1u) {
        if lid < stride {
            partial[lid] += partial[lid + stride];
        }
        workgroupBarrier();
    }
    if lid == 0u {
        atomicAdd(&sums[2u * p.slot], partial[0].x);
        atomicAdd(&sums[2u * p.slot + 1u], partial[0].y);
    }
}
