//! The files of an RVS set besides the images: a `transforms.json` that loads back through
//! [`crate::dataset::load_dataset`] (and nerfstudio / NeRF-synthetic tools), and `rvs_poses.json`
//! with how every view was drawn.
//!
//! `transforms.json` follows the input's convention: both store `transform_matrix`, the OpenGL
//! (x right, y up, looking down -z) camera-to-world matrix. NeRF-synthetic inputs get
//! `camera_angle_x` (and extensionless PNG paths, which Blender loaders complete with `.png`);
//! nerfstudio inputs get `fl_x, fl_y, cx, cy, w, h`. COLMAP inputs have no transforms file to
//! follow: they get the nerfstudio form too, with the COLMAP poses turned into OpenGL
//! camera-to-world matrices in COLMAP's world frame (no re-centring or re-scaling).
//! Every frame also carries an `rvs` object (source frame, angles, noise), which readers ignore.

use serde_json::{Value, json};

use super::ImageFormat;
use super::sampler::{Mat4d, RvsParams, SampledView};

pub const TRANSFORMS_FILE: &str = "transforms.json";
pub const POSES_FILE: &str = "rvs_poses.json";
/// Folder of the images inside the output.
pub const IMAGES_DIR: &str = "images";

/// How `transforms.json` states the intrinsics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Convention {
    /// `camera_angle_x` (and `camera_angle_y` when the pixels are not square).
    NerfSynthetic,
    /// `fl_x, fl_y, cx, cy, w, h`.
    Nerfstudio,
}

impl Convention {
    /// The convention for a [`crate::dataset::DatasetIndex::format`]: NeRF-synthetic stays
    /// NeRF-synthetic, nerfstudio and COLMAP become nerfstudio.
    pub fn for_input(format: &str) -> Self {
        if format == "nerf-synthetic" { Convention::NerfSynthetic } else { Convention::Nerfstudio }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Convention::NerfSynthetic => "nerf-synthetic",
            Convention::Nerfstudio => "nerfstudio",
        }
    }
}

/// What `rvs_poses.json` records about the run besides the views.
#[derive(Debug, Clone, PartialEq)]
pub struct SetInfo {
    pub params: RvsParams,
    /// Which refresh this set is (0 for the first) and the seed it was drawn with.
    pub refresh: u64,
    pub refresh_seed: u64,
    /// The input dataset's format (`nerf-synthetic`, `nerfstudio`, `colmap-binary`, ...).
    pub input_format: String,
    pub convention: Convention,
    pub format: ImageFormat,
    /// Resolution scale applied to the training cameras.
    pub scale: f32,
    pub background: [f32; 3],
    /// The clamp box: training positions widened by `dmax`.
    pub clamp_box: ([f64; 3], [f64; 3]),
}

/// The image file of a view, relative to the set's folder: `images/rvs_00000.png`.
pub fn image_path(view: &SampledView, format: ImageFormat) -> String {
    format!("{IMAGES_DIR}/rvs_{:05}.{}", view.index, format.extension())
}

/// `file_path` in `transforms.json`: NeRF-synthetic PNGs without their extension (as in the
/// original files), everything else as is, always with the `./` NeRF-synthetic writes.
fn transforms_file_path(view: &SampledView, info: &SetInfo) -> String {
    let path = image_path(view, info.format);
    match (info.convention, info.format) {
        (Convention::NerfSynthetic, ImageFormat::Png) => format!("./{}", path.trim_end_matches(".png")),
        (Convention::NerfSynthetic, _) => format!("./{path}"),
        (Convention::Nerfstudio, _) => path,
    }
}

/// Intrinsics keys for one camera in the given convention.
fn intrinsics(camera: &crate::Camera, convention: Convention) -> serde_json::Map<String, Value> {
    let (w, h) = (camera.width as f64, camera.height as f64);
    let (fx, fy, cx, cy) = (camera.fx as f64, camera.fy as f64, camera.cx as f64, camera.cy as f64);
    let mut map = serde_json::Map::new();
    match convention {
        Convention::NerfSynthetic => {
            map.insert("camera_angle_x".into(), json!(2.0 * (0.5 * w / fx).atan()));
            if (fx - fy).abs() > 1e-6 * fx {
                map.insert("camera_angle_y".into(), json!(2.0 * (0.5 * h / fy).atan()));
            }
            if (cx - 0.5 * w).abs() > 1e-6 * w || (cy - 0.5 * h).abs() > 1e-6 * h {
                map.insert("cx".into(), json!(cx));
                map.insert("cy".into(), json!(cy));
            }
        }
        Convention::Nerfstudio => {
            map.insert("camera_model".into(), json!("OPENCV"));
            map.insert("fl_x".into(), json!(fx));
            map.insert("fl_y".into(), json!(fy));
            map.insert("cx".into(), json!(cx));
            map.insert("cy".into(), json!(cy));
        }
    }
    // The size, which NeRF-synthetic readers take from the images and ours from here.
    map.insert("w".into(), json!(camera.width));
    map.insert("h".into(), json!(camera.height));
    map
}

