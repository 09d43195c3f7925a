//! A whole RVS set as one zip in memory (images, `transforms.json`, `rvs_poses.json`): what the
//! page offers for download. Wasm-safe (the `zip` crate's writer into a `Vec<u8>`). The images are
//! stored (PNG and JPEG are compressed already), the JSON deflated. Entries carry the zip epoch
//! (1980) as their time, so the same set gives the same bytes.

use std::io::{Cursor, Write};

use zip::CompressionMethod;
use zip::write::{SimpleFileOptions, ZipWriter};

use super::RvsError;
use super::export::{POSES_FILE, TRANSFORMS_FILE};

/// The files of a set: `images` are (path inside the set, encoded bytes), e.g. from
/// [`super::export::image_path`] and [`super::encode::encode_image`].
pub struct SetFiles<'a> {
    pub transforms_json: &'a str,
    pub poses_json: &'a str,
    pub images: &'a [(String, Vec<u8>)],
}

/// Writes the set into a zip, with every path under `folder` (e.g. `"rvs/"`, or `""` for the top).
pub fn write_zip(files: &SetFiles, folder: &str) -> Result<Vec<u8>, RvsError> {
    let zip_err = |e: zip::result::ZipError| RvsError::Zip(e.to_string());
    let io_err = |e: std::io::Error| RvsError::Zip(e.to_string());
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let deflated = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    for (name, text) in [(TRANSFORMS_FILE, files.transforms_json), (POSES_FILE, files.poses_json)] {
        zip.start_file(format!("{folder}{name}"), deflated).map_err(zip_err)?;
        zip.write_all(text.as_bytes()).map_err(io_err)?;
    }
    for (path, bytes) in files.images {
        zip.start_file(format!("{folder}{path}"), stored).map_err(zip_err)?;
        zip.write_all(bytes).map_err(io_err)?;
    }
    Ok(zip.finish().map_err(zip_err)?.into_inner())
}
