//! Image metrics on the CPU in f64: PSNR and SSIM (11x11 Gaussian window, sigma 1.5, the
//! constants of Wang et al. and 3DGS), the references the GPU loss and evaluation are checked
//! against, and what `train` reports on the test split.

/// Images as row-major RGB in [0, 1].
pub struct RgbImage<'a> {
    pub width: usize,
    pub height: usize,
    pub rgb: &'a [[f32; 3]],
}

pub fn mse(a: &RgbImage, b: &RgbImage) -> f64 {
    let n = (a.width * a.height * 3) as f64;
    a.rgb.iter().zip(b.rgb).map(|(x, y)| (0..3).map(|c| (x[c] as f64 - y[c] as f64).powi(2)).sum::<f64>()).sum::<f64>() / n
}

/// PSNR in dB for images in [0, 1] (predictions clamped first, as evaluation does).
pub fn psnr(pred: &RgbImage, gt: &RgbImage) -> f64 {
    let clamped: Vec<[f32; 3]> = pred.rgb.iter().map(|p| p.map(|v| v.clamp(0.0, 1.0))).collect();
    let m = mse(&RgbImage { width: pred.width, height: pred.height, rgb: &clamped }, gt);
    -10.0 * m.max(1e-20).log10()
}

pub const SSIM_WINDOW: usize = 11;
pub const SSIM_SIGMA: f64 = 1.5;
pub const SSIM_C1: f64 = 0.01 * 0.01;
pub const SSIM_C2: f64 = 0.03 * 0.03;

/// The normalized 1D Gaussian of the SSIM window.
pub fn gaussian_window() -> [f64; SSIM_WINDOW] {
    let mut w = [0.0; SSIM_WINDOW];
    let half = (SSIM_WINDOW / 2) as f64;
    for (i, v) in w.iter_mut().enumerate() {
        *v = (-((i as f64 - half).powi(2)) / (2.0 * SSIM_SIGMA * SSIM_SIGMA)).exp();
    }
    let sum: f64 = w.iter().sum();
    w.map(|v| v / sum)
}

/// Separable Gaussian blur with zero padding (as conv2d with padding 5 in 3DGS).
fn blur(map: &[f64], width: usize, height: usize) -> Vec<f64> {
    let w = gaussian_window();
    let r = SSIM_WINDOW as isize / 2;
    let mut tmp = vec![0.0; map.len()];
    for y in 0..height {
        for x in 0..width {
            tmp[y * width + x] = (-r..=r)
                .map(|d| {
                    let xx = x as isize + d;
                    if xx < 0 || xx >= width as isize { 0.0 } else { w[(d + r) as usize] * map[y * width + xx as usize] }
                })
                .sum();
        }
    }
    let mut out = vec![0.0; map.len()];
    for y in 0..height {
        for x in 0..width {
            out[y * width + x] = (-r..=r)
                .map(|d| {
                    let yy = y as isize + d;
                    if yy < 0 || yy >= height as isize { 0.0 } else { w[(d + r) as usize] * tmp[yy as usize * width + x] }
                })
                .sum();
        }
    }
    out
}

/// Mean SSIM over pixels and channels.
pub fn ssim(a: &RgbImage, b: &RgbImage) -> f64 {
    let (w, h) = (a.width, a.height);
    let mut total = 0.0;
    for c in 0..3 {
        let x: Vec<f64> = a.rgb.iter().map(|p| p[c] as f64).collect();
        let y: Vec<f64> = b.rgb.iter().map(|p| p[c] as f64).collect();
        let mx = blur(&x, w, h);
        let my = blur(&y, w, h);
        let xx = blur(&x.iter().map(|v| v * v).collect::<Vec<_>>(), w, h);
        let yy = blur(&y.iter().map(|v| v * v).collect::<Vec<_>>(), w, h);
        let xy = blur(&x.iter().zip(&y).map(|(p, q)| p * q).collect::<Vec<_>>(), w, h);
        for i in 0..w * h {
            let (sx, sy, sxy) = (xx[i] - mx[i] * mx[i], yy[i] - my[i] * my[i], xy[i] - mx[i] * my[i]);
            total += ((2.0 * mx[i] * my[i] + SSIM_C1) * (2.0 * sxy + SSIM_C2))
                / ((mx[i] * mx[i] + my[i] * my[i] + SSIM_C1) * (sx + sy + SSIM_C2));
        }
    }
    total / (3 * w * h) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_images_score_perfectly_and_noise_lowers_ssim() {
        let (w, h) = (32, 24);
        let a: Vec<[f32; 3]> =
            (0..w * h).map(|i| [0.1 + 0.8 * (i % w) as f32 / w as f32, 0.1 + 0.8 * (i / w) as f32 / h as f32, 0.5]).collect();
        let img = RgbImage { width: w, height: h, rgb: &a };
        assert!((ssim(&img, &img) - 1.0).abs() < 1e-12);
        assert!(psnr(&img, &img) > 150.0);
        let noisy: Vec<[f32; 3]> = a.iter().enumerate().map(|(i, p)| p.map(|v| v + if i % 2 == 0 { 0.05 } else { -0.05 })).collect();
        let n = RgbImage { width: w, height: h, rgb: &noisy };
        assert!((psnr(&n, &img) - 26.0206).abs() < 1e-3, "uniform 0.05 error is 26.02 dB");
        assert!(ssim(&n, &img) < 0.95);
    }
}