fn matrix_json(m: &Mat4d) -> Value {
    json!(m.iter().map(|row| row.to_vec()).collect::<Vec<_>>())
}

fn rvs_fields(view: &SampledView) -> Value {
    json!({
        "source_frame": view.source_name,
        "source_index": view.source_index,
        "sample": view.sample,
        "rotation_deg_xyz": view.angles_deg,
        "translation_noise": view.translation_noise,
        "clamped": view.clamped,
    })
}

/// `transforms.json` of a set (pretty-printed). Intrinsics shared by every view go to the top
/// level, otherwise into each frame.
pub fn transforms_json(views: &[SampledView], info: &SetInfo) -> String {
    let same =
        |a: &crate::Camera, b: &crate::Camera| (a.width, a.height, a.fx, a.fy, a.cx, a.cy) == (b.width, b.height, b.fx, b.fy, b.cx, b.cy);
    let shared = views.first().filter(|first| views.iter().all(|v| same(&v.camera, &first.camera)));
    let mut top = match shared {
        Some(first) => intrinsics(&first.camera, info.convention),
        None => serde_json::Map::new(),
    };
    let frames: Vec<Value> = views
        .iter()
        .map(|view| {
            let mut frame = if shared.is_some() { serde_json::Map::new() } else { intrinsics(&view.camera, info.convention) };
            frame.insert("file_path".into(), json!(transforms_file_path(view, info)));
            frame.insert("transform_matrix".into(), matrix_json(&view.c2w_opengl()));
            frame.insert("rvs".into(), rvs_fields(view));
            Value::Object(frame)
        })
        .collect();
    top.insert("frames".into(), Value::Array(frames));
    serde_json::to_string_pretty(&Value::Object(top)).expect("JSON values serialize")
}

/// `rvs_poses.json`: the parameters, the clamp box and, per view, its image, source frame, drawn
/// angles and noise, and the pose in both camera conventions.
pub fn poses_json(views: &[SampledView], info: &SetInfo) -> String {
    let p = &info.params;
    let views_json: Vec<Value> = views
        .iter()
        .map(|view| {
            let mut v = rvs_fields(view);
            let extra = json!({
                "index": view.index,
                "file_path": image_path(view, info.format),
                "position": view.position(),
                "c2w_opengl": matrix_json(&view.c2w_opengl()),
                "c2w_opencv": matrix_json(&view.c2w_opencv),
                "intrinsics": {"fx": view.camera.fx, "fy": view.camera.fy, "cx": view.camera.cx, "cy": view.camera.cy, "w": view.camera.width, "h": view.camera.height},
            });
            if let (Value::Object(a), Value::Object(b)) = (&mut v, extra) {
                a.extend(b);
            }
            v
        })
        .collect();
    let value = json!({
        "format": "wgsplat-rvs",
        "version": 1,
        "method": "DFNet random view synthesis: angles uniform in [-rot, rot] degrees applied as world-frame rotations about x, then y, then z (R' = Rz Ry Rx R); translation noise uniform in [-trans, trans] per axis; position clamped to the training positions' box widened by dmax",
        "parameters": {
            "rot_deg": p.rot_deg,
            "trans": p.trans,
            "dmax": p.dmax,
            "per_view": p.per_view,
            "seed": p.seed,
            "refresh": info.refresh,
            "refresh_seed": info.refresh_seed,
            "scale": info.scale,
            "background": info.background,
            "image_format": info.format.extension(),
            "jpeg_quality": match info.format { ImageFormat::Jpeg { quality } => Some(quality), ImageFormat::Png => None },
        },
        "input_format": info.input_format,
        "convention": info.convention.name(),
        "clamp_box": {"min": info.clamp_box.0, "max": info.clamp_box.1},
        "views": views_json,
    });
    serde_json::to_string_pretty(&value).expect("JSON values serialize")
}
