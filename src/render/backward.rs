//! The backward pass of the last render: gradients of a loss with respect to every splat
//! parameter, given dL/d(rgb, alpha) and dL/d(depth) per pixel. Two stages, one WGSL file each:
//! `rasterize_backward` (per pixel, back to front, into per-(camera, splat) 2D gradients) and
//! `project_backward` (per splat, summing its cameras, into parameter gradients).

use super::recorder::{Binding, Recorder, Workgroups};
use super::{GpuSplats, RenderError, Renderer, buffers, jobs};
use crate::GpuContext;

/// Floats per (camera, splat) in the 2D gradient buffer (see rasterize_backward.wgsl).
pub const GRAD2D_STRIDE: u64 = 12;

/// Parameter gradients on the GPU, packed: means [N*3], quats [N*4], log_scales [N*3],
/// opacity logits [N], SH [N*K*3].
pub struct GpuSplatGrads {
    pub buffer: wgpu::Buffer,
    pub num_splats: u32,
    pub coeffs_per_splat: u32,
}

impl GpuSplatGrads {
    pub fn floats(num_splats: u32, coeffs: u32) -> u64 {
        num_splats as u64 * (11 + 3 * coeffs as u64)
    }

    /// Reads the gradients back, split by parameter group (tests, debugging).
    pub async fn read(&self, gpu: &GpuContext) -> Result<crate::render::cpu::backward::SplatGrads, RenderError> {
        let n = self.num_splats as usize;
        let words = buffers::read_u32s(gpu, &self.buffer, Self::floats(self.num_splats, self.coeffs_per_splat) * 4).await?;
        let f: Vec<f64> = words.iter().map(|w| f32::from_bits(*w) as f64).collect();
        Ok(crate::render::cpu::backward::SplatGrads {
            means: f[..3 * n].chunks(3).map(|c| [c[0], c[1], c[2]]).collect(),
            quats: f[3 * n..7 * n].chunks(4).map(|c| [c[0], c[1], c[2], c[3]]).collect(),
            log_scales: f[7 * n..10 * n].chunks(3).map(|c| [c[0], c[1], c[2]]).collect(),
            opacity_logits: f[10 * n..11 * n].to_vec(),
            sh: f[11 * n..].to_vec(),
        })
    }
}

