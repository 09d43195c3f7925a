//! Everything one device holds for a run: its GPU context, renderer, splats, Adam state, loss
//! pass, training images and the per-splat statistics a strategy gathers; and what a step does
//! on one device (render its share of the views, the loss and the backward pass). The
//! coordinator (`trainer`) runs the same code on one device or on N.

use super::adam::{Adam, GroupRates};
use super::config::TrainConfig;
use super::error::TrainError;
use super::images::{GpuImages, ImageFormat};
use super::loss::{LossPass, layout_share_views, partials_bytes};
use super::step_metrics::MetricsPart;
use super::views::TrainView;
use crate::kernel::buffers;
use crate::render::backward::{GpuSplatGrads, GradientHook};
use crate::render::{GpuSplats, Renderer, View};
use crate::{GpuContext, Splats};

/// Floats of per-splat statistics (densify_stats.wgsl's layout; kept in checkpoints).
pub const STATS_PER_SPLAT: u64 = 4;

pub struct Device {
    pub(super) gpu: GpuContext,
    pub(super) renderer: Renderer,
    pub(super) splats: GpuSplats,
    pub(super) adam: Adam,
    pub(super) loss: LossPass,
    pub(super) images: GpuImages,
    /// Per-splat statistics since the strategy last used them, `STATS_PER_SPLAT` floats a splat:
    /// the strategy gathers them from the backward passes and edits them with the splats.
    pub(super) stats: wgpu::Buffer,
    /// The most splats this device takes in this run: the configured budget within what it
    /// binds (without one, what it binds, so that a scene never grows until the device is lost).
    pub(super) splat_budget: u32,
}

impl Device {
    /// A device starting from `splats`, training on `views` (images in `images`, given back when
    /// it fails: the page keeps streaming images into them and may start again).
    pub fn new(
        gpu: GpuContext,
        splats: &Splats,
        views: &[TrainView],
        images: GpuImages,
        config: &TrainConfig,
    ) -> Result<Self, (TrainError, GpuImages)> {
        if !views.iter().any(|v| images.loaded.get(v.slot).copied().unwrap_or(false)) {
            return Err((TrainError::NoImages, images));
        }
        if let ImageFormat::Rgb8Over(composited) = images.format()
            && (config.random_background || composited != config.background)
        {
            let wanted = if config.random_background { "random backgrounds".to_string() } else { format!("{:?}", config.background) };
            return Err((TrainError::ImagesComposited { images: composited, wanted }, images));
        }
        let binds = super::config::device_splat_budget(gpu.max_binding_bytes(), config.batch, splats.coeffs_per_splat() as u32);
        let budget = match config.densify.max_splats {
            0 => binds,
            asked => asked.min(binds),
        };
        if splats.len() > budget as usize {
            return Err((TrainError::BudgetBelowStart { budget, initial: splats.len() }, images));
        }
        let renderer = match Renderer::new(&gpu) {
            Ok(r) => r,
            Err(e) => return Err((e.into(), images)),
        };
        let mut gpu_splats = match renderer.upload(&gpu, splats) {
            Ok(s) => s,
            Err(e) => return Err((e.into(), images)),
        };
        gpu_splats.active_sh_degree = 0;
        let adam = Adam::new(&gpu, &gpu_splats);
        let stats = buffers::storage(&gpu.device, "densify stats", splats.len() as u64 * STATS_PER_SPLAT * 4);
        let loss = LossPass::new(&gpu);
        Ok(Self { renderer, splats: gpu_splats, adam, loss, images, stats, splat_budget: budget, gpu })
    }

    /// Takes up a saved state: Adam's moments and step, the statistics and the SH degree in
    /// training (the splats were uploaded by `new`).
    pub fn restore(&mut self, moments: [Vec<[f32; 2]>; 5], stats: &[[f32; 4]], adam_step: u32, active_sh_degree: u32) {
        self.adam.set_moments(&self.gpu, moments);
        self.gpu.queue.write_buffer(&self.stats, 0, bytemuck::cast_slice(stats));
        self.adam.step = adam_step;
        self.splats.active_sh_degree = active_sh_degree;
    }

