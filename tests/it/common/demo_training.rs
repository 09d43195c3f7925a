//! A small training setup on the demo scene (see `wgsplat::train::demo_views`).

use wgsplat::train::images::GpuImages;
use wgsplat::{Camera, GpuContext};

#[allow(unused_imports)] // each test binary uses a different subset
pub use wgsplat::train::demo_views::{orbit_cameras, train_views};

/// Renders the demo scene into ground-truth images (RGBA8, opaque, black background).
pub fn ground_truth(gpu: &GpuContext, cameras: &[Camera]) -> GpuImages {
    pollster::block_on(wgsplat::train::demo_views::ground_truth(gpu, cameras)).expect("the demo scene renders")
}
