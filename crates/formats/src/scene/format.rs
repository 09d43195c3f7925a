//! Which splat file format a name or a file's first bytes mean, and one read and one write
//! for all of them, so the CLI, the page and the viewer take any format the same way.
//!
//! Formats are chosen by extension when writing (`.compressed.ply` before `.ply`) and by
//! content when reading, since a downloaded file's name is often wrong (a `.ply` that is
//! really compressed, an `.spz` renamed): the content decides, the name only breaks ties.

use super::{Splats, antimatter_splat, compressed_ply, ply, sog, spz};
use thiserror::Error;

/// A splat file format wgsplat reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SplatFormat {
    /// The original 3DGS binary PLY: f32 everything, full SH (what trainers exchange).
    Ply,
    /// PlayCanvas's compressed PLY: chunks of 256 splats quantized to their chunk's bounds.
    CompressedPly,
    /// Niantic's SPZ: fixed-point attributes, gzip-compressed.
    Spz,
    /// PlayCanvas's SOG: attributes as lossless WebP images with codebooks, in one zip.
    Sog,
    /// antimatter15's `.splat`: 32 bytes a splat, colour without view dependence.
    Splat,
}

impl SplatFormat {
    pub const ALL: [SplatFormat; 5] = [Self::Ply, Self::CompressedPly, Self::Spz, Self::Sog, Self::Splat];

    /// The file extension, with its dot.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Ply => ".ply",
            Self::CompressedPly => ".compressed.ply",
            Self::Spz => ".spz",
            Self::Sog => ".sog",
            Self::Splat => ".splat",
        }
    }

    /// A short name for menus and messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ply => "PLY",
            Self::CompressedPly => "compressed PLY",
            Self::Spz => "SPZ",
            Self::Sog => "SOG",
            Self::Splat => ".splat",
        }
    }

    /// The format a file name asks for, by its extension (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        let lower = name.to_ascii_lowercase();
        // Longest extension first: ".compressed.ply" also ends in ".ply".
        [Self::CompressedPly, Self::Ply, Self::Spz, Self::Sog, Self::Splat].into_iter().find(|f| lower.ends_with(f.extension()))
    }

    /// The format the bytes are in, by their signature; `.splat` has none, so it is only
    /// ever the answer when the name says so (see [`read_splats`]).
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"ply\n") || bytes.starts_with(b"ply\r\n") {
            return Some(if compressed_ply::is_compressed_ply(bytes) { Self::CompressedPly } else { Self::Ply });
        }
        // SPZ v1-3 is one gzip stream; v4 starts with its plain "NGSP" header.
        if bytes.starts_with(&[0x1f, 0x8b]) || bytes.starts_with(b"NGSP") {
            return Some(Self::Spz);
        }
        if bytes.starts_with(b"PK\x03\x04") {
            return Some(Self::Sog);
        }
        None
    }

    /// Parses a format named by the user (`ply`, `compressed.ply`, `spz`, `sog`, `splat`,
    /// with or without the dot).
    pub fn parse(name: &str) -> Option<Self> {
        let trimmed = name.trim().trim_start_matches('.').to_ascii_lowercase();
        Self::ALL.into_iter().find(|f| f.extension()[1..] == trimmed || f.name().to_ascii_lowercase() == trimmed)
    }

    /// [`parse`](Self::parse), with an error listing the names there are.
    pub fn named(name: &str) -> Result<Self, SplatFileError> {
        Self::parse(name).ok_or_else(|| SplatFileError::UnknownFormatName { name: name.to_string() })
    }

    /// The format a file to be written asks for by its extension, or an error naming the file.
    pub fn for_file(file_name: &str) -> Result<Self, SplatFileError> {
        Self::from_name(file_name).ok_or_else(|| SplatFileError::UnknownExtension { file: file_name.to_string() })
    }
}

