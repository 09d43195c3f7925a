//! The training loss on the GPU (src/train/shaders/loss.wgsl): 0.8 L1 + 0.2 D-SSIM per view, averaged
//! over the B views of a step, its gradient with respect to the rendered images, and per-tile
//! sums (L1, SSIM, squared error) that logging and evaluation read back a few steps late.

use bytemuck::{Pod, Zeroable};

use super::ground_truth::GroundTruth;
pub use super::ground_truth::GtView;
use crate::GpuContext;
use crate::kernel::buffers;
use crate::kernel::recorder::{Binding, Recorder, Uniforms, Workgroups};
use crate::kernel::shader::compute_pipeline;

pub const MAX_VIEWS: usize = 256;

/// Mirrors `LossView` in loss.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct LossView {
    pub width: u32,
    pub height: u32,
    pub pixel_offset: u32,
    pub gt_offset: u32,
    pub tile_offset: u32,
    pub tiles_x: u32,
    pub weight: f32,
    /// `CLAMP_PRED` (evaluation: the prediction clamped to [0, 1]) | `GT_RGB8` (the ground
    /// truth RGB8 composited already, else RGBA8).
    pub flags: u32,
    pub background: [f32; 3],
    /// Pixels of all views of the call together: one plane of the SSIM maps.
    pub plane_stride: u32,
}

/// `LossView::flags`, as in loss.wgsl.
pub const CLAMP_PRED: u32 = 1;
pub const GT_RGB8: u32 = 2;

const _: () = assert!(size_of::<LossView>() == 48, "as WGSL lays it out");

impl LossView {
    pub fn tiles(&self) -> u32 {
        self.width.div_ceil(16) * self.height.div_ceil(16)
    }
}

/// Lays out `views` back to back, weights 1/B.
pub fn layout_views(views: &[GtView]) -> Vec<LossView> {
    layout(views, views.len(), false)
}

/// As `layout_views`, for some of the `batch_views` views of a step spread over several
/// devices: each weighs 1 / `batch_views`, so that the devices' gradients add up to the step's.
pub fn layout_share_views(views: &[GtView], batch_views: usize) -> Vec<LossView> {
    layout(views, batch_views, false)
}

/// As `layout_views`, with the predictions clamped to [0, 1] (evaluation metrics).
pub fn layout_eval_views(views: &[GtView]) -> Vec<LossView> {
    layout(views, views.len(), true)
}

fn layout(views: &[GtView], batch_views: usize, clamp: bool) -> Vec<LossView> {
    let mut pixel_offset = 0;
    let mut tile_offset = 0;
    let weight = 1.0 / batch_views.max(1) as f32;
    let plane_stride = views.iter().map(|g| g.width * g.height).sum();
    views
        .iter()
        .map(|g| {
            let v = LossView {
                width: g.width,
                height: g.height,
                pixel_offset,
                gt_offset: g.offset,
                tile_offset,
                tiles_x: g.width.div_ceil(16),
                weight,
                flags: if clamp { CLAMP_PRED } else { 0 } | if g.rgb8 { GT_RGB8 } else { 0 },
                background: g.background,
                plane_stride,
            };
            pixel_offset += g.width * g.height;
            tile_offset += v.tiles();
            v
        })
        .collect()
}

/// Bytes of the per-tile sums of `views`.
pub fn partials_bytes(views: &[LossView]) -> u64 {
    views.iter().map(|v| v.tiles() as u64 * 16).sum()
}

pub struct LossPass {
    /// The two entry points in order, each with the bindings it uses (auto layouts hold only those).
    passes: [(&'static str, wgpu::ComputePipeline, &'static [u32]); 2],
    views: wgpu::Buffer,
    pixels: u64,
    tiles: u64,
    /// SSIM's partials, 9 floats a pixel: what the backward pass blurs.
    maps: wgpu::Buffer,
    /// dL/d(rgb, alpha) per pixel, the input of the backward pass.
    pub v_pred: wgpu::Buffer,
    /// dL/d(depth): zero (the loss does not look at depth).
    pub v_depth: wgpu::Buffer,
    /// Per tile: (L1 sum, SSIM sum, squared error sum, 0).
    pub partials: wgpu::Buffer,
    uniforms: Uniforms,
}

/// Per-view means from the per-tile sums.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ViewMetrics {
    pub l1: f64,
    pub ssim: f64,
    pub mse: f64,
}

impl ViewMetrics {
    pub fn loss(&self) -> f64 {
        0.8 * self.l1 + 0.2 * (1.0 - self.ssim)
    }

    pub fn psnr(&self) -> f64 {
        -10.0 * self.mse.max(1e-20).log10()
    }
}

