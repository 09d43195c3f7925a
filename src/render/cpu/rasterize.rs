//! CPU twin of src/render/shaders/rasterize.wgsl: per pixel, the splats whose intersections hold the
//! pixel's tile (`ProjectedSplat::touches`), front to back by depth (ties by index, as the
//! stable sorts give).

use super::project::{ProjectedSplat, depth_sort_key};
use crate::Camera;
use crate::render::RenderedImage;

pub fn rasterize(projected: &[Option<ProjectedSplat>], camera: &Camera, background: [f32; 3]) -> RenderedImage {
    let pixels = rasterize64(projected, camera, background);
    RenderedImage {
        width: camera.width,
        height: camera.height,
        rgba: pixels.iter().map(|(rgb, a, _)| [rgb[0] as f32, rgb[1] as f32, rgb[2] as f32, *a as f32]).collect(),
        depth: pixels.iter().map(|p| p.2 as f32).collect(),
    }
}

/// Per pixel in f64: (rgb with background, alpha, depth).
pub fn rasterize64(projected: &[Option<ProjectedSplat>], camera: &Camera, background: [f32; 3]) -> Vec<([f64; 3], f64, f64)> {
    let (width, height) = (camera.width, camera.height);
    let mut order: Vec<usize> = (0..projected.len()).filter(|&i| projected[i].is_some()).collect();
    order.sort_by(|&a, &b| {
        let key = |i: usize| projected[i].map_or(0, |p| depth_sort_key(p.depth as f32));
        key(a).cmp(&key(b)).then(a.cmp(&b))
    });
    let mut out = vec![([0.0f64; 3], 0.0f64, 0.0f64); (width * height) as usize];
    for py in 0..height {
        for px in 0..width {
            let (tx, ty) = (px / 16, py / 16);
            let pixel = [px as f64 + 0.5, py as f64 + 0.5];
            let mut t = 1.0f64;
            let mut rgb = [0.0f64; 3];
            let mut depth = 0.0f64;
            for &i in &order {
                let Some(s) = projected[i] else { continue };
                if !s.touches(tx, ty) {
                    continue;
                }
                let (dx, dy) = (s.mean2d[0] - pixel[0], s.mean2d[1] - pixel[1]);
                let power = 0.5 * (s.conic[0] * dx * dx + s.conic[2] * dy * dy) + s.conic[1] * dx * dy;
                if power < 0.0 {
                    continue;
                }
                let alpha = (s.opacity * (-power).exp()).min(0.999);
                if alpha < 1.0 / 255.0 {
                    continue;
                }
                let next_t = t * (1.0 - alpha);
                if next_t <= 1e-4 {
                    break;
                }
                let weight = alpha * t;
                for c in 0..3 {
                    rgb[c] += s.color[c] * weight;
                }
                depth += s.depth * weight;
                t = next_t;
            }
            let bg = background.map(f64::from);
            out[(py * width + px) as usize] = ([rgb[0] + t * bg[0], rgb[1] + t * bg[1], rgb[2] + t * bg[2]], 1.0 - t, depth);
        }
    }
    out
}
