//! CPU twin of src/render/shaders/project.wgsl.

use super::sh::sh_basis;
use crate::render::RenderOptions;
use crate::{Camera, Splats};

const ALPHA_THRESHOLD: f64 = 1.0 / 255.0;
pub const TILE: f64 = 16.0;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProjectedSplat {
    pub mean2d: [f64; 2],
    /// Inverse 2D covariance (xx, xy, yy).
    pub conic: [f64; 3],
    pub opacity: f64,
    pub depth: f64,
    pub radius: [f64; 2],
    pub color: [f64; 3],
    /// Tiles touched, [min, max).
    pub tile_min: [u32; 2],
    pub tile_max: [u32; 2],
}

pub fn quat_to_mat(q: [f64; 4]) -> [[f64; 3]; 3] {
    let n = q.iter().map(|v| v * v).sum::<f64>().sqrt();
    let [w, x, y, z] = q.map(|v| v / n);
    [
        [1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y - w * z), 2.0 * (x * z + w * y)],
        [2.0 * (x * y + w * z), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z - w * x)],
        [2.0 * (x * z - w * y), 2.0 * (y * z + w * x), 1.0 - 2.0 * (x * x + y * y)],
    ]
}

pub fn mul(a: &[[f64; 3]; 3], b: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let mut m = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            m[i][j] = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    m
}

pub fn transpose(a: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let mut m = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            m[i][j] = a[j][i];
        }
    }
    m
}

/// The tile rectangle of a splat, as in src/render/shaders/shared/tiles.wgsl.
pub fn tile_rect(mean: [f64; 2], radius: [f64; 2], tiles: [u32; 2]) -> ([u32; 2], [u32; 2]) {
    let mut lo = [0; 2];
    let mut hi = [0; 2];
    for a in 0..2 {
        lo[a] = ((mean[a] - radius[a]) / TILE).floor().clamp(0.0, tiles[a] as f64) as u32;
        hi[a] = ((mean[a] + radius[a]) / TILE).ceil().clamp(0.0, tiles[a] as f64) as u32;
    }
    (lo, hi)
}

/// Whether the splat reaches a pixel centre of tile `tile` with power at most `threshold`, as
/// `tile_touched` in src/render/shaders/shared/tiles.wgsl (the same margin).
pub fn tile_touched(mean: [f64; 2], conic: [f64; 3], threshold: f64, tile: [u32; 2]) -> bool {
    let lo = [tile[0] as f64 * TILE + 0.5 - mean[0], tile[1] as f64 * TILE + 0.5 - mean[1]];
    let hi = [lo[0] + TILE - 1.0, lo[1] + TILE - 1.0];
    if lo[0] <= 0.0 && lo[1] <= 0.0 && hi[0] >= 0.0 && hi[1] >= 0.0 {
        return true;
    }
    if !(conic[0] > 0.0 && conic[2] > 0.0) {
        return true;
    }
    // (power, size of its terms) at the least point of each edge; the margin grows with the
    // terms as in the shader (which rounds them in f32).
    let power = |dx: f64, dy: f64| {
        let (square, cross) = (0.5 * (conic[0] * dx * dx + conic[2] * dy * dy), conic[1] * dx * dy);
        (square + cross, square + cross.abs())
    };
    let on_x = [lo[0], hi[0]].map(|dx| power(dx, (-conic[1] * dx / conic[2]).clamp(lo[1], hi[1])));
    let on_y = [lo[1], hi[1]].map(|dy| power((-conic[1] * dy / conic[0]).clamp(lo[0], hi[0]), dy));
    let least = on_x.iter().chain(&on_y).map(|p| p.0).fold(f64::INFINITY, f64::min);
    let size = on_x.iter().chain(&on_y).map(|p| p.1).fold(0.0, f64::max);
    least <= threshold + 0.01 + 4e-6 * size
}

