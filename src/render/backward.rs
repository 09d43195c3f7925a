//! The backward pass of a render: gradients of a loss with respect to every splat parameter,
//! given the render's `Forward` and dL/d(rgb, alpha) and dL/d(depth) per pixel. Two stages, one
//! WGSL file each: `rasterize_backward` (per pixel, back to front, into per-(camera, splat) 2D
//! gradients) and `project_backward` (per splat, summing its cameras, into parameter
//! gradients); optionally `densify_stats` (density control's statistics). A batch the renderer
//! split into chunks is differentiated chunk by chunk: the last chunk's intermediates are still
//! in the buffers, the others are rebuilt by recording their forward stages again.

use super::renderer::{chunk_cameras, record_chunk};
use super::{Forward, GpuSplats, RenderError, Renderer, jobs};
use crate::GpuContext;
use crate::kernel::buffers;
use crate::kernel::recorder::{Binding, Recorder, Workgroups};
use crate::kernel::submit;

/// Floats per (camera, splat) in the 2D gradient buffer (see rasterize_backward.wgsl).
pub const GRAD2D_STRIDE: u64 = 12;

/// Parameter gradients on the GPU, packed: means [N*3], quats [N*4], log_scales [N*3],
/// opacity logits [N], SH [N*K*3].
#[derive(Clone)]
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
    /// The gradients of the last backward pass, for the splats it differentiated (the buffer
    /// the next one reuses: read it before the next backward pass).
    pub fn last_gradients(&self) -> Option<GpuSplatGrads> {
        self.last_grads.clone()
    }

    /// The buffer of the last backward pass's per-projection gradients (`grads2d`, 12 floats
    /// each), for debugging (`train::nonfinite_probe`).
    pub fn last_grads2d(&self) -> Option<wgpu::Buffer> {
        self.grads.as_ref().map(|(grads2d, _)| grads2d.clone())
    }

    /// Records and submits the backward pass of `forward`, a render of `splats`. `v_rgba` holds
    /// dL/d(rgb, alpha) per pixel and `v_depth` dL/d(depth), in the layout of the render's
    /// outputs. With `densify_stats` (4 floats per splat), the statistics of density control
    /// are gathered too. The gradient buffers are reused by the next call.
    pub fn backward(
        &mut self,
        gpu: &GpuContext,
        splats: &GpuSplats,
        forward: Forward,
        v_rgba: &wgpu::Buffer,
        v_depth: &wgpu::Buffer,
        densify_stats: Option<&wgpu::Buffer>,
    ) -> Result<GpuSplatGrads, RenderError> {
        if forward.num_splats() != splats.num_splats {
            return Err(RenderError::Backward(format!(
                "the render was of {} splats, these are {}",
                forward.num_splats(),
                splats.num_splats
            )));
        }
        let device = &gpu.device;
        let max_pairs = forward.chunks.iter().map(|c| c.count as u64).max().unwrap_or(1) * splats.num_splats as u64;
        let grads2d_bytes = max_pairs * GRAD2D_STRIDE * 4;
        let grads_bytes = GpuSplatGrads::floats(splats.num_splats, splats.coeffs_per_splat()) * 4;
        if !self.grads.as_ref().is_some_and(|(a, b)| a.size() >= grads2d_bytes && b.size() >= grads_bytes) {
            self.grads = Some((buffers::storage(device, "grads2d", grads2d_bytes), buffers::storage(device, "splat grads", grads_bytes)));
        }
        let (grads2d, grads_buffer) = self.grads.clone().expect("sized above");
        let grads = GpuSplatGrads { buffer: grads_buffer, num_splats: splats.num_splats, coeffs_per_splat: splats.coeffs_per_splat() };
        let set = forward.set();
        let buf = Binding::of;

        let mut rec = Recorder::new();
        rec.clear(&grads.buffer);
        // The last chunk's intermediates are in the buffers now; rebuild the others first.
        let last = forward.chunks.len() - 1;
        let order = std::iter::once(last).chain(0..last);
        for ci in order {
            let chunk = forward.chunks[ci];
            if ci != last {
                record_chunk(&mut rec, &self.pipes, ci, &chunk, splats, set);
            }
            let params = &chunk.params;
            rec.clear(&grads2d);
            rec.stage("rasterize backward");
            rec.dispatch(
                "rasterize_backward",
                &self.pipes.rasterize_backward,
                params,
                vec![
                    (1, chunk_cameras(set, ci)),
                    (2, buf(&set.frame.tile_ranges)),
                    (3, buf(&set.frame.isect_sort.values[chunk.isect_out])),
                    (4, buf(&set.frame.projected)),
                    (5, buf(&set.outputs.rgba)),
                    (6, buf(&set.outputs.last)),
                    (7, buf(v_rgba)),
                    (8, buf(v_depth)),
                    (9, buf(&grads2d)),
                ],
                Workgroups::Direct([chunk.max_tiles[0], chunk.max_tiles[1], chunk.count as u32]),
            );
            let per_splat = || Workgroups::Direct(jobs::dispatch_2d(splats.num_splats.div_ceil(256)));
            rec.stage("project backward");
            rec.dispatch(
                "project_backward",
                &self.pipes.project_backward,
                params,
                [(0, Binding::Params), (1, chunk_cameras(set, ci))]
                    .into_iter()
                    .chain(splats.bindings_from(2))
                    .chain([(7, buf(&grads2d)), (8, buf(&set.frame.tile_counts)), (9, buf(&grads.buffer)), (10, buf(&set.frame.projected))])
                    .collect(),
                per_splat(),
            );
            if let Some(stats) = densify_stats {
                rec.stage("densify stats");
                rec.dispatch(
                    "densify_stats",
                    &self.pipes.densify_stats,
                    params,
                    vec![
                        (0, Binding::Params),
                        (1, chunk_cameras(set, ci)),
                        (2, buf(&grads2d)),
                        (3, buf(&set.frame.tile_counts)),
                        (4, buf(&set.frame.projected)),
                        (5, buf(stats)),
                    ],
                    per_splat(),
                );
            }
        }
        submit::submit(gpu, "backward", rec, &mut self.backward_uniforms, |_| {});
        drop(forward);
        self.last_grads = Some(grads.clone());
        Ok(grads)
    }
}
