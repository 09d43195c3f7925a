// Project and cull: one invocation per (camera, splat) pair, index `cam_gid = camera * N + gid`.
// Bindings:
//   0 params       uniform RenderParams
//   1 cameras      uniform array<CameraGpu>
//   2 means        array<f32>  [N*3]
//   3 quats        array<f32>  [N*4] w,x,y,z (normalized here)
//   4 log_scales   array<f32>  [N*3]
//   5 opacities    array<f32>  [N]   logits
//   6 sh           array<f32>  [N*K*3]
//   7 projected    array<vec4<f32>> [C*N*3] out: (mean.xy, conic.xy), (conic.z, opacity, depth, radius.x), (rgb, radius.y)
//   8 tile_counts  array<u32>  [C*N] out: tiles touched, 0 = culled
//   9 depth_keys   array<u32>  [C*N] out: camera-space depth as sortable bits (its float's top 28),
//                  culled = 0xffffffff
// One invocation: transforms the splat into the camera, builds its 2D covariance (EWA, with the
// 0.3 px low-pass), culls it against near/far and the image, and evaluates its SH colour.

#import params
#import tiles
#import quat
#import perspective

@group(0) @binding(0) var<uniform> p: RenderParams;
@group(0) @binding(1) var<uniform> cameras: array<CameraGpu, 256>;
@group(0) @binding(2) var<storage, read> means: array<f32>;
@group(0) @binding(3) var<storage, read> quats: array<f32>;
@group(0) @binding(4) var<storage, read> log_scales: array<f32>;
@group(0) @binding(5) var<storage, read> opacities: array<f32>;
@group(0) @binding(6) var<storage, read> sh: array<f32>;
@group(0) @binding(7) var<storage, read_write> projected: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> tile_counts: array<u32>;
@group(0) @binding(9) var<storage, read_write> depth_keys: array<u32>;

#import sh

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let cam_gid = linear_workgroup(wg, nwg) * 256u + lid;
    if cam_gid >= p.num_splats * p.num_cameras {
        return;
    }
    tile_counts[cam_gid] = 0u;
    depth_keys[cam_gid] = 0xffffffffu;
    let cam_idx = cam_gid / p.num_splats;
    let gid = cam_gid - cam_idx * p.num_splats;
    let cam = cameras[cam_idx];

    let mean = vec3<f32>(means[3u * gid], means[3u * gid + 1u], means[3u * gid + 2u]);
    let view_rot = transpose(mat3x3<f32>(cam.row0.xyz, cam.row1.xyz, cam.row2.xyz));
    let view_t = vec3<f32>(cam.row0.w, cam.row1.w, cam.row2.w);
    let mean_c = view_rot * mean + view_t;
    if mean_c.z < p.near || mean_c.z > p.far {
        return;
    }

    // 3D covariance R S S^T R^T, then into camera space.
    let q = vec4<f32>(quats[4u * gid], quats[4u * gid + 1u], quats[4u * gid + 2u], quats[4u * gid + 3u]);
    let s = exp(vec3<f32>(log_scales[3u * gid], log_scales[3u * gid + 1u], log_scales[3u * gid + 2u]));
    let rs = quat_to_mat(q) * mat3x3<f32>(vec3<f32>(s.x, 0.0, 0.0), vec3<f32>(0.0, s.y, 0.0), vec3<f32>(0.0, 0.0, s.z));
    let cov_w = rs * transpose(rs);
    let cov_c = view_rot * cov_w * transpose(view_rot);

    let fx = cam.intrinsics.x;
    let fy = cam.intrinsics.y;
    let w = f32(cam.width);
    let h = f32(cam.height);
    let pj = perspective(cam, mean_c);
    let rz = pj.rz;
    let cov2 = covariance_2d(pj, cov_c, p.eps2d);
    let a = cov2[0][0];
    let b = cov2[0][1];
    let c = cov2[1][1];
    let det = a * c - b * b;
    if !(det > 0.0) {
        return;
    }
    let conic = vec3<f32>(c / det, -b / det, a / det);

    let opacity = 1.0 / (1.0 + exp(-opacities[gid]));
    if !(opacity >= ALPHA_THRESHOLD) {
        return;
    }
    // Opacity-aware extent: beyond it alpha < 1/255 and the splat cannot change a pixel.
    let extend = opacity_extent(opacity);
    let radius = ceil(extend * sqrt(vec2<f32>(a, c)));
    if radius.x <= 0.0 && radius.y <= 0.0 {
        return;
    }
    let mean2d = vec2<f32>(fx * mean_c.x * rz + cam.intrinsics.z, fy * mean_c.y * rz + cam.intrinsics.w);
    if mean2d.x + radius.x <= 0.0 || mean2d.x - radius.x >= w || mean2d.y + radius.y <= 0.0 || mean2d.y - radius.y >= h {
        return;
    }
    let rect = tile_rect(mean2d, radius, vec2<u32>(cam.tiles_x, cam.tiles_y));
    let count = touched_tile_count(rect, mean2d, conic, 0.5 * extend * extend);
    if count == 0u {
        return;
    }

    let dir = normalize(mean - cam.center.xyz);
    let color = sh_to_color(gid * p.num_coeffs * 3u, p.sh_degree, dir);

    projected[3u * cam_gid] = vec4<f32>(mean2d, conic.xy);
    projected[3u * cam_gid + 1u] = vec4<f32>(conic.z, opacity, mean_c.z, radius.x);
    projected[3u * cam_gid + 2u] = vec4<f32>(color, radius.y);
    tile_counts[cam_gid] = count;
    // A positive float's bits sort as its value. Its top 28 (sign, exponent, 19 bits of
    // mantissa) sort in 7 radix passes instead of 8; splats whose depths differ by less than
    // 2^-19 of them (16 to 32 ulps of the f32) may share a key, and then keep their index order.
    // Mirrors DEPTH_KEY_BITS and depth_sort_key in render/cpu/project.rs.
    depth_keys[cam_gid] = bitcast<u32>(mean_c.z) >> 4u;
}
