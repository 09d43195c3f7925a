//! COLMAP sparse models: `cameras`, `images` and `points3D`, binary (`.bin`) or text (`.txt`).
//!
//! Binary layout (little endian), as COLMAP's `read_write_model.py` writes it:
//! - `cameras.bin`: u64 count; per camera: i32 id, i32 model id, u64 width, u64 height,
//!   f64 params[n(model)].
//! - `images.bin`: u64 count; per image: i32 id, f64 qvec[4] (w, x, y, z), f64 tvec[3],
//!   i32 camera id, NUL-terminated name, u64 n2d, n2d x (f64 x, f64 y, i64 point3D id).
//! - `points3D.bin`: u64 count; per point: u64 id, f64 xyz[3], u8 rgb[3], f64 error, u64 track
//!   length, length x (i32 image id, i32 point2D index).
//!
//! The pose (qvec, tvec) maps world to camera in OpenCV axes, which is [`Camera::world_to_camera`].
//! The readers check every length against the bytes left, so a truncated or corrupt file gives
//! an error naming the file and the record, never a panic or a huge allocation.

use super::listing::{Listing, Loaded, resolve_image, split_every};
use super::{DatasetError, FileSource, FrameInfo, LoadOptions, PointCloud, decode::probe_image};
use crate::camera::{Camera, Mat4};
use std::collections::HashMap;

/// Cameras larger than this on a side are taken as corrupt.
const MAX_IMAGE_SIDE: u64 = 1 << 16;

/// COLMAP's camera models, with their ids in `cameras.bin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CameraModel {
    SimplePinhole,
    Pinhole,
    SimpleRadial,
    Radial,
    OpenCv,
    OpenCvFisheye,
    FullOpenCv,
    Fov,
    SimpleRadialFisheye,
    RadialFisheye,
    ThinPrismFisheye,
    RadTanThinPrismFisheye,
}

const MODELS: [(CameraModel, &str, usize); 12] = [
    (CameraModel::SimplePinhole, "SIMPLE_PINHOLE", 3),
    (CameraModel::Pinhole, "PINHOLE", 4),
    (CameraModel::SimpleRadial, "SIMPLE_RADIAL", 4),
    (CameraModel::Radial, "RADIAL", 5),
    (CameraModel::OpenCv, "OPENCV", 8),
    (CameraModel::OpenCvFisheye, "OPENCV_FISHEYE", 8),
    (CameraModel::FullOpenCv, "FULL_OPENCV", 12),
    (CameraModel::Fov, "FOV", 5),
    (CameraModel::SimpleRadialFisheye, "SIMPLE_RADIAL_FISHEYE", 4),
    (CameraModel::RadialFisheye, "RADIAL_FISHEYE", 5),
    (CameraModel::ThinPrismFisheye, "THIN_PRISM_FISHEYE", 12),
    (CameraModel::RadTanThinPrismFisheye, "RAD_TAN_THIN_PRISM_FISHEYE", 16),
];

impl CameraModel {
    /// The model with this id in `cameras.bin` (its index in COLMAP's list).
    pub fn from_id(id: i32) -> Option<Self> {
        usize::try_from(id).ok().and_then(|i| MODELS.get(i)).map(|m| m.0)
    }

    pub fn from_name(name: &str) -> Option<Self> {
        MODELS.iter().find(|m| m.1 == name).map(|m| m.0)
    }

