//! `Renderer`: plans a batch of cameras into chunks that fit the adapter, records every stage of
//! every chunk into one command buffer, and hands back a `Forward` (images on the GPU plus what
//! the backward pass needs) or reads the images back in one readback. The renderer keeps only
//! what sizes future renders (intersection capacity, its pool of buffers, cached readback
//! buffers); it holds no timers and nothing about a particular render.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use super::forward::{FramePool, RecordedChunk};
use super::frame::{FrameSet, FrameSize};
use super::grads::GpuSplatGrads;
use super::jobs::{self, SCAN_MAX_LEN};
use super::params::{CAMERAS_BYTES, CameraGpu, MAX_CAMERAS_PER_CHUNK, RenderParams};
use super::pipelines::Pipelines;
use super::record::record_chunk;
use super::{Forward, GpuSplats, ImageLayout, RenderError, RenderTarget};
use crate::kernel::recorder::{Binding, Recorder, Uniforms, Workgroups};
use crate::kernel::{buffers, submit};
use crate::{Camera, GpuContext};

const TILE: u32 = 16;
/// Bytes of a render's status words (see `Forward::status_buffer`).
pub const STATUS_BYTES: u64 = 16;

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
    /// The buffers renders write, lent to each `Forward` and given back when it is dropped.
    pool: FramePool,
    /// Bytes of the largest buffer set lent so far (what the renderer holds while training).
    frame_set_bytes: u64,
    uniforms: Uniforms,
    pub(super) backward_uniforms: Uniforms,
    /// Cached readback buffer of the blocking renders, by size.
    staging: Option<(u64, wgpu::Buffer)>,
    /// RGBA8-packed pixels for `render_images_rgba8`, by pixel count.
    packed: Option<(u64, wgpu::Buffer)>,
    /// Backward pass: (grads2d, packed parameter gradients), reused by the next call.
    pub(super) grads: Option<(wgpu::Buffer, wgpu::Buffer)>,
    /// The gradients of the last backward pass, with the splat count they were taken for.
    pub(super) last_grads: Option<GpuSplatGrads>,
    status: StatusReadback,
    needed_isects: Arc<AtomicU32>,
}

impl Renderer {
    /// Lets go of the bind groups kept for the next render and backward pass (and the buffers
    /// they hold): before the splat buffers are replaced.
    pub fn forget_bind_groups(&mut self) {
        self.uniforms.forget_bind_groups();
        self.backward_uniforms.forget_bind_groups();
    }

    pub fn new(gpu: &GpuContext) -> Result<Self, RenderError> {
        Ok(Self {
            pipes: Pipelines::new(&gpu.device, &gpu.features),
            options: RenderOptions::default(),
            isect_capacity: 1 << 16,
            cameras_per_chunk_cap: MAX_CAMERAS_PER_CHUNK,
            pool: FramePool::default(),
            frame_set_bytes: 0,
            uniforms: Uniforms::default(),
            backward_uniforms: Uniforms::default(),
            staging: None,
            packed: None,
            grads: None,
            last_grads: None,
            status: StatusReadback {
                staging: buffers::readback(&gpu.device, "render status", STATUS_BYTES),
                in_flight: Arc::new(AtomicBool::new(false)),
                ready: Arc::new(AtomicBool::new(false)),
            },
            needed_isects: Arc::new(AtomicU32::new(0)),
        })
    }

    pub fn upload(&self, gpu: &GpuContext, splats: &crate::Splats) -> Result<GpuSplats, RenderError> {
        GpuSplats::upload(gpu, splats)
    }

    /// Bytes of GPU memory the renderer holds (intermediates and outputs, whether lent to a
    /// `Forward` or not, and the backward pass's gradients).
    pub fn memory_bytes(&self) -> u64 {
        let packed = self.packed.as_ref().map_or(0, |(n, _)| n * 4);
        let grads = self.grads.as_ref().map_or(0, |(a, b)| a.size() + b.size());
        self.frame_set_bytes + packed + grads + self.uniforms.memory_bytes() + self.backward_uniforms.memory_bytes()
    }

    /// Renders at most `cameras` cameras per chunk (a batch of more is recorded as several
    /// chunks in one command buffer): a memory cap, and how the tests exercise chunking.
    pub fn limit_cameras_per_chunk(&mut self, cameras: usize) {
        self.cameras_per_chunk_cap = cameras.clamp(1, MAX_CAMERAS_PER_CHUNK);
    }

