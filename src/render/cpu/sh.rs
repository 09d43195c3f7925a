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

/// Derivatives of each basis value with respect to the (unit) direction's x, y, z, treating
/// them as free variables; the caller chains through the normalization.
pub fn sh_basis_grad(degree: u32, dir: [f64; 3]) -> [[f64; 3]; 16] {
    let mut g = [[0.0; 3]; 16];
    if degree == 0 {
        return g;
    }
    let [x, y, z] = dir;
    let c1 = 0.48860251190292;
    g[1] = [0.0, -c1, 0.0];
    g[2] = [0.0, 0.0, c1];
    g[3] = [-c1, 0.0, 0.0];
    if degree == 1 {
        return g;
    }
    let c2 = 1.092548430592079;
    g[4] = [c2 * y, c2 * x, 0.0];
    g[5] = [0.0, -c2 * z, -c2 * y];
    g[6] = [0.0, 0.0, 2.0 * 0.9461746957575601 * z];
    g[7] = [-c2 * z, 0.0, -c2 * x];
    g[8] = [c2 * x, -c2 * y, 0.0];
    if degree == 2 {
        return g;
    }
    let c9 = -0.5900435899266435;
    let c10 = 2.0 * 1.445305721320277;
    let (a, b) = (-2.285228997322329, 0.4570457994644658);
    g[9] = [c9 * 6.0 * x * y, c9 * (3.0 * x * x - 3.0 * y * y), 0.0];
    g[10] = [c10 * y * z, c10 * x * z, c10 * x * y];
    g[11] = [0.0, a * z * z + b, 2.0 * a * z * y];
    g[12] = [0.0, 0.0, 3.0 * 1.865881662950577 * z * z - 1.119528997770346];
    g[13] = [a * z * z + b, 0.0, 2.0 * a * z * x];
    g[14] = [c10 * x * z, -c10 * y * z, 1.445305721320277 * (x * x - y * y)];
    g[15] = [c9 * (3.0 * x * x - 3.0 * y * y), c9 * -6.0 * x * y, 0.0];
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basis_gradient_matches_finite_differences() {
        let dir = [0.3, -0.5, 0.81];
        let g = sh_basis_grad(3, dir);
        let h = 1e-6;
        for axis in 0..3 {
            let (mut plus, mut minus) = (dir, dir);
            plus[axis] += h;
            minus[axis] -= h;
            let (bp, bm) = (sh_basis(3, plus), sh_basis(3, minus));
            for k in 0..16 {
                let fd = (bp[k] - bm[k]) / (2.0 * h);
                assert!((fd - g[k][axis]).abs() < 1e-6, "basis {k} axis {axis}: {fd} vs {}", g[k][axis]);
            }
        }
    }
}
