//! Adam on the GPU (shaders/adam.wgsl) against its CPU twin in f64: every parameter group at its
//! own rate, SH band 0 apart from the higher bands, over two steps (the bias correction), at
//! several sizes and SH degrees.

use rand::{Rng, SeedableRng, rngs::StdRng};
use wgsplat::kernel::buffers;
use wgsplat::render::GpuSplats;
use wgsplat::render::backward::GpuSplatGrads;
use wgsplat::train::adam::{Adam, Group, GroupRates};
use wgsplat::train::cpu::adam_update;
use wgsplat::{GpuContext, Splats};

fn read_f32s(gpu: &GpuContext, buffer: &wgpu::Buffer, floats: usize) -> Vec<f32> {
    let words = pollster::block_on(buffers::read_u32s(gpu, buffer, floats as u64 * 4)).unwrap();
    words.into_iter().map(f32::from_bits).collect()
}

fn random_splats(n: usize, sh_degree: u32, rng: &mut StdRng) -> Splats {
    let k = ((sh_degree + 1) * (sh_degree + 1)) as usize;
    let mut v = |count: usize| -> Vec<f32> { (0..count).map(|_| rng.random_range(-1.0f32..1.0)).collect() };
    let means = v(3 * n);
    let quats = v(4 * n);
    let scales = v(3 * n);
    Splats {
        means: means.chunks(3).map(|c| [c[0], c[1], c[2]]).collect(),
        rotations: quats.chunks(4).map(|c| [c[0] + 2.0, c[1], c[2], c[3]]).collect(),
        log_scales: scales.chunks(3).map(|c| [c[0] - 3.0, c[1] - 3.0, c[2] - 3.0]).collect(),
        opacity_logits: v(n),
        sh: v(3 * k * n),
        sh_degree,
    }
}

#[test]
fn adam_matches_its_cpu_twin_for_every_group() {
    let gpu = pollster::block_on(GpuContext::new()).expect("a GPU adapter (lavapipe in CI)");
    let mut rng = StdRng::seed_from_u64(5);
    let rates = GroupRates { means: 1.6e-4, quats: 1e-3, log_scales: 5e-3, opacity: 5e-2, sh_dc: 2.5e-3, sh_rest: 1.25e-4 };
    for (n, degree) in [(1usize, 0u32), (300, 3), (1000, 1), (2049, 3)] {
        let splats = random_splats(n, degree, &mut rng);
        let gpu_splats = GpuSplats::upload(&gpu, &splats).unwrap();
        let coeffs = gpu_splats.coeffs_per_splat();
        let mut adam = Adam::new(&gpu, &gpu_splats);
        let moments: [Vec<[f32; 2]>; 5] = Group::ALL.map(|g| {
            (0..n * g.row_len(coeffs) as usize).map(|_| [rng.random_range(-0.1f32..0.1), rng.random_range(0.0f32..0.01)]).collect()
        });
        adam.set_moments(&gpu, moments.clone());
        let groups_cpu = |g: Group| -> Vec<f32> {
            match g {
                Group::Means => splats.means.concat(),
                Group::Quats => splats.rotations.concat(),
                Group::LogScales => splats.log_scales.concat(),
                Group::Opacity => splats.opacity_logits.clone(),
                Group::Sh => splats.sh.clone(),
            }
        };
        // (value, m, v) per float of each group, stepped on the CPU beside the GPU.
        let mut want: Vec<Vec<(f64, f64, f64)>> = Group::ALL
            .iter()
            .zip(&moments)
            .map(|(&g, m)| groups_cpu(g).iter().zip(m).map(|(&x, mv)| (x as f64, mv[0] as f64, mv[1] as f64)).collect())
            .collect();
        for step in 1..=2u32 {
            let floats = GpuSplatGrads::floats(n as u32, coeffs) as usize;
            let grads: Vec<f32> = (0..floats).map(|_| rng.random_range(-1.0f32..1.0)).collect();
            let grad_buffer = GpuSplatGrads {
                buffer: buffers::storage_init(&gpu.device, "grads", &grads),
                num_splats: n as u32,
                coeffs_per_splat: coeffs,
            };
            adam.submit(&gpu, &gpu_splats, &grad_buffer, &rates);
            for (gi, &group) in Group::ALL.iter().enumerate() {
                let row = group.row_len(coeffs) as usize;
                let offset = group.grad_offset(n as u32) as usize;
                for (i, state) in want[gi].iter_mut().enumerate() {
                    let lr = match group {
                        Group::Means => rates.means,
                        Group::Quats => rates.quats,
                        Group::LogScales => rates.log_scales,
                        Group::Opacity => rates.opacity,
                        Group::Sh if i % row < 3 => rates.sh_dc,
                        Group::Sh => rates.sh_rest,
                    };
                    *state = adam_update(state.0, state.1, state.2, grads[offset + i] as f64, lr as f64, step);
                }
            }
        }
        for (gi, &group) in Group::ALL.iter().enumerate() {
            let count = want[gi].len();
            let values = read_f32s(&gpu, group.values(&gpu_splats), count);
            let mv = read_f32s(&gpu, &adam.moments[gi], 2 * count);
            for (i, &(x, m, v)) in want[gi].iter().enumerate() {
                let close = |got: f32, want: f64| (got as f64 - want).abs() <= 1e-6 * (1.0 + want.abs());
                // The moments are small (v about 1e-3): mostly relative tolerance, plus the f32
                // rounding of their terms (at most ~0.2, so a few 1e-8) where they cancel.
                let close_moment = |got: f32, want: f64| (got as f64 - want).abs() <= 1e-6 * want.abs() + 3e-8;
                assert!(close(values[i], x), "n {n}, degree {degree}, {group:?} float {i}: value {} against {x}", values[i]);
                assert!(
                    close_moment(mv[2 * i], m) && close_moment(mv[2 * i + 1], v),
                    "n {n}, degree {degree}, {group:?} float {i}: moments ({}, {}) against ({m}, {v})",
                    mv[2 * i],
                    mv[2 * i + 1]
                );
            }
        }
    }
}