    /// Intersections one chunk may hold now.
    pub fn intersection_capacity(&self) -> u64 {
        self.isect_capacity
    }

    /// Records and submits one batched render; the images stay on the GPU. Overflow of the
    /// intersection buffers is read back asynchronously and fixed from the next render on
    /// (callers that must know check `Forward::status_buffer`).
    pub fn render(&mut self, gpu: &GpuContext, splats: &GpuSplats, views: &[View]) -> Result<Forward, RenderError> {
        self.render_share(gpu, splats, views, views.len())
    }

    /// As [`render`](Self::render), for this device's share of a training step of
    /// `batch_views` views spread over several devices: the backward pass's density statistics
    /// are scaled for the whole step's batch (the loss weighs each view by 1 / `batch_views`).
    pub fn render_share(
        &mut self,
        gpu: &GpuContext,
        splats: &GpuSplats,
        views: &[View],
        batch_views: usize,
    ) -> Result<Forward, RenderError> {
        self.collect_status(gpu);
        self.grow_for(gpu, self.needed_isects.load(Ordering::Relaxed) as u64)?;
        let (forward, rec) = self.record(gpu, splats, views, batch_views)?;
        let status_copied = !self.status.in_flight.swap(true, Ordering::AcqRel);
        let counters = forward.status_buffer().clone();
        let staging = self.status.staging.clone();
        submit::submit(gpu, "render", rec, &mut self.uniforms, |encoder| {
            if status_copied {
                encoder.copy_buffer_to_buffer(&counters, 0, &staging, 0, STATUS_BYTES);
            }
        });
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
        Ok(forward)
    }

    /// When a render's status (word 0 of `Forward::status_buffer`, read back by the caller)
    /// says its intersections did not fit, grows the buffers and returns true: render again.
    pub fn grow_if_overflowed(&mut self, gpu: &GpuContext, needed: u32) -> Result<bool, RenderError> {
        if needed as u64 <= self.isect_capacity {
            return Ok(false);
        }
        self.grow_for(gpu, needed as u64)?;
        Ok(true)
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
    pub async fn render_images_rgba8(
        &mut self,
        gpu: &GpuContext,
        splats: &GpuSplats,
        views: &[View],
    ) -> Result<Vec<Rgba8Image>, RenderError> {
        self.render_images_rgba8_reusing(gpu, splats, views, &mut Vec::new()).await
    }

    /// As [`Self::render_images_rgba8`], filling buffers taken from `spare` (images a caller is
    /// done with) before allocating: writing into fresh memory costs a page fault every 4 KiB,
    /// which made the copy out of the readback several times slower than the copy itself.
    pub async fn render_images_rgba8_reusing(
        &mut self,
        gpu: &GpuContext,
        splats: &GpuSplats,
        views: &[View],
        spare: &mut Vec<Vec<u8>>,
    ) -> Result<Vec<Rgba8Image>, RenderError> {
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
            let (forward, mut rec) = self.record(gpu, splats, views, views.len())?;
            let target = &forward.target;
            let pixels: u64 = target.layouts.iter().map(|l| l.width as u64 * l.height as u64).sum();
            let pixel_bytes = match what {
                Readback::Float => pixels * 20,
                Readback::Rgba8 => pixels * 4,
            };
            let staging_bytes = pixel_bytes + STATUS_BYTES;
            if self.staging.as_ref().is_none_or(|(b, _)| *b != staging_bytes) {
                self.staging = Some((staging_bytes, buffers::readback(&gpu.device, "images readback", staging_bytes)));
            }
            let staging = self.staging.as_ref().expect("sized above").1.clone();
            match what {
                Readback::Float => {
                    rec.copy(&target.rgba, 0, &staging, 0, pixels * 16);
                    rec.copy(&target.depth, 0, &staging, pixels * 16, pixels * 4);
                }
                Readback::Rgba8 => {
                    let packed = self.record_pack_rgba8(gpu, &mut rec, &target.rgba, pixels);
                    rec.copy(&packed, 0, &staging, 0, pixels * 4);
                }
            }
            rec.copy(forward.status_buffer(), 0, &staging, pixel_bytes, STATUS_BYTES);
            submit::submit(gpu, "render", rec, &mut self.uniforms, |_| {});
            let isect_capacity = self.isect_capacity;
            // Only the small status tail is looked at before we know whether the render fits;
            // the images are copied out once, straight from the mapping.
            let (needed, images) = crate::kernel::with_mapped(gpu, &staging, |bytes| {
                let status: &[u32] = bytemuck::cast_slice(&bytes[pixel_bytes as usize..(pixel_bytes + STATUS_BYTES) as usize]);
                let needed = status[jobs::STATUS_MAX_ISECTS as usize] as u64;
                let images = if needed > isect_capacity { None } else { extract.take().map(|f| f(bytes, &forward.target.layouts)) };
                (needed, images)
            })
            .await?;
            match images {
                Some(images) => return Ok(images),
                None => self.grow_for(gpu, needed)?,
            }
        }
    }

