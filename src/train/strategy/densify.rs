//! Adaptive density control as in 3DGS: clone small splats and split large ones whose averaged
//! view-space gradient is high, prune transparent and oversized ones, and reset opacities. What
//! both of its twins share: the settings, the limits a round compares with, the counter-based
//! random numbers of split samples (`split_normal`, as densify_apply.wgsl draws them), the state
//! on the CPU (splats, Adam moments, statistics) and the report. The GPU runs it
//! (`densify_gpu`); `cpu` is its plain CPU twin.

use crate::Splats;

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct DensifyConfig {
    /// When density control runs, in views (3DGS: from view 500 every 100 until view 15,000,
    /// opacities reset every 3,000); a run of B views a step divides these by B.
    pub start_views: u32,
    pub every_views: u32,
    pub stop_views: u32,
    pub opacity_reset_every_views: u32,
    /// Mean |d loss / d mean2d| (NDC units) above which a splat grows.
    pub grad_threshold: f32,
    /// Splats larger than this fraction of the scene extent are split, smaller ones cloned.
    pub percent_dense: f32,
    /// Pruned below this opacity.
    pub min_opacity: f32,
    /// After the first opacity reset: pruned when larger on screen (pixels, radius; 0: never,
    /// as gsplat's default strategy; 3DGS uses 20) ...
    pub max_screen_size: f32,
    /// ... or in the world (fraction of the extent).
    pub max_world_size: f32,
    /// A splat budget: growth stops at this many splats, the candidates with the largest
    /// gradients growing first (0: no budget).
    pub max_splats: u32,
}

impl Default for DensifyConfig {
    fn default() -> Self {
        Self {
            start_views: 500,
            every_views: 100,
            stop_views: 15_000,
            opacity_reset_every_views: 3_000,
            grad_threshold: 0.0002,
            percent_dense: 0.01,
            min_opacity: 0.005,
            max_screen_size: 0.0,
            max_world_size: 0.1,
            max_splats: 0,
        }
    }
}

/// Splats with their Adam moments (per group, `(m, v)` per float) and density statistics
/// (per splat: gradient sum, times seen, largest radius, unused).
pub struct RefineState {
    pub splats: Splats,
    pub moments: [Vec<[f32; 2]>; 5],
    pub stats: Vec<[f32; 4]>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct RefineReport {
    pub cloned: usize,
    pub split: usize,
    /// Transparent or too large (not counting `nonfinite`).
    pub pruned: usize,
    /// Removed because a parameter, an Adam moment or a statistic was infinite or NaN.
    pub nonfinite: usize,
    pub total: usize,
}

/// What a round compares the stored values with (log-scales, opacity logits), computed once on
/// the CPU for both twins (densify_plan.wgsl gets them as they are), so that the GPU and the CPU
/// decide exactly alike.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanLimits {
    /// ln(percent_dense * extent): a larger largest log-scale is split, a smaller one cloned.
    pub log_dense_limit: f32,
    /// logit(min_opacity): pruned below.
    pub min_logit: f32,
    /// ln(max_world_size * extent): larger is pruned after the first reset.
    pub log_world_limit: f32,
    /// ln(1.6): split children are 1.6 times smaller.
    pub ln_split: f32,
}

impl PlanLimits {
    pub fn new(config: &DensifyConfig, extent: f32) -> Self {
        Self {
            log_dense_limit: (config.percent_dense * extent).ln(),
            min_logit: (config.min_opacity / (1.0 - config.min_opacity)).ln(),
            log_world_limit: (config.max_world_size * extent).ln(),
            ln_split: 1.6f32.ln(),
        }
    }
}

/// PCG's output hash of one u32 (crates/kernel/shaders/shared/hash.wgsl `pcg_hash`).
pub fn pcg_hash(v: u32) -> u32 {
    let state = v.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
    let word = ((state >> ((state >> 28) + 4)) ^ state).wrapping_mul(277_803_737);
    (word >> 22) ^ word
}

