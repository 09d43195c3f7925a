// Real spherical harmonics up to degree 3 (the basis of the original 3DGS and gsplat):
// colour = max(sum_k basis_k(dir) * coeff_k + 0.5, 0).

fn sh_coeff(sh_base: u32, k: u32) -> vec3<f32> {
    let i = sh_base + 3u * k;
    return vec3<f32>(sh[i], sh[i + 1u], sh[i + 2u]);
}

fn sh_to_color(sh_base: u32, degree: u32, dir: vec3<f32>) -> vec3<f32> {
    return max(sh_to_color_unclamped(sh_base, degree, dir), vec3<f32>(0.0));
}

// SH(dir) + 0.5, before the clamp at 0.
fn sh_to_color_unclamped(sh_base: u32, degree: u32, dir: vec3<f32>) -> vec3<f32> {
    var c = 0.2820947917738781 * sh_coeff(sh_base, 0u);
    if degree >= 1u {
        let x = dir.x;
        let y = dir.y;
        let z = dir.z;
        c += 0.48860251190292 * (-y * sh_coeff(sh_base, 1u) + z * sh_coeff(sh_base, 2u) - x * sh_coeff(sh_base, 3u));
        if degree >= 2u {
            let z2 = z * z;
            let f_tmp0_b = -1.092548430592079 * z;
            let f_c1 = x * x - y * y;
            let f_s1 = 2.0 * x * y;
            let p4 = 0.5462742152960395 * f_s1;
            let p5 = f_tmp0_b * y;
            let p6 = 0.9461746957575601 * z2 - 0.3153915652525201;
            let p7 = f_tmp0_b * x;
            let p8 = 0.5462742152960395 * f_c1;
            c += p4 * sh_coeff(sh_base, 4u) + p5 * sh_coeff(sh_base, 5u) + p6 * sh_coeff(sh_base, 6u)
                + p7 * sh_coeff(sh_base, 7u) + p8 * sh_coeff(sh_base, 8u);
            if degree >= 3u {
                let f_tmp0_c = -2.285228997322329 * z2 + 0.4570457994644658;
                let f_tmp1_b = 1.445305721320277 * z;
                let f_c2 = x * f_c1 - y * f_s1;
                let f_s2 = x * f_s1 + y * f_c1;
                let p9 = -0.5900435899266435 * f_s2;
                let p10 = f_tmp1_b * f_s1;
                let p11 = f_tmp0_c * y;
                let p12 = z * (1.865881662950577 * z2 - 1.119528997770346);
                let p13 = f_tmp0_c * x;
                let p14 = f_tmp1_b * f_c1;
                let p15 = -0.5900435899266435 * f_c2;
                c += p9 * sh_coeff(sh_base, 9u) + p10 * sh_coeff(sh_base, 10u) + p11 * sh_coeff(sh_base, 11u)
                    + p12 * sh_coeff(sh_base, 12u) + p13 * sh_coeff(sh_base, 13u) + p14 * sh_coeff(sh_base, 14u)
                    + p15 * sh_coeff(sh_base, 15u);
            }
        }
    }
    return c + 0.5;
}
