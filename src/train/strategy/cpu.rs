//! The CPU twin of density control (`densify_gpu`), splat for splat: the same decisions, the same
//! order of the result (the splats that stay, then the appended ones in the order of their
//! originals) and the same split samples. The statistics it uses were gathered on the GPU after
//! every backward pass.

use super::densify::{DensifyConfig, PlanLimits, RefineReport, RefineState, split_normal};
use crate::Splats;
use crate::camera::Mat4;

#[cfg(test)]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
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
    use crate::train::strategy::densify::row_lens;

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
