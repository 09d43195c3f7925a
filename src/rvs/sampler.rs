//! RVS pose sampling: deterministic from a seed, no threads or clocks, so the browser draws the
//! same set as the command line.
//!
//! Per training camera and per sample: three angles uniform in `[-R, R]` degrees, applied as
//! rotations about the world x, then y, then z axes (`R' = Rz Ry Rx R`, left-multiplied because
//! they are world-frame rotations), translation noise uniform in `[-T, T]` per axis, and the
//! position clamped to the box of all training positions widened by `D` on each side. Only the
//! orientation is rotated: the camera stays where the noise put it. Rotating in the world frame
//! makes the result independent of the camera-axis convention (OpenCV and OpenGL camera-to-world
//! differ by a right-multiplied axis flip, which commutes with a left-multiplied rotation).
//!
//! The arithmetic is f64 (the exported poses are written from the f64 matrices); the
//! [`Camera`] the renderer gets is the f32 rounding of the same pose.

use super::RvsError;
use crate::Camera;
use crate::dataset::FrameInfo;
use crate::rng::SplitMix;

/// Views drawn per training camera at most.
pub const MAX_PER_VIEW: usize = 10_000;
/// Views of one set at most (training cameras times views per camera).
pub const MAX_VIEWS_PER_SET: usize = 1_000_000;

/// Row-major 3x3 and 4x4 matrices in f64.
pub type Mat3d = [[f64; 3]; 3];
pub type Mat4d = [[f64; 4]; 4];

/// What to draw: DFNet's R, T and D, views per training camera and the seed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RvsParams {
    /// Largest rotation about each world axis, degrees (`--rot`).
    pub rot_deg: f32,
    /// Largest translation noise per axis, scene units (`--trans`).
    pub trans: f32,
    /// How far the clamp box reaches past the training positions, scene units (`--dmax`).
    pub dmax: f32,
    /// Views drawn per training camera (`--per-view`).
    pub per_view: usize,
    /// The set is a function of this seed (and of the refresh, see [`refresh_seed`]).
    pub seed: u64,
}

impl Default for RvsParams {
    fn default() -> Self {
        Self { rot_deg: 10.0, trans: 0.2, dmax: 0.2, per_view: 1, seed: 0 }
    }
}

impl RvsParams {
    /// Refuses negative, infinite or NaN ranges and zero views per camera, naming the option.
    pub fn validate(&self) -> Result<(), RvsError> {
        let check = |option: &'static str, value: f32| {
            if value.is_finite() && value >= 0.0 {
                Ok(())
            } else {
                Err(RvsError::Param { option, problem: format!("{value} must be a finite number >= 0") })
            }
        };
        check("--rot", self.rot_deg)?;
        check("--trans", self.trans)?;
        check("--dmax", self.dmax)?;
        if self.rot_deg > 180.0 {
            return Err(RvsError::Param { option: "--rot", problem: format!("{} degrees is more than 180", self.rot_deg) });
        }
        if !(1..=MAX_PER_VIEW).contains(&self.per_view) {
            return Err(RvsError::Param {
                option: "--per-view",
                problem: format!("{} views per camera: must be 1 to {MAX_PER_VIEW}", self.per_view),
            });
        }
        Ok(())
    }
}

/// One sampled view: where it came from, what was drawn and the resulting camera.
#[derive(Debug, Clone, PartialEq)]
pub struct SampledView {
    /// Position in the set.
    pub index: usize,
    /// The training camera it perturbs: index among the sources and its frame name.
    pub source_index: usize,
    pub source_name: String,
    /// Which of the `per_view` samples of that source this is.
    pub sample: usize,
    /// Rotations about the world x, y and z axes, degrees, applied in that order.
    pub angles_deg: [f64; 3],
    /// Translation noise as drawn (before clamping).
    pub translation_noise: [f64; 3],
    /// Whether the clamp to the widened box moved the position.
    pub clamped: bool,
    /// The perturbed camera-to-world matrix, OpenCV camera axes (x right, y down, z forward).
    pub c2w_opencv: Mat4d,
    /// The same pose for the renderer, with the source's intrinsics and size.
    pub camera: Camera,
}

impl SampledView {
    /// The perturbed camera-to-world matrix in OpenGL / Blender camera axes (x right, y up,
    /// looking down -z), as nerfstudio and NeRF-synthetic store `transform_matrix`.
    pub fn c2w_opengl(&self) -> Mat4d {
        opencv_to_opengl(&self.c2w_opencv)
    }

    pub fn position(&self) -> [f64; 3] {
        [self.c2w_opencv[0][3], self.c2w_opencv[1][3], self.c2w_opencv[2][3]]
    }
}

/// The seed of refresh `k` of a run seeded with `seed`: refresh 0 uses `seed` itself, later
/// refreshes a well-mixed function of both, so that refreshes differ and repeat across runs.
pub fn refresh_seed(seed: u64, refresh: u64) -> u64 {
    if refresh == 0 {
        return seed;
    }
    SplitMix(seed ^ refresh.wrapping_mul(0xd6e8_feb8_6659_fd93)).next_u64()
}

