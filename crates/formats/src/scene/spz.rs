//! Niantic's SPZ (<https://github.com/nianticlabs/spz>): reads versions 2, 3 and 4, writes
//! version 3.
//!
//! Versions 2 and 3 are one gzip stream holding a 16-byte header (magic `NGSP`, version,
//! splat count, SH degree, fractional bits, flags, reserved) and then, attribute by attribute:
//! positions (3 × 24-bit signed fixed point), alphas (sigmoid(opacity) × 255), colours (the DC
//! coefficient as `f_dc × 0.15 + 0.5` in 0..255), scales (`(log_scale + 10) × 16`), rotations
//! (v2: x, y, z of the quaternion with w ≥ 0, 8 bits each; v3: "smallest three", a 2-bit index of
//! the largest component and three 10-bit signed others) and SH bands 1..3 (`v × 128 + 128`,
//! per splat, per coefficient, RGB interleaved, which is our [`Splats::sh`] order less the DC).
//! Version 4 keeps the attributes but stores a 32-byte plaintext header, a table of contents and
//! one zstd stream per attribute. We write v3 because every SPZ reader in use reads it.
//!
//! Coordinates are stored raw, with no axis conversion, as PlayCanvas's splat-transform does
//! (its writer passes `from: UNSPECIFIED`, its reader decodes raw): a PLY converted to SPZ by
//! either tool and read back by either gives the same numbers. Niantic's own library assumes
//! RUB on disk and converts on request; files from it may need an axis flip.
//!
//! # Quantization error of a write → read round trip
//! For values inside the ranges the format can hold (outside them a value saturates at the
//! range's end):
//! - position: ≤ 2^-(b+1) per coordinate, b the fractional bits: 12 (≤ 1.22e-4) while every
//!   coordinate is within ±2047.99; larger scenes get one bit fewer per doubling (the writer
//!   picks the most bits that fit 24 bits, and refuses coordinates past ±8388607);
//! - log-scale: ≤ 1/32 for log-scales in [-10, 5.9375];
//! - rotation (v3): ≤ 2.1e-3 per component of the normalized quaternion, up to sign (each stored
//!   component rounds to a step of 0.707/511, and the largest is rebuilt from the other three,
//!   which can triple that error);
//! - opacity: ≤ 0.5/255 ≈ 1.96e-3 after the sigmoid (the logit itself is unbounded near 0 and 1;
//!   alpha bytes 0 and 255 read as opacities 1e-6 and 1 − 1e-6, as splat-transform does, so the
//!   logit stays finite);
//! - DC colour: ≤ 0.5/(255 × 0.15) ≈ 0.0131 for f_dc in [-3.33, 3.33];
//! - SH band 1: ≤ 4.5/128 ≈ 0.0352 (5 bits); bands 2 and 3: ≤ 8.5/128 ≈ 0.0664 (4 bits), for
//!   coefficients in [-1, 127/128] (the bit counts of Niantic's and splat-transform's writers).
//!
//! The reader never trusts the input: the header is inflated first, the attribute bytes it
//! implies are computed with checked arithmetic (at most [`MAX_FILE_SPLATS`] splats, and no more
//! than [`MAX_COMPRESSION_RATIO`] times the file's size: see there why), and only that many bytes
//! are ever decompressed into memory (v2/v3 then inflate at most 16 MiB more, discarded, to reach
//! gzip's CRC; a v4 zstd frame may not ask for a window larger than its stream needs), so a
//! malformed or hostile file gives an [`SpzError`], never a panic or an allocation the file does
//! not pay for. [`peek_spz`] reads the count and degree from the header alone, with the same
//! checks. Both CRC (gzip) and, where the frame has one, checksum (zstd) are verified.
//! Unlike Niantic's reader we accept a file of zero splats (our writer makes one from an empty
//! scene; Niantic's library refuses to load it).

