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
        let s = ssim(&RgbImage { width: self.width, height: self.height, rgb: pred }, &RgbImage { width: self.width, height: self.height, rgb: &gt });
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
                gt_rgba: (0..n).map(|_| [rng.random(), rng.random(), rng.random(), if rng.random_bool(0.7) { 255 } else { rng.random() }]).collect(),
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
    let partials: Vec<[f32; 4]> = pollster::block_on(buffers::read_u32s(&gpu, &pass.partials, tiles * 16)).unwrap().chunks(4).map(|c| [f32::from_bits(c[0]), f32::from_bits(c[1]), f32::from_bits(c[2]), f32::from_bits(c[3])]).collect::<Vec<[f32; 4]>>();
    let grads: Vec<f32> = pollster::block_on(buffers::read_u32s(&gpu, &pass.v_pred, pred.len() as u64 * 16)).unwrap().into_iter().map(f32::from_bits).collect();
    let metrics = LossPass::metrics_from_partials(&layout, &partials);

    let batch = views.len() as f64;
    let mut offset = 0usize;
    for (vi, view) in views.iter().enumerate() {
        let want = view.loss(&view.pred);
        assert!((metrics[vi].loss() - want).abs() < 1e-4, "view {vi}: GPU loss {} vs CPU {want}", metrics[vi].loss());
        let gt = view.gt_rgb();
        let mse = view.pred.iter().zip(&gt).map(|(p, g)| (0..3).map(|c| (p[c] as f64 - g[c] as f64).powi(2)).sum::<f64>()).sum::<f64>() / (view.pred.len() * 3) as f64;
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
