//! The training loss on the GPU (shaders/loss.wgsl): 0.8 L1 + 0.2 D-SSIM per view, averaged
//! over the B views of a step, its gradient with respect to the rendered images, and per-tile
//! sums (L1, SSIM, squared error) that logging and evaluation read back a few steps late.

use bytemuck::{Pod, Zeroable};

use crate::GpuContext;
use crate::render::buffers;
use crate::render::shader::{bind_group, compute_pipeline};

const SOURCE: &str = include_str!("../../shaders/loss.wgsl");
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
    /// 1: clamp the prediction to [0, 1] (evaluation).
    pub clamp_pred: u32,
    pub background: [f32; 4],
}

impl LossView {
    pub fn tiles(&self) -> u32 {
        self.width.div_ceil(16) * self.height.div_ceil(16)
    }
}

/// Lays out `views` (width, height, gt offset, background) back to back, weights 1/B.
pub fn layout_views(views: &[(u32, u32, u32, [f32; 3])]) -> Vec<LossView> {
    layout(views, false)
}

/// As `layout_views`, with the predictions clamped to [0, 1] (evaluation metrics).
pub fn layout_eval_views(views: &[(u32, u32, u32, [f32; 3])]) -> Vec<LossView> {
    layout(views, true)
}

fn layout(views: &[(u32, u32, u32, [f32; 3])], clamp: bool) -> Vec<LossView> {
    let mut pixel_offset = 0;
    let mut tile_offset = 0;
    let weight = 1.0 / views.len().max(1) as f32;
    views
        .iter()
        .map(|&(width, height, gt_offset, bg)| {
            let v = LossView {
                width,
                height,
                pixel_offset,
                gt_offset,
                tile_offset,
                tiles_x: width.div_ceil(16),
                weight,
                clamp_pred: clamp as u32,
                background: [bg[0], bg[1], bg[2], 0.0],
            };
            pixel_offset += width * height;
            tile_offset += v.tiles();
            v
        })
        .collect()
}

pub struct LossPass {
    /// The four entry points in order, each with the bindings it uses (auto layouts hold only those).
    passes: [(wgpu::ComputePipeline, &'static [u32]); 4],
    views: wgpu::Buffer,
    pixels: u64,
    tiles: u64,
    maps: wgpu::Buffer,
    maps2: wgpu::Buffer,
    /// dL/d(rgb, alpha) per pixel, the input of the backward pass.
    pub v_pred: wgpu::Buffer,
    /// dL/d(depth): zero (the loss does not look at depth).
    pub v_depth: wgpu::Buffer,
    /// Per tile: (L1 sum, SSIM sum, squared error sum, 0).
    pub partials: wgpu::Buffer,
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
                (compute_pipeline(device, "ssim_h1", SOURCE, "ssim_h1"), &[0, 1, 2, 3]),
                (compute_pipeline(device, "ssim_v1", SOURCE, "ssim_v1"), &[0, 3, 4]),
                (compute_pipeline(device, "ssim_h2", SOURCE, "ssim_h2"), &[0, 3, 4]),
                (compute_pipeline(device, "ssim_v2", SOURCE, "ssim_v2"), &[0, 1, 2, 3, 4, 5, 6]),
            ],
            views: buffers::uniform(device, "loss views", (MAX_VIEWS * size_of::<LossView>()) as u64),
            pixels: 0,
            tiles: 0,
            maps: buffers::storage(device, "ssim maps", 0),
            maps2: buffers::storage(device, "ssim maps2", 0),
            v_pred: buffers::storage(device, "v_pred", 0),
            v_depth: buffers::storage(device, "v_depth", 0),
            partials: buffers::storage(device, "loss partials", 0),
        }
    }

    fn ensure(&mut self, gpu: &GpuContext, pixels: u64, tiles: u64) {
        let device = &gpu.device;
        if pixels > self.pixels {
            self.maps = buffers::storage(device, "ssim maps", pixels * 15 * 4);
            self.maps2 = buffers::storage(device, "ssim maps2", pixels * 10 * 4);
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
        self.pixels * (60 + 40 + 16 + 4) + self.tiles * 16
    }

    /// Encodes the four passes for `views` of `pred` (the render's rgba output) against `gt`.
    /// With `timer`, the pass is timed as "loss" (the caller begins and ends the frame).
    pub fn encode(
        &mut self,
        gpu: &GpuContext,
        encoder: &mut wgpu::CommandEncoder,
        views: &[LossView],
        pred: &wgpu::Buffer,
        gt: &wgpu::Buffer,
        timer: Option<&mut crate::profile::GpuTimer>,
    ) {
        assert!(!views.is_empty() && views.len() <= MAX_VIEWS, "1 to {MAX_VIEWS} views per loss");
        let pixels: u64 = views.iter().map(|v| v.width as u64 * v.height as u64).sum();
        let tiles: u64 = views.iter().map(|v| v.tiles() as u64).sum();
        self.ensure(gpu, pixels, tiles);
        gpu.queue.write_buffer(&self.views, 0, bytemuck::cast_slice(views));
        let max_x = views.iter().map(|v| v.width.div_ceil(16)).max().unwrap_or(1);
        let max_y = views.iter().map(|v| v.height.div_ceil(16)).max().unwrap_or(1);
        let writes = timer.and_then(|t| t.next_pass("loss"));
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("loss"), timestamp_writes: writes });
        for (pipeline, used) in &self.passes {
            let all = [
                (0u32, self.views.as_entire_binding()),
                (1, pred.as_entire_binding()),
                (2, gt.as_entire_binding()),
                (3, self.maps.as_entire_binding()),
                (4, self.maps2.as_entire_binding()),
                (5, self.v_pred.as_entire_binding()),
                (6, self.partials.as_entire_binding()),
            ];
            let entries: Vec<_> = all.iter().filter(|(b, _)| used.contains(b)).cloned().collect();
            let group = bind_group(&gpu.device, pipeline, &entries);
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, &group, &[]);
            pass.dispatch_workgroups(max_x, max_y, views.len() as u32);
        }
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
