//! PlayCanvas's compressed PLY (`.compressed.ply`, read by the PlayCanvas engine, SuperSplat and
//! splat-transform): Gaussians in chunks of 256, each attribute quantized to its chunk's bounds.
//!
//! # Layout
//!
//! A binary little-endian PLY with these elements, in this order:
//!
//! * `chunk`, ceil(N / 256) rows of `float`: `min_x min_y min_z max_x max_y max_z`,
//!   `min_scale_x min_scale_y min_scale_z max_scale_x max_scale_y max_scale_z` and, in newer
//!   files, `min_r min_g min_b max_r max_g max_b`. Chunk `c` holds splats `256c..256c+255`.
//! * `vertex`, N rows of four `uint`:
//!   * `packed_position`: x, y, z as unorms of 11, 10 and 11 bits (bits 21..31, 11..20, 0..10)
//!     between the chunk's min and max;
//!   * `packed_rotation`: the quaternion (w, x, y, z) = (rot_0..rot_3) normalized and negated if
//!     its largest-magnitude component is negative; bits 30..31 hold that component's index and
//!     bits 20..29, 10..19, 0..9 the other three in order, each as a 10-bit unorm of
//!     `v * sqrt(2)/2 + 0.5` (they lie in [-1/sqrt 2, 1/sqrt 2]); the reader rebuilds the
//!     largest as `sqrt(1 - a² - b² - c²)`;
//!   * `packed_scale`: log scales as 11/10/11-bit unorms between the chunk's scale bounds, which
//!     are clamped to [-20, 20];
//!   * `packed_color`: bits 24..31, 16..23, 8..15: `0.5 + SH_C0 * f_dc` per channel as 8-bit
//!     unorms between the chunk's colour bounds (or of the colour itself in files without
//!     them); bits 0..7: `sigmoid(opacity)` as an 8-bit unorm.
//! * `sh` (only for SH degree 1..3), N rows of 9, 24 or 45 `uchar` `f_rest_*`, channel-major
//!   like the standard PLY (all red higher coefficients, then green, then blue), each
//!   `clamp(trunc((v / 8 + 0.5) * 256), 0, 255)`; read back as `(q + 0.5) / 256` (0 and 255 as
//!   exactly 0 and 1), times 8, minus 4.
//!
//! A unorm of `b` bits is `clamp(floor(t * (2^b - 1) + 0.5), 0, 2^b - 1)` of `t = (v - min) /
//! (max - min)`, with `t = 0` when the range is under 1e-5. The writer follows splat-transform
//! 3.10.2 exactly (same arithmetic, same order): splats are sorted in Morton order of their
//! positions (recursively refined for buckets of more than 256 equal codes) before chunking, so
//! each chunk is spatially compact and its bounds tight. Our output matches splat-transform's
//! byte for byte after the header comment (checked on SH degrees 0 to 3, up to 100k splats),
//! and our reader decodes exactly as splat-transform's does, bar the opacity rule below.
//!
//! # Worst-case round-trip error
//!
//! Per attribute, where the range is the chunk's max minus min of that value over its
//! (at most) 256 splats, ignoring f32 rounding of the decoded value (about 1e-7 relative):
//!
//! | attribute | bound |
//! |---|---|
//! | position x, z | range / 4094 (11 bits: half a step of range / 2047) |
//! | position y | range / 2046 (10 bits) |
//! | log scale x, z | range / 4094, after clamping the value to [-20, 20] |
//! | log scale y | range / 2046, after clamping the value to [-20, 20] |
//! | rotation | 5e-3 rad (0.29°) between the input rotation and the decoded one: each of the smallest three components is off by at most sqrt(2)/2046 ≈ 6.9e-4 |
//! | opacity | 0.5/255 ≈ 0.00196 in sigmoid(opacity) (the logit's error is unbounded near 0 and 1) |
//! | DC colour | range / 510 in `0.5 + SH_C0 * f_dc`, so range / (510 * SH_C0) in f_dc |
//! | higher SH | 1/64 for -4 + 1/32 <= v < 4 - 1/32, 1/32 for -4 <= v <= 4 (the end bins decode to ±4); values beyond ±4 become ±4 |
//!
//! A range under 1e-5 is stored as a single value, so the error there is at most the range.
//! An alpha of exactly 0 or 1 has no finite logit: bytes 0 and 255 decode to the middle of their
//! bins, alpha 0.25/255 and 1 - 0.25/255 (logit ±6.93; splat-transform gives ±infinity, the
//! engine ±40), which is within the bound.
//!
//! The reader never trusts the input: every size is checked before any read or allocation (the
//! file must hold every row its header declares, so memory stays within a few times the file's
//! size), so a malformed or hostile file gives a [`CompressedPlyError`], never a panic.
//! [`peek_compressed_ply`] gives the count and SH degree from the header with the same checks.

use super::morton::morton_order;
use super::ply::{self, Element, PlyError, PropertyKind, ScalarType};
use super::{MAX_FILE_SPLATS, Splats, SplatsError, sh_coeffs_for_degree};
use thiserror::Error;

/// Splats per chunk.
const CHUNK_SIZE: usize = 256;

/// The chunk element's properties as written; the last six (colour bounds) are optional.
const CHUNK_PROPS: [&str; 18] = [
    "min_x",
    "min_y",
    "min_z",
    "max_x",
    "max_y",
    "max_z",
    "min_scale_x",
    "min_scale_y",
    "min_scale_z",
    "max_scale_x",
    "max_scale_y",
    "max_scale_z",
    "min_r",
    "min_g",
    "min_b",
    "max_r",
    "max_g",
    "max_b",
];

const VERTEX_PROPS: [&str; 4] = ["packed_position", "packed_rotation", "packed_scale", "packed_color"];

/// The SH DC constant in double precision, as the reference uses it.
const SH_C0_F64: f64 = 0.282_094_791_773_878_14;

/// What errors from the writer, which has no file, are labelled with.
const OUTPUT: &str = "compressed PLY output";

/// Headers longer than this are not sniffed as compressed (real ones are about 1 KB).
const SNIFF_LIMIT: usize = 64 * 1024;

