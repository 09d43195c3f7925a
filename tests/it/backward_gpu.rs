//! The GPU backward pass against its CPU twin (itself checked against finite differences) on
//! random scenes at one and several cameras per step, against gsplat's gradients, and: batched
//! gradients equal the sum of per-camera gradients, and a batch the renderer splits into chunks
//! (one camera each) gives the gradients of the same batch in one chunk.

use crate::common::grads::{flatten, relative_errors};
use crate::common::random_scene::{random_splats, random_views, random_weights};
use rand::{SeedableRng, rngs::StdRng};
use wgsplat::kernel::buffers;
use wgsplat::render::backward::GpuSplatGrads;
use wgsplat::render::cpu::backward::{ImageGrads, SplatGrads, backward};
use wgsplat::render::cpu::project::SplatParams64;
use wgsplat::render::{GpuSplats, RenderOptions, Renderer, View};
use wgsplat::train::strategy::gradient_stats::GradientStats;
use wgsplat::{GpuContext, Splats};

fn gpu() -> GpuContext {
    pollster::block_on(GpuContext::new()).expect("a GPU adapter (lavapipe in CI)")
}

/// Renders `views`, then runs the GPU backward with `weights` as the image gradients.
fn gpu_backward(gpu: &GpuContext, renderer: &mut Renderer, splats: &GpuSplats, views: &[View], weights: &[ImageGrads]) -> SplatGrads {
    // render_images grows the buffers until everything fits, so the gradients see every splat.
    pollster::block_on(renderer.render_images(gpu, splats, views)).unwrap();
    let forward = renderer.render(gpu, splats, views).unwrap();
    let v_rgba: Vec<[f32; 4]> =
        weights.iter().flat_map(|w| w.rgb.iter().zip(&w.alpha).map(|(c, a)| [c[0] as f32, c[1] as f32, c[2] as f32, *a as f32])).collect();
    let v_depth: Vec<f32> = weights.iter().flat_map(|w| w.depth.iter().map(|d| *d as f32)).collect();
    let v_rgba = buffers::storage_init(&gpu.device, "v_rgba", &v_rgba);
    let v_depth = buffers::storage_init(&gpu.device, "v_depth", &v_depth);
    let grads: GpuSplatGrads = renderer.backward(gpu, splats, forward, &v_rgba, &v_depth, None).unwrap();
    pollster::block_on(grads.read(gpu)).unwrap()
}

/// Per group: |got - want| / |want| (Euclidean norms).
fn group_errors(got: &SplatGrads, want: &SplatGrads) -> Vec<(&'static str, f64)> {
    relative_errors(&flatten(got), want)
}

fn upload(renderer: &Renderer, gpu: &GpuContext, splats: &Splats) -> GpuSplats {
    renderer.upload(gpu, splats).unwrap()
}

#[test]
fn gpu_backward_matches_cpu_twin() {
    backward_matches_cpu_twin(true);
}

/// The compare-and-swap path browsers take (no float atomics in WebGPU), on the native adapter.
#[test]
fn gpu_backward_without_float_atomics_matches_cpu_twin() {
    backward_matches_cpu_twin(false);
}

fn backward_matches_cpu_twin(float_atomics: bool) {
    let mut gpu = gpu();
    gpu.features.float32_atomics &= float_atomics;
    println!("backward path {:?}", wgsplat::render::pipelines::BackwardPath::for_features(&gpu.features));
    let mut renderer = Renderer::new(&gpu).unwrap();
    let mut rng = StdRng::seed_from_u64(21);
    for (n, degree, cams, w, h) in [(5usize, 0u32, 1usize, 32u32, 32u32), (60, 1, 1, 48, 40), (300, 3, 2, 64, 48), (1500, 2, 4, 80, 64)] {
        let splats = random_splats(&mut rng, n, degree);
        let views = random_views(&mut rng, cams, w, h);
        let weights = random_weights(&mut rng, &views);
        let gpu_splats = upload(&renderer, &gpu, &splats);
        let got = gpu_backward(&gpu, &mut renderer, &gpu_splats, &views, &weights);
        let want = backward(&SplatParams64::from_splats(&splats), &views, &RenderOptions::default(), &weights);
        let errors = group_errors(&got, &want);
        println!("N={n} degree={degree} C={cams}: {errors:?}");
        for (group, err) in errors {
            assert!(err < 1e-3, "N={n} degree={degree} C={cams}: {group} relative error {err:e}");
        }
    }
}

