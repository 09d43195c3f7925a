// The Jacobian of the perspective projection at a camera-space point, with the view direction
// clamped to 1.3x the field of view as in 3DGS. Forward (project.wgsl) and backward
// (project_backward.wgsl) share it, so both see the same covariance.

struct Perspective {
    // 2x3 Jacobian as 3 columns of 2 rows.
    j: mat3x2<f32>,
    rz: f32,
    // The clamped x / z and y / z, times z.
    t: vec2<f32>,
    // Whether x / z and y / z were clamped (their derivative then does not flow through t).
    clamped_x: bool,
    clamped_y: bool,
}

fn perspective(cam: CameraGpu, mc: vec3<f32>) -> Perspective {
    let f = cam.intrinsics.xy;
    let c = cam.intrinsics.zw;
    let size = vec2<f32>(f32(cam.width), f32(cam.height));
    let tan_fov = 0.5 * size / f;
    let lim_pos = (size - c) / f + 0.3 * tan_fov;
    let lim_neg = c / f + 0.3 * tan_fov;
    var out: Perspective;
    out.rz = 1.0 / mc.z;
    let u = mc.xy * out.rz;
    out.t = mc.z * min(lim_pos, max(-lim_neg, u));
    out.clamped_x = u.x > lim_pos.x || u.x < -lim_neg.x;
    out.clamped_y = u.y > lim_pos.y || u.y < -lim_neg.y;
    let rz2 = out.rz * out.rz;
    out.j = mat3x2<f32>(vec2<f32>(f.x * out.rz, 0.0), vec2<f32>(0.0, f.y * out.rz), vec2<f32>(-f.x * out.t.x * rz2, -f.y * out.t.y * rz2));
    return out;
}

// The 2D covariance J C J^T with `eps2d` added to its diagonal (the low-pass filter).
fn covariance_2d(pj: Perspective, cov_c: mat3x3<f32>, eps2d: f32) -> mat2x2<f32> {
    return pj.j * cov_c * transpose(pj.j) + mat2x2<f32>(vec2<f32>(eps2d, 0.0), vec2<f32>(0.0, eps2d));
}
