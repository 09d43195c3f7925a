//! The CPU backward pass (the twin every GPU backward kernel is checked against) against central
//! finite differences of the f64 forward, on small random scenes, one and several cameras.

use crate::common::random_scene::{random_splats, random_views, random_weights};
use rand::{SeedableRng, rngs::StdRng};
use wgsplat::render::RenderOptions;
use wgsplat::render::cpu::backward::{backward, weighted_sum_loss};
use wgsplat::render::cpu::project::SplatParams64;

/// Every parameter as (group, index, pointer into the params).
fn for_each_param(p: &mut SplatParams64, mut f: impl FnMut(&'static str, usize, &mut f64)) {
    for (i, m) in p.means.iter_mut().enumerate() {
        m.iter_mut().for_each(|v| f("means", i, v));
    }
    for (i, q) in p.quats.iter_mut().enumerate() {
        q.iter_mut().for_each(|v| f("quats", i, v));
    }
    for (i, s) in p.log_scales.iter_mut().enumerate() {
        s.iter_mut().for_each(|v| f("log_scales", i, v));
    }
    for (i, o) in p.opacity_logits.iter_mut().enumerate() {
        f("opacity_logits", i, o);
    }
    let k3 = p.coeffs_per_splat() * 3;
    for (j, v) in p.sh.iter_mut().enumerate() {
        f("sh", j / k3, v);
    }
}

fn flatten(g: &wgsplat::render::cpu::backward::SplatGrads) -> Vec<f64> {
    let mut out = Vec::new();
    g.means.iter().for_each(|m| out.extend(m));
    g.quats.iter().for_each(|q| out.extend(q));
    g.log_scales.iter().for_each(|s| out.extend(s));
    out.extend(&g.opacity_logits);
    out.extend(&g.sh);
    out
}

#[test]
fn cpu_backward_matches_finite_differences() {
    let options = RenderOptions::default();
    let mut rng = StdRng::seed_from_u64(3);
    for (n, degree, cams) in [(3usize, 0u32, 1usize), (12, 1, 1), (25, 3, 2), (40, 2, 3)] {
        let splats = random_splats(&mut rng, n, degree);
        let views = random_views(&mut rng, cams, 40, 32);
        let weights = random_weights(&mut rng, &views);
        let params = SplatParams64::from_splats(&splats);
        let analytic = flatten(&backward(&params, &views, &options, &weights));
        let mut numeric = Vec::new();
        let mut groups = Vec::new();
        let h = 1e-6;
        let mut probe = params.clone();
        let mut index = 0usize;
        // Perturb one parameter at a time through a second copy, reading the value by index.
        let mut values = Vec::new();
        for_each_param(&mut probe, |g, _, v| {
            values.push(*v);
            groups.push(g);
        });
        for (k, original) in values.iter().enumerate() {
            let eval = |delta: f64| {
                let mut p = params.clone();
                let mut at = 0usize;
                for_each_param(&mut p, |_, _, v| {
                    if at == k {
                        *v = original + delta;
                    }
                    at += 1;
                });
                weighted_sum_loss(&p, &views, &options, &weights)
            };
            numeric.push((eval(h) - eval(-h)) / (2.0 * h));
            index += 1;
        }
        assert_eq!(index, analytic.len());
        let mut bad = Vec::new();
        for (k, (a, f)) in analytic.iter().zip(&numeric).enumerate() {
            if (a - f).abs() > 1e-4 * a.abs().max(f.abs()) + 1e-5 {
                bad.push(format!("{} #{k}: analytic {a:e}, numeric {f:e}", groups[k]));
            }
        }
        let nonzero = analytic.iter().filter(|v| v.abs() > 1e-9).count();
        assert!(nonzero > analytic.len() / 4, "N={n}: only {nonzero} of {} gradients are non-zero", analytic.len());
        assert!(bad.is_empty(), "N={n} degree {degree}: {} of {} differ:\n{}", bad.len(), analytic.len(), bad.join("\n"));
    }
}