#[test]
fn batched_gradients_are_the_sum_of_per_camera_gradients() {
    let gpu = gpu();
    let mut renderer = Renderer::new(&gpu).unwrap();
    let mut rng = StdRng::seed_from_u64(8);
    let splats = random_splats(&mut rng, 800, 3);
    let views = random_views(&mut rng, 3, 64, 48);
    let weights = random_weights(&mut rng, &views);
    let gpu_splats = upload(&renderer, &gpu, &splats);
    let batched = gpu_backward(&gpu, &mut renderer, &gpu_splats, &views, &weights);
    let mut summed = SplatGrads::zeros(splats.len(), splats.coeffs_per_splat());
    for (view, w) in views.iter().zip(&weights) {
        let single = gpu_backward(&gpu, &mut renderer, &gpu_splats, std::slice::from_ref(view), std::slice::from_ref(w));
        summed.means.iter_mut().zip(&single.means).for_each(|(a, b)| (0..3).for_each(|i| a[i] += b[i]));
        summed.quats.iter_mut().zip(&single.quats).for_each(|(a, b)| (0..4).for_each(|i| a[i] += b[i]));
        summed.log_scales.iter_mut().zip(&single.log_scales).for_each(|(a, b)| (0..3).for_each(|i| a[i] += b[i]));
        summed.opacity_logits.iter_mut().zip(&single.opacity_logits).for_each(|(a, b)| *a += b);
        summed.sh.iter_mut().zip(&single.sh).for_each(|(a, b)| *a += b);
    }
    for (group, err) in group_errors(&batched, &summed) {
        // Only the order of float additions differs.
        assert!(err < 1e-5, "{group}: batched differs from the per-camera sum by {err:e}");
    }
}

#[test]
fn chunked_batches_give_the_gradients_of_one_chunk() {
    let gpu = gpu();
    let mut rng = StdRng::seed_from_u64(12);
    let splats = random_splats(&mut rng, 700, 2);
    let views = random_views(&mut rng, 3, 64, 48);
    let weights = random_weights(&mut rng, &views);
    let mut whole = Renderer::new(&gpu).unwrap();
    let gpu_splats = upload(&whole, &gpu, &splats);
    let one_chunk = gpu_backward(&gpu, &mut whole, &gpu_splats, &views, &weights);
    let mut split = Renderer::new(&gpu).unwrap();
    split.limit_cameras_per_chunk(1);
    pollster::block_on(split.render_images(&gpu, &gpu_splats, &views)).unwrap();
    assert_eq!(split.render(&gpu, &gpu_splats, &views).unwrap().chunk_count(), 3);
    let chunked = gpu_backward(&gpu, &mut split, &gpu_splats, &views, &weights);
    for (group, err) in group_errors(&chunked, &one_chunk) {
        assert!(err < 1e-5, "{group}: chunked differs from one chunk by {err:e}");
    }
    let want = backward(&SplatParams64::from_splats(&splats), &views, &RenderOptions::default(), &weights);
    for (group, err) in group_errors(&chunked, &want) {
        assert!(err < 1e-3, "{group}: chunked differs from the CPU twin by {err:e}");
    }
    // Density control's statistics too: gradients scaled by the batch's cameras, not a chunk's.
    let whole_stats = densify_stats(&gpu, &mut whole, &gpu_splats, &views, &weights);
    let split_stats = densify_stats(&gpu, &mut split, &gpu_splats, &views, &weights);
    let total: f32 = whole_stats.iter().map(|s| s[0]).sum();
    assert!(total > 0.0);
    for (i, (a, b)) in whole_stats.iter().zip(&split_stats).enumerate() {
        assert!(
            (a[0] - b[0]).abs() <= 1e-4 * (a[0].abs() + 1e-6) && a[1] == b[1] && a[2] == b[2],
            "splat {i}: {a:?} in one chunk, {b:?} in three"
        );
    }
}