impl std::fmt::Display for SplatFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a splat file could not be read or written; each variant names the file.
#[derive(Debug, Error)]
pub enum SplatFileError {
    #[error(
        "{file}: not a splat file wgsplat can read (expected .ply, .compressed.ply, .spz, .sog or .splat; the first bytes match none of them)"
    )]
    UnknownFormat { file: String },
    #[error("{file}: no splat format has this extension (expected .ply, .compressed.ply, .spz, .sog or .splat)")]
    UnknownExtension { file: String },
    #[error("{name}: not a splat format (expected ply, compressed.ply, spz, sog or splat)")]
    UnknownFormatName { name: String },
    #[error(transparent)]
    Ply(#[from] ply::PlyError),
    #[error(transparent)]
    CompressedPly(#[from] compressed_ply::CompressedPlyError),
    #[error(transparent)]
    Spz(#[from] spz::SpzError),
    #[error(transparent)]
    Sog(#[from] sog::SogError),
    #[error(transparent)]
    Splat(#[from] antimatter_splat::DotSplatError),
}

/// The format `read_splats` would read these bytes as: the signature when there is one,
/// else the name's extension.
pub fn detect(bytes: &[u8], file_name: &str) -> Result<SplatFormat, SplatFileError> {
    match (SplatFormat::sniff(bytes), SplatFormat::from_name(file_name)) {
        (Some(sniffed), _) => Ok(sniffed),
        (None, Some(SplatFormat::Splat)) => Ok(SplatFormat::Splat),
        // A name that claims a signed format whose signature is missing: let that format's
        // reader say what is wrong (wrong magic, cut short...).
        (None, Some(named)) => Ok(named),
        (None, None) => Err(SplatFileError::UnknownFormat { file: file_name.to_string() }),
    }
}

/// Reads splats from a file in any supported format. `file_name` picks `.splat` (which has no
/// signature) and names the file in errors.
pub fn read_splats(bytes: &[u8], file_name: &str) -> Result<Splats, SplatFileError> {
    read_as(detect(bytes, file_name)?, bytes, file_name)
}

/// Reads splats from bytes known to be in `format`.
pub fn read_as(format: SplatFormat, bytes: &[u8], file_name: &str) -> Result<Splats, SplatFileError> {
    Ok(match format {
        SplatFormat::Ply => ply::read_ply(bytes, file_name)?,
        SplatFormat::CompressedPly => compressed_ply::read_compressed_ply(bytes, file_name)?,
        SplatFormat::Spz => spz::read_spz(bytes, file_name)?,
        SplatFormat::Sog => sog::read_sog(bytes, file_name)?,
        SplatFormat::Splat => antimatter_splat::read_splat(bytes, file_name)?,
    })
}

/// What a splat file declares in its header, read without decoding a splat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplatHeader {
    pub format: SplatFormat,
    /// The number of Gaussians.
    pub count: u64,
    pub sh_degree: u32,
}

/// The format, count and SH degree of a splat file, from its header alone, so that a caller can
/// check them against its own limits (a GPU's binding size) before decoding. Every check the
/// header allows is made as [`read_splats`] makes it, so a file whose declared count its size
/// can't hold (a decompression bomb) is refused here, at the cost of a few kilobytes.
pub fn peek(bytes: &[u8], file_name: &str) -> Result<SplatHeader, SplatFileError> {
    peek_as(detect(bytes, file_name)?, bytes, file_name)
}

/// [`peek`] for bytes known to be in `format`.
pub fn peek_as(format: SplatFormat, bytes: &[u8], file_name: &str) -> Result<SplatHeader, SplatFileError> {
    let (count, sh_degree) = match format {
        SplatFormat::Ply => ply::peek_ply(bytes, file_name)?,
        SplatFormat::CompressedPly => compressed_ply::peek_compressed_ply(bytes, file_name)?,
        SplatFormat::Spz => spz::peek_spz(bytes, file_name)?,
        SplatFormat::Sog => sog::peek_sog(bytes, file_name)?,
        SplatFormat::Splat => antimatter_splat::peek_splat(bytes, file_name)?,
    };
    Ok(SplatHeader { format, count, sh_degree })
}

/// Writes splats in `format`.
pub fn write_splats(splats: &Splats, format: SplatFormat) -> Result<Vec<u8>, SplatFileError> {
    Ok(match format {
        SplatFormat::Ply => ply::write_ply(splats),
        SplatFormat::CompressedPly => compressed_ply::write_compressed_ply(splats)?,
        SplatFormat::Spz => spz::write_spz(splats)?,
        SplatFormat::Sog => sog::write_sog(splats)?,
        SplatFormat::Splat => antimatter_splat::write_splat(splats)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_pick_the_longest_matching_extension() {
        assert_eq!(SplatFormat::from_name("out/lego.compressed.ply"), Some(SplatFormat::CompressedPly));
        assert_eq!(SplatFormat::from_name("LEGO.PLY"), Some(SplatFormat::Ply));
        assert_eq!(SplatFormat::from_name("a.spz"), Some(SplatFormat::Spz));
        assert_eq!(SplatFormat::from_name("a.sog"), Some(SplatFormat::Sog));
        assert_eq!(SplatFormat::from_name("a.splat"), Some(SplatFormat::Splat));
        assert_eq!(SplatFormat::from_name("a.json"), None);
        for f in SplatFormat::ALL {
            assert_eq!(SplatFormat::parse(f.extension()), Some(f));
            assert_eq!(SplatFormat::parse(&f.extension()[1..]), Some(f));
        }
        assert_eq!(SplatFormat::parse("png"), None);
        assert!(SplatFormat::named("png").unwrap_err().to_string().contains("png: not a splat format"));
        assert!(SplatFormat::for_file("a.obj").unwrap_err().to_string().contains("a.obj: no splat format"));
    }

    #[test]
    fn peek_agrees_with_read_for_every_format() {
        let demo = crate::scene::demo::demo_scene();
        for format in SplatFormat::ALL {
            let bytes = write_splats(&demo, format).unwrap();
            let name = format!("demo{}", format.extension());
            let header = peek(&bytes, &name).unwrap();
            let splats = read_splats(&bytes, &name).unwrap();
            assert_eq!(header, SplatHeader { format, count: splats.len() as u64, sh_degree: splats.sh_degree }, "{format}");
        }
        let err = peek(b"garbage", "x.bin").unwrap_err().to_string();
        assert!(err.contains("x.bin"), "{err}");
    }

    #[test]
    fn content_decides_over_the_name() {
        assert_eq!(SplatFormat::sniff(b"ply\nformat binary_little_endian 1.0\n"), Some(SplatFormat::Ply));
        assert_eq!(SplatFormat::sniff(&[0x1f, 0x8b, 8, 0]), Some(SplatFormat::Spz));
        assert_eq!(SplatFormat::sniff(b"NGSP\x04\0\0\0"), Some(SplatFormat::Spz));
        assert_eq!(SplatFormat::sniff(b"PK\x03\x04rest"), Some(SplatFormat::Sog));
        assert_eq!(detect(b"ply\nformat binary_little_endian 1.0\n", "x.splat").ok(), Some(SplatFormat::Ply));
        assert_eq!(detect(&[0u8; 64], "x.splat").ok(), Some(SplatFormat::Splat));
        assert_eq!(detect(&[0u8; 64], "x.spz").ok(), Some(SplatFormat::Spz));
        let err = detect(&[0u8; 64], "x.bin").unwrap_err().to_string();
        assert!(err.contains("x.bin") && err.contains("not a splat file"), "{err}");
    }
}
