//! Datasets: cameras, images and initial points from a folder, a zip or memory.
//!
//! - [`FileSource`] abstracts where the files come from: [`DirSource`] (native), [`ZipSource`]
//!   (native and browser, with zip-bomb limits) and [`MemorySource`] (browser uploads).
//! - [`load_dataset`] detects the format (nerfstudio / NeRF-synthetic `transforms*.json`, or a
//!   COLMAP sparse model, binary or text), reads the cameras, checks that every image exists,
//!   splits train and test, and returns a [`DatasetIndex`]. It reads at most one image (the first
//!   training image's header, for the image size and alpha); images are decoded later with
//!   [`decode_frame`], or natively on a [`DecodePool`] of worker threads.
//! - [`DatasetIdentity`]: what a checkpoint records of its dataset, so that it continues only on
//!   that one.
//! - [`DatasetError`]: every message names the file, and the frame or record where relevant.
//!   Nothing here panics on bad input.
//!
//! Everything except [`DirSource`], [`DecodePool`] and [`paths::resolve_image_path`] compiles
//! for `wasm32-unknown-unknown` (no file system, no threads).

pub mod colmap;
pub mod decode;
mod detect;
pub mod identity;
mod listing;
pub mod paths;
#[cfg(not(target_arch = "wasm32"))]
pub mod pool;
pub mod source;
pub mod transforms;

pub use decode::{DecodedImage, ImageHeader, decode_frame, decode_image, load_frame_image, probe_image, resize_rgba};
pub use detect::load_dataset;
pub use identity::DatasetIdentity;
#[cfg(not(target_arch = "wasm32"))]
pub use pool::{DecodePool, DecodeStream, DecodedFrame};
#[cfg(not(target_arch = "wasm32"))]
pub use source::{DirSource, open_path};
pub use source::{FileSource, MemorySource, ZipLimits, ZipSource};
pub use transforms::{TransformsFrame, read_transforms_cameras};

use crate::camera::{Camera, CameraError};
use thiserror::Error;

/// Why a dataset could not be read. Every message names the file, and the frame (index
/// and `file_path`, or the image name) or record when the problem is in one of them.
#[derive(Debug, Error)]
pub enum DatasetError {
    #[error("{file}: malformed JSON at line {line}, column {column}: {message}")]
    Json { file: String, line: usize, column: usize, message: String },
    #[error("{file}: no frames")]
    NoFrames { file: String },
    #[error("{file}: frame {index} ({file_path}): {problem}")]
    Frame { file: String, index: usize, file_path: String, problem: String },
    #[error("{file}: frame {index} ({file_path}): bad camera: {source}")]
    Camera {
        file: String,
        index: usize,
        file_path: String,
        #[source]
        source: CameraError,
    },
    /// A COLMAP (or other structured) file that is truncated or holds a bad value; `location`
    /// says which record or line.
    #[error("{file}: {location}: {problem}")]
    Malformed { file: String, location: String, problem: String },
    /// A COLMAP camera with lens distortion, or a camera model we can't project.
    #[error(
        "{file}: camera {camera_id} uses the {model} model{detail}; wgsplat trains pinhole cameras only: undistort the images first with `colmap image_undistorter` (it writes PINHOLE cameras and undistorted images) and load its output"
    )]
    CameraModel { file: String, camera_id: u32, model: String, detail: String },
    /// A frame's image (or another file a dataset file references) is not in the dataset.
    #[error("{file}: {frame} references {path}, which is not in the dataset (tried {tried})")]
    MissingFile { file: String, frame: String, path: String, tried: String },
    /// A file could not be read from the source.
    #[error("{file}: cannot read: {message}")]
    Read { file: String, message: String },
    #[error("{file}: cannot decode the image: {message}")]
    Image { file: String, message: String },
    /// An image whose pixels would take more memory than one image may (see
    /// [`decode::check_image_size`]).
    #[error("{file}: the image is {width}x{height}: {} MiB of pixels decoded, over the limit of {} MiB for one image (downscale the image files)", bytes >> 20, limit >> 20)]
    ImageTooLarge { file: String, width: u32, height: u32, bytes: u64, limit: u64 },
    #[error("{file}: the image is {actual_width}x{actual_height} but its camera expects {expected_width}x{expected_height}")]
    SizeMismatch { file: String, expected_width: u32, expected_height: u32, actual_width: u32, actual_height: u32 },
    /// A pose that is not finite or not a rotation, outside the transforms reader (which
    /// reports [`DatasetError::Camera`]).
    #[error("{file}: {frame}: bad pose: {problem}")]
    Pose { file: String, frame: String, problem: String },
    /// No dataset, no frames, or no training frames.
    #[error("{file}: empty dataset: {problem}")]
    Empty { file: String, problem: String },
    /// Nothing that looks like a dataset, or several.
    #[error("{file}: {problem}")]
    Format { file: String, problem: String },
    /// A zip that is not a zip, or an entry we can't decompress.
    #[error("{zip}: {entry}: {message}")]
    Zip { zip: String, entry: String, message: String },
    /// A zip whose entries (would) inflate past the limits of [`ZipLimits`].
    #[error("{zip}: {entry}: refused (possible zip bomb): {problem}")]
    ZipBomb { zip: String, entry: String, problem: String },
    #[error("bad load option: {0}")]
    Options(String),
}