    pub fn name(self) -> &'static str {
        MODELS.iter().find(|m| m.0 == self).map_or("?", |m| m.1)
    }

    pub fn num_params(self) -> usize {
        MODELS.iter().find(|m| m.0 == self).map_or(0, |m| m.2)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ColmapCamera {
    pub id: u32,
    pub model: CameraModel,
    pub width: u64,
    pub height: u64,
    pub params: Vec<f64>,
}

impl ColmapCamera {
    /// (fx, fy, cx, cy) of a pinhole camera. SIMPLE_PINHOLE and PINHOLE always qualify;
    /// SIMPLE_RADIAL, RADIAL, OPENCV and FULL_OPENCV when every distortion coefficient is 0
    /// (or when `ignore_distortion`); fisheye and FOV models never. The error is a detail for
    /// [`DatasetError::CameraModel`] (e.g. " with lens distortion (k = 0.02)").
    pub fn pinhole(&self, ignore_distortion: bool) -> Result<[f64; 4], String> {
        let (intrinsics, distortion) = self.split_params()?;
        match distortion {
            Some(d) if !ignore_distortion => Err(format!(" with lens distortion ({d})")),
            _ => Ok(intrinsics),
        }
    }

    /// The non-zero distortion coefficients in words, if any (None for fisheye models too,
    /// which [`ColmapCamera::pinhole`] refuses anyway).
    pub fn distortion(&self) -> Option<String> {
        self.split_params().ok().and_then(|(_, d)| d)
    }

    fn split_params(&self) -> Result<([f64; 4], Option<String>), String> {
        let p = &self.params;
        if p.len() != self.model.num_params() {
            return Err(format!(" with {} parameters instead of {}", p.len(), self.model.num_params()));
        }
        let (intrinsics, distortion, names): ([f64; 4], &[f64], &[&str]) = match self.model {
            CameraModel::SimplePinhole => ([p[0], p[0], p[1], p[2]], &[], &[]),
            CameraModel::Pinhole => ([p[0], p[1], p[2], p[3]], &[], &[]),
            CameraModel::SimpleRadial => ([p[0], p[0], p[1], p[2]], &p[3..], &["k"]),
            CameraModel::Radial => ([p[0], p[0], p[1], p[2]], &p[3..], &["k1", "k2"]),
            CameraModel::OpenCv => ([p[0], p[1], p[2], p[3]], &p[4..], &["k1", "k2", "p1", "p2"]),
            CameraModel::FullOpenCv => ([p[0], p[1], p[2], p[3]], &p[4..], &["k1", "k2", "p1", "p2", "k3", "k4", "k5", "k6"]),
            _ => return Err(", a fisheye/FOV projection".into()),
        };
        let nonzero: Vec<String> = names.iter().zip(distortion).filter(|(_, v)| **v != 0.0).map(|(n, v)| format!("{n} = {v}")).collect();
        Ok((intrinsics, (!nonzero.is_empty()).then(|| nonzero.join(", "))))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ColmapImage {
    pub id: u32,
    /// World-to-camera rotation (w, x, y, z).
    pub qvec: [f64; 4],
    /// World-to-camera translation.
    pub tvec: [f64; 3],
    pub camera_id: u32,
    pub name: String,
    /// Keypoints (x, y) and the point3D id each observes (-1: none); only when asked for.
    pub points2d: Vec<([f64; 2], i64)>,
}

impl ColmapImage {
    /// The world-to-camera matrix; the error is the problem in words (non-finite or zero
    /// quaternion, non-finite translation).
    pub fn world_to_camera(&self) -> Result<Mat4, String> {
        world_to_camera(self.qvec, self.tvec)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ColmapPoint {
    pub id: u64,
    pub xyz: [f64; 3],
    pub rgb: [u8; 3],
    pub error: f64,
    /// (image id, point2D index) of each observation; only when asked for.
    pub track: Vec<(u32, u32)>,
}

/// The rotation of quaternion (w, x, y, z), normalized first, and translation `t`, as a
/// world-to-camera matrix.
pub fn world_to_camera(q: [f64; 4], t: [f64; 3]) -> Result<Mat4, String> {
    if q.iter().chain(t.iter()).any(|v| !v.is_finite()) {
        return Err(format!("non-finite quaternion {q:?} or translation {t:?}"));
    }
    let norm = q.iter().map(|v| v * v).sum::<f64>().sqrt();
    if norm < 1e-8 {
        return Err(format!("the quaternion {q:?} is zero"));
    }
    let [w, x, y, z] = q.map(|v| v / norm);
    let r = [
        [1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y - w * z), 2.0 * (x * z + w * y)],
        [2.0 * (x * y + w * z), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z - w * x)],
        [2.0 * (x * z - w * y), 2.0 * (y * z + w * x), 1.0 - 2.0 * (x * x + y * y)],
    ];
    let mut m = [[0.0f32; 4]; 4];
    for i in 0..3 {
        for j in 0..3 {
            m[i][j] = r[i][j] as f32;
        }
        m[i][3] = t[i] as f32;
    }
    m[3][3] = 1.0;
    if m.iter().flatten().any(|v| !v.is_finite()) {
        return Err(format!("the translation {t:?} overflows f32"));
    }
    Ok(m)
}

// --- binary ------------------------------------------------------------------------------------

/// A bounds-checked little-endian reader that knows which record it is in, for messages.
struct Bin<'a> {
    data: &'a [u8],
    pos: usize,
    file: &'a str,
    kind: &'static str,
    index: u64,
    count: u64,
}

impl<'a> Bin<'a> {
    fn new(data: &'a [u8], file: &'a str, kind: &'static str) -> Self {
        Self { data, pos: 0, file, kind, index: 0, count: 0 }
    }

    fn location(&self) -> String {
        if self.count == 0 { "header".into() } else { format!("{} record {} of {}", self.kind, self.index, self.count) }
    }

    fn err(&self, problem: String) -> DatasetError {
        DatasetError::Malformed { file: self.file.to_string(), location: self.location(), problem }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], DatasetError> {
        let left = self.data.len() - self.pos;
        if n > left {
            return Err(self.err(format!(
                "truncated: the {what} needs {n} bytes at offset {} but the file ends at {}",
                self.pos,
                self.data.len()
            )));
        }
        let bytes = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], DatasetError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    fn u64(&mut self, what: &str) -> Result<u64, DatasetError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    fn i64(&mut self, what: &str) -> Result<i64, DatasetError> {
        Ok(i64::from_le_bytes(self.array(what)?))
    }

    fn i32(&mut self, what: &str) -> Result<i32, DatasetError> {
        Ok(i32::from_le_bytes(self.array(what)?))
    }

    fn f64(&mut self, what: &str) -> Result<f64, DatasetError> {
        Ok(f64::from_le_bytes(self.array(what)?))
    }

    fn f64s<const N: usize>(&mut self, what: &str) -> Result<[f64; N], DatasetError> {
        let mut out = [0.0; N];
        for v in &mut out {
            *v = self.f64(what)?;
        }
        Ok(out)
    }

    /// Skips `count` items of `size` bytes, checking that they are there.
    fn skip(&mut self, count: u64, size: usize, what: &str) -> Result<(), DatasetError> {
        let left = (self.data.len() - self.pos) as u64;
        match count.checked_mul(size as u64) {
            Some(n) if n <= left => {
                self.pos += n as usize;
                Ok(())
            }
            _ => Err(self.err(format!(
                "truncated: {count} {what} need {count} x {size} bytes at offset {} but the file ends at {}",
                self.pos,
                self.data.len()
            ))),
        }
    }

    /// The record count at the start of the file, checked against the file size: each record
    /// takes at least `min_record` bytes.
    fn count(&mut self, min_record: usize) -> Result<u64, DatasetError> {
        let count = self.u64("record count")?;
        let left = (self.data.len() - self.pos) as u64;
        if count > left / min_record as u64 {
            return Err(self.err(format!(
                "the file claims {count} {}s, but its {} bytes hold at most {} (truncated or not a COLMAP {}s file)",
                self.kind,
                self.data.len(),
                left / min_record as u64,
                self.kind
            )));
        }
        self.count = count;
        Ok(count)
    }

    fn start_record(&mut self, index: u64) {
        self.index = index;
    }

    fn finish(&self) -> Result<(), DatasetError> {
        if self.pos != self.data.len() {
            return Err(DatasetError::Malformed {
                file: self.file.to_string(),
                location: "end of file".into(),
                problem: format!("{} unexpected bytes after the last of {} {}s", self.data.len() - self.pos, self.count, self.kind),
            });
        }
        Ok(())
    }
}

/// Reads `cameras.bin`; `file` names it in errors.
pub fn read_cameras_binary(bytes: &[u8], file: &str) -> Result<Vec<ColmapCamera>, DatasetError> {
    let mut r = Bin::new(bytes, file, "camera");
    let count = r.count(4 + 4 + 8 + 8 + 3 * 8)?;
    let mut cameras = Vec::with_capacity(count as usize);
    for i in 0..count {
        r.start_record(i);
        let id = r.i32("camera id")? as u32;
        let model_id = r.i32("model id")?;
        let Some(model) = CameraModel::from_id(model_id) else {
            return Err(r.err(format!("camera {id} has the unknown camera model id {model_id} (known: 0 to {})", MODELS.len() - 1)));
        };
        let width = r.u64("width")?;
        let height = r.u64("height")?;
        let mut params = Vec::with_capacity(model.num_params());
        for _ in 0..model.num_params() {
            params.push(r.f64("camera parameters")?);
        }
        cameras.push(ColmapCamera { id, model, width, height, params });
    }
    r.finish()?;
    Ok(cameras)
}

/// Reads `images.bin`; the keypoints are skipped unless `keep_points2d`.
pub fn read_images_binary(bytes: &[u8], file: &str, keep_points2d: bool) -> Result<Vec<ColmapImage>, DatasetError> {
    let mut r = Bin::new(bytes, file, "image");
    let count = r.count(4 + 7 * 8 + 4 + 1 + 8)?;
    let mut images = Vec::with_capacity(count as usize);
    for i in 0..count {
        r.start_record(i);
        let id = r.i32("image id")? as u32;
        let qvec = r.f64s::<4>("quaternion")?;
        let tvec = r.f64s::<3>("translation")?;
        let camera_id = r.i32("camera id")? as u32;
        let rest = &r.data[r.pos..];
        let Some(len) = rest.iter().position(|&b| b == 0) else {
            return Err(r.err(format!("truncated: the name of image {id} has no terminating NUL before the end of the file")));
        };
        let name = String::from_utf8_lossy(&rest[..len]).into_owned();
        r.pos += len + 1;
        let n2d = r.u64("keypoint count")?;
        let mut points2d = Vec::new();
        if keep_points2d {
            // Check the whole block first, so a bad count can't make a huge allocation.
            let start = r.pos;
            r.skip(n2d, 24, "keypoints")?;
            r.pos = start;
            points2d.reserve(n2d as usize);
            for _ in 0..n2d {
                let xy = r.f64s::<2>("keypoint")?;
                let point = r.i64("keypoint's point3D id")?;
                points2d.push((xy, point));
            }
        } else {
            r.skip(n2d, 24, "keypoints")?;
        }
        images.push(ColmapImage { id, qvec, tvec, camera_id, name, points2d });
    }
    r.finish()?;
    Ok(images)
}

/// Reads `points3D.bin`; the tracks are skipped unless `keep_tracks`.
pub fn read_points3d_binary(bytes: &[u8], file: &str, keep_tracks: bool) -> Result<Vec<ColmapPoint>, DatasetError> {
    let mut r = Bin::new(bytes, file, "point");
    let count = r.count(8 + 3 * 8 + 3 + 8 + 8)?;
    let mut points = Vec::with_capacity(count as usize);
    for i in 0..count {
        r.start_record(i);
        let id = r.u64("point id")?;
        let xyz = r.f64s::<3>("position")?;
        let rgb = r.array::<3>("colour")?;
        let error = r.f64("error")?;
        let len = r.u64("track length")?;
        let mut track = Vec::new();
        if keep_tracks {
            let start = r.pos;
            r.skip(len, 8, "track entries")?;
            r.pos = start;
            track.reserve(len as usize);
            for _ in 0..len {
                let image = r.i32("track image id")? as u32;
                let point2d = r.i32("track point2D index")? as u32;
                track.push((image, point2d));
            }
        } else {
            r.skip(len, 8, "track entries")?;
        }
        points.push(ColmapPoint { id, xyz, rgb, error, track });
    }
    r.finish()?;
    Ok(points)
}

// --- text --------------------------------------------------------------------------------------

fn text_err(file: &str, line: usize, problem: String) -> DatasetError {
    DatasetError::Malformed { file: file.to_string(), location: format!("line {line}"), problem }
}

fn text(bytes: &[u8], file: &str) -> Result<String, DatasetError> {
    String::from_utf8(bytes.to_vec()).map_err(|e| DatasetError::Malformed {
        file: file.to_string(),
        location: format!("byte {}", e.utf8_error().valid_up_to()),
        problem: "not UTF-8 text (a binary model saved as .txt?)".into(),
    })
}

/// Content lines (not empty, not `#` comments) with their 1-based line numbers.
fn content_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())).filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
}

