//! The gsplat reference cases load, with the sizes cases.json gives.

use crate::common::gsplat_ref;

#[test]
fn all_gsplat_reference_cases_load() {
    let (Some(infos), Some(cases)) = (gsplat_ref::case_infos(), gsplat_ref::load_cases()) else {
        return;
    };
    assert_eq!(cases.len(), 6);
    for (info, case) in infos.iter().zip(&cases) {
        let (n, c, pixels) = (info.n, info.c, (info.width * info.height) as usize);
        let k = ((info.sh_degree + 1) * (info.sh_degree + 1)) as usize;
        assert_eq!(case.name, info.name);
        assert_eq!((case.width, case.height, case.sh_degree), (info.width, info.height, info.sh_degree));
        assert_eq!((case.num_splats(), case.num_cameras()), (n, c), "{}", case.name);
        case.splats.validate().unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(case.splats.sh.len(), n * k * 3);
        assert_eq!(case.backgrounds.len(), c);
        assert_eq!((case.out_rgb.len(), case.out_alpha.len(), case.out_depth_accum.len()), (c * pixels * 3, c * pixels, c * pixels));
        assert_eq!((case.loss_w_rgb.len(), case.loss_w_alpha.len()), (c * pixels * 3, c * pixels));
        assert_eq!(case.radii.len(), c * n * 2);
        assert_eq!((case.grad_means.len(), case.grad_quats.len(), case.grad_log_scales.len()), (n * 3, n * 4, n * 3));
        assert_eq!((case.grad_opacity_logits.len(), case.grad_sh.len()), (n, n * k * 3));
        for cam in &case.cameras {
            cam.validate().unwrap_or_else(|e| panic!("{}: {e}", case.name));
            assert!(cam.cx > 0.0 && cam.cx < cam.width as f32 && cam.cy > 0.0 && cam.cy < cam.height as f32);
        }
        // The stored loss is reproduced from the stored outputs and weights, which checks the
        // layouts of out_rgb/out_alpha against the weights.
        let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum::<f64>();
        let loss = dot(&case.out_rgb, &case.loss_w_rgb) + dot(&case.out_alpha, &case.loss_w_alpha);
        assert!((loss - case.loss as f64).abs() < 1e-3 * (1.0 + loss.abs()), "{}: loss {loss} vs {}", case.name, case.loss);
        assert!(case.radii.iter().all(|r| *r >= 0));
    }
}
