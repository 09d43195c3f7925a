//! `Renderer`: plans a batch of cameras into chunks that fit the adapter, records every stage of
//! every chunk into one command buffer, and reads the images back once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use bytemuck::{Pod, Zeroable};

use super::frame::{FrameBuffers, FrameSize};
use super::jobs::{self, SCAN_MAX_LEN};
use super::pipelines::Pipelines;
use super::prefix_sum::record_scan;
use super::radix_sort::record_sort;
use super::recorder::{Binding, CAMERAS_BYTES, DispatchParams, Recorder, Workgroups};
use super::{GpuSplats, RenderError, buffers};
use crate::{Camera, GpuContext};

/// Cameras in one chunk: the size of the camera array in the shaders.
pub const MAX_CAMERAS_PER_CHUNK: usize = 256;
const TILE: u32 = 16;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RenderOptions {
    pub near: f32,
    pub far: f32,
    /// Added to the diagonal of every 2D covariance (a low-pass filter of about a pixel).
    pub eps2d: f32,
}

impl Default for RenderOptions {
    fn default() -> Self {
        Self { near: 0.01, far: 1e10, eps2d: 0.3 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct View {
    pub camera: Camera,
    pub background: [f32; 3],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageLayout {
    pub width: u32,
    pub height: u32,
    /// First pixel of this image in the output buffers.
    pub pixel_offset: u32,
}

/// Images left on the GPU: `rgba` is `array<vec4<f32>>` (rgb with the background composited,
/// alpha), `depth` is `array<f32>` (sum of z times blend weight), all images back to back.
pub struct RenderTarget {
    pub rgba: wgpu::Buffer,
    pub depth: wgpu::Buffer,
    pub layouts: Vec<ImageLayout>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RenderedImage {
    pub width: u32,
    pub height: u32,
    /// Row-major: rgb with the background composited (not clamped) and alpha.
    pub rgba: Vec<[f32; 4]>,
    pub depth: Vec<f32>,
}

impl RenderedImage {
    /// 8-bit RGBA, colour clamped to [0, 1], alpha opaque.
    pub fn to_rgba8(&self) -> Vec<u8> {
        let to_u8 = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
        self.rgba.iter().flat_map(|p| [to_u8(p[0]), to_u8(p[1]), to_u8(p[2]), 255]).collect()
    }
}

/// A rendered image as 8-bit RGBA (colour clamped and rounded, alpha 255), row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Rgba8Image {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

/// What a blocking render reads back.
#[derive(Debug, Clone, Copy)]
enum Readback {
    /// RGBA f32 and depth, 20 bytes a pixel.
    Float,
    /// RGBA8 packed on the GPU, 4 bytes a pixel.
    Rgba8,
}

/// Mirrors `CameraGpu` in shaders/shared/params.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
struct CameraGpu {
    rows: [[f32; 4]; 3],
    center: [f32; 4],
    intrinsics: [f32; 4],
    background: [f32; 4],
    width: u32,
    height: u32,
    tiles_x: u32,
    tiles_y: u32,
    tile_offset: u32,
    pixel_offset: u32,
    _pad: [u32; 2],
}

struct Chunk {
    first: usize,
    count: usize,
    tiles: u32,
    max_tiles: [u32; 2],
}

/// Outputs and per-render small buffers, kept between renders of the same shape.
#[derive(Default)]
pub(super) struct Cached {
    pub(super) frame: Option<FrameBuffers>,
    pub(super) outputs: Option<Outputs>,
    pub(super) counters: Option<(usize, wgpu::Buffer)>,
    pub(super) cameras: Option<(usize, wgpu::Buffer)>,
    uniforms: Option<(u64, wgpu::Buffer)>,
    staging: Option<(u64, wgpu::Buffer)>,
    /// RGBA8-packed pixels for `render_images_rgba8`, by pixel count.
    packed: Option<(u64, wgpu::Buffer)>,
    /// Backward pass: (grads2d, packed parameter gradients) and its dispatch parameters.
    pub(super) grads: Option<(wgpu::Buffer, wgpu::Buffer)>,
    pub(super) backward_uniforms: Option<wgpu::Buffer>,
}

/// Per-pixel outputs of a render, all images back to back.
pub(crate) struct Outputs {
    pub(super) pixels: u64,
    pub rgba: wgpu::Buffer,
    pub depth: wgpu::Buffer,
    /// One past the last intersection blended (what the backward pass starts from).
    pub last: wgpu::Buffer,
}

/// What the backward pass needs to know about the last render.
#[derive(Clone, Copy)]
pub(crate) struct LastRender {
    pub chunks: usize,
    pub cameras: usize,
    pub max_tiles: [u32; 2],
    /// Which of the intersection sort's buffer pairs holds the sorted intersections.
    pub isect_out: usize,
    pub num_splats: u32,
}

/// The largest intersection count of the last renders, read back without stalling.
struct StatusReadback {
    staging: wgpu::Buffer,
    in_flight: Arc<AtomicBool>,
    ready: Arc<AtomicBool>,
}

pub struct Renderer {
    pub(super) pipes: Pipelines,
    pub options: RenderOptions,
    /// Intersections one chunk may hold; grows when a render reports more.
    isect_capacity: u64,
    /// Lowered when even the largest intersection buffer cannot hold a chunk.
    cameras_per_chunk_cap: usize,
    pub(super) cached: Cached,
    status: StatusReadback,
    needed_isects: Arc<AtomicU32>,
    /// Time every stage of `render_images` on the GPU (where timestamps exist).
    profiling: bool,
    timer: Option<crate::profile::gpu_timer::GpuTimer>,
    last_stage_millis: Vec<(String, f64)>,
    /// A profiler's GPU timer: every render's passes timed into its ring (`attach_gpu_timer`).
    attached_timer: Option<crate::profile::SharedGpuTimer>,
    pub(crate) last_render: Option<LastRender>,
}

impl Renderer {
    pub fn new(gpu: &GpuContext) -> Result<Self, RenderError> {
        Ok(Self {
            pipes: Pipelines::new(&gpu.device, &gpu.features),
            options: RenderOptions::default(),
            isect_capacity: 1 << 16,
            cameras_per_chunk_cap: MAX_CAMERAS_PER_CHUNK,
            cached: Cached::default(),
            status: StatusReadback {
                staging: buffers::readback(&gpu.device, "render status", 16),
                in_flight: Arc::new(AtomicBool::new(false)),
                ready: Arc::new(AtomicBool::new(false)),
            },
            needed_isects: Arc::new(AtomicU32::new(0)),
            profiling: false,
            timer: None,
            last_stage_millis: Vec::new(),
            attached_timer: None,
            last_render: None,
        })
    }

    /// Times each stage of `render_images` with GPU timestamps (no effect without them).
    pub fn set_profiling(&mut self, on: bool) {
        self.profiling = on;
    }

    /// Times every stage of every render (`render` and `render_images`) into the ring of a
    /// profiler's GPU timer, read back later without stalling; None detaches it.
    pub fn attach_gpu_timer(&mut self, timer: Option<crate::profile::SharedGpuTimer>) {
        self.attached_timer = timer;
    }

    /// The attached profiler timer, for the other passes of a step (backward, loss, optimizer).
    pub fn attached_timer(&self) -> Option<crate::profile::SharedGpuTimer> {
        self.attached_timer.clone()
    }

    fn timer_submitted(&self) {
        if let Some(t) = &self.attached_timer {
            t.lock().unwrap_or_else(|e| e.into_inner()).submitted();
        }
    }

    /// GPU milliseconds per stage of the last profiled `render_images`.
    pub fn last_stage_millis(&self) -> &[(String, f64)] {
        &self.last_stage_millis
    }

    pub fn pipelines(&self) -> &Pipelines {
        &self.pipes
    }

    pub fn upload(&self, gpu: &GpuContext, splats: &crate::Splats) -> Result<GpuSplats, RenderError> {
        GpuSplats::upload(gpu, splats)
    }

    /// Bytes of GPU memory the renderer holds now (intermediates and outputs).
    pub fn memory_bytes(&self) -> u64 {
        let frame = self.cached.frame.as_ref().map_or(0, |f| f.size.bytes());
        let outputs = self.cached.outputs.as_ref().map_or(0, |o| o.pixels * 24);
        let packed = self.cached.packed.as_ref().map_or(0, |(n, _)| n * 4);
        frame + outputs + packed
    }

    /// Intersections one chunk may hold now.
    pub fn intersection_capacity(&self) -> u64 {
        self.isect_capacity
    }

    /// Encodes and submits one batched render; the images stay on the GPU. Overflow of the
    /// intersection buffers is read back asynchronously and fixed from the next render on.
    pub fn render(&mut self, gpu: &GpuContext, splats: &GpuSplats, views: &[View]) -> Result<RenderTarget, RenderError> {
        self.collect_status(gpu);
        self.grow_for(gpu, self.needed_isects.load(Ordering::Relaxed) as u64)?;
        let (target, mut encoder) = self.record(gpu, splats, views, false)?;
        let status_copied = !self.status.in_flight.swap(true, Ordering::AcqRel);
        if status_copied {
            encoder.copy_buffer_to_buffer(self.counters(), 0, &self.status.staging, 0, 16);
        }
        gpu.queue.submit([encoder.finish()]);
        self.timer_submitted();
        if status_copied {
            let ready = self.status.ready.clone();
            let in_flight = self.status.in_flight.clone();
            self.status.staging.slice(..).map_async(wgpu::MapMode::Read, move |result| {
                if result.is_ok() {
                    ready.store(true, Ordering::Release);
                } else {
                    in_flight.store(false, Ordering::Release);
                }
            });
        }
        Ok(target)
    }

    /// Renders and reads the images back in one readback; renders again after growing its
    /// buffers when the GPU reports that the intersections did not fit.
    pub async fn render_images(&mut self, gpu: &GpuContext, splats: &GpuSplats, views: &[View]) -> Result<Vec<RenderedImage>, RenderError> {
        self.render_readback(gpu, splats, views, Readback::Float, |bytes, layouts| {
            let pixels: usize = layouts.iter().map(|l| (l.width * l.height) as usize).sum();
            let rgba: &[[f32; 4]] = bytemuck::cast_slice(&bytes[..pixels * 16]);
            let depth: &[f32] = bytemuck::cast_slice(&bytes[pixels * 16..pixels * 20]);
            layouts
                .iter()
                .map(|l| {
                    let range = l.pixel_offset as usize..(l.pixel_offset + l.width * l.height) as usize;
                    RenderedImage { width: l.width, height: l.height, rgba: rgba[range.clone()].to_vec(), depth: depth[range].to_vec() }
                })
                .collect()
        })
        .await
    }

    /// As [`Self::render_images`], but packed to 8-bit RGBA on the GPU before the readback (a
    /// fifth of the bytes, no depth): what image outputs (RVS, PNGs) need. Pixels equal
    /// [`RenderedImage::to_rgba8`] of the float render.
    pub async fn render_images_rgba8(&mut self, gpu: &GpuContext, splats: &GpuSplats, views: &[View]) -> Result<Vec<Rgba8Image>, RenderError> {
        self.render_images_rgba8_reusing(gpu, splats, views, &mut Vec::new()).await
    }

    /// As [`Self::render_images_rgba8`], filling buffers taken from `spare` (images a caller is
    /// done with) before allocating: writing into fresh memory costs a page fault every 4 KiB,
    /// which made the copy out of the readback several times slower than the copy itself.
    pub async fn render_images_rgba8_reusing(&mut self, gpu: &GpuContext, splats: &GpuSplats, views: &[View], spare: &mut Vec<Vec<u8>>) -> Result<Vec<Rgba8Image>, RenderError> {
        self.render_readback(gpu, splats, views, Readback::Rgba8, |bytes, layouts| {
            layouts
                .iter()
                .map(|l| {
                    let range = l.pixel_offset as usize * 4..(l.pixel_offset + l.width * l.height) as usize * 4;
                    let mut rgba = spare.pop().unwrap_or_default();
                    rgba.clear();
                    rgba.extend_from_slice(&bytes[range]);
                    Rgba8Image { width: l.width, height: l.height, rgba }
                })
                .collect()
        })
        .await
    }

    /// One batched render and one readback of `what`, retried with grown buffers until the
    /// intersections fit; `extract` copies the images out of the mapped readback (pixels
    /// first, as the layouts place them).
    async fn render_readback<T>(
        &mut self,
        gpu: &GpuContext,
        splats: &GpuSplats,
        views: &[View],
        what: Readback,
        extract: impl FnOnce(&[u8], &[ImageLayout]) -> T,
    ) -> Result<T, RenderError> {
        let mut extract = Some(extract);
        loop {
            let (target, mut encoder) = self.record(gpu, splats, views, self.profiling)?;
            let pixels: u64 = target.layouts.iter().map(|l| l.width as u64 * l.height as u64).sum();
            let pixel_bytes = match what {
                Readback::Float => pixels * 20,
                Readback::Rgba8 => pixels * 4,
            };
            let timer_bytes = self.timer.as_ref().filter(|_| self.profiling).map_or(0, |t| t.bytes());
            // Timestamps are u64s: their offset stays 8-aligned whatever the pixel count.
            let timer_offset = (pixel_bytes + 16).next_multiple_of(8);
            let staging_bytes = timer_offset + timer_bytes;
            if !self.cached.staging.as_ref().is_some_and(|(b, _)| *b == staging_bytes) {
                self.cached.staging = Some((staging_bytes, buffers::readback(&gpu.device, "images readback", staging_bytes)));
            }
            let staging = self.cached.staging.as_ref().expect("sized above").1.clone();
            let staging = &staging;
            match what {
                Readback::Float => {
                    encoder.copy_buffer_to_buffer(&target.rgba, 0, staging, 0, pixels * 16);
                    encoder.copy_buffer_to_buffer(&target.depth, 0, staging, pixels * 16, pixels * 4);
                }
                Readback::Rgba8 => {
                    let packed = self.pack_rgba8(gpu, &mut encoder, &target.rgba, pixels);
                    encoder.copy_buffer_to_buffer(&packed, 0, staging, 0, pixels * 4);
                }
            }
            encoder.copy_buffer_to_buffer(self.counters(), 0, staging, pixel_bytes, 16);
            if let Some(timer) = self.timer.as_ref().filter(|_| self.profiling) {
                timer.resolve(&mut encoder, staging, timer_offset);
            }
            gpu.queue.submit([encoder.finish()]);
            self.timer_submitted();
            let timer = self.timer.as_ref().filter(|_| self.profiling);
            let isect_capacity = self.isect_capacity;
            // Only the small tail (status, timestamps) is copied before we know whether the
            // render fits; the images are copied out once, straight from the mapping.
            let (needed, stage_millis, images) = crate::gpu::with_mapped(gpu, staging, |bytes| {
                let stage_millis = timer.map(|t| t.stage_millis(gpu, &bytes[timer_offset as usize..]));
                let status: &[u32] = bytemuck::cast_slice(&bytes[pixel_bytes as usize..(pixel_bytes + 16) as usize]);
                let needed = status[jobs::STATUS_MAX_ISECTS as usize] as u64;
                let images = if needed > isect_capacity { None } else { extract.take().map(|f| f(bytes, &target.layouts)) };
                (needed, stage_millis, images)
            })
            .await?;
            if let Some(millis) = stage_millis {
                self.last_stage_millis = millis;
            }
            match images {
                Some(images) => return Ok(images),
                None => self.grow_for(gpu, needed)?,
            }
        }
    }

    /// Encodes the RGBA8 packing of `pixels` float pixels; returns the packed buffer (cached
    /// between calls of the same size).
    fn pack_rgba8(&mut self, gpu: &GpuContext, encoder: &mut wgpu::CommandEncoder, rgba: &wgpu::Buffer, pixels: u64) -> wgpu::Buffer {
        if !self.cached.packed.as_ref().is_some_and(|(n, _)| *n == pixels) {
            self.cached.packed = Some((pixels, buffers::storage(&gpu.device, "packed rgba8", pixels.max(1) * 4)));
        }
        let packed = self.cached.packed.as_ref().expect("sized above").1.clone();
        let params = wgpu::util::DeviceExt::create_buffer_init(
            &gpu.device,
            &wgpu::util::BufferInitDescriptor { label: Some("pack params"), contents: bytemuck::cast_slice(&[pixels as u32, 0, 0, 0]), usage: wgpu::BufferUsages::UNIFORM },
        );
        let pipeline = &self.pipes.pack_rgba8;
        let bind_group = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("pack rgba8"),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: params.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: rgba.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 2, resource: packed.as_entire_binding() },
            ],
        });
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("pack rgba8"), timestamp_writes: None });
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        let [x, y, z] = jobs::dispatch_2d(pixels.div_ceil(256) as u32);
        pass.dispatch_workgroups(x, y, z);
        drop(pass);
        packed
    }

    fn counters(&self) -> &wgpu::Buffer {
        &self.cached.counters.as_ref().expect("counters exist after a render was recorded").1
    }

    /// Picks up an asynchronous status readback that has landed.
    fn collect_status(&mut self, gpu: &GpuContext) {
        #[cfg(not(target_arch = "wasm32"))]
        let _ = gpu.device.poll(wgpu::PollType::Poll);
        #[cfg(target_arch = "wasm32")]
        let _ = gpu;
        if self.status.ready.swap(false, Ordering::AcqRel) {
            if let Ok(view) = self.status.staging.slice(..).get_mapped_range() {
                let needed = bytemuck::cast_slice::<u8, u32>(&view)[jobs::STATUS_MAX_ISECTS as usize];
                self.needed_isects.fetch_max(needed, Ordering::Relaxed);
            }
            self.status.staging.unmap();
            self.status.in_flight.store(false, Ordering::Release);
        }
    }

    /// Makes room for `needed` intersections per chunk, or fewer cameras per chunk when no
    /// buffer can hold that many.
    fn grow_for(&mut self, gpu: &GpuContext, needed: u64) -> Result<(), RenderError> {
        if needed <= self.isect_capacity {
            return Ok(());
        }
        let max_elems = gpu.max_binding_bytes() / 4;
        if needed <= max_elems {
            self.isect_capacity = (needed + needed / 4).next_multiple_of(1024).min(max_elems);
            return Ok(());
        }
        if self.cameras_per_chunk_cap > 1 {
            self.cameras_per_chunk_cap /= 2;
            self.isect_capacity = max_elems;
            self.needed_isects.store(0, Ordering::Relaxed);
            return Ok(());
        }
        Err(RenderError::TooLarge(format!(
            "one camera needs {needed} tile intersections; the adapter's largest buffer holds {max_elems}"
        )))
    }

    fn plan_chunks(&self, gpu: &GpuContext, num_splats: u32, views: &[View]) -> Vec<Chunk> {
        let n = num_splats as u64;
        let by_binding = (gpu.max_binding_bytes() / (48 * n)) as usize;
        let by_scan = (SCAN_MAX_LEN / n) as usize;
        let per_chunk = self.cameras_per_chunk_cap.min(by_binding).min(by_scan).max(1);
        views
            .chunks(per_chunk)
            .enumerate()
            .map(|(i, chunk)| {
                let grids: Vec<[u32; 2]> = chunk.iter().map(|v| [v.camera.width.div_ceil(TILE), v.camera.height.div_ceil(TILE)]).collect();
                Chunk {
                    first: i * per_chunk,
                    count: chunk.len(),
                    tiles: grids.iter().map(|g| g[0] * g[1]).sum(),
                    max_tiles: [grids.iter().map(|g| g[0]).max().unwrap_or(1), grids.iter().map(|g| g[1]).max().unwrap_or(1)],
                }
            })
            .collect()
    }

    fn validate(&self, gpu: &GpuContext, views: &[View]) -> Result<u64, RenderError> {
        let mut pixels = 0u64;
        for (index, view) in views.iter().enumerate() {
            view.camera.validate().map_err(|source| RenderError::Camera { index, source })?;
            if view.background.iter().any(|c| !c.is_finite()) {
                return Err(RenderError::Camera { index, source: crate::camera::CameraError::NonFinitePose });
            }
            pixels += view.camera.width as u64 * view.camera.height as u64;
        }
        let limit = gpu.max_binding_bytes();
        if pixels * 16 > limit || pixels > u32::MAX as u64 {
            return Err(RenderError::TooLarge(format!(
                "{} views of {pixels} pixels in all need {} MiB of output; the adapter binds at most {} MiB (render fewer views per batch)",
                views.len(),
                pixels * 16 >> 20,
                limit >> 20
            )));
        }
        Ok(pixels)
    }

    /// Records every chunk of a batch into one encoder (not submitted).
    fn record(&mut self, gpu: &GpuContext, splats: &GpuSplats, views: &[View], timed: bool) -> Result<(RenderTarget, wgpu::CommandEncoder), RenderError> {
        let device = &gpu.device;
        let pixels = self.validate(gpu, views)?;
        let chunks = self.plan_chunks(gpu, splats.num_splats, views);
        let n = splats.num_splats as u64;

        // Size (or grow) the buffers.
        let want = chunks.iter().fold(FrameSize::default(), |acc, c| {
            acc.max(&FrameSize { cam_gids: n * c.count as u64, isects: self.isect_capacity, tiles: c.tiles as u64 })
        });
        if !self.cached.frame.as_ref().is_some_and(|f| f.size.covers(&want)) {
            let size = self.cached.frame.as_ref().map_or(want, |f| f.size.max(&want));
            self.cached.frame = None;
            self.cached.frame = Some(FrameBuffers::new(device, size));
        }
        if !self.cached.outputs.as_ref().is_some_and(|o| o.pixels >= pixels) {
            self.cached.outputs = Some(Outputs {
                pixels,
                rgba: buffers::storage(device, "out_rgba", pixels * 16),
                depth: buffers::storage(device, "out_depth", pixels * 4),
                last: buffers::storage(device, "out_last", pixels * 4),
            });
        }
        let counters_len = jobs::counters_len(chunks.len());
        if !self.cached.counters.as_ref().is_some_and(|(len, _)| *len >= counters_len) {
            self.cached.counters = Some((counters_len, buffers::counters(device, counters_len)));
        }
        if !self.cached.cameras.as_ref().is_some_and(|(len, _)| *len >= chunks.len()) {
            self.cached.cameras = Some((chunks.len(), buffers::uniform(device, "cameras", chunks.len() as u64 * CAMERAS_BYTES)));
        }
        let frame = self.cached.frame.as_ref().expect("sized above");
        let outputs = self.cached.outputs.as_ref().expect("sized above");
        let counters = &self.cached.counters.as_ref().expect("sized above").1;
        let cameras_buf = &self.cached.cameras.as_ref().expect("sized above").1;

        // What the CPU knows: cameras, depth sort and count scan jobs.
        let mut counter_values = vec![0u32; counters_len];
        let mut camera_bytes = vec![0u8; chunks.len() * CAMERAS_BYTES as usize];
        let mut layouts = Vec::with_capacity(views.len());
        let mut pixel_offset = 0u32;
        for (ci, chunk) in chunks.iter().enumerate() {
            let base = jobs::chunk_base(ci) as usize;
            let pairs = (n * chunk.count as u64) as u32;
            jobs::plan_sort(&mut counter_values, base + jobs::DEPTH_SORT_JOB as usize, pairs);
            jobs::plan_scan(&mut counter_values, base + jobs::COUNT_SCAN_JOB as usize, pairs);
            let mut tile_offset = 0u32;
            for (k, view) in views[chunk.first..chunk.first + chunk.count].iter().enumerate() {
                let cam = &view.camera;
                let tiles = [cam.width.div_ceil(TILE), cam.height.div_ceil(TILE)];
                let w = &cam.world_to_camera;
                let c = cam.center();
                let gpu_cam = CameraGpu {
                    rows: [w[0], w[1], w[2]],
                    center: [c[0], c[1], c[2], 0.0],
                    intrinsics: [cam.fx, cam.fy, cam.cx, cam.cy],
                    background: [view.background[0], view.background[1], view.background[2], 0.0],
                    width: cam.width,
                    height: cam.height,
                    tiles_x: tiles[0],
                    tiles_y: tiles[1],
                    tile_offset,
                    pixel_offset,
                    _pad: [0; 2],
                };
                let at = ci * CAMERAS_BYTES as usize + k * size_of::<CameraGpu>();
                camera_bytes[at..at + size_of::<CameraGpu>()].copy_from_slice(bytemuck::bytes_of(&gpu_cam));
                layouts.push(ImageLayout { width: cam.width, height: cam.height, pixel_offset });
                tile_offset += tiles[0] * tiles[1];
                pixel_offset += cam.width * cam.height;
            }
        }
        gpu.queue.write_buffer(counters, 0, bytemuck::cast_slice(&counter_values));
        gpu.queue.write_buffer(cameras_buf, 0, &camera_bytes);

        let mut rec = Recorder::default();
        let mut isect_out = 0;
        for (ci, chunk) in chunks.iter().enumerate() {
            isect_out = self.record_chunk(&mut rec, ci, chunk, splats, frame, counters, outputs);
        }
        let target = RenderTarget { rgba: outputs.rgba.clone(), depth: outputs.depth.clone(), layouts };
        self.last_render = Some(LastRender {
            chunks: chunks.len(),
            cameras: views.len(),
            max_tiles: chunks.first().map_or([1, 1], |c| c.max_tiles),
            isect_out,
            num_splats: splats.num_splats,
        });
        if !self.cached.uniforms.as_ref().is_some_and(|(bytes, _)| *bytes >= rec.uniform_bytes()) {
            self.cached.uniforms = Some((rec.uniform_bytes(), buffers::uniform(device, "dispatch params", rec.uniform_bytes())));
        }
        let uniforms = &self.cached.uniforms.as_ref().expect("sized above").1;
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("wgsplat render") });
        let attached = if timed { None } else { self.attached_timer.clone() };
        let mut attached = attached.as_ref().map(|t| t.lock().unwrap_or_else(|e| e.into_inner()));
        let timer = if timed {
            let passes = rec.stage_count() as u32;
            if !self.timer.as_ref().is_some_and(|t| t.capacity_passes() >= passes) {
                self.timer = crate::profile::gpu_timer::GpuTimer::new(gpu, passes);
            }
            self.timer.as_mut().map(|t| {
                t.reset();
                t
            })
        } else {
            let passes = rec.stage_count() as u32;
            attached.as_deref_mut().and_then(|t| t.begin_frame(gpu, passes, "render").then_some(t))
        };
        rec.encode(device, &gpu.queue, &mut encoder, uniforms, cameras_buf, counters, timer);
        if let Some(t) = attached.as_deref_mut() {
            t.end_frame(&mut encoder);
        }
        Ok((target, encoder))
    }

    /// The parameters every dispatch of a chunk shares.
    pub(super) fn chunk_params(&self, base: u32, splats: &GpuSplats, cameras: usize) -> DispatchParams {
        DispatchParams {
            counters_base: base,
            num_splats: splats.num_splats,
            num_cameras: cameras as u32,
            sh_degree: splats.active_sh_degree.min(splats.sh_degree),
            num_coeffs: splats.coeffs_per_splat(),
            near: self.options.near,
            far: self.options.far,
            eps2d: self.options.eps2d,
            isect_capacity: self.isect_capacity.min(u32::MAX as u64) as u32,
            ..Default::default()
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn record_chunk(
        &self,
        rec: &mut Recorder,
        ci: usize,
        chunk: &Chunk,
        splats: &GpuSplats,
        frame: &FrameBuffers,
        counters: &wgpu::Buffer,
        outputs: &Outputs,
    ) -> usize {
        let pipes = &self.pipes;
        let base = jobs::chunk_base(ci);
        let pairs = splats.num_splats * chunk.count as u32;
        let per_pair = Workgroups::Direct(jobs::dispatch_2d(pairs.div_ceil(256)));
        let params = self.chunk_params(base, splats, chunk.count);
        let buf = |b: &wgpu::Buffer| Binding::Buffer(b.clone());
        rec.clear(&frame.tile_ranges);

        rec.stage("project");
        rec.dispatch(
            "project",
            &pipes.project,
            params,
            vec![
                (0, Binding::Params),
                (1, Binding::Cameras(ci)),
                (2, buf(&splats.means)),
                (3, buf(&splats.quats)),
                (4, buf(&splats.log_scales)),
                (5, buf(&splats.opacity_logits)),
                (6, buf(&splats.sh)),
                (7, buf(&frame.projected)),
                (8, buf(&frame.tile_counts)),
                (9, buf(&frame.depth_sort.keys[0])),
            ],
            per_pair,
        );

        rec.stage("depth sort");
        let depth_out = record_sort(rec, pipes, counters, base + jobs::DEPTH_SORT_JOB, 32, &frame.depth_sort, &frame.scan, true);
        let cam_gid_by_rank = &frame.depth_sort.values[depth_out];

        rec.stage("count and emit intersections");
        rec.dispatch(
            "gather_counts",
            &pipes.gather_counts,
            params,
            vec![(0, Binding::Params), (1, buf(cam_gid_by_rank)), (2, buf(&frame.tile_counts)), (3, buf(&frame.offsets_by_rank))],
            Workgroups::Direct(jobs::dispatch_2d(pairs.div_ceil(256))),
        );
        record_scan(rec, pipes, counters, base + jobs::COUNT_SCAN_JOB, &frame.offsets_by_rank, &frame.scan);
        rec.dispatch(
            "plan_intersections",
            &pipes.plan_intersections,
            params,
            vec![
                (0, Binding::Params),
                (1, buf(counters)),
                (2, buf(&frame.offsets_by_rank)),
                (3, buf(&frame.tile_counts)),
                (4, buf(cam_gid_by_rank)),
            ],
            Workgroups::Direct([1, 1, 1]),
        );
        rec.dispatch(
            "emit_intersections",
            &pipes.emit_intersections,
            params,
            vec![
                (0, Binding::Params),
                (1, Binding::Cameras(ci)),
                (2, buf(cam_gid_by_rank)),
                (3, buf(&frame.offsets_by_rank)),
                (4, buf(&frame.tile_counts)),
                (5, buf(&frame.projected)),
                (6, buf(&frame.isect_sort.keys[0])),
                (7, buf(&frame.isect_sort.values[0])),
            ],
            Workgroups::Direct(jobs::dispatch_2d(pairs.div_ceil(256))),
        );

        let tile_bits = u32::BITS - chunk.tiles.saturating_sub(1).leading_zeros();
        rec.stage("intersection sort");
        let isect_out = record_sort(rec, pipes, counters, base + jobs::ISECT_SORT_JOB, tile_bits.max(1), &frame.isect_sort, &frame.scan, false);
        rec.stage("tile ranges");
        rec.dispatch(
            "tile_ranges",
            &pipes.tile_ranges,
            params,
            vec![(0, Binding::Params), (1, buf(counters)), (2, buf(&frame.isect_sort.keys[isect_out])), (3, buf(&frame.tile_ranges))],
            Workgroups::Indirect((base as u64 + jobs::ISECT_DISPATCH as u64) * 4),
        );
        rec.stage("rasterize");
        rec.dispatch(
            "rasterize",
            &pipes.rasterize,
            params,
            vec![
                (1, Binding::Cameras(ci)),
                (2, buf(&frame.tile_ranges)),
                (3, buf(&frame.isect_sort.values[isect_out])),
                (4, buf(&frame.projected)),
                (5, buf(&outputs.rgba)),
                (6, buf(&outputs.depth)),
                (7, buf(&outputs.last)),
            ],
            Workgroups::Direct([chunk.max_tiles[0], chunk.max_tiles[1], chunk.count as u32]),
        );
        isect_out
    }
}
