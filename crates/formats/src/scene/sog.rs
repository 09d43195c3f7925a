//! PlayCanvas SOG ("spatially ordered Gaussians", meta.json version 2) read and write: a zip
//! (`.sog`) holding `meta.json` and lossless WebP images, one texel per splat (row-major, texel
//! `i` is splat `i`), following splat-transform 3.10.2 (`read-sog.ts`, `write-sog.ts`).
//!
//! # Layout
//! * `means_l.webp`, `means_u.webp`: each axis of the position goes through the symmetric log
//!   `n = sign(x) ln(|x| + 1)`, is mapped linearly from `[means.mins, means.maxs]` onto 0..=65535
//!   and split into the low and high bytes (RGB = xyz, alpha 255).
//! * `quats.webp`: smallest three. The normalized quaternion (w, x, y, z) is negated if its
//!   largest-magnitude component is negative; the other three, times sqrt 2 (so in [-1, 1]), are
//!   stored as `255 (v / 2 + 1/2)` in RGB in (w, x, y, z) order, the dropped one's index + 252 in
//!   alpha. An alpha outside 252..=255 reads as the identity rotation (as the reference does).
//! * `scales.webp`: per axis, an index into `scales.codebook` (256 log scales, shared by the
//!   three axes).
//! * `sh0.webp`: RGB index `sh0.codebook` (256 f_dc values shared by the channels), alpha is
//!   `255 sigmoid(opacity)`.
//! * `shN_labels.webp` (R low byte, G high byte): a 16-bit index into a palette of `shN.count`
//!   SH vectors (`shN.bands` bands, 3, 8 or 15 coefficients per channel) in
//!   `shN_centroids.webp`, which is `64 * coeffs` texels wide with 64 palette entries per row:
//!   entry `e`, coefficient `j` is texel `((e % 64) * coeffs + j, e / 64)`, its RGB indexing `shN.codebook` (256 values shared by all coefficients).
//!
//! The textures are `ceil(sqrt(n) / 4) * 4` texels wide and `ceil(n / width / 4) * 4` high (at
//! least 4 by 4, so an empty scene still has images) and the writer stores the splats in Morton
//! order of their positions, so a file reads back permuted. Version 1 files (a meta.json without
//! `"version"`, per-channel ranges) are refused with a message saying so.
//!
//! # Round-trip error (what [`write_sog`] then [`read_sog`] gives back)
//! * Position: 16 bits over the log-transformed range `r = maxs - mins` of each axis, rounded,
//!   so `|n' - n| <= r / 131070` and `|x' - x| <= (|x| + 1) (e^(r / 131070) - 1)` (about
//!   `(|x| + 1) r / 131070`).
//! * Rotation (after normalizing, up to sign): each stored component is off by at most
//!   `1 / (255 sqrt 2) = 0.0028` (rounding to 8 bits); the rebuilt largest one by less than
//!   0.01. The tests check 0.01 per component.
//! * Log scale and f_dc: the nearest of 256 codebook entries (1-D optimal quantizer over the
//!   three axes or channels pooled). The error is at most half the gap between neighbouring
//!   entries around the value (the tests check range / 128 on uniform data; splat-transform's
//!   own files of 5,000 random splats measured 0.019 in log scale over a range of 8).
//! * Opacity: `sigmoid(opacity)` in 8 bits, rounded: `|sigmoid' - sigmoid| <= 1 / 510` (the
//!   decoded logit is clamped to `±ln(1e6 - 1) = ±13.8`).
//! * Higher SH bands: each splat gets one palette vector (k-means, below) whose values are then
//!   rounded to a 256-entry codebook. With at most as many splats as palette entries every splat
//!   is its own entry and only the codebook error remains (as for f_dc); otherwise the error is
//!   the clustering error, measured rather than bounded: the tests check that the RMS error is
//!   below the RMS deviation of the data, and the writer's doc gives figures for a large scene.
//!
//! # The SH palette
//! splat-transform clusters with up to 64 Ki entries on the GPU. On one CPU core (and in the
//! browser) that is too slow, so [`write_sog`] uses at most [`MAX_PALETTE`] entries: the
//! reference's size `min(64, 2^floor(log2(n / 1024))) * 1024` capped there, Lloyd k-means with
//! [`PALETTE_ITERATIONS`] iterations on a random subset of at most [`PALETTE_TRAIN`] splats, then
//! one assignment of every splat and a final mean update. Seeded, so the output is deterministic.
//! Above 256 entries the nearest-entry search is approximate: the entries are grouped (about
//! sqrt k groups) and a splat tries only the members of its 6 nearest groups, about 12 times
//! fewer distances at 8192 entries. Measured on 257,000 random SH-3 splats (uniform rest
//! coefficients in ±0.4, the worst case for clustering; real scenes cluster far better) in the
//! dev profile on one core: writing takes 8 s, the SH-rest RMS error is 0.190 against an RMS
//! deviation of the data of 0.231 (exact search at 4096 entries: 0.194 in 40 s; approximate at
//! 4096: 0.195 in 9 s; at 16384: 0.185 in 12 s). On 5,000 random SH-3 splats, splat-transform
//! (`-g cpu`, 4096 entries, here one per 1.2 splats) gives an SH-rest RMS error of 0.0704, this
//! writer (the same 4096) 0.0728.
//!
//! Departures from the reference writer that its reader does not see: values are rounded, not
//! truncated, to 16 and 8 bits (halving those errors), a 1-D codebook over at most 256 distinct
//! values keeps them exactly, RGB is kept under a zero alpha (libwebp's default drops it, which
//! loses the colour of fully transparent splats), the palette count in meta.json is the number
//! of entries actually written, and an empty scene gets 4-by-4 images.
//!
//! The reader never trusts the input: the count in meta.json is checked against the file's size
//! ([`MIN_BYTES_PER_SPLAT`]) and every size against the count before anything is allocated, zip
//! entries are read with a cap derived from the count, images are decoded one attribute at a
//! time, and a malformed file gives a [`SogError`] naming it, never a panic. [`peek_sog`] gives
//! the count and SH degree from meta.json with the same checks.

mod quantize;

use super::{MAX_FILE_SPLATS, Splats, SplatsError, sh_coeffs_for_degree};
use image::codecs::webp::{WebPDecoder, WebPEncoder};
use image::{DynamicImage, ExtendedColorType, ImageDecoder};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::{Cursor, Read, Write};
use thiserror::Error;
use zip::CompressionMethod;
use zip::ZipArchive;
use zip::write::{SimpleFileOptions, ZipWriter};

/// The most SH palette entries the writer uses (see the module doc).
pub const MAX_PALETTE: usize = 8192;
/// Lloyd iterations of the SH palette k-means.
pub const PALETTE_ITERATIONS: usize = 8;
/// The most splats the SH palette is trained on (every splat is assigned in the end).
pub const PALETTE_TRAIN: usize = 65536;
/// The seed of the palette k-means.
const PALETTE_SEED: u64 = 0x50_47_53_4f_47; // "SOG"

/// The name [`write_sog`]'s errors give, as it has no file name.
const OUTPUT: &str = "SOG output";
/// The most bytes `meta.json` may have.
const MAX_META_BYTES: u64 = 4 << 20;
/// WebP's largest dimension.
const MAX_WEBP_DIM: u32 = 16383;

