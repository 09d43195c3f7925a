//! Standard 3DGS `.ply` read and write (binary little-endian, the layout of the original
//! gaussian-splatting code and of every viewer that reads it).
//!
//! The file stores, per Gaussian: `x y z`, `nx ny nz` (always 0, unused), `f_dc_0..2`,
//! `f_rest_*` channel-major (all red higher-order coefficients, then green, then blue),
//! `opacity` (logit), `scale_0..2` (log) and `rot_0..3` (w, x, y, z). We convert to and from the
//! `[N][K][3]` layout of [`Splats`].
//!
//! The reader never trusts the input: every size is checked before any read or allocation (the
//! file must hold every row its header declares, so memory stays within the file's size), so a
//! malformed or hostile file gives a [`PlyError`], never a panic. [`peek_ply`] gives the count
//! and SH degree from the header with the same checks.

use super::{Splats, SplatsError, sh_coeffs_for_degree};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum PlyError {
    #[error("{file}: not a PLY file (it does not start with \"ply\")")]
    NotPly { file: String },
    #[error("{file}: malformed PLY header: {problem}")]
    Header { file: String, problem: String },
    #[error(
        "{file}: unsupported PLY format \"{format}\" (only binary_little_endian 1.0 is supported; convert ASCII or big-endian files first)"
    )]
    UnsupportedFormat { file: String, format: String },
    #[error("{file}: the PLY has no \"vertex\" element, so it holds no Gaussians")]
    NoVertexElement { file: String },
    #[error("{file}: unsupported PLY layout: {problem}")]
    UnsupportedLayout { file: String, problem: String },
    #[error("{file}: not a 3D Gaussian splatting PLY: missing vertex properties {}", .missing.join(", "))]
    MissingProperties { file: String, missing: Vec<String> },
    #[error("{file}: {count} f_rest_* properties do not match an SH degree (expected 0, 9, 24 or 45)")]
    ShCount { file: String, count: usize },
    #[error("{file}: vertex count {count} is absurd for a file of {file_bytes} bytes (corrupt header?)")]
    AbsurdCount { file: String, count: u64, file_bytes: usize },
    #[error(
        "{file}: the header declares {count} Gaussians of {stride} bytes, but the {found} bytes after it hold at most {max_count} (corrupt header?)"
    )]
    CountExceedsFile { file: String, count: u64, stride: usize, found: u64, max_count: u64 },
    #[error("{file}: truncated: {count} Gaussians need {expected} bytes of vertex data but only {found} bytes follow the header")]
    Truncated { file: String, count: u64, expected: u64, found: u64 },
    #[error("{file}: invalid Gaussians: {source}")]
    Invalid {
        file: String,
        #[source]
        source: SplatsError,
    },
}

/// Scalar property types of the PLY format, under both their old and new names.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum ScalarType {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    F32,
    F64,
}

impl ScalarType {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "char" | "int8" => Self::I8,
            "uchar" | "uint8" => Self::U8,
            "short" | "int16" => Self::I16,
            "ushort" | "uint16" => Self::U16,
            "int" | "int32" => Self::I32,
            "uint" | "uint32" => Self::U32,
            "float" | "float32" => Self::F32,
            "double" | "float64" => Self::F64,
            _ => return None,
        })
    }

    pub(super) fn size(self) -> usize {
        match self {
            Self::I8 | Self::U8 => 1,
            Self::I16 | Self::U16 => 2,
            Self::I32 | Self::U32 | Self::F32 => 4,
            Self::F64 => 8,
        }
    }
}

#[derive(Debug)]
pub(super) enum PropertyKind {
    Scalar(ScalarType),
    /// A variable-length list: its element's size can't be known without reading every row.
    List,
}

#[derive(Debug)]
pub(super) struct Property {
    pub(super) name: String,
    pub(super) kind: PropertyKind,
}

#[derive(Debug)]
pub(super) struct Element {
    pub(super) name: String,
    pub(super) count: u64,
    pub(super) properties: Vec<Property>,
}

impl Element {
    /// Bytes per row, or None when a list property makes rows variable-length.
    pub(super) fn row_size(&self) -> Option<usize> {
        self.properties
            .iter()
            .map(|p| match p.kind {
                PropertyKind::Scalar(t) => Some(t.size()),
                PropertyKind::List => None,
            })
            .sum()
    }
}

