//! Adaptive density control as in 3DGS: clone small splats and split large ones whose averaged
//! view-space gradient is high, prune transparent and oversized ones, and reset opacities. The
//! trainer runs it on the GPU (`densify_gpu`); this is its plain CPU twin, splat for splat: the
//! same decisions, the same order of the result (the splats that stay, then the appended ones in
//! the order of their originals) and the same split samples (counter-based random numbers,
//! `split_normal`, as densify_apply.wgsl draws them). The statistics it uses were gathered on the
//! GPU after every backward pass.

use crate::Splats;
use crate::camera::Mat4;

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

#[cfg(test)]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
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

fn quat_to_rows(q: [f32; 4]) -> Mat4 {
    let n = q.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
    let [w, x, y, z] = q.map(|v| v / n);
    [
        [1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y - w * z), 2.0 * (x * z + w * y), 0.0],
        [2.0 * (x * y + w * z), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z - w * x), 0.0],
        [2.0 * (x * z - w * y), 2.0 * (y * z + w * x), 1.0 - 2.0 * (x * x + y * y), 0.0],
        [0.0, 0.0, 0.0, 1.0],
    ]
}

/// PCG's output hash of one u32 (shaders/shared/hash.wgsl `pcg_hash`).
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

/// Mean view-space gradient of each splat (0 where it was never seen).
fn mean_grads(stats: &[[f32; 4]]) -> Vec<f32> {
    stats.iter().map(|s| if s[1] > 0.0 { s[0] / s[1] } else { 0.0 }).collect()
}

/// With a budget of `max_splats`: which candidates may grow (the `max_splats - n` with the
/// largest gradients, ties by index, as the GPU's stable sort ranks them); all without one.
fn growing(grads: &[f32], threshold: f32, max_splats: u32) -> Vec<bool> {
    let candidate: Vec<bool> = grads.iter().map(|g| *g >= threshold).collect();
    if max_splats == 0 {
        return candidate;
    }
    let allowed = (max_splats as usize).saturating_sub(grads.len());
    let mut order: Vec<usize> = (0..grads.len()).filter(|&i| candidate[i]).collect();
    order.sort_by_key(|&i| (u32::MAX - 1 - grads[i].to_bits(), i));
    let mut out = vec![false; grads.len()];
    for &i in order.iter().take(allowed) {
        out[i] = true;
    }
    out
}

/// Floats per splat of each moment group, in `Group::ALL` order.
pub(super) fn row_lens(coeffs: usize) -> [usize; 5] {
    [3, 4, 3, 1, 3 * coeffs]
}

