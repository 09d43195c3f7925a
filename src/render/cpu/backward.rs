//! CPU twin of the backward pass (rasterize_backward.wgsl, project_backward.wgsl): gradients of
//! a loss with respect to every splat parameter, given the loss's gradients with respect to the
//! rendered images. f64 throughout; the tests check it against finite differences.

use super::project::{ProjectedSplat, SplatParams64, depth_sort_key, mul, project64, quat_to_mat, transpose};
use super::sh::{sh_basis, sh_basis_grad};
use crate::render::{RenderOptions, View};

/// dL/d(output) per pixel of one image.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImageGrads {
    pub rgb: Vec<[f64; 3]>,
    pub alpha: Vec<f64>,
    pub depth: Vec<f64>,
}

/// Gradients with respect to one splat's projection in one camera.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Grads2d {
    pub mean2d: [f64; 2],
    pub conic: [f64; 3],
    pub opacity: f64,
    pub color: [f64; 3],
    pub depth: f64,
}

/// Gradients with respect to the splat parameters, in the layout of `SplatParams64`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SplatGrads {
    pub means: Vec<[f64; 3]>,
    pub quats: Vec<[f64; 4]>,
    pub log_scales: Vec<[f64; 3]>,
    pub opacity_logits: Vec<f64>,
    pub sh: Vec<f64>,
}

impl SplatGrads {
    pub fn zeros(n: usize, coeffs: usize) -> Self {
        Self {
            means: vec![[0.0; 3]; n],
            quats: vec![[0.0; 4]; n],
            log_scales: vec![[0.0; 3]; n],
            opacity_logits: vec![0.0; n],
            sh: vec![0.0; n * coeffs * 3],
        }
    }
}

/// Per pixel, walk the blended splats back to front and hand each its share of the gradient.
pub fn rasterize_backward(projected: &[Option<ProjectedSplat>], view: &View, grads: &ImageGrads) -> Vec<Grads2d> {
    let camera = &view.camera;
    let bg = view.background.map(f64::from);
    let mut out = vec![Grads2d::default(); projected.len()];
    let mut order: Vec<usize> = (0..projected.len()).filter(|&i| projected[i].is_some()).collect();
    order.sort_by(|&a, &b| {
        let key = |i: usize| projected[i].map_or(0, |p| depth_sort_key(p.depth as f32));
        key(a).cmp(&key(b)).then(a.cmp(&b))
    });
    for py in 0..camera.height {
        for px in 0..camera.width {
            let (tx, ty) = (px / 16, py / 16);
            let pixel = [px as f64 + 0.5, py as f64 + 0.5];
            // Forward again, remembering who blended: (splat, alpha, vis, delta).
            let mut blended: Vec<(usize, f64, f64, [f64; 2])> = Vec::new();
            let mut t = 1.0f64;
            for &i in &order {
                let Some(s) = projected[i] else { continue };
                if !s.touches(tx, ty) {
                    continue;
                }
                let d = [s.mean2d[0] - pixel[0], s.mean2d[1] - pixel[1]];
                let power = 0.5 * (s.conic[0] * d[0] * d[0] + s.conic[2] * d[1] * d[1]) + s.conic[1] * d[0] * d[1];
                if power < 0.0 {
                    continue;
                }
                let vis = (-power).exp();
                let alpha = (s.opacity * vis).min(0.999);
                if alpha < 1.0 / 255.0 {
                    continue;
                }
                let next_t = t * (1.0 - alpha);
                if next_t <= 1e-4 {
                    break;
                }
                blended.push((i, alpha, vis, d));
                t = next_t;
            }
            let at = (py * camera.width + px) as usize;
            let (v_rgb, v_alpha_out, v_depth_out) = (grads.rgb[at], grads.alpha[at], grads.depth[at]);
            // Walking back from the last blended splat, t is divided back to each splat's own.
            let t_final = t;
            let mut behind_rgb = [0.0f64; 3];
            let mut behind_depth = 0.0f64;
            let bg_dot = (0..3).map(|c| bg[c] * v_rgb[c]).sum::<f64>();
            for &(i, alpha, vis, d) in blended.iter().rev() {
                let s = projected[i].expect("blended splats are visible");
                let ra = 1.0 / (1.0 - alpha);
                t *= ra;
                let weight = alpha * t;
                let g = &mut out[i];
                let mut v_alpha = 0.0;
                for c in 0..3 {
                    g.color[c] += weight * v_rgb[c];
                    v_alpha += (s.color[c] * t - behind_rgb[c] * ra) * v_rgb[c];
                }
                g.depth += weight * v_depth_out;
                v_alpha += (s.depth * t - behind_depth * ra) * v_depth_out;
                v_alpha += t_final * ra * v_alpha_out - t_final * ra * bg_dot;
                if s.opacity * vis <= 0.999 {
                    let v_power = -s.opacity * vis * v_alpha;
                    g.conic[0] += 0.5 * v_power * d[0] * d[0];
                    g.conic[1] += v_power * d[0] * d[1];
                    g.conic[2] += 0.5 * v_power * d[1] * d[1];
                    g.mean2d[0] += v_power * (s.conic[0] * d[0] + s.conic[1] * d[1]);
                    g.mean2d[1] += v_power * (s.conic[1] * d[0] + s.conic[2] * d[1]);
                    g.opacity += vis * v_alpha;
                }
                for c in 0..3 {
                    behind_rgb[c] += s.color[c] * weight;
                }
                behind_depth += s.depth * weight;
            }
        }
    }
    out
}

