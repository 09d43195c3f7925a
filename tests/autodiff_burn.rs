//! The renderer as a burn autodiff op: a loss written with burn tensors backpropagates through
//! our WGSL passes, and the parameter gradients match the CPU f64 twin given the same dL/d(image).
#![cfg(feature = "burn")]

#[path = "it/common/mod.rs"]
#[allow(dead_code, unused_imports)] // the burn tests use a few of the shared helpers
mod common;

use std::sync::Arc;

use burn::tensor::{Device, Tensor, TensorData};
use common::grads::relative_errors;
use common::random_scene::{random_splats, random_views};
use rand::{Rng, SeedableRng, rngs::StdRng};
use wgsplat::autodiff::SplatRenderOp;
use wgsplat::render::cpu::backward::{ImageGrads, backward};
use wgsplat::render::cpu::project::SplatParams64;
use wgsplat::render::{RenderOptions, Renderer};
use wgsplat::{GpuContext, Splats};

fn tensor<const D: usize>(data: Vec<f32>, shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(data, shape), device)
}

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data().try_to_vec::<f32>().expect("f32 data").into_iter().map(f64::from).collect()
}

/// The five parameter tensors of `splats`, as autodiff leaves.
fn params(splats: &Splats, device: &Device) -> (Tensor<2>, Tensor<2>, Tensor<2>, Tensor<1>, Tensor<3>) {
    let n = splats.len();
    let k = splats.coeffs_per_splat();
    (
        tensor(splats.means.concat(), [n, 3], device).require_grad(),
        tensor(splats.rotations.concat(), [n, 4], device).require_grad(),
        tensor(splats.log_scales.concat(), [n, 3], device).require_grad(),
        tensor(splats.opacity_logits.clone(), [n], device).require_grad(),
        tensor(splats.sh.clone(), [n, k, 3], device).require_grad(),
    )
}