impl RefineState {
    fn push_copy(&mut self, from: usize, zero_moments: bool) {
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
    fn nonfinite(&self) -> Vec<bool> {
        (0..self.splats.len()).map(|i| self.is_nonfinite(i)).collect()
    }

    /// Keeps the splats where `keep` is true.
    fn retain(&mut self, keep: &[bool]) {
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

/// One round of clone, split and prune. `prune_large` after the first opacity reset; `seed`
/// seeds the split samples (`split_normal`).
pub fn refine(state: &mut RefineState, config: &DensifyConfig, extent: f32, prune_large: bool, seed: u32) -> RefineReport {
    let n = state.splats.len();
    let mut report = RefineReport::default();
    let broken = state.nonfinite();
    let grads = mean_grads(&state.stats);
    let grows: Vec<bool> =
        growing(&grads, config.grad_threshold, config.max_splats).into_iter().zip(&broken).map(|(g, b)| g && !b).collect();
    let radii: Vec<f32> = state.stats.iter().map(|s| s[2]).collect();
    let max_log = |s: &Splats, i: usize| s.log_scales[i].iter().copied().fold(f32::MIN, f32::max);
    let limits = PlanLimits::new(config, extent);

    let mut keep = vec![true; n];
    for i in 0..n {
        if !grows[i] {
            continue;
        }
        if max_log(&state.splats, i) <= limits.log_dense_limit {
            state.push_copy(i, true);
            report.cloned += 1;
        } else {
            // Two samples inside the splat, each 1.6 times smaller; the original goes.
            let scale = state.splats.log_scales[i].map(f32::exp);
            let rot = quat_to_rows(state.splats.rotations[i]);
            let mean = state.splats.means[i];
            for child in 0..2 {
                let local: [f32; 3] = std::array::from_fn(|axis| split_normal(seed, i as u32, child, axis as u32) * scale[axis]);
                state.push_copy(i, true);
                let last = state.splats.len() - 1;
                state.splats.means[last] = std::array::from_fn(|r| mean[r] + (0..3).map(|c| rot[r][c] * local[c]).sum::<f32>());
                state.splats.log_scales[last] = state.splats.log_scales[i].map(|l| l - limits.ln_split);
            }
            keep[i] = false;
            report.split += 1;
        }
    }
    keep.resize(state.splats.len(), true);
    for (i, k) in keep.iter_mut().enumerate() {
        if i < n && broken[i] {
            *k = false;
            report.nonfinite += 1;
            continue;
        }
        let transparent = state.splats.opacity_logits[i] < limits.min_logit;
        let too_big_on_screen = config.max_screen_size > 0.0 && i < n && radii[i] > config.max_screen_size;
        let too_big = prune_large && (too_big_on_screen || max_log(&state.splats, i) > limits.log_world_limit);
        if transparent || too_big {
            *k = false;
        }
    }
    report.pruned = keep.iter().filter(|k| !**k).count() - report.split - report.nonfinite;
    state.retain(&keep);
    for s in &mut state.stats {
        *s = [0.0; 4];
    }
    report.total = state.splats.len();
    report
}

/// Removes the splats holding an infinite or NaN parameter, moment or statistic, keeping the
/// others as they are (statistics included); returns how many went. The CPU twin of a
/// `RoundKind::RemoveNonFinite` round.
pub fn remove_nonfinite(state: &mut RefineState) -> usize {
    let keep: Vec<bool> = state.nonfinite().into_iter().map(|b| !b).collect();
    let removed = keep.iter().filter(|k| !**k).count();
    if removed > 0 {
        state.retain(&keep);
    }
    removed
}

/// Caps every opacity at `max_opacity` and clears the opacity moments (3DGS: 0.01).
pub fn reset_opacity(state: &mut RefineState, max_opacity: f32) {
    let cap = (max_opacity / (1.0 - max_opacity)).ln();
    for o in &mut state.splats.opacity_logits {
        *o = o.min(cap);
    }
    for m in &mut state.moments[3] {
        *m = [0.0; 2];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::init::splats_from_points;

    fn state(n: usize) -> RefineState {
        let points: Vec<[f32; 3]> = (0..n).map(|i| [i as f32, 0.0, 0.0]).collect();
        let splats = splats_from_points(&points, &vec![[100, 150, 200]; n], 1);
        let coeffs = splats.coeffs_per_splat();
        let moments = row_lens(coeffs).map(|len| vec![[0.5, 0.25]; n * len]);
        RefineState { splats, moments, stats: vec![[0.0; 4]; n] }
    }

    #[test]
    fn clones_small_splits_large_and_prunes_transparent() {
        let mut s = state(4);
        s.splats.log_scales[0] = [(0.001f32).ln(); 3]; // small, high gradient: cloned
        s.splats.log_scales[1] = [(0.5f32).ln(); 3]; // large, high gradient: split
        s.splats.opacity_logits[2] = -10.0; // transparent: pruned
        s.stats[0] = [0.01, 10.0, 2.0, 0.0];
        s.stats[1] = [0.01, 10.0, 2.0, 0.0];
        let report = refine(&mut s, &DensifyConfig::default(), 1.0, false, 1);
        assert_eq!((report.cloned, report.split, report.pruned), (1, 1, 1));
        // 4 - 1 split original - 1 pruned + 1 clone + 2 split halves.
        assert_eq!(report.total, 5);
        s.splats.validate().unwrap();
        assert_eq!(s.moments[0].len(), 5 * 3);
        assert_eq!(s.moments[4].len(), 5 * 3 * s.splats.coeffs_per_splat());
        // The split halves are 1.6 times smaller, near the original, with fresh moments.
        let halves: Vec<usize> = (0..5).filter(|&i| (s.splats.log_scales[i][0] - (0.5f32 / 1.6).ln()).abs() < 1e-5).collect();
        assert_eq!(halves.len(), 2);
        for &i in &halves {
            assert!((s.splats.means[i][0] - 1.0).abs() < 3.0);
            assert_eq!(s.moments[0][3 * i], [0.0; 2]);
        }
        assert!(s.stats.iter().all(|st| *st == [0.0; 4]));
    }

    #[test]
    fn large_splats_are_pruned_after_the_first_reset() {
        let mut s = state(3);
        s.stats[1][2] = 50.0; // 50 px on screen
        s.splats.log_scales[2] = [(0.5f32).ln(); 3]; // half the extent
        let config = DensifyConfig { max_screen_size: 20.0, ..DensifyConfig::default() };
        let report = refine(&mut s, &config, 1.0, true, 1);
        assert_eq!((report.pruned, report.total), (2, 1));
    }

    #[test]
    fn a_budget_grows_the_largest_gradients_first() {
        let mut s = state(6);
        for i in 0..6 {
            s.splats.log_scales[i] = [(0.001f32).ln(); 3];
            s.stats[i] = [0.001 * (i + 1) as f32, 1.0, 1.0, 0.0];
        }
        let config = DensifyConfig { max_splats: 8, ..DensifyConfig::default() };
        let report = refine(&mut s, &config, 1.0, false, 1);
        // 6 splats, room for 2 more: the two largest gradients (splats 4 and 5) are cloned, and
        // the clones appended in the order of their originals.
        assert_eq!((report.cloned, report.total), (2, 8));
        assert_eq!(s.splats.means[6], [4.0, 0.0, 0.0]);
        assert_eq!(s.splats.means[7], [5.0, 0.0, 0.0]);
    }

    #[test]
    fn split_samples_are_standard_normal() {
        let samples: Vec<f64> = (0..20_000u32).map(|i| split_normal(7, i, i % 2, i % 3) as f64).collect();
        let mean = samples.iter().sum::<f64>() / samples.len() as f64;
        let var = samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / samples.len() as f64;
        assert!(mean.abs() < 0.03 && (var - 1.0).abs() < 0.05, "mean {mean}, variance {var}");
        assert_ne!(split_normal(1, 3, 0, 0), split_normal(2, 3, 0, 0));
    }

    #[test]
    fn opacity_reset_caps_opacity() {
        let mut s = state(2);
        s.splats.opacity_logits[0] = 5.0;
        reset_opacity(&mut s, 0.01);
        assert!((sigmoid(s.splats.opacity_logits[0]) - 0.01).abs() < 1e-6);
        assert!(s.moments[3].iter().all(|m| *m == [0.0; 2]));
    }
}