pub(super) struct Header {
    pub(super) elements: Vec<Element>,
    /// Offset of the first byte after `end_header\n`.
    pub(super) data_start: usize,
}

pub(super) fn parse_header(bytes: &[u8], file: &str) -> Result<Header, PlyError> {
    let header_err = |problem: String| PlyError::Header { file: file.to_string(), problem };
    let mut pos = 0;
    let mut next_line = || -> Option<&[u8]> {
        let rest = bytes.get(pos..)?;
        if rest.is_empty() {
            return None;
        }
        let end = rest.iter().position(|&b| b == b'\n')?;
        pos += end + 1;
        let line = &rest[..end];
        // Tolerate CRLF headers written on Windows.
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    };

    if next_line() != Some(b"ply".as_slice()) {
        return Err(PlyError::NotPly { file: file.to_string() });
    }
    let mut format_seen = false;
    let mut elements: Vec<Element> = Vec::new();
    // The current element's property names: a set, so a header of many properties is read in
    // linear time.
    let mut names = std::collections::HashSet::new();
    loop {
        let Some(raw) = next_line() else {
            return Err(header_err("no \"end_header\" line (the file is cut short or not a PLY)".into()));
        };
        let line = std::str::from_utf8(raw).map_err(|_| header_err("header contains non-text bytes".into()))?;
        let mut words = line.split_whitespace();
        match words.next() {
            None | Some("comment") | Some("obj_info") => {}
            Some("end_header") => break,
            Some("format") => {
                let format = words.next().unwrap_or("");
                let version = words.next().unwrap_or("");
                if format != "binary_little_endian" {
                    return Err(PlyError::UnsupportedFormat { file: file.to_string(), format: format.to_string() });
                }
                if version != "1.0" {
                    return Err(PlyError::UnsupportedFormat { file: file.to_string(), format: format!("{format} {version}") });
                }
                format_seen = true;
            }
            Some("element") => {
                let (Some(name), Some(count), None) = (words.next(), words.next(), words.next()) else {
                    return Err(header_err(format!("bad element line \"{line}\"")));
                };
                let count = count.parse::<u64>().map_err(|_| header_err(format!("bad element count in \"{line}\"")))?;
                elements.push(Element { name: name.to_string(), count, properties: Vec::new() });
                names.clear();
            }
            Some("property") => {
                let element = elements.last_mut().ok_or_else(|| header_err(format!("property before any element: \"{line}\"")))?;
                let words: Vec<&str> = words.collect();
                let property = match words.as_slice() {
                    ["list", count_ty, item_ty, name] => {
                        if ScalarType::parse(count_ty).is_none() || ScalarType::parse(item_ty).is_none() {
                            return Err(header_err(format!("unknown property type in \"{line}\"")));
                        }
                        Property { name: name.to_string(), kind: PropertyKind::List }
                    }
                    [ty, name] => {
                        let ty = ScalarType::parse(ty).ok_or_else(|| header_err(format!("unknown property type in \"{line}\"")))?;
                        Property { name: name.to_string(), kind: PropertyKind::Scalar(ty) }
                    }
                    _ => return Err(header_err(format!("bad property line \"{line}\""))),
                };
                if !names.insert(property.name.clone()) {
                    return Err(header_err(format!("property \"{}\" appears twice in element \"{}\"", property.name, element.name)));
                }
                element.properties.push(property);
            }
            Some(other) => return Err(header_err(format!("unknown header keyword \"{other}\""))),
        }
    }
    if !format_seen {
        return Err(header_err("no \"format\" line".into()));
    }
    Ok(Header { elements, data_start: pos })
}

/// Where one required property sits in a vertex row.
#[derive(Clone, Copy)]
struct Field {
    offset: usize,
    ty: ScalarType,
}

impl Field {
    /// The caller guarantees `row` holds the whole vertex row, so the slice is in bounds;
    /// `get` keeps even a logic error from panicking (it would read 0 instead).
    fn read(self, row: &[u8]) -> f32 {
        let Some(b) = row.get(self.offset..self.offset + self.ty.size()) else {
            return 0.0;
        };
        match self.ty {
            ScalarType::F32 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            ScalarType::F64 => f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32,
            // Integer types are refused for required fields when the header is read.
            _ => 0.0,
        }
    }
}