fn field<T: std::str::FromStr>(fields: &[&str], i: usize, what: &str, file: &str, line: usize) -> Result<T, DatasetError> {
    let raw = fields.get(i).ok_or_else(|| text_err(file, line, format!("missing the {what} (field {})", i + 1)))?;
    raw.parse().map_err(|_| text_err(file, line, format!("the {what} {raw:?} is not a valid number")))
}

/// Reads `cameras.txt`: `CAMERA_ID MODEL WIDTH HEIGHT PARAMS[]` per line.
pub fn read_cameras_text(bytes: &[u8], file: &str) -> Result<Vec<ColmapCamera>, DatasetError> {
    let text = text(bytes, file)?;
    let mut cameras = Vec::new();
    for (line, content) in content_lines(&text) {
        let f: Vec<&str> = content.split_whitespace().collect();
        let id: u32 = field(&f, 0, "camera id", file, line)?;
        let model_name = f.get(1).copied().unwrap_or("");
        let Some(model) = CameraModel::from_name(model_name) else {
            return Err(text_err(file, line, format!("camera {id} has the unknown camera model {model_name:?}")));
        };
        let width = field(&f, 2, "width", file, line)?;
        let height = field(&f, 3, "height", file, line)?;
        if f.len() != 4 + model.num_params() {
            return Err(text_err(
                file,
                line,
                format!(
                    "camera {id}: the {} model takes {} parameters, the line has {}",
                    model.name(),
                    model.num_params(),
                    f.len().saturating_sub(4)
                ),
            ));
        }
        let params = (4..f.len()).map(|i| field(&f, i, "camera parameter", file, line)).collect::<Result<_, _>>()?;
        cameras.push(ColmapCamera { id, model, width, height, params });
    }
    Ok(cameras)
}

