// Gather the tile counts into depth order, so that their prefix sum hands out intersection slots
// front to back.
// Bindings:
//   0 params          uniform RenderParams (num_splats, num_cameras)
//   1 depth_sorted    array<u32> [C*N] cam_gid in depth order
//   2 tile_counts     array<u32> [C*N] by cam_gid
//   3 counts_sorted   array<u32> [C*N] out, by depth rank
// One invocation: one depth rank.

#import params

@group(0) @binding(0) var<uniform> p: RenderParams;
@group(0) @binding(1) var<storage, read> depth_sorted: array<u32>;
@group(0) @binding(2) var<storage, read> tile_counts: array<u32>;
@group(0) @binding(3) var<storage, read_write> counts_sorted: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let rank = linear_workgroup(wg, nwg) * 256u + lid;
    if rank >= p.num_splats * p.num_cameras {
        return;
    }
    counts_sorted[rank] = tile_counts[depth_sorted[rank]];
}
