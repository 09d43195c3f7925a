//! Reading and writing scene files in any splat format the library knows, with the size cap
//! and messages that name the file, for every command that takes or writes a scene.

use anyhow::Context;
use std::path::Path;
use wgsplat::scene::Splats;
use wgsplat::scene::format::{self, SplatFormat};

/// Reads a scene in any supported format (by content, then by extension).
pub fn read(path: &Path) -> anyhow::Result<Splats> {
    Ok(read_with_bytes(path)?.0)
}

/// [`read`], also returning the file's bytes (for cache keys) and the format it was in.
pub fn read_with_bytes(path: &Path) -> anyhow::Result<(Splats, Vec<u8>, SplatFormat)> {
    let bytes = wgsplat::files::read_limited(path, wgsplat::files::MAX_SCENE_BYTES).with_context(|| format!("reading {}", path.display()))?;
    let name = path.display().to_string();
    let format = format::detect(&bytes, &name)?;
    let splats = format::read_as(format, &bytes, &name)?;
    Ok((splats, bytes, format))
}

/// Writes `splats` to `path` in `format`, returning the file's size in bytes.
pub fn write(path: &Path, splats: &Splats, format: SplatFormat) -> anyhow::Result<usize> {
    let bytes = format::write_splats(splats, format).with_context(|| format!("encoding {} as {format}", path.display()))?;
    std::fs::write(path, &bytes).with_context(|| format!("writing {}", path.display()))?;
    Ok(bytes.len())
}