/// How [`load_dataset`] reads a dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadOptions {
    /// Without a test split of its own, every `test_every`-th image (index % test_every == 0,
    /// after sorting COLMAP images by name as 3DGS does) goes to the test set. 0: no test set.
    pub test_every: usize,
    /// Cameras are scaled by this factor (in (0, 4]; 0.5 halves width and height), and images
    /// are resized to match when decoded ([`decode_frame`]).
    pub resolution_scale: f32,
    /// Train distorted cameras (COLMAP models or nerfstudio `k1`, `p1`, ...) as if they were
    /// pinhole, with a warning, instead of refusing them.
    pub ignore_distortion: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self { test_every: 8, resolution_scale: 1.0, ignore_distortion: false }
    }
}

/// One view: its image and camera.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameInfo {
    /// A name for messages and outputs: the COLMAP image name, or the transforms `file_path`
    /// (without a leading `./`), e.g. `test/r_0`.
    pub name: String,
    /// The image's key in the [`FileSource`].
    pub image_path: String,
    /// The camera, already scaled by [`LoadOptions::resolution_scale`]: decoded images come out
    /// at `camera.width` x `camera.height`.
    pub camera: Camera,
    /// The size the image file has according to the dataset (before the resolution scale);
    /// a file of another size is an error.
    pub image_size: (u32, u32),
}

/// Points for initialization (COLMAP `points3D`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PointCloud {
    pub positions: Vec<[f32; 3]>,
    pub colors: Vec<[u8; 3]>,
}

/// A dataset, ready to stream images from.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetIndex {
    pub train: Vec<FrameInfo>,
    pub test: Vec<FrameInfo>,
    pub init_points: Option<PointCloud>,
    /// Mean of the training camera centres.
    pub scene_center: [f32; 3],
    /// 3DGS's `cameras_extent`: 1.1 x the largest distance of a training camera centre from their
    /// mean (1.0 when that is 0, e.g. for a single camera).
    pub scene_extent: f32,
    /// Whether the (first training) image has an alpha channel, to composite on a background.
    pub has_alpha: bool,
    /// `nerf-synthetic`, `nerfstudio`, `colmap-binary` or `colmap-text`.
    pub format: String,
    /// The folder inside the source the dataset sits in ("" at the top, or e.g. `lego/`).
    pub root: String,
    /// Where the cameras' image size came from when the dataset gives none (transforms without
    /// `w`/`h`): e.g. "the first training image, train/r_0.png (transforms_train.json gives no
    /// w/h)". An image of another size is then skipped with this in its message.
    pub size_from: Option<String>,
}

impl DatasetIndex {
    /// What a size mismatch's message adds when the cameras took the first image's size
    /// (`size_from`), else nothing.
    pub fn size_note(&self) -> String {
        self.size_from.as_ref().map(|from| format!("; the cameras take the size of {from}")).unwrap_or_default()
    }

    /// Every frame, train then test.
    pub fn frames(&self) -> impl Iterator<Item = &FrameInfo> {
        self.train.iter().chain(self.test.iter())
    }
}

/// 3DGS's `getNerfppNorm`: the mean of the camera centres and 1.1 x the largest distance to it.
pub fn scene_bounds(cameras: &[Camera]) -> ([f32; 3], f32) {
    if cameras.is_empty() {
        return ([0.0; 3], 1.0);
    }
    let centres: Vec<[f64; 3]> = cameras.iter().map(|c| c.center().map(f64::from)).collect();
    let n = centres.len() as f64;
    let mut mean = [0.0f64; 3];
    for c in &centres {
        for k in 0..3 {
            mean[k] += c[k] / n;
        }
    }
    let radius = centres
        .iter()
        .map(|c| ((c[0] - mean[0]).powi(2) + (c[1] - mean[1]).powi(2) + (c[2] - mean[2]).powi(2)).sqrt())
        .fold(0.0f64, f64::max);
    let extent = (1.1 * radius) as f32;
    (mean.map(|v| v as f32), if extent.is_finite() && extent > 1e-6 { extent } else { 1.0 })
}