/// Uniform in (0, 1] from a hash: 24 bits, exact in f32 (hash.wgsl `uniform01`).
pub fn uniform01(h: u32) -> f32 {
    ((h >> 8) + 1) as f32 / 16_777_216.0
}

/// The standard normal sample for `axis` of split child `child` of splat `i` in a round seeded
/// with `seed` (Box-Muller; densify_apply.wgsl `split_normal`).
pub fn split_normal(seed: u32, i: u32, child: u32, axis: u32) -> f32 {
    let key = pcg_hash(seed ^ pcg_hash(i));
    let j = child * 3 + axis;
    let u1 = uniform01(pcg_hash(key ^ pcg_hash(2 * j + 1)));
    let u2 = uniform01(pcg_hash(key ^ pcg_hash(2 * j + 2)));
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// Floats per splat of each moment group, in `Group::ALL` order.
pub fn row_lens(coeffs: usize) -> [usize; 5] {
    [3, 4, 3, 1, 3 * coeffs]
}

impl RefineState {
    pub(super) fn push_copy(&mut self, from: usize, zero_moments: bool) {
        let s = &mut self.splats;
        s.means.push(s.means[from]);
        s.rotations.push(s.rotations[from]);
        s.log_scales.push(s.log_scales[from]);
        s.opacity_logits.push(s.opacity_logits[from]);
        let k3 = s.coeffs_per_splat() * 3;
        s.sh.extend_from_within(from * k3..(from + 1) * k3);
        for (group, len) in row_lens(s.coeffs_per_splat()).into_iter().enumerate() {
            let m = &mut self.moments[group];
            if zero_moments {
                m.extend(std::iter::repeat_n([0.0; 2], len));
            } else {
                m.extend_from_within(from * len..(from + 1) * len);
            }
        }
        self.stats.push([0.0; 4]);
    }

    /// Whether splat `i` holds an infinite or NaN parameter, Adam moment or statistic
    /// (nonfinite_mark.wgsl).
    pub fn is_nonfinite(&self, i: usize) -> bool {
        let s = &self.splats;
        let coeffs = s.coeffs_per_splat();
        let bad = |values: &[f32]| values.iter().any(|v| !v.is_finite());
        bad(&s.means[i])
            || bad(&s.rotations[i])
            || bad(&s.log_scales[i])
            || bad(&[s.opacity_logits[i]])
            || bad(&s.sh[i * coeffs * 3..(i + 1) * coeffs * 3])
            || row_lens(coeffs).iter().zip(&self.moments).any(|(&len, m)| m[i * len..(i + 1) * len].iter().any(|mv| bad(mv)))
            || bad(&self.stats[i])
    }

    /// [`Self::is_nonfinite`] of every splat.
    pub(super) fn nonfinite(&self) -> Vec<bool> {
        (0..self.splats.len()).map(|i| self.is_nonfinite(i)).collect()
    }

    /// Keeps the splats where `keep` is true.
    pub(super) fn retain(&mut self, keep: &[bool]) {
        let coeffs = self.splats.coeffs_per_splat();
        let s = &mut self.splats;
        fn filter<T: Copy>(v: &mut Vec<T>, len: usize, keep: &[bool]) {
            let mut out = Vec::with_capacity(v.len());
            for (i, chunk) in v.chunks(len).enumerate() {
                if keep[i] {
                    out.extend_from_slice(chunk);
                }
            }
            *v = out;
        }
        filter(&mut s.means, 1, keep);
        filter(&mut s.rotations, 1, keep);
        filter(&mut s.log_scales, 1, keep);
        filter(&mut s.opacity_logits, 1, keep);
        filter(&mut s.sh, coeffs * 3, keep);
        for (group, len) in row_lens(coeffs).into_iter().enumerate() {
            filter(&mut self.moments[group], len, keep);
        }
        filter(&mut self.stats, 1, keep);
    }
}
