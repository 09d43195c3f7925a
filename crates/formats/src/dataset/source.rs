//! Where dataset files come from: a folder (native), a zip (native and browser) or memory
//! (browser uploads). Paths are relative, with `/` separators, and never leave the source.

use super::DatasetError;
use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::sync::Arc;
use zip::ZipArchive;

/// A read-only set of files, addressed by relative paths with `/` separators.
/// `Send + Sync` so that decode workers can read from it in parallel.
pub trait FileSource: Send + Sync {
    /// Every file (not folder), as relative paths with `/`, sorted.
    fn list(&self) -> Vec<String>;
    /// The bytes of one listed file.
    fn read(&self, path: &str) -> Result<Vec<u8>, DatasetError>;
    /// How to name `path` in messages: the full path on disk, or `name.zip/path`.
    fn describe(&self, path: &str) -> String {
        path.to_string()
    }
    /// The bytes `read` would return (a zip entry's declared uncompressed size), when known
    /// without reading: lets a reader refuse a file, or wait for memory, before it is inflated.
    fn size(&self, _path: &str) -> Option<u64> {
        None
    }
}

impl<T: FileSource + ?Sized> FileSource for Arc<T> {
    fn list(&self) -> Vec<String> {
        (**self).list()
    }
    fn read(&self, path: &str) -> Result<Vec<u8>, DatasetError> {
        (**self).read(path)
    }
    fn describe(&self, path: &str) -> String {
        (**self).describe(path)
    }
    fn size(&self, path: &str) -> Option<u64> {
        (**self).size(path)
    }
}

impl<T: FileSource + ?Sized> FileSource for Box<T> {
    fn list(&self) -> Vec<String> {
        (**self).list()
    }
    fn read(&self, path: &str) -> Result<Vec<u8>, DatasetError> {
        (**self).read(path)
    }
    fn describe(&self, path: &str) -> String {
        (**self).describe(path)
    }
    fn size(&self, path: &str) -> Option<u64> {
        (**self).size(path)
    }
}

