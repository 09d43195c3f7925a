//! Rendering a set of sampled views in batches of C cameras: one `render_images` call (one set of
//! dispatches, one readback) per batch. Wasm-safe: the render is async, the caller drives it
//! (`pollster` natively, the browser's event loop on the web).

use super::RvsError;
use super::sampler::SampledView;
use crate::GpuContext;
use crate::render::{GpuSplats, Renderer, Rgba8Image, View};

/// The most cameras a batch gets when sized automatically: beyond this the per-call overhead is
/// already amortized and the readback only grows.
pub const AUTO_BATCH_MAX: usize = 64;
/// GPU memory the outputs and staging of one automatically sized batch may take.
pub const AUTO_BATCH_BYTES: u64 = 1 << 30;

/// Cameras per batch for views of `width` x `height` over `num_splats` splats: `requested` when
/// it is not 0, otherwise as many as the adapter's limits allow, at most [`AUTO_BATCH_MAX`]:
/// the images of a batch share one output binding (16 bytes a pixel), the projected splats one
/// binding per chunk (48 bytes per camera and splat; the renderer splits chunks further), and
/// outputs plus staging (40 bytes a pixel) stay within [`AUTO_BATCH_BYTES`].
pub fn batch_size(gpu: &GpuContext, requested: usize, num_splats: usize, width: u32, height: u32) -> usize {
    if requested > 0 {
        return requested;
    }
    auto_batch_size(gpu.max_binding_bytes(), num_splats, width, height)
}

/// [`batch_size`]'s automatic rule for a given largest binding, in bytes.
pub fn auto_batch_size(max_binding_bytes: u64, num_splats: usize, width: u32, height: u32) -> usize {
    let pixels = (width as u64 * height as u64).max(1);
    let by_output = max_binding_bytes / (pixels * 16);
    let by_memory = AUTO_BATCH_BYTES / (pixels * 40);
    let by_projection = max_binding_bytes / (48 * (num_splats as u64).max(1));
    (by_output.min(by_memory).min(by_projection) as usize).clamp(1, AUTO_BATCH_MAX)
}

/// The renderer's views for sampled views, on one background.
pub fn views_of(sampled: &[SampledView], background: [f32; 3]) -> Vec<View> {
    sampled.iter().map(|s| View { camera: s.camera, background }).collect()
}

/// Renders one batch (one readback, of RGBA8 packed on the GPU); images in the order of
/// `sampled`.
pub async fn render_batch(
    renderer: &mut Renderer,
    gpu: &GpuContext,
    splats: &GpuSplats,
    sampled: &[SampledView],
    background: [f32; 3],
) -> Result<Vec<Rgba8Image>, RvsError> {
    render_batch_reusing(renderer, gpu, splats, sampled, background, &mut Vec::new()).await
}

/// As [`render_batch`], filling pixel buffers from `spare` (of images already encoded) first.
pub async fn render_batch_reusing(
    renderer: &mut Renderer,
    gpu: &GpuContext,
    splats: &GpuSplats,
    sampled: &[SampledView],
    background: [f32; 3],
    spare: &mut Vec<Vec<u8>>,
) -> Result<Vec<Rgba8Image>, RvsError> {
    Ok(renderer.render_images_rgba8_reusing(gpu, splats, &views_of(sampled, background), spare).await?)
}

/// Renders every view, `batch` cameras per call, handing each batch's images to `sink` (with the
/// views they belong to) as soon as it is read back.
pub async fn render_all(
    renderer: &mut Renderer,
    gpu: &GpuContext,
    splats: &GpuSplats,
    sampled: &[SampledView],
    background: [f32; 3],
    batch: usize,
    mut sink: impl FnMut(&[SampledView], Vec<Rgba8Image>) -> Result<(), RvsError>,
) -> Result<(), RvsError> {
    if batch == 0 {
        return Err(RvsError::Param { option: "--batch", problem: "0 cameras per batch (size it with batch_size)".into() });
    }
    for chunk in sampled.chunks(batch) {
        let images = render_batch(renderer, gpu, splats, chunk, background).await?;
        sink(chunk, images)?;
    }
    Ok(())
}
