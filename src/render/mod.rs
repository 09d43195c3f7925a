//! The batched differentiable renderer: N Gaussians and C cameras in, C images (RGB, alpha,
//! depth) out, from one set of compute dispatches and no CPU round trip; and its backward pass.
//!
//! Stages, one WGSL file each (shaders/NAME.wgsl), recorded by `record::record_chunk`:
//! `project` (cull, 2D covariance, SH colour), a depth sort of (camera, splat) pairs
//! (`kernel::sort`), `gather_counts` (tile counts in depth order) and their scan
//! (`kernel::scan`), `plan_intersections` and `emit_intersections` (one intersection per touched
//! tile), the intersection sort by camera and tile, `tile_ranges`, and `rasterize` (16x16
//! tiles, front-to-back blending). `backward` runs `rasterize_backward` and `project_backward`,
//! and hands each chunk's 2D gradients to a `GradientHook` (training's statistics). `cpu` holds
//! the plain-Rust f64 twin the tests compare against, stage by stage under the same names.
//!
//! A render returns a `Forward` (`forward.rs`): the images on the GPU and the buffers the
//! backward pass reads; the renderer keeps nothing about a render between calls.

pub mod backward;
pub mod cpu;
pub mod forward;
pub mod frame;
mod grads;
pub mod jobs;
pub mod params;
pub mod pipelines;
#[cfg(target_arch = "wasm32")]
pub mod present;
mod record;
mod renderer;
pub mod splats;

pub use forward::{Forward, ImageLayout, RenderTarget};
pub use renderer::{RenderOptions, RenderedImage, Renderer, Rgba8Image, STATUS_BYTES, View};
pub use splats::GpuSplats;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum RenderError {
    #[error("camera {index}: {source}")]
    Camera { index: usize, source: crate::camera::CameraError },
    #[error("the scene is invalid: {0}")]
    Splats(#[from] crate::scene::SplatsError),
    #[error("the scene is empty")]
    EmptyScene,
    #[error("too large for this GPU: {0}")]
    TooLarge(String),
    #[error("backward pass: {0}")]
    Backward(String),
    #[error(transparent)]
    Gpu(#[from] crate::kernel::GpuError),
}