#[derive(Debug, Error)]
pub enum SogError {
    #[error("{file}: not a SOG file (not a readable zip archive: {message})")]
    NotZip { file: String, message: String },
    #[error("{file}: the SOG zip has no meta.json")]
    NoMeta { file: String },
    #[error("{file}: the SOG zip has more than one meta.json ({first} and {second})")]
    TwoMetas { file: String, first: String, second: String },
    #[error("{file}: cannot read {entry} from the zip: {message}")]
    Zip { file: String, entry: String, message: String },
    #[error("{file}: {entry} is too large: {problem}")]
    TooLarge { file: String, entry: String, problem: String },
    #[error("{file}: meta.json refers to {entry}, which is not in the SOG")]
    MissingFile { file: String, entry: String },
    #[error("{file}: malformed meta.json: {message}")]
    Json { file: String, message: String },
    #[error(
        "{file}: this is a version 1 SOG (meta.json has no \"version\"), which is not supported; re-save it with a current splat-transform"
    )]
    VersionOne { file: String },
    #[error("{file}: unsupported SOG version {version} (only version 2 is supported)")]
    Version { file: String, version: String },
    #[error("{file}: bad meta.json: {problem}")]
    Meta { file: String, problem: String },
    #[error("{file}: cannot decode {entry}: {message}")]
    Image { file: String, entry: String, message: String },
    #[error("{file}: {entry} is {width}x{height} texels: {problem}")]
    ImageSize { file: String, entry: String, width: u32, height: u32, problem: String },
    #[error("{file}: splat {index} has SH palette label {label}, but the palette has {count} entries")]
    Label { file: String, index: usize, label: u32, count: u32 },
    #[error("{file}: {count} splats do not fit a SOG (at most {max})")]
    TooManySplats { file: String, count: u64, max: u64 },
    #[error(
        "{file}: meta.json declares {count} splats of SH degree {degree}, but a SOG of {file_bytes} bytes holds at most {max_count}: real SOG images never take less than {min_bytes} bytes a splat at this degree, so meta.json is corrupt or the file is a decompression bomb"
    )]
    CountExceedsFile { file: String, count: u64, degree: u32, file_bytes: u64, max_count: u64, min_bytes: u64 },
    #[error("{file}: cannot encode {entry}: {message}")]
    Encode { file: String, entry: String, message: String },
    #[error("{file}: invalid Gaussians: {source}")]
    Invalid {
        file: String,
        #[source]
        source: SplatsError,
    },
}

#[derive(Debug, Serialize, Deserialize)]
struct Meta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    version: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    asset: Option<serde_json::Value>,
    count: u64,
    means: MeansMeta,
    scales: CodebookMeta,
    quats: FilesMeta,
    sh0: CodebookMeta,
    #[serde(default, rename = "shN", skip_serializing_if = "Option::is_none")]
    sh_n: Option<ShNMeta>,
}

