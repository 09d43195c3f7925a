//! Which dataset a run trains on, as its checkpoints record it: the kind, the training images
//! (name and size as trained) and the camera count, with a short hash of these to tell datasets
//! apart at a glance. A checkpoint continues only on the dataset it records: the splats and
//! their optimizer state were fit to those images, and another dataset (or another split or
//! resolution of the same one) would silently train something else.
//!
//! Poses are left out on purpose: COLMAP's text and binary models of one reconstruction differ
//! in the last digits, and the names and sizes already tell datasets apart.

use super::{DatasetIndex, FrameInfo};

/// A dataset as a checkpoint records it (`state.json`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DatasetIdentity {
    /// `colmap`, `transforms` or `demo` (the reader's format, without the variant: a COLMAP
    /// model converted from binary to text is the same dataset).
    pub kind: String,
    /// The training images in training order: name and size (after the resolution scale).
    pub images: Vec<IdentityImage>,
    /// Distinct camera intrinsics among the training views (COLMAP's cameras; one for a
    /// transforms file whose frames share them).
    pub cameras: usize,
    /// 16 hex digits over the fields above.
    pub hash: String,
}

/// One training image of a [`DatasetIdentity`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IdentityImage {
    pub name: String,
    pub width: u32,
    pub height: u32,
}

/// Differences listed in a mismatch message at most (a few name the problem; hundreds would
/// bury it).
const MAX_LISTED: usize = 4;

impl DatasetIdentity {
    /// The identity of `index`'s training set.
    pub fn of(index: &DatasetIndex) -> Self {
        let images: Vec<IdentityImage> =
            index.train.iter().map(|f| IdentityImage { name: f.name.clone(), width: f.camera.width, height: f.camera.height }).collect();
        let kind = kind_of(&index.format).to_string();
        let cameras = distinct_intrinsics(&index.train);
        let hash = short_hash(&kind, &images, cameras);
        Self { kind, images, cameras, hash }
    }

    /// "transforms, 4 training images, 1 camera, hash 0123456789abcdef".
    pub fn describe(&self) -> String {
        let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        format!("{}, {}, {}, hash {}", self.kind, plural(self.images.len(), "training image"), plural(self.cameras, "camera"), self.hash)
    }

    /// What differs from `other` (`self` is the checkpoint's, `other` the given dataset), in
    /// words; empty when they are the same dataset.
    pub fn differences(&self, other: &Self) -> Vec<String> {
        let mut out = Vec::new();
        if self.kind != other.kind {
            out.push(format!("the checkpoint's is a {} dataset, this one {}", self.kind, other.kind));
        }
        if self.images.len() != other.images.len() {
            out.push(format!("{} training images in the checkpoint's, {} in this one", self.images.len(), other.images.len()));
        }
        out.extend(image_differences(&self.images, &other.images));
        if self.cameras != other.cameras {
            out.push(format!("{} cameras in the checkpoint's, {} in this one", self.cameras, other.cameras));
        }
        out
    }
}

/// Images only one side has, then images whose size differs, at most `MAX_LISTED` lines.
fn image_differences(saved: &[IdentityImage], given: &[IdentityImage]) -> Vec<String> {
    let find = |images: &[IdentityImage], name: &str| images.iter().position(|i| i.name == name);
    let mut out = Vec::new();
    let missing: Vec<&str> = saved.iter().filter(|i| find(given, &i.name).is_none()).map(|i| i.name.as_str()).collect();
    let added: Vec<&str> = given.iter().filter(|i| find(saved, &i.name).is_none()).map(|i| i.name.as_str()).collect();
    if !missing.is_empty() {
        out.push(format!("{} of the checkpoint's training images are not in this one ({})", missing.len(), listed(&missing)));
    }
    if !added.is_empty() {
        out.push(format!("{} training images of this one are not in the checkpoint's ({})", added.len(), listed(&added)));
    }
    let resized: Vec<String> = saved
        .iter()
        .filter_map(|s| {
            let g = &given[find(given, &s.name)?];
            ((s.width, s.height) != (g.width, g.height))
                .then(|| format!("{} is {}x{} in the checkpoint's, {}x{} here", s.name, s.width, s.height, g.width, g.height))
        })
        .collect();
    if !resized.is_empty() {
        out.push(format!(
            "{} training images differ in size, e.g. {} (other images, or another resolution scale)",
            resized.len(),
            resized[0]
        ));
    }
    if out.is_empty() && saved != given {
        out.push("the training images are in another order (another split?)".to_string());
    }
    out
}