/// dL/dR for R = rotation(normalize(q)) -> dL/dq (q = w, x, y, z, not normalized).
pub fn quat_backward(q: [f64; 4], v_r: &[[f64; 3]; 3]) -> [f64; 4] {
    let norm = q.iter().map(|v| v * v).sum::<f64>().sqrt();
    let [w, x, y, z] = q.map(|v| v / norm);
    let g = v_r;
    let v_n = [
        2.0 * (-z * g[0][1] + y * g[0][2] + z * g[1][0] - x * g[1][2] - y * g[2][0] + x * g[2][1]),
        2.0 * (y * g[0][1] + z * g[0][2] + y * g[1][0] - 2.0 * x * g[1][1] - w * g[1][2] + z * g[2][0] + w * g[2][1] - 2.0 * x * g[2][2]),
        2.0 * (-2.0 * y * g[0][0] + x * g[0][1] + w * g[0][2] + x * g[1][0] + z * g[1][2] - w * g[2][0] + z * g[2][1] - 2.0 * y * g[2][2]),
        2.0 * (-2.0 * z * g[0][0] - w * g[0][1] + x * g[0][2] + w * g[1][0] - 2.0 * z * g[1][1] + y * g[1][2] + x * g[2][0] + y * g[2][1]),
    ];
    let qn = [w, x, y, z];
    let dot = (0..4).map(|i| qn[i] * v_n[i]).sum::<f64>();
    std::array::from_fn(|i| (v_n[i] - qn[i] * dot) / norm)
}

