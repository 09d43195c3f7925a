//! Where a dataset's `file_path` points: the path as written, or with `.png` (or another image
//! extension) added when the path has none, as NeRF-synthetic writes them. One lookup for both
//! callers: the loader (keys of a [`FileSource`](super::FileSource) listing) and the command
//! line (files relative to the JSON's folder on disk).

#[cfg(not(target_arch = "wasm32"))]
use std::path::{Path, PathBuf};

/// The extensions tried on a path that has none, in order.
pub const IMAGE_EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "PNG", "JPG", "JPEG"];

/// The first of `path`'s candidates for which `exists` holds: `path` itself, then (unless its
/// last component already ends in an image extension) `path.<ext>` for each of
/// [`IMAGE_EXTENSIONS`]. The error lists every candidate tried, in order.
pub fn find_image(path: &str, mut exists: impl FnMut(&str) -> bool) -> Result<String, Vec<String>> {
    if exists(path) {
        return Ok(path.to_string());
    }
    let mut tried = vec![path.to_string()];
    // A path that already ends in an image extension is taken as is.
    let last = path.rsplit('/').next().unwrap_or("");
    if last.rsplit_once('.').is_some_and(|(_, ext)| IMAGE_EXTENSIONS.contains(&ext)) {
        return Err(tried);
    }
    for ext in IMAGE_EXTENSIONS {
        let candidate = format!("{path}.{ext}");
        if exists(&candidate) {
            return Ok(candidate);
        }
        tried.push(candidate);
    }
    Err(tried)
}

/// The image file a frame names, relative to `base_dir` (a leading `./` dropped), or None when
/// no candidate exists. Native only (the file system).
#[cfg(not(target_arch = "wasm32"))]
pub fn resolve_image_path(base_dir: &Path, file_path: &str) -> Option<PathBuf> {
    let relative = file_path.trim_start_matches("./");
    find_image(relative, |candidate| base_dir.join(candidate).is_file()).ok().map(|found| base_dir.join(found))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_missing_extensions() {
        let dir = std::env::temp_dir().join(format!("wgsplat-paths-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("train")).unwrap();
        std::fs::write(dir.join("train/r_0.png"), b"x").unwrap();
        std::fs::write(dir.join("train/r_2.JPEG"), b"x").unwrap();
        assert_eq!(resolve_image_path(&dir, "./train/r_0"), Some(dir.join("train/r_0.png")));
        assert_eq!(resolve_image_path(&dir, "train/r_0.png"), Some(dir.join("train/r_0.png")));
        assert_eq!(resolve_image_path(&dir, "./train/r_2"), Some(dir.join("train/r_2.JPEG")));
        assert_eq!(resolve_image_path(&dir, "./train/r_1"), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn lists_what_was_tried() {
        let files = ["a/r_0.jpg", "a/r_1.png"];
        let exists = |p: &str| files.contains(&p);
        assert_eq!(find_image("a/r_0", exists), Ok("a/r_0.jpg".to_string()));
        assert_eq!(find_image("a/r_1.png", exists), Ok("a/r_1.png".to_string()));
        // Only the path itself when it already has an image extension.
        assert_eq!(find_image("a/r_0.png", exists), Err(vec!["a/r_0.png".to_string()]));
        let tried = find_image("a/r_9", exists).unwrap_err();
        assert_eq!(tried.len(), 1 + IMAGE_EXTENSIONS.len());
        assert_eq!(tried[0], "a/r_9");
        assert_eq!(tried[6], "a/r_9.JPEG");
        // A dot in a folder name is not an extension.
        assert_eq!(find_image("v1.png/r_0", |p| p == "v1.png/r_0.png"), Ok("v1.png/r_0.png".to_string()));
    }
}