/// "a, b, c, d and 3 more".
fn listed(names: &[&str]) -> String {
    let shown = names[..names.len().min(MAX_LISTED)].join(", ");
    match names.len().saturating_sub(MAX_LISTED) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

/// `colmap`, `transforms` or `demo` for a [`DatasetIndex::format`].
fn kind_of(format: &str) -> &str {
    match format {
        "colmap-binary" | "colmap-text" => "colmap",
        "nerf-synthetic" | "nerfstudio" => "transforms",
        other => other,
    }
}

/// Distinct intrinsics (size, focal lengths, principal point, bit for bit) among `frames`.
fn distinct_intrinsics(frames: &[FrameInfo]) -> usize {
    let mut seen: Vec<[u32; 6]> = frames
        .iter()
        .map(|f| {
            [f.camera.width, f.camera.height, f.camera.fx.to_bits(), f.camera.fy.to_bits(), f.camera.cx.to_bits(), f.camera.cy.to_bits()]
        })
        .collect();
    seen.sort_unstable();
    seen.dedup();
    seen.len()
}

fn short_hash(kind: &str, images: &[IdentityImage], cameras: usize) -> String {
    let mut text = format!("{kind}|{cameras}|{}", images.len());
    for image in images {
        text += &format!("|{}:{}x{}", image.name, image.width, image.height);
    }
    format!("{:016x}", crate::hash::hash_bytes(text.as_bytes()) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Camera;

    fn index(format: &str, names: &[&str], size: u32) -> DatasetIndex {
        let camera = Camera {
            width: size,
            height: size,
            fx: 10.0,
            fy: 10.0,
            cx: size as f32 / 2.0,
            cy: size as f32 / 2.0,
            world_to_camera: [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 4.0], [0.0, 0.0, 0.0, 1.0]],
        };
        DatasetIndex {
            train: names
                .iter()
                .map(|n| FrameInfo { name: n.to_string(), image_path: format!("{n}.png"), camera, image_size: (size, size) })
                .collect(),
            test: Vec::new(),
            init_points: None,
            scene_center: [0.0; 3],
            scene_extent: 1.0,
            has_alpha: false,
            format: format.into(),
            root: String::new(),
            size_from: None,
        }
    }

    #[test]
    fn same_dataset_same_identity() {
        let a = DatasetIdentity::of(&index("colmap-binary", &["a", "b"], 8));
        let b = DatasetIdentity::of(&index("colmap-text", &["a", "b"], 8));
        assert_eq!(a, b, "binary and text models of one reconstruction are one dataset");
        assert!(a.differences(&b).is_empty());
        assert_eq!(a.hash.len(), 16);
        assert_eq!(a.describe(), format!("colmap, 2 training images, 1 camera, hash {}", a.hash));
    }

    #[test]
    fn differences_say_what_differs() {
        let saved = DatasetIdentity::of(&index("nerf-synthetic", &["r_0", "r_1", "r_2"], 8));
        let other = DatasetIdentity::of(&index("colmap-binary", &["r_0", "r_1", "x"], 16));
        assert_ne!(saved.hash, other.hash);
        let text = saved.differences(&other).join("; ");
        for part in [
            "transforms dataset, this one colmap",
            "1 of the checkpoint's training images are not in this one (r_2)",
            "(x)",
            "r_0 is 8x8 in the checkpoint's, 16x16 here",
        ] {
            assert!(text.contains(part), "{part:?} is not in {text:?}");
        }
        let reordered = DatasetIdentity::of(&index("nerf-synthetic", &["r_1", "r_0", "r_2"], 8));
        assert!(saved.differences(&reordered)[0].contains("another order"));
        let many: Vec<String> = (0..10).map(|i| format!("v{i}")).collect();
        let many = DatasetIdentity::of(&index("nerf-synthetic", &many.iter().map(String::as_str).collect::<Vec<_>>(), 8));
        assert!(saved.differences(&many).join("; ").contains("v0, v1, v2, v3 and 6 more"));
    }
}