/// Reads `images.txt`: per image, `IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME`, then a line of
/// `X Y POINT3D_ID` triples (which may be empty).
pub fn read_images_text(bytes: &[u8], file: &str, keep_points2d: bool) -> Result<Vec<ColmapImage>, DatasetError> {
    let text = text(bytes, file)?;
    let lines: Vec<&str> = text.lines().collect();
    let mut images = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = i + 1;
        let content = lines[i].trim();
        i += 1;
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = content.split_whitespace().collect();
        if f.len() < 10 {
            return Err(text_err(
                file,
                line,
                format!("expected IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME (10 fields), found {} fields", f.len()),
            ));
        }
        let id: u32 = field(&f, 0, "image id", file, line)?;
        let mut qvec = [0.0; 4];
        for (k, q) in qvec.iter_mut().enumerate() {
            *q = field(&f, 1 + k, "quaternion", file, line)?;
        }
        let mut tvec = [0.0; 3];
        for (k, t) in tvec.iter_mut().enumerate() {
            *t = field(&f, 5 + k, "translation", file, line)?;
        }
        let camera_id = field(&f, 8, "camera id", file, line)?;
        let name = f[9..].join(" ");
        // The keypoints line always follows, even when empty.
        let points_line = i + 1;
        let points = lines.get(i).map_or("", |l| l.trim());
        i += 1;
        let mut points2d = Vec::new();
        let fields = points.split_whitespace().count();
        if !fields.is_multiple_of(3) {
            return Err(text_err(
                file,
                points_line,
                format!("image {id}: the keypoints line has {fields} fields, not a multiple of 3 (X Y POINT3D_ID)"),
            ));
        }
        if keep_points2d && fields > 0 {
            let p: Vec<&str> = points.split_whitespace().collect();
            for k in (0..p.len()).step_by(3) {
                let x = field(&p, k, "keypoint x", file, points_line)?;
                let y = field(&p, k + 1, "keypoint y", file, points_line)?;
                let point = field(&p, k + 2, "keypoint point3D id", file, points_line)?;
                points2d.push(([x, y], point));
            }
        }
        images.push(ColmapImage { id, qvec, tvec, camera_id, name, points2d });
    }
    Ok(images)
}

