//! A small training setup on the demo scene: its renders from orbit cameras are the ground truth.

use wgsplat::render::{Renderer, View};
use wgsplat::scene::demo::demo_scene;
use wgsplat::train::images::GpuImages;
use wgsplat::train::trainer::TrainView;
use wgsplat::{Camera, GpuContext};

pub fn orbit_cameras(count: usize, pitch: f32, size: u32) -> Vec<Camera> {
    (0..count).map(|i| Camera::orbit([0.0, 0.0, -0.1], 4.0, i as f32 / count as f32 * std::f32::consts::TAU, pitch, 0.8, size, size)).collect()
}

/// Renders the demo scene into ground-truth images (RGBA8, opaque, black background).
pub fn ground_truth(gpu: &GpuContext, cameras: &[Camera]) -> GpuImages {
    let mut renderer = Renderer::new(gpu).unwrap();
    let scene = renderer.upload(gpu, &demo_scene()).unwrap();
    let views: Vec<View> = cameras.iter().map(|c| View { camera: *c, background: [0.0; 3] }).collect();
    let rendered = pollster::block_on(renderer.render_images(gpu, &scene, &views)).unwrap();
    let mut images = GpuImages::new(gpu, &cameras.iter().map(|c| (c.width, c.height)).collect::<Vec<_>>());
    for (i, image) in rendered.iter().enumerate() {
        images.upload(gpu, i, &image.to_rgba8());
    }
    images
}

pub fn train_views(cameras: &[Camera]) -> Vec<TrainView> {
    cameras.iter().enumerate().map(|(i, c)| TrainView { name: format!("view {i}"), camera: *c, slot: i }).collect()
}