impl ProjectedSplat {
    /// Whether tile (tx, ty) holds this splat's intersection (its rectangle, then its ellipse).
    pub fn touches(&self, tx: u32, ty: u32) -> bool {
        tx >= self.tile_min[0]
            && tx < self.tile_max[0]
            && ty >= self.tile_min[1]
            && ty < self.tile_max[1]
            && tile_touched(self.mean2d, self.conic, self.power_threshold(), [tx, ty])
    }

    /// Whether some tile holds an intersection (project.wgsl culls the splat otherwise).
    pub fn touches_any_tile(&self) -> bool {
        (self.tile_min[1]..self.tile_max[1]).any(|ty| (self.tile_min[0]..self.tile_max[0]).any(|tx| self.touches(tx, ty)))
    }

    /// The power below which alpha reaches 1/255: half the square of the opacity-aware extent.
    pub fn power_threshold(&self) -> f64 {
        let extend = opacity_extent(self.opacity);
        0.5 * extend * extend
    }
}

/// Opacity-aware extent in standard deviations, as `opacity_extent` in src/render/shaders/shared/tiles.wgsl:
/// beyond it alpha < 1/255.
pub fn opacity_extent(opacity: f64) -> f64 {
    3.33f64.min((2.0 * (opacity / ALPHA_THRESHOLD).ln()).sqrt())
}

/// The splat parameters in f64, so that finite differences see no f32 rounding.
#[derive(Debug, Clone, PartialEq)]
pub struct SplatParams64 {
    pub means: Vec<[f64; 3]>,
    pub quats: Vec<[f64; 4]>,
    pub log_scales: Vec<[f64; 3]>,
    pub opacity_logits: Vec<f64>,
    /// `[N][K][3]`.
    pub sh: Vec<f64>,
    pub sh_degree: u32,
}

impl SplatParams64 {
    pub fn from_splats(s: &Splats) -> Self {
        Self {
            means: s.means.iter().map(|m| m.map(f64::from)).collect(),
            quats: s.rotations.iter().map(|q| q.map(f64::from)).collect(),
            log_scales: s.log_scales.iter().map(|v| v.map(f64::from)).collect(),
            opacity_logits: s.opacity_logits.iter().map(|&v| v as f64).collect(),
            sh: s.sh.iter().map(|&v| v as f64).collect(),
            sh_degree: s.sh_degree,
        }
    }

    pub fn len(&self) -> usize {
        self.means.len()
    }

    pub fn is_empty(&self) -> bool {
        self.means.is_empty()
    }

    pub fn coeffs_per_splat(&self) -> usize {
        crate::scene::sh_coeffs_for_degree(self.sh_degree)
    }
}

/// Bits of the depth sort's keys: a positive f32's top 28 (sign, exponent and 19 bits of
/// mantissa), 7 radix passes instead of 8. Splats closer in depth than 2^-19 of it (16 to 32
/// ulps of the f32) may share a key, and then keep their index order. 24 bits (6 passes)
/// moved 158 of the 120,000 pixels of gsplat's wide reference scene by up to 5e-3; 28 moved
/// none. Mirrors project.wgsl.
pub const DEPTH_KEY_BITS: u32 = 28;

/// The depth sort's key of a splat at camera-space depth `depth` (> 0).
pub fn depth_sort_key(depth: f32) -> u32 {
    depth.to_bits() >> (32 - DEPTH_KEY_BITS)
}

/// Projects every splat into `camera`; `None` where it is culled.
pub fn project(splats: &Splats, camera: &Camera, options: &RenderOptions) -> Vec<Option<ProjectedSplat>> {
    project64(&SplatParams64::from_splats(splats), camera, options)
}

/// `project` on f64 parameters.
pub fn project64(splats: &SplatParams64, camera: &Camera, options: &RenderOptions) -> Vec<Option<ProjectedSplat>> {
    project_boxes64(splats, camera, options).into_iter().map(|p| p.filter(ProjectedSplat::touches_any_tile)).collect()
}

/// The projection before the ellipse's tile test: culled only by depth, opacity and its
/// opacity-aware box (what gsplat's `radii` describe).
pub fn project_boxes(splats: &Splats, camera: &Camera, options: &RenderOptions) -> Vec<Option<ProjectedSplat>> {
    project_boxes64(&SplatParams64::from_splats(splats), camera, options)
}

