//! The GPU loss (0.8 L1 + 0.2 D-SSIM) against the CPU reference: its value through the per-tile
//! sums, and its gradient against central finite differences of the CPU loss, for three views of
//! different sizes in one batch (edge tiles cut in both directions); the ground truth RGBA8
//! (composited by the loss) or RGB8 composited on upload (3 bytes a pixel, straddling words).

use rand::{Rng, SeedableRng, rngs::StdRng};
use wgsplat::GpuContext;
use wgsplat::kernel::buffers;
use wgsplat::train::images::{GroundTruth, composite_rgb8};
use wgsplat::train::loss::{GtView, LossPass, layout_views};
use wgsplat::train::metrics::{RgbImage, ssim};

struct View {
    width: usize,
    height: usize,
    pred: Vec<[f32; 3]>,
    gt_rgba: Vec<[u8; 4]>,
    background: [f32; 3],
    /// The ground truth as the GPU gets it: composited to RGB8 first.
    rgb8: bool,
}

impl View {
    fn gt_bytes(&self) -> Vec<u8> {
        let rgba: Vec<u8> = self.gt_rgba.iter().flatten().copied().collect();
        if self.rgb8 { composite_rgb8(&rgba, self.background) } else { rgba }
    }

    fn gt_rgb(&self) -> Vec<[f32; 3]> {
        if self.rgb8 {
            let bytes = self.gt_bytes();
            return (0..self.width * self.height).map(|p| std::array::from_fn(|c| bytes[p * 3 + c] as f32 / 255.0)).collect();
        }
        self.gt_rgba
            .iter()
            .map(|p| {
                let a = p[3] as f32 / 255.0;
                std::array::from_fn(|c| p[c] as f32 / 255.0 * a + self.background[c] * (1.0 - a))
            })
            .collect()
    }

    fn loss(&self, pred: &[[f32; 3]]) -> f64 {
        let gt = self.gt_rgb();
        let n = (self.width * self.height * 3) as f64;
        let l1 = pred.iter().zip(&gt).map(|(p, g)| (0..3).map(|c| (p[c] as f64 - g[c] as f64).abs()).sum::<f64>()).sum::<f64>() / n;
        let s = ssim(
            &RgbImage { width: self.width, height: self.height, rgb: pred },
            &RgbImage { width: self.width, height: self.height, rgb: &gt },
        );
        0.8 * l1 + 0.2 * (1.0 - s)
    }
}

#[test]
fn gpu_loss_and_gradient_match_cpu() {
    check_loss(false);
}

#[test]
fn gpu_loss_over_composited_rgb8_ground_truth_matches_cpu() {
    check_loss(true);
}