#[derive(Debug, Error)]
pub enum CompressedPlyError {
    /// The PLY header itself is unreadable (the PLY error names the file).
    #[error("{source}")]
    Header {
        file: String,
        #[source]
        source: PlyError,
    },
    #[error("{file}: not a compressed PLY: {problem} (a standard 3DGS PLY is read by the PLY reader)")]
    NotCompressed { file: String, problem: String },
    #[error("{file}: unsupported compressed PLY layout: {problem}")]
    UnsupportedLayout { file: String, problem: String },
    #[error("{file}: compressed PLY is missing properties {}", .missing.join(", "))]
    MissingProperties { file: String, missing: Vec<String> },
    #[error("{file}: the \"sh\" element has {count} f_rest_* properties, which match no SH degree (expected 9, 24 or 45)")]
    ShCount { file: String, count: usize },
    #[error("{file}: the \"{element}\" element has {found} rows but {vertices} Gaussians need {expected}")]
    CountMismatch { file: String, element: &'static str, found: u64, expected: u64, vertices: u64 },
    #[error("{file}: {count} Gaussians is more than the {max} accepted from one file")]
    TooMany { file: String, count: u64, max: u64 },
    #[error("{file}: element counts needing {expected} bytes are absurd for a file of {file_bytes} bytes (corrupt header?)")]
    AbsurdCount { file: String, expected: u64, file_bytes: usize },
    #[error(
        "{file}: the header declares {count} Gaussians, whose chunk, vertex and sh rows need {expected} bytes, but only {found} bytes follow the header (corrupt header?)"
    )]
    CountExceedsFile { file: String, count: u64, expected: u64, found: u64 },
    #[error("{file}: truncated: the chunk, vertex and sh data need {expected} bytes but only {found} bytes follow the header")]
    Truncated { file: String, expected: u64, found: u64 },
    #[error("{file}: invalid Gaussians: {source}")]
    Invalid {
        file: String,
        #[source]
        source: SplatsError,
    },
}

/// True when `bytes` start with a PLY header in PlayCanvas's compressed layout: a `chunk`
/// element and a `vertex` element with `packed_position`. Reads at most the first 64 KiB.
pub fn is_compressed_ply(bytes: &[u8]) -> bool {
    let prefix = &bytes[..bytes.len().min(SNIFF_LIMIT)];
    let Ok(header) = ply::parse_header(prefix, "") else {
        return false;
    };
    let has = |name: &str| header.elements.iter().any(|e| e.name == name);
    has("chunk") && header.elements.iter().any(|e| e.name == "vertex" && e.properties.iter().any(|p| p.name == "packed_position"))
}

/// Where a property sits in its element's row.
#[derive(Clone, Copy)]
struct Col {
    offset: usize,
    ty: ScalarType,
}

impl Col {
    /// The caller guarantees `row` holds the whole row; `get` keeps even a logic error from
    /// panicking (it would read 0 instead).
    fn bytes<const N: usize>(self, row: &[u8]) -> [u8; N] {
        row.get(self.offset..self.offset + N).and_then(|b| <[u8; N]>::try_from(b).ok()).unwrap_or([0; N])
    }

    /// A float or double.
    fn float(self, row: &[u8]) -> f64 {
        match self.ty {
            ScalarType::F64 => f64::from_le_bytes(self.bytes(row)),
            _ => f32::from_le_bytes(self.bytes(row)) as f64,
        }
    }

    fn uint(self, row: &[u8]) -> u32 {
        u32::from_le_bytes(self.bytes(row))
    }

    fn uchar(self, row: &[u8]) -> u8 {
        self.bytes::<1>(row)[0]
    }
}

/// Finds `name` in `element`'s rows; the element has no list properties (checked first).
fn locate(element: &Element, name: &str) -> Option<Col> {
    let mut offset = 0;
    for p in &element.properties {
        let PropertyKind::Scalar(ty) = p.kind else { return None };
        if p.name == name {
            return Some(Col { offset, ty });
        }
        offset += ty.size();
    }
    None
}

/// A section of rows in the file: where it starts, the size of a row and how many there are.
#[derive(Clone, Copy)]
struct Section {
    start: usize,
    row: usize,
    rows: usize,
}

impl Section {
    /// The section's bytes; `Layout` checked that they are in the file (empty otherwise).
    fn of<'a>(&self, bytes: &'a [u8]) -> &'a [u8] {
        bytes.get(self.start..self.start + self.row * self.rows).unwrap_or(&[])
    }
}

/// The packed vertex properties, in [`VERTEX_PROPS`] order.
struct VertexCols {
    position: Col,
    rotation: Col,
    scale: Col,
    color: Col,
}

/// Where a compressed PLY keeps its Gaussians, from its header: every count is checked against
/// the others and against the file's size before anything proportional to them is allocated.
struct Layout {
    count: usize,
    degree: u32,
    /// Whether the chunks carry colour bounds (the last six of [`CHUNK_PROPS`]).
    colour_bounds: bool,
    chunk: Section,
    vertex: Section,
    sh: Option<Section>,
    chunk_cols: Vec<Col>,
    vertex_cols: VertexCols,
    rest_cols: Vec<Col>,
}

/// The number of Gaussians and the SH degree of a compressed PLY, from its header, refused as
/// [`read_compressed_ply`] would refuse them (a layout it can't read, counts that disagree or
/// that the file does not hold).
pub fn peek_compressed_ply(bytes: &[u8], file: &str) -> Result<(u64, u32), CompressedPlyError> {
    let layout = layout(bytes, file)?;
    Ok((layout.count as u64, layout.degree))
}

/// Reads PlayCanvas's compressed PLY. `file` is only used in errors.
pub fn read_compressed_ply(bytes: &[u8], file: &str) -> Result<Splats, CompressedPlyError> {
    let layout = layout(bytes, file)?;
    let splats = decode(bytes, &layout);
    splats.validate().map_err(|source| CompressedPlyError::Invalid { file: file.to_string(), source })?;
    Ok(splats)
}

/// The indices of the chunk, vertex and (optional) sh elements, or why this is no compressed PLY.
fn find_elements(header: &ply::Header, file: &str) -> Result<(usize, usize, Option<usize>), CompressedPlyError> {
    let find = |name: &str| header.elements.iter().position(|e| e.name == name);
    let (ci, vi, si) = (find("chunk"), find("vertex"), find("sh"));
    let packed = vi.is_some_and(|v| header.elements[v].properties.iter().any(|p| p.name.starts_with("packed_")));
    match (ci, vi, packed) {
        (Some(ci), Some(vi), true) => Ok((ci, vi, si)),
        _ => {
            let problem = match (ci, vi) {
                (_, None) => "it has no \"vertex\" element",
                (None, _) if !packed => "it has no \"chunk\" element and no packed_* vertex properties",
                (None, _) => "it has no \"chunk\" element",
                _ => "its vertex element has no packed_* properties",
            };
            Err(CompressedPlyError::NotCompressed { file: file.to_string(), problem: problem.into() })
        }
    }
}

