//! Evaluation: PSNR and SSIM of rendered views against their images, predictions clamped to
//! [0, 1], on one device.

use super::device::Device;
use super::error::TrainError;
use super::images::GpuImages;
use super::loss::{LossPass, layout_eval_views, partials_bytes};
use super::views::TrainView;
use crate::kernel::buffers;
use crate::render::{GpuSplats, RenderError, STATUS_BYTES, View};

/// PSNR and SSIM over a set of views, predictions clamped to [0, 1].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EvalResult {
    pub step: u32,
    pub views: usize,
    pub psnr: f64,
    pub ssim: f64,
    pub l1: f64,
    pub splats: u32,
    pub per_view: Vec<(String, f64, f64)>,
}

/// Renders `views` (images in `images`) of `scene` (the device's own splats without one) over
/// `background`, `batch` at a time, and measures them: each batch is rendered once, its loss
/// sums and the render's status read back together (a batch whose intersections did not fit is
/// rendered again with grown buffers). `step` is the step the result is of.
pub async fn evaluate(
    device: &mut Device,
    scene: Option<&GpuSplats>,
    views: &[TrainView],
    images: &mut GpuImages,
    batch: usize,
    background: [f32; 3],
    step: u32,
) -> Result<EvalResult, TrainError> {
    let gpu = &device.gpu;
    let splats = scene.unwrap_or(&device.splats);
    let mut per_view = Vec::new();
    for chunk in views.chunks(batch.max(1)) {
        let render_views: Vec<View> = chunk.iter().map(|v| View { camera: v.camera, background }).collect();
        let image_slots: Vec<usize> = chunk.iter().map(|v| v.slot).collect();
        let truth = images.gather(gpu, &image_slots)?;
        let loss_views = layout_eval_views(&images.loss_views(&image_slots, &truth, std::iter::repeat(background)));
        let partial_bytes = partials_bytes(&loss_views);
        let staging = buffers::readback(&gpu.device, "evaluation", partial_bytes + STATUS_BYTES);
        let partials = loop {
            let forward = device.renderer.render(gpu, splats, &render_views)?;
            let status = forward.status_buffer().clone();
            device.loss.submit(gpu, &loss_views, &forward.target.rgba, &truth, Some(&staging), |encoder| {
                encoder.copy_buffer_to_buffer(&status, 0, &staging, partial_bytes, STATUS_BYTES);
            });
            drop(forward);
            let (needed, partials) = crate::kernel::with_mapped(gpu, &staging, |bytes| {
                let words: &[u32] = bytemuck::cast_slice(&bytes[partial_bytes as usize..]);
                let partials: Vec<[f32; 4]> = bytemuck::cast_slice::<u8, [f32; 4]>(&bytes[..partial_bytes as usize]).to_vec();
                (words[crate::render::jobs::STATUS_MAX_ISECTS as usize], partials)
            })
            .await
            .map_err(RenderError::from)?;
            if !device.renderer.grow_if_overflowed(gpu, needed)? {
                break partials;
            }
        };
        for (v, m) in chunk.iter().zip(LossPass::metrics_from_partials(&loss_views, &partials)) {
            per_view.push((v.name.clone(), m.psnr(), m.ssim, m.l1));
        }
    }
    let n = per_view.len().max(1) as f64;
    Ok(EvalResult {
        step,
        views: per_view.len(),
        psnr: per_view.iter().map(|v| v.1).sum::<f64>() / n,
        ssim: per_view.iter().map(|v| v.2).sum::<f64>() / n,
        l1: per_view.iter().map(|v| v.3).sum::<f64>() / n,
        splats: splats.num_splats,
        per_view: per_view.into_iter().map(|(name, psnr, ssim, _)| (name, psnr, ssim)).collect(),
    })
}
