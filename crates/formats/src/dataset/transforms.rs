//! Cameras from nerfstudio / NeRF-synthetic (Blender) `transforms*.json` files.
//!
//! Two flavours exist: NeRF-synthetic gives one `camera_angle_x` (horizontal field of view) and
//! no image size; nerfstudio gives `fl_x, fl_y, cx, cy, w, h`, at the top level or per frame
//! (per frame wins). Both store `transform_matrix`, a camera-to-world matrix in OpenGL axes.
//! [`read_transforms_cameras`] ignores distortion coefficients (`k1`, `p1`, ...): the renderer is
//! a pure pinhole. [`load`] (behind [`super::load_dataset`]) refuses them unless told to ignore
//! them, resolves each frame's image in the dataset and splits train and test.

use super::listing::{Listing, Loaded, resolve_image, split_every};
use super::{DatasetError, FileSource, FrameInfo, LoadOptions, decode::probe_image, source::normalize_path};
use crate::camera::{Camera, Mat4};
use serde::Deserialize;

/// One frame: the image it belongs to (as written in the file, relative to the JSON and
/// often without an extension) and its camera.
#[derive(Debug, Clone, PartialEq)]
pub struct TransformsFrame {
    pub file_path: String,
    pub camera: Camera,
}

/// The top level and each frame share their intrinsics keys, so one struct reads both; the
/// top level additionally has `frames`, a frame `file_path` and `transform_matrix`.
#[derive(Deserialize, Default)]
struct Entry {
    camera_angle_x: Option<f64>,
    camera_angle_y: Option<f64>,
    fl_x: Option<f64>,
    fl_y: Option<f64>,
    cx: Option<f64>,
    cy: Option<f64>,
    w: Option<f64>,
    h: Option<f64>,
    file_path: Option<String>,
    camera_model: Option<String>,
    k1: Option<f64>,
    k2: Option<f64>,
    k3: Option<f64>,
    k4: Option<f64>,
    p1: Option<f64>,
    p2: Option<f64>,
    /// Entries are optional so that `NaN` written by Python (turned into null below) reaches
    /// the per-frame check, which can say which frame is broken.
    transform_matrix: Option<Vec<Vec<Option<f64>>>>,
    frames: Option<Vec<Entry>>,
}

/// Reads the cameras of a `transforms*.json`. `file_name` is only used in errors.
/// `default_size` (width, height) is used when the file gives no `w`/`h`, as NeRF-synthetic
/// files don't; pass the size of the first image.
pub fn read_transforms_cameras(
    json: &str,
    file_name: &str,
    default_size: Option<(u32, u32)>,
) -> Result<Vec<TransformsFrame>, DatasetError> {
    let top = parse(json, file_name)?;
    Ok(frames_of(&top, file_name, default_size)?.into_iter().map(|(frame, _)| frame).collect())
}

/// Every frame's camera, and its lens distortion in words if it has any (non-zero `k1`..`k4`,
/// `p1`, `p2`, or a fisheye `camera_model`).
fn frames_of(top: &Entry, file: &str, default_size: Option<(u32, u32)>) -> Result<Vec<(TransformsFrame, Option<String>)>, DatasetError> {
    let frames = top.frames.as_deref().unwrap_or(&[]);
    if frames.is_empty() {
        return Err(DatasetError::NoFrames { file: file.to_string() });
    }
    frames
        .iter()
        .enumerate()
        .map(|(index, frame)| {
            let file_path = frame.file_path.clone();
            let shown_path = file_path.clone().unwrap_or_else(|| "no file_path".into());
            let frame_err = |problem: String| DatasetError::Frame { file: file.to_string(), index, file_path: shown_path.clone(), problem };
            let file_path = file_path.ok_or_else(|| frame_err("the frame has no \"file_path\"".into()))?;
            let camera = frame_camera(top, frame, default_size).map_err(frame_err)?;
            camera.validate().map_err(|source| DatasetError::Camera {
                file: file.to_string(),
                index,
                file_path: file_path.clone(),
                source,
            })?;
            Ok((TransformsFrame { file_path, camera }, distortion(top, frame)))
        })
        .collect()
}

