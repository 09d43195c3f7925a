//! The batched forward renderer: N Gaussians and C cameras in, C images (RGB, alpha, depth) out,
//! from one set of compute dispatches and no CPU round trip.
//!
//! Stages, one file each (and one WGSL file each): `project` (cull, 2D covariance, SH colour),
//! a depth sort of (camera, splat) pairs (`radix_sort`), tile counts gathered in depth order and
//! their `prefix_sum`, `bin` (emit one intersection per touched tile, sort them by camera and
//! tile, find each tile's range) and `rasterize` (16x16 tiles, front-to-back blending).
//! `cpu` holds the plain-Rust f64 twin the tests compare against.

pub mod backward;
pub mod buffers;
pub mod cpu;
pub mod frame;
pub mod jobs;
pub mod pipelines;
pub mod prefix_sum;
pub mod radix_sort;
pub mod recorder;
pub mod shader;
mod renderer;
pub mod splats;
#[cfg(target_arch = "wasm32")]
pub mod present;

pub use renderer::{ImageLayout, RenderOptions, RenderTarget, RenderedImage, Renderer, Rgba8Image, View};
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
    Gpu(#[from] crate::gpu::GpuError),
}