    /// Zeroes the statistics (a replica gathers its own from when it joins).
    pub fn clear_stats(&self) {
        let mut encoder = self.gpu.device.create_command_encoder(&Default::default());
        encoder.clear_buffer(&self.stats, 0, None);
        self.gpu.queue.submit([encoder.finish()]);
    }

    pub fn gpu(&self) -> &GpuContext {
        &self.gpu
    }

    pub fn splats(&self) -> &GpuSplats {
        &self.splats
    }

    pub fn renderer(&self) -> &Renderer {
        &self.renderer
    }

    pub fn adam(&self) -> &Adam {
        &self.adam
    }

    pub fn images(&self) -> &GpuImages {
        &self.images
    }

    pub fn stats(&self) -> &wgpu::Buffer {
        &self.stats
    }

    /// Lets go of the bind groups the renderer and Adam keep (they hold the splat and moment
    /// buffers): before density control may replace those.
    pub fn forget_bind_groups(&mut self) {
        self.renderer.forget_bind_groups();
        self.adam.forget_bind_groups();
    }

    /// Renders `views` (the run's views `picked` of `all`, some or all of a step of
    /// `batch_views` views), their loss and its backward pass, with `hook` reading the 2D
    /// gradients: the gradients, and the metrics' readback when `log`.
    pub fn gradients(
        &mut self,
        all: &[TrainView],
        picked: &[usize],
        views: &[View],
        batch_views: usize,
        log: bool,
        hook: Option<&mut dyn GradientHook>,
    ) -> Result<(GpuSplatGrads, Option<MetricsPart>), TrainError> {
        let gpu = &self.gpu;
        let forward = self.renderer.render_share(gpu, &self.splats, views, batch_views)?;
        let image_slots: Vec<usize> = picked.iter().map(|&i| all[i].slot).collect();
        let truth = self.images.gather(gpu, &image_slots)?;
        let loss_views = layout_share_views(&self.images.loss_views(&image_slots, &truth, views.iter().map(|v| v.background)), batch_views);
        let staging = log.then(|| buffers::readback(&gpu.device, "loss metrics", partials_bytes(&loss_views)));
        self.loss.submit(gpu, &loss_views, &forward.target.rgba, &truth, staging.as_ref(), |_| {});
        let grads = self.renderer.backward(gpu, &self.splats, forward, &self.loss.v_pred, &self.loss.v_depth, hook)?;
        Ok((grads, staging.map(|staging| MetricsPart::map(loss_views, staging))))
    }

    /// Adam's step from `grads` (summed over the devices); the submission to wait for.
    pub fn apply(&mut self, grads: &GpuSplatGrads, rates: &GroupRates) -> wgpu::SubmissionIndex {
        self.adam.submit(&self.gpu, &self.splats, grads, rates)
    }

    /// Grows the renderer's buffers for `count` views like the first of `views` (after the
    /// scene changed), so that no training step renders with too little room.
    pub async fn size_renderer(&mut self, views: &[TrainView], count: usize, background: [f32; 3]) -> Result<(), TrainError> {
        let count = count.min(views.len());
        let views: Vec<View> = views[..count].iter().map(|v| View { camera: v.camera, background }).collect();
        // The RGBA8 readback: a fifth of the bytes; only the growth matters here.
        self.renderer.render_images_rgba8(&self.gpu, &self.splats, &views).await?;
        Ok(())
    }

    /// GPU memory by category, with `extra` more intermediates (the strategy's, the exchange's).
    pub fn memory(&self, extra: u64) -> TrainMemory {
        TrainMemory {
            splats: self.splats.memory_bytes(),
            optimizer_state: self.adam.memory_bytes(),
            intermediates: self.renderer.memory_bytes() + self.loss.memory_bytes() + self.stats.size() + extra,
            images: self.images.memory_bytes(),
        }
    }
}

/// GPU memory of a trainer by category, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TrainMemory {
    pub splats: u64,
    pub optimizer_state: u64,
    pub intermediates: u64,
    pub images: u64,
}

impl TrainMemory {
    pub fn total(&self) -> u64 {
        self.splats + self.optimizer_state + self.intermediates + self.images
    }
}