/// Byte offsets (from the end of the header) of every element up to `last`, and where the last
/// one ends; every one of them needs a fixed row size.
fn element_offsets(header: &ply::Header, last: usize, file: &str, file_bytes: usize) -> Result<(Vec<u64>, u64), CompressedPlyError> {
    let mut starts = Vec::with_capacity(last + 1);
    let mut offset: u64 = 0;
    for e in &header.elements[..=last] {
        let row = e.row_size().ok_or_else(|| CompressedPlyError::UnsupportedLayout {
            file: file.to_string(),
            problem: format!("element \"{}\" has a list property", e.name),
        })?;
        starts.push(offset);
        offset = (row as u64).checked_mul(e.count).and_then(|n| n.checked_add(offset)).ok_or(CompressedPlyError::AbsurdCount {
            file: file.to_string(),
            expected: u64::MAX,
            file_bytes,
        })?;
    }
    Ok((starts, offset))
}

/// Locates and type-checks every property the reader needs: (chunk columns, colour bounds or
/// not, the packed vertex columns, the SH degree and its f_rest columns).
#[allow(clippy::type_complexity)]
fn columns(
    chunk_el: &Element,
    vertex_el: &Element,
    sh_el: Option<&Element>,
    file: &str,
) -> Result<(Vec<Col>, bool, VertexCols, u32, Vec<Col>), CompressedPlyError> {
    let layout = |problem: String| CompressedPlyError::UnsupportedLayout { file: file.to_string(), problem };
    let mut missing = Vec::new();
    let mut typed = |element: &Element, name: &str, ok: &[ScalarType], what: &str| -> Result<Option<Col>, CompressedPlyError> {
        match locate(element, name) {
            None => {
                missing.push(format!("{}.{name}", element.name));
                Ok(None)
            }
            Some(c) if ok.contains(&c.ty) => Ok(Some(c)),
            Some(c) => Err(layout(format!("property \"{name}\" has type {:?}; expected {what}", c.ty))),
        }
    };
    let floats = [ScalarType::F32, ScalarType::F64];
    let colour_bounds = CHUNK_PROPS[12..].iter().any(|name| locate(chunk_el, name).is_some());
    let chunk_count = if colour_bounds { 18 } else { 12 };
    let chunk_cols: Vec<Option<Col>> =
        CHUNK_PROPS[..chunk_count].iter().map(|name| typed(chunk_el, name, &floats, "float")).collect::<Result<_, _>>()?;
    let vertex_cols: Vec<Option<Col>> =
        VERTEX_PROPS.iter().map(|name| typed(vertex_el, name, &[ScalarType::U32], "uint")).collect::<Result<_, _>>()?;
    let rest_count = sh_el.map_or(0, |e| e.properties.iter().filter(|p| p.name.starts_with("f_rest_")).count());
    let degree = match (sh_el, rest_count) {
        (None, _) => 0,
        (Some(_), 9) => 1,
        (Some(_), 24) => 2,
        (Some(_), 45) => 3,
        (Some(_), count) => return Err(CompressedPlyError::ShCount { file: file.to_string(), count }),
    };
    let rest_cols: Vec<Option<Col>> = match sh_el {
        Some(sh_el) => {
            (0..rest_count).map(|j| typed(sh_el, &format!("f_rest_{j}"), &[ScalarType::U8], "uchar")).collect::<Result<_, _>>()?
        }
        None => Vec::new(),
    };
    if !missing.is_empty() {
        return Err(CompressedPlyError::MissingProperties { file: file.to_string(), missing });
    }
    let [position, rotation, scale, color]: [Col; 4] = match vertex_cols.into_iter().flatten().collect::<Vec<_>>().try_into() {
        Ok(cols) => cols,
        Err(_) => return Err(layout("packed vertex properties could not be located".into())),
    };
    let vertex_cols = VertexCols { position, rotation, scale, color };
    Ok((chunk_cols.into_iter().flatten().collect(), colour_bounds, vertex_cols, degree, rest_cols.into_iter().flatten().collect()))
}

/// One chunk per 256 Gaussians, one sh row per Gaussian, at most [`MAX_FILE_SPLATS`].
fn check_counts(chunk_el: &Element, vertex_el: &Element, sh_el: Option<&Element>, file: &str) -> Result<(), CompressedPlyError> {
    let n = vertex_el.count;
    if n > MAX_FILE_SPLATS {
        return Err(CompressedPlyError::TooMany { file: file.to_string(), count: n, max: MAX_FILE_SPLATS });
    }
    let expected_chunks = n.div_ceil(CHUNK_SIZE as u64);
    if chunk_el.count != expected_chunks {
        return Err(CompressedPlyError::CountMismatch {
            file: file.to_string(),
            element: "chunk",
            found: chunk_el.count,
            expected: expected_chunks,
            vertices: n,
        });
    }
    if let Some(sh_el) = sh_el
        && sh_el.count != n
    {
        return Err(CompressedPlyError::CountMismatch {
            file: file.to_string(),
            element: "sh",
            found: sh_el.count,
            expected: n,
            vertices: n,
        });
    }
    Ok(())
}

/// What the file pays for: the format is not compressed beyond its quantization, so every
/// declared row must be in the file. A Gaussian takes at least 16 bytes (its packed vertex row)
/// and decodes to at most four times its bytes (56 bytes from 16 at degree 0, 236 from 61 at
/// degree 3), so memory stays within a small multiple of the file's size.
fn check_size(count: u64, data_end: u64, bytes: &[u8], header: &ply::Header, file: &str) -> Result<(), CompressedPlyError> {
    let found = bytes.len().saturating_sub(header.data_start) as u64;
    if data_end <= found {
        return Ok(());
    }
    // A count that needs a hundred times the file (and over a MiB) is a corrupt header rather
    // than a cut-off download.
    if data_end > found.saturating_mul(100).saturating_add(1 << 20) {
        return Err(CompressedPlyError::CountExceedsFile { file: file.to_string(), count, expected: data_end, found });
    }
    Err(CompressedPlyError::Truncated { file: file.to_string(), expected: data_end, found })
}

