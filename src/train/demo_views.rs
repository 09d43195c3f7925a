//! A training set made from the built-in demo scene: its renders from orbit cameras are the
//! ground truth. The page offers it as the one-click demo, and the tests train on it; training
//! starts from random points, so the demo shows the whole loop without a dataset file.

use super::images::GpuImages;
use super::init::random_points;
use super::trainer::TrainView;
use crate::camera::Orbit;
use crate::dataset::{DatasetIndex, FrameInfo, PointCloud, scene_bounds};
use crate::render::{RenderError, Renderer, View};
use crate::scene::demo::{DEMO_RADIUS, DEMO_TARGET, demo_orbit, demo_scene};
use crate::{Camera, GpuContext};

/// The demo training set the page's button and `wgsplat train --demo` open: 24 views of 128 px.
pub const DEMO_TRAIN_VIEWS: u32 = 24;
pub const DEMO_SIZE: u32 = 128;

/// The demo training set: `train_views` orbit cameras at `size` x `size` pixels (4 test cameras
/// lower down), their ground truth already on the GPU, and 3000 random initial points in the
/// scene's bounds. Returns the index (format `demo`) with the train and test images.
pub async fn demo_dataset(gpu: &GpuContext, train_views: u32, size: u32) -> Result<(DatasetIndex, GpuImages, GpuImages), RenderError> {
    let train_cams = orbit_cameras(train_views as usize, 0.45, size);
    let test_cams = orbit_cameras(4, 0.25, size);
    let train_images = ground_truth(gpu, &train_cams).await?;
    let test_images = ground_truth(gpu, &test_cams).await?;
    let frames = |cams: &[Camera], split: &str| -> Vec<FrameInfo> {
        cams.iter()
            .enumerate()
            .map(|(i, c)| FrameInfo {
                name: format!("{split}/view_{i}"),
                image_path: format!("{split}/view_{i}.png"),
                camera: *c,
                image_size: (c.width, c.height),
            })
            .collect()
    };
    let (positions, colors) = random_points(3000, DEMO_TARGET, DEMO_RADIUS, 7);
    let (scene_center, scene_extent) = scene_bounds(&train_cams);
    let index = DatasetIndex {
        train: frames(&train_cams, "train"),
        test: frames(&test_cams, "test"),
        init_points: Some(PointCloud { positions, colors }),
        scene_center,
        scene_extent,
        has_alpha: false,
        format: "demo".into(),
        root: String::new(),
        size_from: None,
    };
    Ok((index, train_images, test_images))
}

/// `count` cameras evenly around the demo scene at `pitch` radians above the horizon.
pub fn orbit_cameras(count: usize, pitch: f32, size: u32) -> Vec<Camera> {
    (0..count).map(|i| Orbit { yaw: i as f32 / count as f32 * std::f32::consts::TAU, pitch, ..demo_orbit() }.camera(size, size)).collect()
}

/// Renders the demo scene into ground-truth images (RGBA8, opaque, black background), one
/// batched render.
pub async fn ground_truth(gpu: &GpuContext, cameras: &[Camera]) -> Result<GpuImages, RenderError> {
    let sizes: Vec<(u32, u32)> = cameras.iter().map(|c| (c.width, c.height)).collect();
    let images = GpuImages::new(gpu, &sizes).map_err(|e| RenderError::TooLarge(e.to_string()))?;
    fill_ground_truth(gpu, cameras, images).await
}

/// Renders the demo scene from `cameras` into `images` (one slot a camera, laid out as the
/// caller chose: resident or streamed).
pub async fn fill_ground_truth(gpu: &GpuContext, cameras: &[Camera], mut images: GpuImages) -> Result<GpuImages, RenderError> {
    let mut renderer = Renderer::new(gpu)?;
    let scene = renderer.upload(gpu, &demo_scene())?;
    let views: Vec<View> = cameras.iter().map(|c| View { camera: *c, background: [0.0; 3] }).collect();
    let rendered = renderer.render_images(gpu, &scene, &views).await?;
    for (i, image) in rendered.iter().enumerate() {
        images.upload(gpu, i, &image.to_rgba8()).map_err(|e| RenderError::TooLarge(e.to_string()))?;
    }
    Ok(images)
}

/// One training view a camera, image slot i for camera i.
pub fn train_views(cameras: &[Camera]) -> Vec<TrainView> {
    cameras.iter().enumerate().map(|(i, c)| TrainView { name: format!("view {i}"), camera: *c, slot: i }).collect()
}