impl LossPass {
    pub fn new(gpu: &GpuContext) -> Self {
        let device = &gpu.device;
        Self {
            passes: [
                ("ssim_forward", compute_pipeline(device, crate::shaders::train::LOSS, &[], "ssim_forward"), &[0, 1, 2, 3, 5]),
                ("ssim_backward", compute_pipeline(device, crate::shaders::train::LOSS, &[], "ssim_backward"), &[0, 1, 2, 3, 4]),
            ],
            views: buffers::uniform(device, "loss views", (MAX_VIEWS * size_of::<LossView>()) as u64),
            pixels: 0,
            tiles: 0,
            maps: buffers::storage(device, "ssim maps", 0),
            v_pred: buffers::storage(device, "v_pred", 0),
            v_depth: buffers::storage(device, "v_depth", 0),
            partials: buffers::storage(device, "loss partials", 0),
            uniforms: Uniforms::default(),
        }
    }

    fn ensure(&mut self, gpu: &GpuContext, pixels: u64, tiles: u64) {
        let device = &gpu.device;
        if pixels > self.pixels {
            self.maps = buffers::storage(device, "ssim maps", pixels * 9 * 4);
            self.v_pred = buffers::storage(device, "v_pred", pixels * 16);
            self.v_depth = buffers::storage(device, "v_depth", pixels * 4);
            self.pixels = pixels;
        }
        if tiles > self.tiles {
            self.partials = buffers::storage(device, "loss partials", tiles * 16);
            self.tiles = tiles;
        }
    }

    /// Bytes of GPU memory held.
    pub fn memory_bytes(&self) -> u64 {
        self.pixels * (36 + 16 + 4) + self.tiles * 16
    }

    /// Records the two passes for `views` of `pred` (the render's rgba output) against `gt`,
    /// as the stage "loss". At most `MAX_VIEWS` views (`TrainSettings` keeps batches below).
    pub fn record(&mut self, gpu: &GpuContext, rec: &mut Recorder, views: &[LossView], pred: &wgpu::Buffer, gt: &wgpu::Buffer) {
        assert!(!views.is_empty() && views.len() <= MAX_VIEWS, "1 to {MAX_VIEWS} views per loss");
        let pixels: u64 = views.iter().map(|v| v.width as u64 * v.height as u64).sum();
        let tiles: u64 = views.iter().map(|v| v.tiles() as u64).sum();
        debug_assert!(views.iter().all(|v| v.plane_stride as u64 == pixels), "views laid out together by layout_views");
        self.ensure(gpu, pixels, tiles);
        gpu.queue.write_buffer(&self.views, 0, bytemuck::cast_slice(views));
        let max_x = views.iter().map(|v| v.width.div_ceil(16)).max().unwrap_or(1);
        let max_y = views.iter().map(|v| v.height.div_ceil(16)).max().unwrap_or(1);
        rec.stage("loss");
        for (label, pipeline, used) in &self.passes {
            let all = [&self.views, pred, gt, &self.maps, &self.v_pred, &self.partials];
            let bindings = used.iter().map(|&b| (b, Binding::of(all[b as usize]))).collect();
            rec.dispatch(label, pipeline, &(), bindings, Workgroups::Direct([max_x, max_y, views.len() as u32]));
        }
    }

    /// Records the loss, submits it (timed like every job) and, with `readback`, copies the
    /// per-tile sums of `views` into it (MAP_READ, `partials_bytes(views)` long) in the same
    /// command buffer. `extra` adds more commands after that (a render's status copy).
    /// The step's ground truth is copied together first where it has to be.
    pub fn submit(
        &mut self,
        gpu: &GpuContext,
        views: &[LossView],
        pred: &wgpu::Buffer,
        gt: &GroundTruth,
        readback: Option<&wgpu::Buffer>,
        extra: impl FnOnce(&mut wgpu::CommandEncoder),
    ) {
        let mut rec = Recorder::new();
        for (from, from_offset, to_offset, bytes) in &gt.copies {
            rec.copy(from, *from_offset, &gt.buffer, *to_offset, *bytes);
        }
        self.record(gpu, &mut rec, views, pred, &gt.buffer);
        if let Some(staging) = readback {
            rec.copy(&self.partials, 0, staging, 0, partials_bytes(views));
        }
        crate::kernel::submit(gpu, "loss", rec, &mut self.uniforms, extra);
    }

    /// Turns per-tile sums read back from `partials` into per-view means.
    pub fn metrics_from_partials(views: &[LossView], partials: &[[f32; 4]]) -> Vec<ViewMetrics> {
        views
            .iter()
            .map(|v| {
                let tiles = &partials[v.tile_offset as usize..(v.tile_offset + v.tiles()) as usize];
                let n = (v.width * v.height * 3) as f64;
                let sum = |i: usize| tiles.iter().map(|t| t[i] as f64).sum::<f64>();
                ViewMetrics { l1: sum(0) / n, ssim: sum(1) / n, mse: sum(2) / n }
            })
            .collect()
    }
}
