//! Every compute pipeline of the renderer (forward, backward, RGBA8 packing), compiled once per
//! device from the WGSL stages of the same names.

use crate::kernel::shader::{Stage, Variant, compute_pipeline};
use crate::kernel::sort::SortPipelines;
use crate::shaders::render;

pub struct Pipelines {
    pub project: wgpu::ComputePipeline,
    /// The depth and intersection sorts, and the count scan (`sort.scan`).
    pub sort: SortPipelines,
    pub gather_counts: wgpu::ComputePipeline,
    pub plan_intersections: wgpu::ComputePipeline,
    pub emit_intersections: wgpu::ComputePipeline,
    pub tile_ranges: wgpu::ComputePipeline,
    pub rasterize: wgpu::ComputePipeline,
    pub rasterize_backward: wgpu::ComputePipeline,
    pub project_backward: wgpu::ComputePipeline,
    pub pack_rgba8: wgpu::ComputePipeline,
}

impl Pipelines {
    /// The backward pass adds its gradients with float atomics where `features` has them.
    pub fn new(device: &wgpu::Device, features: &crate::kernel::OptionalFeatures) -> Self {
        let main = |stage: Stage| compute_pipeline(device, stage, &[], "main");
        Self {
            project: main(render::PROJECT),
            sort: SortPipelines::new(device),
            gather_counts: main(render::GATHER_COUNTS),
            plan_intersections: main(render::PLAN_INTERSECTIONS),
            emit_intersections: main(render::EMIT_INTERSECTIONS),
            tile_ranges: main(render::TILE_RANGES),
            rasterize: main(render::RASTERIZE),
            rasterize_backward: BackwardPath::for_features(features).pipeline(device),
            project_backward: main(render::PROJECT_BACKWARD),
            pack_rgba8: main(render::PACK_RGBA8),
        }
    }
}

/// The variants of rasterize_backward.wgsl that [`BackwardPath`] builds (for the shader tests).
pub const RASTERIZE_BACKWARD_VARIANTS: &[Variant<'static>] =
    &[&[("batch_add", "batch_add_float_atomic")], &[("batch_add", "batch_add_cas")]];

/// How the backward rasterizer adds each tile's gradient sums to memory (the sums themselves are
/// made the same way on every adapter: rasterize_backward.wgsl).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackwardPath {
    /// Native float atomics (Vulkan, Metal): one atomic add a sum.
    FloatAtomics,
    /// Compare-and-swap on the float bits: core WebGPU, every browser.
    Portable,
}

impl BackwardPath {
    /// Float atomics where the adapter has them. Subgroups are not used: a kernel that summed
    /// over subgroups was slower than this one's shared-memory sums, with float atomics and
    /// without (BENCHMARKS.md, "A backward pass without subgroups or float atomics").
    pub fn for_features(features: &crate::kernel::OptionalFeatures) -> Self {
        if features.float32_atomics { Self::FloatAtomics } else { Self::Portable }
    }

    /// The shared file that adds the sums (`batch_add` in rasterize_backward.wgsl).
    pub fn batch_add(self) -> &'static str {
        match self {
            Self::FloatAtomics => "batch_add_float_atomic",
            Self::Portable => "batch_add_cas",
        }
    }

    pub fn pipeline(self, device: &wgpu::Device) -> wgpu::ComputePipeline {
        compute_pipeline(device, render::RASTERIZE_BACKWARD, &[("batch_add", self.batch_add())], "main")
    }
}
