//! The plain-Rust, f64 twin of the GPU renderer: the same stages under the same names, written
//! for clarity, not speed. Tests compare every GPU stage against it.

pub mod backward;
pub mod project;
pub mod rasterize;
pub mod sh;

pub use project::{ProjectedSplat, project};
pub use rasterize::rasterize;

use super::{RenderOptions, RenderedImage, View};
use crate::Splats;

/// Renders every view on the CPU.
pub fn render(splats: &Splats, views: &[View], options: &RenderOptions) -> Vec<RenderedImage> {
    views
        .iter()
        .map(|view| {
            let projected = project(splats, &view.camera, options);
            rasterize(&projected, &view.camera, view.background)
        })
        .collect()
}
