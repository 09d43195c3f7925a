//! The statistics density control decides from (densify_stats.wgsl): per splat, the sum of its
//! mean2d gradients' lengths in NDC, the times it was seen and its largest radius, gathered from
//! each chunk of each backward pass (`render::backward::GradientHook`).

use crate::GpuContext;
use crate::kernel::jobs::dispatch_2d;
use crate::kernel::recorder::{Binding, Recorder, Workgroups};
use crate::kernel::shader::compute_pipeline;
use crate::render::backward::{ChunkGradients, GradientHook};

/// The statistics pass of one device.
pub struct GradientStats {
    pipeline: wgpu::ComputePipeline,
}

impl GradientStats {
    pub fn new(gpu: &GpuContext) -> Self {
        Self { pipeline: compute_pipeline(&gpu.device, crate::shaders::train::DENSIFY_STATS, &[], "main") }
    }

    /// The hook that adds a backward pass's statistics into `stats` (4 floats a splat).
    pub fn hook<'a>(&'a self, stats: &'a wgpu::Buffer) -> StatsHook<'a> {
        StatsHook { pipeline: &self.pipeline, stats }
    }
}

pub struct StatsHook<'a> {
    pipeline: &'a wgpu::ComputePipeline,
    stats: &'a wgpu::Buffer,
}

impl GradientHook for StatsHook<'_> {
    fn record(&mut self, rec: &mut Recorder, chunk: &ChunkGradients<'_>) {
        rec.stage("densify stats");
        rec.dispatch(
            "densify_stats",
            self.pipeline,
            chunk.params,
            vec![
                (0, Binding::Params),
                (1, chunk.cameras()),
                (2, Binding::of(chunk.grads2d)),
                (3, Binding::of(chunk.tile_counts)),
                (4, Binding::of(chunk.projected)),
                (5, Binding::of(self.stats)),
            ],
            Workgroups::Direct(dispatch_2d(chunk.num_splats.div_ceil(256))),
        );
    }
}
