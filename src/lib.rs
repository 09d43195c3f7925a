//! wgsplat: 3D Gaussian splatting over WebGPU (browser) and wgpu (native), one code base.
//!
//! Layers, each importing only those below it; the lowest two are crates of their own, which this
//! one re-exports under the same names: `kernel` (crate `wgsplat-kernel`: the GPU context, shader
//! assembly, buffers, the recorder and the one submit path, the GPU timer, and the primitives
//! radix sort, prefix sum and stream compaction) at the bottom; `rng`, `camera`, `files`, `scene`
//! (splats and their formats) and `dataset` (COLMAP, transforms.json, decoding) in crate
//! `wgsplat-formats`, which has no GPU at all; then, in this crate, `render` (project, sort,
//! rasterize and their backward, returning a `Forward` that the backward pass takes); `train`
//! (settings, loss, Adam, density control, schedule, evaluation, checkpoints, the step, and the
//! one driver `session` that the CLI and the page run); `rvs`; and at the top the native CLI
//! (`src/bin`), `autodiff` (feature `burn`) and `web` (the wasm API). `profile` observes: it
//! imports only `kernel`, the GPU passes are timed through the context's attached timer and
//! memory comes in as numbers, so nothing steers by it. Data flows one way: dataset -> batches
//! of cameras + images -> render -> loss -> backward -> optimizer.

#[cfg(all(feature = "burn", not(target_arch = "wasm32")))]
pub mod autodiff;
pub mod profile;
pub mod render;
pub mod rvs;
pub mod shaders;
pub mod train;
pub use wgsplat_formats::{camera, dataset, files, rng, scene, test_data};
pub use wgsplat_kernel as kernel;
#[cfg(target_arch = "wasm32")]
pub mod web;

pub use camera::Camera;
pub use kernel::GpuContext;
pub use scene::Splats;