fn parse(json: &str, file: &str) -> Result<Entry, DatasetError> {
    match serde_json::from_str::<Entry>(json) {
        Ok(entry) => Ok(entry),
        Err(first) => {
            // Python's json module writes NaN/Infinity, which JSON doesn't allow. Retry with
            // them as null so the frame check can name the frame; if that fails too, report
            // the original error, whose line and column match the user's file.
            let sanitized = nan_to_null(json);
            if sanitized != json
                && let Ok(entry) = serde_json::from_str::<Entry>(&sanitized)
            {
                return Ok(entry);
            }
            Err(DatasetError::Json { file: file.to_string(), line: first.line(), column: first.column(), message: first.to_string() })
        }
    }
}

/// Replaces the bare tokens `NaN`, `Infinity` and `-Infinity` outside strings with `null`.
fn nan_to_null(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = json;
    while let Some(c) = rest.chars().next() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
        } else if let Some(token) = ["NaN", "-Infinity", "Infinity"].into_iter().find(|t| rest.starts_with(t)) {
            out.push_str("null");
            rest = &rest[token.len()..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Builds one frame's camera (not yet validated); the error is the problem, in words.
fn frame_camera(top: &Entry, frame: &Entry, default_size: Option<(u32, u32)>) -> Result<Camera, String> {
    // Per-frame values override the shared ones.
    let pick = |f: fn(&Entry) -> Option<f64>| f(frame).or(f(top));

    let (width, height) = match (pick(|e| e.w), pick(|e| e.h), default_size) {
        (Some(w), Some(h), _) => (size(w, "w")?, size(h, "h")?),
        (None, None, Some(size)) => size,
        (Some(_), None, _) | (None, Some(_), _) => return Err("only one of \"w\" and \"h\" is given".into()),
        (None, None, None) => {
            return Err(
                "the image size is unknown: the file has no \"w\"/\"h\" and no default size was given (pass the size of the images)".into(),
            );
        }
    };
    if width == 0 || height == 0 {
        return Err(format!("the image size {width}x{height} is empty"));
    }
    let (w, h) = (width as f64, height as f64);

    let focal_from_angle = |angle: f64, key: &str, extent: f64| {
        if !(angle > 0.0 && angle < std::f64::consts::PI) {
            return Err(format!("\"{key}\" = {angle} is not a field of view between 0 and pi"));
        }
        Ok(0.5 * extent / (0.5 * angle).tan())
    };
    let fx = match (pick(|e| e.fl_x), pick(|e| e.camera_angle_x)) {
        (Some(fx), _) => fx,
        (None, Some(angle)) => focal_from_angle(angle, "camera_angle_x", w)?,
        (None, None) => return Err("no focal length: neither \"fl_x\" nor \"camera_angle_x\" is given".into()),
    };
    let fy = match (pick(|e| e.fl_y), pick(|e| e.camera_angle_y)) {
        (Some(fy), _) => fy,
        (None, Some(angle)) => focal_from_angle(angle, "camera_angle_y", h)?,
        // Square pixels, as NeRF-synthetic assumes.
        (None, None) => fx,
    };
    let cx = pick(|e| e.cx).unwrap_or(0.5 * w);
    let cy = pick(|e| e.cy).unwrap_or(0.5 * h);

    let c2w = matrix(frame.transform_matrix.as_deref())?;
    Ok(Camera::from_opengl_c2w(c2w, fx as f32, fy as f32, cx as f32, cy as f32, width, height))
}

/// Lens distortion in words, e.g. `k1 = 0.02, p1 = -0.001`, or a fisheye camera model.
fn distortion(top: &Entry, frame: &Entry) -> Option<String> {
    let model = frame.camera_model.as_deref().or(top.camera_model.as_deref()).unwrap_or("");
    if model.to_ascii_uppercase().contains("FISHEYE") || model.eq_ignore_ascii_case("EQUIRECTANGULAR") {
        return Some(format!("camera_model {model}"));
    }
    type Getter = fn(&Entry) -> Option<f64>;
    let keys: [(&str, Getter); 6] =
        [("k1", |e| e.k1), ("k2", |e| e.k2), ("k3", |e| e.k3), ("k4", |e| e.k4), ("p1", |e| e.p1), ("p2", |e| e.p2)];
    let nonzero: Vec<String> =
        keys.iter().filter_map(|(name, get)| get(frame).or(get(top)).filter(|v| *v != 0.0).map(|v| format!("{name} = {v}"))).collect();
    (!nonzero.is_empty()).then(|| nonzero.join(", "))
}

/// Reads a nerfstudio (`transforms.json`) or NeRF-synthetic (`transforms_train.json` and
/// `transforms_test.json`; `transforms_val.json` is ignored) dataset whose JSON sits in `root`
/// (`""` or ending in `/`). Without `w`/`h` in the JSON, the image size is the first training
/// image's, for the test split too.
pub(crate) fn load(source: &dyn FileSource, listing: &Listing, root: &str, options: &LoadOptions) -> Result<Loaded, DatasetError> {
    let synthetic = listing.contains(&format!("{root}transforms_train.json"));
    let first_name = if synthetic { "transforms_train.json" } else { "transforms.json" };
    let first_path = format!("{root}{first_name}");
    let (first, first_shown) = read_json(source, &first_path)?;

    // The first frame's image gives the size when the JSON has none, and tells about alpha.
    let Some(first_frame) = first.frames.as_deref().and_then(|f| f.first()) else {
        return Err(DatasetError::NoFrames { file: first_shown });
    };
    let Some(first_file_path) = first_frame.file_path.clone() else {
        return Err(DatasetError::Frame {
            file: first_shown,
            index: 0,
            file_path: "no file_path".into(),
            problem: "the frame has no \"file_path\"".into(),
        });
    };
    let first_image = resolve(listing, root, &first_file_path, &first_shown, 0)?;
    let header = probe_image(&source.read(&first_image)?, &source.describe(&first_image))?;
    let default_size = Some((header.width, header.height));
    let gives_no_size = |top: &Entry| top.frames.iter().flatten().any(|f| f.w.or(top.w).is_none() || f.h.or(top.h).is_none());

    let to_frames = |top: &Entry, shown: &str| -> Result<Vec<FrameInfo>, DatasetError> {
        frames_of(top, shown, default_size)?
            .into_iter()
            .enumerate()
            .map(|(index, (frame, distortion))| {
                if let Some(distortion) = distortion {
                    let problem = format!(
                        "the camera has lens distortion ({distortion}); wgsplat trains pinhole cameras only: undistort the images first \
                         (e.g. COLMAP's `colmap image_undistorter`), or load with the option to ignore distortion"
                    );
                    if !options.ignore_distortion {
                        return Err(DatasetError::Frame { file: shown.to_string(), index, file_path: frame.file_path.clone(), problem });
                    }
                    log::warn!("{shown}: frame {index} ({}): {problem}; ignoring it as asked", frame.file_path);
                }
                let image_path = resolve(listing, root, &frame.file_path, shown, index)?;
                let name = normalize_path(&frame.file_path).unwrap_or_else(|| frame.file_path.clone());
                let size = (frame.camera.width, frame.camera.height);
                Ok(FrameInfo { name, image_path, camera: frame.camera, image_size: size })
            })
            .collect()
    };

    let first_frames = to_frames(&first, &first_shown)?;
    let mut test_unsized = false;
    let (train, test) = if synthetic {
        let test_path = format!("{root}transforms_test.json");
        let test = if listing.contains(&test_path) {
            let (top, shown) = read_json(source, &test_path)?;
            test_unsized = gives_no_size(&top);
            to_frames(&top, &shown)?
        } else {
            Vec::new()
        };
        if test.is_empty() { split_every(first_frames, options.test_every) } else { (first_frames, test) }
    } else {
        split_every(first_frames, options.test_every)
    };
    Ok(Loaded {
        train,
        test,
        points: None,
        format: if synthetic { "nerf-synthetic" } else { "nerfstudio" },
        size_from: (gives_no_size(&first) || test_unsized)
            .then(|| format!("the first training image, {} ({first_shown} gives no w/h)", source.describe(&first_image))),
        header,
        header_path: first_image,
    })
}

fn read_json(source: &dyn FileSource, path: &str) -> Result<(Entry, String), DatasetError> {
    let shown = source.describe(path);
    let bytes = source.read(path)?;
    let json = String::from_utf8(bytes).map_err(|e| DatasetError::Json {
        file: shown.clone(),
        line: 0,
        column: 0,
        message: format!("not UTF-8 text (bad byte at offset {})", e.utf8_error().valid_up_to()),
    })?;
    Ok((parse(&json, &shown)?, shown))
}

/// The key of the image a frame's `file_path` names, relative to the JSON's folder `root`.
fn resolve(listing: &Listing, root: &str, file_path: &str, json: &str, index: usize) -> Result<String, DatasetError> {
    resolve_image(listing, &format!("{root}{file_path}")).map_err(|tried| DatasetError::MissingFile {
        file: json.to_string(),
        frame: format!("frame {index}"),
        path: file_path.to_string(),
        tried,
    })
}

/// An image size from JSON, where it is a number that should be a positive integer.
fn size(v: f64, key: &str) -> Result<u32, String> {
    if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= u32::MAX as f64 {
        Ok(v as u32)
    } else {
        Err(format!("\"{key}\" = {v} is not an image size"))
    }
}

/// A 4x4 matrix (or 3x4, the last row implied) with finite entries.
fn matrix(rows: Option<&[Vec<Option<f64>>]>) -> Result<Mat4, String> {
    let rows = rows.ok_or("the frame has no \"transform_matrix\"")?;
    let shape_ok = (rows.len() == 4 || rows.len() == 3) && rows.iter().all(|r| r.len() == 4);
    if !shape_ok {
        let shape: Vec<String> = rows.iter().map(|r| r.len().to_string()).collect();
        return Err(format!("\"transform_matrix\" is not 4x4 (rows of length [{}])", shape.join(", ")));
    }
    let mut m: Mat4 = [[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]];
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            match v {
                Some(v) if v.is_finite() => m[r][c] = *v as f32,
                _ => return Err(format!("\"transform_matrix\" has a non-finite entry at row {r}, column {c}")),
            }
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nerfstudio_intrinsics_shared_and_per_frame() {
        let json = r#"{
            "fl_x": 500, "fl_y": 510, "cx": 320.5, "cy": 240.5, "w": 640, "h": 480, "k1": 0.01,
            "frames": [
                {"file_path": "images/a.png", "transform_matrix": [[1,0,0,0],[0,1,0,0],[0,0,1,0],[0,0,0,1]]},
                {"file_path": "images/b.png", "fl_x": 300, "w": 320, "h": 240, "cx": 160, "cy": 120,
                 "transform_matrix": [[1,0,0,1],[0,1,0,2],[0,0,1,3]]}
            ]
        }"#;
        let frames = read_transforms_cameras(json, "t.json", Some((1, 1))).unwrap();
        let a = frames[0].camera;
        assert_eq!((a.width, a.height, a.fx, a.fy, a.cx, a.cy), (640, 480, 500.0, 510.0, 320.5, 240.5));
        // OpenGL identity pose looks down -z with y up: OpenCV flips y and z.
        assert_eq!(a.world_to_camera[1][1], -1.0);
        assert_eq!(a.world_to_camera[2][2], -1.0);
        let b = frames[1].camera;
        assert_eq!((b.width, b.height, b.fx, b.fy, b.cx, b.cy), (320, 240, 300.0, 510.0, 160.0, 120.0));
        assert_eq!(b.center(), [1.0, 2.0, 3.0]);
    }

    fn err(json: &str, default_size: Option<(u32, u32)>) -> String {
        read_transforms_cameras(json, "bad.json", default_size).unwrap_err().to_string()
    }

    const EYE: &str = "[[1,0,0,0],[0,1,0,0],[0,0,1,4],[0,0,0,1]]";

    #[test]
    fn malformed_inputs_name_the_file_and_frame() {
        let e = err("{\n \"frames\": [\n  {\"file_path\": \"x\",, }\n]}", None);
        assert!(e.contains("bad.json") && e.contains("line 3"), "{e}");
        assert!(err("[1, 2]", None).contains("bad.json: malformed JSON"));

        assert_eq!(err(r#"{"camera_angle_x": 0.7, "frames": []}"#, None), "bad.json: no frames");
        assert_eq!(err(r#"{"camera_angle_x": 0.7}"#, None), "bad.json: no frames");

        let two =
            |second: &str| format!(r#"{{"camera_angle_x": 0.7, "frames": [{{"file_path": "a", "transform_matrix": {EYE}}}, {second}]}}"#);
        let e = err(&two(r#"{"file_path": "./train/r_1"}"#), Some((8, 8)));
        assert!(e.contains("bad.json: frame 1 (./train/r_1)") && e.contains("no \"transform_matrix\""), "{e}");

        let e = err(&two(r#"{"file_path": "b", "transform_matrix": [[1,0,0,0],[0,NaN,0,0],[0,0,1,4],[0,0,0,1]]}"#), Some((8, 8)));
        assert!(e.contains("frame 1 (b)") && e.contains("non-finite entry at row 1, column 1"), "{e}");
        let e = err(&two(r#"{"file_path": "b", "transform_matrix": [[1,0,0,-Infinity],[0,1,0,0],[0,0,1,4],[0,0,0,1]]}"#), Some((8, 8)));
        assert!(e.contains("row 0, column 3"), "{e}");

        let e = err(&two(r#"{"file_path": "b", "transform_matrix": [[1,0,0],[0,1,0],[0,0,1]]}"#), Some((8, 8)));
        assert!(e.contains("not 4x4"), "{e}");

        let e = err(&two(r#"{"file_path": "b", "transform_matrix": [[2,0,0,0],[0,2,0,0],[0,0,2,4],[0,0,0,1]]}"#), Some((8, 8)));
        assert!(e.contains("frame 1 (b)") && e.contains("degenerate"), "{e}");

        let e = err(
            &two(r#"{"file_path": "b", "w": 0, "h": 10, "transform_matrix": [[1,0,0,0],[0,1,0,0],[0,0,1,4],[0,0,0,1]]}"#),
            Some((8, 8)),
        );
        assert!(e.contains("frame 1 (b)") && e.contains("0x10 is empty"), "{e}");

        let e = err(&two(r#"{"transform_matrix": [[1,0,0,0],[0,1,0,0],[0,0,1,4],[0,0,0,1]]}"#), Some((8, 8)));
        assert!(e.contains("frame 1 (no file_path)"), "{e}");

        let e = err(&format!(r#"{{"frames": [{{"file_path": "a", "transform_matrix": {EYE}}}]}}"#), Some((8, 8)));
        assert!(e.contains("frame 0 (a)") && e.contains("no focal length"), "{e}");

        let e = err(&format!(r#"{{"camera_angle_x": 0.7, "frames": [{{"file_path": "a", "transform_matrix": {EYE}}}]}}"#), None);
        assert!(e.contains("size is unknown"), "{e}");
    }

    #[test]
    fn nan_sanitizer_leaves_strings_alone() {
        assert_eq!(nan_to_null(r#"{"a": NaN, "NaN\"Infinity": [-Infinity, Infinity]}"#), r#"{"a": null, "NaN\"Infinity": [null, null]}"#);
    }
}
