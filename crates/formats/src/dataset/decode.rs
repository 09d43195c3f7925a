//! Image decoding (PNG, JPEG) to 8-bit RGBA, size checks against the camera, and resizing.
//!
//! Resizing (for [`super::LoadOptions::resolution_scale`]) uses a Catmull-Rom (bicubic) filter
//! whose support widens with the downscale factor, so it averages every source pixel, as PIL's
//! antialiased bicubic resize does in the reference 3DGS loader. Images with transparency are
//! resized premultiplied (in f32), so transparent pixels don't bleed their colour into the edges.

use super::{DatasetError, FileSource, FrameInfo};
use image::{DynamicImage, ImageDecoder, ImageReader, imageops::FilterType};
use std::io::Cursor;

/// An image as straight (not premultiplied) 8-bit RGBA, row-major, top row first.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedImage {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

impl DecodedImage {
    /// Whether any pixel is not fully opaque.
    pub fn has_transparency(&self) -> bool {
        self.rgba.chunks_exact(4).any(|p| p[3] != 255)
    }
}

/// What an image's header says, without decoding the pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageHeader {
    pub width: u32,
    pub height: u32,
    pub has_alpha: bool,
}

/// Decoded images may not need more than this (a 16-bit RGBA 8k x 8k image fits).
const MAX_DECODED_BYTES: u64 = 1 << 30;

/// Refuses an image of `size` (width, height) whose pixels, as 8-bit RGBA (what every image
/// becomes), would take more than one image may: checked for every frame when a dataset is read,
/// so an absurd size (a 20000x20000 first image that every camera then takes) is named by its
/// file before any memory goes to it, and again when an image is decoded.
pub fn check_image_size(file: &str, size: (u32, u32)) -> Result<(), DatasetError> {
    let bytes = size.0 as u64 * size.1 as u64 * 4;
    if bytes > MAX_DECODED_BYTES {
        return Err(DatasetError::ImageTooLarge { file: file.to_string(), width: size.0, height: size.1, bytes, limit: MAX_DECODED_BYTES });
    }
    Ok(())
}

fn image_err(path: &str, message: impl ToString) -> DatasetError {
    DatasetError::Image { file: path.to_string(), message: message.to_string() }
}

fn decoder<'a>(bytes: &'a [u8], path: &str) -> Result<impl ImageDecoder + 'a, DatasetError> {
    let reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|e| image_err(path, e))?;
    if reader.format().is_none() {
        let head: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
        return Err(image_err(path, format!("not a PNG or JPEG file ({} bytes, starting {})", bytes.len(), head.join(" "))));
    }
    reader.into_decoder().map_err(|e| image_err(path, e))
}

/// Reads the size and whether there is an alpha channel from the header.
pub fn probe_image(bytes: &[u8], path: &str) -> Result<ImageHeader, DatasetError> {
    let d = decoder(bytes, path)?;
    let (width, height) = d.dimensions();
    Ok(ImageHeader { width, height, has_alpha: d.color_type().has_alpha() })
}

/// Decodes a PNG or JPEG to RGBA; the image must be `expected` (width, height) in size, or the
/// error names `path` and both sizes. No EXIF rotation is applied (COLMAP doesn't either).
pub fn decode_image(bytes: &[u8], path: &str, expected: (u32, u32)) -> Result<DecodedImage, DatasetError> {
    let d = decoder(bytes, path)?;
    let (width, height) = d.dimensions();
    if (width, height) != expected {
        return Err(DatasetError::SizeMismatch {
            file: path.to_string(),
            expected_width: expected.0,
            expected_height: expected.1,
            actual_width: width,
            actual_height: height,
        });
    }
    check_image_size(path, (width, height))?;
    if d.total_bytes() > MAX_DECODED_BYTES {
        return Err(image_err(
            path,
            format!("{width}x{height} decodes to {} bytes, over the limit of {MAX_DECODED_BYTES}", d.total_bytes()),
        ));
    }
    let image = DynamicImage::from_decoder(d).map_err(|e| image_err(path, e))?;
    Ok(DecodedImage { width, height, rgba: image.into_rgba8().into_raw() })
}

/// Decodes a frame's image: checked against [`FrameInfo::image_size`], then resized to the
/// camera's size if that differs (resolution scale). `path` names the file in errors.
pub fn decode_frame(bytes: &[u8], path: &str, frame: &FrameInfo) -> Result<DecodedImage, DatasetError> {
    let image = decode_image(bytes, path, frame.image_size)?;
    let target = (frame.camera.width, frame.camera.height);
    if (image.width, image.height) == target { Ok(image) } else { resize_rgba(&image, target.0, target.1).map_err(|e| image_err(path, e)) }
}

/// The largest file an image of `size` (width, height) can be: 16-bit RGBA stored without
/// compression (8 bytes a pixel, a filter byte a row), plus 1 MiB of headers and metadata.
pub fn max_image_file_bytes(size: (u32, u32)) -> u64 {
    size.0 as u64 * size.1 as u64 * 8 + size.1 as u64 + (1 << 20)
}

