// Emit one (tile key, cam_gid) intersection for every tile a splat touches, in depth order: the
// slots come from the prefix sum over depth-sorted counts, so a stable sort by tile keeps depth
// order within each tile.
// Bindings:
//   0 params        uniform RenderParams (num_splats, num_cameras, isect_capacity)
//   1 cameras       uniform array<CameraGpu>
//   2 depth_sorted  array<u32> [C*N] cam_gid by depth rank
//   3 offsets       array<u32> [C*N] first intersection slot by depth rank
//   4 tile_counts   array<u32> [C*N] by cam_gid
//   5 projected     array<vec4<f32>> [C*N*3] by cam_gid
//   6 isect_keys    array<u32> out: global tile index (camera's tile_offset + tile)
//   7 isect_values  array<u32> out: cam_gid
// One invocation: one depth rank, its touched tiles (`tile_touched`) row by row; slots past the
// capacity are dropped (the render reports it).

#import params
#import tiles

@group(0) @binding(0) var<uniform> p: RenderParams;
@group(0) @binding(1) var<uniform> cameras: array<CameraGpu, 256>;
@group(0) @binding(2) var<storage, read> depth_sorted: array<u32>;
@group(0) @binding(3) var<storage, read> offsets: array<u32>;
@group(0) @binding(4) var<storage, read> tile_counts: array<u32>;
@group(0) @binding(5) var<storage, read> projected: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> isect_keys: array<u32>;
@group(0) @binding(7) var<storage, read_write> isect_values: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let rank = linear_workgroup(wg, nwg) * 256u + lid;
    if rank >= p.num_splats * p.num_cameras {
        return;
    }
    let cam_gid = depth_sorted[rank];
    if tile_counts[cam_gid] == 0u {
        return;
    }
    let cam = cameras[cam_gid / p.num_splats];
    let p0 = projected[3u * cam_gid];
    let p1 = projected[3u * cam_gid + 1u];
    let p2 = projected[3u * cam_gid + 2u];
    let rect = tile_rect(p0.xy, vec2<f32>(p1.w, p2.w), vec2<u32>(cam.tiles_x, cam.tiles_y));
    let conic = vec3<f32>(p0.zw, p1.x);
    let extend = opacity_extent(p1.y);
    let threshold = 0.5 * extend * extend;
    // Exactly tile_counts slots are filled, whatever rounding the two shaders' tile tests differ
    // by: a tile the test rejects is still taken while the remaining tiles are no more than the
    // remaining slots (an extra tile only costs time: its pixels skip the splat), and a tile it
    // accepts past the count is dropped.
    var slot = offsets[rank];
    let end = slot + tile_counts[cam_gid];
    var tiles_left = tile_rect_count(rect);
    for (var ty = rect.min.y; ty < rect.max.y; ty++) {
        for (var tx = rect.min.x; tx < rect.max.x; tx++) {
            let take = slot < end && (end - slot >= tiles_left || tile_touched(p0.xy, conic, threshold, vec2<u32>(tx, ty)));
            if take {
                if slot < p.isect_capacity {
                    isect_keys[slot] = cam.tile_offset + ty * cam.tiles_x + tx;
                    isect_values[slot] = cam_gid;
                }
                slot++;
            }
            tiles_left--;
        }
    }
}
