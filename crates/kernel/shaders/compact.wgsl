// Stream compaction: the indices of the elements to keep, in their order, and how many there are
// (the kept splats of a prune, the candidates of a split). Between `mark` and `scatter` the
// caller scans `offsets` (prefix_sum.wgsl, exclusive).
// Bindings:
//   0 params               uniform CompactParams (len: number of elements)
//   1 keep                 array<u32> read: element i is kept when keep[i] != 0
//   2 offsets              array<u32> mark: out, 1 where kept, else 0; scatter: in, their
//                          exclusive prefix sum (the compact index of each kept element)
//   3 global_from_compact  array<u32> scatter: out, [compact index] = element index
//   4 count                array<u32> scatter: out, [0] = number of kept elements
// One invocation: one element (mark: its flag; scatter: its move; the last also the count).

#import dispatch

// Mirrors `CompactParams` in kernel/compact.rs.
struct CompactParams {
    len: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: CompactParams;
@group(0) @binding(1) var<storage, read> keep: array<u32>;
@group(0) @binding(2) var<storage, read_write> offsets: array<u32>;
@group(0) @binding(3) var<storage, read_write> global_from_compact: array<u32>;
@group(0) @binding(4) var<storage, read_write> count: array<u32>;

@compute @workgroup_size(256)
fn mark(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = linear_workgroup(wg, nwg) * 256u + lid;
    if i >= p.len {
        return;
    }
    offsets[i] = select(0u, 1u, keep[i] != 0u);
}

@compute @workgroup_size(256)
fn scatter(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = linear_workgroup(wg, nwg) * 256u + lid;
    if i >= p.len {
        return;
    }
    let kept = keep[i] != 0u;
    if kept {
        global_from_compact[offsets[i]] = i;
    }
    if i == p.len - 1u {
        count[0] = offsets[i] + select(0u, 1u, kept);
    }
}
