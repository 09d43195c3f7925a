//! Random view synthesis (RVS): extra training views for camera pose regression, rendered from a
//! trained splat scene at randomly perturbed copies of the training poses (DFNet, ECCV 2022; RAP,
//! ICCV 2025).
//!
//! As DFNet defines it: for each training camera draw three angles uniformly in `[-R, R]` degrees
//! and apply them as world-frame rotations (about x, then y, then z) to the camera-to-world
//! rotation; add translation noise uniform in `[-T, T]` per axis; clamp the position to the box of
//! all training positions widened by `D` on each side; render. A refresh draws a new set (its own
//! seed) every K epochs.
//!
//! One concern a file, so that the browser build can take the parts it needs:
//! - [`sampler`]: the poses, deterministic from a seed (wasm-safe);
//! - [`export`]: `transforms.json` in the input's convention and `rvs_poses.json` (wasm-safe);
//! - [`encode`]: PNG / JPEG encoding of rendered views (wasm-safe);
//! - [`batch`]: rendering a set in batches of C cameras, one readback per batch (wasm-safe);
//! - [`archive`]: the whole set as a zip in memory, for an in-page download (wasm-safe);
//! - [`hash`]: content hashes for cache keys (wasm-safe);
//! - native only: [`cache`] (rendered views on disk, LRU-bounded), [`pool`] (encoding on worker
//!   threads while the GPU renders the next batch) and [`generate`] (the whole pipeline to a
//!   folder, which the CLI and the benchmark drive).

pub mod archive;
pub mod batch;
#[cfg(not(target_arch = "wasm32"))]
pub mod cache;
pub mod encode;
pub mod export;
#[cfg(not(target_arch = "wasm32"))]
pub mod generate;
pub use wgsplat_formats::hash;
#[cfg(not(target_arch = "wasm32"))]
pub mod pool;
pub mod sampler;

pub use encode::ImageFormat;
pub use export::Convention;
pub use sampler::{RvsParams, SampledView, sample_views};

use thiserror::Error;

/// Why an RVS set could not be made. Messages name the option, file or view at fault.
#[derive(Debug, Error)]
pub enum RvsError {
    /// A parameter out of range, e.g. a negative or non-finite `--rot`.
    #[error("{option}: {problem}")]
    Param { option: &'static str, problem: String },
    #[error("no training cameras to perturb")]
    NoSources,
    #[error("training camera {name}: {problem}")]
    Source { name: String, problem: String },
    #[error("rendering: {0}")]
    Render(#[from] crate::render::RenderError),
    #[error("encoding {name}: {message}")]
    Encode { name: String, message: String },
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    #[error("writing the zip: {0}")]
    Zip(String),
    #[error("the encoder pool stopped: {0}")]
    Pool(String),
}

impl RvsError {
    /// Used by the native-only parts (cache, pool).
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn io(path: impl AsRef<std::path::Path>, error: impl std::fmt::Display) -> Self {
        RvsError::Io { path: path.as_ref().display().to_string(), message: error.to_string() }
    }
}