/// Where a standard 3DGS PLY keeps its Gaussians, from its header: checked against the file's
/// size before anything proportional to the count is allocated.
struct VertexLayout {
    count: u64,
    degree: u32,
    /// Byte offset of the first vertex row in the file, and the row's size.
    start: usize,
    stride: usize,
    /// x y z, f_dc_0..2, f_rest_*, opacity, scale_0..2, rot_0..3.
    fields: Vec<Field>,
}

/// The number of Gaussians and the SH degree of a standard 3DGS PLY, from its header, refused as
/// [`read_ply`] would refuse them (a layout it can't read, a count the file does not hold).
pub fn peek_ply(bytes: &[u8], file: &str) -> Result<(u64, u32), PlyError> {
    let layout = vertex_layout(bytes, file)?;
    Ok((layout.count, layout.degree))
}

/// Reads a standard 3DGS binary little-endian `.ply`. `file_name` is only used in errors.
pub fn read_ply(bytes: &[u8], file_name: &str) -> Result<Splats, PlyError> {
    let layout = vertex_layout(bytes, file_name)?;
    let splats = decode_rows(bytes, &layout);
    splats.validate().map_err(|source| PlyError::Invalid { file: file_name.to_string(), source })?;
    Ok(splats)
}

/// Parses the header and locates the vertex rows.
fn vertex_layout(bytes: &[u8], file: &str) -> Result<VertexLayout, PlyError> {
    let header = parse_header(bytes, file)?;
    let (vertex_offset, vertex) = find_vertex(&header, file, bytes.len())?;
    let stride = vertex
        .row_size()
        .ok_or_else(|| PlyError::UnsupportedLayout { file: file.to_string(), problem: "the vertex element has a list property".into() })?;
    let (degree, fields) = vertex_fields(vertex, file)?;
    check_size(bytes, &header, vertex, vertex_offset, stride, file)?;
    Ok(VertexLayout { count: vertex.count, degree, start: header.data_start + vertex_offset as usize, stride, fields })
}

/// The vertex element and its byte offset from the end of the header: elements before it must
/// be skipped, which needs their size.
fn find_vertex<'h>(header: &'h Header, file: &str, file_bytes: usize) -> Result<(u64, &'h Element), PlyError> {
    let mut vertex_offset: u64 = 0;
    for element in &header.elements {
        if element.name == "vertex" {
            return Ok((vertex_offset, element));
        }
        let row = element.row_size().ok_or_else(|| PlyError::UnsupportedLayout {
            file: file.to_string(),
            problem: format!("element \"{}\" comes before \"vertex\" and has a list property, so it can't be skipped", element.name),
        })?;
        vertex_offset = (row as u64)
            .checked_mul(element.count)
            .and_then(|n| n.checked_add(vertex_offset))
            .ok_or_else(|| PlyError::AbsurdCount { file: file.to_string(), count: element.count, file_bytes })?;
    }
    // Elements after the vertex (faces, edges...) are never read, so their layout doesn't matter.
    Err(PlyError::NoVertexElement { file: file.to_string() })
}

/// The SH degree and where each property [`decode_rows`] reads sits in a row.
fn vertex_fields(vertex: &Element, file: &str) -> Result<(u32, Vec<Field>), PlyError> {
    let mut offsets = std::collections::HashMap::new();
    let mut offset = 0;
    for p in &vertex.properties {
        if let PropertyKind::Scalar(ty) = p.kind {
            offsets.insert(p.name.as_str(), Field { offset, ty });
            offset += ty.size();
        }
    }
    // The SH degree follows from how many f_rest_* there are; they must be numbered 0..m.
    let rest_count = vertex.properties.iter().filter(|p| p.name.starts_with("f_rest_")).count();
    let degree = match rest_count {
        0 => 0,
        9 => 1,
        24 => 2,
        45 => 3,
        count => return Err(PlyError::ShCount { file: file.to_string(), count }),
    };
    let mut names: Vec<String> = ["x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2"].iter().map(|s| s.to_string()).collect();
    names.extend((0..rest_count).map(|i| format!("f_rest_{i}")));
    names.extend(["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"].iter().map(|s| s.to_string()));
    let missing: Vec<String> = names.iter().filter(|n| !offsets.contains_key(n.as_str())).cloned().collect();
    if !missing.is_empty() {
        return Err(PlyError::MissingProperties { file: file.to_string(), missing });
    }
    let fields: Vec<Field> = names.iter().filter_map(|n| offsets.get(n.as_str()).copied()).collect();
    if let Some((name, f)) = names.iter().zip(&fields).find(|(_, f)| !matches!(f.ty, ScalarType::F32 | ScalarType::F64)) {
        return Err(PlyError::UnsupportedLayout {
            file: file.to_string(),
            problem: format!("property \"{name}\" has an integer type ({:?}); expected float or double", f.ty),
        });
    }
    Ok((degree, fields))
}