fn check_loss(rgb8: bool) {
    let gpu = pollster::block_on(GpuContext::new()).expect("a GPU adapter (lavapipe in CI)");
    let mut rng = StdRng::seed_from_u64(4 + rgb8 as u64);
    let views: Vec<View> = [(23usize, 17usize), (40, 33), (37, 50)]
        .into_iter()
        .map(|(width, height)| {
            let n = width * height;
            View {
                width,
                height,
                pred: (0..n).map(|_| std::array::from_fn(|_| rng.random_range(0.0..1.0))).collect(),
                gt_rgba: (0..n)
                    .map(|_| [rng.random(), rng.random(), rng.random(), if rng.random_bool(0.7) { 255 } else { rng.random() }])
                    .collect(),
                background: [rng.random(), rng.random(), rng.random()],
                rgb8,
            }
        })
        .collect();
    let mut gt: Vec<u8> = Vec::new();
    let layout = layout_views(
        &views
            .iter()
            .map(|v| {
                let offset = gt.len() as u32 / 4;
                gt.extend(v.gt_bytes());
                GtView { width: v.width as u32, height: v.height as u32, offset, background: v.background, rgb8 }
            })
            .collect::<Vec<_>>(),
    );
    let pred: Vec<[f32; 4]> = views.iter().flat_map(|v| v.pred.iter().map(|p| [p[0], p[1], p[2], 1.0])).collect();
    let pred_buf = buffers::storage_init(&gpu.device, "pred", &pred);
    let gt_buf = buffers::storage_init(&gpu.device, "gt", &gt);
    let mut pass = LossPass::new(&gpu);
    pass.submit(&gpu, &layout, &pred_buf, &GroundTruth::whole(gt_buf), None, |_| {});
    let tiles: u64 = layout.iter().map(|v| v.tiles() as u64).sum();
    let partials: Vec<[f32; 4]> = pollster::block_on(buffers::read_u32s(&gpu, &pass.partials, tiles * 16))
        .unwrap()
        .chunks(4)
        .map(|c| [f32::from_bits(c[0]), f32::from_bits(c[1]), f32::from_bits(c[2]), f32::from_bits(c[3])])
        .collect::<Vec<[f32; 4]>>();
    let grads: Vec<f32> = pollster::block_on(buffers::read_u32s(&gpu, &pass.v_pred, pred.len() as u64 * 16))
        .unwrap()
        .into_iter()
        .map(f32::from_bits)
        .collect();
    let metrics = LossPass::metrics_from_partials(&layout, &partials);

    let batch = views.len() as f64;
    let mut offset = 0usize;
    for (vi, view) in views.iter().enumerate() {
        let want = view.loss(&view.pred);
        assert!((metrics[vi].loss() - want).abs() < 1e-4, "view {vi}: GPU loss {} vs CPU {want}", metrics[vi].loss());
        let gt = view.gt_rgb();
        let mse = view.pred.iter().zip(&gt).map(|(p, g)| (0..3).map(|c| (p[c] as f64 - g[c] as f64).powi(2)).sum::<f64>()).sum::<f64>()
            / (view.pred.len() * 3) as f64;
        assert!((metrics[vi].mse - mse).abs() < 1e-5, "view {vi}: GPU MSE {} vs CPU {mse}", metrics[vi].mse);
        // Gradient of the batch loss (mean over views) at a sample of pixels and channels.
        let h = 1e-3;
        let mut worst = 0.0f64;
        for _ in 0..40 {
            let p = rng.random_range(0..view.pred.len());
            let c = rng.random_range(0..3);
            let mut plus = view.pred.clone();
            plus[p][c] += h as f32;
            let mut minus = view.pred.clone();
            minus[p][c] -= h as f32;
            let numeric = (view.loss(&plus) - view.loss(&minus)) / (2.0 * h) / batch;
            let analytic = grads[(offset + p) * 4 + c] as f64;
            let scale = numeric.abs().max(analytic.abs()).max(1e-5);
            worst = worst.max((numeric - analytic).abs() / scale);
        }
        assert!(worst < 2e-2, "view {vi}: worst relative gradient error {worst}");
        offset += view.pred.len();
    }
}

/// The SSIM partials of one pixel (shaders/shared/ssim_pixel.wgsl, what the loss blurs into its
/// gradient) on the GPU, at given window moments: (mu_x, mu_y, E[x^2], E[y^2], E[xy]) in,
/// (ssim, d/d mu_x, d/d E[x^2], d/d E[xy]) out.
fn ssim_pixels_on_gpu(gpu: &GpuContext, moments: &[[f32; 5]]) -> Vec<[f32; 4]> {
    let source = wgsplat::kernel::shader::assemble_source(
        &wgsplat::shaders::LIBRARY,
        "#import ssim_pixel
@group(0) @binding(0) var<storage, read> moments: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    if i >= arrayLength(&out) / 4u {
        return;
    }
    let p = ssim_pixel(moments[5u * i], moments[5u * i + 1u], moments[5u * i + 2u], moments[5u * i + 3u], moments[5u * i + 4u]);
    out[4u * i] = p.ssim;
    out[4u * i + 1u] = p.d_mu_x;
    out[4u * i + 2u] = p.d_ex2;
    out[4u * i + 3u] = p.d_exy;
}",
        &[],
        false,
    );
    let device = &gpu.device;
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("ssim_pixel test"),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: None,
        layout: None,
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    });
    let input = buffers::storage_init(device, "moments", moments);
    let output = buffers::storage(device, "ssim pixels", moments.len() as u64 * 16);
    let bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &pipeline.get_bind_group_layout(0),
        entries: &[
            wgpu::BindGroupEntry { binding: 0, resource: input.as_entire_binding() },
            wgpu::BindGroupEntry { binding: 1, resource: output.as_entire_binding() },
        ],
    });
    let mut encoder = device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind, &[]);
        pass.dispatch_workgroups((moments.len() as u32).div_ceil(64), 1, 1);
    }
    gpu.queue.submit([encoder.finish()]);
    let words = pollster::block_on(buffers::read_u32s(gpu, &output, moments.len() as u64 * 16)).unwrap();
    words.chunks(4).map(|c| std::array::from_fn(|j| f32::from_bits(c[j]))).collect()
}

