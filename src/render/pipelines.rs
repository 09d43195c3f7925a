//! Every compute pipeline of the renderer (forward, backward, density statistics, RGBA8
//! packing), compiled once per device from the WGSL stages of the same names.

use crate::kernel::shader::compute_pipeline;
use crate::kernel::sort::SortPipelines;

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
    pub densify_stats: wgpu::ComputePipeline,
    pub pack_rgba8: wgpu::ComputePipeline,
}

impl Pipelines {
    /// The backward pass sums gradients over subgroups where `features` has them and adds them
    /// with float atomics where it has those.
    pub fn new(device: &wgpu::Device, features: &crate::kernel::OptionalFeatures) -> Self {
        let main = |name: &str| compute_pipeline(device, name, &[], "main");
        Self {
            project: main("project"),
            sort: SortPipelines::new(device),
            gather_counts: main("gather_counts"),
            plan_intersections: main("plan_intersections"),
            emit_intersections: main("emit_intersections"),
            tile_ranges: main("tile_ranges"),
            rasterize: main("rasterize"),
            rasterize_backward: compute_pipeline(device, "rasterize_backward", &rasterize_backward_variant(features.subgroups, features.float32_atomics), "main"),
            project_backward: main("project_backward"),
            densify_stats: main("densify_stats"),
            pack_rgba8: main("pack_rgba8"),
        }
    }
}

/// The backward rasterizer reduces its per-pixel gradients over subgroups where they exist and
/// adds them with native float atomics where those exist (shared-memory sums otherwise).
pub fn rasterize_backward_variant(subgroups: bool, float_atomics: bool) -> [(&'static str, &'static str); 2] {
    [
        ("reduce", if subgroups { "reduce_subgroup" } else { "reduce_atomic" }),
        ("sink", if float_atomics { "sink_float_atomic" } else { "sink_shared" }),
    ]
}