/// What the file pays for: a PLY is not compressed, so every declared row must be there. The
/// rows are at least 56 bytes (14 required floats) and decode to at most as many bytes as they
/// take in the file (f32 in memory, f32 or f64 on disk), so memory stays within the file's size.
fn check_size(bytes: &[u8], header: &Header, vertex: &Element, vertex_offset: u64, stride: usize, file: &str) -> Result<(), PlyError> {
    let found = bytes.len().saturating_sub(header.data_start) as u64;
    let expected = (stride as u64)
        .checked_mul(vertex.count)
        .and_then(|n| n.checked_add(vertex_offset))
        .ok_or_else(|| PlyError::AbsurdCount { file: file.to_string(), count: vertex.count, file_bytes: bytes.len() })?;
    if expected <= found {
        return Ok(());
    }
    // A count that needs a hundred times the file (and over a MiB) is a corrupt header
    // rather than a cut-off download.
    if expected > found.saturating_mul(100).saturating_add(1 << 20) {
        let max_count = found.saturating_sub(vertex_offset) / stride as u64;
        return Err(PlyError::CountExceedsFile { file: file.to_string(), count: vertex.count, stride, found, max_count });
    }
    Err(PlyError::Truncated { file: file.to_string(), count: vertex.count, expected, found })
}

/// Reads the rows `layout` locates (already checked to be in `bytes`).
fn decode_rows(bytes: &[u8], layout: &VertexLayout) -> Splats {
    let (n, stride, degree) = (layout.count as usize, layout.stride, layout.degree);
    let data = bytes.get(layout.start..layout.start + n * stride).unwrap_or(&[]);
    let k = sh_coeffs_for_degree(degree);
    let rest_count = 3 * (k - 1);
    let fields = &layout.fields;
    let mut splats = Splats::with_capacity(n, degree);
    let rest_per_channel = k - 1;
    let [x, y, z, dc0, dc1, dc2] = [0, 1, 2, 3, 4, 5].map(|i| fields[i]);
    let tail = &fields[6 + rest_count..];
    let rest = &fields[6..6 + rest_count];
    for (row, sh) in data.chunks_exact(stride).zip(splats.sh.chunks_exact_mut(k * 3)) {
        splats.means.push([x.read(row), y.read(row), z.read(row)]);
        sh[..3].copy_from_slice(&[dc0.read(row), dc1.read(row), dc2.read(row)]);
        // f_rest_j is channel j / (K-1), coefficient 1 + j % (K-1).
        for (j, f) in rest.iter().enumerate() {
            let (channel, coeff) = (j / rest_per_channel, 1 + j % rest_per_channel);
            sh[coeff * 3 + channel] = f.read(row);
        }
        splats.opacity_logits.push(tail[0].read(row));
        splats.log_scales.push([tail[1].read(row), tail[2].read(row), tail[3].read(row)]);
        splats.rotations.push([tail[4].read(row), tail[5].read(row), tail[6].read(row), tail[7].read(row)]);
    }
    splats
}

