// SSIM of one pixel from its window's moments (3DGS's constants) and the partials of that SSIM
// with respect to mu_x, E[x^2] and E[xy], what loss.wgsl's backward blurs into dL/d(pred).
// The partials never divide by a = 2 mu_x mu_y + C1 or b = 2 cov + C2 (as fused-ssim): b is
// exactly 0 where the covariance cancels C2 (dark, anti-correlated windows reach it), and a
// partial written as s / b was then 0 / 0, a NaN that the blur spread over the window and the
// backward pass into every splat covering it. cc >= C1 and dd >= C2 - (rounding) stay positive.

const C1: f32 = 0.0001;
const C2: f32 = 0.0009;

struct SsimPixel {
    ssim: f32,
    d_mu_x: f32,
    d_ex2: f32,
    d_exy: f32,
}

fn ssim_pixel(mu_x: f32, mu_y: f32, ex2: f32, ey2: f32, exy: f32) -> SsimPixel {
    let var_x = ex2 - mu_x * mu_x;
    let var_y = ey2 - mu_y * mu_y;
    let cov = exy - mu_x * mu_y;
    let a = 2.0 * mu_x * mu_y + C1;
    let b = 2.0 * cov + C2;
    let cc = mu_x * mu_x + mu_y * mu_y + C1;
    let dd = var_x + var_y + C2;
    let ccdd = cc * dd;
    let s = a * b / ccdd;
    // d s / d mu_x = 2 mu_y (b - a) / (cc dd) - 2 mu_x s (1 / cc - 1 / dd), through a, b, cc
    // and dd (var_x and cov depend on mu_x too); d s / d E[x^2] = -s / dd; d s / d E[xy] =
    // 2 a / (cc dd).
    return SsimPixel(s, 2.0 * mu_y * (b - a) / ccdd - 2.0 * mu_x * s * (1.0 / cc - 1.0 / dd), -s / dd, 2.0 * a / ccdd);
}