use super::{MAX_FILE_SPLATS, Splats, SplatsError, sh_coeffs_for_degree};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use std::io::{Read, Write};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum SpzError {
    #[error("{file}: not an SPZ file (neither a gzip stream nor an \"NGSP\" header)")]
    NotSpz { file: String },
    #[error("{file}: not an SPZ file: the header's magic is {magic:#010x}, not 0x5053474e (\"NGSP\")")]
    BadMagic { file: String, magic: u32 },
    #[error("{file}: unsupported SPZ version {version} {context} (wgsplat reads versions 2 and 3 in gzip, 4 in zstd streams)")]
    UnsupportedVersion { file: String, version: u32, context: &'static str },
    #[error("{file}: unsupported SPZ SH degree {degree} (wgsplat supports 0 to 3)")]
    ShDegree { file: String, degree: u8 },
    #[error(
        "{file}: the SPZ header declares {count} Gaussians, more than the {MAX_FILE_SPLATS} wgsplat reads from one file (corrupt header?)"
    )]
    TooMany { file: String, count: u64 },
    #[error(
        "{file}: the SPZ header declares {count} Gaussians of SH degree {degree} ({body} bytes of attributes), but a file of {file_bytes} bytes holds at most {max_count}: real SPZ data never compresses past {MAX_COMPRESSION_RATIO}:1, so the header is corrupt or the file is a decompression bomb"
    )]
    CountExceedsFile { file: String, count: u64, degree: u8, body: u64, file_bytes: u64, max_count: u64 },
    #[error("{file}: corrupt SPZ {what}: a zstd frame asks for a {window}-byte window, more than the {limit} bytes its stream may need")]
    ZstdWindow { file: String, what: &'static str, window: u64, limit: u64 },
    #[error("{file}: truncated SPZ: the {what} needs {expected} bytes but only {found} are there")]
    Truncated { file: String, what: &'static str, expected: u64, found: u64 },
    #[error("{file}: corrupt SPZ {what}: {detail}")]
    Corrupt { file: String, what: &'static str, detail: String },
    #[error("{file}: malformed SPZ v4 container: {problem}")]
    Container { file: String, problem: String },
    #[error("{file}: invalid Gaussians: {source}")]
    Invalid {
        file: String,
        #[source]
        source: SplatsError,
    },
    #[error("cannot write SPZ: invalid Gaussians: {0}")]
    WriteInvalid(#[source] SplatsError),
    #[error("cannot write SPZ: {0}")]
    Unwritable(String),
}

const MAGIC: u32 = 0x5053_474e;
const LEGACY_HEADER_BYTES: usize = 16;
const V4_HEADER_BYTES: usize = 32;
const WRITE_VERSION: u32 = 3;
/// The fractional bits Niantic's writer always uses (~0.25 mm steps at metre scale).
const MAX_WRITE_FRACTIONAL_BITS: u32 = 12;
/// spz scales the DC term by this rather than SH_C0, so colours a bit outside 0..1 survive.
const COLOR_SCALE: f32 = 0.15;
/// The most attribute bytes (the body that the header's count and degree imply) one byte of an
/// SPZ file may stand for, in either container.
///
/// Why 32: the body is fixed-point and 8-bit planes, and in real scenes the low bits of the
/// positions (24-bit fixed point, 12 fractional bits: sub-millimetre steps), rotations (10-bit
/// smallest three) and colours are measurement noise that neither deflate nor zstd removes.
/// Measured: lego (258k splats, SH degree 3, 65 bytes a splat inflated) gzips 2.6:1; the 9k-splat
/// trained sample of ../shared/data 3.0:1 at degree 3 and 1.1:1 at degree 0 (gzip -6 and zstd
/// -19 alike); the same with every higher SH coefficient zero 3.7:1; and as a "point cloud"
/// (identity rotations, one scale, opaque, higher SH all zero: the most compressible thing that
/// is still a scene) 1.8:1 at degree 0 and 5.9:1 at degree 3. 32:1 leaves five times the worst. Bombs are far past it:
/// deflate reaches 1032:1 and zstd's RLE blocks 32768:1 on runs of zeros. At 32:1 a file of
/// 1 MiB reads with at most 152 MB of heap (33 MiB of body, 3.6 times that as f32 splats at
/// degree 3: measured in tests/splat_bombs.rs).
pub const MAX_COMPRESSION_RATIO: u64 = 32;
/// Body bytes any SPZ may declare whatever its size (16k splats at degree 3, 52k at degree 0: a
/// few tens of MB decoded), so that small synthetic scenes of near-identical splats, which
/// compress far better than real ones, still read.
const FREE_BODY_BYTES: u64 = 1 << 20;
/// The smallest zstd window a v4 frame may always ask for (what zstd's encoders use for small
/// inputs is below this); past it a frame's window may not exceed twice its stream's size, since
/// ruzstd reserves the whole window before decoding a byte.
const MIN_ZSTD_WINDOW_LIMIT: u64 = 8 << 20;
/// Bits kept for SH band 1 and for the bands above it (Niantic's and splat-transform's defaults).
const SH1_BITS: u32 = 5;
const SH_REST_BITS: u32 = 4;
/// Alpha bytes 0 and 255 would give an infinite logit; clamp as splat-transform does.
const ALPHA_EPS: f64 = 1e-6;
/// The most inflated bytes after a v2/v3 file's attributes that the reader runs through to reach
/// the gzip CRC.
const MAX_TRAILING_BYTES: u64 = 16 << 20;

const STREAM_NAMES: [&str; 6] = ["positions", "alphas", "colours", "scales", "rotations", "SH coefficients"];

/// The fields of the 16 bytes every SPZ version starts with (v4 appends 16 more).
struct Header {
    version: u32,
    count: u32,
    sh_degree: u8,
    fractional_bits: u8,
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

/// Checks the shared header fields; `versions` are those the container allows.
fn parse_header(
    h: &[u8; LEGACY_HEADER_BYTES],
    versions: std::ops::RangeInclusive<u32>,
    context: &'static str,
    file: &str,
) -> Result<Header, SpzError> {
    let word = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
    let magic = word(0);
    if magic != MAGIC {
        return Err(SpzError::BadMagic { file: file.into(), magic });
    }
    let version = word(4);
    if !versions.contains(&version) {
        return Err(SpzError::UnsupportedVersion { file: file.into(), version, context });
    }
    let count = word(8);
    if u64::from(count) > MAX_FILE_SPLATS {
        return Err(SpzError::TooMany { file: file.into(), count: count.into() });
    }
    let sh_degree = h[12];
    if sh_degree > 3 {
        return Err(SpzError::ShDegree { file: file.into(), degree: sh_degree });
    }
    Ok(Header { version, count, sh_degree, fractional_bits: h[13] })
}

/// Bytes of each attribute block, in file order (positions, alphas, colours, scales, rotations,
/// SH), or None on overflow (impossible below MAX_FILE_SPLATS, checked anyway).
fn attribute_sizes(h: &Header) -> Option<[u64; 6]> {
    let n = u64::from(h.count);
    let rotation_bytes = if h.version == 2 { 3 } else { 4 };
    let sh_bytes = (sh_coeffs_for_degree(h.sh_degree.into()) as u64 - 1) * 3;
    Some([n.checked_mul(9)?, n, n.checked_mul(3)?, n.checked_mul(3)?, n.checked_mul(rotation_bytes)?, n.checked_mul(sh_bytes)?])
}

/// The attribute block sizes, once the body they add up to is known to be one a file of
/// `file_bytes` can hold (see [`MAX_COMPRESSION_RATIO`]): checked from the header, before
/// anything past it is decompressed or allocated.
fn paid_sizes(h: &Header, file_bytes: usize, file: &str) -> Result<[u64; 6], SpzError> {
    let too_many = || SpzError::TooMany { file: file.into(), count: h.count.into() };
    let sizes = attribute_sizes(h).ok_or_else(too_many)?;
    let body: u64 = sizes.iter().sum();
    let limit = max_body_bytes(file_bytes as u64);
    if body > limit {
        let per_splat = (body / u64::from(h.count.max(1))).max(1);
        return Err(SpzError::CountExceedsFile {
            file: file.into(),
            count: h.count.into(),
            degree: h.sh_degree,
            body,
            file_bytes: file_bytes as u64,
            max_count: limit / per_splat,
        });
    }
    Ok(sizes)
}

/// The most body bytes a file of `file_bytes` may declare.
fn max_body_bytes(file_bytes: u64) -> u64 {
    file_bytes.saturating_mul(MAX_COMPRESSION_RATIO).saturating_add(FREE_BODY_BYTES)
}

/// Reads exactly `expected` bytes from a decompressor, never more: a stream that ends early is
/// [`SpzError::Truncated`], one that fails to decode is [`SpzError::Corrupt`].
fn read_exactly(reader: impl Read, expected: u64, what: &'static str, file: &str) -> Result<Vec<u8>, SpzError> {
    // `expected` is paid for (checked against the file's size), so reserving it is safe, and
    // spares read_to_end's doubling (up to twice the data, and a copy).
    let mut out = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
    match reader.take(expected).read_to_end(&mut out) {
        Ok(_) => {}
        // A stream cut short mid-block: what came out so far is in `out`.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
        Err(e) => return Err(SpzError::Corrupt { file: file.into(), what, detail: e.to_string() }),
    }
    if (out.len() as u64) < expected {
        return Err(SpzError::Truncated { file: file.into(), what, expected, found: out.len() as u64 });
    }
    Ok(out)
}

/// Which container an SPZ file is: v2/v3 are one gzip stream (true), v4 starts with a plain
/// header (false).
fn is_gzip(bytes: &[u8], file: &str) -> Result<bool, SpzError> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        Ok(true)
    } else if u32_at(bytes, 0) == Some(MAGIC) {
        Ok(false)
    } else {
        Err(SpzError::NotSpz { file: file.into() })
    }
}

/// The number of Gaussians and the SH degree an SPZ file declares, from its header alone (v2/v3
/// inflate 16 bytes), refused as [`read_spz`] would refuse them: past [`MAX_FILE_SPLATS`] or
/// more than the file's size can hold. For checking a scene against limits before decoding it.
pub fn peek_spz(bytes: &[u8], file: &str) -> Result<(u64, u32), SpzError> {
    let header = match is_gzip(bytes, file)? {
        true => gzip_header(&mut GzDecoder::new(bytes), bytes.len(), file)?.0,
        false => v4_header(bytes, file)?.0,
    };
    Ok((header.count.into(), header.sh_degree.into()))
}

/// Reads splats from an SPZ file (v2 or v3 in gzip, or v4).
pub fn read_spz(bytes: &[u8], file: &str) -> Result<Splats, SpzError> {
    let splats = match is_gzip(bytes, file)? {
        true => read_gzipped(bytes, file)?,
        false => read_v4(bytes, file)?,
    };
    splats.validate().map_err(|source| SpzError::Invalid { file: file.into(), source })?;
    Ok(splats)
}

/// Inflates and checks a v2/v3 file's 16-byte header; the attribute sizes come with it.
fn gzip_header(gz: &mut GzDecoder<&[u8]>, file_bytes: usize, file: &str) -> Result<(Header, [u64; 6]), SpzError> {
    let head = read_exactly(gz, LEGACY_HEADER_BYTES as u64, "header", file)?;
    let head: [u8; LEGACY_HEADER_BYTES] =
        head.try_into().map_err(|_| SpzError::Truncated { file: file.into(), what: "header", expected: 16, found: 0 })?;
    let header = parse_header(&head, 2..=3, "in a gzip stream", file)?;
    let sizes = paid_sizes(&header, file_bytes, file)?;
    Ok((header, sizes))
}

fn read_gzipped(bytes: &[u8], file: &str) -> Result<Splats, SpzError> {
    let mut gz = GzDecoder::new(bytes);
    let (header, sizes) = gzip_header(&mut gz, bytes.len(), file)?;
    let body: u64 = sizes.iter().sum();
    let data = read_exactly(&mut gz, body, "Gaussian data", file)?;
    // Inflating on to the stream's end checks gzip's CRC, so corrupt data that still decodes
    // is caught. Whatever follows the attributes (extensions, which we skip, or garbage, which
    // both reference readers ignore) is discarded unbuffered, and only up to MAX_TRAILING_BYTES:
    // past that the CRC goes unchecked rather than inflating without end.
    if let Err(e) = std::io::copy(&mut (&mut gz).take(MAX_TRAILING_BYTES), &mut std::io::sink()) {
        let detail = if e.kind() == std::io::ErrorKind::UnexpectedEof {
            "it ends before its 8-byte CRC trailer (the file is cut short)".into()
        } else {
            e.to_string()
        };
        return Err(SpzError::Corrupt { file: file.into(), what: "gzip stream", detail });
    }
    let mut blocks = [&[][..]; 6];
    let mut rest = data.as_slice();
    for (block, size) in blocks.iter_mut().zip(sizes) {
        // Sizes sum to data.len(), so the splits are in bounds; split_at_checked keeps it panic-free.
        let (a, b) = rest.split_at_checked(size as usize).ok_or_else(|| SpzError::Truncated {
            file: file.into(),
            what: "Gaussian data",
            expected: body,
            found: data.len() as u64,
        })?;
        *block = a;
        rest = b;
    }
    Ok(decode(&header, blocks))
}

/// Checks a v4 file's plaintext 32-byte header; the attribute sizes come with it.
fn v4_header(bytes: &[u8], file: &str) -> Result<(Header, [u64; 6]), SpzError> {
    let truncated =
        || SpzError::Truncated { file: file.into(), what: "header", expected: V4_HEADER_BYTES as u64, found: bytes.len() as u64 };
    let head: [u8; LEGACY_HEADER_BYTES] = bytes.get(..LEGACY_HEADER_BYTES).and_then(|h| h.try_into().ok()).ok_or_else(truncated)?;
    let header = parse_header(&head, 4..=4, "in a plaintext NGSP header", file)?;
    if bytes.len() < V4_HEADER_BYTES {
        return Err(truncated());
    }
    let sizes = paid_sizes(&header, bytes.len(), file)?;
    Ok((header, sizes))
}

fn read_v4(bytes: &[u8], file: &str) -> Result<Splats, SpzError> {
    let (header, sizes) = v4_header(bytes, file)?;
    let container = |problem: String| SpzError::Container { file: file.into(), problem };
    // Writers skip empty streams (no SH at degree 0, nothing at all for 0 splats).
    let expected: Vec<(usize, u64)> = sizes.iter().copied().enumerate().filter(|&(_, s)| s > 0).collect();
    let num_streams = usize::from(bytes[15]);
    if num_streams != expected.len() {
        return Err(container(format!(
            "{num_streams} attribute streams, but {} Gaussians of SH degree {} need {}",
            header.count,
            header.sh_degree,
            expected.len()
        )));
    }
    let toc = u32_at(bytes, 16).unwrap_or(0) as usize;
    if toc < V4_HEADER_BYTES {
        return Err(container(format!("the table of contents starts at byte {toc}, inside the 32-byte header")));
    }
    let toc_end = toc.checked_add(num_streams * 16).filter(|&end| end <= bytes.len());
    let Some(mut offset) = toc_end else {
        return Err(SpzError::Truncated {
            file: file.into(),
            what: "table of contents",
            expected: toc as u64 + num_streams as u64 * 16,
            found: bytes.len() as u64,
        });
    };
    let mut blocks = [&[][..]; 6];
    let mut storage: Vec<(usize, Vec<u8>)> = Vec::with_capacity(expected.len());
    for (i, &(attr, size)) in expected.iter().enumerate() {
        let entry = toc + i * 16;
        let (Some(compressed), Some(uncompressed)) = (u64_at(bytes, entry), u64_at(bytes, entry + 8)) else {
            return Err(container("the table of contents is cut short".into()));
        };
        let what = STREAM_NAMES[attr];
        if uncompressed != size {
            return Err(container(format!("the {what} stream holds {uncompressed} bytes, but {} Gaussians need {size}", header.count)));
        }
        let remaining = (bytes.len() - offset) as u64;
        if compressed > remaining {
            return Err(SpzError::Truncated { file: file.into(), what, expected: compressed, found: remaining });
        }
        let stream = &bytes[offset..offset + compressed as usize];
        offset += compressed as usize;
        storage.push((attr, unzstd(stream, size, what, file)?));
    }
    for (attr, data) in &storage {
        blocks[*attr] = data.as_slice();
    }
    Ok(decode(&header, blocks))
}

/// Decompresses zstd frames until `expected` bytes came out, and no further.
fn unzstd(mut input: &[u8], expected: u64, what: &'static str, file: &str) -> Result<Vec<u8>, SpzError> {
    let corrupt = |detail: String| SpzError::Corrupt { file: file.into(), what, detail: format!("zstd: {detail}") };
    // Paid for, as in read_exactly.
    let mut out = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
    while (out.len() as u64) < expected && !input.is_empty() {
        check_zstd_window(input, expected, what, file)?;
        let mut frame = ruzstd::decoding::StreamingDecoder::new(&mut input).map_err(|e| corrupt(e.to_string()))?;
        let before = out.len();
        (&mut frame).take(expected - out.len() as u64).read_to_end(&mut out).map_err(|e| corrupt(e.to_string()))?;
        let decoder = &frame.decoder;
        if decoder.is_finished() && decoder.can_collect() == 0 {
            if let (Some(stored), Some(computed)) = (decoder.get_checksum_from_data(), decoder.get_calculated_checksum())
                && stored != computed
            {
                return Err(corrupt("the frame's checksum does not match its content".into()));
            }
        } else if out.len() == before {
            break; // no progress: the frame is cut short
        }
    }
    if (out.len() as u64) < expected {
        return Err(SpzError::Truncated { file: file.into(), what, expected, found: out.len() as u64 });
    }
    Ok(out)
}

/// Refuses a zstd frame whose header asks for a window (which ruzstd reserves in full, up to
/// 100 MiB, before decoding) larger than a stream of `expected` bytes can use. Headers it cannot
/// parse are left for ruzstd to refuse.
fn check_zstd_window(frame: &[u8], expected: u64, what: &'static str, file: &str) -> Result<(), SpzError> {
    let limit = expected.saturating_mul(2).max(MIN_ZSTD_WINDOW_LIMIT);
    match zstd_window(frame) {
        Some(window) if window > limit => Err(SpzError::ZstdWindow { file: file.into(), what, window, limit }),
        _ => Ok(()),
    }
}

/// The window a zstd frame header declares (RFC 8878 3.1.1.1): the window descriptor's, or the
/// frame content size for single-segment frames. None when `frame` does not start with one.
fn zstd_window(frame: &[u8]) -> Option<u64> {
    const ZSTD_MAGIC: u32 = 0xFD2F_B528;
    if u32_at(frame, 0)? != ZSTD_MAGIC {
        return None;
    }
    let descriptor = *frame.get(4)?;
    if descriptor & 0x20 == 0 {
        // Window_Descriptor: exponent (top 5 bits) and mantissa (low 3) of a size from 1 KiB.
        let byte = *frame.get(5)?;
        let base = 1u64 << (10 + (byte >> 3));
        return Some(base + base / 8 * u64::from(byte & 7));
    }
    // Single segment: the window is the frame content size, after the dictionary id.
    let dict_bytes = [0, 1, 2, 4][usize::from(descriptor & 3)];
    let at = 5 + dict_bytes;
    Some(match descriptor >> 6 {
        0 => u64::from(*frame.get(at)?),
        1 => u64::from(u16::from_le_bytes(frame.get(at..at + 2)?.try_into().ok()?)) + 256,
        2 => u64::from(u32_at(frame, at)?),
        _ => u64_at(frame, at)?,
    })
}

/// Unpacks attribute blocks whose sizes match `attribute_sizes(h)`.
fn decode(h: &Header, [positions, alphas, colors, scales, rotations, sh]: [&[u8]; 6]) -> Splats {
    let n = h.count as usize;
    let rest = (sh_coeffs_for_degree(h.sh_degree.into()) - 1) * 3;
    let position_scale = 0.5f64.powi(h.fractional_bits.into());
    let mut out = Splats {
        means: Vec::with_capacity(n),
        rotations: Vec::with_capacity(n),
        log_scales: Vec::with_capacity(n),
        opacity_logits: Vec::with_capacity(n),
        sh: Vec::with_capacity(n * (rest + 3)),
        sh_degree: h.sh_degree.into(),
    };
    for p in positions.chunks_exact(9) {
        let fixed = |i: usize| {
            // Sign-extend the 24-bit value by placing it in the top of an i32.
            let v = i32::from_le_bytes([0, p[3 * i], p[3 * i + 1], p[3 * i + 2]]) >> 8;
            (f64::from(v) * position_scale) as f32
        };
        out.means.push([fixed(0), fixed(1), fixed(2)]);
    }
    for &a in alphas {
        let a = (f64::from(a) / 255.0).clamp(ALPHA_EPS, 1.0 - ALPHA_EPS);
        out.opacity_logits.push((a / (1.0 - a)).ln() as f32);
    }
    for s in scales.chunks_exact(3) {
        out.log_scales.push([0, 1, 2].map(|i| f32::from(s[i]) / 16.0 - 10.0));
    }
    if h.version == 2 {
        for r in rotations.chunks_exact(3) {
            let [x, y, z] = [0, 1, 2].map(|i| f32::from(r[i]) / 127.5 - 1.0);
            let w = (1.0 - (x * x + y * y + z * z)).max(0.0).sqrt();
            out.rotations.push([w, x, y, z]);
        }
    } else {
        for r in rotations.chunks_exact(4) {
            let xyzw = unpack_smallest_three(u32::from_le_bytes([r[0], r[1], r[2], r[3]]));
            out.rotations.push([xyzw[3], xyzw[0], xyzw[1], xyzw[2]]);
        }
    }
    // colours and SH together build each splat's [K][3] block, DC first.
    let mut sh_blocks = sh.chunks_exact(rest.max(1));
    for c in colors.chunks_exact(3) {
        out.sh.extend([0, 1, 2].map(|i| (f32::from(c[i]) / 255.0 - 0.5) / COLOR_SCALE));
        if rest > 0
            && let Some(block) = sh_blocks.next()
        {
            out.sh.extend(block.iter().map(|&b| (f32::from(b) - 128.0) / 128.0));
        }
    }
    debug_assert_eq!(out.len(), n);
    out
}

/// Decodes spz's smallest-three quaternion: bits 30..31 name the largest component (x, y, z, w
/// order), the other three follow from the high bits down as 9-bit magnitude + sign.
fn unpack_smallest_three(mut packed: u32) -> [f32; 4] {
    const MASK: u32 = (1 << 9) - 1;
    let largest = (packed >> 30) as usize;
    let mut q = [0.0f32; 4];
    let mut sum_squares = 0.0;
    for i in (0..4).rev() {
        if i != largest {
            let magnitude = std::f32::consts::FRAC_1_SQRT_2 * (packed & MASK) as f32 / MASK as f32;
            let v = if (packed >> 9) & 1 == 1 { -magnitude } else { magnitude };
            packed >>= 10;
            q[i] = v;
            sum_squares += v * v;
        }
    }
    // Clamped: a hostile file can make the three others exceed unit length.
    q[largest] = (1.0 - sum_squares).max(0.0).sqrt();
    q
}

/// The inverse of [`unpack_smallest_three`] for a normalized (x, y, z, w) quaternion.
fn pack_smallest_three(q: [f64; 4]) -> u32 {
    let mut largest = 0;
    for i in 1..4 {
        if q[i].abs() > q[largest].abs() {
            largest = i;
        }
    }
    // q and -q are the same rotation: store the one whose largest component is positive.
    let negate = q[largest] < 0.0;
    let mut packed = largest as u32;
    for (i, &v) in q.iter().enumerate() {
        if i != largest {
            let sign = u32::from((v < 0.0) != negate);
            let magnitude = ((511.0 * v.abs() / std::f64::consts::FRAC_1_SQRT_2 + 0.5) as u32).min(511);
            packed = (packed << 10) | (sign << 9) | magnitude;
        }
    }
    packed
}

/// Rounds to the nearest byte, saturating (spz's `toUint8`).
fn to_u8(x: f64) -> u8 {
    x.round().clamp(0.0, 255.0) as u8
}

/// spz's `quantizeSH`: 8 bits, then the nearest multiple of `bucket` (0 stays exact).
fn quantize_sh(x: f32, bucket: i32) -> u8 {
    let q = ((f64::from(x) * 128.0).round() + 128.0).clamp(0.0, 255.0) as i32;
    ((q + bucket / 2) / bucket * bucket).clamp(0, 255) as u8
}

/// Writes splats as SPZ version 3 (gzip). Fails on invalid splats, more than
/// [`MAX_FILE_SPLATS`], or a coordinate past ±8388607 (24-bit fixed point with 0 fraction bits).
pub fn write_spz(splats: &Splats) -> Result<Vec<u8>, SpzError> {
    splats.validate().map_err(SpzError::WriteInvalid)?;
    let n = splats.len();
    if n as u64 > MAX_FILE_SPLATS {
        return Err(SpzError::Unwritable(format!("{n} Gaussians are more than the {MAX_FILE_SPLATS} any reader here accepts")));
    }
    // The most fraction bits (up to Niantic's 12) that keep every coordinate within 24 bits.
    let max_abs = splats.means.iter().flatten().fold(0.0f64, |m, &v| m.max(f64::from(v).abs()));
    let limit = f64::from((1 << 23) - 1);
    let fractional_bits =
        (0..=MAX_WRITE_FRACTIONAL_BITS).rev().find(|&b| (max_abs * f64::from(1u32 << b)).round() <= limit).ok_or_else(|| {
            SpzError::Unwritable(format!("a position coordinate of {max_abs} is past ±8388607, the most SPZ's 24-bit fixed point holds"))
        })?;
    let scale = f64::from(1u32 << fractional_bits);

    let k = splats.coeffs_per_splat();
    let mut body = Vec::with_capacity(LEGACY_HEADER_BYTES + n * (20 + (k - 1) * 3));
    body.extend(MAGIC.to_le_bytes());
    body.extend(WRITE_VERSION.to_le_bytes());
    body.extend((n as u32).to_le_bytes());
    body.extend([splats.sh_degree as u8, fractional_bits as u8, 0, 0]);
    for m in &splats.means {
        for &v in m {
            let fixed = (f64::from(v) * scale).round() as i32;
            body.extend(&fixed.to_le_bytes()[..3]);
        }
    }
    body.extend(splats.opacity_logits.iter().map(|&o| to_u8(255.0 / (1.0 + (-f64::from(o)).exp()))));
    for dc in splats.sh.chunks_exact(k * 3) {
        body.extend(dc[..3].iter().map(|&c| to_u8(f64::from(c) * f64::from(COLOR_SCALE) * 255.0 + 127.5)));
    }
    body.extend(splats.log_scales.iter().flatten().map(|&s| to_u8((f64::from(s) + 10.0) * 16.0)));
    for r in &splats.rotations {
        let [w, x, y, z] = r.map(f64::from);
        let norm = (w * w + x * x + y * y + z * z).sqrt();
        body.extend(pack_smallest_three([x / norm, y / norm, z / norm, w / norm]).to_le_bytes());
    }
    if k > 1 {
        for block in splats.sh.chunks_exact(k * 3) {
            for (j, &v) in block[3..].iter().enumerate() {
                let bits = if j < 9 { SH1_BITS } else { SH_REST_BITS };
                body.push(quantize_sh(v, 1 << (8 - bits)));
            }
        }
    }
    let mut gz = GzEncoder::new(Vec::with_capacity(body.len() / 2), Compression::default());
    gz.write_all(&body).and_then(|_| gz.finish()).map_err(|e| SpzError::Unwritable(format!("gzip failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix;
    use crate::scene::test_support::{normalized, rotation_error, sigmoid};

    /// Random splats inside the ranges SPZ can hold, with unnormalized rotations.
    fn random_splats(n: usize, degree: u32, seed: u64) -> Splats {
        let mut rng = SplitMix(seed);
        let k = sh_coeffs_for_degree(degree);
        let mut s = Splats { sh_degree: degree, ..Default::default() };
        for _ in 0..n {
            s.means.push([rng.signed() * 100.0, rng.signed() * 2047.0, rng.signed() * 0.01]);
            let scale = 0.1 + 3.0 * rng.next_f32();
            s.rotations.push([rng.normal() * scale, rng.normal() * scale, rng.normal() * scale, rng.normal() * scale + 0.01]);
            s.log_scales.push([0, 1, 2].map(|_| -10.0 + 15.9 * rng.next_f32()));
            s.opacity_logits.push(rng.signed() * 8.0);
            for c in 0..k * 3 {
                s.sh.push(if c < 3 { rng.signed() * 3.3 } else { rng.signed() * 0.99 });
            }
        }
        s
    }

    /// Asserts `back` is `orig` within the module doc's bounds, with `fb` fraction bits.
    fn assert_within_bounds(orig: &Splats, back: &Splats, fb: i32, rotation_bound: f32) {
        assert_eq!(back.len(), orig.len());
        assert_eq!(back.sh_degree, orig.sh_degree);
        let k = orig.coeffs_per_splat();
        let tiny = 1e-5;
        for i in 0..orig.len() {
            for a in 0..3 {
                let e = (orig.means[i][a] - back.means[i][a]).abs();
                assert!(e <= 0.5f32.powi(fb + 1) * 1.001 + 1e-6, "position {i} {a}: {e}");
                let e = (orig.log_scales[i][a] - back.log_scales[i][a]).abs();
                assert!(e <= 1.0 / 32.0 + tiny, "log-scale {i}: {e}");
            }
            let e = rotation_error(orig.rotations[i], back.rotations[i]);
            assert!(e <= rotation_bound, "rotation {i}: {e} {:?} {:?}", orig.rotations[i], back.rotations[i]);
            let e = (sigmoid(orig.opacity_logits[i]) - sigmoid(back.opacity_logits[i])).abs();
            assert!(e <= 0.5 / 255.0 + 1e-6, "opacity {i}: {e}");
            for j in 0..k * 3 {
                let e = (orig.sh[i * k * 3 + j] - back.sh[i * k * 3 + j]).abs();
                let bound = match j {
                    0..3 => 0.5 / (255.0 * COLOR_SCALE),
                    3..12 => 4.5 / 128.0,
                    _ => 8.5 / 128.0,
                };
                assert!(e <= bound + tiny, "SH {i} {j}: {e} > {bound}");
            }
        }
    }

    #[test]
    fn round_trips_within_the_documented_bounds() {
        for degree in 0..=3 {
            for (n, seed) in [(0, 1), (1, 2), (7, 3), (1000, 4)] {
                let s = random_splats(n, degree, seed + 10 * u64::from(degree));
                let bytes = write_spz(&s).unwrap();
                let back = read_spz(&bytes, "t.spz").unwrap();
                assert_within_bounds(&s, &back, 12, 2.1e-3);
                // Re-encoding decoded values changes nothing.
                let again = read_spz(&write_spz(&back).unwrap(), "t.spz").unwrap();
                for i in 0..n {
                    assert_eq!(again.means[i], back.means[i], "{i}");
                    // Near-ties may pick another largest component: the same rotation.
                    assert!(rotation_error(again.rotations[i], back.rotations[i]) <= 2.1e-3, "{i}");
                    assert_eq!(again.log_scales[i], back.log_scales[i], "{i}");
                    assert_eq!(again.opacity_logits[i], back.opacity_logits[i], "{i}");
                }
                assert!(again.sh == back.sh);
            }
        }
    }

    #[test]
    fn rotations_near_axes_and_ties_stay_within_bounds() {
        let h = std::f32::consts::FRAC_1_SQRT_2;
        let quats = [
            [1.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, -1.0],
            [h, h, 0.0, 0.0],
            [0.5, -0.5, 0.5, -0.5],
            [-h, 0.0, 0.0, h],
            [0.9999, 0.01, 0.0, 0.0],
        ];
        let mut s = random_splats(quats.len(), 0, 5);
        s.rotations = quats.to_vec();
        let back = read_spz(&write_spz(&s).unwrap(), "t.spz").unwrap();
        assert_within_bounds(&s, &back, 12, 2.1e-3);
    }

    #[test]
    fn large_scenes_trade_fraction_bits_for_range() {
        let mut s = random_splats(50, 1, 6);
        s.means[3] = [-100_000.0, 5000.0, 0.0];
        let bytes = write_spz(&s).unwrap();
        let back = read_spz(&bytes, "t.spz").unwrap();
        // 100000 needs 17 integer bits + sign: 6 fraction bits are left.
        assert_within_bounds(&s, &back, 6, 2.1e-3);
        s.means[0][1] = 9.0e6;
        let err = write_spz(&s).unwrap_err().to_string();
        assert!(err.contains("8388607"), "{err}");
    }

    #[test]
    fn values_out_of_range_saturate() {
        let mut s = random_splats(1, 1, 7);
        s.log_scales[0] = [-20.0, 9.0, 0.0];
        s.opacity_logits[0] = 40.0;
        s.sh[..6].copy_from_slice(&[10.0, -10.0, 0.0, 5.0, -5.0, 0.0]);
        let back = read_spz(&write_spz(&s).unwrap(), "t.spz").unwrap();
        assert_eq!(back.log_scales[0][..2], [-10.0, 255.0 / 16.0 - 10.0]);
        assert!(back.opacity_logits[0].is_finite() && back.opacity_logits[0] > 13.0);
        assert_eq!(back.sh[3..5], [127.0 / 128.0, -1.0]);
        back.validate().unwrap();
    }

    #[test]
    fn sh_is_coefficient_major_rgb_interleaved() {
        let mut s = random_splats(1, 1, 8);
        s.sh[3..12].copy_from_slice(&[0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.5]);
        let gz = write_spz(&s).unwrap();
        let mut raw = Vec::new();
        GzDecoder::new(&gz[..]).read_to_end(&mut raw).unwrap();
        let sh = &raw[raw.len() - 9..];
        assert_eq!(sh, [192, 128, 128, 128, 128, 128, 128, 128, 64]);
    }

    /// Test-only SPZ v4 writer: our v3 body split into zstd streams.
    fn to_v4(v3: &[u8], frames_per_stream: usize) -> Vec<u8> {
        let mut raw = Vec::new();
        GzDecoder::new(v3).read_to_end(&mut raw).unwrap();
        let head: [u8; 16] = raw[..16].try_into().unwrap();
        let sizes = attribute_sizes(&parse_header(&head, 3..=3, "", "").unwrap()).unwrap();
        let mut streams = Vec::new();
        let mut at = 16;
        for size in sizes.iter().map(|&s| s as usize).filter(|&s| s > 0) {
            let data = &raw[at..at + size];
            at += size;
            let mut z = Vec::new();
            for piece in data.chunks(data.len().div_ceil(frames_per_stream)) {
                z.extend(ruzstd::encoding::compress_to_vec(piece, ruzstd::encoding::CompressionLevel::Fastest));
            }
            streams.push((z, size));
        }
        let mut out = raw[..16].to_vec();
        out[4] = 4;
        out[15] = streams.len() as u8;
        out.extend(40u32.to_le_bytes()); // TOC after 8 bytes of (skipped) extension data
        out.extend([0u8; 12]);
        out.extend([0xee; 8]);
        for (z, size) in &streams {
            out.extend((z.len() as u64).to_le_bytes());
            out.extend((*size as u64).to_le_bytes());
        }
        for (z, _) in &streams {
            out.extend(z);
        }
        out
    }

    #[test]
    fn reads_v4_zstd_streams() {
        for degree in [0, 3] {
            for n in [0, 1, 300] {
                let s = random_splats(n, degree, 20 + n as u64);
                let v3 = write_spz(&s).unwrap();
                let expected = read_spz(&v3, "t.spz").unwrap();
                for frames in [1, 3] {
                    assert_eq!(read_spz(&to_v4(&v3, frames), "t.spz").unwrap(), expected, "degree {degree}, {n} splats");
                }
            }
        }
    }

    #[test]
    fn reads_v2_rotations() {
        let s = random_splats(20, 1, 30);
        let mut raw = Vec::new();
        GzDecoder::new(&write_spz(&s).unwrap()[..]).read_to_end(&mut raw).unwrap();
        // Rebuild as v2: rotations as x, y, z with w >= 0, 8 bits each.
        let n = s.len();
        let rot_at = 16 + n * (9 + 1 + 3 + 3);
        let mut v2 = raw[..rot_at].to_vec();
        v2[4] = 2;
        for r in &s.rotations {
            let q = normalized(*r);
            let sign = if q[0] < 0.0 { -1.0 } else { 1.0 };
            v2.extend(q[1..].iter().map(|v| to_u8(f64::from(v * sign) * 127.5 + 127.5)));
        }
        v2.extend(&raw[rot_at + n * 4..]);
        let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
        gz.write_all(&v2).unwrap();
        let back = read_spz(&gz.finish().unwrap(), "t.spz").unwrap();
        for i in 0..n {
            let e = rotation_error(s.rotations[i], back.rotations[i]);
            // v2 loses precision when w is small: 8-bit xyz, w rebuilt.
            let w = normalized(s.rotations[i])[0].abs();
            assert!(e <= 0.01 + 0.006 / w.max(0.05), "rotation {i}: {e}");
        }
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
        gz.write_all(data).unwrap();
        gz.finish().unwrap()
    }

    fn header(version: u32, count: u32, degree: u8) -> Vec<u8> {
        let mut h = MAGIC.to_le_bytes().to_vec();
        h.extend(version.to_le_bytes());
        h.extend(count.to_le_bytes());
        h.extend([degree, 12, 0, 0]);
        h
    }

    #[track_caller]
    fn read_err(bytes: &[u8]) -> String {
        let Err(err) = read_spz(bytes, "bad.spz") else { panic!("{} bad bytes read without error", bytes.len()) };
        let err = err.to_string();
        assert!(err.contains("bad.spz"), "{err}");
        err
    }

    #[test]
    fn bad_inputs_give_errors_naming_the_file() {
        let s = random_splats(200, 2, 40);
        let good = write_spz(&s).unwrap();
        let mut raw = Vec::new();
        GzDecoder::new(&good[..]).read_to_end(&mut raw).unwrap();

        assert!(read_err(b"").contains("not an SPZ"));
        assert!(read_err(b"ply\nformat").contains("not an SPZ"));
        assert!(read_err(&gzip(b"NGSX\x03\0\0\0\x01\0\0\0\0\x0c\0\0")).contains("magic"));
        assert!(read_err(&gzip(&header(1, 1, 0))).contains("version 1"));
        assert!(read_err(&gzip(&header(4, 1, 0))).contains("version 4"));
        assert!(read_err(&header(3, 1, 0)).contains("version 3"));
        assert!(read_err(&gzip(&header(3, 1, 4))).contains("SH degree 4"));
        // A huge count in a tiny file fails before anything is inflated or allocated.
        assert!(read_err(&gzip(&header(3, u32::MAX, 3))).contains("more than the 67108864"));
        assert!(read_err(&gzip(&header(3, 60_000_000, 3))).contains("decompression bomb"));
        let mut v4 = header(4, 60_000_000, 3);
        v4[15] = 6;
        v4.extend(32u32.to_le_bytes());
        v4.extend([0; 12]);
        assert!(read_err(&v4).contains("decompression bomb"));
        // Within what the file can hold but cut short: truncated.
        let mut v4 = header(4, 1000, 0);
        v4[15] = 5;
        v4.extend(32u32.to_le_bytes());
        v4.extend([0; 12]);
        assert!(read_err(&v4).contains("truncated"));

        // Inflated data cut short at several points (the gzip stream itself complete).
        for cut in [0, 5, 16, 17, 16 + 200 * 9, raw.len() - 1] {
            let err = read_err(&gzip(&raw[..cut]));
            assert!(err.contains("truncated"), "{cut}: {err}");
        }
        // The gzip file cut short.
        for cut in [1, 2, 10, 20, good.len() / 2, good.len() - 9, good.len() - 1] {
            read_err(&good[..cut]);
        }
        // Corrupt deflate data: a decode error or a failed CRC, never garbage splats.
        for at in [12, good.len() / 3, good.len() / 2, good.len() - 6] {
            let mut bad = good.clone();
            bad[at] ^= 0x55;
            read_err(&bad);
        }

        let v4 = to_v4(&good, 1);
        for cut in [3, 16, 31, 40, 60, v4.len() / 2, v4.len() - 1] {
            read_err(&v4[..cut]);
        }
        let mut bad = v4.clone();
        bad[15] = 5;
        assert!(read_err(&bad).contains("5 attribute streams"));
        let mut bad = v4.clone();
        bad[16] = 8;
        assert!(read_err(&bad).contains("table of contents"));
        let mut bad = v4.clone();
        bad[48] ^= 1; // the first stream's uncompressed size
        assert!(read_err(&bad).contains("positions stream holds"));
        for at in [80, 100, v4.len() / 2, v4.len() - 3] {
            let mut bad = v4.clone();
            bad[at] ^= 0xa5;
            read_err(&bad);
        }
    }

    /// A zstd frame of `len` zeros in RLE blocks (4 bytes per 128 KiB: zstd at its most
    /// compact, what a bomb uses).
    fn zstd_zeros(len: u64) -> Vec<u8> {
        const BLOCK: u64 = 128 << 10;
        // Magic, a descriptor with no content size and no checksum, a 128 KiB window.
        let mut out = vec![0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38];
        let mut left = len;
        loop {
            let size = left.min(BLOCK);
            left -= size;
            let last = u32::from(left == 0);
            let block_header = (size as u32) << 3 | 1 << 1 | last; // type 1: RLE
            out.extend(&block_header.to_le_bytes()[..3]);
            out.push(0);
            if left == 0 {
                return out;
            }
        }
    }

    /// An SPZ v4 file of `count` zero Gaussians of `degree` in RLE zstd streams.
    fn v4_zeros(count: u32, degree: u8) -> Vec<u8> {
        let mut out = header(4, count, degree);
        let h = parse_header(&out[..16].try_into().unwrap(), 4..=4, "", "").unwrap();
        let sizes: Vec<u64> = attribute_sizes(&h).unwrap().into_iter().filter(|&s| s > 0).collect();
        out[15] = sizes.len() as u8;
        out.extend(32u32.to_le_bytes());
        out.extend([0; 12]);
        let streams: Vec<Vec<u8>> = sizes.iter().map(|&s| zstd_zeros(s)).collect();
        for (z, &size) in streams.iter().zip(&sizes) {
            out.extend((z.len() as u64).to_le_bytes());
            out.extend(size.to_le_bytes());
        }
        streams.iter().for_each(|z| out.extend(z));
        out
    }

    /// A v3 gzip file of `count` zero Gaussians of `degree`, compressed 1000:1.
    fn gzip_zeros(count: u32, degree: u8) -> Vec<u8> {
        let h = parse_header(&header(3, count, degree).try_into().unwrap(), 3..=3, "", "").unwrap();
        let body: u64 = attribute_sizes(&h).unwrap().iter().sum();
        let mut gz = GzEncoder::new(Vec::new(), Compression::best());
        gz.write_all(&header(3, count, degree)).unwrap();
        let zeros = vec![0u8; 1 << 20];
        for start in (0..body).step_by(zeros.len()) {
            gz.write_all(&zeros[..(body - start).min(zeros.len() as u64) as usize]).unwrap();
        }
        gz.finish().unwrap()
    }

    #[test]
    fn bombs_are_refused_from_the_header() {
        // 67M splats in a 41 KB v4 file (1.3 GB of zeros), 2M in a 40 KB gzip file (40 MB).
        for (bytes, count) in [(v4_zeros(1 << 26, 0), 1u64 << 26), (gzip_zeros(2_000_000, 0), 2_000_000)] {
            assert!(bytes.len() < 64 << 10, "{}", bytes.len());
            let err = read_err(&bytes);
            assert!(err.contains(&format!("declares {count} Gaussians")) && err.contains("holds at most"), "{err}");
            let Err(SpzError::CountExceedsFile { max_count, .. }) = peek_spz(&bytes, "bad.spz") else { panic!("peek accepted a bomb") };
            // What the file can hold: 32 bytes of attributes per byte, plus 1 MiB.
            assert_eq!(max_count, (bytes.len() as u64 * MAX_COMPRESSION_RATIO + FREE_BODY_BYTES) / 20);
        }
        // Files of zeros that the free allowance covers read (a zero v3 rotation is the identity).
        assert_eq!(read_spz(&v4_zeros(1000, 3), "t.spz").unwrap().len(), 1000);
        assert_eq!(read_spz(&gzip_zeros(1000, 3), "t.spz").unwrap().len(), 1000);
    }

    #[test]
    fn a_zstd_window_past_the_stream_is_refused() {
        let mut v4 = v4_zeros(10, 0);
        // The first frame follows the 5-entry table of contents; byte 5 is its window descriptor.
        let frame = 32 + 5 * 16;
        assert_eq!(zstd_window(&v4[frame..]), Some(128 << 10));
        v4[frame + 5] = 16 << 3; // 2^26: 64 MiB
        let err = read_err(&v4);
        assert!(err.contains("67108864-byte window"), "{err}");
    }

    #[test]
    fn peek_reads_the_header_only() {
        for degree in 0..=3 {
            let s = random_splats(50, degree, 80 + u64::from(degree));
            let v3 = write_spz(&s).unwrap();
            assert_eq!(peek_spz(&v3, "t.spz").unwrap(), (50, degree));
            assert_eq!(peek_spz(&to_v4(&v3, 1), "t.spz").unwrap(), (50, degree));
            // The header is all peek needs: a file cut after it still peeks.
            assert_eq!(peek_spz(&v3[..v3.len() / 2], "t.spz").unwrap(), (50, degree));
        }
        assert!(matches!(
            peek_spz(
                b"ply
", "t.spz"
            ),
            Err(SpzError::NotSpz { .. })
        ));
    }

    #[test]
    fn random_damage_never_panics() {
        let mut rng = SplitMix(60);
        let good = write_spz(&random_splats(40, 3, 61)).unwrap();
        let v4 = to_v4(&good, 2);
        let mut raw = Vec::new();
        GzDecoder::new(&good[..]).read_to_end(&mut raw).unwrap();
        for round in 0..600 {
            // Damage the gzip file, the v4 file, or the inflated body (re-gzipped, so hostile
            // values reach the decoder: bad rotations, odd fractional bits, flags).
            let (mut bytes, regzip) = match round % 3 {
                0 => (good.clone(), false),
                1 => (v4.clone(), false),
                _ => (raw.clone(), true),
            };
            for _ in 0..1 + rng.next_u64() % 4 {
                let at = (rng.next_u64() % bytes.len() as u64) as usize;
                bytes[at] = rng.next_u64() as u8;
            }
            if rng.next_u64().is_multiple_of(4) {
                bytes.truncate((rng.next_u64() % bytes.len() as u64) as usize);
            }
            let bytes = if regzip { gzip(&bytes) } else { bytes };
            if let Ok(s) = read_spz(&bytes, "x.spz") {
                s.validate().unwrap();
            }
        }
    }

    #[test]
    fn writer_refuses_invalid_splats() {
        let mut s = random_splats(3, 0, 50);
        s.means[1][0] = f32::NAN;
        assert!(matches!(write_spz(&s), Err(SpzError::WriteInvalid(_))));
    }
}
