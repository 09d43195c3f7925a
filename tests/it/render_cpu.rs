//! The GPU renderer against its plain-Rust f64 twin on random scenes: several sizes, SH degrees 0
//! to 3, several cameras per batch, splats off-screen, behind the camera and at the image border.
//! Also: a batch renders exactly what one camera per call renders.

use crate::common::random_scene::{random_splats, random_views};
use rand::{SeedableRng, rngs::StdRng};
use wgsplat::render::{RenderOptions, RenderedImage, Renderer, cpu};
use wgsplat::{GpuContext, Splats};

fn gpu() -> GpuContext {
    pollster::block_on(GpuContext::new()).expect("a GPU adapter (lavapipe in CI)")
}

/// Pixels may differ where f32 and f64 round a threshold (1/255 alpha, 1e-4 transmittance)
/// differently: check the mean error tightly and the count of outliers.
fn assert_close(got: &RenderedImage, want: &RenderedImage, label: &str) {
    assert_eq!((got.width, got.height), (want.width, want.height));
    let mut sum = 0.0f64;
    let mut outliers = 0usize;
    let mut max = 0.0f32;
    for (g, w) in got.rgba.iter().zip(&want.rgba) {
        let err = (0..4).map(|c| (g[c] - w[c]).abs()).fold(0.0f32, f32::max);
        sum += err as f64;
        max = max.max(err);
        if err > 1e-3 {
            outliers += 1;
        }
    }
    let mean = sum / got.rgba.len() as f64;
    let allowed = (got.rgba.len() / 1000).max(2);
    assert!(mean < 2e-5 && outliers <= allowed, "{label}: mean error {mean:e}, {outliers} pixels off by >1e-3 (max {max})");
    let depth_mean =
        got.depth.iter().zip(&want.depth).map(|(a, b)| (a - b).abs() as f64 / (1.0 + b.abs() as f64)).sum::<f64>() / got.depth.len() as f64;
    assert!(depth_mean < 1e-4, "{label}: depth mean relative error {depth_mean:e}");
}

#[test]
fn gpu_matches_cpu_reference_on_random_scenes() {
    let gpu = gpu();
    let mut renderer = Renderer::new(&gpu).unwrap();
    let mut rng = StdRng::seed_from_u64(42);
    for (n, degree, cams, w, h) in
        [(1usize, 0u32, 1usize, 16u32, 16u32), (50, 1, 2, 40, 30), (400, 2, 3, 64, 48), (2000, 3, 4, 97, 61), (5000, 3, 2, 128, 128)]
    {
        let splats = random_splats(&mut rng, n, degree);
        let views = random_views(&mut rng, cams, w, h);
        let gpu_splats = renderer.upload(&gpu, &splats).unwrap();
        let got = pollster::block_on(renderer.render_images(&gpu, &gpu_splats, &views)).unwrap();
        let want = cpu::render(&splats, &views, &RenderOptions::default());
        for (c, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_close(g, w, &format!("N={n} degree={degree} camera {c}"));
        }
        // Something was drawn, so the comparison means something.
        assert!(got.iter().any(|img| img.rgba.iter().any(|p| p[3] > 0.05)), "N={n}: nothing visible");
    }
}

#[test]
fn batch_equals_one_camera_per_call() {
    let gpu = gpu();
    let mut renderer = Renderer::new(&gpu).unwrap();
    let mut rng = StdRng::seed_from_u64(5);
    let splats = random_splats(&mut rng, 3000, 3);
    // Cameras of different sizes in one batch.
    let mut views = random_views(&mut rng, 3, 80, 60);
    views.extend(random_views(&mut rng, 2, 33, 47));
    let gpu_splats = renderer.upload(&gpu, &splats).unwrap();
    let batched = pollster::block_on(renderer.render_images(&gpu, &gpu_splats, &views)).unwrap();
    for (i, view) in views.iter().enumerate() {
        let single = pollster::block_on(renderer.render_images(&gpu, &gpu_splats, std::slice::from_ref(view))).unwrap();
        assert_eq!(single[0], batched[i], "camera {i}");
    }
}

#[test]
fn overflow_grows_and_rerenders() {
    let gpu = gpu();
    let mut renderer = Renderer::new(&gpu).unwrap();
    let mut rng = StdRng::seed_from_u64(9);
    // Large splats touch many tiles each: far more intersections than the initial capacity.
    let mut splats = random_splats(&mut rng, 3000, 0);
    for s in &mut splats.log_scales {
        *s = [-0.5, -0.5, -0.5];
    }
    let views = random_views(&mut rng, 2, 256, 256);
    let before = renderer.intersection_capacity();
    let gpu_splats = renderer.upload(&gpu, &splats).unwrap();
    let got = pollster::block_on(renderer.render_images(&gpu, &gpu_splats, &views)).unwrap();
    assert!(renderer.intersection_capacity() > before, "capacity did not grow");
    let want = cpu::render(&splats, &views, &RenderOptions::default());
    for (g, w) in got.iter().zip(&want) {
        assert_close(g, w, "after growth");
    }
}

#[test]
fn bad_cameras_and_scenes_are_errors() {
    let gpu = gpu();
    let mut renderer = Renderer::new(&gpu).unwrap();
    let mut rng = StdRng::seed_from_u64(1);
    let splats = random_splats(&mut rng, 10, 0);
    let gpu_splats = renderer.upload(&gpu, &splats).unwrap();
    let mut view = random_views(&mut rng, 1, 32, 32)[0];
    view.camera.width = 0;
    let err = pollster::block_on(renderer.render_images(&gpu, &gpu_splats, &[view])).unwrap_err();
    assert!(err.to_string().contains("camera 0"), "{err}");
    let mut nan = splats.clone();
    nan.means[3][1] = f32::NAN;
    let err = renderer.upload(&gpu, &nan).err().expect("NaN scene rejected");
    assert!(err.to_string().contains("splat 3"), "{err}");
    assert!(renderer.upload(&gpu, &Splats::default()).is_err());
}