/// Parses the header and locates everything [`decode`] reads.
fn layout(bytes: &[u8], file: &str) -> Result<Layout, CompressedPlyError> {
    let header = ply::parse_header(bytes, file).map_err(|source| CompressedPlyError::Header { file: file.to_string(), source })?;
    let (ci, vi, si) = find_elements(&header, file)?;
    let (starts, data_end) = element_offsets(&header, ci.max(vi).max(si.unwrap_or(0)), file, bytes.len())?;
    let (chunk_el, vertex_el, sh_el) = (&header.elements[ci], &header.elements[vi], si.map(|s| &header.elements[s]));
    let (chunk_cols, colour_bounds, vertex_cols, degree, rest_cols) = columns(chunk_el, vertex_el, sh_el, file)?;
    check_counts(chunk_el, vertex_el, sh_el, file)?;
    check_size(vertex_el.count, data_end, bytes, &header, file)?;
    // Counts and offsets are now known to fit the file, so the conversions below are exact.
    let section = |index: usize| {
        let e = &header.elements[index];
        Section { start: header.data_start + starts[index] as usize, row: e.row_size().unwrap_or(0), rows: e.count as usize }
    };
    Ok(Layout {
        count: vertex_el.count as usize,
        degree,
        colour_bounds,
        chunk: section(ci),
        vertex: section(vi),
        sh: si.map(section),
        chunk_cols,
        vertex_cols,
        rest_cols,
    })
}

/// Unpacks the rows `layout` locates (already checked to be in `bytes`).
fn decode(bytes: &[u8], layout: &Layout) -> Splats {
    let bounds: Vec<[f64; 18]> = layout
        .chunk
        .of(bytes)
        .chunks_exact(layout.chunk.row.max(1))
        .map(|row| {
            let mut b = [0.0; 18];
            for (v, c) in b.iter_mut().zip(&layout.chunk_cols) {
                *v = c.float(row);
            }
            b
        })
        .collect();
    let k = sh_coeffs_for_degree(layout.degree);
    let mut splats = Splats::with_capacity(layout.count, layout.degree);
    let rest_per_channel = k - 1;
    let (sh_bytes, sh_row) = layout.sh.map_or((&[][..], 0), |s| (s.of(bytes), s.row));
    let cols = &layout.vertex_cols;
    let empty: &[u8] = &[];
    for (i, (row, sh)) in layout.vertex.of(bytes).chunks_exact(layout.vertex.row.max(1)).zip(splats.sh.chunks_exact_mut(k * 3)).enumerate()
    {
        let b = bounds.get(i / CHUNK_SIZE).copied().unwrap_or([0.0; 18]);
        let p = cols.position.uint(row);
        splats.means.push([
            lerp(b[0], b[3], unpack_unorm(p >> 21, 11)) as f32,
            lerp(b[1], b[4], unpack_unorm(p >> 11, 10)) as f32,
            lerp(b[2], b[5], unpack_unorm(p, 11)) as f32,
        ]);
        splats.rotations.push(unpack_rotation(cols.rotation.uint(row)));
        let s = cols.scale.uint(row);
        splats.log_scales.push([
            lerp(b[6], b[9], unpack_unorm(s >> 21, 11)) as f32,
            lerp(b[7], b[10], unpack_unorm(s >> 11, 10)) as f32,
            lerp(b[8], b[11], unpack_unorm(s, 11)) as f32,
        ]);
        let c = cols.color.uint(row);
        splats.opacity_logits.push(alpha_byte_to_logit(c & 0xff));
        for ch in 0..3 {
            let t = unpack_unorm(c >> (24 - 8 * ch), 8);
            let colour = if layout.colour_bounds { lerp(b[12 + ch], b[15 + ch], t) } else { t };
            sh[ch] = ((colour - 0.5) / SH_C0_F64) as f32;
        }
        let srow = sh_bytes.get(i * sh_row..(i + 1) * sh_row).unwrap_or(empty);
        // f_rest_j is channel j / (K-1), coefficient 1 + j % (K-1).
        for (j, col) in layout.rest_cols.iter().enumerate() {
            let (channel, coeff) = (j / rest_per_channel, 1 + j % rest_per_channel);
            sh[coeff * 3 + channel] = unpack_sh(col.uchar(srow));
        }
    }
    splats
}

fn unpack_unorm(v: u32, bits: u32) -> f64 {
    let t = (1u32 << bits) - 1;
    (v & t) as f64 / t as f64
}

fn lerp(a: f64, b: f64, t: f64) -> f64 {
    a * (1.0 - t) + b * t
}

/// The smallest-three quaternion back to (w, x, y, z).
fn unpack_rotation(v: u32) -> [f32; 4] {
    let norm = std::f64::consts::SQRT_2;
    let a = (unpack_unorm(v >> 20, 10) - 0.5) * norm;
    let b = (unpack_unorm(v >> 10, 10) - 0.5) * norm;
    let c = (unpack_unorm(v, 10) - 0.5) * norm;
    let m = (1.0 - (a * a + b * b + c * c)).max(0.0).sqrt();
    let q = match v >> 30 {
        0 => [m, a, b, c],
        1 => [a, m, b, c],
        2 => [a, b, m, c],
        _ => [a, b, c, m],
    };
    q.map(|x| x as f32)
}

/// The opacity byte back to a logit; 0 and 255 become the middle of their bins, not ±infinity.
fn alpha_byte_to_logit(byte: u32) -> f32 {
    let alpha = match byte {
        0 => 0.25 / 255.0,
        255 => 1.0 - 0.25 / 255.0,
        b => b as f64 / 255.0,
    };
    (-(1.0 / alpha - 1.0).ln()) as f32
}

fn unpack_sh(byte: u8) -> f32 {
    let t = match byte {
        0 => 0.0,
        255 => 1.0,
        b => (b as f64 + 0.5) / 256.0,
    };
    ((t - 0.5) * 8.0) as f32
}

/// Writes `splats` as PlayCanvas compressed PLY, sorted in Morton order (see the module docs
/// for the quantization and its error). Fails on splats that don't pass [`Splats::validate`].
pub fn write_compressed_ply(splats: &Splats) -> Result<Vec<u8>, CompressedPlyError> {
    encode(splats).map(|(bytes, _)| bytes)
}

