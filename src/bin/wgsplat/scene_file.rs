//! Reading and writing scene files in any splat format the library knows, with the size cap
//! and messages that name the file, for every command that takes or writes a scene.

use anyhow::{Context, bail};
use std::path::Path;
use wgsplat::scene::Splats;
use wgsplat::scene::format::{self, SplatFormat, SplatHeader};

/// A scene file in memory whose header has been read and checked (its declared count against
/// what the file's size can hold, among the rest), not yet decoded: a command that puts the
/// scene on a GPU compares the header with the adapter's limits before decoding
/// ([`SceneFile::decode_for`]), so a scene too large for it costs no more than its file.
pub struct SceneFile {
    name: String,
    bytes: Vec<u8>,
    header: SplatHeader,
}

impl SceneFile {
    /// Reads `path` (at most [`wgsplat::files::MAX_SCENE_BYTES`]) and its header.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let bytes =
            wgsplat::files::read_limited(path, wgsplat::files::MAX_SCENE_BYTES).with_context(|| format!("reading {}", path.display()))?;
        let name = path.display().to_string();
        let header = format::peek(&bytes, &name)?;
        Ok(SceneFile { name, bytes, header })
    }

    /// The format, count and SH degree the file declares.
    pub fn header(&self) -> SplatHeader {
        self.header
    }

    /// The file's bytes (for cache keys).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Decodes the splats.
    pub fn decode(&self) -> anyhow::Result<Splats> {
        Ok(format::read_as(self.header.format, &self.bytes, &self.name)?)
    }

    /// Decodes the splats once the header shows that they fit `gpu`'s buffers.
    pub fn decode_for(&self, gpu: &wgsplat::GpuContext) -> anyhow::Result<Splats> {
        if self.header.count == 0 {
            bail!("{}: the scene holds no splats", self.name);
        }
        if let Err(problem) = wgsplat::render::GpuSplats::check_fits(self.header.count, self.header.sh_degree, gpu.max_binding_bytes()) {
            bail!("{}: too large for this GPU: {problem}", self.name);
        }
        self.decode()
    }
}

/// Reads a scene in any supported format (by content, then by extension).
pub fn read(path: &Path) -> anyhow::Result<Splats> {
    Ok(read_with_bytes(path)?.0)
}

/// [`read`], also returning the file's bytes (for cache keys) and the format it was in.
pub fn read_with_bytes(path: &Path) -> anyhow::Result<(Splats, Vec<u8>, SplatFormat)> {
    let file = SceneFile::open(path)?;
    let splats = file.decode()?;
    Ok((splats, file.bytes, file.header.format))
}

/// Writes `splats` to `path` in `format`, returning the file's size in bytes.
pub fn write(path: &Path, splats: &Splats, format: SplatFormat) -> anyhow::Result<usize> {
    let bytes = format::write_splats(splats, format).with_context(|| format!("encoding {} as {format}", path.display()))?;
    std::fs::write(path, &bytes).with_context(|| format!("writing {}", path.display()))?;
    Ok(bytes.len())
}

#[cfg(test)]
mod tests {
    #[test]
    fn gpu_limits_are_checked_from_the_header() {
        use wgsplat::render::GpuSplats;
        let limit = 128 << 20;
        // lego: 258k splats of degree 3 need 47 MiB of SH and 12 MiB of projections.
        assert!(GpuSplats::check_fits(258_000, 3, limit).is_ok());
        let problem = GpuSplats::check_fits(1 << 20, 3, limit).unwrap_err().to_string();
        assert!(problem.contains("1048576 splats of SH degree 3 need 192 MiB of SH") && problem.contains("at most 128 MiB"), "{problem}");
        assert!(GpuSplats::check_fits(3 << 20, 0, limit).is_err(), "projections: 144 MiB");
        assert!(GpuSplats::check_fits(u64::MAX, 3, u64::MAX).is_err(), "no overflow");
    }
}