fn project_boxes64(splats: &SplatParams64, camera: &Camera, options: &RenderOptions) -> Vec<Option<ProjectedSplat>> {
    let k = splats.coeffs_per_splat();
    let w2c = camera.world_to_camera.map(|row| row.map(|v| v as f64));
    let view_rot = [[w2c[0][0], w2c[0][1], w2c[0][2]], [w2c[1][0], w2c[1][1], w2c[1][2]], [w2c[2][0], w2c[2][1], w2c[2][2]]];
    let center = camera.center().map(|v| v as f64);
    let (fx, fy, cx, cy) = (camera.fx as f64, camera.fy as f64, camera.cx as f64, camera.cy as f64);
    let (w, h) = (camera.width as f64, camera.height as f64);
    let tiles = [camera.width.div_ceil(16), camera.height.div_ceil(16)];
    (0..splats.len())
        .map(|i| {
            let m = splats.means[i];
            let mc: [f64; 3] = std::array::from_fn(|r| (0..3).map(|c| view_rot[r][c] * m[c]).sum::<f64>() + w2c[r][3]);
            if mc[2] < options.near as f64 || mc[2] > options.far as f64 {
                return None;
            }
            let rot = quat_to_mat(splats.quats[i]);
            let s = splats.log_scales[i].map(f64::exp);
            let rs = [
                [rot[0][0] * s[0], rot[0][1] * s[1], rot[0][2] * s[2]],
                [rot[1][0] * s[0], rot[1][1] * s[1], rot[1][2] * s[2]],
                [rot[2][0] * s[0], rot[2][1] * s[1], rot[2][2] * s[2]],
            ];
            let cov_w = mul(&rs, &transpose(&rs));
            let cov_c = mul(&mul(&view_rot, &cov_w), &transpose(&view_rot));

            let (tan_fovx, tan_fovy) = (0.5 * w / fx, 0.5 * h / fy);
            let lim_x_pos = (w - cx) / fx + 0.3 * tan_fovx;
            let lim_x_neg = cx / fx + 0.3 * tan_fovx;
            let lim_y_pos = (h - cy) / fy + 0.3 * tan_fovy;
            let lim_y_neg = cy / fy + 0.3 * tan_fovy;
            let rz = 1.0 / mc[2];
            let tx = mc[2] * (mc[0] * rz).max(-lim_x_neg).min(lim_x_pos);
            let ty = mc[2] * (mc[1] * rz).max(-lim_y_neg).min(lim_y_pos);
            let j = [[fx * rz, 0.0, -fx * tx * rz * rz], [0.0, fy * rz, -fy * ty * rz * rz]];
            let jc: [[f64; 3]; 2] = std::array::from_fn(|r| std::array::from_fn(|c| (0..3).map(|k| j[r][k] * cov_c[k][c]).sum()));
            let cov2 = |r: usize, c: usize| (0..3).map(|k| jc[r][k] * j[c][k]).sum::<f64>();
            let eps = options.eps2d as f64;
            let (a, b, c) = (cov2(0, 0) + eps, cov2(0, 1), cov2(1, 1) + eps);
            let det = a * c - b * b;
            if det <= 0.0 || !det.is_finite() {
                return None;
            }
            let conic = [c / det, -b / det, a / det];
            let opacity = 1.0 / (1.0 + (-splats.opacity_logits[i]).exp());
            if opacity < ALPHA_THRESHOLD {
                return None;
            }
            let extend = opacity_extent(opacity);
            let radius = [(extend * a.sqrt()).ceil(), (extend * c.sqrt()).ceil()];
            if radius[0] <= 0.0 && radius[1] <= 0.0 {
                return None;
            }
            let mean2d = [fx * mc[0] * rz + cx, fy * mc[1] * rz + cy];
            if mean2d[0] + radius[0] <= 0.0 || mean2d[0] - radius[0] >= w || mean2d[1] + radius[1] <= 0.0 || mean2d[1] - radius[1] >= h {
                return None;
            }
            let (tile_min, tile_max) = tile_rect(mean2d, radius, tiles);
            if tile_min[0] >= tile_max[0] || tile_min[1] >= tile_max[1] {
                return None;
            }
            let d = [m[0] - center[0], m[1] - center[1], m[2] - center[2]];
            let dn = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
            let basis = sh_basis(splats.sh_degree, [d[0] / dn, d[1] / dn, d[2] / dn]);
            let coeffs = &splats.sh[i * k * 3..(i + 1) * k * 3];
            let color: [f64; 3] = std::array::from_fn(|ch| ((0..k).map(|j| basis[j] * coeffs[3 * j + ch]).sum::<f64>() + 0.5).max(0.0));
            Some(ProjectedSplat { mean2d, conic, opacity, depth: mc[2], radius, color, tile_min, tile_max })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng, rngs::StdRng};

    /// Every pixel centre with alpha >= 1/255 (as rasterize.wgsl computes it, in f32) lies in a
    /// touched tile (dropping the others changes no pixel), and elongated, rotated splats do
    /// leave tiles of their rectangle untouched. Some splats are hundreds of pixels long and a
    /// third of a pixel wide, where the power's terms dwarf their sum and rounding matters.
    #[test]
    fn tile_test_keeps_every_pixel_a_splat_reaches_and_drops_tiles() {
        let mut rng = StdRng::seed_from_u64(11);
        let (mut kept, mut dropped) = (0usize, 0usize);
        for round in 0..400 {
            let sigma = if round % 4 == 0 {
                [rng.random_range(100.0..400.0f64), rng.random_range(0.3..0.8f64)]
            } else {
                [rng.random_range(0.5..40.0f64), rng.random_range(0.5..6.0f64)]
            };
            let angle = rng.random_range(0.0..std::f64::consts::PI);
            let (s, c) = angle.sin_cos();
            // Covariance R diag(sigma^2) R^T and its inverse, the conic.
            let (a, b, d) = (
                c * c * sigma[0].powi(2) + s * s * sigma[1].powi(2),
                c * s * (sigma[0].powi(2) - sigma[1].powi(2)),
                s * s * sigma[0].powi(2) + c * c * sigma[1].powi(2),
            );
            let det = a * d - b * b;
            let conic = [d / det, -b / det, a / det];
            let span = if round % 4 == 0 { -400.0..500.0 } else { 0.0..96.0 };
            let mean = [rng.random_range(span.clone()), rng.random_range(span)];
            let opacity: f64 = rng.random_range(0.01..1.0);
            let extend = opacity_extent(opacity);
            let threshold = 0.5 * extend * extend;
            let radius = [(extend * a.sqrt()).ceil(), (extend * d.sqrt()).ceil()];
            let (lo, hi) = tile_rect(mean, radius, [6, 6]);
            for ty in lo[1]..hi[1] {
                for tx in lo[0]..hi[0] {
                    let c32 = conic.map(|v| v as f32);
                    let reached = (0..16).any(|y| {
                        (0..16).any(|x| {
                            let (dx, dy) = (mean[0] as f32 - ((tx * 16 + x) as f32 + 0.5), mean[1] as f32 - ((ty * 16 + y) as f32 + 0.5));
                            let power = 0.5 * (c32[0] * dx * dx + c32[2] * dy * dy) + c32[1] * dx * dy;
                            power >= 0.0 && (opacity as f32 * (-power).exp()).min(0.999) >= ALPHA_THRESHOLD as f32
                        })
                    });
                    let touched = tile_touched(mean, conic, threshold, [tx, ty]);
                    assert!(
                        touched || !reached,
                        "tile ({tx}, {ty}) of a splat at {mean:?}, conic {conic:?}, opacity {opacity}: a pixel is reached but the tile was dropped"
                    );
                    if touched { kept += 1 } else { dropped += 1 }
                }
            }
        }
        assert!(dropped * 5 > kept, "kept {kept}, dropped {dropped}: elongated splats should leave many tiles of their rectangles");
    }
}
