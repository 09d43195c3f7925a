// Backward of project.wgsl: one invocation per splat, summing over the cameras of the chunk the
// gradients its projections received (grads2d) and carrying them to its parameters: mean
// (through the 2D mean, the depth, the Jacobian and the SH view direction), quaternion,
// log-scales, opacity logit and SH coefficients.
// Bindings:
//   0 params       uniform RenderParams
//   1 cameras      uniform array<CameraGpu>
//   2 means        array<f32>  [N*3]
//   3 quats        array<f32>  [N*4]
//   4 log_scales   array<f32>  [N*3]
//   5 opacities    array<f32>  [N]
//   6 sh           array<f32>  [N*K*3]
//   7 grads2d      array<f32>  [C*N*12] from rasterize_backward.wgsl
//   8 tile_counts  array<u32>  [C*N] 0 where the splat was culled
//   9 grads        array<f32>  out, added to: means [N*3], quats [N*4], log_scales [N*3],
//                  opacity logits [N], SH [N*K*3], back to back
//  10 projected    array<vec4<f32>> [C*N*3] the forward's projections (its colours, clamped at 0)

#import params
#import quat
#import sh
#import sh_backward
#import perspective

@group(0) @binding(0) var<uniform> p: RenderParams;
@group(0) @binding(1) var<uniform> cameras: array<CameraGpu, 256>;
@group(0) @binding(2) var<storage, read> means: array<f32>;
@group(0) @binding(3) var<storage, read> quats: array<f32>;
@group(0) @binding(4) var<storage, read> log_scales: array<f32>;
@group(0) @binding(5) var<storage, read> opacities: array<f32>;
@group(0) @binding(6) var<storage, read> sh: array<f32>;
@group(0) @binding(7) var<storage, read> grads2d: array<f32>;
@group(0) @binding(8) var<storage, read> tile_counts: array<u32>;
@group(0) @binding(9) var<storage, read_write> grads: array<f32>;
@group(0) @binding(10) var<storage, read> projected: array<vec4<f32>>;

