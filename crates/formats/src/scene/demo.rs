//! The built-in demo scene, generated in code so the viewer has something to show without a
//! file: a striped ball inside a tilted rainbow torus, over a checkered ground disc, with a ring
//! of fuzzy coloured blobs. About 33k Gaussians, SH degree 3 (the torus has a sheen and the
//! ball a glint that move as the view orbits), z up, everything within 1.5 of the origin.

use super::{SH_C0, Splats, sh_coeffs_for_degree};
use crate::camera::{Camera, Orbit};
use crate::rng::SplitMix;
use std::f32::consts::{PI, TAU};

/// Where the default camera looks.
pub const DEMO_TARGET: [f32; 3] = [0.0, 0.0, -0.1];
/// Distance of the default orbit camera from [`DEMO_TARGET`].
pub const DEMO_ORBIT_DISTANCE: f32 = 4.0;
/// Default yaw about z and pitch above the horizon, radians.
pub const DEMO_YAW: f32 = 0.6;
pub const DEMO_PITCH: f32 = 0.45;
/// Vertical field of view of the default camera, radians (frames a radius of 1.5 with margin).
pub const DEMO_FOV_Y: f32 = 0.8;
/// Every mean lies within this distance of the origin.
pub const DEMO_RADIUS: f32 = 1.5;

const SH_DEGREE: u32 = 3;
const K: usize = sh_coeffs_for_degree(SH_DEGREE);

/// The default orbit around the demo scene.
pub fn demo_orbit() -> Orbit {
    Orbit { target: DEMO_TARGET, yaw: DEMO_YAW, pitch: DEMO_PITCH, distance: DEMO_ORBIT_DISTANCE, fov_y: DEMO_FOV_Y }
}

/// The default view of the demo scene.
pub fn demo_camera(width: u32, height: u32) -> Camera {
    demo_orbit().camera(width, height)
}

/// The demo scene. Deterministic: the same call gives bit-identical splats on every platform
/// (only basic float arithmetic and std's `sin`/`cos`, no external randomness).
pub fn demo_scene() -> Splats {
    let mut b = Builder { splats: Splats { sh_degree: SH_DEGREE, ..Default::default() }, rng: SplitMix(0x5EED_0FD3) };
    ground(&mut b);
    torus(&mut b);
    ball(&mut b);
    blobs(&mut b);
    b.splats
}

struct Builder {
    splats: Splats,
    rng: SplitMix,
}

/// One Gaussian to add: `normal` is the axis its thin `scale[2]` goes along.
struct Splat {
    mean: [f32; 3],
    normal: [f32; 3],
    scale: [f32; 3],
    opacity: f32,
    rgb: [f32; 3],
    /// Higher-order SH coefficients 1..K, per channel, added to the base colour.
    view: [[f32; 3]; K - 1],
}

impl Builder {
    fn push(&mut self, s: Splat) {
        let sp = &mut self.splats;
        sp.means.push(s.mean);
        sp.rotations.push(quat_z_to(s.normal));
        sp.log_scales.push(s.scale.map(f32::ln));
        // logit, with the opacity kept away from 0 and 1 so it stays finite.
        let o = s.opacity.clamp(0.01, 0.99);
        sp.opacity_logits.push((o / (1.0 - o)).ln());
        sp.sh.extend(s.rgb.map(|c| (c - 0.5) / SH_C0));
        sp.sh.extend(s.view.iter().flatten());
    }
}

/// A quaternion (w, x, y, z) rotating +z onto the unit vector `n`.
fn quat_z_to(n: [f32; 3]) -> [f32; 4] {
    if n[2] < -0.9999 {
        return [0.0, 1.0, 0.0, 0.0];
    }
    // Half-way quaternion: (1 + z.n, z x n), normalized.
    let q = [1.0 + n[2], -n[1], n[0], 0.0];
    let len = q.iter().map(|v| v * v).sum::<f32>().sqrt();
    q.map(|v| v / len)
}

/// HSV to RGB with full value, for rainbow colours.
fn hue(h: f32, saturation: f32) -> [f32; 3] {
    let h = h.rem_euclid(1.0) * 6.0;
    let f = |n: f32| {
        let k = (n + h).rem_euclid(6.0);
        1.0 - saturation * (k.min(4.0 - k)).clamp(0.0, 1.0)
    };
    [f(5.0), f(3.0), f(1.0)]
}

fn mix(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t]
}

