//! A disk cache of rendered (and encoded) views, so that refreshes and later runs that draw a pose
//! again, e.g. the same seed on the same scene, skip the render and the encoding. Native only.
//!
//! An entry is one file, `<key>.view`, holding the encoded image; the key hashes everything the
//! bytes depend on: the scene's content (the PLY bytes, or the splats), the pose, intrinsics and
//! resolution, the background, the image format and quality, and [`CACHE_VERSION`] (bumped when
//! the renderer's output changes). The cache keeps its total size under a bound by evicting the
//! least recently used entries; "used" is the file's modification time, which a hit refreshes,
//! so the order survives across runs. Files are written to a temporary name and renamed, so a
//! crash leaves no half-written entry.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::RvsError;
use super::encode::ImageFormat;
use super::hash::ContentHasher;
use crate::Camera;

/// Part of every key: change it when the renderer's images change for the same inputs.
pub const CACHE_VERSION: u64 = 1;
const EXTENSION: &str = "view";

/// The default cache folder: `$XDG_CACHE_HOME/wgsplat/rvs`, else `~/.cache/wgsplat/rvs`, else
/// `.wgsplat-cache/rvs` in the current folder.
pub fn default_cache_dir() -> PathBuf {
    let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = non_empty("XDG_CACHE_HOME") {
        return dir.join("wgsplat").join("rvs");
    }
    if let Some(home) = non_empty("HOME") {
        return home.join(".cache").join("wgsplat").join("rvs");
    }
    PathBuf::from(".wgsplat-cache").join("rvs")
}

/// The key of one rendered view. `scene_hash` is [`super::hash::hash_bytes`] of the PLY file (or
/// [`super::hash::hash_splats`]).
pub fn view_key(scene_hash: u128, camera: &Camera, background: [f32; 3], format: ImageFormat) -> u128 {
    let mut h = ContentHasher::new();
    h.update(b"wgsplat-rvs-view").update_u64(CACHE_VERSION);
    h.update(&scene_hash.to_le_bytes());
    h.update_u64(camera.width as u64).update_u64(camera.height as u64);
    h.update_f32s(&[camera.fx, camera.fy, camera.cx, camera.cy]);
    for row in &camera.world_to_camera {
        h.update_f32s(row);
    }
    h.update_f32s(&background).update_u64(format.key());
    h.finish()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub inserted: u64,
    pub evicted: u64,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    bytes: u64,
    /// Nanoseconds since the epoch of the last use (strictly increasing within a session).
    last_used: u128,
}

pub struct RenderCache {
    dir: PathBuf,
    max_bytes: u64,
    entries: HashMap<u128, Entry>,
    total_bytes: u64,
    clock: u128,
    temp_counter: u64,
    stats: CacheStats,
}

