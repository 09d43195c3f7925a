//! antimatter15's `.splat` (the format of his WebGL viewer, also read and written by
//! PlayCanvas's splat-transform): no header, 32 bytes per Gaussian, little-endian:
//! position (3 × f32), scale (3 × f32, linear standard deviations: exp of our log-scales),
//! colour RGBA (4 × u8: `0.5 + SH_C0 × f_dc` and sigmoid(opacity), × 255) and rotation
//! (4 × u8: the normalized quaternion w, x, y, z as `q × 128 + 128`). There are no SH bands
//! beyond the DC term: the reader gives SH degree 0 and the writer drops the higher bands.
//!
//! Coordinates are stored as given, as splat-transform does (it bakes to PLY space, which is
//! ours). antimatter15's converter also sorts splats by size × opacity so a partial download
//! shows the big ones first; we keep the input order, which every reader accepts.
//!
//! We round where splat-transform truncates (colour and rotation bytes), halving the worst-case
//! error, and decode a rotation byte as `(b − 128) / 128` like antimatter15's viewer and our
//! writer (splat-transform's reader uses `b / 127.5 − 1`, half a step off; all normalize after).
//!
//! # Quantization error of a write → read round trip
//! - position: exact;
//! - log-scale: ≤ 1.2e-7 × (1 + |s|) (an f32 exp and log) for log-scales in [-87.3, 88.7], the
//!   f32 range of exp; outside it the stored scale saturates at the smallest normal or the
//!   largest finite f32;
//! - rotation: ≤ 0.012 per component of the normalized quaternion, up to sign (each byte rounds
//!   to a step of 1/128, and renormalizing can add about as much again);
//! - opacity: ≤ 0.5/255 ≈ 1.96e-3 after the sigmoid (alpha bytes 0 and 255 read as opacities
//!   1e-6 and 1 − 1e-6, as splat-transform does, so the logit stays finite);
//! - DC colour: ≤ 0.5/(255 × SH_C0) ≈ 6.95e-3 for f_dc in [-1.77, 1.77] (colours 0 to 1);
//! - SH bands 1..3: dropped.
//!
//! The reader checks the length before allocating and refuses non-finite positions and scales
//! that are negative or not finite, with a [`DotSplatError`] naming the file, never a panic.
//! A stored scale of exactly 0 (a flat splat, or an underflowed exp) reads as the smallest
//! normal f32 so its log stays finite. An empty file reads as zero splats.