/// `a/./b//c\d` -> `a/b/c/d`; `a/../b` -> `b`; None when the path climbs out of the root.
pub fn normalize_path(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// `describe` for sources named by a label: `label/path`, or `path` alone without a label.
fn labelled(label: &str, path: &str) -> String {
    if label.is_empty() { path.to_string() } else { format!("{}/{path}", label.trim_end_matches('/')) }
}

// ---------------------------------------------------------------------------------------------

/// Files held in memory (e.g. dropped into a browser page). Keys are normalized on insert.
#[derive(Debug, Clone, Default)]
pub struct MemorySource {
    name: String,
    files: HashMap<String, Vec<u8>>,
}

impl MemorySource {
    /// An empty source; `name` prefixes paths in messages (may be empty).
    pub fn new(name: &str) -> Self {
        Self { name: name.to_string(), files: HashMap::new() }
    }

    pub fn from_files(name: &str, files: impl IntoIterator<Item = (String, Vec<u8>)>) -> Self {
        let mut source = Self::new(name);
        for (path, bytes) in files {
            source.insert(&path, bytes);
        }
        source
    }

    /// Adds or replaces a file. A path that climbs out of the root (`../x`) is ignored.
    pub fn insert(&mut self, path: &str, bytes: Vec<u8>) {
        if let Some(path) = normalize_path(path).filter(|p| !p.is_empty()) {
            self.files.insert(path, bytes);
        }
    }

    pub fn remove(&mut self, path: &str) -> Option<Vec<u8>> {
        self.files.remove(&normalize_path(path)?)
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

impl FileSource for MemorySource {
    fn list(&self) -> Vec<String> {
        let mut names: Vec<String> = self.files.keys().cloned().collect();
        names.sort();
        names
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, DatasetError> {
        normalize_path(path)
            .and_then(|p| self.files.get(&p))
            .cloned()
            .ok_or_else(|| DatasetError::Read { file: self.describe(path), message: "no such file".into() })
    }

    fn size(&self, path: &str) -> Option<u64> {
        normalize_path(path).and_then(|p| self.files.get(&p)).map(|b| b.len() as u64)
    }

    fn describe(&self, path: &str) -> String {
        labelled(&self.name, path)
    }
}

// ---------------------------------------------------------------------------------------------

/// Limits that keep a zip from inflating into more memory than any dataset needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZipLimits {
    /// The sum of the declared uncompressed sizes of all entries (checked when opening).
    pub max_total_bytes: u64,
    /// The declared size of one entry (checked when it is read). While reading, an entry that
    /// inflates past its declared size is cut off and refused, so that no entry ever yields more
    /// than it declared, and the whole archive no more than `max_total_bytes`.
    pub max_entry_bytes: u64,
}

impl Default for ZipLimits {
    /// 8 GiB in all, 2 GiB per entry.
    fn default() -> Self {
        Self { max_total_bytes: 8 << 30, max_entry_bytes: 2 << 30 }
    }
}

/// The zip's bytes, shared by the clones of the archive that parallel reads use.
#[derive(Debug, Clone)]
struct SharedBytes(Arc<Vec<u8>>);

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// A zip archive held in memory. Supports stored and deflated entries (pure Rust, so it builds
/// for the browser); reads from several threads at once.
#[derive(Debug, Clone)]
pub struct ZipSource {
    name: String,
    archive: ZipArchive<Cursor<SharedBytes>>,
    /// Normalized name -> entry index.
    index: HashMap<String, usize>,
    files: Vec<String>,
    limits: ZipLimits,
}

impl ZipSource {
    /// Opens a zip with the default [`ZipLimits`]; `name` (e.g. `lego.zip`) names it in messages.
    pub fn new(bytes: Vec<u8>, name: &str) -> Result<Self, DatasetError> {
        Self::with_limits(bytes, name, ZipLimits::default())
    }

    pub fn with_limits(bytes: Vec<u8>, name: &str, limits: ZipLimits) -> Result<Self, DatasetError> {
        let zip_err = |entry: &str, message: String| DatasetError::Zip { zip: name.to_string(), entry: entry.to_string(), message };
        let archive = ZipArchive::new(Cursor::new(SharedBytes(Arc::new(bytes))))
            .map_err(|e| zip_err("central directory", format!("not a readable zip archive: {e}")))?;
        let mut index = HashMap::new();
        let mut total: u64 = 0;
        for i in 0..archive.len() {
            let entry = archive.by_index_data(i).map_err(|e| zip_err(&format!("entry {i}"), e.to_string()))?;
            let raw_name = entry.name().map(|n| n.into_owned()).unwrap_or_else(|_| String::from_utf8_lossy(entry.name_raw()).into_owned());
            if entry.is_dir() || raw_name.ends_with('/') {
                continue;
            }
            total = total.saturating_add(entry.size());
            if total > limits.max_total_bytes {
                return Err(DatasetError::ZipBomb {
                    zip: name.to_string(),
                    entry: raw_name,
                    problem: format!(
                        "the entries up to this one declare {total} uncompressed bytes, over the limit of {} bytes",
                        limits.max_total_bytes
                    ),
                });
            }
            // Entries whose name climbs out of the archive (`../x`) are not part of the dataset.
            if let Some(path) = normalize_path(&raw_name).filter(|p| !p.is_empty()) {
                index.entry(path).or_insert(i);
            }
        }
        let mut files: Vec<String> = index.keys().cloned().collect();
        files.sort();
        Ok(Self { name: name.to_string(), archive, index, files, limits })
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl FileSource for ZipSource {
    fn list(&self) -> Vec<String> {
        self.files.clone()
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, DatasetError> {
        let Some(&i) = normalize_path(path).and_then(|p| self.index.get(&p)) else {
            return Err(DatasetError::Read { file: self.describe(path), message: "no such entry in the zip".into() });
        };
        let zip_err = |message: String| DatasetError::Zip { zip: self.name.clone(), entry: path.to_string(), message };
        let bomb = |problem: String| DatasetError::ZipBomb { zip: self.name.clone(), entry: path.to_string(), problem };
        let declared = self.archive.by_index_data(i).map_err(|e| zip_err(e.to_string()))?.size();
        if declared > self.limits.max_entry_bytes {
            return Err(bomb(format!(
                "it declares {declared} uncompressed bytes, over the per-entry limit of {} bytes",
                self.limits.max_entry_bytes
            )));
        }
        // A clone shares the parsed directory and the bytes; each read gets its own cursor.
        let mut archive = self.archive.clone();
        let file = archive.by_index(i).map_err(|e| zip_err(format!("cannot open the entry: {e}")))?;
        let mut out = Vec::with_capacity(declared.min(64 << 20) as usize);
        // Read one byte past the declared size, to tell an entry that inflates further.
        let read = file.take(declared.saturating_add(1)).read_to_end(&mut out);
        // The zip crate stops at the declared size itself ("File is larger than its declared
        // uncompressed size"); the `take` above is the guard should it not.
        if let Err(e) = read {
            return Err(match read_failure(&e, out.len() as u64, declared) {
                ReadFailure::PastDeclaredSize => bomb(format!("it inflates past its declared size of {declared} bytes")),
                ReadFailure::Checksum => zip_err(format!("its CRC-32 does not match its {} bytes of data: the zip is damaged", out.len())),
                ReadFailure::Other => zip_err(format!("cannot decompress the entry: {e}")),
            });
        }
        if out.len() as u64 > declared {
            return Err(bomb(format!("it inflates past its declared size of {declared} bytes")));
        }
        if (out.len() as u64) < declared {
            return Err(zip_err(format!("the entry holds {} bytes but declares {declared}", out.len())));
        }
        Ok(out)
    }

    fn size(&self, path: &str) -> Option<u64> {
        let &i = normalize_path(path).and_then(|p| self.index.get(&p))?;
        self.archive.by_index_data(i).ok().map(|entry| entry.size())
    }

    fn describe(&self, path: &str) -> String {
        labelled(&self.name, path)
    }
}

/// Why reading a zip entry failed, from the zip crate's I/O error.
#[derive(Debug, PartialEq)]
enum ReadFailure {
    /// More bytes than declared: a possible zip bomb.
    PastDeclaredSize,
    /// The entry inflated to its declared size but its CRC-32 differs: damage, not a bomb.
    Checksum,
    Other,
}

/// Classifies a read error of an entry that yielded `read` of its `declared` bytes. The zip
/// crate reports both a size overrun and a checksum mismatch as `InvalidData`, told apart only
/// by their messages; the checksum is checked at the end of the data, so `read` equals
/// `declared` then, which alone says nothing.
fn read_failure(e: &std::io::Error, read: u64, declared: u64) -> ReadFailure {
    let message = e.to_string();
    if read > declared || message.contains("larger than its declared") {
        ReadFailure::PastDeclaredSize
    } else if message.to_ascii_lowercase().contains("checksum") {
        ReadFailure::Checksum
    } else {
        ReadFailure::Other
    }
}

// ---------------------------------------------------------------------------------------------

#[cfg(not(target_arch = "wasm32"))]
pub use native::{DirSource, open_path};

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use super::*;
    use std::path::{Path, PathBuf};

    /// At most this many files are listed, so that pointing at `/` fails instead of hanging.
    const MAX_FILES: usize = 1_000_000;
    const MAX_DEPTH: usize = 32;

    /// A folder on disk. The listing is taken once, when opening; folders whose name starts
    /// with `.` are skipped.
    #[derive(Debug, Clone)]
    pub struct DirSource {
        root: PathBuf,
        files: Vec<String>,
    }

    impl DirSource {
        pub fn new(root: impl Into<PathBuf>) -> Result<Self, DatasetError> {
            let root = root.into();
            let shown = root.display().to_string();
            if !root.is_dir() {
                let message = if root.exists() { "not a folder" } else { "no such folder" };
                return Err(DatasetError::Read { file: shown, message: message.into() });
            }
            let mut files = Vec::new();
            walk(&root, "", 0, &mut files)?;
            files.sort();
            Ok(Self { root, files })
        }

        pub fn root(&self) -> &Path {
            &self.root
        }
    }

    fn walk(dir: &Path, prefix: &str, depth: usize, files: &mut Vec<String>) -> Result<(), DatasetError> {
        let entries = std::fs::read_dir(dir).map_err(|e| DatasetError::Read { file: dir.display().to_string(), message: e.to_string() })?;
        for entry in entries {
            let entry = entry.map_err(|e| DatasetError::Read { file: dir.display().to_string(), message: e.to_string() })?;
            let Ok(name) = entry.file_name().into_string() else { continue };
            let path = entry.path();
            // Follows symbolic links; a link loop ends at MAX_DEPTH.
            let Ok(meta) = std::fs::metadata(&path) else { continue };
            let relative = format!("{prefix}{name}");
            if meta.is_dir() {
                if !name.starts_with('.') && depth < MAX_DEPTH {
                    walk(&path, &format!("{relative}/"), depth + 1, files)?;
                }
            } else if meta.is_file() {
                files.push(relative);
                if files.len() > MAX_FILES {
                    return Err(DatasetError::Format {
                        file: dir.display().to_string(),
                        problem: format!("more than {MAX_FILES} files: point wgsplat at the dataset's own folder"),
                    });
                }
            }
        }
        Ok(())
    }

    impl FileSource for DirSource {
        fn list(&self) -> Vec<String> {
            self.files.clone()
        }

        fn read(&self, path: &str) -> Result<Vec<u8>, DatasetError> {
            let Some(relative) = normalize_path(path) else {
                return Err(DatasetError::Read { file: self.describe(path), message: "the path leaves the dataset folder".into() });
            };
            let full = self.root.join(&relative);
            crate::files::read_limited(&full, crate::files::MAX_DATASET_FILE_BYTES)
                .map_err(|e| DatasetError::Read { file: full.display().to_string(), message: e.to_string() })
        }

        fn size(&self, path: &str) -> Option<u64> {
            std::fs::metadata(self.root.join(normalize_path(path)?)).ok().filter(|m| m.is_file()).map(|m| m.len())
        }

        fn describe(&self, path: &str) -> String {
            self.root.join(path).display().to_string()
        }
    }

    /// A transforms JSON or a COLMAP model file, by name.
    fn is_dataset_file(path: &Path) -> bool {
        let name = path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
        let colmap = ["cameras", "images", "points3d"].iter().any(|stem| name == format!("{stem}.bin") || name == format!("{stem}.txt"));
        colmap || (name.starts_with("transforms") && name.ends_with(".json"))
    }

    /// Opens a dataset path given on the command line: a folder, a `.zip`, or a file inside the
    /// dataset folder (e.g. its `transforms.json`), which opens that file's folder.
    pub fn open_path(path: &Path) -> Result<Arc<dyn FileSource>, DatasetError> {
        let shown = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|e| DatasetError::Read { file: shown.clone(), message: e.to_string() })?;
        if meta.is_dir() {
            return Ok(Arc::new(DirSource::new(path)?));
        }
        let is_zip = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("zip"));
        if is_zip {
            let bytes = crate::files::read_limited(path, crate::files::MAX_ZIP_BYTES)
                .map_err(|e| DatasetError::Read { file: shown.clone(), message: e.to_string() })?;
            return Ok(Arc::new(ZipSource::new(bytes, &shown)?));
        }
        // A file stands for its folder only if it is one of a dataset's own files; any other
        // (notes.txt, /dev/zero) would open whatever dataset happens to sit beside it.
        if !meta.is_file() || !is_dataset_file(path) {
            return Err(DatasetError::Read {
                file: shown,
                message: "not a dataset: give its folder, a .zip, or its transforms*.json or COLMAP cameras/images/points3D file".into(),
            });
        }
        match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => Ok(Arc::new(DirSource::new(parent)?)),
            _ => Ok(Arc::new(DirSource::new(".")?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_paths() {
        assert_eq!(normalize_path("./train/r_0").as_deref(), Some("train/r_0"));
        assert_eq!(normalize_path("a//b\\c/./d").as_deref(), Some("a/b/c/d"));
        assert_eq!(normalize_path("a/../b").as_deref(), Some("b"));
        assert_eq!(normalize_path("../b"), None);
        assert_eq!(normalize_path("/abs/x").as_deref(), Some("abs/x"));
    }

    #[test]
    fn memory_source_reads_and_lists() {
        let mut m = MemorySource::new("drop");
        m.insert("./a/b.txt", b"hi".to_vec());
        m.insert("../evil", b"no".to_vec());
        assert_eq!(m.list(), vec!["a/b.txt".to_string()]);
        assert_eq!(m.read("a/./b.txt").unwrap(), b"hi");
        let e = m.read("a/c.txt").unwrap_err().to_string();
        assert!(e.contains("drop/a/c.txt"), "{e}");
    }
}