#[derive(Debug, Serialize, Deserialize)]
struct MeansMeta {
    mins: Vec<f64>,
    maxs: Vec<f64>,
    files: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct CodebookMeta {
    codebook: Vec<f64>,
    files: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct FilesMeta {
    files: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct ShNMeta {
    count: u64,
    bands: u32,
    codebook: Vec<f64>,
    files: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Reading

/// The fewest bytes of a SOG (the zip, or meta.json and the images of an unbundled one) that a
/// splat without higher SH bands may take: a file that declares more splats than its size pays
/// for is refused before any image is inflated or decoded.
///
/// Why 1: each splat is a texel in five images, and in real scenes the low bytes of its 16-bit
/// positions (`means_l`), its rotation and its colour are noise that lossless WebP's predictors
/// can't remove. Measured on the 9k-splat trained sample of ../shared/data at SH degree 0: 16
/// bytes a splat, and 8.9 as a "point cloud" (identity rotations, one scale, opaque: the most
/// compressible thing that is still a scene), nine times this bound. A lossless WebP of one
/// colour takes a few dozen bytes at any size (every texel costs 0 bits), which is what the
/// bombs are. A file of 1 MiB reads with at most 68 MB of heap (56 bytes a splat, and two
/// decoded images at a time: measured in tests/splat_bombs.rs).
pub const MIN_BYTES_PER_SPLAT: u64 = 1;
/// [`MIN_BYTES_PER_SPLAT`] for a SOG with higher SH bands, which also gives each splat a 16-bit
/// palette label in `shN_labels.webp` and decodes to up to 236 bytes a splat. Why 2: lego's SOG
/// (258k splats, SH degree 3) takes 19 bytes a splat and the 9k-splat sample 54 (its palette
/// weighs most at that size): nine times this bound or more. A file of 1 MiB reads with at most
/// 137 MB of heap.
pub const MIN_BYTES_PER_SPLAT_WITH_SH: u64 = 2;
/// Splats any SOG may declare whatever its size (15 MB decoded at SH degree 3), so small
/// synthetic scenes of near-identical splats, which compress far better than real ones, still
/// read.
const FREE_SPLATS: u64 = 65536;

/// meta.json parsed and checked: everything [`decode`] needs besides the images.
struct Checked {
    meta: Meta,
    count: u64,
    /// The SH degree: shN's bands, 0 without them.
    degree: u32,
    scale_cb: Vec<f32>,
    color_cb: Vec<f32>,
}

/// The number of splats and the SH degree of a bundled `.sog`, from its meta.json, refused as
/// [`read_sog`] would refuse them (a malformed meta.json, more splats than the file's size
/// holds). No image is read.
pub fn peek_sog(bytes: &[u8], file: &str) -> Result<(u64, u32), SogError> {
    let mut bundle = Bundle::open(bytes, file)?;
    let checked = bundle.meta(file)?;
    Ok((checked.count, checked.degree))
}

/// Reads a bundled `.sog` (a zip holding `meta.json` and the images). `file` names it in errors.
pub fn read_sog(bytes: &[u8], file: &str) -> Result<Splats, SogError> {
    let mut bundle = Bundle::open(bytes, file)?;
    let checked = bundle.meta(file)?;
    decode(&checked, file, &mut |name: &str, cap: u64| bundle.entry(name, cap, file))
}

/// Reads an unbundled SOG: `meta_json` and, through `open`, the images it names (relative to
/// it; `None` for a missing one). `file` names meta.json in errors. Every image is fetched
/// before any is decoded, so that the count is checked against the bytes they hold.
pub fn read_sog_unbundled(meta_json: &[u8], file: &str, mut open: impl FnMut(&str) -> Option<Vec<u8>>) -> Result<Splats, SogError> {
    if meta_json.len() as u64 > MAX_META_BYTES {
        return Err(SogError::TooLarge {
            file: file.into(),
            entry: "meta.json".into(),
            problem: format!("{} bytes, over the limit of {MAX_META_BYTES}", meta_json.len()),
        });
    }
    let checked = parse_meta(meta_json, file)?;
    let mut images: HashMap<&str, Vec<u8>> = HashMap::new();
    let mut total = meta_json.len() as u64;
    for name in checked.meta.file_names() {
        if !images.contains_key(name) {
            let bytes = open(name).ok_or_else(|| SogError::MissingFile { file: file.into(), entry: name.into() })?;
            total = total.saturating_add(bytes.len() as u64);
            images.insert(name, bytes);
        }
    }
    check_paid(&checked, total, file)?;
    decode(&checked, file, &mut |name: &str, cap: u64| {
        let bytes = images.get(name).ok_or_else(|| SogError::MissingFile { file: file.into(), entry: name.into() })?;
        if bytes.len() as u64 > cap {
            return Err(SogError::TooLarge {
                file: file.into(),
                entry: name.into(),
                problem: format!("{} bytes, over the limit of {cap} for this scene", bytes.len()),
            });
        }
        Ok(bytes.clone())
    })
}

/// A bundled SOG's zip: its entries by name and where meta.json is.
struct Bundle<'a> {
    archive: ZipArchive<Cursor<&'a [u8]>>,
    names: HashMap<String, usize>,
    meta_name: String,
    /// The folder meta.json is in (with its slash), which its file names are relative to.
    dir: String,
    file_bytes: u64,
}

impl<'a> Bundle<'a> {
    /// Reads the zip's directory (no entry is inflated) and finds its one meta.json.
    fn open(bytes: &'a [u8], file: &str) -> Result<Self, SogError> {
        let mut archive =
            ZipArchive::new(Cursor::new(bytes)).map_err(|e| SogError::NotZip { file: file.into(), message: e.to_string() })?;
        let mut names: HashMap<String, usize> = HashMap::new();
        let mut meta_name: Option<String> = None;
        for i in 0..archive.len() {
            let entry = archive.by_index_raw(i).map_err(|e| SogError::Zip {
                file: file.into(),
                entry: format!("entry {i}"),
                message: e.to_string(),
            })?;
            if entry.is_dir() {
                continue;
            }
            let name = String::from_utf8_lossy(entry.name_raw()).replace('\\', "/");
            if name == "meta.json" || name.ends_with("/meta.json") {
                match &meta_name {
                    Some(first) if first != &name => {
                        return Err(SogError::TwoMetas { file: file.into(), first: first.clone(), second: name });
                    }
                    _ => meta_name = Some(name.clone()),
                }
            }
            names.entry(name).or_insert(i);
        }
        let meta_name = meta_name.ok_or_else(|| SogError::NoMeta { file: file.into() })?;
        let dir = meta_name.strip_suffix("meta.json").unwrap_or("").to_string();
        Ok(Bundle { archive, names, meta_name, dir, file_bytes: bytes.len() as u64 })
    }

    /// meta.json, checked, and its count checked against the zip's size.
    fn meta(&mut self, file: &str) -> Result<Checked, SogError> {
        let index = self.names.get(&self.meta_name).copied().ok_or_else(|| SogError::NoMeta { file: file.into() })?;
        let meta_name = self.meta_name.clone();
        let meta_bytes = read_entry(&mut self.archive, index, &meta_name, MAX_META_BYTES, file)?;
        let checked = parse_meta(&meta_bytes, file)?;
        check_paid(&checked, self.file_bytes, file)?;
        Ok(checked)
    }

    /// The entry meta.json calls `name`, inflated (at most `cap` bytes).
    fn entry(&mut self, name: &str, cap: u64, file: &str) -> Result<Vec<u8>, SogError> {
        let path = format!("{}{name}", self.dir);
        let Some(&index) = self.names.get(&path) else {
            return Err(SogError::MissingFile { file: file.into(), entry: name.into() });
        };
        read_entry(&mut self.archive, index, name, cap, file)
    }
}

/// Refuses a count that `file_bytes` do not pay for (see [`MIN_BYTES_PER_SPLAT`]).
fn check_paid(checked: &Checked, file_bytes: u64, file: &str) -> Result<(), SogError> {
    let min_bytes = if checked.degree == 0 { MIN_BYTES_PER_SPLAT } else { MIN_BYTES_PER_SPLAT_WITH_SH };
    let max_count = FREE_SPLATS.saturating_add(file_bytes / min_bytes);
    if checked.count > max_count {
        return Err(SogError::CountExceedsFile {
            file: file.into(),
            count: checked.count,
            degree: checked.degree,
            file_bytes,
            max_count,
            min_bytes,
        });
    }
    Ok(())
}

/// Reads one zip entry, refusing one that declares or inflates to more than `cap` bytes.
fn read_entry(archive: &mut ZipArchive<Cursor<&[u8]>>, index: usize, name: &str, cap: u64, file: &str) -> Result<Vec<u8>, SogError> {
    let zip_err = |message: String| SogError::Zip { file: file.into(), entry: name.into(), message };
    let too_large = |problem: String| SogError::TooLarge { file: file.into(), entry: name.into(), problem };
    let entry = archive.by_index(index).map_err(|e| zip_err(e.to_string()))?;
    let declared = entry.size();
    if declared > cap {
        return Err(too_large(format!("it declares {declared} uncompressed bytes, over the limit of {cap} for this scene")));
    }
    let mut out = Vec::with_capacity(declared as usize);
    let read = entry.take(declared + 1).read_to_end(&mut out);
    if let Err(e) = read {
        let past = out.len() as u64 >= declared || e.to_string().contains("larger than its declared");
        return Err(if past {
            too_large(format!("it inflates past its declared size of {declared} bytes"))
        } else {
            zip_err(format!("cannot decompress it: {e}"))
        });
    }
    if out.len() as u64 != declared {
        return Err(if out.len() as u64 > declared {
            too_large(format!("it inflates past its declared size of {declared} bytes"))
        } else {
            zip_err(format!("it holds {} bytes but declares {declared}", out.len()))
        });
    }
    Ok(out)
}

impl Meta {
    /// Every image file meta.json names.
    fn file_names(&self) -> impl Iterator<Item = &str> {
        let sh_n = self.sh_n.iter().filter(|s| s.bands > 0).flat_map(|s| &s.files);
        self.means.files.iter().chain(&self.quats.files).chain(&self.scales.files).chain(&self.sh0.files).chain(sh_n).map(String::as_str)
    }
}

/// Parses and checks meta.json: its version, the count (at most [`MAX_FILE_SPLATS`]), the
/// codebooks, the position ranges and the SH palette's size.
fn parse_meta(meta_bytes: &[u8], file: &str) -> Result<Checked, SogError> {
    let meta_err = |problem: String| SogError::Meta { file: file.into(), problem };
    let value: serde_json::Value =
        serde_json::from_slice(meta_bytes).map_err(|e| SogError::Json { file: file.into(), message: e.to_string() })?;
    match value.get("version") {
        None if value.is_object() => return Err(SogError::VersionOne { file: file.into() }),
        Some(v) if v.as_u64() != Some(2) => return Err(SogError::Version { file: file.into(), version: v.to_string() }),
        _ => {}
    }
    let mut meta: Meta = serde_json::from_value(value).map_err(|e| SogError::Json { file: file.into(), message: e.to_string() })?;
    let count = meta.count;
    if count > MAX_FILE_SPLATS {
        return Err(SogError::TooManySplats { file: file.into(), count, max: MAX_FILE_SPLATS });
    }
    let scale_cb = codebook(&meta.scales.codebook, "scales", file)?;
    let color_cb = codebook(&meta.sh0.codebook, "sh0", file)?;
    if meta.means.mins.len() != 3 || meta.means.maxs.len() != 3 {
        return Err(meta_err(format!("means has {} mins and {} maxs (expected 3 each)", meta.means.mins.len(), meta.means.maxs.len())));
    }
    // shN with no bands is no SH at all.
    if meta.sh_n.as_ref().is_some_and(|s| s.bands == 0) {
        meta.sh_n = None;
    }
    if let Some(s) = &meta.sh_n {
        if s.bands > 3 {
            return Err(meta_err(format!("shN has {} bands (expected 1 to 3)", s.bands)));
        }
        if s.count == 0 || s.count > 65536 {
            return Err(meta_err(format!("shN has {} palette entries (expected 1 to 65536)", s.count)));
        }
        codebook(&s.codebook, "shN", file)?;
    }
    let degree = meta.sh_n.as_ref().map_or(0, |s| s.bands);
    Ok(Checked { meta, count, degree, scale_cb, color_cb })
}

/// A 256-entry codebook as f32.
fn codebook(cb: &[f64], what: &str, file: &str) -> Result<Vec<f32>, SogError> {
    if cb.len() != 256 {
        return Err(SogError::Meta { file: file.into(), problem: format!("{what} codebook has {} entries (expected 256)", cb.len()) });
    }
    Ok(cb.iter().map(|&v| v as f32).collect())
}

/// A decoded RGBA image.
struct Rgba {
    width: u32,
    height: u32,
    data: Vec<u8>,
}

type Loader<'a> = dyn FnMut(&str, u64) -> Result<Vec<u8>, SogError> + 'a;

/// Fetches (through `load(name, byte cap)`) and decodes the images meta.json names, checking
/// every size against the count before it is read or decoded.
struct Images<'a, 'l> {
    file: &'a str,
    count: u64,
    load: &'a mut Loader<'l>,
}

impl Images<'_, '_> {
    /// Images may be up to about twice the texels needed (the writer pads to multiples of 4).
    fn max_texels(&self) -> u64 {
        2 * self.count + 65536
    }

    /// The image called `files[i]`, of at most `texels` texels (a lossless WebP rarely exceeds
    /// its raw size, so the entry may take twice that in bytes).
    fn fetch(&mut self, files: &[String], i: usize, what: &str, texels: u64) -> Result<(String, Rgba), SogError> {
        let name = files.get(i).cloned().ok_or_else(|| SogError::Meta {
            file: self.file.into(),
            problem: format!("{what} lists {} files (expected {})", files.len(), i + 1),
        })?;
        let bytes = (self.load)(&name, 8 * texels + (1 << 20))?;
        let img = decode_webp(&bytes, &name, texels, self.file)?;
        Ok((name, img))
    }

    /// [`fetch`](Self::fetch) of an image with a texel per splat.
    fn per_splat(&mut self, files: &[String], i: usize, what: &str) -> Result<Rgba, SogError> {
        let (name, img) = self.fetch(files, i, what, self.max_texels())?;
        if (img.width as u64) * (img.height as u64) < self.count {
            let problem = format!("fewer texels than the {} splats", self.count);
            return Err(SogError::ImageSize { file: self.file.into(), entry: name, width: img.width, height: img.height, problem });
        }
        Ok(img)
    }
}

/// Decodes the images meta.json names into splats, one attribute at a time, so that at most
/// two decoded images are held at once.
fn decode(checked: &Checked, file: &str, load: &mut Loader) -> Result<Splats, SogError> {
    let meta = &checked.meta;
    let mut images = Images { file, count: checked.count, load };
    let mut splats = Splats::with_capacity(checked.count as usize, checked.degree);
    decode_means(&mut splats, &mut images, &meta.means)?;
    let quats = images.per_splat(&meta.quats.files, 0, "quats")?;
    splats.rotations.extend(quats.data.chunks_exact(4).take(images.count as usize).map(unpack_quat));
    drop(quats);
    let scales = images.per_splat(&meta.scales.files, 0, "scales")?;
    splats
        .log_scales
        .extend(scales.data.chunks_exact(4).take(images.count as usize).map(|t| [0, 1, 2].map(|a| checked.scale_cb[t[a] as usize])));
    drop(scales);
    decode_sh0(&mut splats, &mut images, &meta.sh0.files, &checked.color_cb)?;
    if let Some(s) = &meta.sh_n {
        decode_sh_n(&mut splats, &mut images, s)?;
    }
    splats.validate().map_err(|source| SogError::Invalid { file: file.into(), source })?;
    Ok(splats)
}

fn decode_means(splats: &mut Splats, images: &mut Images, means: &MeansMeta) -> Result<(), SogError> {
    let low = images.per_splat(&means.files, 0, "means")?;
    let high = images.per_splat(&means.files, 1, "means")?;
    let mins = &means.mins;
    let ranges: Vec<f64> = (0..3).map(|a| if means.maxs[a] - mins[a] != 0.0 { means.maxs[a] - mins[a] } else { 1.0 }).collect();
    for (l, h) in low.data.chunks_exact(4).zip(high.data.chunks_exact(4)).take(images.count as usize) {
        splats.means.push([0, 1, 2].map(|a| {
            let q = l[a] as u32 | (h[a] as u32) << 8;
            inv_log_transform(mins[a] + ranges[a] * (q as f64 / 65535.0)) as f32
        }));
    }
    Ok(())
}

/// The DC colour (RGB through the codebook) and opacity (alpha) of every splat.
fn decode_sh0(splats: &mut Splats, images: &mut Images, files: &[String], color_cb: &[f32]) -> Result<(), SogError> {
    let sh0 = images.per_splat(files, 0, "sh0")?;
    let k3 = splats.coeffs_per_splat() * 3;
    for (t, sh) in sh0.data.chunks_exact(4).zip(splats.sh.chunks_exact_mut(k3)) {
        splats.opacity_logits.push(logit(t[3] as f64 / 255.0) as f32);
        for c in 0..3 {
            sh[c] = color_cb[t[c] as usize];
        }
    }
    Ok(())
}

/// The higher SH bands: each splat's label picks a palette entry, whose texels index the codebook.
fn decode_sh_n(splats: &mut Splats, images: &mut Images, s: &ShNMeta) -> Result<(), SogError> {
    let (file, degree) = (images.file, s.bands);
    let k = sh_coeffs_for_degree(degree);
    let coeffs = k - 1;
    let sh_cb = codebook(&s.codebook, "shN", file)?;
    let palette = s.count as u32;
    let rows = s.count.div_ceil(64);
    let (cname, centroids) = images.fetch(&s.files, 0, "shN", 64 * coeffs as u64 * rows.max(1024))?;
    if centroids.width as usize != 64 * coeffs || (centroids.height as u64) < rows {
        let problem = format!("a palette of {} entries of {degree} bands needs {} by at least {rows}", s.count, 64 * coeffs);
        return Err(SogError::ImageSize { file: file.into(), entry: cname, width: centroids.width, height: centroids.height, problem });
    }
    let labels = images.per_splat(&s.files, 1, "shN")?;
    let width = centroids.width as usize;
    for (i, (t, sh)) in labels.data.chunks_exact(4).zip(splats.sh.chunks_exact_mut(k * 3)).enumerate() {
        let label = t[0] as u32 | (t[1] as u32) << 8;
        if label >= palette {
            return Err(SogError::Label { file: file.into(), index: i, label, count: palette });
        }
        let (row, col) = ((label / 64) as usize, (label % 64) as usize * coeffs);
        for j in 0..coeffs {
            let at = (row * width + col + j) * 4;
            for c in 0..3 {
                sh[(j + 1) * 3 + c] = sh_cb[centroids.data[at + c] as usize];
            }
        }
    }
    Ok(())
}

/// Decodes a WebP (lossless or lossy) to RGBA, refusing one of more than `max_texels` texels
/// before decoding it.
fn decode_webp(bytes: &[u8], name: &str, max_texels: u64, file: &str) -> Result<Rgba, SogError> {
    let err = |e: image::ImageError| SogError::Image { file: file.into(), entry: name.into(), message: e.to_string() };
    let decoder = WebPDecoder::new(Cursor::new(bytes)).map_err(err)?;
    let (width, height) = decoder.dimensions();
    if (width as u64) * (height as u64) > max_texels {
        return Err(SogError::ImageSize {
            file: file.into(),
            entry: name.into(),
            width,
            height,
            problem: format!("more than the {max_texels} texels this scene can need"),
        });
    }
    let data = DynamicImage::from_decoder(decoder).map_err(err)?.into_rgba8().into_raw();
    Ok(Rgba { width, height, data })
}

/// Inverse of `n = sign(x) ln(|x| + 1)`.
fn inv_log_transform(v: f64) -> f64 {
    let e = v.abs().exp() - 1.0;
    if v < 0.0 { -e } else { e }
}

fn log_transform(v: f64) -> f64 {
    v.signum() * (v.abs() + 1.0).ln()
}

fn logit(y: f64) -> f64 {
    let e = y.clamp(1e-6, 1.0 - 1e-6);
    (e / (1.0 - e)).ln()
}

/// Components stored (in order) for each dropped largest component.
const QUAT_IDX: [[usize; 3]; 4] = [[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]];

/// Decodes a smallest-three texel into (w, x, y, z).
fn unpack_quat(t: &[u8]) -> [f32; 4] {
    let Some(max) = t[3].checked_sub(252).map(usize::from).filter(|&m| m < 4) else {
        return [1.0, 0.0, 0.0, 0.0];
    };
    let mut q = [0f64; 4];
    let mut sum = 0.0;
    for (slot, &comp) in QUAT_IDX[max].iter().enumerate() {
        let v = (t[slot] as f64 / 255.0 * 2.0 - 1.0) / std::f64::consts::SQRT_2;
        q[comp] = v;
        sum += v * v;
    }
    q[max] = (1.0 - sum).max(0.0).sqrt();
    q.map(|v| v as f32)
}

// ---------------------------------------------------------------------------------------------
// Writing

/// The SH palette size for `n` splats: the reference's, capped at [`MAX_PALETTE`].
fn palette_size(n: usize) -> usize {
    let r = (n as f64 / 1024.0).log2().floor();
    let reference = (2f64.powf(r).min(64.0) * 1024.0) as usize;
    reference.clamp(1, MAX_PALETTE)
}

/// The texture size for `n` splats (the reference's, at least 4 by 4).
fn texture_size(n: usize) -> (u32, u32) {
    let width = ((n as f64).sqrt() / 4.0).ceil().max(1.0) as u64 * 4;
    let height = (n as u64).div_ceil(width).div_ceil(4).max(1) * 4;
    (width.min(u32::MAX as u64) as u32, height.min(u32::MAX as u64) as u32)
}

/// Writes a bundled `.sog` (see the module doc for the layout and its quantization error).
pub fn write_sog(splats: &Splats) -> Result<Vec<u8>, SogError> {
    splats.validate().map_err(|source| SogError::Invalid { file: OUTPUT.into(), source })?;
    let n = splats.len();
    let (width, height) = texture_size(n);
    if width > MAX_WEBP_DIM || height > MAX_WEBP_DIM || n as u64 > MAX_FILE_SPLATS {
        return Err(SogError::TooManySplats {
            file: OUTPUT.into(),
            count: n as u64,
            max: MAX_FILE_SPLATS.min(MAX_WEBP_DIM as u64 * MAX_WEBP_DIM as u64),
        });
    }
    let order = crate::scene::morton::morton_order(&splats.means);
    let texels = width as usize * height as usize;
    let k = splats.coeffs_per_splat();
    let mut files: Vec<(&str, Vec<u8>)> = Vec::new();

    // Means.
    let mut mins = [0f64; 3];
    let mut maxs = [0f64; 3];
    if n > 0 {
        for a in 0..3 {
            let (lo, hi) =
                splats.means.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), m| (lo.min(m[a] as f64), hi.max(m[a] as f64)));
            mins[a] = log_transform(lo);
            maxs[a] = log_transform(hi);
        }
    }
    let mut lo_img = vec![255u8; texels * 4];
    let mut hi_img = vec![255u8; texels * 4];
    for (t, &g) in order.iter().enumerate() {
        let m = splats.means[g as usize];
        for a in 0..3 {
            let range = maxs[a] - mins[a];
            let q =
                if range > 0.0 { (65535.0 * (log_transform(m[a] as f64) - mins[a]) / range).round().clamp(0.0, 65535.0) as u32 } else { 0 };
            lo_img[t * 4 + a] = q as u8;
            hi_img[t * 4 + a] = (q >> 8) as u8;
        }
    }
    files.push(("means_l.webp", encode_webp(&lo_img, width, height, "means_l.webp")?));
    files.push(("means_u.webp", encode_webp(&hi_img, width, height, "means_u.webp")?));
    drop((lo_img, hi_img));

    // Rotations.
    let mut quats = vec![0u8; texels * 4];
    for (t, &g) in order.iter().enumerate() {
        quats[t * 4..t * 4 + 4].copy_from_slice(&pack_quat(splats.rotations[g as usize]));
    }
    files.push(("quats.webp", encode_webp(&quats, width, height, "quats.webp")?));
    drop(quats);

    // Scales: one codebook over the three axes pooled (axis-major, as the reference).
    let pooled: Vec<f32> = (0..3).flat_map(|a| splats.log_scales.iter().map(move |s| s[a])).collect();
    let scale_cb = quantize::quantize_1d(&pooled, 256);
    let mut img = vec![255u8; texels * 4];
    for (t, &g) in order.iter().enumerate() {
        for a in 0..3 {
            img[t * 4 + a] = scale_cb.labels[a * n + g as usize];
        }
    }
    files.push(("scales.webp", encode_webp(&img, width, height, "scales.webp")?));

    // f_dc and opacity.
    let pooled: Vec<f32> = (0..3).flat_map(|c| (0..n).map(move |i| splats.sh[i * k * 3 + c])).collect();
    let color_cb = quantize::quantize_1d(&pooled, 256);
    for (t, &g) in order.iter().enumerate() {
        for c in 0..3 {
            img[t * 4 + c] = color_cb.labels[c * n + g as usize];
        }
        let sigmoid = 1.0 / (1.0 + (-(splats.opacity_logits[g as usize] as f64)).exp());
        img[t * 4 + 3] = (sigmoid * 255.0).round().clamp(0.0, 255.0) as u8;
    }
    files.push(("sh0.webp", encode_webp(&img, width, height, "sh0.webp")?));
    drop(img);

    // Higher bands: palette, codebook, labels.
    let mut sh_n = None;
    if splats.sh_degree > 0 {
        let coeffs = k - 1;
        let dims = coeffs * 3;
        // Channel-major per splat (R coefficients, then G, then B), like the reference's f_rest.
        let mut points = vec![0f32; n * dims];
        for i in 0..n {
            for c in 0..3 {
                for j in 0..coeffs {
                    points[i * dims + c * coeffs + j] = splats.sh[(i * k + j + 1) * 3 + c];
                }
            }
        }
        let mut palette = quantize::kmeans(&points, n, dims, palette_size(n), PALETTE_ITERATIONS, PALETTE_TRAIN, PALETTE_SEED);
        drop(points);
        if palette.centroids.is_empty() {
            palette.centroids = vec![0.0; dims]; // an empty scene still has a palette
        }
        let entries = palette.centroids.len() / dims;
        let cb = quantize::quantize_1d(&palette.centroids, 256);
        let rows = entries.div_ceil(64);
        let cw = 64 * coeffs;
        let mut cimg = vec![0u8; cw * rows * 4];
        for e in 0..entries {
            for j in 0..coeffs {
                let t = e * coeffs + j; // row-major: entry e's texels run on from entry e-1's
                for c in 0..3 {
                    cimg[t * 4 + c] = cb.labels[e * dims + c * coeffs + j];
                }
                cimg[t * 4 + 3] = 255;
            }
        }
        files.push(("shN_centroids.webp", encode_webp(&cimg, cw as u32, rows as u32, "shN_centroids.webp")?));
        let mut limg = vec![0u8; texels * 4];
        for (t, &g) in order.iter().enumerate() {
            let label = palette.labels[g as usize];
            limg[t * 4] = label as u8;
            limg[t * 4 + 1] = (label >> 8) as u8;
            limg[t * 4 + 3] = 255;
        }
        files.push(("shN_labels.webp", encode_webp(&limg, width, height, "shN_labels.webp")?));
        sh_n = Some(ShNMeta {
            count: entries as u64,
            bands: splats.sh_degree,
            codebook: cb.entries.iter().map(|&v| v as f64).collect(),
            files: vec!["shN_centroids.webp".into(), "shN_labels.webp".into()],
        });
    }

    let meta = Meta {
        version: Some(2.into()),
        asset: Some(serde_json::json!({ "generator": concat!("wgsplat ", env!("CARGO_PKG_VERSION")) })),
        count: n as u64,
        means: MeansMeta { mins: mins.to_vec(), maxs: maxs.to_vec(), files: vec!["means_l.webp".into(), "means_u.webp".into()] },
        scales: CodebookMeta { codebook: scale_cb.entries.iter().map(|&v| v as f64).collect(), files: vec!["scales.webp".into()] },
        quats: FilesMeta { files: vec!["quats.webp".into()] },
        sh0: CodebookMeta { codebook: color_cb.entries.iter().map(|&v| v as f64).collect(), files: vec!["sh0.webp".into()] },
        sh_n,
    };
    let meta_json = serde_json::to_vec(&meta).map_err(|e| SogError::Encode {
        file: OUTPUT.into(),
        entry: "meta.json".into(),
        message: e.to_string(),
    })?;

    let zip_err = |entry: &str, message: String| SogError::Encode { file: OUTPUT.into(), entry: entry.into(), message };
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let deflated = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    zip.start_file("meta.json", deflated).map_err(|e| zip_err("meta.json", e.to_string()))?;
    zip.write_all(&meta_json).map_err(|e| zip_err("meta.json", e.to_string()))?;
    for (name, bytes) in &files {
        zip.start_file(*name, stored).map_err(|e| zip_err(name, e.to_string()))?;
        zip.write_all(bytes).map_err(|e| zip_err(name, e.to_string()))?;
    }
    Ok(zip.finish().map_err(|e| zip_err("the zip", e.to_string()))?.into_inner())
}

/// Packs (w, x, y, z) as smallest three (see the module doc). Finite and non-zero (validated).
fn pack_quat(r: [f32; 4]) -> [u8; 4] {
    let mut q = r.map(|v| v as f64);
    let len = q.iter().map(|v| v * v).sum::<f64>().sqrt();
    let mut max = 0;
    for i in 1..4 {
        if q[i].abs() > q[max].abs() {
            max = i;
        }
    }
    let s = if q[max] < 0.0 { -1.0 } else { 1.0 } * std::f64::consts::SQRT_2 / len;
    q.iter_mut().for_each(|v| *v *= s);
    let b = |v: f64| (255.0 * (v * 0.5 + 0.5)).round().clamp(0.0, 255.0) as u8;
    let [a, bb, c] = QUAT_IDX[max];
    [b(q[a]), b(q[bb]), b(q[c]), 252 + max as u8]
}

fn encode_webp(rgba: &[u8], width: u32, height: u32, name: &str) -> Result<Vec<u8>, SogError> {
    let mut out = Vec::new();
    WebPEncoder::new_lossless(&mut out).encode(rgba, width, height, ExtendedColorType::Rgba8).map_err(|e| SogError::Encode {
        file: OUTPUT.into(),
        entry: name.into(),
        message: e.to_string(),
    })?;
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;
    use crate::rng::SplitMix;

    const FILE: &str = "bad.sog";

    fn random_splats(n: usize, degree: u32, seed: u64) -> Splats {
        let mut rng = SplitMix(seed);
        let k = sh_coeffs_for_degree(degree);
        let mut s = Splats { sh_degree: degree, ..Default::default() };
        for _ in 0..n {
            s.means.push([rng.signed() * 20.0, rng.signed() * 3.0 + 1.0, rng.normal() * 50.0]);
            s.rotations.push([rng.normal(), rng.normal(), rng.normal(), rng.normal() + 0.01]);
            s.log_scales.push([rng.signed() * 4.0 - 3.0, rng.signed() * 4.0 - 3.0, rng.signed() * 4.0 - 3.0]);
            s.opacity_logits.push(rng.signed() * 8.0);
            for j in 0..k * 3 {
                s.sh.push(if j < 3 { rng.signed() * 2.0 } else { rng.signed() * 0.4 });
            }
        }
        s
    }

    fn sigmoid(x: f32) -> f32 {
        1.0 / (1.0 + (-x).exp())
    }

    fn range(values: impl Iterator<Item = f32>) -> f32 {
        let (lo, hi) = values.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
        if lo.is_finite() { hi - lo } else { 0.0 }
    }

    /// Checks `back` (as read) against `src` within the documented bounds; returns the SH-rest
    /// RMS error and the RMS deviation of the SH-rest data from its mean.
    fn check_round_trip(src: &Splats, back: &Splats) -> (f64, f64) {
        let n = src.len();
        assert_eq!(back.len(), n);
        assert_eq!(back.sh_degree, src.sh_degree);
        let order = crate::scene::morton::morton_order(&src.means);
        let k = src.coeffs_per_splat();
        let log_range: Vec<f64> = (0..3)
            .map(|a| {
                let r = range(src.means.iter().map(|m| m[a]));
                let lo = src.means.iter().map(|m| m[a]).fold(f32::INFINITY, f32::min);
                if r == 0.0 { 0.0 } else { log_transform((lo + r) as f64) - log_transform(lo as f64) }
            })
            .collect();
        let scale_range = range(src.log_scales.iter().flatten().copied());
        let dc_range = range((0..n).flat_map(|i| src.sh[i * k * 3..i * k * 3 + 3].to_vec()));
        let rest_range = range((0..n).flat_map(|i| src.sh[i * k * 3 + 3..(i + 1) * k * 3].to_vec()));
        let (mut err2, mut dev2, mut count) = (0f64, 0f64, 0usize);
        let rest_mean: Vec<f64> = (3..k * 3).map(|j| (0..n).map(|i| src.sh[i * k * 3 + j] as f64).sum::<f64>() / n.max(1) as f64).collect();
        for (t, &g) in order.iter().enumerate() {
            let g = g as usize;
            for a in 0..3 {
                let x = src.means[g][a] as f64;
                let bound = (x.abs() + 1.0) * ((log_range[a] / 131070.0).exp() - 1.0) + 1e-5 * (x.abs() + 1.0);
                let d = (back.means[t][a] as f64 - x).abs();
                assert!(d <= bound, "splat {g} axis {a}: position {x} came back as {} (bound {bound})", back.means[t][a]);
            }
            let norm = |q: [f32; 4]| {
                let l = q.iter().map(|v| v * v).sum::<f32>().sqrt();
                q.map(|v| v / l)
            };
            let (a, mut b) = (norm(src.rotations[g]), norm(back.rotations[t]));
            if a.iter().zip(&b).map(|(x, y)| x * y).sum::<f32>() < 0.0 {
                b = b.map(|v| -v);
            }
            for c in 0..4 {
                assert!((a[c] - b[c]).abs() <= 0.01, "splat {g}: rotation {a:?} came back as {b:?}");
            }
            for a in 0..3 {
                let d = (src.log_scales[g][a] - back.log_scales[t][a]).abs();
                assert!(d <= scale_range / 128.0 + 1e-5, "splat {g}: log scale off by {d} (range {scale_range})");
            }
            let d = (sigmoid(src.opacity_logits[g]) - sigmoid(back.opacity_logits[t])).abs();
            assert!(d <= 1.0 / 510.0 + 1e-5, "splat {g}: opacity off by {d}");
            for c in 0..3 {
                let d = (src.sh[g * k * 3 + c] - back.sh[t * k * 3 + c]).abs();
                assert!(d <= dc_range / 128.0 + 1e-5, "splat {g}: f_dc off by {d} (range {dc_range})");
            }
            for j in 3..k * 3 {
                let (x, y) = (src.sh[g * k * 3 + j], back.sh[t * k * 3 + j]);
                if n <= palette_size(n) {
                    assert!((x - y).abs() <= rest_range / 128.0 + 1e-5, "splat {g}: SH {j} {x} came back as {y}");
                }
                err2 += ((x - y) as f64).powi(2);
                dev2 += (x as f64 - rest_mean[j - 3]).powi(2);
                count += 1;
            }
        }
        let c = count.max(1) as f64;
        ((err2 / c).sqrt(), (dev2 / c).sqrt())
    }

    #[test]
    fn round_trips_random_splats_within_bounds() {
        for n in [0, 1, 1000] {
            for degree in 0..=3 {
                let src = random_splats(n, degree, 7 + n as u64 * 4 + degree as u64);
                let bytes = write_sog(&src).unwrap();
                let back = read_sog(&bytes, "rt.sog").unwrap();
                let (rms, dev) = check_round_trip(&src, &back);
                if n > palette_size(n) && degree > 0 {
                    assert!(rms < 0.9 * dev, "n {n} degree {degree}: SH RMS error {rms} vs deviation {dev}");
                }
            }
        }
    }

    #[test]
    fn clustered_sh_comes_back_close() {
        // 2000 splats whose SH-3 rest lies near one of 16 vectors: the palette finds them.
        let mut src = random_splats(2000, 3, 99);
        let mut rng = SplitMix(5);
        let centres: Vec<Vec<f32>> = (0..16).map(|_| (0..45).map(|_| rng.signed() * 0.5).collect()).collect();
        for i in 0..2000 {
            let c = &centres[i % 16];
            for j in 0..45 {
                src.sh[i * 48 + 3 + j] = c[j] + rng.signed() * 0.002;
            }
        }
        let back = read_sog(&write_sog(&src).unwrap(), "c.sog").unwrap();
        let order = crate::scene::morton::morton_order(&src.means);
        for (t, &g) in order.iter().enumerate() {
            for j in 3..48 {
                let d = (src.sh[g as usize * 48 + j] - back.sh[t * 48 + j]).abs();
                assert!(d < 0.01, "splat {g} SH {j} off by {d}");
            }
        }
    }

    #[test]
    fn writing_is_deterministic_and_reads_unbundled() {
        let src = random_splats(3000, 2, 3);
        let a = write_sog(&src).unwrap();
        assert_eq!(a, write_sog(&src).unwrap());
        let entries = unzip(&a);
        let get = |name: &str| entries.iter().find(|(n, _)| n == name).map(|(_, b)| b.clone());
        let back = read_sog_unbundled(&get("meta.json").unwrap(), "meta.json", |name| get(name)).unwrap();
        assert_eq!(back, read_sog(&a, "x.sog").unwrap());
        let err = read_sog_unbundled(&get("meta.json").unwrap(), "meta.json", |name| if name == "quats.webp" { None } else { get(name) })
            .unwrap_err();
        assert!(matches!(err, SogError::MissingFile { .. }), "{err}");
    }

    fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
        let mut archive = ZipArchive::new(Cursor::new(bytes)).unwrap();
        (0..archive.len())
            .map(|i| {
                let mut f = archive.by_index(i).unwrap();
                let mut out = Vec::new();
                f.read_to_end(&mut out).unwrap();
                (f.name().unwrap().to_string(), out)
            })
            .collect()
    }