impl Renderer {
    /// Encodes and submits the backward pass of the last `render`/`render_images` call, which
    /// must have rendered `splats` in one chunk. `v_rgba` holds dL/d(rgb, alpha) per pixel and
    /// `v_depth` dL/d(depth), in the layout of the render's outputs. With `densify_stats`
    /// (4 floats per splat), the statistics of density control are gathered too.
    /// The gradient buffers are reused by the next call.
    pub fn backward(
        &mut self,
        gpu: &GpuContext,
        splats: &GpuSplats,
        v_rgba: &wgpu::Buffer,
        v_depth: &wgpu::Buffer,
        densify_stats: Option<&wgpu::Buffer>,
    ) -> Result<GpuSplatGrads, RenderError> {
        let last = self.last_render.ok_or_else(|| RenderError::Backward("no render to differentiate".into()))?;
        if last.chunks != 1 {
            return Err(RenderError::Backward(format!(
                "the last render was split into {} chunks; a differentiable render must fit in one (fewer cameras per step)",
                last.chunks
            )));
        }
        if last.num_splats != splats.num_splats {
            return Err(RenderError::Backward("the splats changed since the render".into()));
        }
        let device = &gpu.device;
        let pairs = splats.num_splats as u64 * last.cameras as u64;
        let grads2d_bytes = pairs * GRAD2D_STRIDE * 4;
        let grads_bytes = GpuSplatGrads::floats(splats.num_splats, splats.coeffs_per_splat()) * 4;
        if !self.cached.grads.as_ref().is_some_and(|(a, b)| a.size() >= grads2d_bytes && b.size() >= grads_bytes) {
            self.cached.grads = Some((buffers::storage(device, "grads2d", grads2d_bytes), buffers::storage(device, "splat grads", grads_bytes)));
        }
        let (grads2d, grads_buffer) = self.cached.grads.clone().expect("sized above");
        let grads = GpuSplatGrads { buffer: grads_buffer, num_splats: splats.num_splats, coeffs_per_splat: splats.coeffs_per_splat() };
        let frame = self.cached.frame.as_ref().expect("a render happened");
        let outputs = self.cached.outputs.as_ref().expect("a render happened");
        let counters = &self.cached.counters.as_ref().expect("a render happened").1;
        let cameras = &self.cached.cameras.as_ref().expect("a render happened").1;
        let params = self.chunk_params(jobs::chunk_base(0), splats, last.cameras);
        let buf = |b: &wgpu::Buffer| Binding::Buffer(b.clone());

        let mut rec = Recorder::default();
        rec.clear(&grads2d);
        rec.clear(&grads.buffer);
        rec.stage("rasterize backward");
        rec.dispatch(
            "rasterize_backward",
            &self.pipes.rasterize_backward,
            params,
            vec![
                (1, Binding::Cameras(0)),
                (2, buf(&frame.tile_ranges)),
                (3, buf(&frame.isect_sort.values[last.isect_out])),
                (4, buf(&frame.projected)),
                (5, buf(&outputs.rgba)),
                (6, buf(&outputs.last)),
                (7, buf(v_rgba)),
                (8, buf(v_depth)),
                (9, buf(&grads2d)),
            ],
            Workgroups::Direct([last.max_tiles[0], last.max_tiles[1], last.cameras as u32]),
        );
        rec.stage("project backward");
        rec.dispatch(
            "project_backward",
            &self.pipes.project_backward,
            params,
            vec![
                (0, Binding::Params),
                (1, Binding::Cameras(0)),
                (2, buf(&splats.means)),
                (3, buf(&splats.quats)),
                (4, buf(&splats.log_scales)),
                (5, buf(&splats.opacity_logits)),
                (6, buf(&splats.sh)),
                (7, buf(&grads2d)),
                (8, buf(&frame.tile_counts)),
                (9, buf(&grads.buffer)),
            ],
            Workgroups::Direct(jobs::dispatch_2d(splats.num_splats.div_ceil(256))),
        );
        if let Some(stats) = densify_stats {
            rec.stage("densify stats");
            rec.dispatch(
                "densify_stats",
                &self.pipes.densify_stats,
                params,
                vec![
                    (0, Binding::Params),
                    (1, Binding::Cameras(0)),
                    (2, buf(&grads2d)),
                    (3, buf(&frame.tile_counts)),
                    (4, buf(&frame.projected)),
                    (5, buf(stats)),
                ],
                Workgroups::Direct(jobs::dispatch_2d(splats.num_splats.div_ceil(256))),
            );
        }
        if !self.cached.backward_uniforms.as_ref().is_some_and(|u| u.size() >= rec.uniform_bytes()) {
            self.cached.backward_uniforms = Some(buffers::uniform(device, "backward params", rec.uniform_bytes()));
        }
        let uniforms = self.cached.backward_uniforms.clone().expect("sized above");
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("wgsplat backward") });
        let attached = self.attached_timer();
        let mut attached = attached.as_ref().map(|t| t.lock().unwrap_or_else(|e| e.into_inner()));
        let passes = rec.stage_count() as u32;
        let timer = attached.as_deref_mut().and_then(|t| t.begin_frame(gpu, passes, "backward").then_some(t));
        rec.encode(device, &gpu.queue, &mut encoder, &uniforms, cameras, counters, timer);
        if let Some(t) = attached.as_deref_mut() {
            t.end_frame(&mut encoder);
        }
        gpu.queue.submit([encoder.finish()]);
        if let Some(t) = attached.as_deref_mut() {
            t.submitted();
        }
        Ok(grads)
    }
}
