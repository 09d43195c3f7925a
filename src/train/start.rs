//! Starting a run natively on one or more devices: the training images decoded once on a pool
//! of threads and uploaded to every device, the demo set rendered on each, and the session
//! started (or resumed) on the lead with the others joining it.

use std::sync::Arc;

use super::checkpoint::Checkpoint;
use super::config::TrainSettings;
use super::demo_views;
use super::images::{GpuImages, ImageFormat, ImagesTooLarge};
use super::session::{FrameImagesError, ProfileChoice, RunSchedule, TrainSession, frame_images};
use super::trainer::{TrainError, TrainView};
use crate::dataset::{DatasetError, DatasetIndex, DecodePool, FileSource, FrameInfo};
use crate::render::RenderError;
use crate::{Camera, GpuContext};

/// An image of the dataset that could not be used (unreadable, corrupt, or unlike its camera).
#[derive(Debug, Clone, serde::Serialize)]
pub struct SkippedImage {
    pub image: String,
    pub problem: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Room(#[from] FrameImagesError),
    #[error("{image}")]
    Upload {
        image: String,
        #[source]
        source: ImagesTooLarge,
    },
}

/// What loading reports as it goes (for a progress display).
pub enum LoadEvent<'a> {
    /// One more image done (uploaded or skipped).
    Done,
    /// An image left out, and why.
    Skipped(&'a SkippedImage),
}

/// Where a dataset's images come from and how they are decoded.
pub struct ImageSource<'a> {
    pub pool: &'a DecodePool,
    pub source: &'a Arc<dyn FileSource>,
    /// Appended to the problem of an image unlike its camera's size (`DatasetIndex::size_note`).
    pub size_note: &'a str,
}

/// Decodes `frames` on the pool and uploads them into one `GpuImages` in `format` on each
/// device of `gpus` (each image decoded once); broken images are left out and recorded in
/// `skipped`. Images beyond `gpu_budget` bytes are kept in host memory.
pub fn load_frames(
    gpus: &[GpuContext],
    from: &ImageSource,
    frames: &[FrameInfo],
    format: ImageFormat,
    gpu_budget: u64,
    skipped: &mut Vec<SkippedImage>,
    progress: &mut dyn FnMut(LoadEvent),
) -> Result<Vec<GpuImages>, LoadError> {
    let describe = |path: &str| from.source.describe(path);
    let mut images = gpus.iter().map(|gpu| frame_images(gpu, frames, format, gpu_budget, &describe)).collect::<Result<Vec<_>, _>>()?;
    let jobs: Vec<(usize, FrameInfo)> = frames.iter().cloned().enumerate().collect();
    for decoded in from.pool.stream(from.source.clone(), jobs, from.pool.workers() * 2) {
        match decoded.result {
            Ok(image) => {
                for (gpu, images) in gpus.iter().zip(&mut images) {
                    images
                        .upload(gpu, decoded.index, &image.rgba)
                        .map_err(|source| LoadError::Upload { image: decoded.name.clone(), source })?;
                }
            }
            Err(e) => {
                let problem = match &e {
                    DatasetError::SizeMismatch { .. } => format!("{e}{}", from.size_note),
                    _ => e.to_string(),
                };
                skipped.push(SkippedImage { image: decoded.name.clone(), problem });
                progress(LoadEvent::Skipped(skipped.last().expect("just pushed")));
            }
        }
        progress(LoadEvent::Done);
    }
    Ok(images)
}

/// The demo training set on every device of `gpus`: the index, each device's training images
/// (rendered there) and the test images (on the lead).
pub async fn demo_on_devices(gpus: &[GpuContext]) -> Result<(DatasetIndex, Vec<GpuImages>, GpuImages), RenderError> {
    let (index, train, test) = demo_views::demo_dataset(&gpus[0], demo_views::DEMO_TRAIN_VIEWS, demo_views::DEMO_SIZE).await?;
    let cameras: Vec<Camera> = index.train.iter().map(|f| f.camera).collect();
    let mut all = vec![train];
    for peer in &gpus[1..] {
        all.push(demo_views::ground_truth(peer, &cameras).await?);
    }
    Ok((index, all, test))
}

/// A run on `gpus` (the training images of `index` loaded on each, in order): new with
/// `settings`, or continuing from `saved` (already checked against the dataset by
/// `Checkpoint::prepare_resume`); the devices after the first join it.
pub async fn start_on_devices(
    gpus: &[GpuContext],
    settings: &TrainSettings,
    index: &DatasetIndex,
    saved: Option<Checkpoint>,
    mut images: Vec<GpuImages>,
    profile: ProfileChoice,
) -> Result<TrainSession, TrainError> {
    let peer_images = images.split_off(1);
    let lead_images = images.pop().ok_or(TrainError::NoImages)?;
    let views = TrainView::of_frames(&index.train);
    let mut session = match saved {
        Some(saved) => TrainSession::resume(&gpus[0], saved, RunSchedule::of(settings), views, lead_images, profile),
        None => TrainSession::start(&gpus[0], settings, index, views, lead_images, profile),
    }
    .map_err(|(e, _)| e)?;
    let peers = gpus[1..].iter().cloned().zip(peer_images).collect();
    session.add_devices(peers).await.map_err(|(e, _)| e)?;
    Ok(session)
}