/// The file and the order it stores the splats in (`order[j]` is the input index of row `j`).
fn encode(splats: &Splats) -> Result<(Vec<u8>, Vec<u32>), CompressedPlyError> {
    splats.validate().map_err(|source| CompressedPlyError::Invalid { file: OUTPUT.into(), source })?;
    let n = splats.len();
    if n as u64 > MAX_FILE_SPLATS {
        return Err(CompressedPlyError::TooMany { file: OUTPUT.into(), count: n as u64, max: MAX_FILE_SPLATS });
    }
    let k = splats.coeffs_per_splat();
    let rest_count = 3 * (k - 1);
    let num_chunks = n.div_ceil(CHUNK_SIZE);

    let mut header = format!(
        "ply\nformat binary_little_endian 1.0\ncomment Generated by wgsplat {}\nelement chunk {num_chunks}\n",
        env!("CARGO_PKG_VERSION")
    );
    for p in CHUNK_PROPS {
        header.push_str(&format!("property float {p}\n"));
    }
    header.push_str(&format!("element vertex {n}\n"));
    for p in VERTEX_PROPS {
        header.push_str(&format!("property uint {p}\n"));
    }
    if rest_count > 0 {
        header.push_str(&format!("element sh {n}\n"));
        for j in 0..rest_count {
            header.push_str(&format!("property uchar f_rest_{j}\n"));
        }
    }
    header.push_str("end_header\n");

    let order = morton_order(&splats.means);
    let mut chunk_data = Vec::with_capacity(num_chunks * 18 * 4);
    let mut vertex_data = Vec::with_capacity(n * 16);
    let mut sh_data = Vec::with_capacity(n * rest_count);
    for chunk in order.chunks(CHUNK_SIZE) {
        let idx = |j: usize| chunk[j] as usize;
        // Colours as the reference computes them: in double precision, then stored as f32.
        let colour = |i: usize, ch: usize| (splats.sh[i * k * 3 + ch] as f64 * SH_C0_F64 + 0.5) as f32 as f64;
        let range = |f: &dyn Fn(usize) -> f64| {
            (0..chunk.len()).map(|j| f(idx(j))).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)))
        };
        let p: [(f64, f64); 3] = std::array::from_fn(|a| range(&|i| splats.means[i][a] as f64));
        let s: [(f64, f64); 3] = std::array::from_fn(|a| {
            let (lo, hi) = range(&|i| splats.log_scales[i][a] as f64);
            (lo.clamp(-20.0, 20.0), hi.clamp(-20.0, 20.0))
        });
        let c: [(f64, f64); 3] = std::array::from_fn(|ch| range(&|i| colour(i, ch)));
        let bounds = [p, s, c];
        for set in bounds {
            set.iter().for_each(|b| chunk_data.extend_from_slice(&(b.0 as f32).to_le_bytes()));
            set.iter().for_each(|b| chunk_data.extend_from_slice(&(b.1 as f32).to_le_bytes()));
        }

        for &i in chunk {
            let i = i as usize;
            let m = splats.means[i];
            let position = pack_111011(std::array::from_fn(|a| normalize(m[a] as f64, p[a])));
            let r = splats.rotations[i];
            let rotation = pack_rotation(r.map(|v| v as f64));
            let l = splats.log_scales[i];
            let scale = pack_111011(std::array::from_fn(|a| normalize(l[a] as f64, s[a])));
            let rgb: [f64; 3] = std::array::from_fn(|ch| normalize(colour(i, ch), c[ch]));
            let alpha = 1.0 / (1.0 + (-(splats.opacity_logits[i] as f64)).exp());
            let color = (pack_unorm(rgb[0], 8) << 24) | (pack_unorm(rgb[1], 8) << 16) | (pack_unorm(rgb[2], 8) << 8) | pack_unorm(alpha, 8);
            for word in [position, rotation, scale, color] {
                vertex_data.extend_from_slice(&word.to_le_bytes());
            }
            let sh = &splats.sh[i * k * 3..(i + 1) * k * 3];
            for channel in 0..3 {
                for coeff in 1..k {
                    let t = sh[coeff * 3 + channel] as f64 / 8.0 + 0.5;
                    sh_data.push((t * 256.0).trunc().clamp(0.0, 255.0) as u8);
                }
            }
        }
    }

    let mut out = Vec::with_capacity(header.len() + chunk_data.len() + vertex_data.len() + sh_data.len());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&chunk_data);
    out.extend_from_slice(&vertex_data);
    out.extend_from_slice(&sh_data);
    Ok((out, order))
}

/// `x` within `(min, max)` as 0..1 (the reference's rule: ranges under 1e-5 give 0).
fn normalize(x: f64, (min, max): (f64, f64)) -> f64 {
    if x <= min {
        0.0
    } else if x >= max {
        1.0
    } else if max - min < 0.00001 {
        0.0
    } else {
        (x - min) / (max - min)
    }
}

fn pack_unorm(value: f64, bits: u32) -> u32 {
    let t = ((1u32 << bits) - 1) as f64;
    (value * t + 0.5).floor().clamp(0.0, t) as u32
}

fn pack_111011(v: [f64; 3]) -> u32 {
    (pack_unorm(v[0], 11) << 21) | (pack_unorm(v[1], 10) << 11) | pack_unorm(v[2], 11)
}

