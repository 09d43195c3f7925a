//! Reading files a user names with a size cap: a file larger than the cap, or something that is
//! not a regular file (`/dev/zero`, a pipe), is an error that names it, before memory runs out.

use std::io::Read;
use std::path::Path;

/// Scenes (PLY): ten million splats of degree 3 are 2.5 GB.
pub const MAX_SCENE_BYTES: u64 = 4 << 30;
/// A zipped dataset, read whole (its entries are inflated one at a time).
pub const MAX_ZIP_BYTES: u64 = 8 << 30;
/// One file of a dataset folder: an image, a JSON or COLMAP file.
pub const MAX_DATASET_FILE_BYTES: u64 = 1 << 30;
/// JSON a command reads (a profile, a benchmark report, a transforms file).
pub const MAX_JSON_BYTES: u64 = 1 << 30;
/// One file of a checkpoint (splats, optimizer state).
pub const MAX_CHECKPOINT_FILE_BYTES: u64 = 8 << 30;

/// The bytes of `path`, if it is a regular file of at most `limit` bytes; the error says which
/// of those it is not (the caller names the file).
pub fn read_limited(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let too_large = |bytes: String| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{bytes} bytes, over the limit of {} MiB", limit >> 20))
    };
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file"));
    }
    if meta.len() > limit {
        return Err(too_large(meta.len().to_string()));
    }
    let mut out = Vec::with_capacity(meta.len() as usize);
    // The file may grow while it is read: stop one byte past the limit.
    std::fs::File::open(path)?.take(limit + 1).read_to_end(&mut out)?;
    if out.len() as u64 > limit {
        return Err(too_large(format!("more than {limit}")));
    }
    Ok(out)
}

/// `read_limited` as UTF-8 text.
pub fn read_text_limited(path: &Path, limit: u64) -> std::io::Result<String> {
    String::from_utf8(read_limited(path, limit)?).map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_size_and_refuses_devices() {
        let dir = std::env::temp_dir().join(format!("wgsplat-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("ten.bin");
        std::fs::write(&file, [7u8; 10]).unwrap();
        assert_eq!(read_limited(&file, 10).unwrap(), vec![7u8; 10]);
        let err = read_limited(&file, 9).unwrap_err().to_string();
        assert!(err.contains("10 bytes, over the limit"), "{err}");
        assert!(read_limited(&dir, 100).unwrap_err().to_string().contains("not a regular file"));
        if Path::new("/dev/zero").exists() {
            assert!(read_limited(Path::new("/dev/zero"), 100).unwrap_err().to_string().contains("not a regular file"));
        }
        std::fs::write(&file, [0xff, 0xfe]).unwrap();
        assert!(read_text_limited(&file, 10).unwrap_err().to_string().contains("not UTF-8"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
