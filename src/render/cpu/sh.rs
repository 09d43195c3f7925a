//! Real spherical-harmonics basis up to degree 3 (3DGS/gsplat constants), in f64.

/// The 16 basis values for a unit direction; entries past the degree are zero.
pub fn sh_basis(degree: u32, dir: [f64; 3]) -> [f64; 16] {
    let mut b = [0.0; 16];
    b[0] = 0.2820947917738781;
    if degree == 0 {
        return b;
    }
    let [x, y, z] = dir;
    b[1] = -0.48860251190292 * y;
    b[2] = 0.48860251190292 * z;
    b[3] = -0.48860251190292 * x;
    if degree == 1 {
        return b;
    }
    let (z2, f_c1, f_s1) = (z * z, x * x - y * y, 2.0 * x * y);
    let f_tmp0_b = -1.092548430592079 * z;
    b[4] = 0.5462742152960395 * f_s1;
    b[5] = f_tmp0_b * y;
    b[6] = 0.9461746957575601 * z2 - 0.3153915652525201;
    b[7] = f_tmp0_b * x;
    b[8] = 0.5462742152960395 * f_c1;
    if degree == 2 {
        return b;
    }
    let f_tmp0_c = -2.285228997322329 * z2 + 0.4570457994644658;
    let f_tmp1_b = 1.445305721320277 * z;
    let f_c2 = x * f_c1 - y * f_s1;
    let f_s2 = x * f_s1 + y * f_c1;
    b[9] = -0.5900435899266435 * f_s2;
    b[10] = f_tmp1_b * f_s1;
    b[11] = f_tmp0_c * y;
    b[12] = z * (1.865881662950577 * z2 - 1.119528997770346);
    b[13] = f_tmp0_c * x;
    b[14] = f_tmp1_b * f_c1;
    b[15] = -0.5900435899266435 * f_c2;
    b
}