/// (w, x, y, z) as the largest component's index and the other three at 10 bits.
fn pack_rotation(q: [f64; 4]) -> u32 {
    let len = q.iter().map(|v| v * v).sum::<f64>().sqrt();
    let mut a = if len == 0.0 { [1.0, 0.0, 0.0, 0.0] } else { q.map(|v| v * (1.0 / len)) };
    let largest = (1..4).fold(0, |best, i| if a[i].abs() > a[best].abs() { i } else { best });
    if a[largest] < 0.0 {
        a = a.map(|v| -v);
    }
    let norm = std::f64::consts::SQRT_2 * 0.5;
    (0..4).filter(|&i| i != largest).fold(largest as u32, |acc, i| (acc << 10) | pack_unorm(a[i] * norm + 0.5, 10))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix;
    use crate::scene::SH_C0;

    /// Random splats with a spread of magnitudes; a few log scales lie beyond the ±20 clamp.
    fn random_splats(n: usize, degree: u32, seed: u64) -> Splats {
        let mut rng = SplitMix(seed);
        let k = sh_coeffs_for_degree(degree);
        let mut s = Splats { sh_degree: degree, ..Default::default() };
        for i in 0..n {
            let spread = [0.01, 1.0, 30.0][i % 3];
            s.means.push([rng.signed() * spread, rng.normal() * spread, rng.signed() * 5.0 + 100.0]);
            s.rotations.push([rng.normal(), rng.normal(), rng.normal(), rng.normal()]);
            let far = if i % 97 == 5 { 25.0 } else { 0.0 };
            s.log_scales.push([rng.normal() * 2.0 - 3.0 - far, rng.normal() * 0.5 - 4.0, rng.signed() * 6.0 + far]);
            s.opacity_logits.push(rng.normal() * 3.0);
            for _ in 0..k * 3 {
                s.sh.push(rng.normal());
            }
        }
        s
    }

    /// Angle in radians between the rotations of two quaternions.
    fn angle(a: [f32; 4], b: [f32; 4]) -> f64 {
        let na = a.map(|v| v as f64);
        let nb = b.map(|v| v as f64);
        let la = na.iter().map(|v| v * v).sum::<f64>().sqrt();
        let lb = nb.iter().map(|v| v * v).sum::<f64>().sqrt();
        let dot: f64 = (0..4).map(|i| na[i] / la * nb[i] / lb).sum::<f64>();
        let diff = |sign: f64| (0..4).map(|i| (na[i] / la - sign * nb[i] / lb).powi(2)).sum::<f64>().sqrt();
        let d = diff(dot.signum());
        4.0 * (d / 2.0).asin()
    }

    fn sigmoid(x: f32) -> f64 {
        1.0 / (1.0 + (-(x as f64)).exp())
    }

    /// Asserts `got` within `bound` of `want`, allowing f32 rounding of the decoded value.
    fn near(what: &str, got: f32, want: f64, bound: f64) {
        let tol = bound * (1.0 + 1e-6) + want.abs() * 2e-7 + 1e-7;
        assert!(((got as f64) - want).abs() <= tol, "{what}: got {got}, want {want} ± {bound}");
    }

    #[test]
    fn round_trips_within_the_documented_bounds() {
        for degree in 0..=3 {
            for (t, &n) in [0usize, 1, 255, 256, 257, 1000].iter().enumerate() {
                let src = random_splats(n, degree, 1000 + 10 * degree as u64 + t as u64);
                let (bytes, order) = encode(&src).unwrap();
                assert!(is_compressed_ply(&bytes));
                let mut seen = vec![false; n];
                order.iter().for_each(|&i| seen[i as usize] = true);
                assert!(seen.iter().all(|&s| s) && order.len() == n, "order is not a permutation");
                let back = read_compressed_ply(&bytes, "rt.compressed.ply").unwrap();
                assert_eq!((back.len(), back.sh_degree), (n, degree));
                let k = sh_coeffs_for_degree(degree);
                for (c, chunk) in order.chunks(CHUNK_SIZE).enumerate() {
                    let range = |f: &dyn Fn(usize) -> f64| {
                        let vals: Vec<f64> = chunk.iter().map(|&i| f(i as usize)).collect();
                        vals.iter().cloned().fold(f64::NEG_INFINITY, f64::max) - vals.iter().cloned().fold(f64::INFINITY, f64::min)
                    };
                    let unorm = |r: f64, bits: u32| if r < 1e-5 { r } else { r / (2.0 * ((1u32 << bits) - 1) as f64) };
                    let bits = [11, 10, 11];
                    let pos_bound: [f64; 3] = std::array::from_fn(|a| unorm(range(&|i| src.means[i][a] as f64), bits[a]));
                    let clamped = |v: f32| (v as f64).clamp(-20.0, 20.0);
                    let scale_bound: [f64; 3] = std::array::from_fn(|a| unorm(range(&|i| clamped(src.log_scales[i][a])), bits[a]));
                    let colour = |i: usize, ch: usize| 0.5 + SH_C0 as f64 * src.sh[i * k * 3 + ch] as f64;
                    let colour_bound: [f64; 3] = std::array::from_fn(|ch| unorm(range(&|i| colour(i, ch)), 8));
                    for (j, &i) in chunk.iter().enumerate() {
                        let (i, o) = (i as usize, c * CHUNK_SIZE + j);
                        for a in 0..3 {
                            near("position", back.means[o][a], src.means[i][a] as f64, pos_bound[a]);
                            near("log scale", back.log_scales[o][a], clamped(src.log_scales[i][a]), scale_bound[a]);
                            let dc = 0.5 + SH_C0 as f64 * back.sh[o * k * 3 + a] as f64;
                            near("DC colour", dc as f32, colour(i, a), colour_bound[a] + 1e-6);
                        }
                        let ang = angle(back.rotations[o], src.rotations[i]);
                        assert!(ang <= 5e-3, "rotation off by {ang} rad");
                        near("opacity", sigmoid(back.opacity_logits[o]) as f32, sigmoid(src.opacity_logits[i]), 0.5 / 255.0);
                        for q in 3..k * 3 {
                            let want = src.sh[i * k * 3 + q] as f64;
                            let bound = if (-4.0 + 1.0 / 32.0..4.0 - 1.0 / 32.0).contains(&want) { 1.0 / 64.0 } else { 1.0 / 32.0 };
                            near("SH", back.sh[o * k * 3 + q], want.clamp(-4.0, 4.0), bound);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn rotation_bound_holds_for_hard_quaternions() {
        // Near-ties between components are where the rebuilt largest one is least accurate.
        let mut rng = SplitMix(99);
        let mut worst: f64 = 0.0;
        for i in 0..200_000 {
            let q: [f32; 4] = match i % 3 {
                0 => [rng.normal(), rng.normal(), rng.normal(), rng.normal()],
                1 => [0.5 + rng.signed() * 0.01, 0.5 + rng.signed() * 0.01, -0.5 + rng.signed() * 0.01, 0.5 + rng.signed() * 0.01],
                _ => [1.0, rng.signed() * 1e-3, 0.7 + rng.signed() * 1e-3, rng.signed() * 0.7],
            };
            let back = unpack_rotation(pack_rotation(q.map(|v| v as f64)));
            worst = worst.max(angle(back, q));
        }
        assert!(worst <= 5e-3, "worst rotation error {worst}");
    }

    #[test]
    fn packs_bits_as_the_reference_does() {
        // Identity: w largest (index 0), the rest at the middle code 512.
        assert_eq!(pack_rotation([1.0, 0.0, 0.0, 0.0]), (512 << 20) | (512 << 10) | 512);
        assert_eq!(pack_rotation([0.0, 0.0, -2.0, 0.0]) >> 30, 2);
        assert_eq!(pack_111011([1.0, 0.0, 1.0]), (2047 << 21) | 2047);
        assert_eq!(pack_111011([0.0, 1.0, 0.0]), 1023 << 11);
        // 512 / 1023 is just over a half: identity comes back within 1e-3 per component.
        let id = unpack_rotation((512 << 20) | (512 << 10) | 512);
        assert!(id[0] > 0.999_99 && id[1..].iter().all(|v| v.abs() < 1e-3), "{id:?}");
        assert_eq!(unpack_sh(0), -4.0);
        assert_eq!(unpack_sh(255), 4.0);
        assert!(alpha_byte_to_logit(0).is_finite() && alpha_byte_to_logit(255).is_finite());
        assert_eq!(alpha_byte_to_logit(0), -alpha_byte_to_logit(255));

        // Two splats: the header, the chunk bounds and the words sit where the format says.
        let mut s = random_splats(2, 1, 5);
        s.means = vec![[0.0, 0.0, 0.0], [2.0, 4.0, 8.0]];
        s.opacity_logits = vec![-100.0, 100.0];
        let k = 4;
        for (j, v) in s.sh.iter_mut().enumerate() {
            *v = (j % (k * 3)) as f32 * 0.25 - 1.5;
        }
        let (bytes, order) = encode(&s).unwrap();
        assert_eq!(order, [0, 1]);
        let text = String::from_utf8_lossy(&bytes);
        let header_end = text.find("end_header\n").unwrap() + 11;
        assert!(text.starts_with("ply\nformat binary_little_endian 1.0\ncomment Generated by wgsplat"));
        assert!(text[..header_end].contains("element chunk 1\nproperty float min_x\n"));
        assert!(text[..header_end].contains("property float max_b\nelement vertex 2\nproperty uint packed_position\n"));
        assert!(text[..header_end].contains("element sh 2\nproperty uchar f_rest_0\n"));
        let data = &bytes[header_end..];
        assert_eq!(data.len(), 18 * 4 + 2 * 16 + 2 * 9);
        let f = |i: usize| f32::from_le_bytes(data[i * 4..i * 4 + 4].try_into().unwrap());
        assert_eq!([f(0), f(1), f(2), f(3), f(4), f(5)], [0.0, 0.0, 0.0, 2.0, 4.0, 8.0]);
        let word = |row: usize, w: usize| u32::from_le_bytes(data[72 + row * 16 + w * 4..][..4].try_into().unwrap());
        assert_eq!(word(0, 0), 0);
        assert_eq!(word(1, 0), u32::MAX);
        assert_eq!(word(0, 3) & 0xff, 0);
        assert_eq!(word(1, 3) & 0xff, 255);
        // f_rest is channel-major: f_rest_0..2 red coefficients 1..3, f_rest_3 green coefficient 1.
        let sh = &data[72 + 32..];
        let q = |v: f32| ((v as f64 / 8.0 + 0.5) * 256.0).trunc() as u8;
        assert_eq!(sh[0], q(s.sh[3]));
        assert_eq!(sh[1], q(s.sh[6]));
        assert_eq!(sh[3], q(s.sh[4]));
        assert_eq!(sh[6], q(s.sh[5]));
        assert_eq!(sh[8], q(s.sh[11]));
    }

    #[test]
    fn morton_order_keeps_chunks_compact() {
        // A shuffled 32x32x4 grid: after sorting, every chunk of 256 is a compact block.
        let mut means: Vec<[f32; 3]> = (0..4096).map(|i| [(i % 32) as f32, ((i / 32) % 32) as f32, (i / 1024) as f32]).collect();
        let mut rng = SplitMix(3);
        for i in (1..means.len()).rev() {
            means.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
        }
        let order = morton_order(&means);
        for chunk in order.chunks(CHUNK_SIZE) {
            (0..3).for_each(|a| {
                let vals = chunk.iter().map(|&i| means[i as usize][a]);
                let extent = vals.clone().fold(f32::MIN, f32::max) - vals.fold(f32::MAX, f32::min);
                assert!(extent <= 15.0, "chunk extent {extent} on axis {a}");
            });
        }
        // Identical points are left in input order.
        assert_eq!(morton_order(&[[1.0; 3]; 300]), (0..300).collect::<Vec<u32>>());
    }

    /// Replaces the first occurrence of `from` in the header with `to`.
    fn edit(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
        let at = bytes.windows(from.len()).position(|w| w == from.as_bytes()).expect("text to edit");
        [&bytes[..at], to.as_bytes(), &bytes[at + from.len()..]].concat()
    }

    #[test]
    fn reads_files_without_colour_bounds() {
        let src = random_splats(300, 0, 8);
        let bytes = write_compressed_ply(&src).unwrap();
        let header_end = bytes.windows(11).position(|w| w == b"end_header\n").unwrap() + 11;
        let mut old = bytes[..header_end].to_vec();
        for p in &CHUNK_PROPS[12..] {
            old = edit(&old, &format!("property float {p}\n"), "");
        }
        for c in 0..2 {
            old.extend_from_slice(&bytes[header_end + c * 72..header_end + c * 72 + 48]);
        }
        old.extend_from_slice(&bytes[header_end + 144..]);
        let back = read_compressed_ply(&old, "old.compressed.ply").unwrap();
        let new = read_compressed_ply(&bytes, "new.compressed.ply").unwrap();
        assert_eq!(back.means, new.means);
        assert_eq!(back.rotations, new.rotations);
        for i in 0..300 {
            let word = u32::from_le_bytes(bytes[header_end + 144 + i * 16 + 12..][..4].try_into().unwrap());
            for ch in 0..3 {
                let t = ((word >> (24 - 8 * ch)) & 0xff) as f64 / 255.0;
                assert_eq!(back.sh[i * 3 + ch], ((t - 0.5) / SH_C0_F64) as f32);
            }
        }
        assert!(is_compressed_ply(&old));
    }

    #[test]
    fn bad_inputs_give_errors_that_name_the_file() {
        let good = write_compressed_ply(&random_splats(300, 1, 21)).unwrap();
        let text = |b: &[u8]| read_compressed_ply(b, "scene.compressed.ply").unwrap_err().to_string();
        let check = |e: String, words: &[&str]| {
            assert!(e.contains("scene.compressed.ply"), "{e}");
            for w in words {
                assert!(e.contains(w), "{e} lacks {w}");
            }
        };
        check(text(&good[..good.len() - 1]), &["truncated"]);
        check(text(&good[..good.len() / 2]), &["truncated"]);
        check(text(&good[..100]), &["end_header"]);
        check(text(b""), &["not a PLY"]);
        check(text(b"\x00\x01garbage"), &["not a PLY"]);

        let standard = ply::write_ply(&random_splats(3, 1, 2));
        check(text(&standard), &["not a compressed PLY", "chunk"]);
        assert!(!is_compressed_ply(&standard));

        check(text(&edit(&good, "element chunk 2", "element chunk 1")), &["\"chunk\" element has 1 rows", "300 Gaussians need 2"]);
        check(text(&edit(&good, "element chunk 2", "element chunk 3")), &["has 3 rows"]);
        check(text(&edit(&good, "element sh 300", "element sh 299")), &["\"sh\" element has 299 rows"]);
        check(text(&edit(&good, "property uchar f_rest_8\n", "")), &["8 f_rest_*"]);
        check(text(&edit(&good, "property uchar f_rest_8\n", "property uchar f_rest_9\n")), &["missing", "sh.f_rest_8"]);
        check(text(&edit(&good, "property uint packed_scale\n", "")), &["missing", "vertex.packed_scale"]);
        check(text(&edit(&good, "property float max_scale_y\n", "")), &["missing", "chunk.max_scale_y"]);
        check(text(&edit(&good, "property float min_g\n", "")), &["missing", "chunk.min_g"]);
        check(text(&edit(&good, "property uint packed_rotation\n", "property float packed_rotation\n")), &["packed_rotation", "uint"]);
        check(text(&edit(&good, "element vertex 300\n", "element vertex 300\nproperty list uchar int junk\n")), &["list"]);
        check(text(&edit(&good, "binary_little_endian", "ascii")), &["ascii"]);

        // Absurd counts in a tiny file: nothing is allocated for them.
        let mut tiny = b"ply\nformat binary_little_endian 1.0\nelement chunk 3906250\n".to_vec();
        CHUNK_PROPS.iter().for_each(|p| tiny.extend_from_slice(format!("property float {p}\n").as_bytes()));
        tiny.extend_from_slice(b"element vertex 1000000000\n");
        VERTEX_PROPS.iter().for_each(|p| tiny.extend_from_slice(format!("property uint {p}\n").as_bytes()));
        tiny.extend_from_slice(b"end_header\n\0\0\0\0");
        check(text(&tiny), &["more than"]);
        let tiny = edit(&edit(&tiny, "chunk 3906250", "chunk 39063"), "vertex 1000000000", "vertex 10000000");
        check(text(&tiny), &["declares 10000000 Gaussians", "only 4 bytes follow"]);
        let tiny = edit(&tiny, "chunk 39063", "chunk 99999999999999999");
        check(text(&tiny), &["chunk"]);
        let tiny = edit(&tiny, "chunk 99999999999999999", "chunk 18446744073709551615");
        check(text(&tiny), &["absurd"]);

        // Non-finite bounds decode to non-finite splats: refused by validation.
        let header_end = good.windows(11).position(|w| w == b"end_header\n").unwrap() + 11;
        let mut nan = good.clone();
        nan[header_end..header_end + 4].copy_from_slice(&f32::NAN.to_le_bytes());
        check(text(&nan), &["invalid Gaussians", "position"]);

        // The writer refuses invalid splats too.
        let mut bad = random_splats(3, 0, 1);
        bad.rotations[1] = [0.0; 4];
        let e = write_compressed_ply(&bad).unwrap_err().to_string();
        assert!(e.contains("invalid Gaussians") && e.contains("splat 1"), "{e}");
    }

    #[test]
    fn peek_reads_the_header_and_refuses_what_the_file_does_not_hold() {
        for degree in 0..=3 {
            let bytes = write_compressed_ply(&random_splats(300, degree, 30 + u64::from(degree))).unwrap();
            assert_eq!(peek_compressed_ply(&bytes, "t.compressed.ply").unwrap(), (300, degree));
        }
        // 64M splats (the most any reader takes) declared over one chunk's worth of bytes.
        let good = write_compressed_ply(&random_splats(256, 3, 40)).unwrap();
        let bomb = edit(
            &edit(&edit(&good, "element chunk 1", "element chunk 262144"), "element vertex 256", "element vertex 67108864"),
            "element sh 256",
            "element sh 67108864",
        );
        for err in
            [peek_compressed_ply(&bomb, "bomb.compressed.ply").unwrap_err(), read_compressed_ply(&bomb, "bomb.compressed.ply").unwrap_err()]
        {
            assert!(matches!(err, CompressedPlyError::CountExceedsFile { count: 67108864, .. }), "{err}");
            assert!(err.to_string().starts_with("bomb.compressed.ply: "), "{err}");
        }
    }

    #[test]
    fn sniffs_only_compressed_headers() {
        for degree in 0..=3 {
            assert!(is_compressed_ply(&write_compressed_ply(&random_splats(10, degree, 4)).unwrap()));
        }
        assert!(is_compressed_ply(&write_compressed_ply(&Splats::default()).unwrap()));
        assert!(!is_compressed_ply(&ply::write_ply(&random_splats(10, 3, 4))));
        assert!(!is_compressed_ply(b""));
        assert!(!is_compressed_ply(b"ply\n"));
        assert!(!is_compressed_ply(&[0xff; 100_000]));
        let mut long = b"ply\nformat binary_little_endian 1.0\n".to_vec();
        long.extend(std::iter::repeat_n(b'a', 1 << 20));
        assert!(!is_compressed_ply(&long));
    }

    #[test]
    fn never_panics_on_garbage_or_truncation() {
        let good = write_compressed_ply(&random_splats(260, 2, 6)).unwrap();
        for len in 0..good.len() {
            assert!(read_compressed_ply(&good[..len], "cut.ply").is_err(), "truncated at {len} was accepted");
            let _ = is_compressed_ply(&good[..len]);
        }
        let mut rng = SplitMix(77);
        for round in 0..2000 {
            let len = (rng.next_u64() % 600) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
            if round % 2 == 0 {
                bytes.splice(0..0, good[..good.len().min(400)].iter().copied());
            }
            let _ = read_compressed_ply(&bytes, "noise.ply");
            let _ = is_compressed_ply(&bytes);
            let mut flipped = good.clone();
            for _ in 0..3 {
                let at = (rng.next_u64() as usize) % flipped.len();
                flipped[at] = rng.next_u64() as u8;
            }
            let _ = read_compressed_ply(&flipped, "flipped.ply");
        }
    }
}
