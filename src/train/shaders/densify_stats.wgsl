// Statistics for adaptive density control, gathered after each backward pass: one invocation
// per splat, over the cameras of the step.
// Bindings:
//   0 params       uniform RenderParams (num_splats, num_cameras, batch_cameras)
//   1 cameras      uniform array<CameraGpu>
//   2 grads2d      array<f32> [C*N*12] from rasterize_backward.wgsl (mean2d gradient first)
//   3 tile_counts  array<u32> [C*N] 0 where the splat was culled
//   4 projected    array<vec4<f32>> [C*N*3] (radius.x in [1].w, radius.y in [2].w)
//   5 stats        array<f32> [N*4] added to: sum of |mean2d gradient| in NDC units, times
//                  seen, largest radius in pixels (max), unused
// As 3DGS: the gradient of the pixel-space mean is scaled by (width/2, height/2) to NDC units,
// and (as gsplat) by the cameras of the step (of the whole batch, however it was chunked), since
// the loss is their mean.

#import params

@group(0) @binding(0) var<uniform> p: RenderParams;
@group(0) @binding(1) var<uniform> cameras: array<CameraGpu, 256>;
@group(0) @binding(2) var<storage, read> grads2d: array<f32>;
@group(0) @binding(3) var<storage, read> tile_counts: array<u32>;
@group(0) @binding(4) var<storage, read> projected: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> stats: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let gid = linear_workgroup(wg, nwg) * 256u + lid;
    if gid >= p.num_splats {
        return;
    }
    var grad_sum = 0.0;
    var seen = 0.0;
    var radius = stats[4u * gid + 2u];
    for (var c = 0u; c < p.num_cameras; c++) {
        let cam_gid = c * p.num_splats + gid;
        if tile_counts[cam_gid] == 0u {
            continue;
        }
        let cam = cameras[c];
        let scale = 0.5 * f32(p.batch_cameras) * vec2<f32>(f32(cam.width), f32(cam.height));
        let g = vec2<f32>(grads2d[12u * cam_gid], grads2d[12u * cam_gid + 1u]) * scale;
        grad_sum += length(g);
        seen += 1.0;
        radius = max(radius, max(projected[3u * cam_gid + 1u].w, projected[3u * cam_gid + 2u].w));
    }
    stats[4u * gid] += grad_sum;
    stats[4u * gid + 1u] += seen;
    stats[4u * gid + 2u] = radius;
}
