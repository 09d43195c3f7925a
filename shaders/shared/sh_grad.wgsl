// SH basis values and their derivatives with respect to the direction's x, y, z (treated as free
// variables), degree 0 to 3: the backward pass of sh.wgsl.

fn sh_basis(degree: u32, dir: vec3<f32>) -> array<f32, 16> {
    var b: array<f32, 16>;
    b[0] = 0.2820947917738781;
    let x = dir.x;
    let y = dir.y;
    let z = dir.z;
    if degree >= 1u {
        b[1] = -0.48860251190292 * y;
        b[2] = 0.48860251190292 * z;
        b[3] = -0.48860251190292 * x;
    }
    if degree >= 2u {
        let z2 = z * z;
        let f_tmp0_b = -1.092548430592079 * z;
        b[4] = 0.5462742152960395 * 2.0 * x * y;
        b[5] = f_tmp0_b * y;
        b[6] = 0.9461746957575601 * z2 - 0.3153915652525201;
        b[7] = f_tmp0_b * x;
        b[8] = 0.5462742152960395 * (x * x - y * y);
    }
    if degree >= 3u {
        let z2 = z * z;
        let f_c1 = x * x - y * y;
        let f_s1 = 2.0 * x * y;
        let f_tmp0_c = -2.285228997322329 * z2 + 0.4570457994644658;
        let f_tmp1_b = 1.445305721320277 * z;
        b[9] = -0.5900435899266435 * (x * f_s1 + y * f_c1);
        b[10] = f_tmp1_b * f_s1;
        b[11] = f_tmp0_c * y;
        b[12] = z * (1.865881662950577 * z2 - 1.119528997770346);
        b[13] = f_tmp0_c * x;
        b[14] = f_tmp1_b * f_c1;
        b[15] = -0.5900435899266435 * (x * f_c1 - y * f_s1);
    }
    return b;
}

fn sh_basis_grad(degree: u32, dir: vec3<f32>) -> array<vec3<f32>, 16> {
    var g: array<vec3<f32>, 16>;
    let x = dir.x;
    let y = dir.y;
    let z = dir.z;
    if degree >= 1u {
        let c1 = 0.48860251190292;
        g[1] = vec3<f32>(0.0, -c1, 0.0);
        g[2] = vec3<f32>(0.0, 0.0, c1);
        g[3] = vec3<f32>(-c1, 0.0, 0.0);
    }
    if degree >= 2u {
        let c2 = 1.092548430592079;
        g[4] = vec3<f32>(c2 * y, c2 * x, 0.0);
        g[5] = vec3<f32>(0.0, -c2 * z, -c2 * y);
        g[6] = vec3<f32>(0.0, 0.0, 2.0 * 0.9461746957575601 * z);
        g[7] = vec3<f32>(-c2 * z, 0.0, -c2 * x);
        g[8] = vec3<f32>(c2 * x, -c2 * y, 0.0);
    }
    if degree >= 3u {
        let c9 = -0.5900435899266435;
        let c10 = 2.0 * 1.445305721320277;
        let a = -2.285228997322329;
        let b = 0.4570457994644658;
        g[9] = vec3<f32>(c9 * 6.0 * x * y, c9 * (3.0 * x * x - 3.0 * y * y), 0.0);
        g[10] = vec3<f32>(c10 * y * z, c10 * x * z, c10 * x * y);
        g[11] = vec3<f32>(0.0, a * z * z + b, 2.0 * a * z * y);
        g[12] = vec3<f32>(0.0, 0.0, 3.0 * 1.865881662950577 * z * z - 1.119528997770346);
        g[13] = vec3<f32>(a * z * z + b, 0.0, 2.0 * a * z * x);
        g[14] = vec3<f32>(c10 * x * z, -c10 * y * z, 1.445305721320277 * (x * x - y * y));
        g[15] = vec3<f32>(c9 * (3.0 * x * x - 3.0 * y * y), c9 * -6.0 * x * y, 0.0);
    }
    return g;
}
