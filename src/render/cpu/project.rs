//! CPU twin of shaders/project.wgsl.

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

/// The tile rectangle of a splat, as in shaders/shared/tiles.wgsl.
pub fn tile_rect(mean: [f64; 2], radius: [f64; 2], tiles: [u32; 2]) -> ([u32; 2], [u32; 2]) {
    let mut lo = [0; 2];
    let mut hi = [0; 2];
    for a in 0..2 {
        lo[a] = ((mean[a] - radius[a]) / TILE).floor().clamp(0.0, tiles[a] as f64) as u32;
        hi[a] = ((mean[a] + radius[a]) / TILE).ceil().clamp(0.0, tiles[a] as f64) as u32;
    }
    (lo, hi)
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

/// Projects every splat into `camera`; `None` where it is culled.
pub fn project(splats: &Splats, camera: &Camera, options: &RenderOptions) -> Vec<Option<ProjectedSplat>> {
    project64(&SplatParams64::from_splats(splats), camera, options)
}

/// `project` on f64 parameters.
pub fn project64(splats: &SplatParams64, camera: &Camera, options: &RenderOptions) -> Vec<Option<ProjectedSplat>> {
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
            let rs = [[rot[0][0] * s[0], rot[0][1] * s[1], rot[0][2] * s[2]], [rot[1][0] * s[0], rot[1][1] * s[1], rot[1][2] * s[2]], [
                rot[2][0] * s[0],
                rot[2][1] * s[1],
                rot[2][2] * s[2],
            ]];
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
            let extend = 3.33f64.min((2.0 * (opacity / ALPHA_THRESHOLD).ln()).sqrt());
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
