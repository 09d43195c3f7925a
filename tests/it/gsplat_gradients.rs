//! Gradients against gsplat 1.5.3 on its six reference cases: per parameter group, the relative
//! error |g - g_ref| / |g_ref| (Euclidean norms) below 1e-2. The CPU twin is checked here; the
//! GPU backward is checked against the CPU twin and against these cases in backward_gpu.rs.

use wgsplat::render::cpu::backward::{ImageGrads, SplatGrads, backward};
use wgsplat::render::cpu::project::SplatParams64;
use wgsplat::render::{RenderOptions, View};

pub fn relative_errors(case: &crate::common::gsplat_ref::GsplatCase, got: &SplatGrads) -> Vec<(&'static str, f64)> {
    let rel = |ours: Vec<f64>, theirs: &[f32]| {
        let diff = ours.iter().zip(theirs).map(|(a, b)| (a - *b as f64).powi(2)).sum::<f64>().sqrt();
        let norm = theirs.iter().map(|b| (*b as f64).powi(2)).sum::<f64>().sqrt();
        diff / norm.max(1e-30)
    };
    vec![
        ("means", rel(got.means.iter().flatten().copied().collect(), &case.grad_means)),
        ("quats", rel(got.quats.iter().flatten().copied().collect(), &case.grad_quats)),
        ("log_scales", rel(got.log_scales.iter().flatten().copied().collect(), &case.grad_log_scales)),
        ("opacity_logits", rel(got.opacity_logits.clone(), &case.grad_opacity_logits)),
        ("sh", rel(got.sh.clone(), &case.grad_sh)),
    ]
}

pub fn case_weights(case: &crate::common::gsplat_ref::GsplatCase) -> Vec<ImageGrads> {
    let p = case.pixels();
    (0..case.num_cameras())
        .map(|c| ImageGrads {
            rgb: (0..p).map(|i| std::array::from_fn(|ch| case.loss_w_rgb[(c * p + i) * 3 + ch] as f64)).collect(),
            alpha: (0..p).map(|i| case.loss_w_alpha[c * p + i] as f64).collect(),
            depth: vec![0.0; p],
        })
        .collect()
}

#[test]
fn cpu_gradients_match_gsplat() {
    let Some(cases) = crate::common::gsplat_ref::load_cases() else { return };
    for case in &cases {
        let views: Vec<View> = case.cameras.iter().zip(&case.backgrounds).map(|(c, b)| View { camera: *c, background: *b }).collect();
        let params = SplatParams64::from_splats(&case.splats);
        let grads = backward(&params, &views, &RenderOptions::default(), &case_weights(case));
        let errors = relative_errors(case, &grads);
        println!("{}: {}", case.name, errors.iter().map(|(g, e)| format!("{g} {e:.2e}")).collect::<Vec<_>>().join(", "));
        for (group, err) in errors {
            assert!(err < 1e-2, "{}: {group} relative error {err:e}", case.name);
        }
    }
}
