//! Where a dataset's `file_path` points on disk: relative to the JSON's folder, and with `.png`
//! (or another image extension) added when the path has none, as NeRF-synthetic writes them.

use std::path::{Path, PathBuf};

const EXTENSIONS: [&str; 5] = ["png", "jpg", "jpeg", "PNG", "JPG"];

/// The image file a frame names, or None when no candidate exists.
pub fn resolve_image_path(base_dir: &Path, file_path: &str) -> Option<PathBuf> {
    let relative = file_path.trim_start_matches("./");
    let direct = base_dir.join(relative);
    if direct.is_file() {
        return Some(direct);
    }
    EXTENSIONS.iter().map(|ext| base_dir.join(format!("{relative}.{ext}"))).find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_missing_extensions() {
        let dir = std::env::temp_dir().join(format!("wgsplat-paths-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("train")).unwrap();
        std::fs::write(dir.join("train/r_0.png"), b"x").unwrap();
        assert_eq!(resolve_image_path(&dir, "./train/r_0"), Some(dir.join("train/r_0.png")));
        assert_eq!(resolve_image_path(&dir, "train/r_0.png"), Some(dir.join("train/r_0.png")));
        assert_eq!(resolve_image_path(&dir, "./train/r_1"), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
