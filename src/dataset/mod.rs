//! Datasets: camera (and later image) readers.
//!
//! For now only the cameras of nerfstudio / NeRF-synthetic `transforms*.json` files, which is
//! what `wgsplat render --cameras` needs; the full reader with images comes later.

#[cfg(not(target_arch = "wasm32"))]
pub mod paths;
pub mod transforms;

pub use transforms::{TransformsFrame, read_transforms_cameras};

use crate::camera::CameraError;
use thiserror::Error;

/// Why a dataset file could not be read. Every message names the file, and the frame (index
/// and `file_path`) when the problem is in one frame.
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
}