/// The box of the training positions widened by `dmax` on each side: (min, max).
pub fn clamp_box(sources: &[FrameInfo], dmax: f64) -> ([f64; 3], [f64; 3]) {
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    for frame in sources {
        let c = frame.camera.center();
        for a in 0..3 {
            lo[a] = lo[a].min(c[a] as f64);
            hi[a] = hi[a].max(c[a] as f64);
        }
    }
    (lo.map(|v| v - dmax), hi.map(|v| v + dmax))
}

/// Draws `per_view` perturbed views of every source camera, in source order. The same sources
/// and parameters give the same set on every platform.
pub fn sample_views(sources: &[FrameInfo], params: &RvsParams) -> Result<Vec<SampledView>, RvsError> {
    params.validate()?;
    if sources.is_empty() {
        return Err(RvsError::NoSources);
    }
    let views_per_set = sources.len().saturating_mul(params.per_view);
    if views_per_set > MAX_VIEWS_PER_SET {
        let problem = format!(
            "{} views for each of {} training cameras make {views_per_set} views a set, over the limit of {MAX_VIEWS_PER_SET}",
            params.per_view,
            sources.len()
        );
        return Err(RvsError::Param { option: "--per-view", problem });
    }
    for frame in sources {
        frame.camera.validate().map_err(|e| RvsError::Source { name: frame.name.clone(), problem: e.to_string() })?;
    }
    let (lo, hi) = clamp_box(sources, params.dmax as f64);
    let mut rng = SplitMix(params.seed);
    let mut views = Vec::with_capacity(sources.len() * params.per_view);
    for (source_index, frame) in sources.iter().enumerate() {
        let c2w = to_f64(&frame.camera.camera_to_world());
        for sample in 0..params.per_view {
            let angles_deg: [f64; 3] = std::array::from_fn(|_| uniform(&mut rng, params.rot_deg as f64));
            let translation_noise: [f64; 3] = std::array::from_fn(|_| uniform(&mut rng, params.trans as f64));
            let (c2w_opencv, clamped) = perturb(&c2w, angles_deg, translation_noise, (lo, hi));
            let cam = &frame.camera;
            let camera = Camera::from_opencv_c2w(to_f32(&c2w_opencv), cam.fx, cam.fy, cam.cx, cam.cy, cam.width, cam.height);
            views.push(SampledView {
                index: views.len(),
                source_index,
                source_name: frame.name.clone(),
                sample,
                angles_deg,
                translation_noise,
                clamped,
                c2w_opencv,
                camera,
            });
        }
    }
    Ok(views)
}

/// One perturbation: the world rotation applied to the rotation part, the noise added to the
/// position and the position clamped to `bounds`. Returns the pose and whether it was clamped.
pub fn perturb(c2w: &Mat4d, angles_deg: [f64; 3], noise: [f64; 3], bounds: ([f64; 3], [f64; 3])) -> (Mat4d, bool) {
    let world = world_rotation(angles_deg);
    let mut out = [[0.0; 4]; 4];
    let mut clamped = false;
    for i in 0..3 {
        for j in 0..3 {
            out[i][j] = (0..3).map(|k| world[i][k] * c2w[k][j]).sum();
        }
        let moved = c2w[i][3] + noise[i];
        let kept = moved.clamp(bounds.0[i], bounds.1[i]);
        clamped |= kept != moved;
        out[i][3] = kept;
    }
    out[3][3] = 1.0;
    (out, clamped)
}

/// `Rz(z) Ry(y) Rx(x)` for angles in degrees: rotate about the world x axis first, then y, then z.
pub fn world_rotation(angles_deg: [f64; 3]) -> Mat3d {
    let [x, y, z] = angles_deg.map(f64::to_radians);
    mat3_mul(&mat3_mul(&rot_z(z), &rot_y(y)), &rot_x(x))
}

pub fn rot_x(a: f64) -> Mat3d {
    let (s, c) = a.sin_cos();
    [[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]]
}

pub fn rot_y(a: f64) -> Mat3d {
    let (s, c) = a.sin_cos();
    [[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]]
}

pub fn rot_z(a: f64) -> Mat3d {
    let (s, c) = a.sin_cos();
    [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]
}

pub fn mat3_mul(a: &Mat3d, b: &Mat3d) -> Mat3d {
    std::array::from_fn(|i| std::array::from_fn(|j| (0..3).map(|k| a[i][k] * b[k][j]).sum()))
}

/// OpenCV camera axes to OpenGL ones (and back): negate the camera's y and z columns.
pub fn opencv_to_opengl(c2w: &Mat4d) -> Mat4d {
    let mut out = *c2w;
    for row in out.iter_mut().take(3) {
        row[1] = -row[1];
        row[2] = -row[2];
    }
    out
}

/// Uniform in `[-range, range]` (53 random bits).
fn uniform(rng: &mut SplitMix, range: f64) -> f64 {
    let unit = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    (unit * 2.0 - 1.0) * range
}

fn to_f64(m: &crate::camera::Mat4) -> Mat4d {
    m.map(|row| row.map(f64::from))
}

fn to_f32(m: &Mat4d) -> crate::camera::Mat4 {
    m.map(|row| row.map(|v| v as f32))
}
