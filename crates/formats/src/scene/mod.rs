//! A scene of 3D Gaussians on the CPU, the file formats it is shared in (standard and
//! compressed PLY, SPZ, SOG, antimatter15's `.splat`; [`format`] picks one by name or content)
//! and the built-in demo scene.

pub mod antimatter_splat;
pub mod compressed_ply;
pub mod demo;
pub mod format;
mod morton;
pub mod ply;
pub mod sog;
pub mod spz;
#[cfg(test)]
mod test_support;

use thiserror::Error;

/// The most Gaussians any reader accepts from one file (about 16 GB as f32 SH-3 splats, far
/// past any GPU's buffer limits): a header that claims more is corrupt or hostile, and
/// refusing it keeps a decompressor from expanding a small file without end.
pub const MAX_FILE_SPLATS: u64 = 64 * 1024 * 1024;

/// The SH DC basis constant: colour = 0.5 + SH_C0 * f_dc (before the view-dependent bands).
pub const SH_C0: f32 = 0.282_094_8;

/// Number of SH coefficients per colour channel for a degree.
pub const fn sh_coeffs_for_degree(degree: u32) -> usize {
    ((degree + 1) * (degree + 1)) as usize
}

#[derive(Debug, Error, PartialEq)]
pub enum SplatsError {
    #[error("SH degree {0} is not supported (0 to 3)")]
    ShDegree(u32),
    #[error("splat arrays disagree in length: {0}")]
    LengthMismatch(String),
    #[error("splat {index} has a non-finite {field}")]
    NonFinite { index: usize, field: &'static str },
}

/// N Gaussians in the layout of the original 3DGS (and gsplat's `rasterization()`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Splats {
    /// World positions.
    pub means: Vec<[f32; 3]>,
    /// Rotation quaternions (w, x, y, z), not necessarily normalized.
    pub rotations: Vec<[f32; 4]>,
    /// Log of the per-axis standard deviations.
    pub log_scales: Vec<[f32; 3]>,
    /// Opacity before the sigmoid.
    pub opacity_logits: Vec<f32>,
    /// SH coefficients, `[N][K][3]`: splat-major, then coefficient, then RGB; K = (degree+1)^2.
    pub sh: Vec<f32>,
    pub sh_degree: u32,
}

impl Splats {
    /// No splats yet, room for `n` (what readers fill), and the SH of all `n` as zeros, to be
    /// written in place.
    pub fn with_capacity(n: usize, sh_degree: u32) -> Self {
        Splats {
            means: Vec::with_capacity(n),
            rotations: Vec::with_capacity(n),
            log_scales: Vec::with_capacity(n),
            opacity_logits: Vec::with_capacity(n),
            sh: vec![0.0; n * sh_coeffs_for_degree(sh_degree) * 3],
            sh_degree,
        }
    }

    pub fn len(&self) -> usize {
        self.means.len()
    }

    pub fn is_empty(&self) -> bool {
        self.means.is_empty()
    }

    pub fn coeffs_per_splat(&self) -> usize {
        sh_coeffs_for_degree(self.sh_degree)
    }

    /// Checks lengths, degree and that every value is finite.
    pub fn validate(&self) -> Result<(), SplatsError> {
        if self.sh_degree > 3 {
            return Err(SplatsError::ShDegree(self.sh_degree));
        }
        let n = self.len();
        let k = self.coeffs_per_splat();
        if self.rotations.len() != n || self.log_scales.len() != n || self.opacity_logits.len() != n || self.sh.len() != n * k * 3 {
            return Err(SplatsError::LengthMismatch(format!(
                "{n} means, {} rotations, {} scales, {} opacities, {} SH values (expected {})",
                self.rotations.len(),
                self.log_scales.len(),
                self.opacity_logits.len(),
                self.sh.len(),
                n * k * 3
            )));
        }
        for i in 0..n {
            let checks: [(&'static str, bool); 5] = [
                ("position", self.means[i].iter().all(|v| v.is_finite())),
                ("rotation", self.rotations[i].iter().all(|v| v.is_finite()) && self.rotations[i].iter().any(|v| *v != 0.0)),
                ("scale", self.log_scales[i].iter().all(|v| v.is_finite())),
                ("opacity", self.opacity_logits[i].is_finite()),
                ("SH coefficient", self.sh[i * k * 3..(i + 1) * k * 3].iter().all(|v| v.is_finite())),
            ];
            if let Some((field, _)) = checks.iter().find(|(_, ok)| !ok) {
                return Err(SplatsError::NonFinite { index: i, field });
            }
        }
        Ok(())
    }

    /// Axis-aligned bounds of the means, or None when empty.
    pub fn bounds(&self) -> Option<([f32; 3], [f32; 3])> {
        let first = *self.means.first()?;
        Some(self.means.iter().fold((first, first), |(lo, hi), m| {
            ([lo[0].min(m[0]), lo[1].min(m[1]), lo[2].min(m[2])], [hi[0].max(m[0]), hi[1].max(m[1]), hi[2].max(m[2])])
        }))
    }
}
