//! Loader for the gsplat 1.5.3 reference cases (`gsplat_reference/` in the test data: renders
//! and gradients of `rasterization()` on random scenes; see its README.md and cases.json).
//!
//! Shapes below use N Gaussians, C cameras, H x W images, K = (sh_degree+1)^2. Every array is
//! flattened row-major, exactly as torch stored it.

use safetensors::{Dtype, SafeTensors};
use serde::Deserialize;
use wgsplat::{Camera, Splats};

pub const FOLDER: &str = "gsplat_reference";

pub struct GsplatCase {
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub sh_degree: u32,
    /// N Gaussians, in our layout (which is gsplat's: quats w,x,y,z, SH [N][K][3]).
    pub splats: Splats,
    /// C cameras; world-to-camera in OpenCV axes, straight from `viewmats` and `Ks`.
    pub cameras: Vec<Camera>,
    /// [C] background colour of each image.
    pub backgrounds: Vec<[f32; 3]>,
    /// [C,H,W,3] rendered colour, background composited, not clamped.
    pub out_rgb: Vec<f32>,
    /// [C,H,W] 1 - final transmittance.
    pub out_alpha: Vec<f32>,
    /// [C,H,W] sum of z * weight (not divided by alpha).
    pub out_depth_accum: Vec<f32>,
    /// [C,N,2] per-axis pixel radii (x, y); 0 = culled.
    pub radii: Vec<i32>,
    /// The loss is sum(out_rgb * loss_w_rgb) + sum(out_alpha * loss_w_alpha).
    /// [C,H,W,3]
    pub loss_w_rgb: Vec<f32>,
    /// [C,H,W]
    pub loss_w_alpha: Vec<f32>,
    /// The loss value gsplat computed.
    pub loss: f32,
    /// Gradients of the loss. [N,3]
    pub grad_means: Vec<f32>,
    /// [N,4] (w, x, y, z), with respect to the unnormalized quaternion.
    pub grad_quats: Vec<f32>,
    /// [N,3]
    pub grad_log_scales: Vec<f32>,
    /// [N]
    pub grad_opacity_logits: Vec<f32>,
    /// [N,K,3]
    pub grad_sh: Vec<f32>,
}

impl GsplatCase {
    pub fn num_splats(&self) -> usize {
        self.splats.len()
    }

    pub fn num_cameras(&self) -> usize {
        self.cameras.len()
    }

    /// Pixels per image.
    pub fn pixels(&self) -> usize {
        (self.width * self.height) as usize
    }
}

/// One entry of cases.json's "cases".
#[derive(Deserialize, Debug, Clone)]
pub struct CaseInfo {
    pub name: String,
    #[serde(rename = "N")]
    pub n: usize,
    #[serde(rename = "C")]
    pub c: usize,
    pub width: u32,
    pub height: u32,
    pub sh_degree: u32,
    pub loss: f32,
}

#[derive(Deserialize)]
struct CasesJson {
    cases: Vec<CaseInfo>,
}

/// The per-case sizes from cases.json, or None (with a message) when the data is absent.
pub fn case_infos() -> Option<Vec<CaseInfo>> {
    let path = super::data_file(&format!("{FOLDER}/cases.json"), "gsplat reference test")?;
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let cases: CasesJson = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Some(cases.cases)
}

/// All reference cases, or None (with a message) when the data folder is absent. Broken data
/// panics with the file and tensor at fault: it's test input, not user input.
pub fn load_cases() -> Option<Vec<GsplatCase>> {
    Some(case_infos()?.into_iter().map(|info| load_case(&info)).collect())
}

fn load_case(info: &CaseInfo) -> GsplatCase {
    let path = super::data_dir().join(FOLDER).join(format!("{}.safetensors", info.name));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let st = SafeTensors::deserialize(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (n, c, h, w) = (info.n, info.c, info.height as usize, info.width as usize);
    let k = ((info.sh_degree + 1) * (info.sh_degree + 1)) as usize;

    // Every tensor is read with the shape cases.json implies, so a mismatch fails loudly here.
    let f32s = |name: &str, shape: &[usize]| -> Vec<f32> {
        tensor(&st, &path, name, shape, Dtype::F32).chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
    };
    let i32s = |name: &str, shape: &[usize]| -> Vec<i32> {
        tensor(&st, &path, name, shape, Dtype::I32).chunks_exact(4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
    };
    let triples = |v: Vec<f32>| -> Vec<[f32; 3]> { v.chunks_exact(3).map(|t| [t[0], t[1], t[2]]).collect() };

    let splats = Splats {
        means: triples(f32s("means", &[n, 3])),
        rotations: f32s("quats", &[n, 4]).chunks_exact(4).map(|q| [q[0], q[1], q[2], q[3]]).collect(),
        log_scales: triples(f32s("log_scales", &[n, 3])),
        opacity_logits: f32s("opacity_logits", &[n]),
        sh: f32s("sh", &[n, k, 3]),
        sh_degree: info.sh_degree,
    };
    let viewmats = f32s("viewmats", &[c, 4, 4]);
    let ks = f32s("Ks", &[c, 3, 3]);
    let cameras = (0..c)
        .map(|i| {
            let v = &viewmats[i * 16..(i + 1) * 16];
            let kk = &ks[i * 9..(i + 1) * 9];
            Camera {
                width: info.width,
                height: info.height,
                fx: kk[0],
                fy: kk[4],
                cx: kk[2],
                cy: kk[5],
                world_to_camera: std::array::from_fn(|r| std::array::from_fn(|col| v[r * 4 + col])),
            }
        })
        .collect();

    GsplatCase {
        name: info.name.clone(),
        width: info.width,
        height: info.height,
        sh_degree: info.sh_degree,
        splats,
        cameras,
        backgrounds: triples(f32s("backgrounds", &[c, 3])),
        out_rgb: f32s("out_rgb", &[c, h, w, 3]),
        out_alpha: f32s("out_alpha", &[c, h, w, 1]),
        out_depth_accum: f32s("out_depth_accum", &[c, h, w, 1]),
        radii: i32s("radii", &[c, n, 2]),
        loss_w_rgb: f32s("loss_w_rgb", &[c, h, w, 3]),
        loss_w_alpha: f32s("loss_w_alpha", &[c, h, w, 1]),
        loss: info.loss,
        grad_means: f32s("grad_means", &[n, 3]),
        grad_quats: f32s("grad_quats", &[n, 4]),
        grad_log_scales: f32s("grad_log_scales", &[n, 3]),
        grad_opacity_logits: f32s("grad_opacity_logits", &[n]),
        grad_sh: f32s("grad_sh", &[n, k, 3]),
    }
}

fn tensor<'a>(st: &SafeTensors<'a>, path: &std::path::Path, name: &str, shape: &[usize], dtype: Dtype) -> &'a [u8] {
    let t = st.tensor(name).unwrap_or_else(|e| panic!("{}: tensor {name}: {e}", path.display()));
    assert_eq!(t.shape(), shape, "{}: tensor {name} has the wrong shape", path.display());
    assert_eq!(t.dtype(), dtype, "{}: tensor {name} has the wrong dtype", path.display());
    t.data()
}