/// Reads `points3D.txt`: `POINT3D_ID X Y Z R G B ERROR TRACK[]` per line.
pub fn read_points3d_text(bytes: &[u8], file: &str, keep_tracks: bool) -> Result<Vec<ColmapPoint>, DatasetError> {
    let text = text(bytes, file)?;
    let mut points = Vec::new();
    for (line, content) in content_lines(&text) {
        let f: Vec<&str> = content.split_whitespace().collect();
        if f.len() < 8 || !(f.len() - 8).is_multiple_of(2) {
            return Err(text_err(
                file,
                line,
                format!("expected POINT3D_ID X Y Z R G B ERROR and (IMAGE_ID, POINT2D_IDX) pairs, found {} fields", f.len()),
            ));
        }
        let id = field(&f, 0, "point id", file, line)?;
        let xyz = [field(&f, 1, "x", file, line)?, field(&f, 2, "y", file, line)?, field(&f, 3, "z", file, line)?];
        let rgb = [field(&f, 4, "red", file, line)?, field(&f, 5, "green", file, line)?, field(&f, 6, "blue", file, line)?];
        let error = field(&f, 7, "error", file, line)?;
        let mut track = Vec::new();
        if keep_tracks {
            for k in (8..f.len()).step_by(2) {
                track.push((field(&f, k, "track image id", file, line)?, field(&f, k + 1, "track point2D index", file, line)?));
            }
        }
        points.push(ColmapPoint { id, xyz, rgb, error, track });
    }
    Ok(points)
}

