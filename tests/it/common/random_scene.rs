//! Random scenes and cameras for renderer tests.

use rand::{Rng, rngs::StdRng};
use wgsplat::render::View;
use wgsplat::render::cpu::backward::ImageGrads;
use wgsplat::scene::sh_coeffs_for_degree;
use wgsplat::{Camera, Splats};

/// Splats in a box around the origin; every tenth far outside it (off-screen, behind cameras).
pub fn random_splats(rng: &mut StdRng, n: usize, degree: u32) -> Splats {
    let k = sh_coeffs_for_degree(degree);
    let mut s = Splats { sh_degree: degree, ..Default::default() };
    for i in 0..n {
        let spread = if i % 10 == 9 { 6.0 } else { 1.2 };
        s.means.push([rng.random_range(-spread..spread), rng.random_range(-spread..spread), rng.random_range(-spread..spread)]);
        s.rotations.push([
            rng.random_range(-1.0..1.0),
            rng.random_range(-1.0..1.0),
            rng.random_range(-1.0..1.0),
            rng.random_range(-1.0..1.0),
        ]);
        let base = rng.random_range(-4.0..-1.5f32);
        s.log_scales.push([base + rng.random_range(-1.0..1.0), base + rng.random_range(-1.0..1.0), base + rng.random_range(-1.0..1.0)]);
        s.opacity_logits.push(rng.random_range(-3.0..4.0));
        for j in 0..k * 3 {
            s.sh.push(if j < 3 { rng.random_range(-1.5..1.5) } else { rng.random_range(-0.4..0.4) });
        }
    }
    s
}

/// Orbit cameras around the origin with off-centre principal points and random backgrounds.
pub fn random_views(rng: &mut StdRng, count: usize, width: u32, height: u32) -> Vec<View> {
    (0..count)
        .map(|_| {
            let yaw = rng.random_range(0.0..std::f32::consts::TAU);
            let pitch = rng.random_range(-0.8..0.8);
            let mut camera = Camera::orbit([0.0; 3], rng.random_range(2.5..4.0), yaw, pitch, 0.9, width, height);
            camera.cx += rng.random_range(-5.0..5.0);
            camera.cy += rng.random_range(-5.0..5.0);
            View { camera, background: [rng.random(), rng.random(), rng.random()] }
        })
        .collect()
}

/// Random dL/d(rgb, alpha, depth) per pixel: the image gradients of a random linear loss.
pub fn random_weights(rng: &mut StdRng, views: &[View]) -> Vec<ImageGrads> {
    views
        .iter()
        .map(|v| {
            let n = (v.camera.width * v.camera.height) as usize;
            ImageGrads {
                rgb: (0..n).map(|_| [rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)]).collect(),
                alpha: (0..n).map(|_| rng.random_range(-1.0..1.0)).collect(),
                depth: (0..n).map(|_| rng.random_range(-0.1..0.1)).collect(),
            }
        })
        .collect()
}