/// The size of a frame's image file where the source knows it without reading, or an error
/// when it is larger than any image of the frame's size can be (e.g. a zip entry of gigabytes
/// of zeros named `.png`).
pub fn check_frame_file(source: &dyn FileSource, frame: &FrameInfo) -> Result<Option<u64>, DatasetError> {
    let limit = max_image_file_bytes(frame.image_size);
    match source.size(&frame.image_path) {
        Some(size) if size > limit => {
            let (w, h) = frame.image_size;
            Err(image_err(
                &source.describe(&frame.image_path),
                format!("the file is {size} bytes, more than any {w}x{h} image can be ({limit} bytes at most): not this camera's image"),
            ))
        }
        size => Ok(size),
    }
}

/// Reads a frame's image file, refusing without reading it one that `check_frame_file` refuses.
pub fn read_frame_file(source: &dyn FileSource, frame: &FrameInfo) -> Result<Vec<u8>, DatasetError> {
    check_frame_file(source, frame)?;
    source.read(&frame.image_path)
}

/// Reads and decodes a frame's image from a source (no threads: the browser's path).
pub fn load_frame_image(source: &dyn FileSource, frame: &FrameInfo) -> Result<DecodedImage, DatasetError> {
    let bytes = read_frame_file(source, frame)?;
    decode_frame(&bytes, &source.describe(&frame.image_path), frame)
}

/// Resizes straight-alpha RGBA (see the module notes for the filter). The error is in words.
pub fn resize_rgba(image: &DecodedImage, width: u32, height: u32) -> Result<DecodedImage, String> {
    if width == 0 || height == 0 {
        return Err(format!("cannot resize to {width}x{height}"));
    }
    let expected_len = image.width as usize * image.height as usize * 4;
    if image.rgba.len() != expected_len {
        return Err(format!("{} RGBA bytes for a {}x{} image", image.rgba.len(), image.width, image.height));
    }
    let filter = FilterType::CatmullRom;
    if !image.has_transparency() {
        let buffer = image::RgbaImage::from_raw(image.width, image.height, image.rgba.clone()).ok_or("bad image buffer")?;
        let out = image::imageops::resize(&buffer, width, height, filter);
        return Ok(DecodedImage { width, height, rgba: out.into_raw() });
    }
    // Premultiply, resize in f32, unpremultiply.
    let premultiplied: Vec<f32> = image
        .rgba
        .chunks_exact(4)
        .flat_map(|p| {
            let a = p[3] as f32 / 255.0;
            [p[0] as f32 / 255.0 * a, p[1] as f32 / 255.0 * a, p[2] as f32 / 255.0 * a, a]
        })
        .collect();
    let buffer = image::Rgba32FImage::from_raw(image.width, image.height, premultiplied).ok_or("bad image buffer")?;
    let out = image::imageops::resize(&buffer, width, height, filter);
    let rgba = out
        .into_raw()
        .chunks_exact(4)
        .flat_map(|p| {
            let a = p[3].clamp(0.0, 1.0);
            let straight = |c: f32| if a > 1e-6 { (c / a).clamp(0.0, 1.0) } else { 0.0 };
            let q = |v: f32| (v * 255.0).round() as u8;
            [q(straight(p[0])), q(straight(p[1])), q(straight(p[2])), q(a)]
        })
        .collect();
    Ok(DecodedImage { width, height, rgba })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32, f: impl Fn(u32, u32) -> [u8; 4]) -> Vec<u8> {
        let img = image::RgbaImage::from_fn(width, height, |x, y| image::Rgba(f(x, y)));
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png).unwrap();
        out
    }

    #[test]
    fn decodes_and_checks_size() {
        let bytes = png(4, 2, |x, _| [x as u8 * 60, 0, 0, 255]);
        let h = probe_image(&bytes, "a.png").unwrap();
        assert_eq!((h.width, h.height, h.has_alpha), (4, 2, true));
        let img = decode_image(&bytes, "a.png", (4, 2)).unwrap();
        assert_eq!(&img.rgba[4..8], &[60, 0, 0, 255]);
        let e = decode_image(&bytes, "a.png", (8, 8)).unwrap_err().to_string();
        assert!(e.contains("a.png") && e.contains("4x2") && e.contains("8x8"), "{e}");
        let e = decode_image(b"hello", "b.jpg", (1, 1)).unwrap_err().to_string();
        assert!(e.contains("b.jpg") && e.contains("not a PNG or JPEG"), "{e}");
        let mut cut = bytes.clone();
        cut.truncate(bytes.len() / 2);
        let e = decode_image(&cut, "c.png", (4, 2)).unwrap_err().to_string();
        assert!(e.contains("c.png"), "{e}");
    }

    #[test]
    fn premultiplied_resize_keeps_colour_of_opaque_pixels() {
        // Left half opaque red, right half transparent green: the edge must not turn green.
        let img = decode_image(&png(8, 8, |x, _| if x < 4 { [255, 0, 0, 255] } else { [0, 255, 0, 0] }), "t.png", (8, 8)).unwrap();
        let half = resize_rgba(&img, 4, 4).unwrap();
        for p in half.rgba.chunks_exact(4) {
            if p[3] > 10 {
                assert!(p[0] > 240 && p[1] < 10, "{p:?}");
            }
        }
        let opaque = decode_image(&png(8, 8, |x, y| [(x * 30) as u8, (y * 30) as u8, 7, 255]), "o.png", (8, 8)).unwrap();
        let small = resize_rgba(&opaque, 2, 2).unwrap();
        assert_eq!(small.rgba.len(), 16);
        assert!(small.rgba.chunks_exact(4).all(|p| p[3] == 255 && p[2] == 7));
    }
}