/// SSIM and its partials in f64, from the textbook formula (fine wherever b is not 0).
fn ssim_pixel_f64(m: [f32; 5]) -> [f64; 4] {
    let [mu_x, mu_y, ex2, ey2, exy] = m.map(f64::from);
    let (c1, c2) = (0.0001f32 as f64, 0.0009f32 as f64);
    let (var_x, var_y, cov) = (ex2 - mu_x * mu_x, ey2 - mu_y * mu_y, exy - mu_x * mu_y);
    let (a, b, cc, dd) = (2.0 * mu_x * mu_y + c1, 2.0 * cov + c2, mu_x * mu_x + mu_y * mu_y + c1, var_x + var_y + c2);
    let s = a * b / (cc * dd);
    [s, s * (2.0 * mu_y / a - 2.0 * mu_y / b - 2.0 * mu_x / cc + 2.0 * mu_x / dd), -s / dd, 2.0 * s / b]
}

/// #27: where a window's covariance cancels C2 exactly (b = 2 cov + C2 = 0), the partials used to
/// divide by b: s / b = 0 / 0, a NaN that the backward blur spread over the window, into one
/// colour channel's gradient and from there into every splat covering those pixels (the
/// non-finite splats of lego runs on the browser's path; the probe found blue SH and the
/// opacity, mean, rotation and scale of every splat on those pixels broken at once). At that
/// point the partials must be finite and equal the formula's limit; elsewhere (random moments)
/// they must equal the textbook formula.
#[test]
fn the_ssim_partials_stay_finite_where_the_covariance_cancels_c2() {
    let gpu = pollster::block_on(GpuContext::new()).expect("a GPU adapter (lavapipe in CI)");
    let half_c2 = 0.0009f32 / 2.0; // exact: halving an f32
    // b = 0 exactly: cov = E[xy] - mu_x mu_y = -C2 / 2, with mu_x = 0 (and a dark pixel too).
    let mut cases = vec![[0.0, 0.5, 0.01, 0.3, -half_c2], [0.0, 0.02, 0.0009, 0.0012, -half_c2], [0.0, 0.0, 0.0, 0.0, -half_c2]];
    let mut rng = StdRng::seed_from_u64(27);
    for _ in 0..500 {
        let (mu_x, mu_y): (f32, f32) = (rng.random_range(0.0..1.0), rng.random_range(0.0..1.0));
        // Standard deviations away from 0: E[x^2] - mu^2 cancels in f32 for tiny ones, whatever
        // the formula.
        let (sx, sy): (f32, f32) = (rng.random_range(0.05..0.3), rng.random_range(0.05..0.3));
        let rho: f32 = rng.random_range(-1.0..1.0);
        cases.push([mu_x, mu_y, mu_x * mu_x + sx * sx, mu_y * mu_y + sy * sy, mu_x * mu_y + rho * sx * sy]);
    }
    // What the partials were (in f32, as the shader computed them): NaN at b = 0.
    let [mu_x, mu_y, ex2, ey2, exy] = cases[0];
    let (a, b) = (2.0 * mu_x * mu_y + 0.0001f32, 2.0 * (exy - mu_x * mu_y) + 0.0009f32);
    let s = a * b / ((mu_x * mu_x + mu_y * mu_y + 0.0001) * (ex2 - mu_x * mu_x + ey2 - mu_y * mu_y + 0.0009));
    assert!(b == 0.0 && (2.0 * s / b).is_nan(), "the case is the one that broke: b = {b}");
    let got = ssim_pixels_on_gpu(&gpu, &cases);
    for (i, (m, g)) in cases.iter().zip(&got).enumerate() {
        assert!(g.iter().all(|v| v.is_finite()), "case {i} {m:?}: {g:?}");
        let want = if i < 3 {
            // The limit at b = 0: s = 0, d/d mu_x = -2 mu_y a / (cc dd), d/d E[x^2] = 0,
            // d/d E[xy] = 2 a / (cc dd).
            let [mu_x, mu_y, ex2, ey2, _] = m.map(f64::from);
            let (a, cc, dd) =
                (2.0 * mu_x * mu_y + 0.0001, mu_x * mu_x + mu_y * mu_y + 0.0001, ex2 - mu_x * mu_x + ey2 - mu_y * mu_y + 0.0009);
            [0.0, -2.0 * mu_y * a / (cc * dd), 0.0, 2.0 * a / (cc * dd)]
        } else {
            ssim_pixel_f64(*m)
        };
        for k in 0..4 {
            let scale = want[k].abs().max(1.0);
            assert!((g[k] as f64 - want[k]).abs() <= 2e-3 * scale, "case {i} {m:?}: output {k} is {} instead of {}", g[k], want[k]);
        }
    }
}
