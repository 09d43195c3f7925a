//! wgsplat: 3D Gaussian splatting over WebGPU (browser) and wgpu (native), one code base.
//!
//! Layers, each importing only those below it: `kernel` (the GPU context, shader assembly,
//! buffers, the recorder and the one submit path, the GPU timer, and the primitives radix sort,
//! prefix sum and stream compaction) at the bottom; `rng`, `camera`, `scene` (splats, PLY, the
//! demo scene) and `dataset` (COLMAP, transforms.json, decoding) on it; `render` (project, sort,
//! rasterize and their backward, returning a `Forward` that the backward pass takes); `train`
//! (settings, loss, Adam, density control, schedule, evaluation, checkpoints, the step, and the
//! one driver `session` that the CLI and the page run); `rvs`; and at the top the native CLI
//! (`src/bin`), `autodiff` (feature `burn`) and `web` (the wasm API). `profile` observes: it
//! imports only `kernel`, the GPU passes are timed through the context's attached timer and
//! memory comes in as numbers, so nothing steers by it. Data flows one way: dataset -> batches
//! of cameras + images -> render -> loss -> backward -> optimizer.

#[cfg(all(feature = "burn", not(target_arch = "wasm32")))]
pub mod autodiff;
pub mod camera;
pub mod dataset;
pub mod files;
pub mod kernel;
pub mod profile;
pub mod render;
pub mod rng;
pub mod rvs;
pub mod scene;
pub mod train;
#[cfg(target_arch = "wasm32")]
pub mod web;

pub use camera::Camera;
pub use kernel::GpuContext;
pub use scene::Splats;