    fn zip_of(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        for (name, bytes) in entries {
            zip.start_file(name.as_str(), SimpleFileOptions::default().compression_method(CompressionMethod::Deflated)).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    /// A valid SOG of `n` splats of `degree` with meta.json edited by `edit`.
    fn with_meta(n: usize, degree: u32, edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
        let mut entries = unzip(&write_sog(&random_splats(n, degree, 11)).unwrap());
        let meta = entries.iter_mut().find(|(name, _)| name == "meta.json").unwrap();
        let mut value: serde_json::Value = serde_json::from_slice(&meta.1).unwrap();
        edit(&mut value);
        meta.1 = serde_json::to_vec(&value).unwrap();
        zip_of(&entries)
    }

    fn read_err(bytes: &[u8]) -> SogError {
        let err = read_sog(bytes, FILE).unwrap_err();
        assert!(err.to_string().contains(FILE), "error does not name the file: {err}");
        err
    }

    #[test]
    fn refuses_bad_inputs() {
        assert!(matches!(read_err(b"not a zip at all"), SogError::NotZip { .. }));
        assert!(matches!(read_err(&zip_of(&[("a.txt".into(), b"hi".to_vec())])), SogError::NoMeta { .. }));
        assert!(matches!(read_err(&zip_of(&[("meta.json".into(), b"{\"version\": 2,".to_vec())])), SogError::Json { .. }));
        assert!(matches!(read_err(&zip_of(&[("meta.json".into(), b"[1, 2]".to_vec())])), SogError::Json { .. } | SogError::Version { .. }));
        assert!(matches!(read_err(&with_meta(10, 0, |m| m["version"] = 3.into())), SogError::Version { .. }));
        assert!(matches!(read_err(&with_meta(10, 0, |m| m["version"] = "2".into())), SogError::Version { .. }));
        let v1 = with_meta(10, 0, |m| {
            m.as_object_mut().unwrap().remove("version");
        });
        assert!(matches!(read_err(&v1), SogError::VersionOne { .. }));
        assert!(matches!(read_err(&with_meta(10, 0, |m| m["count"] = 17.into())), SogError::ImageSize { .. }));
        assert!(matches!(read_err(&with_meta(10, 0, |m| m["count"] = (1u64 << 40).into())), SogError::TooManySplats { .. }));
        assert!(matches!(read_err(&with_meta(10, 0, |m| m["count"] = (-1).into())), SogError::Json { .. }));
        let short = with_meta(10, 0, |m| {
            m["scales"]["codebook"].as_array_mut().unwrap().pop();
        });
        assert!(matches!(read_err(&short), SogError::Meta { .. }));
        let short = with_meta(10, 1, |m| {
            m["shN"]["codebook"].as_array_mut().unwrap().truncate(3);
        });
        assert!(matches!(read_err(&short), SogError::Meta { .. }));
        assert!(matches!(read_err(&with_meta(10, 0, |m| m["means"]["mins"] = serde_json::json!([0, 0]))), SogError::Meta { .. }));
        assert!(matches!(read_err(&with_meta(10, 0, |m| m["quats"]["files"] = serde_json::json!([]))), SogError::Meta { .. }));
        assert!(matches!(
            read_err(&with_meta(10, 0, |m| m["quats"]["files"] = serde_json::json!(["nope.webp"]))),
            SogError::MissingFile { .. }
        ));
        assert!(matches!(read_err(&with_meta(10, 0, |m| m["quats"]["files"] = serde_json::json!(["meta.json"]))), SogError::Image { .. }));
        assert!(matches!(read_err(&with_meta(10, 2, |m| m["shN"]["bands"] = 4.into())), SogError::Meta { .. }));
        assert!(matches!(read_err(&with_meta(10, 2, |m| m["shN"]["bands"] = 1.into())), SogError::ImageSize { .. }));
        assert!(matches!(read_err(&with_meta(10, 2, |m| m["shN"]["count"] = 0.into())), SogError::Meta { .. }));
        // 1000 splats get a palette of 512: claim 3 entries and most labels are out of range.
        assert!(matches!(read_err(&with_meta(1000, 1, |m| m["shN"]["count"] = 3.into())), SogError::Label { .. }));
        assert!(matches!(
            read_err(&with_meta(10, 0, |m| m["means"]["maxs"] = serde_json::json!([1e300, 1e300, 1e300]))),
            SogError::Invalid { .. }
        ));
    }

    #[test]
    fn refuses_a_count_the_file_does_not_hold() {
        // 67M splats declared by a SOG of 10: refused from meta.json, before any image is read.
        let bomb = with_meta(10, 1, |m| m["count"] = (1u64 << 26).into());
        for err in [read_err(&bomb), peek_sog(&bomb, FILE).unwrap_err()] {
            let SogError::CountExceedsFile { count, file_bytes, max_count, .. } = err else { panic!("{err}") };
            assert_eq!(
                (count, file_bytes, max_count),
                (1 << 26, bomb.len() as u64, FREE_SPLATS + bomb.len() as u64 / MIN_BYTES_PER_SPLAT_WITH_SH)
            );
        }
        // Unbundled, the count is checked against meta.json and the images fetched.
        let entries = unzip(&bomb);
        let get = |name: &str| entries.iter().find(|(n, _)| n == name).map(|(_, b)| b.clone());
        let err = read_sog_unbundled(&get("meta.json").unwrap(), "meta.json", |name| get(name)).unwrap_err();
        assert!(matches!(err, SogError::CountExceedsFile { count: 67108864, .. }), "{err}");
        assert!(err.to_string().starts_with("meta.json: meta.json declares 67108864 splats of SH degree 1"), "{err}");
        // A count the file does hold goes on to the images, which are too small for it.
        assert!(matches!(read_err(&with_meta(10, 0, |m| m["count"] = FREE_SPLATS.into())), SogError::ImageSize { .. }));
    }

    #[test]
    fn peek_reads_meta_json_only() {
        for degree in 0..=3 {
            let bytes = write_sog(&random_splats(100, degree, 20 + u64::from(degree))).unwrap();
            assert_eq!(peek_sog(&bytes, "t.sog").unwrap(), (100, degree));
            // Without its images, the file still peeks.
            let meta_only = zip_of(&unzip(&bytes).into_iter().filter(|(name, _)| name == "meta.json").collect::<Vec<_>>());
            assert_eq!(peek_sog(&meta_only, "t.sog").unwrap(), (100, degree));
        }
    }

    #[test]
    fn refuses_truncated_and_damaged_zips() {
        let good = write_sog(&random_splats(300, 1, 2)).unwrap();
        for cut in [0, 1, 4, 22, 100, good.len() / 3, good.len() / 2, good.len() - 23, good.len() - 1] {
            read_err(&good[..cut]);
        }
        // Flipped bytes anywhere: an error or (rarely) a file that still decodes, never a panic.
        let mut rng = SplitMix(1);
        for _ in 0..200 {
            let mut bad = good.clone();
            for _ in 0..3 {
                let i = (rng.next_u64() % bad.len() as u64) as usize;
                bad[i] ^= 1 << (rng.next_u64() % 8);
            }
            let _ = read_sog(&bad, FILE);
        }
    }

    #[test]
    fn refuses_an_entry_that_expands_too_far() {
        let mut entries = unzip(&write_sog(&random_splats(10, 0, 4)).unwrap());
        // 64 MiB of zeros deflate to about 64 KiB, far past the cap for 10 splats.
        entries.iter_mut().find(|(name, _)| name == "means_l.webp").unwrap().1 = vec![0; 64 << 20];
        assert!(matches!(read_err(&zip_of(&entries)), SogError::TooLarge { .. }));
    }

    #[test]
    fn refuses_invalid_splats_on_write() {
        let mut s = random_splats(3, 0, 1);
        s.means[1][0] = f32::NAN;
        assert!(matches!(write_sog(&s), Err(SogError::Invalid { .. })));
    }

    #[test]
    fn quantizer_picks_nearest_entries() {
        let mut rng = SplitMix(8);
        let values: Vec<f32> = (0..5000).map(|_| rng.normal()).collect();
        let cb = quantize::quantize_1d(&values, 256);
        assert_eq!(cb.entries.len(), 256);
        assert!(cb.entries.windows(2).all(|w| w[0] <= w[1]));
        for (v, &l) in values.iter().zip(&cb.labels) {
            let d = (v - cb.entries[l as usize]).abs();
            assert!(cb.entries.iter().all(|e| (v - e).abs() >= d - 1e-6));
        }
        let few = quantize::quantize_1d(&[1.0, 2.0, 2.0, 5.0], 256);
        assert_eq!(few.labels.iter().map(|&l| few.entries[l as usize]).collect::<Vec<_>>(), vec![1.0, 2.0, 2.0, 5.0]);
    }
}