    /// Records the RGBA8 packing of `pixels` float pixels; returns the packed buffer (cached
    /// between calls of the same size).
    fn record_pack_rgba8(&mut self, gpu: &GpuContext, rec: &mut Recorder, rgba: &wgpu::Buffer, pixels: u64) -> wgpu::Buffer {
        if self.packed.as_ref().is_none_or(|(n, _)| *n != pixels) {
            self.packed = Some((pixels, buffers::storage(&gpu.device, "packed rgba8", pixels.max(1) * 4)));
        }
        let packed = self.packed.as_ref().expect("sized above").1.clone();
        rec.stage("pack rgba8");
        rec.dispatch(
            "pack_rgba8",
            &self.pipes.pack_rgba8,
            &[pixels as u32, 0, 0, 0],
            vec![(0, Binding::Params), (1, Binding::of(rgba)), (2, Binding::of(&packed))],
            Workgroups::Direct(jobs::dispatch_2d(pixels.div_ceil(256) as u32)),
        );
        packed
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
        Err(RenderError::TooLarge(format!("one camera needs {needed} tile intersections; the adapter's largest buffer holds {max_elems}")))
    }

    fn plan_chunks(&self, gpu: &GpuContext, num_splats: u32, views: &[View]) -> Vec<(usize, usize, u32, [u32; 2])> {
        let n = num_splats as u64;
        let by_binding = (gpu.max_binding_bytes() / (48 * n)) as usize;
        let by_scan = (SCAN_MAX_LEN / n) as usize;
        let per_chunk = self.cameras_per_chunk_cap.min(by_binding).min(by_scan).max(1);
        views
            .chunks(per_chunk)
            .enumerate()
            .map(|(i, chunk)| {
                let grids: Vec<[u32; 2]> = chunk.iter().map(|v| [v.camera.width.div_ceil(TILE), v.camera.height.div_ceil(TILE)]).collect();
                let tiles = grids.iter().map(|g| g[0] * g[1]).sum();
                let max_tiles = [grids.iter().map(|g| g[0]).max().unwrap_or(1), grids.iter().map(|g| g[1]).max().unwrap_or(1)];
                (i * per_chunk, chunk.len(), tiles, max_tiles)
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
        if views.len() == 1 && (pixels * 16 > limit || pixels > u32::MAX as u64) {
            let camera = &views[0].camera;
            return Err(RenderError::TooLarge(format!(
                "one view of {}x{} pixels needs {} MiB of output; the adapter binds at most {} MiB (render it smaller)",
                camera.width,
                camera.height,
                (pixels * 16) >> 20,
                limit >> 20
            )));
        }
        if pixels * 16 > limit || pixels > u32::MAX as u64 {
            return Err(RenderError::TooLarge(format!(
                "{} views of {pixels} pixels in all need {} MiB of output; the adapter binds at most {} MiB (render fewer views per batch)",
                views.len(),
                (pixels * 16) >> 20,
                limit >> 20
            )));
        }
        Ok(pixels)
    }

    /// Takes a buffer set from the pool (or makes one) big enough for this render.
    fn lend_set(&mut self, gpu: &GpuContext, size: FrameSize, pixels: u64, chunks: usize) -> FrameSet {
        let pooled = self.pool.lock().unwrap_or_else(|e| e.into_inner()).take();
        let set = match pooled {
            Some(set) => set.grown(&gpu.device, size, pixels, chunks),
            None => FrameSet::new(&gpu.device, size, pixels, chunks),
        };
        self.frame_set_bytes = self.frame_set_bytes.max(set.memory_bytes());
        set
    }

    /// Records every chunk of a batch (not submitted); the `Forward` owns the buffers.
    /// `batch_views`: the views of the whole step these are (some of), for `batch_cameras`.
    fn record(
        &mut self,
        gpu: &GpuContext,
        splats: &GpuSplats,
        views: &[View],
        batch_views: usize,
    ) -> Result<(Forward, Recorder), RenderError> {
        let pixels = self.validate(gpu, views)?;
        let planned = self.plan_chunks(gpu, splats.num_splats, views);
        let n = splats.num_splats as u64;
        let want = planned.iter().fold(FrameSize::default(), |acc, (_, count, tiles, _)| {
            acc.max(&FrameSize { cam_gids: n * *count as u64, isects: self.isect_capacity, tiles: *tiles as u64 })
        });
        let set = self.lend_set(gpu, want, pixels, planned.len());

        // What the CPU knows: cameras, depth sort and count scan jobs.
        let mut counter_values = vec![0u32; jobs::counters_len(planned.len())];
        let mut camera_bytes = vec![0u8; planned.len() * CAMERAS_BYTES as usize];
        let mut layouts = Vec::with_capacity(views.len());
        let mut chunks = Vec::with_capacity(planned.len());
        let mut pixel_offset = 0u32;
        for (ci, &(first, count, tiles, max_tiles)) in planned.iter().enumerate() {
            let base = jobs::chunk_base(ci);
            let pairs = (n * count as u64) as u32;
            jobs::plan_sort(&mut counter_values, (base + jobs::DEPTH_SORT_JOB) as usize, pairs);
            jobs::plan_scan(&mut counter_values, (base + jobs::COUNT_SCAN_JOB) as usize, pairs);
            let mut tile_offset = 0u32;
            for (k, view) in views[first..first + count].iter().enumerate() {
                let cam = &view.camera;
                let grid = [cam.width.div_ceil(TILE), cam.height.div_ceil(TILE)];
                let gpu_cam = camera_gpu(cam, view.background, grid, tile_offset, pixel_offset);
                let at = ci * CAMERAS_BYTES as usize + k * size_of::<CameraGpu>();
                camera_bytes[at..at + size_of::<CameraGpu>()].copy_from_slice(bytemuck::bytes_of(&gpu_cam));
                layouts.push(ImageLayout { width: cam.width, height: cam.height, pixel_offset });
                tile_offset += grid[0] * grid[1];
                pixel_offset += cam.width * cam.height;
            }
            let params = RenderParams { batch_cameras: batch_views as u32, ..self.chunk_params(base, splats, count) };
            chunks.push(RecordedChunk { first, count, tiles, max_tiles, params, isect_out: 0 });
        }
        gpu.queue.write_buffer(&set.counters, 0, bytemuck::cast_slice(&counter_values));
        gpu.queue.write_buffer(&set.cameras, 0, &camera_bytes);

        let mut rec = Recorder::new();
        for (ci, chunk) in chunks.iter_mut().enumerate() {
            chunk.isect_out = record_chunk(&mut rec, &self.pipes, ci, chunk, splats, &set);
        }
        let target = RenderTarget { rgba: set.outputs.rgba.clone(), depth: set.outputs.depth.clone(), layouts };
        let forward = Forward { target, set: Some(set), chunks, num_splats: splats.num_splats, pool: self.pool.clone() };
        Ok((forward, rec))
    }

    /// The parameters every dispatch of a chunk shares.
    fn chunk_params(&self, base: u32, splats: &GpuSplats, cameras: usize) -> RenderParams {
        RenderParams {
            counters_base: base,
            num_splats: splats.num_splats,
            num_cameras: cameras as u32,
            sh_degree: splats.active_sh_degree.min(splats.sh_degree),
            num_coeffs: splats.coeffs_per_splat(),
            near: self.options.near,
            far: self.options.far,
            eps2d: self.options.eps2d,
            isect_capacity: self.isect_capacity.min(u32::MAX as u64) as u32,
            batch_cameras: cameras as u32,
            _pad: [0; 2],
        }
    }
}

fn camera_gpu(cam: &Camera, background: [f32; 3], grid: [u32; 2], tile_offset: u32, pixel_offset: u32) -> CameraGpu {
    let w = &cam.world_to_camera;
    let c = cam.center();
    CameraGpu {
        rows: [w[0], w[1], w[2]],
        center: [c[0], c[1], c[2], 0.0],
        intrinsics: [cam.fx, cam.fy, cam.cx, cam.cy],
        background: [background[0], background[1], background[2], 0.0],
        width: cam.width,
        height: cam.height,
        tiles_x: grid[0],
        tiles_y: grid[1],
        tile_offset,
        pixel_offset,
        _pad: [0; 2],
    }
}