/// Density statistics (gradient sum, times seen, radius) of one backward pass.
fn densify_stats(gpu: &GpuContext, renderer: &mut Renderer, splats: &GpuSplats, views: &[View], weights: &[ImageGrads]) -> Vec<[f32; 4]> {
    let forward = renderer.render(gpu, splats, views).unwrap();
    let v_rgba: Vec<[f32; 4]> =
        weights.iter().flat_map(|w| w.rgb.iter().zip(&w.alpha).map(|(c, a)| [c[0] as f32, c[1] as f32, c[2] as f32, *a as f32])).collect();
    let v_rgba = buffers::storage_init(&gpu.device, "v_rgba", &v_rgba);
    let v_depth = buffers::storage(&gpu.device, "v_depth", v_rgba.size() / 4);
    let stats = buffers::storage(&gpu.device, "stats", splats.num_splats as u64 * 16);
    let pass = GradientStats::new(gpu);
    let mut hook = pass.hook(&stats);
    renderer.backward(gpu, splats, forward, &v_rgba, &v_depth, Some(&mut hook)).unwrap();
    let words = pollster::block_on(buffers::read_u32s(gpu, &stats, splats.num_splats as u64 * 16)).unwrap();
    words.chunks(4).map(|c| std::array::from_fn(|j| f32::from_bits(c[j]))).collect()
}

#[test]
fn gpu_gradients_match_gsplat() {
    let Some(cases) = crate::common::gsplat_ref::load_cases() else { return };
    let gpu = gpu();
    let mut renderer = Renderer::new(&gpu).unwrap();
    for case in &cases {
        let views: Vec<View> = case.cameras.iter().zip(&case.backgrounds).map(|(c, b)| View { camera: *c, background: *b }).collect();
        let p = case.pixels();
        let weights: Vec<ImageGrads> = (0..case.num_cameras())
            .map(|c| ImageGrads {
                rgb: (0..p).map(|i| std::array::from_fn(|ch| case.loss_w_rgb[(c * p + i) * 3 + ch] as f64)).collect(),
                alpha: (0..p).map(|i| case.loss_w_alpha[c * p + i] as f64).collect(),
                depth: vec![0.0; p],
            })
            .collect();
        let gpu_splats = upload(&renderer, &gpu, &case.splats);
        let got = gpu_backward(&gpu, &mut renderer, &gpu_splats, &views, &weights);
        let rel = |ours: Vec<f64>, theirs: &[f32]| {
            let diff = ours.iter().zip(theirs).map(|(a, b)| (a - *b as f64).powi(2)).sum::<f64>().sqrt();
            diff / theirs.iter().map(|b| (*b as f64).powi(2)).sum::<f64>().sqrt().max(1e-30)
        };
        let errors = [
            ("means", rel(got.means.iter().flatten().copied().collect(), &case.grad_means)),
            ("quats", rel(got.quats.iter().flatten().copied().collect(), &case.grad_quats)),
            ("log_scales", rel(got.log_scales.iter().flatten().copied().collect(), &case.grad_log_scales)),
            ("opacity_logits", rel(got.opacity_logits.clone(), &case.grad_opacity_logits)),
            ("sh", rel(got.sh.clone(), &case.grad_sh)),
        ];
        println!("{}: {errors:?}", case.name);
        for (group, err) in errors {
            assert!(err < 1e-2, "{}: {group} relative error {err:e}", case.name);
        }
    }
}
