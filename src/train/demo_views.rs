//! A training set made from the built-in demo scene: its renders from orbit cameras are the
//! ground truth. The page offers it as the one-click demo, and the tests train on it; training
//! starts from random points, so the demo shows the whole loop without a dataset file.

use super::images::GpuImages;
use super::trainer::TrainView;
use crate::render::{RenderError, Renderer, View};
use crate::scene::demo::{DEMO_ORBIT_DISTANCE, DEMO_TARGET, demo_scene};
use crate::{Camera, GpuContext};

/// `count` cameras evenly around the demo scene at `pitch` radians above the horizon.
pub fn orbit_cameras(count: usize, pitch: f32, size: u32) -> Vec<Camera> {
    (0..count)
        .map(|i| Camera::orbit(DEMO_TARGET, DEMO_ORBIT_DISTANCE, i as f32 / count as f32 * std::f32::consts::TAU, pitch, 0.8, size, size))
        .collect()
}

/// Renders the demo scene into ground-truth images (RGBA8, opaque, black background), one
/// batched render.
pub async fn ground_truth(gpu: &GpuContext, cameras: &[Camera]) -> Result<GpuImages, RenderError> {
    let mut renderer = Renderer::new(gpu)?;
    let scene = renderer.upload(gpu, &demo_scene())?;
    let views: Vec<View> = cameras.iter().map(|c| View { camera: *c, background: [0.0; 3] }).collect();
    let rendered = renderer.render_images(gpu, &scene, &views).await?;
    let mut images = GpuImages::new(gpu, &cameras.iter().map(|c| (c.width, c.height)).collect::<Vec<_>>());
    for (i, image) in rendered.iter().enumerate() {
        images.upload(gpu, i, &image.to_rgba8());
    }
    Ok(images)
}

/// One training view a camera, image slot i for camera i.
pub fn train_views(cameras: &[Camera]) -> Vec<TrainView> {
    cameras.iter().enumerate().map(|(i, c)| TrainView { name: format!("view {i}"), camera: *c, slot: i }).collect()
}