/// Adds the gradients of one camera's projections to the splat parameters' gradients.
pub fn project_backward(
    params: &SplatParams64,
    view: &View,
    options: &RenderOptions,
    projected: &[Option<ProjectedSplat>],
    grads2d: &[Grads2d],
    out: &mut SplatGrads,
) {
    let camera = &view.camera;
    let k = params.coeffs_per_splat();
    let w2c = camera.world_to_camera.map(|row| row.map(f64::from));
    let rv = [[w2c[0][0], w2c[0][1], w2c[0][2]], [w2c[1][0], w2c[1][1], w2c[1][2]], [w2c[2][0], w2c[2][1], w2c[2][2]]];
    let center = camera.center().map(f64::from);
    let (fx, fy, cx, cy) = (camera.fx as f64, camera.fy as f64, camera.cx as f64, camera.cy as f64);
    let (w, h) = (camera.width as f64, camera.height as f64);
    let _ = options;
    for i in 0..params.len() {
        let Some(p) = projected[i] else { continue };
        let g = grads2d[i];
        let m = params.means[i];
        let mc: [f64; 3] = std::array::from_fn(|r| (0..3).map(|c| rv[r][c] * m[c]).sum::<f64>() + w2c[r][3]);
        let rot = quat_to_mat(params.quats[i]);
        let s = params.log_scales[i].map(f64::exp);
        let mm: [[f64; 3]; 3] = std::array::from_fn(|r| std::array::from_fn(|c| rot[r][c] * s[c]));
        let cov_w = mul(&mm, &transpose(&mm));
        let cov_c = mul(&mul(&rv, &cov_w), &transpose(&rv));

        // Opacity.
        out.opacity_logits[i] += g.opacity * p.opacity * (1.0 - p.opacity);

        // Conic -> 2D covariance: d(inv A) = -inv(A) dA inv(A).
        let conic = [[p.conic[0], p.conic[1]], [p.conic[1], p.conic[2]]];
        let v_conic = [[g.conic[0], 0.5 * g.conic[1]], [0.5 * g.conic[1], g.conic[2]]];
        let mut v_cov2 = [[0.0f64; 2]; 2];
        for r in 0..2 {
            for c in 0..2 {
                v_cov2[r][c] = -(0..2).map(|a| (0..2).map(|b| conic[r][a] * v_conic[a][b] * conic[b][c]).sum::<f64>()).sum::<f64>();
            }
        }

        // 2D covariance -> camera covariance and the Jacobian.
        let (tan_fovx, tan_fovy) = (0.5 * w / fx, 0.5 * h / fy);
        let lim_x_pos = (w - cx) / fx + 0.3 * tan_fovx;
        let lim_x_neg = cx / fx + 0.3 * tan_fovx;
        let lim_y_pos = (h - cy) / fy + 0.3 * tan_fovy;
        let lim_y_neg = cy / fy + 0.3 * tan_fovy;
        let z = mc[2];
        let rz = 1.0 / z;
        let (ux, uy) = (mc[0] * rz, mc[1] * rz);
        let x_clamped = ux > lim_x_pos || ux < -lim_x_neg;
        let y_clamped = uy > lim_y_pos || uy < -lim_y_neg;
        let tx = z * ux.max(-lim_x_neg).min(lim_x_pos);
        let ty = z * uy.max(-lim_y_neg).min(lim_y_pos);
        let j = [[fx * rz, 0.0, -fx * tx * rz * rz], [0.0, fy * rz, -fy * ty * rz * rz]];
        // v_C = J^T G J, v_J = 2 G J C.
        let mut v_cc = [[0.0f64; 3]; 3];
        for r in 0..3 {
            for c in 0..3 {
                v_cc[r][c] = (0..2).map(|a| (0..2).map(|b| j[a][r] * v_cov2[a][b] * j[b][c]).sum::<f64>()).sum();
            }
        }
        let mut v_j = [[0.0f64; 3]; 2];
        for r in 0..2 {
            for c in 0..3 {
                v_j[r][c] = 2.0 * (0..2).map(|a| (0..3).map(|b| v_cov2[r][a] * j[a][b] * cov_c[b][c]).sum::<f64>()).sum::<f64>();
            }
        }

        // Camera-space mean: through the 2D mean, the depth and the Jacobian.
        let mut v_mc = [0.0f64; 3];
        v_mc[0] += fx * rz * g.mean2d[0];
        v_mc[1] += fy * rz * g.mean2d[1];
        v_mc[2] += -fx * mc[0] * rz * rz * g.mean2d[0] - fy * mc[1] * rz * rz * g.mean2d[1];
        v_mc[2] += g.depth;
        v_mc[2] += -fx * rz * rz * v_j[0][0] - fy * rz * rz * v_j[1][1];
        if x_clamped {
            v_mc[2] += fx * tx * rz * rz * rz * v_j[0][2];
        } else {
            v_mc[0] += -fx * rz * rz * v_j[0][2];
            v_mc[2] += 2.0 * fx * tx * rz * rz * rz * v_j[0][2];
        }
        if y_clamped {
            v_mc[2] += fy * ty * rz * rz * rz * v_j[1][2];
        } else {
            v_mc[1] += -fy * rz * rz * v_j[1][2];
            v_mc[2] += 2.0 * fy * ty * rz * rz * rz * v_j[1][2];
        }
        for c in 0..3 {
            out.means[i][c] += (0..3).map(|r| rv[r][c] * v_mc[r]).sum::<f64>();
        }

        // World covariance -> scales and rotation.
        let v_cov_w = mul(&mul(&transpose(&rv), &v_cc), &rv);
        let sym: [[f64; 3]; 3] = std::array::from_fn(|r| std::array::from_fn(|c| v_cov_w[r][c] + v_cov_w[c][r]));
        let v_m = mul(&sym, &mm);
        let v_rot: [[f64; 3]; 3] = std::array::from_fn(|r| std::array::from_fn(|c| v_m[r][c] * s[c]));
        for c in 0..3 {
            let v_s = (0..3).map(|r| v_m[r][c] * rot[r][c]).sum::<f64>();
            out.log_scales[i][c] += v_s * s[c];
        }
        let v_q = quat_backward(params.quats[i], &v_rot);
        for a in 0..4 {
            out.quats[i][a] += v_q[a];
        }

        // Colour: SH coefficients and the view direction.
        let d = [m[0] - center[0], m[1] - center[1], m[2] - center[2]];
        let dn = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
        let dir = [d[0] / dn, d[1] / dn, d[2] / dn];
        let basis = sh_basis(params.sh_degree, dir);
        let basis_grad = sh_basis_grad(params.sh_degree, dir);
        let coeffs = &params.sh[i * k * 3..(i + 1) * k * 3];
        let mut v_dir = [0.0f64; 3];
        for ch in 0..3 {
            let raw = (0..k).map(|j| basis[j] * coeffs[3 * j + ch]).sum::<f64>() + 0.5;
            if raw <= 0.0 {
                continue;
            }
            let v = g.color[ch];
            for jj in 0..k {
                out.sh[(i * k + jj) * 3 + ch] += basis[jj] * v;
                for a in 0..3 {
                    v_dir[a] += v * coeffs[3 * jj + ch] * basis_grad[jj][a];
                }
            }
        }
        let dot = (0..3).map(|a| dir[a] * v_dir[a]).sum::<f64>();
        for a in 0..3 {
            out.means[i][a] += (v_dir[a] - dir[a] * dot) / dn;
        }
    }
}

