//! Every compute pipeline of the forward renderer, compiled once per device.

use super::shader::compute_pipeline;

pub const PROJECT: &str = include_str!("../../shaders/project.wgsl");
pub const PREFIX_SUM: &str = include_str!("../../shaders/prefix_sum.wgsl");
pub const RADIX_SORT: &str = include_str!("../../shaders/radix_sort.wgsl");
pub const GATHER_COUNTS: &str = include_str!("../../shaders/gather_counts.wgsl");
pub const PLAN_INTERSECTIONS: &str = include_str!("../../shaders/plan_intersections.wgsl");
pub const EMIT_INTERSECTIONS: &str = include_str!("../../shaders/emit_intersections.wgsl");
pub const TILE_RANGES: &str = include_str!("../../shaders/tile_ranges.wgsl");
pub const RASTERIZE: &str = include_str!("../../shaders/rasterize.wgsl");
pub const RASTERIZE_BACKWARD: &str = include_str!("../../shaders/rasterize_backward.wgsl");
pub const PROJECT_BACKWARD: &str = include_str!("../../shaders/project_backward.wgsl");
pub const DENSIFY_STATS: &str = include_str!("../../shaders/densify_stats.wgsl");
pub const PACK_RGBA8: &str = include_str!("../../shaders/pack_rgba8.wgsl");

pub const SOURCES: &[(&str, &str)] = &[
    ("project", PROJECT),
    ("prefix_sum", PREFIX_SUM),
    ("radix_sort", RADIX_SORT),
    ("gather_counts", GATHER_COUNTS),
    ("plan_intersections", PLAN_INTERSECTIONS),
    ("emit_intersections", EMIT_INTERSECTIONS),
    ("tile_ranges", TILE_RANGES),
    ("rasterize", RASTERIZE),
    ("rasterize_backward", RASTERIZE_BACKWARD),
    ("project_backward", PROJECT_BACKWARD),
    ("densify_stats", DENSIFY_STATS),
    ("pack_rgba8", PACK_RGBA8),
];

pub struct Pipelines {
    pub project: wgpu::ComputePipeline,
    pub scan_blocks: wgpu::ComputePipeline,
    pub add_block_sums: wgpu::ComputePipeline,
    pub sort_histogram: wgpu::ComputePipeline,
    pub sort_scatter: wgpu::ComputePipeline,
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
    pub fn new(device: &wgpu::Device, features: &crate::gpu::OptionalFeatures) -> Self {
        Self {
            project: compute_pipeline(device, "project", PROJECT, "main"),
            scan_blocks: compute_pipeline(device, "scan_blocks", PREFIX_SUM, "scan_blocks"),
            add_block_sums: compute_pipeline(device, "add_block_sums", PREFIX_SUM, "add_block_sums"),
            sort_histogram: compute_pipeline(device, "sort_histogram", RADIX_SORT, "histogram"),
            sort_scatter: compute_pipeline(device, "sort_scatter", RADIX_SORT, "scatter"),
            gather_counts: compute_pipeline(device, "gather_counts", GATHER_COUNTS, "main"),
            plan_intersections: compute_pipeline(device, "plan_intersections", PLAN_INTERSECTIONS, "main"),
            emit_intersections: compute_pipeline(device, "emit_intersections", EMIT_INTERSECTIONS, "main"),
            tile_ranges: compute_pipeline(device, "tile_ranges", TILE_RANGES, "main"),
            rasterize: compute_pipeline(device, "rasterize", RASTERIZE, "main"),
            rasterize_backward: compute_pipeline(device, "rasterize_backward", &rasterize_backward_source(features.subgroups, features.float32_atomics), "main"),
            project_backward: compute_pipeline(device, "project_backward", PROJECT_BACKWARD, "main"),
            densify_stats: compute_pipeline(device, "densify_stats", DENSIFY_STATS, "main"),
            pack_rgba8: compute_pipeline(device, "pack_rgba8", PACK_RGBA8, "main"),
        }
    }
}

/// The backward rasterizer reduces its per-pixel gradients over subgroups where they exist and
/// adds them with native float atomics where those exist (shared-memory sums otherwise).
pub fn rasterize_backward_source(subgroups: bool, float_atomics: bool) -> String {
    let reduce = if subgroups { include_str!("../../shaders/shared/reduce_subgroup.wgsl") } else { include_str!("../../shaders/shared/reduce_atomic.wgsl") };
    let sink = if float_atomics { include_str!("../../shaders/shared/sink_float_atomic.wgsl") } else { include_str!("../../shaders/shared/sink_shared.wgsl") };
    let body = RASTERIZE_BACKWARD.replace("#import reduce", reduce).replace("#import sink", sink);
    // Browsers want the WGSL extension enabled; naga (native) has the builtins without it and
    // rejects the directive.
    if subgroups && cfg!(target_arch = "wasm32") { format!("enable subgroups;\n{body}") } else { body }
}