/// A ground disc at z = -0.6: polar checkerboard, fading at the rim. Sunflower sampling
/// (golden-angle spiral) spaces the splats evenly without a grid's moiré.
fn ground(b: &mut Builder) {
    const N: usize = 9000;
    const RADIUS: f32 = 1.3;
    let golden = PI * (3.0 - 5f32.sqrt());
    let spacing = RADIUS * (PI / N as f32).sqrt();
    for i in 0..N {
        let r = RADIUS * ((i as f32 + 0.5) / N as f32).sqrt();
        let a = i as f32 * golden;
        let ring = (r / 0.2) as i32;
        let sector = ((a.rem_euclid(TAU) / TAU) * 16.0) as i32;
        let checker = (ring + sector) % 2 == 0;
        let base = if checker { [0.93, 0.88, 0.78] } else { [0.25, 0.33, 0.48] };
        let shade = 0.9 + 0.1 * b.rng.signed();
        let rgb = base.map(|c| c * shade);
        let s = spacing * (0.75 + 0.1 * b.rng.next_f32());
        b.push(Splat {
            mean: [r * a.cos(), r * a.sin(), -0.6],
            normal: [0.0, 0.0, 1.0],
            scale: [s, s, 0.002],
            opacity: 0.95 - 0.8 * ((r - 1.1) / 0.2).clamp(0.0, 1.0),
            rgb,
            view: [[0.0; 3]; K - 1],
        });
    }
}

/// A torus around the ball, tilted 25 degrees about x: rainbow hue around the ring, darker
/// bands around the tube, and a degree-1/2 sheen so its colour shifts with the view.
fn torus(b: &mut Builder) {
    const NU: usize = 160;
    const NV: usize = 72;
    const MAJOR: f32 = 0.75;
    const MINOR: f32 = 0.18;
    let (ts, tc) = 0.436f32.sin_cos();
    let tilt = |p: [f32; 3]| [p[0], tc * p[1] - ts * p[2], ts * p[1] + tc * p[2] + 0.05];
    for iu in 0..NU {
        for iv in 0..NV {
            let u = (iu as f32 + 0.3 * b.rng.signed()) / NU as f32 * TAU;
            let v = (iv as f32 + 0.3 * b.rng.signed()) / NV as f32 * TAU;
            let n = [v.cos() * u.cos(), v.cos() * u.sin(), v.sin()];
            let p = [(MAJOR + MINOR * v.cos()) * u.cos(), (MAJOR + MINOR * v.cos()) * u.sin(), MINOR * v.sin()];
            let band = 0.75 + 0.25 * (3.0 * v).cos();
            let rgb = hue(u / TAU, 0.8).map(|c| c * band);
            // Splat size follows the local circumference so the surface stays closed.
            let su = (MAJOR + MINOR * v.cos()) * TAU / NU as f32 * 0.7;
            let sv = MINOR * TAU / NV as f32 * 0.7;
            let mut view = [[0.0; 3]; K - 1];
            // Degree 1 (coefficients 1..3 ~ y, z, x): a warm sheen seen from +x+z, cool from -x.
            view[1] = [0.12, 0.08, -0.05];
            view[2] = [-0.15, -0.05, 0.2];
            // Degree 2: a little extra glint from the poles.
            view[5] = [0.06, 0.06, 0.06];
            // Round in the surface plane, so only the normal matters for the orientation.
            let s = 0.5 * (su + sv);
            b.push(Splat { mean: tilt(p), normal: tilt_dir(n, ts, tc), scale: [s, s, 0.003], opacity: 0.97, rgb, view });
        }
    }
}

fn tilt_dir(n: [f32; 3], ts: f32, tc: f32) -> [f32; 3] {
    [n[0], tc * n[1] - ts * n[2], ts * n[1] + tc * n[2]]
}

/// A beach ball at the centre: six coloured gores and white caps, with degree-3 coefficients
/// that add a moving glint.
fn ball(b: &mut Builder) {
    const N: usize = 9000;
    const RADIUS: f32 = 0.42;
    const CENTRE: [f32; 3] = [0.0, 0.0, 0.05];
    let golden = PI * (3.0 - 5f32.sqrt());
    let colours = [[0.95, 0.2, 0.2], [0.98, 0.8, 0.15], [0.2, 0.7, 0.3], [0.2, 0.45, 0.95], [0.95, 0.5, 0.1], [0.6, 0.25, 0.85]];
    let spacing = RADIUS * (4.0 * PI / N as f32).sqrt();
    for i in 0..N {
        // Fibonacci sphere: even points on the sphere.
        let z = 1.0 - 2.0 * (i as f32 + 0.5) / N as f32;
        let r = (1.0 - z * z).max(0.0).sqrt();
        let a = i as f32 * golden;
        let n = [r * a.cos(), r * a.sin(), z];
        let gore = ((a.rem_euclid(TAU) / TAU) * 6.0) as usize % 6;
        let rgb = if z.abs() > 0.85 { [0.97, 0.97, 0.95] } else { colours[gore] };
        let mut view = [[0.0; 3]; K - 1];
        // Degree 3 (coefficients 9..15): a white glint that travels over the ball as it turns.
        view[8] = [0.1, 0.1, 0.1];
        view[10] = [-0.08, -0.08, -0.08];
        view[14] = [0.07, 0.07, 0.07];
        let s = spacing * 0.7;
        b.push(Splat {
            mean: [CENTRE[0] + RADIUS * n[0], CENTRE[1] + RADIUS * n[1], CENTRE[2] + RADIUS * n[2]],
            normal: n,
            scale: [s, s, 0.002],
            opacity: 0.98,
            rgb,
            view,
        });
    }
}