#[test]
fn burn_loss_gradients_match_cpu_twin() {
    let gpu = Arc::new(pollster::block_on(GpuContext::new_with_adapter_features()).expect("a GPU adapter (lavapipe in CI)"));
    let op = SplatRenderOp::new(gpu.clone()).expect("burn on our device");
    let ad = op.device().clone().autodiff();
    let mut reference = Renderer::new(&gpu).unwrap();
    let mut rng = StdRng::seed_from_u64(17);
    for (n, degree, cams, w, h) in [(60usize, 1u32, 1usize, 48u32, 40u32), (300, 3, 2, 64, 48)] {
        let splats = random_splats(&mut rng, n, degree);
        let views = random_views(&mut rng, cams, w, h);
        let (means, quats, log_scales, opacity_logits, sh) = params(&splats, &ad);
        let images =
            op.render(means.clone(), quats.clone(), log_scales.clone(), opacity_logits.clone(), sh.clone(), degree, &views).unwrap();
        assert_eq!(images.dims(), [cams, h as usize, w as usize, 4]);

        // The forward is the renderer's image.
        let ours = to_vec(images.clone().inner());
        let gpu_splats = reference.upload(&gpu, &splats).unwrap();
        let theirs: Vec<f64> = pollster::block_on(reference.render_images(&gpu, &gpu_splats, &views))
            .unwrap()
            .iter()
            .flat_map(|im| im.rgba.iter().flatten().map(|v| *v as f64).collect::<Vec<_>>())
            .collect();
        let max_diff = ours.iter().zip(&theirs).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        assert!(max_diff < 1e-5, "forward differs from Renderer::render_images by {max_diff:e}");

        // Another forward before the backward: the op must differentiate its own render.
        let other = random_views(&mut rng, 1, 32, 24);
        let plain = op
            .render(
                means.clone().inner(),
                quats.clone().inner(),
                log_scales.clone().inner(),
                opacity_logits.clone().inner(),
                sh.clone().inner(),
                degree,
                &other,
            )
            .unwrap();
        assert!(!plain.is_autodiff());

        // A loss in burn tensors: random weights plus an L1 term against a random target.
        let pixels = cams * (w * h) as usize;
        let weights: Vec<f32> = (0..pixels * 4).map(|_| rng.random_range(-1.0..1.0)).collect();
        let target: Vec<f32> = (0..pixels * 4).map(|_| rng.random_range(0.0..1.0)).collect();
        let lambda = 0.5f32;
        let shape = [cams, h as usize, w as usize, 4];
        let loss = (images.clone() * tensor(weights.clone(), shape, &ad)).sum()
            + (images.clone() - tensor(target.clone(), shape, &ad)).abs().sum() * lambda;
        let grads = loss.backward();

        // dL/d(image) = w + lambda * sign(image - target), for the CPU twin.
        let d: Vec<f64> = (0..pixels * 4)
            .map(|i| {
                let diff = ours[i] as f32 - target[i];
                weights[i] as f64
                    + lambda as f64
                        * if diff > 0.0 {
                            1.0
                        } else if diff < 0.0 {
                            -1.0
                        } else {
                            0.0
                        }
            })
            .collect();
        let per_view = (w * h) as usize;
        let image_grads: Vec<ImageGrads> = (0..cams)
            .map(|c| {
                let px = &d[c * per_view * 4..(c + 1) * per_view * 4];
                ImageGrads {
                    rgb: px.chunks(4).map(|p| [p[0], p[1], p[2]]).collect(),
                    alpha: px.chunks(4).map(|p| p[3]).collect(),
                    depth: vec![0.0; per_view],
                }
            })
            .collect();
        let want = backward(&SplatParams64::from_splats(&splats), &views, &RenderOptions::default(), &image_grads);

        let g2 = |t: &Tensor<2>| to_vec(t.grad(&grads).expect("a gradient"));
        let got = vec![
            ("means", g2(&means)),
            ("quats", g2(&quats)),
            ("log_scales", g2(&log_scales)),
            ("opacity_logits", to_vec(opacity_logits.grad(&grads).expect("a gradient"))),
            ("sh", to_vec(sh.grad(&grads).expect("a gradient"))),
        ];
        let errors = relative_errors(&got, &want);
        println!("N={n} degree={degree} C={cams}: {errors:?}");
        for (group, err) in errors {
            assert!(err < 1e-3, "N={n} degree={degree} C={cams}: {group} relative error {err:e}");
        }
    }
}

#[test]
fn mismatched_inputs_are_errors() {
    let gpu = Arc::new(pollster::block_on(GpuContext::new_with_adapter_features()).expect("a GPU adapter (lavapipe in CI)"));
    let op = SplatRenderOp::new(gpu).expect("burn on our device");
    let dev = op.device().clone();
    let mut rng = StdRng::seed_from_u64(3);
    let views = random_views(&mut rng, 1, 16, 16);
    let z = |shape: [usize; 2]| Tensor::<2>::zeros(shape, &dev);
    // quats with 3 columns
    let r = op.render(z([4, 3]), z([4, 3]), z([4, 3]), Tensor::<1>::zeros([4], &dev), Tensor::<3>::zeros([4, 1, 3], &dev), 0, &views);
    assert!(r.is_err());
    // 2 SH coefficients per splat is no degree
    let r = op.render(z([4, 3]), z([4, 4]), z([4, 3]), Tensor::<1>::zeros([4], &dev), Tensor::<3>::zeros([4, 2, 3], &dev), 0, &views);
    assert!(r.is_err());
    // sh_degree above the layout's
    let r = op.render(z([4, 3]), z([4, 4]), z([4, 3]), Tensor::<1>::zeros([4], &dev), Tensor::<3>::zeros([4, 1, 3], &dev), 1, &views);
    assert!(r.is_err());
    // a plain context's device lacks what cubecl reads from the adapter (when the adapter has more)
    let plain = pollster::block_on(GpuContext::new()).unwrap();
    match wgsplat::autodiff::burn_device(&plain) {
        Ok(_) => println!("the plain context happens to match the adapter"),
        Err(e) => println!("plain context refused: {e}"),
    }
}
