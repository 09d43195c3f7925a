//! CPU twin of shaders/rasterize.wgsl: per pixel, the splats whose tile rectangle covers the
//! pixel's tile, front to back by depth (ties by index, as the stable sorts give).

use super::project::ProjectedSplat;
use crate::Camera;
use crate::render::RenderedImage;

pub fn rasterize(projected: &[Option<ProjectedSplat>], camera: &Camera, background: [f32; 3]) -> RenderedImage {
    let (width, height) = (camera.width, camera.height);
    let mut order: Vec<usize> = (0..projected.len()).filter(|&i| projected[i].is_some()).collect();
    order.sort_by(|&a, &b| {
        let (da, db) = (projected[a].map_or(0.0, |p| p.depth as f32), projected[b].map_or(0.0, |p| p.depth as f32));
        da.total_cmp(&db).then(a.cmp(&b))
    });
    let mut rgba = vec![[0.0f32; 4]; (width * height) as usize];
    let mut depth_out = vec![0.0f32; (width * height) as usize];
    for py in 0..height {
        for px in 0..width {
            let (tx, ty) = (px / 16, py / 16);
            let pixel = [px as f64 + 0.5, py as f64 + 0.5];
            let mut t = 1.0f64;
            let mut rgb = [0.0f64; 3];
            let mut depth = 0.0f64;
            for &i in &order {
                let Some(s) = projected[i] else { continue };
                if tx < s.tile_min[0] || tx >= s.tile_max[0] || ty < s.tile_min[1] || ty >= s.tile_max[1] {
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
            let at = (py * width + px) as usize;
            rgba[at] = [
                (rgb[0] + t * background[0] as f64) as f32,
                (rgb[1] + t * background[1] as f64) as f32,
                (rgb[2] + t * background[2] as f64) as f32,
                (1.0 - t) as f32,
            ];
            depth_out[at] = depth as f32;
        }
    }
    RenderedImage { width, height, rgba, depth: depth_out }
}