use super::{MAX_FILE_SPLATS, SH_C0, Splats, SplatsError};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum DotSplatError {
    #[error("{file}: not a .splat file: its {length} bytes are not a whole number of 32-byte Gaussians ({} bytes left over)", length % 32)]
    Length { file: String, length: usize },
    #[error("{file}: {count} Gaussians are more than the {MAX_FILE_SPLATS} wgsplat reads from one file")]
    TooMany { file: String, count: u64 },
    #[error("{file}: Gaussian {index} has scale {value}; .splat scales are standard deviations, positive and finite")]
    BadScale { file: String, index: usize, value: f32 },
    #[error("{file}: invalid Gaussians: {source}")]
    Invalid {
        file: String,
        #[source]
        source: SplatsError,
    },
    #[error("cannot write .splat: invalid Gaussians: {0}")]
    WriteInvalid(#[source] SplatsError),
    #[error("cannot write .splat: {count} Gaussians are more than the {MAX_FILE_SPLATS} any reader here accepts")]
    WriteTooMany { count: usize },
}

const BYTES_PER_SPLAT: usize = 32;
/// Alpha bytes 0 and 255 would give an infinite logit; clamp as splat-transform does.
const ALPHA_EPS: f64 = 1e-6;

fn f32_at(record: &[u8], at: usize) -> f32 {
    f32::from_le_bytes([record[at], record[at + 1], record[at + 2], record[at + 3]])
}

/// The number of Gaussians in a `.splat` file (its length over 32: the format has no header
/// and no compression, so the count is always what the file pays for) and its SH degree, 0,
/// refused as [`read_splat`] would refuse the length.
pub fn peek_splat(bytes: &[u8], file: &str) -> Result<(u64, u32), DotSplatError> {
    if !bytes.len().is_multiple_of(BYTES_PER_SPLAT) {
        return Err(DotSplatError::Length { file: file.into(), length: bytes.len() });
    }
    let n = (bytes.len() / BYTES_PER_SPLAT) as u64;
    if n > MAX_FILE_SPLATS {
        return Err(DotSplatError::TooMany { file: file.into(), count: n });
    }
    Ok((n, 0))
}

/// Reads splats from a `.splat` file.
pub fn read_splat(bytes: &[u8], file: &str) -> Result<Splats, DotSplatError> {
    let n = peek_splat(bytes, file)?.0 as usize;
    let mut out = Splats {
        means: Vec::with_capacity(n),
        rotations: Vec::with_capacity(n),
        log_scales: Vec::with_capacity(n),
        opacity_logits: Vec::with_capacity(n),
        sh: Vec::with_capacity(n * 3),
        sh_degree: 0,
    };
    for (index, r) in bytes.chunks_exact(BYTES_PER_SPLAT).enumerate() {
        out.means.push([f32_at(r, 0), f32_at(r, 4), f32_at(r, 8)]);
        let mut log_scale = [0.0; 3];
        for (a, l) in log_scale.iter_mut().enumerate() {
            let value = f32_at(r, 12 + 4 * a);
            if !(value >= 0.0 && value.is_finite()) {
                return Err(DotSplatError::BadScale { file: file.into(), index, value });
            }
            *l = f64::from(value.max(f32::MIN_POSITIVE)).ln() as f32;
        }
        out.log_scales.push(log_scale);
        out.sh.extend([24, 25, 26].map(|at| (f32::from(r[at]) / 255.0 - 0.5) / SH_C0));
        let a = (f64::from(r[27]) / 255.0).clamp(ALPHA_EPS, 1.0 - ALPHA_EPS);
        out.opacity_logits.push((a / (1.0 - a)).ln() as f32);
        let q = [28, 29, 30, 31].map(|at| (f32::from(r[at]) - 128.0) / 128.0);
        let norm = q.iter().map(|v| v * v).sum::<f32>().sqrt();
        // All four bytes 128 is no rotation at all: read it as the identity.
        out.rotations.push(if norm > 0.0 { q.map(|v| v / norm) } else { [1.0, 0.0, 0.0, 0.0] });
    }
    out.validate().map_err(|source| DotSplatError::Invalid { file: file.into(), source })?;
    Ok(out)
}

/// Rounds to the nearest byte, saturating.
fn to_u8(x: f64) -> u8 {
    x.round().clamp(0.0, 255.0) as u8
}

/// Writes splats as `.splat` (SH bands above the DC term are dropped).
pub fn write_splat(splats: &Splats) -> Result<Vec<u8>, DotSplatError> {
    splats.validate().map_err(DotSplatError::WriteInvalid)?;
    let n = splats.len();
    if n as u64 > MAX_FILE_SPLATS {
        return Err(DotSplatError::WriteTooMany { count: n });
    }
    let k3 = splats.coeffs_per_splat() * 3;
    let mut out = Vec::with_capacity(n * BYTES_PER_SPLAT);
    for (i, dc) in splats.sh.chunks_exact(k3).enumerate().take(n) {
        out.extend(splats.means[i].iter().flat_map(|v| v.to_le_bytes()));
        for &s in &splats.log_scales[i] {
            // Saturate so the file never holds a 0 or infinite scale.
            let scale = (f64::from(s).exp() as f32).clamp(f32::MIN_POSITIVE, f32::MAX);
            out.extend(scale.to_le_bytes());
        }
        out.extend(dc[..3].iter().map(|&c| to_u8((0.5 + f64::from(SH_C0) * f64::from(c)) * 255.0)));
        out.push(to_u8(255.0 / (1.0 + (-f64::from(splats.opacity_logits[i])).exp())));
        let q = splats.rotations[i].map(f64::from);
        let norm = q.iter().map(|v| v * v).sum::<f64>().sqrt();
        out.extend(q.map(|v| to_u8(v / norm * 128.0 + 128.0)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix;
    use crate::scene::sh_coeffs_for_degree;
    use crate::scene::test_support::{rotation_error, sigmoid};

    fn random_splats(n: usize, degree: u32, seed: u64) -> Splats {
        let mut rng = SplitMix(seed);
        let k = sh_coeffs_for_degree(degree);
        let mut s = Splats { sh_degree: degree, ..Default::default() };
        for _ in 0..n {
            s.means.push([rng.signed() * 1e4, rng.normal(), rng.signed() * 1e-3]);
            let scale = 0.1 + 3.0 * rng.next_f32();
            s.rotations.push([rng.normal() * scale, rng.normal() * scale, rng.normal() * scale, rng.normal() * scale + 0.01]);
            s.log_scales.push([0, 1, 2].map(|_| rng.signed() * 87.0));
            s.opacity_logits.push(rng.signed() * 8.0);
            for c in 0..k * 3 {
                s.sh.push(if c < 3 { rng.signed() * 1.77 } else { rng.signed() });
            }
        }
        s
    }

    fn assert_within_bounds(orig: &Splats, back: &Splats) {
        assert_eq!(back.len(), orig.len());
        assert_eq!(back.sh_degree, 0);
        let k3 = orig.coeffs_per_splat() * 3;
        for i in 0..orig.len() {
            assert_eq!(back.means[i], orig.means[i]);
            for a in 0..3 {
                let s = orig.log_scales[i][a];
                let e = (s - back.log_scales[i][a]).abs();
                assert!(e <= 1.2e-7 * (1.0 + s.abs()), "log-scale {i}: {e}");
            }
            let e = rotation_error(orig.rotations[i], back.rotations[i]);
            assert!(e <= 0.012, "rotation {i}: {e} {:?} {:?}", orig.rotations[i], back.rotations[i]);
            let e = (sigmoid(orig.opacity_logits[i]) - sigmoid(back.opacity_logits[i])).abs();
            assert!(e <= 0.5 / 255.0 + 1e-6, "opacity {i}: {e}");
            for c in 0..3 {
                let e = (orig.sh[i * k3 + c] - back.sh[i * 3 + c]).abs();
                assert!(e <= 0.5 / (255.0 * SH_C0) + 1e-5, "colour {i}: {e}");
            }
        }
    }

    #[test]
    fn round_trips_within_the_documented_bounds() {
        for degree in 0..=3 {
            for (n, seed) in [(0, 1), (1, 2), (7, 3), (1000, 4)] {
                let s = random_splats(n, degree, seed + 10 * u64::from(degree));
                let bytes = write_splat(&s).unwrap();
                assert_eq!(bytes.len(), n * 32);
                let back = read_splat(&bytes, "t.splat").unwrap();
                assert_within_bounds(&s, &back);
            }
        }
    }

    #[test]
    fn rotations_near_axes_stay_within_bounds() {
        let h = std::f32::consts::FRAC_1_SQRT_2;
        let quats = [
            [1.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, -1.0],
            [h, h, 0.0, 0.0],
            [0.5, -0.5, 0.5, -0.5],
            [0.999, 0.04, 0.0, 0.0],
            [-0.997, 0.0, 0.07, 0.02],
        ];
        let mut s = random_splats(quats.len(), 0, 5);
        s.rotations = quats.to_vec();
        assert_within_bounds(&s, &read_splat(&write_splat(&s).unwrap(), "t.splat").unwrap());
        // The worst case over many random rotations.
        let s = random_splats(20_000, 0, 6);
        assert_within_bounds(&s, &read_splat(&write_splat(&s).unwrap(), "t.splat").unwrap());
    }

    #[test]
    fn layout_matches_the_format() {
        let s = Splats {
            means: vec![[1.0, -2.0, 3.5]],
            rotations: vec![[2.0, 0.0, 0.0, 0.0]],
            log_scales: vec![[0.0, 1.0f32.ln(), 2.0f32.ln()]],
            opacity_logits: vec![0.0],
            sh: vec![0.0, 1.0 / SH_C0, -1.0 / SH_C0, 0.1, 0.2, 0.3, 0.1, 0.2, 0.3, 0.1, 0.2, 0.3],
            sh_degree: 1,
        };
        let b = write_splat(&s).unwrap();
        assert_eq!(f32_at(&b, 0), 1.0);
        assert_eq!(f32_at(&b, 8), 3.5);
        assert_eq!(f32_at(&b, 12), 1.0);
        assert!((f32_at(&b, 20) - 2.0).abs() < 1e-6);
        // 0.5 × 255 rounds up; colours saturate; identity rotation is (255, 128, 128, 128).
        assert_eq!(b[24..32], [128, 255, 0, 128, 255, 128, 128, 128]);
    }

    #[test]
    fn extreme_values_stay_finite() {
        let mut s = random_splats(2, 0, 7);
        s.log_scales[0] = [-200.0, 200.0, 0.0];
        s.opacity_logits = vec![-50.0, 50.0];
        let back = read_splat(&write_splat(&s).unwrap(), "t.splat").unwrap();
        assert!((back.log_scales[0][0] - f32::MIN_POSITIVE.ln()).abs() < 1e-5, "{:?}", back.log_scales[0]);
        assert!((back.log_scales[0][1] - f32::MAX.ln()).abs() < 1e-5, "{:?}", back.log_scales[0]);
        assert!(back.opacity_logits.iter().all(|o| o.is_finite()));
        // Zero scales and all-128 rotations from other writers read as finite splats.
        let mut bytes = write_splat(&s).unwrap();
        bytes[12..16].copy_from_slice(&0.0f32.to_le_bytes());
        bytes[28..32].copy_from_slice(&[128; 4]);
        let back = read_splat(&bytes, "t.splat").unwrap();
        assert_eq!(back.rotations[0], [1.0, 0.0, 0.0, 0.0]);
        assert!(back.log_scales[0][0].is_finite());
    }

    #[test]
    fn bad_inputs_give_errors_naming_the_file() {
        let good = write_splat(&random_splats(10, 0, 8)).unwrap();
        for cut in [1, 31, 33, 100, good.len() - 1] {
            let err = read_splat(&good[..cut], "bad.splat").unwrap_err().to_string();
            assert!(err.contains("bad.splat") && err.contains(&format!("{cut} bytes")), "{err}");
        }
        assert_eq!(read_splat(&[], "e.splat").unwrap().len(), 0);
        for (at, value) in [(0, f32::NAN), (4, f32::INFINITY), (12, -1.0), (16, f32::NAN), (20, f32::INFINITY)] {
            let mut bad = good.clone();
            bad[32 + at..36 + at].copy_from_slice(&value.to_le_bytes());
            let err = read_splat(&bad, "bad.splat").unwrap_err().to_string();
            assert!(err.contains("bad.splat"), "{err}");
            if at >= 12 {
                assert!(err.contains("Gaussian 1 has scale"), "{err}");
            }
        }
        // Random bytes read as splats or fail cleanly.
        let mut rng = SplitMix(10);
        for _ in 0..200 {
            let bytes: Vec<u8> = (0..32 * 8).map(|_| rng.next_u64() as u8).collect();
            if let Ok(s) = read_splat(&bytes, "r.splat") {
                s.validate().unwrap();
            }
        }
        let mut s = random_splats(3, 0, 9);
        s.opacity_logits[2] = f32::INFINITY;
        assert!(matches!(write_splat(&s), Err(DotSplatError::WriteInvalid(_))));
    }
}