// --- dataset -----------------------------------------------------------------------------------

/// Reads the model in `model` (`cameras`, `images`, optional `points3D`; `.bin` or `.txt`) with
/// images in `{root}images/` (or `root` itself), sorts the images by name and splits them.
pub(crate) fn load(
    source: &dyn FileSource,
    listing: &Listing,
    root: &str,
    model: &str,
    binary: bool,
    options: &LoadOptions,
) -> Result<Loaded, DatasetError> {
    let ext = if binary { "bin" } else { "txt" };
    let cameras_path = format!("{model}cameras.{ext}");
    let images_path = format!("{model}images.{ext}");
    let points_path = format!("{model}points3D.{ext}");
    let (cameras_file, images_file, points_file) =
        (source.describe(&cameras_path), source.describe(&images_path), source.describe(&points_path));

    let bytes = source.read(&cameras_path)?;
    let cameras = if binary { read_cameras_binary(&bytes, &cameras_file)? } else { read_cameras_text(&bytes, &cameras_file)? };
    let bytes = source.read(&images_path)?;
    let mut images = if binary { read_images_binary(&bytes, &images_file, false)? } else { read_images_text(&bytes, &images_file, false)? };
    drop(bytes);
    if images.is_empty() {
        return Err(DatasetError::Empty { file: images_file, problem: "no registered images".into() });
    }
    let cameras: HashMap<u32, ColmapCamera> = cameras.into_iter().map(|c| (c.id, c)).collect();

    images.sort_by(|a, b| a.name.cmp(&b.name));
    let mut warned = false;
    let mut frames = Vec::with_capacity(images.len());
    for image in &images {
        let frame = format!("image {} ({})", image.id, image.name);
        let Some(cam) = cameras.get(&image.camera_id) else {
            return Err(DatasetError::Malformed {
                file: images_file,
                location: frame,
                problem: format!("camera {} is not in {cameras_file}", image.camera_id),
            });
        };
        let [fx, fy, cx, cy] = match cam.pinhole(options.ignore_distortion) {
            Ok(intrinsics) => intrinsics,
            Err(detail) => {
                return Err(DatasetError::CameraModel { file: cameras_file, camera_id: cam.id, model: cam.model.name().into(), detail });
            }
        };
        if let Some(d) = cam.distortion()
            && !warned
        {
            log::warn!("{cameras_file}: camera {} ({}) has lens distortion ({d}); ignoring it as asked", cam.id, cam.model.name());
            warned = true;
        }
        let size_ok = |v: u64| (1..=MAX_IMAGE_SIDE).contains(&v);
        if !size_ok(cam.width) || !size_ok(cam.height) {
            return Err(DatasetError::Malformed {
                file: cameras_file,
                location: format!("camera {}", cam.id),
                problem: format!("the image size {}x{} is not between 1 and {MAX_IMAGE_SIDE}", cam.width, cam.height),
            });
        }
        let (width, height) = (cam.width as u32, cam.height as u32);
        let w2c =
            image.world_to_camera().map_err(|problem| DatasetError::Pose { file: images_file.clone(), frame: frame.clone(), problem })?;
        let camera = Camera { width, height, fx: fx as f32, fy: fy as f32, cx: cx as f32, cy: cy as f32, world_to_camera: w2c };
        if let Err(e) = camera.validate() {
            // A bad focal length or principal point is the camera's fault, not the image's.
            return Err(if matches!(e, crate::camera::CameraError::BadIntrinsics { .. }) {
                DatasetError::Malformed {
                    file: cameras_file,
                    location: format!("camera {} (used by {frame})", cam.id),
                    problem: e.to_string(),
                }
            } else {
                DatasetError::Pose { file: images_file, frame, problem: e.to_string() }
            });
        }
        let candidates = [format!("{root}images/{}", image.name), format!("{root}{}", image.name)];
        let image_path = match resolve_image(listing, &candidates[0]).or_else(|_| resolve_image(listing, &candidates[1])) {
            Ok(path) => path,
            Err(_) => {
                let missing = images
                    .iter()
                    .filter(|i| {
                        resolve_image(listing, &format!("{root}images/{}", i.name)).is_err()
                            && resolve_image(listing, &format!("{root}{}", i.name)).is_err()
                    })
                    .count();
                return Err(DatasetError::MissingFile {
                    file: images_file,
                    frame: if missing > 1 { format!("{frame} (one of {missing} missing images out of {})", images.len()) } else { frame },
                    path: image.name.clone(),
                    tried: candidates.iter().map(|c| source.describe(c)).collect::<Vec<_>>().join(", "),
                });
            }
        };
        frames.push(FrameInfo { name: image.name.clone(), image_path, camera, image_size: (width, height) });
    }

    let points = if listing.contains(&points_path) {
        let bytes = source.read(&points_path)?;
        let points =
            if binary { read_points3d_binary(&bytes, &points_file, false)? } else { read_points3d_text(&bytes, &points_file, false)? };
        let finite = points.iter().filter(|p| p.xyz.iter().all(|v| v.is_finite() && v.abs() < 1e30)).count();
        if finite < points.len() {
            log::warn!("{points_file}: skipping {} points with non-finite positions", points.len() - finite);
        }
        let kept = points.iter().filter(|p| p.xyz.iter().all(|v| v.is_finite() && v.abs() < 1e30));
        let (positions, colors) = kept.map(|p| (p.xyz.map(|v| v as f32), p.rgb)).unzip();
        Some(PointCloud { positions, colors })
    } else {
        None
    };

    let header_path = frames[0].image_path.clone();
    let header = probe_image(&source.read(&header_path)?, &source.describe(&header_path))?;
    let (train, test) = split_every(frames, options.test_every);
    Ok(Loaded { train, test, points, format: if binary { "colmap-binary" } else { "colmap-text" }, header, header_path, size_from: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_quaternion_is_identity() {
        let m = world_to_camera([2.0, 0.0, 0.0, 0.0], [1.0, 2.0, 3.0]).unwrap();
        assert_eq!(m, [[1.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.0, 2.0], [0.0, 0.0, 1.0, 3.0], [0.0, 0.0, 0.0, 1.0]]);
        // 90 degrees about z: x -> y.
        let h = std::f64::consts::FRAC_1_SQRT_2;
        let m = world_to_camera([h, 0.0, 0.0, h], [0.0; 3]).unwrap();
        assert!((m[1][0] - 1.0).abs() < 1e-6 && (m[0][1] + 1.0).abs() < 1e-6);
        assert!(world_to_camera([0.0; 4], [0.0; 3]).unwrap_err().contains("zero"));
        assert!(world_to_camera([1.0, f64::NAN, 0.0, 0.0], [0.0; 3]).unwrap_err().contains("non-finite"));
    }

    #[test]
    fn text_model_round_trip() {
        let cams = read_cameras_text(b"# c\n1 PINHOLE 640 480 500 510 320 240\n\n2 SIMPLE_RADIAL 10 10 5 5 5 0\n", "cameras.txt").unwrap();
        assert_eq!(cams.len(), 2);
        assert_eq!(cams[0].pinhole(false).unwrap(), [500.0, 510.0, 320.0, 240.0]);
        assert_eq!(cams[1].pinhole(false).unwrap(), [5.0, 5.0, 5.0, 5.0]);
        let imgs =
            read_images_text(b"# i\n1 1 0 0 0 0 0 0 1 a b.png\n\n2 1 0 0 0 0 0 1 1 c.png\n1.5 2.5 -1 3 4 7\n", "images.txt", true).unwrap();
        assert_eq!(imgs.len(), 2);
        assert_eq!(imgs[0].name, "a b.png");
        assert_eq!(imgs[1].points2d, vec![([1.5, 2.5], -1), ([3.0, 4.0], 7)]);
        let pts = read_points3d_text(b"7 1 2 3 255 0 10 0.5 1 0 2 1\n", "points3D.txt", true).unwrap();
        assert_eq!(pts[0].rgb, [255, 0, 10]);
        assert_eq!(pts[0].track, vec![(1, 0), (2, 1)]);
    }
}
