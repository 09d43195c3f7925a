//! The backward pass of a render: gradients of a loss with respect to every splat parameter,
//! given the render's `Forward` and dL/d(rgb, alpha) and dL/d(depth) per pixel. Two stages, one
//! WGSL file each: `rasterize_backward` (per pixel, back to front, into per-(camera, splat) 2D
//! gradients) and `project_backward` (per splat, summing its cameras, into parameter
//! gradients). A `GradientHook` sees each chunk's 2D gradients while they are in the buffers
//! (training's density control gathers its statistics from them; the renderer knows nothing of
//! what it does). A batch the renderer split into chunks is differentiated chunk by chunk: the
//! last chunk's intermediates are still in the buffers, the others are rebuilt by recording
//! their forward stages again.

use super::frame::FrameSet;
use super::params::RenderParams;
use super::record::{chunk_cameras, record_chunk};
use super::{Forward, GpuSplats, RenderError, Renderer, jobs};
use crate::GpuContext;
use crate::kernel::buffers;
use crate::kernel::recorder::{Binding, Recorder, Workgroups};
use crate::kernel::submit;

pub use super::grads::GpuSplatGrads;

/// Floats per (camera, splat) in the 2D gradient buffer (see rasterize_backward.wgsl).
pub const GRAD2D_STRIDE: u64 = 12;

/// One chunk's per-(camera, splat) gradients, as the backward pass leaves them after
/// `project_backward` (the next chunk reuses the buffers).
pub struct ChunkGradients<'a> {
    /// The chunk's render parameters (splat count, cameras, `batch_cameras`).
    pub params: &'a RenderParams,
    /// `GRAD2D_STRIDE` floats per (camera, splat): d loss / d (mean2d, conic, opacity, rgb, depth).
    pub grads2d: &'a wgpu::Buffer,
    /// Tiles each (camera, splat) touched (0: culled).
    pub tile_counts: &'a wgpu::Buffer,
    /// Each (camera, splat)'s projection (radius among it).
    pub projected: &'a wgpu::Buffer,
    /// Splats of the render.
    pub num_splats: u32,
    set: &'a FrameSet,
    chunk: usize,
}

impl ChunkGradients<'_> {
    /// The chunk's camera array.
    pub fn cameras(&self) -> Binding {
        chunk_cameras(self.set, self.chunk)
    }
}

/// Records work that reads a chunk's gradients into the backward pass's command buffer, after
/// each chunk's `project_backward`.
pub trait GradientHook {
    fn record(&mut self, rec: &mut Recorder, chunk: &ChunkGradients<'_>);
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
    /// outputs. `hook` records what reads each chunk's 2D gradients. The gradient buffers are
    /// reused by the next call.
    pub fn backward(
        &mut self,
        gpu: &GpuContext,
        splats: &GpuSplats,
        forward: Forward,
        v_rgba: &wgpu::Buffer,
        v_depth: &wgpu::Buffer,
        mut hook: Option<&mut dyn GradientHook>,
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
            if let Some(hook) = hook.as_deref_mut() {
                let chunk_grads = ChunkGradients {
                    params,
                    grads2d: &grads2d,
                    tile_counts: &set.frame.tile_counts,
                    projected: &set.frame.projected,
                    num_splats: splats.num_splats,
                    set,
                    chunk: ci,
                };
                hook.record(&mut rec, &chunk_grads);
            }
        }
        submit::submit(gpu, "backward", rec, &mut self.backward_uniforms, |_| {});
        drop(forward);
        self.last_grads = Some(grads.clone());
        Ok(grads)
    }
}
