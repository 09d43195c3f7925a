//! What the format readers (colmap, transforms) get from and give back to dataset detection: the
//! source's file listing, image lookup in it, the every-Nth test split, and the frames read.

use super::decode::ImageHeader;
use super::paths::find_image;
use super::source::normalize_path;
use super::{FrameInfo, PointCloud};
use std::collections::HashSet;

/// The files of a source, without archive junk (`__MACOSX/`, `._*`, `.DS_Store`).
pub(crate) struct Listing {
    files: HashSet<String>,
    sorted: Vec<String>,
}

impl Listing {
    pub(crate) fn new(files: Vec<String>) -> Self {
        let mut sorted: Vec<String> = files
            .into_iter()
            .filter_map(|f| normalize_path(&f))
            .filter(|f| {
                let base = f.rsplit('/').next().unwrap_or("");
                !f.is_empty() && !f.split('/').any(|c| c == "__MACOSX") && !base.starts_with("._") && base != ".DS_Store"
            })
            .collect();
        sorted.sort();
        sorted.dedup();
        Self { files: sorted.iter().cloned().collect(), sorted }
    }

    /// Every file, sorted.
    pub(crate) fn sorted(&self) -> &[String] {
        &self.sorted
    }

    pub(crate) fn contains(&self, path: &str) -> bool {
        self.files.contains(path)
    }
}

/// What a format reader hands back before the shared finishing steps.
pub(crate) struct Loaded {
    pub train: Vec<FrameInfo>,
    pub test: Vec<FrameInfo>,
    pub points: Option<PointCloud>,
    pub format: &'static str,
    /// The header of one image (the first frame's), and its key.
    pub header: ImageHeader,
    pub header_path: String,
    /// See [`DatasetIndex::size_from`].
    pub size_from: Option<String>,
}

/// The key of an image, given its path relative to the source: as is, or with an image extension
/// added (NeRF-synthetic writes `./train/r_0`; see [`find_image`]). The error lists what was tried.
pub(crate) fn resolve_image(listing: &Listing, path: &str) -> Result<String, String> {
    let Some(base) = normalize_path(path) else {
        return Err(format!("nothing: {path} leaves the dataset folder"));
    };
    find_image(&base, |candidate| listing.contains(candidate)).map_err(|tried| tried.join(", "))
}

/// 3DGS/LLFF's split: frame i is a test frame when i % every == 0 (never, when every is 0).
/// When that would leave no training frame, everything trains.
pub(crate) fn split_every(frames: Vec<FrameInfo>, every: usize) -> (Vec<FrameInfo>, Vec<FrameInfo>) {
    if every == 0 || frames.len() < 2 {
        return (frames, Vec::new());
    }
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (i, frame) in frames.into_iter().enumerate() {
        if i % every == 0 { test.push(frame) } else { train.push(frame) }
    }
    if train.is_empty() {
        return (test, Vec::new());
    }
    (train, test)
}