/// Writes `splats` as a standard 3DGS binary little-endian `.ply` (the exact property layout
/// of the original code, normals written as 0). The splats should pass [`Splats::validate`];
/// arrays of inconsistent length are written up to the shortest.
pub fn write_ply(splats: &Splats) -> Vec<u8> {
    let k = splats.coeffs_per_splat();
    let rest_count = 3 * (k - 1);
    let n = [splats.means.len(), splats.rotations.len(), splats.log_scales.len(), splats.opacity_logits.len(), splats.sh.len() / (k * 3)]
        .into_iter()
        .min()
        .unwrap_or(0);

    let mut header = format!("ply\nformat binary_little_endian 1.0\nelement vertex {n}\n");
    let mut names: Vec<String> = ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"].iter().map(|s| s.to_string()).collect();
    names.extend((0..rest_count).map(|i| format!("f_rest_{i}")));
    names.extend(["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"].iter().map(|s| s.to_string()));
    for name in &names {
        header.push_str("property float ");
        header.push_str(name);
        header.push('\n');
    }
    header.push_str("end_header\n");

    let mut out = Vec::with_capacity(header.len() + n * names.len() * 4);
    out.extend_from_slice(header.as_bytes());
    let mut push = |v: f32| out.extend_from_slice(&v.to_le_bytes());
    for i in 0..n {
        splats.means[i].iter().for_each(|&v| push(v));
        (0..3).for_each(|_| push(0.0));
        let sh = &splats.sh[i * k * 3..(i + 1) * k * 3];
        (0..3).for_each(|c| push(sh[c]));
        for c in 0..3 {
            (1..k).for_each(|coeff| push(sh[coeff * 3 + c]));
        }
        push(splats.opacity_logits[i]);
        splats.log_scales[i].iter().for_each(|&v| push(v));
        splats.rotations[i].iter().for_each(|&v| push(v));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic scene; values are distinct so layout mix-ups show.
    fn sample(n: usize, degree: u32) -> Splats {
        let k = sh_coeffs_for_degree(degree);
        let v = |i: usize, j: usize| (i * 31 + j * 7) as f32 * 0.01 - 1.0;
        Splats {
            means: (0..n).map(|i| [v(i, 0), v(i, 1), v(i, 2)]).collect(),
            rotations: (0..n).map(|i| [1.0, v(i, 3), v(i, 4), v(i, 5)]).collect(),
            log_scales: (0..n).map(|i| [v(i, 6), v(i, 7), v(i, 8)]).collect(),
            opacity_logits: (0..n).map(|i| v(i, 9)).collect(),
            sh: (0..n * k * 3).map(|j| j as f32 * 0.001).collect(),
            sh_degree: degree,
        }
    }

    #[test]
    fn round_trips_every_degree() {
        for degree in 0..=3 {
            let s = sample(7, degree);
            let bytes = write_ply(&s);
            let back = read_ply(&bytes, "t.ply").unwrap();
            assert_eq!(back, s, "degree {degree}");
            assert_eq!(write_ply(&back), bytes);
        }
    }

    #[test]
    fn f_rest_is_channel_major() {
        let s = sample(1, 1);
        let bytes = write_ply(&s);
        let header_len = bytes.windows(11).position(|w| w == b"end_header\n").unwrap() + 11;
        let floats: Vec<f32> = bytes[header_len..].chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect();
        // x y z nx ny nz dc0 dc1 dc2, then f_rest_0 = red coefficient 1, f_rest_3 = green coefficient 1.
        assert_eq!(floats[6..9], s.sh[0..3]);
        assert_eq!(floats[9], s.sh[3]);
        assert_eq!(floats[10], s.sh[6]);
        assert_eq!(floats[12], s.sh[4]);
        assert_eq!(floats[15], s.sh[5]);
    }

    #[test]
    fn reads_doubles_extra_properties_and_trailing_elements() {
        // A hand-made header: doubles, a property order of its own, an extra uchar and a face list.
        let mut names = vec!["rot_0", "rot_1", "rot_2", "rot_3", "x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity"];
        names.extend(["scale_0", "scale_1", "scale_2"]);
        let mut bytes = b"ply\r\nformat binary_little_endian 1.0\r\ncomment made by hand\r\nelement vertex 2\r\n".to_vec();
        for name in &names {
            bytes.extend_from_slice(format!("property double {name}\r\n").as_bytes());
        }
        bytes.extend_from_slice(b"property uchar red\r\nelement face 1\r\nproperty list uchar int vertex_indices\r\nend_header\r\n");
        for i in 0..2 {
            for (j, _) in names.iter().enumerate() {
                bytes.extend_from_slice(&((i * 100 + j) as f64 + 0.5).to_le_bytes());
            }
            bytes.push(255);
        }
        let s = read_ply(&bytes, "hand.ply").unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s.sh_degree, 0);
        assert_eq!(s.rotations[1], [100.5, 101.5, 102.5, 103.5]);
        assert_eq!(s.means[0], [4.5, 5.5, 6.5]);
        assert_eq!(s.sh[3..6], [107.5, 108.5, 109.5]);
        assert_eq!(s.opacity_logits[1], 110.5);
        assert_eq!(s.log_scales[0], [11.5, 12.5, 13.5]);
    }

    #[test]
    fn errors_name_the_file_and_the_problem() {
        let good = write_ply(&sample(3, 1));
        let text = |b: &[u8]| read_ply(b, "scene.ply").unwrap_err().to_string();

        let missing = String::from_utf8_lossy(&good).replacen("property float opacity\n", "property float opacityy\n", 1);
        let e = text(missing.as_bytes());
        assert!(e.contains("scene.ply") && e.contains("missing") && e.contains("opacity"), "{e}");

        let e = text(&good[..good.len() - 5]);
        assert!(e.contains("scene.ply") && e.contains("truncated") && e.contains("bytes"), "{e}");

        let ascii = String::from_utf8_lossy(&good).replacen("binary_little_endian", "ascii", 1);
        let e = text(ascii.as_bytes());
        assert!(e.contains("scene.ply") && e.contains("unsupported PLY format \"ascii\""), "{e}");

        let mut nan = good.clone();
        let at = nan.len() - 4;
        nan[at..].copy_from_slice(&f32::NAN.to_le_bytes());
        let e = text(&nan);
        assert!(e.contains("scene.ply") && e.contains("splat 2") && e.contains("rotation"), "{e}");

        let odd = String::from_utf8_lossy(&good).replacen("property float f_rest_8\n", "", 1);
        assert!(text(odd.as_bytes()).contains("8 f_rest_*"));

        let huge = String::from_utf8_lossy(&good).replacen("element vertex 3", "element vertex 99999999999", 1);
        let e = text(huge.as_bytes());
        assert!(e.contains("declares 99999999999 Gaussians") && e.contains("hold at most"), "{e}");

        assert!(text(b"").contains("not a PLY"));
        assert!(text(b"ply\nformat binary_little_endian 1.0\n").contains("end_header"));
    }

    #[test]
    fn peek_reads_the_header_and_refuses_what_the_file_does_not_hold() {
        for degree in 0..=3 {
            assert_eq!(peek_ply(&write_ply(&sample(4, degree)), "t.ply").unwrap(), (4, degree));
        }
        // 67M splats declared in a file of one row: refused from the header, naming the file.
        let mut bomb = write_ply(&sample(1, 3));
        let at = bomb.windows(17).position(|w| w == b"element vertex 1\n").unwrap();
        bomb.splice(at..at + 17, b"element vertex 67108864\n".iter().copied());
        for err in [peek_ply(&bomb, "bomb.ply").unwrap_err(), read_ply(&bomb, "bomb.ply").unwrap_err()] {
            assert!(matches!(err, PlyError::CountExceedsFile { count: 67108864, max_count: 1, .. }), "{err}");
            assert!(err.to_string().starts_with("bomb.ply: the header declares 67108864 Gaussians of 248 bytes"), "{err}");
        }
    }

    #[test]
    fn a_header_of_many_properties_reads_in_linear_time() {
        // 200k distinct property names: quadratic duplicate checks would take minutes.
        let mut header = String::from("ply\nformat binary_little_endian 1.0\nelement extra 0\n");
        for i in 0..200_000 {
            header.push_str(&format!("property float p{i}\n"));
        }
        header.push_str("end_header\n");
        let err = read_ply(header.as_bytes(), "wide.ply").unwrap_err().to_string();
        assert!(err.contains("no \"vertex\" element"), "{err}");
    }

    #[test]
    fn never_panics_on_garbage_or_truncation() {
        let good = write_ply(&sample(5, 2));
        // Every truncation must fail: nothing short of the full vertex data is a valid file.
        for len in 0..good.len() {
            assert!(read_ply(&good[..len], "cut.ply").is_err(), "truncated at {len} was accepted");
        }
        // xorshift64: deterministic garbage without a `rand` dependency.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..2000 {
            let len = (next() % 600) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if round % 2 == 0 {
                // Start like a PLY so the fuzz reaches deeper into the header parser.
                bytes.splice(0..0, b"ply\nformat binary_little_endian 1.0\nelement vertex 3\n".iter().copied());
            }
            assert!(read_ply(&bytes, "noise.ply").is_err());
            // Flip a few bytes of the valid file: may parse or not, but must not panic.
            let mut flipped = good.clone();
            for _ in 0..3 {
                let at = (next() as usize) % flipped.len();
                flipped[at] = next() as u8;
            }
            let _ = read_ply(&flipped, "flipped.ply");
        }
    }
}
