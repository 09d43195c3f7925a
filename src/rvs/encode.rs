//! Encoding rendered views as PNG or JPEG (wasm-safe: the `image` crate's pure-Rust codecs).
//!
//! Views are written as 8-bit RGB with the background composited: pose regressors read plain
//! photos, and dropping alpha makes the files smaller and faster to write.

use super::RvsError;
use crate::render::Rgba8Image;
use image::ImageEncoder;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    Png,
    /// JPEG at a quality in 1..=100.
    Jpeg {
        quality: u8,
    },
}

impl ImageFormat {
    /// From the command line's `--format png|jpeg` and `--quality Q`.
    pub fn parse(name: &str, quality: u8) -> Result<Self, RvsError> {
        match name.to_ascii_lowercase().as_str() {
            "png" => Ok(ImageFormat::Png),
            "jpeg" | "jpg" => {
                if !(1..=100).contains(&quality) {
                    return Err(RvsError::Param { option: "--quality", problem: format!("{quality} is not in 1..=100") });
                }
                Ok(ImageFormat::Jpeg { quality })
            }
            other => Err(RvsError::Param { option: "--format", problem: format!("{other:?} is neither png nor jpeg") }),
        }
    }

    pub fn extension(&self) -> &'static str {
        match self {
            ImageFormat::Png => "png",
            ImageFormat::Jpeg { .. } => "jpg",
        }
    }

    /// A stable code for cache keys: the format and its quality.
    pub fn key(&self) -> u64 {
        match self {
            ImageFormat::Png => 1,
            ImageFormat::Jpeg { quality } => 2 << 8 | *quality as u64,
        }
    }
}

/// 8-bit RGB of a render (read back as RGBA8: colour already clamped and rounded on the GPU).
pub fn to_rgb8(image: &Rgba8Image) -> Vec<u8> {
    image.rgba.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect()
}

/// Encodes 8-bit RGB pixels; `name` only labels errors.
pub fn encode_rgb8(rgb: &[u8], width: u32, height: u32, format: ImageFormat, name: &str) -> Result<Vec<u8>, RvsError> {
    let mut out = Vec::new();
    let color = image::ExtendedColorType::Rgb8;
    let result = match format {
        // The `image` crate's default PNG settings: fast compression, adaptive filtering.
        ImageFormat::Png => image::codecs::png::PngEncoder::new(&mut out).write_image(rgb, width, height, color),
        ImageFormat::Jpeg { quality } => {
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality).write_image(rgb, width, height, color)
        }
    };
    result.map_err(|e| RvsError::Encode { name: name.to_string(), message: e.to_string() })?;
    Ok(out)
}

/// Encodes one rendered view.
pub fn encode_image(image: &Rgba8Image, format: ImageFormat, name: &str) -> Result<Vec<u8>, RvsError> {
    encode_rgb8(&to_rgb8(image), image.width, image.height, format, name)
}
