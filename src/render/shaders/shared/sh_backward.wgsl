// Backward of sh.wgsl for one splat and view, written out term by term so that nothing lives in
// an indexed local array (which spills to memory): adds dL/d(coefficient k) = basis_k * v_color
// into `grads` at `out_at` ([K][3] floats) and returns dL/d(dir) for the unit direction's x, y, z
// treated as free variables (the caller chains through the normalization).
// Needs: `sh` (read, via sh_coeff in sh.wgsl) and `grads` (read_write).

fn add_sh_grad(out_at: u32, k: u32, g: vec3<f32>) {
    let at = out_at + 3u * k;
    grads[at] += g.x;
    grads[at + 1u] += g.y;
    grads[at + 2u] += g.z;
}

fn sh_backward(sh_base: u32, degree: u32, dir: vec3<f32>, v_color: vec3<f32>, out_at: u32) -> vec3<f32> {
    add_sh_grad(out_at, 0u, 0.2820947917738781 * v_color);
    var v_dir = vec3<f32>(0.0);
    if degree < 1u {
        return v_dir;
    }
    let x = dir.x;
    let y = dir.y;
    let z = dir.z;
    // dL/d(basis_k) = coefficient_k . v_color
    let c1 = 0.48860251190292;
    add_sh_grad(out_at, 1u, -c1 * y * v_color);
    add_sh_grad(out_at, 2u, c1 * z * v_color);
    add_sh_grad(out_at, 3u, -c1 * x * v_color);
    v_dir += vec3<f32>(-c1 * dot(sh_coeff(sh_base, 3u), v_color), -c1 * dot(sh_coeff(sh_base, 1u), v_color), c1 * dot(sh_coeff(sh_base, 2u), v_color));
    if degree < 2u {
        return v_dir;
    }
    let c2 = 1.092548430592079;
    let z2 = z * z;
    add_sh_grad(out_at, 4u, c2 * x * y * v_color);
    add_sh_grad(out_at, 5u, -c2 * z * y * v_color);
    add_sh_grad(out_at, 6u, (0.9461746957575601 * z2 - 0.3153915652525201) * v_color);
    add_sh_grad(out_at, 7u, -c2 * z * x * v_color);
    add_sh_grad(out_at, 8u, 0.5462742152960395 * (x * x - y * y) * v_color);
    let d4 = dot(sh_coeff(sh_base, 4u), v_color);
    let d5 = dot(sh_coeff(sh_base, 5u), v_color);
    let d6 = dot(sh_coeff(sh_base, 6u), v_color);
    let d7 = dot(sh_coeff(sh_base, 7u), v_color);
    let d8 = dot(sh_coeff(sh_base, 8u), v_color);
    v_dir += d4 * vec3<f32>(c2 * y, c2 * x, 0.0) + d5 * vec3<f32>(0.0, -c2 * z, -c2 * y) + d6 * vec3<f32>(0.0, 0.0, 2.0 * 0.9461746957575601 * z)
        + d7 * vec3<f32>(-c2 * z, 0.0, -c2 * x) + d8 * vec3<f32>(c2 * x, -c2 * y, 0.0);
    if degree < 3u {
        return v_dir;
    }
    let c9 = -0.5900435899266435;
    let c10 = 1.445305721320277;
    let a = -2.285228997322329;
    let b = 0.4570457994644658;
    let f_c1 = x * x - y * y;
    let f_s1 = 2.0 * x * y;
    add_sh_grad(out_at, 9u, c9 * (x * f_s1 + y * f_c1) * v_color);
    add_sh_grad(out_at, 10u, c10 * z * f_s1 * v_color);
    add_sh_grad(out_at, 11u, (a * z2 + b) * y * v_color);
    add_sh_grad(out_at, 12u, z * (1.865881662950577 * z2 - 1.119528997770346) * v_color);
    add_sh_grad(out_at, 13u, (a * z2 + b) * x * v_color);
    add_sh_grad(out_at, 14u, c10 * z * f_c1 * v_color);
    add_sh_grad(out_at, 15u, c9 * (x * f_c1 - y * f_s1) * v_color);
    let d9 = dot(sh_coeff(sh_base, 9u), v_color);
    let d10 = dot(sh_coeff(sh_base, 10u), v_color);
    let d11 = dot(sh_coeff(sh_base, 11u), v_color);
    let d12 = dot(sh_coeff(sh_base, 12u), v_color);
    let d13 = dot(sh_coeff(sh_base, 13u), v_color);
    let d14 = dot(sh_coeff(sh_base, 14u), v_color);
    let d15 = dot(sh_coeff(sh_base, 15u), v_color);
    v_dir += d9 * vec3<f32>(c9 * 6.0 * x * y, c9 * (3.0 * x * x - 3.0 * y * y), 0.0)
        + d10 * 2.0 * c10 * vec3<f32>(y * z, x * z, x * y)
        + d11 * vec3<f32>(0.0, a * z2 + b, 2.0 * a * z * y)
        + d12 * vec3<f32>(0.0, 0.0, 3.0 * 1.865881662950577 * z2 - 1.119528997770346)
        + d13 * vec3<f32>(a * z2 + b, 0.0, 2.0 * a * z * x)
        + d14 * vec3<f32>(2.0 * c10 * x * z, -2.0 * c10 * y * z, c10 * f_c1)
        + d15 * vec3<f32>(c9 * (3.0 * x * x - 3.0 * y * y), c9 * -6.0 * x * y, 0.0);
    return v_dir;
}
