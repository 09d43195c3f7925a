//! wgsplat: 3D Gaussian splatting over WebGPU (browser) and wgpu (native), one code base.
//!
//! Data flows one way: dataset -> cameras + images -> render -> (loss -> backward -> optimizer).

#[cfg(all(feature = "burn", not(target_arch = "wasm32")))]
pub mod autodiff;
pub mod camera;
pub mod dataset;
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
