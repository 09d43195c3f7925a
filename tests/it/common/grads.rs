//! Comparing splat gradients per parameter group (shared by the GPU backward and burn tests).

use wgsplat::render::cpu::backward::SplatGrads;

/// The five parameter groups of `g`, each as one flat vector.
pub fn flatten(g: &SplatGrads) -> Vec<(&'static str, Vec<f64>)> {
    vec![
        ("means", g.means.iter().flatten().copied().collect()),
        ("quats", g.quats.iter().flatten().copied().collect()),
        ("log_scales", g.log_scales.iter().flatten().copied().collect()),
        ("opacity_logits", g.opacity_logits.clone()),
        ("sh", g.sh.clone()),
    ]
}

/// Per group (in [`flatten`]'s order): |got - want| / |want| (Euclidean norms). Each group of
/// `got` must be as long as `want`'s.
pub fn relative_errors(got: &[(&'static str, Vec<f64>)], want: &SplatGrads) -> Vec<(&'static str, f64)> {
    got.iter()
        .zip(flatten(want))
        .map(|((name, a), (_, b))| {
            assert_eq!(a.len(), b.len(), "{name}: gradient length");
            let diff = a.iter().zip(&b).map(|(x, y)| (x - y).powi(2)).sum::<f64>().sqrt();
            let norm = b.iter().map(|y| y * y).sum::<f64>().sqrt();
            (*name, diff / norm.max(1e-12))
        })
        .collect()
}