impl RenderCache {
    /// Opens (creating it) the cache in `dir`, bounded to `max_bytes`; entries left by earlier
    /// runs count, and the oldest go if they exceed the bound.
    pub fn open(dir: impl Into<PathBuf>, max_bytes: u64) -> Result<Self, RvsError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| RvsError::io(&dir, format!("cannot create the cache folder: {e}")))?;
        let mut cache =
            Self { dir, max_bytes, entries: HashMap::new(), total_bytes: 0, clock: 0, temp_counter: 0, stats: CacheStats::default() };
        let listing = std::fs::read_dir(&cache.dir).map_err(|e| RvsError::io(&cache.dir, e))?;
        for item in listing.flatten() {
            let path = item.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
            if name.ends_with(".tmp") {
                // A write that never finished (this run has written nothing yet).
                let _ = std::fs::remove_file(&path);
                continue;
            }
            let Some(key) = name.strip_suffix(&format!(".{EXTENSION}")).and_then(|hex| u128::from_str_radix(hex, 16).ok()) else {
                continue;
            };
            let Ok(meta) = item.metadata() else { continue };
            let last_used = meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
            cache.entries.insert(key, Entry { bytes: meta.len(), last_used });
            cache.total_bytes += meta.len();
        }
        cache.clock = cache.entries.values().map(|e| e.last_used).max().unwrap_or(0);
        cache.evict_to_bound(None);
        Ok(cache)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    pub fn total_bytes(&self) -> u64 {
        self.total_bytes
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn contains(&self, key: u128) -> bool {
        self.entries.contains_key(&key)
    }

    pub fn stats(&self) -> CacheStats {
        self.stats
    }

    fn path_of(&self, key: u128) -> PathBuf {
        self.dir.join(format!("{key:032x}.{EXTENSION}"))
    }

    /// A timestamp later than every earlier one of this cache.
    fn tick(&mut self) -> u128 {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        self.clock = now.max(self.clock + 1);
        self.clock
    }

    /// The bytes stored under `key`, marking the entry used; None on a miss (or an entry that
    /// vanished or cannot be read, which is dropped).
    pub fn get(&mut self, key: u128) -> Option<Vec<u8>> {
        if !self.entries.contains_key(&key) {
            self.stats.misses += 1;
            return None;
        }
        let path = self.path_of(key);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let now = self.tick();
                if let Some(entry) = self.entries.get_mut(&key) {
                    entry.last_used = now;
                }
                // Best effort: the order across runs comes from this time.
                let when = UNIX_EPOCH + std::time::Duration::from_nanos(now.min(u64::MAX as u128) as u64);
                if let Ok(file) = std::fs::OpenOptions::new().write(true).open(&path) {
                    let _ = file.set_modified(when);
                }
                self.stats.hits += 1;
                Some(bytes)
            }
            Err(_) => {
                self.forget(key);
                self.stats.misses += 1;
                None
            }
        }
    }

    /// Stores `bytes` under `key` and evicts least recently used entries past the bound. An entry
    /// larger than the whole bound is not stored (returns false).
    pub fn put(&mut self, key: u128, bytes: &[u8]) -> Result<bool, RvsError> {
        let size = bytes.len() as u64;
        if size > self.max_bytes {
            return Ok(false);
        }
        let path = self.path_of(key);
        self.temp_counter += 1;
        let temp = self.dir.join(format!("{key:032x}.{}-{}.tmp", std::process::id(), self.temp_counter));
        std::fs::write(&temp, bytes).map_err(|e| RvsError::io(&temp, e))?;
        std::fs::rename(&temp, &path).map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            RvsError::io(&path, e)
        })?;
        self.forget(key);
        let last_used = self.tick();
        self.entries.insert(key, Entry { bytes: size, last_used });
        self.total_bytes += size;
        self.stats.inserted += 1;
        self.evict_to_bound(Some(key));
        Ok(true)
    }

    /// Removes every entry.
    pub fn clear(&mut self) -> Result<(), RvsError> {
        let keys: Vec<u128> = self.entries.keys().copied().collect();
        for key in keys {
            let path = self.path_of(key);
            if let Err(e) = std::fs::remove_file(&path)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                return Err(RvsError::io(&path, e));
            }
            self.forget(key);
        }
        Ok(())
    }

    fn forget(&mut self, key: u128) {
        if let Some(old) = self.entries.remove(&key) {
            self.total_bytes -= old.bytes;
        }
    }

    /// Drops least recently used entries (never `keep`) until the total fits the bound.
    fn evict_to_bound(&mut self, keep: Option<u128>) {
        if self.total_bytes <= self.max_bytes {
            return;
        }
        let mut by_age: Vec<(u128, u128)> =
            self.entries.iter().filter(|(k, _)| Some(**k) != keep).map(|(k, e)| (e.last_used, *k)).collect();
        by_age.sort_unstable();
        for (_, key) in by_age {
            if self.total_bytes <= self.max_bytes {
                break;
            }
            let _ = std::fs::remove_file(self.path_of(key));
            self.forget(key);
            self.stats.evicted += 1;
        }
    }
}