const GRAD_STRIDE: u32 = 12u;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let gid = linear_workgroup(wg, nwg) * 256u + lid;
    let n = p.num_splats;
    if gid >= n {
        return;
    }
    let k = p.num_coeffs;
    let mean = vec3<f32>(means[3u * gid], means[3u * gid + 1u], means[3u * gid + 2u]);
    let q = vec4<f32>(quats[4u * gid], quats[4u * gid + 1u], quats[4u * gid + 2u], quats[4u * gid + 3u]);
    let s = exp(vec3<f32>(log_scales[3u * gid], log_scales[3u * gid + 1u], log_scales[3u * gid + 2u]));
    let rot = quat_to_mat(q);
    let m = mat3x3<f32>(rot[0] * s.x, rot[1] * s.y, rot[2] * s.z);
    let cov_w = m * transpose(m);
    let opacity = 1.0 / (1.0 + exp(-opacities[gid]));
    let sh_base = gid * k * 3u;
    // This splat's SH gradients, added to in place per camera (no other invocation touches them).
    let sh_at = 11u * n + sh_base;

    var v_mean = vec3<f32>(0.0);
    var v_cov_w = mat3x3<f32>(vec3<f32>(0.0), vec3<f32>(0.0), vec3<f32>(0.0));
    var v_opacity = 0.0;

    for (var c = 0u; c < p.num_cameras; c++) {
        let cam_gid = c * n + gid;
        if tile_counts[cam_gid] == 0u {
            continue;
        }
        let gb = cam_gid * GRAD_STRIDE;
        let v_mean2d = vec2<f32>(grads2d[gb], grads2d[gb + 1u]);
        let v_conic = vec3<f32>(grads2d[gb + 2u], grads2d[gb + 3u], grads2d[gb + 4u]);
        let v_color = vec3<f32>(grads2d[gb + 6u], grads2d[gb + 7u], grads2d[gb + 8u]);
        v_opacity += grads2d[gb + 5u];
        let v_depth = grads2d[gb + 9u];

        let cam = cameras[c];
        let view_rot = transpose(mat3x3<f32>(cam.row0.xyz, cam.row1.xyz, cam.row2.xyz));
        let mc = view_rot * mean + vec3<f32>(cam.row0.w, cam.row1.w, cam.row2.w);
        let cov_c = view_rot * cov_w * transpose(view_rot);
        let fx = cam.intrinsics.x;
        let fy = cam.intrinsics.y;
        let pj = perspective(cam, mc);
        let rz = pj.rz;
        let rz2 = rz * rz;
        let rz3 = rz2 * rz;
        let tx = pj.t.x;
        let ty = pj.t.y;
        let j = pj.j;
        let cov2 = covariance_2d(pj, cov_c, p.eps2d);
        let det = cov2[0][0] * cov2[1][1] - cov2[0][1] * cov2[0][1];
        let conic = mat2x2<f32>(vec2<f32>(cov2[1][1], -cov2[0][1]), vec2<f32>(-cov2[0][1], cov2[0][0])) * (1.0 / det);
        let v_conic_m = mat2x2<f32>(vec2<f32>(v_conic.x, 0.5 * v_conic.y), vec2<f32>(0.5 * v_conic.y, v_conic.z));
        let v_cov2 = -1.0 * (conic * v_conic_m * conic);
        let v_cov_c = transpose(j) * v_cov2 * j;
        let v_j = 2.0 * (v_cov2 * j * cov_c);

        var v_mc = vec3<f32>(fx * rz * v_mean2d.x, fy * rz * v_mean2d.y, -fx * mc.x * rz2 * v_mean2d.x - fy * mc.y * rz2 * v_mean2d.y + v_depth);
        v_mc.z += -fx * rz2 * v_j[0][0] - fy * rz2 * v_j[1][1];
        if pj.clamped_x {
            v_mc.z += fx * tx * rz3 * v_j[2][0];
        } else {
            v_mc.x += -fx * rz2 * v_j[2][0];
            v_mc.z += 2.0 * fx * tx * rz3 * v_j[2][0];
        }
        if pj.clamped_y {
            v_mc.z += fy * ty * rz3 * v_j[2][1];
        } else {
            v_mc.y += -fy * rz2 * v_j[2][1];
            v_mc.z += 2.0 * fy * ty * rz3 * v_j[2][1];
        }
        v_mean += transpose(view_rot) * v_mc;
        v_cov_w += transpose(view_rot) * v_cov_c * view_rot;

        // Colour: SH coefficients and the view direction.
        let d = mean - cam.center.xyz;
        let dn = length(d);
        let dir = d / dn;
        // Channels clamped at 0 pass no gradient: the forward's colour is max(SH + 0.5, 0), so
        // it is above 0 exactly where the channel was not clamped (read, not recomputed: the
        // 48 coefficients of degree 3 are the widest read of this pass).
        let forward_color = projected[3u * cam_gid + 2u].xyz;
        let v_c = select(vec3<f32>(0.0), v_color, forward_color > vec3<f32>(0.0));
        let v_dir = sh_backward(sh_base, p.sh_degree, dir, v_c, sh_at);
        v_mean += (v_dir - dir * dot(dir, v_dir)) / dn;
    }

    // Covariance -> scales and rotation.
    let v_m = (v_cov_w + transpose(v_cov_w)) * m;
    let v_s = vec3<f32>(dot(v_m[0], rot[0]), dot(v_m[1], rot[1]), dot(v_m[2], rot[2]));
    let v_log_s = v_s * s;
    // dL/dR(row, col) = v_m(row, col) * s[col]; WGSL indexes [col][row].
    let g00 = v_m[0][0] * s.x;
    let g10 = v_m[0][1] * s.x;
    let g20 = v_m[0][2] * s.x;
    let g01 = v_m[1][0] * s.y;
    let g11 = v_m[1][1] * s.y;
    let g21 = v_m[1][2] * s.y;
    let g02 = v_m[2][0] * s.z;
    let g12 = v_m[2][1] * s.z;
    let g22 = v_m[2][2] * s.z;
    let qn = normalize(q);
    let qw = qn.x;
    let qx = qn.y;
    let qy = qn.z;
    let qz = qn.w;
    let v_qn = 2.0 * vec4<f32>(
        -qz * g01 + qy * g02 + qz * g10 - qx * g12 - qy * g20 + qx * g21,
        qy * g01 + qz * g02 + qy * g10 - 2.0 * qx * g11 - qw * g12 + qz * g20 + qw * g21 - 2.0 * qx * g22,
        -2.0 * qy * g00 + qx * g01 + qw * g02 + qx * g10 + qz * g12 - qw * g20 + qz * g21 - 2.0 * qy * g22,
        -2.0 * qz * g00 - qw * g01 + qx * g02 + qw * g10 - 2.0 * qz * g11 + qy * g12 + qx * g20 + qy * g21,
    );
    let v_q = (v_qn - qn * dot(qn, v_qn)) / length(q);

    let means_at = 3u * gid;
    let quats_at = 3u * n + 4u * gid;
    let scales_at = 7u * n + 3u * gid;
    let opacity_at = 10u * n + gid;
    for (var a = 0u; a < 3u; a++) {
        grads[means_at + a] += v_mean[a];
        grads[scales_at + a] += v_log_s[a];
    }
    for (var a = 0u; a < 4u; a++) {
        grads[quats_at + a] += v_q[a];
    }
    grads[opacity_at] += v_opacity * opacity * (1.0 - opacity);
}
