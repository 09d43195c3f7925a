//! Pinhole cameras in the OpenCV convention (x right, y down, z forward), the one the renderer
//! uses. Datasets in the OpenGL/Blender convention convert through [`Camera::from_opengl_c2w`].
//! [`Orbit`]: a camera on a sphere around a scene, and the orbit that frames a scene's splats.

use thiserror::Error;

/// Row-major 4x4 matrix.
pub type Mat4 = [[f32; 4]; 4];

#[derive(Debug, Error, PartialEq)]
pub enum CameraError {
    #[error("camera size {width}x{height} is empty")]
    ZeroSize { width: u32, height: u32 },
    #[error("camera intrinsics must be finite with positive focal lengths (fx={fx}, fy={fy}, cx={cx}, cy={cy})")]
    BadIntrinsics { fx: f32, fy: f32, cx: f32, cy: f32 },
    #[error("camera pose has a non-finite entry")]
    NonFinitePose,
    #[error("camera pose rotation is degenerate (determinant {det})")]
    DegeneratePose { det: f32 },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Camera {
    pub width: u32,
    pub height: u32,
    pub fx: f32,
    pub fy: f32,
    pub cx: f32,
    pub cy: f32,
    /// World-to-camera transform, row-major, OpenCV camera axes.
    pub world_to_camera: Mat4,
}

impl Camera {
    /// A camera from a camera-to-world matrix whose camera axes follow OpenGL/Blender
    /// (x right, y up, looking down -z), as nerfstudio and NeRF-synthetic store them.
    pub fn from_opengl_c2w(c2w: Mat4, fx: f32, fy: f32, cx: f32, cy: f32, width: u32, height: u32) -> Self {
        // Flip the camera's y and z axes to go from OpenGL to OpenCV.
        let mut c2w_cv = c2w;
        for row in c2w_cv.iter_mut().take(3) {
            row[1] = -row[1];
            row[2] = -row[2];
        }
        Self::from_opencv_c2w(c2w_cv, fx, fy, cx, cy, width, height)
    }

    /// A camera from a camera-to-world matrix in OpenCV axes.
    pub fn from_opencv_c2w(c2w: Mat4, fx: f32, fy: f32, cx: f32, cy: f32, width: u32, height: u32) -> Self {
        Self { width, height, fx, fy, cx, cy, world_to_camera: rigid_inverse(&c2w) }
    }

    /// A camera at `eye` looking at `target`, `up` roughly up in the image, with vertical field of
    /// view `fov_y` (radians) and the principal point at the image centre.
    pub fn look_at(eye: [f32; 3], target: [f32; 3], up: [f32; 3], fov_y: f32, width: u32, height: u32) -> Self {
        let forward = normalize(sub(target, eye));
        let right = normalize(cross(forward, up));
        let down = cross(forward, right);
        let c2w = [
            [right[0], down[0], forward[0], eye[0]],
            [right[1], down[1], forward[1], eye[1]],
            [right[2], down[2], forward[2], eye[2]],
            [0.0, 0.0, 0.0, 1.0],
        ];
        let f = 0.5 * height as f32 / (0.5 * fov_y).tan();
        Self::from_opencv_c2w(c2w, f, f, 0.5 * width as f32, 0.5 * height as f32, width, height)
    }

    /// An orbit camera around `target` (z up): `yaw` about z, `pitch` above the horizon, radians.
    pub fn orbit(target: [f32; 3], distance: f32, yaw: f32, pitch: f32, fov_y: f32, width: u32, height: u32) -> Self {
        let eye = [
            target[0] + distance * pitch.cos() * yaw.cos(),
            target[1] + distance * pitch.cos() * yaw.sin(),
            target[2] + distance * pitch.sin(),
        ];
        Self::look_at(eye, target, [0.0, 0.0, 1.0], fov_y, width, height)
    }

    /// Camera-to-world in OpenCV axes.
    pub fn camera_to_world(&self) -> Mat4 {
        rigid_inverse(&self.world_to_camera)
    }

    /// The camera centre in world space.
    pub fn center(&self) -> [f32; 3] {
        let c2w = self.camera_to_world();
        [c2w[0][3], c2w[1][3], c2w[2][3]]
    }