/// Gradients of the splat parameters for a loss whose image gradients are `image_grads`.
pub fn backward(params: &SplatParams64, views: &[View], options: &RenderOptions, image_grads: &[ImageGrads]) -> SplatGrads {
    let mut out = SplatGrads::zeros(params.len(), params.coeffs_per_splat());
    for (view, grads) in views.iter().zip(image_grads) {
        let projected = project64(params, &view.camera, options);
        let grads2d = rasterize_backward(&projected, view, grads);
        project_backward(params, view, options, &projected, &grads2d, &mut out);
    }
    out
}

/// sum(rgb * w.rgb) + sum(alpha * w.alpha) + sum(depth * w.depth) over all views: a loss whose
/// image gradients are the weights themselves.
pub fn weighted_sum_loss(params: &SplatParams64, views: &[View], options: &RenderOptions, weights: &[ImageGrads]) -> f64 {
    let mut loss = 0.0;
    for (view, w) in views.iter().zip(weights) {
        let projected = project64(params, &view.camera, options);
        let image = super::rasterize::rasterize64(&projected, &view.camera, view.background);
        for (p, px) in image.iter().enumerate() {
            loss += (0..3).map(|c| px.0[c] * w.rgb[p][c]).sum::<f64>() + px.1 * w.alpha[p] + px.2 * w.depth[p];
        }
    }
    loss
}