/// Six soft, saturated blobs on a ring outside the torus, at alternating heights.
fn blobs(b: &mut Builder) {
    const PER_BLOB: usize = 600;
    const RING: f32 = 1.1;
    for blob in 0..6 {
        let a = blob as f32 / 6.0 * TAU + 0.5;
        let centre = [RING * a.cos(), RING * a.sin(), if blob % 2 == 0 { 0.25 } else { -0.3 }];
        let core = hue(blob as f32 / 6.0 + 0.08, 0.9);
        for _ in 0..PER_BLOB {
            let d = [b.rng.normal(), b.rng.normal(), b.rng.normal()].map(|v| v.clamp(-2.5, 2.5) * 0.05);
            let dist = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
            // Whiter in the middle, the blob's colour at the edge.
            let rgb = mix([1.0, 1.0, 1.0], core, (dist / 0.08).clamp(0.3, 1.0));
            let s = 0.012 + 0.01 * b.rng.next_f32();
            let normal = {
                let v = [b.rng.signed(), b.rng.signed(), b.rng.signed() + 1e-3];
                let l = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt().max(1e-6);
                v.map(|c| c / l)
            };
            b.push(Splat {
                mean: [centre[0] + d[0], centre[1] + d[1], centre[2] + d[2]],
                normal,
                scale: [s, s * 0.8, s * 0.6],
                opacity: 0.5,
                rgb,
                view: [[0.0; 3]; K - 1],
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_scene_is_deterministic_and_valid() {
        let a = demo_scene();
        let b = demo_scene();
        assert_eq!(a, b);
        a.validate().unwrap();
        assert_eq!(a.sh_degree, 3);
        assert!((20_000..=50_000).contains(&a.len()), "{} splats", a.len());
        // Some view-dependent colour is present.
        let k = a.coeffs_per_splat();
        assert!(a.sh.chunks_exact(k * 3).any(|s| s[3..].iter().any(|v| *v != 0.0)));
    }

    #[test]
    fn demo_scene_is_in_bounds() {
        let s = demo_scene();
        for (i, m) in s.means.iter().enumerate() {
            let r = (m[0] * m[0] + m[1] * m[1] + m[2] * m[2]).sqrt();
            assert!(r <= DEMO_RADIUS, "splat {i} at {m:?} is {r} from the origin");
        }
        // Scales are small and rotations unit length.
        for (q, ls) in s.rotations.iter().zip(&s.log_scales) {
            let len = q.iter().map(|v| v * v).sum::<f32>().sqrt();
            assert!((len - 1.0).abs() < 1e-4);
            assert!(ls.iter().all(|v| v.exp() < 0.05));
        }
        let (lo, hi) = s.bounds().unwrap();
        assert!(lo[2] >= -0.61 && hi[2] > 0.3, "{lo:?} {hi:?}");
    }

    #[test]
    fn demo_camera_frames_the_scene() {
        let cam = demo_camera(640, 480);
        cam.validate().unwrap();
        let c = cam.center();
        let d = ((c[0] - DEMO_TARGET[0]).powi(2) + (c[1] - DEMO_TARGET[1]).powi(2) + (c[2] - DEMO_TARGET[2]).powi(2)).sqrt();
        assert!((d - DEMO_ORBIT_DISTANCE).abs() < 1e-4);
        assert!(c[2] > 0.0, "camera looks down on the scene");
        // Every splat is in front of the camera and projects inside a slightly padded image.
        let w = cam.world_to_camera;
        for m in demo_scene().means {
            let p: [f32; 3] = std::array::from_fn(|r| w[r][0] * m[0] + w[r][1] * m[1] + w[r][2] * m[2] + w[r][3]);
            assert!(p[2] > 1.0);
            let (u, v) = (cam.fx * p[0] / p[2] + cam.cx, cam.fy * p[1] / p[2] + cam.cy);
            assert!((-0.05 * 640.0..1.05 * 640.0).contains(&u) && (-0.05 * 480.0..1.05 * 480.0).contains(&v), "{m:?} -> {u},{v}");
        }
    }
}