    /// Same pose and field of view at another resolution.
    pub fn scaled(&self, factor: f32) -> Self {
        let width = ((self.width as f32 * factor).round() as u32).max(1);
        let height = ((self.height as f32 * factor).round() as u32).max(1);
        let sx = width as f32 / self.width as f32;
        let sy = height as f32 / self.height as f32;
        Self { width, height, fx: self.fx * sx, fy: self.fy * sy, cx: self.cx * sx, cy: self.cy * sy, ..*self }
    }

    pub fn validate(&self) -> Result<(), CameraError> {
        if self.width == 0 || self.height == 0 {
            return Err(CameraError::ZeroSize { width: self.width, height: self.height });
        }
        let intrinsics = [self.fx, self.fy, self.cx, self.cy];
        if intrinsics.iter().any(|v| !v.is_finite()) || self.fx <= 0.0 || self.fy <= 0.0 {
            return Err(CameraError::BadIntrinsics { fx: self.fx, fy: self.fy, cx: self.cx, cy: self.cy });
        }
        if self.world_to_camera.iter().flatten().any(|v| !v.is_finite()) {
            return Err(CameraError::NonFinitePose);
        }
        let r = &self.world_to_camera;
        let det = r[0][0] * (r[1][1] * r[2][2] - r[1][2] * r[2][1]) - r[0][1] * (r[1][0] * r[2][2] - r[1][2] * r[2][0])
            + r[0][2] * (r[1][0] * r[2][1] - r[1][1] * r[2][0]);
        if (det - 1.0).abs() > 1e-2 {
            return Err(CameraError::DegeneratePose { det });
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// orbit

/// Where an orbit camera is: on a sphere around `target`, z up (see [`Camera::orbit`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Orbit {
    pub target: [f32; 3],
    /// About z, radians.
    pub yaw: f32,
    /// Above the horizon, radians.
    pub pitch: f32,
    pub distance: f32,
    /// Vertical field of view, radians.
    pub fov_y: f32,
}

impl Orbit {
    /// Frames the bulk of a scene: the 5th to 95th percentile box of the means, so that a few
    /// far-away floaters do not shrink the scene to a dot. The orbit looks at the box's centre
    /// from far enough that a sphere of half the box's widest side, with a 1.2 margin, fits the
    /// vertical field of view (0.8 rad); yaw 0.6, pitch 0.45. An empty scene gets radius 1 at
    /// the origin.
    /// Takes the splats' means (`Splats::means`).
    pub fn framing(means: &[[f32; 3]]) -> Self {
        let mut target = [0.0f32; 3];
        let mut radius = 0.0f32;
        if !means.is_empty() {
            for axis in 0..3 {
                let mut values: Vec<f32> = means.iter().map(|m| m[axis]).filter(|v| v.is_finite()).collect();
                if values.is_empty() {
                    continue;
                }
                values.sort_by(f32::total_cmp);
                let at = |q: f32| values[((values.len() - 1) as f32 * q).round() as usize];
                let (lo, hi) = (at(0.05), at(0.95));
                target[axis] = 0.5 * (lo + hi);
                radius = radius.max(0.5 * (hi - lo));
            }
        }
        let fov_y = 0.8f32;
        let radius = if radius.is_finite() && radius > 1e-6 { radius } else { 1.0 };
        Self { target, yaw: 0.6, pitch: 0.45, distance: 1.2 * radius / (0.5 * fov_y).tan(), fov_y }
    }

    /// The orbit's camera at `width` x `height` pixels.
    pub fn camera(&self, width: u32, height: u32) -> Camera {
        Camera::orbit(self.target, self.distance, self.yaw, self.pitch, self.fov_y, width, height)
    }
}

/// Inverse of a rigid transform [R t; 0 1] as [R^T -R^T t; 0 1].
pub fn rigid_inverse(m: &Mat4) -> Mat4 {
    let mut out = [[0.0; 4]; 4];
    for i in 0..3 {
        for j in 0..3 {
            out[i][j] = m[j][i];
        }
        out[i][3] = -(0..3).map(|k| m[k][i] * m[k][3]).sum::<f32>();
    }
    out[3][3] = 1.0;
    out
}

fn sub(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn cross(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

fn normalize(a: [f32; 3]) -> [f32; 3] {
    let n = (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt().max(1e-20);
    [a[0] / n, a[1] / n, a[2] / n]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_at_puts_target_on_the_optical_axis() {
        let cam = Camera::look_at([3.0, 1.0, 2.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1.0], 0.8, 64, 48);
        let w = cam.world_to_camera;
        // The target (origin) maps to (0, 0, distance) in camera space.
        let p = [w[0][3], w[1][3], w[2][3]];
        assert!(p[0].abs() < 1e-5 && p[1].abs() < 1e-5);
        assert!((p[2] - 14f32.sqrt()).abs() < 1e-5);
        cam.validate().unwrap();
        let c = cam.center();
        assert!((c[0] - 3.0).abs() < 1e-5 && (c[1] - 1.0).abs() < 1e-5 && (c[2] - 2.0).abs() < 1e-5);
    }

    /// Pixel coordinates and depth of a world point.
    fn project(cam: &Camera, p: [f32; 3]) -> (f32, f32, f32) {
        let w = cam.world_to_camera;
        let c: [f32; 3] = std::array::from_fn(|i| w[i][0] * p[0] + w[i][1] * p[1] + w[i][2] * p[2] + w[i][3]);
        (cam.fx * c[0] / c[2] + cam.cx, cam.fy * c[1] / c[2] + cam.cy, c[2])
    }

    #[test]
    fn framing_looks_at_the_bulk_and_fits_it() {
        // An 11^3 grid in the box center ± 1, and 1.5% floaters far away on both sides.
        let center = [1.0f32, -2.0, 0.5];
        let mut means = Vec::new();
        for i in 0..11 * 11 * 11 {
            let g = [i % 11, i / 11 % 11, i / 121].map(|k| k as f32 / 5.0 - 1.0);
            means.push(std::array::from_fn(|a| center[a] + g[a]));
        }
        for i in 0..20 {
            means.push([if i % 2 == 0 { 1000.0 } else { -1000.0 }; 3]);
        }
        let orbit = Orbit::framing(&means);
        assert!(orbit.target.iter().zip(center).all(|(t, c)| (t - c).abs() < 1e-5), "target {:?}", orbit.target);
        // The floaters do not count: radius 1.
        assert!((orbit.distance - 1.2 / (0.5 * orbit.fov_y).tan()).abs() < 1e-4, "distance {}", orbit.distance);
        let cam = orbit.camera(64, 48);
        cam.validate().unwrap();
        let eye = cam.center();
        let d = (0..3).map(|a| (eye[a] - center[a]).powi(2)).sum::<f32>().sqrt();
        assert!((d - orbit.distance).abs() < 1e-4);
        // The camera looks at the centre: it lands on the principal point.
        let (u, v, z) = project(&cam, center);
        assert!((u - cam.cx).abs() < 1e-3 && (v - cam.cy).abs() < 1e-3 && z > 0.0);
        // The sphere of radius 1 round the centre is in view, with a margin.
        for i in 0..200 {
            let (t, p) = (i as f32 * 2.399_963, (i as f32 + 0.5) / 200.0 * 2.0 - 1.0);
            let h = (1.0 - p * p).sqrt();
            let point = [center[0] + h * t.cos(), center[1] + h * t.sin(), center[2] + p];
            let (u, v, z) = project(&cam, point);
            assert!(z > 0.0 && (2.0..62.0).contains(&u) && (2.0..46.0).contains(&v), "point {point:?} at ({u}, {v})");
        }
    }

    #[test]
    fn framing_an_empty_scene() {
        let orbit = Orbit::framing(&[]);
        assert_eq!(orbit.target, [0.0; 3]);
        assert!((orbit.distance - 1.2 / (0.5 * orbit.fov_y).tan()).abs() < 1e-6);
        orbit.camera(8, 8).validate().unwrap();
    }

    #[test]
    fn validate_rejects_bad_cameras() {
        let good = Camera::look_at([0.0, -3.0, 0.0], [0.0; 3], [0.0, 0.0, 1.0], 0.8, 8, 8);
        assert!(matches!(Camera { width: 0, ..good }.validate(), Err(CameraError::ZeroSize { .. })));
        assert!(matches!(Camera { fx: f32::NAN, ..good }.validate(), Err(CameraError::BadIntrinsics { .. })));
        let mut nan_pose = good;
        nan_pose.world_to_camera[1][3] = f32::INFINITY;
        assert_eq!(nan_pose.validate(), Err(CameraError::NonFinitePose));
        let mut squashed = good;
        squashed.world_to_camera[0] = [0.0; 4];
        assert!(matches!(squashed.validate(), Err(CameraError::DegeneratePose { .. })));
    }
}
