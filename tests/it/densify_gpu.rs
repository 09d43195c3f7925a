//! Density control on the GPU against its CPU twin (`strategy::cpu::refine`) on random scenes: which
//! splats are cloned, split and pruned, the parameters and Adam moments of every splat after the
//! round (in the same order), the statistics cleared; at several sizes, with and without the
//! pruning of large splats, with growth past the buffers' capacity and a second round in the
//! grown buffers, and under a splat budget. And the opacity reset.

use rand::{Rng, SeedableRng, rngs::StdRng};
use wgsplat::kernel::buffers;
use wgsplat::render::GpuSplats;
use wgsplat::train::adam::Group;
use wgsplat::train::strategy::cpu::{refine, remove_nonfinite, reset_opacity};
use wgsplat::train::strategy::densify::{DensifyConfig, RefineReport, RefineState};
use wgsplat::train::strategy::densify_gpu::{DensifyTargets, GpuDensify, Round, RoundKind};
use wgsplat::{GpuContext, Splats};

fn gpu() -> GpuContext {
    pollster::block_on(GpuContext::new()).expect("a GPU adapter (lavapipe in CI)")
}

fn random_stats(rng: &mut StdRng, n: usize) -> Vec<[f32; 4]> {
    (0..n)
        .map(|_| {
            let seen = rng.random_range(0..4) as f32;
            // Mean gradients around the 2e-4 threshold, some far above.
            let grad = 10f32.powf(rng.random_range(-5.0..-2.5));
            [grad * seen, seen, rng.random_range(0.0..40.0), 0.0]
        })
        .collect()
}

fn random_state(rng: &mut StdRng, n: usize, degree: u32) -> RefineState {
    let k = ((degree + 1) * (degree + 1)) as usize;
    let splats = Splats {
        means: (0..n).map(|_| std::array::from_fn(|_| rng.random_range(-2.0..2.0))).collect(),
        rotations: (0..n).map(|_| std::array::from_fn(|_| rng.random_range(-1.0..1.0))).collect(),
        // Scales from 0.001 to 0.5 of an extent of 1: some cloned, some split, some too large.
        log_scales: (0..n).map(|_| std::array::from_fn(|_| rng.random_range((0.001f32).ln()..(0.5f32).ln()))).collect(),
        // Some below the 0.005 opacity at which splats are pruned.
        opacity_logits: (0..n).map(|_| rng.random_range(-7.0..4.0)).collect(),
        sh: (0..n * k * 3).map(|_| rng.random_range(-1.0..1.0)).collect(),
        sh_degree: degree,
    };
    let moments = Group::ALL
        .map(|g| (0..n * g.row_len(k as u32) as usize).map(|_| [rng.random_range(-1.0..1.0), rng.random_range(0.0..1.0)]).collect());
    RefineState { splats, moments, stats: random_stats(rng, n) }
}

/// The state on the GPU: splats, moments and statistics buffers of exactly `n` splats.
struct OnGpu {
    splats: GpuSplats,
    moments: [wgpu::Buffer; 5],
    stats: wgpu::Buffer,
}

fn upload(gpu: &GpuContext, state: &RefineState) -> OnGpu {
    // The upload refuses non-finite splats: a finite stand-in goes first, then the parameters
    // as they are (the broken ones of the non-finite tests included) are written over it.
    let finite = |v: f32| if v.is_finite() { v } else { 0.5 };
    let stand_in = Splats {
        means: state.splats.means.iter().map(|m| m.map(finite)).collect(),
        rotations: state.splats.rotations.iter().map(|r| r.map(finite)).collect(),
        log_scales: state.splats.log_scales.iter().map(|l| l.map(finite)).collect(),
        opacity_logits: state.splats.opacity_logits.iter().copied().map(finite).collect(),
        sh: state.splats.sh.iter().copied().map(finite).collect(),
        sh_degree: state.splats.sh_degree,
    };
    let splats = GpuSplats::upload(gpu, &stand_in).unwrap();
    let s = &state.splats;
    gpu.queue.write_buffer(&splats.means, 0, bytemuck::cast_slice(&s.means));
    gpu.queue.write_buffer(&splats.quats, 0, bytemuck::cast_slice(&s.rotations));
    gpu.queue.write_buffer(&splats.log_scales, 0, bytemuck::cast_slice(&s.log_scales));
    gpu.queue.write_buffer(&splats.opacity_logits, 0, bytemuck::cast_slice(&s.opacity_logits));
    gpu.queue.write_buffer(&splats.sh, 0, bytemuck::cast_slice(&s.sh));
    let moments = std::array::from_fn(|i| buffers::storage_init(&gpu.device, "moments", &state.moments[i]));
    OnGpu { splats, moments, stats: buffers::storage_init(&gpu.device, "stats", &state.stats) }
}

fn download(gpu: &GpuContext, on: &OnGpu) -> RefineState {
    let splats = pollster::block_on(on.splats.download(gpu)).unwrap();
    let n = on.splats.num_splats as u64;
    let coeffs = on.splats.coeffs_per_splat();
    let moments = std::array::from_fn(|i| {
        let floats = n * Group::ALL[i].row_len(coeffs) as u64 * 2;
        let words = pollster::block_on(buffers::read_u32s(gpu, &on.moments[i], floats * 4)).unwrap();
        words.chunks(2).map(|c| [f32::from_bits(c[0]), f32::from_bits(c[1])]).collect()
    });
    let words = pollster::block_on(buffers::read_u32s(gpu, &on.stats, n * 16)).unwrap();
    let stats = words.chunks(4).map(|c| std::array::from_fn(|j| f32::from_bits(c[j]))).collect();
    RefineState { splats, moments, stats }
}

fn gpu_round(gpu: &GpuContext, density: &mut GpuDensify, on: &mut OnGpu, config: &DensifyConfig, round: Round) -> RefineReport {
    let targets = DensifyTargets { splats: &mut on.splats, moments: &mut on.moments, stats: &mut on.stats };
    pollster::block_on(density.refine(gpu, targets, config, round)).unwrap()
}

fn close(a: f32, b: f32, tol: f32) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}

/// Everything equal but for the float rounding of the split children's means and scales, and
/// the statistics cleared.
fn assert_same(label: &str, got: &RefineState, want: &RefineState) {
    assert_same_splats(label, got, want);
    assert!(got.stats.iter().all(|s| *s == [0.0; 4]), "{label}: statistics cleared");
}

fn assert_same_splats(label: &str, got: &RefineState, want: &RefineState) {
    let (g, w) = (&got.splats, &want.splats);
    assert_eq!(g.len(), w.len(), "{label}: splat count");
    for i in 0..w.len() {
        assert!((0..3).all(|a| close(g.means[i][a], w.means[i][a], 1e-5)), "{label}: mean {i}: {:?} vs {:?}", g.means[i], w.means[i]);
        assert!(
            (0..3).all(|a| close(g.log_scales[i][a], w.log_scales[i][a], 1e-5)),
            "{label}: scale {i}: {:?} vs {:?}",
            g.log_scales[i],
            w.log_scales[i]
        );
    }
    assert_eq!(g.rotations, w.rotations, "{label}: rotations");
    assert_eq!(g.opacity_logits, w.opacity_logits, "{label}: opacities");
    assert_eq!(g.sh, w.sh, "{label}: SH");
    for (i, group) in Group::ALL.iter().enumerate() {
        assert_eq!(got.moments[i], want.moments[i], "{label}: {group:?} moments");
    }
}

#[test]
fn gpu_rounds_match_the_cpu_twin() {
    let gpu = gpu();
    let mut rng = StdRng::seed_from_u64(31);
    let mut density = GpuDensify::new(&gpu);
    for (n, degree, prune_large) in [(1usize, 0u32, false), (7, 1, true), (1000, 3, false), (20_000, 2, true), (70_000, 3, false)] {
        let mut cpu = random_state(&mut rng, n, degree);
        let mut on = upload(&gpu, &cpu);
        let config = DensifyConfig { max_screen_size: 20.0, ..DensifyConfig::default() };
        for round_index in 0..2u32 {
            let round = Round { extent: 1.0, prune_large, seed: 1000 + round_index, max_splats: 0, kind: RoundKind::Refine };
            let label = format!("N={n} SH {degree} prune_large {prune_large} round {round_index}");
            let capacity_before = on.splats.capacity;
            let got_report = gpu_round(&gpu, &mut density, &mut on, &config, round);
            let want_report = refine(&mut cpu, &config, 1.0, prune_large, round.seed);
            println!("{label}: {got_report:?}, capacity {capacity_before} -> {}", on.splats.capacity);
            assert_eq!(got_report, want_report, "{label}: report");
            assert!(on.splats.capacity >= on.splats.num_splats);
            assert_same(&label, &download(&gpu, &on), &cpu);
            // Fresh statistics for the next round, on both sides.
            cpu.stats = random_stats(&mut rng, cpu.splats.len());
            gpu.queue.write_buffer(&on.stats, 0, bytemuck::cast_slice(&cpu.stats));
        }
    }
}

#[test]
fn growth_past_capacity_then_rounds_in_the_grown_buffers() {
    let gpu = gpu();
    let mut rng = StdRng::seed_from_u64(5);
    let mut cpu = random_state(&mut rng, 3000, 1);
    // Every splat opaque and above the threshold: the scene doubles.
    for i in 0..3000 {
        cpu.splats.opacity_logits[i] = 2.0;
        cpu.stats[i] = [0.01, 1.0, 1.0, 0.0];
    }
    let mut on = upload(&gpu, &cpu);
    let mut density = GpuDensify::new(&gpu);
    let config = DensifyConfig::default();
    let report = gpu_round(
        &gpu,
        &mut density,
        &mut on,
        &config,
        Round { extent: 1.0, prune_large: false, seed: 9, max_splats: 0, kind: RoundKind::Refine },
    );
    assert_eq!(report, refine(&mut cpu, &config, 1.0, false, 9));
    assert_eq!(report.total, 6000);
    assert!(on.splats.capacity >= 6000, "grew to {}", on.splats.capacity);
    assert_same("grown", &download(&gpu, &on), &cpu);
    // A round that shrinks: the capacity stays.
    let capacity = on.splats.capacity;
    cpu.stats = random_stats(&mut rng, 6000);
    for (i, o) in cpu.splats.opacity_logits.iter_mut().enumerate() {
        if i % 3 == 0 {
            *o = -8.0;
        }
    }
    let opacities = cpu.splats.opacity_logits.clone();
    gpu.queue.write_buffer(&on.stats, 0, bytemuck::cast_slice(&cpu.stats));
    gpu.queue.write_buffer(&on.splats.opacity_logits, 0, bytemuck::cast_slice(&opacities));
    let report = gpu_round(
        &gpu,
        &mut density,
        &mut on,
        &config,
        Round { extent: 1.0, prune_large: true, seed: 10, max_splats: 0, kind: RoundKind::Refine },
    );
    assert_eq!(report, refine(&mut cpu, &config, 1.0, true, 10));
    assert!(report.pruned >= 2000);
    assert_eq!(on.splats.capacity, capacity);
    assert_same("shrunk", &download(&gpu, &on), &cpu);
}

#[test]
fn a_budget_holds_and_grows_the_largest_gradients() {
    let gpu = gpu();
    let mut rng = StdRng::seed_from_u64(17);
    let mut density = GpuDensify::new(&gpu);
    for (n, budget) in [(2000usize, 2100u32), (2000, 2000), (5000, 9000)] {
        let mut cpu = random_state(&mut rng, n, 0);
        for o in &mut cpu.splats.opacity_logits {
            *o = o.abs();
        }
        let mut on = upload(&gpu, &cpu);
        let config = DensifyConfig { max_splats: budget, ..DensifyConfig::default() };
        let report = gpu_round(
            &gpu,
            &mut density,
            &mut on,
            &config,
            Round { extent: 1.0, prune_large: false, seed: 3, max_splats: budget, kind: RoundKind::Refine },
        );
        let want = refine(&mut cpu, &config, 1.0, false, 3);
        println!("N={n} budget {budget}: {report:?}");
        assert_eq!(report, want);
        assert!(report.total <= budget as usize, "{} splats over a budget of {budget}", report.total);
        assert!(on.splats.capacity <= budget.max(n as u32), "capacity {} past the budget", on.splats.capacity);
        assert_same(&format!("budget {budget}"), &download(&gpu, &on), &cpu);
    }
}

#[test]
fn opacity_reset_matches_the_cpu_twin() {
    let gpu = gpu();
    let mut rng = StdRng::seed_from_u64(2);
    let mut cpu = random_state(&mut rng, 5000, 1);
    let on = upload(&gpu, &cpu);
    let mut density = GpuDensify::new(&gpu);
    density.reset_opacity(&gpu, &on.splats, &on.moments[3], 0.01);
    reset_opacity(&mut cpu, 0.01);
    let got = download(&gpu, &on);
    for (g, w) in got.splats.opacity_logits.iter().zip(&cpu.splats.opacity_logits) {
        assert!(close(*g, *w, 1e-6), "{g} vs {w}");
    }
    assert_eq!(got.moments[3], cpu.moments[3]);
    assert_eq!(got.moments[0], cpu.moments[0], "other moments untouched");
}

/// Puts an infinity or a NaN into `count` random splats, each in one random place: a
/// parameter group, the Adam moments of one, or the density statistics. Some of them get a
/// large gradient too, so that they would grow if nothing stopped them.
fn break_splats(rng: &mut StdRng, state: &mut RefineState, count: usize) -> Vec<usize> {
    let n = state.splats.len();
    let coeffs = state.splats.coeffs_per_splat();
    let mut broken = Vec::new();
    for _ in 0..count {
        let i = rng.random_range(0..n);
        let value = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY][rng.random_range(0..3)];
        match rng.random_range(0..8) {
            0 => state.splats.means[i][rng.random_range(0..3)] = value,
            1 => state.splats.rotations[i][rng.random_range(0..4)] = value,
            2 => state.splats.log_scales[i][rng.random_range(0..3)] = value,
            3 => state.splats.opacity_logits[i] = value,
            4 => state.splats.sh[i * coeffs * 3 + rng.random_range(0..coeffs * 3)] = value,
            5 => state.stats[i][rng.random_range(0..3)] = value,
            _ => {
                let group = rng.random_range(0..5);
                let len = Group::ALL[group].row_len(coeffs as u32) as usize;
                state.moments[group][i * len + rng.random_range(0..len)][rng.random_range(0..2)] = value;
            }
        }
        if rng.random_bool(0.5) && state.stats[i].iter().all(|s| s.is_finite()) {
            state.stats[i] = [0.01, 1.0, 1.0, 0.0];
        }
        broken.push(i);
    }
    broken.sort_unstable();
    broken.dedup();
    broken
}

fn all_finite(state: &RefineState) -> bool {
    let s = &state.splats;
    let finite = |v: &[f32]| v.iter().all(|x| x.is_finite());
    s.means.iter().all(|m| finite(m))
        && s.rotations.iter().all(|r| finite(r))
        && s.log_scales.iter().all(|l| finite(l))
        && finite(&s.opacity_logits)
        && finite(&s.sh)
        && state.moments.iter().all(|g| g.iter().all(|m| finite(m)))
        && state.stats.iter().all(|st| finite(st))
}

/// The guard: a round removes every splat holding an infinity or a NaN (parameters, moments,
/// statistics), grows none of them, and counts them apart from the pruned ones, as the CPU
/// twin does; at several sizes and SH degrees, with and without a budget.
#[test]
fn rounds_remove_nonfinite_splats_as_the_cpu_twin_does() {
    let gpu = gpu();
    let mut rng = StdRng::seed_from_u64(41);
    let mut density = GpuDensify::new(&gpu);
    for (n, degree, broken, budget) in
        [(1usize, 0u32, 1usize, 0u32), (9, 1, 3, 0), (3000, 3, 40, 0), (30_000, 2, 200, 0), (4000, 0, 30, 4200)]
    {
        let mut cpu = random_state(&mut rng, n, degree);
        let broken = break_splats(&mut rng, &mut cpu, broken);
        let mut on = upload(&gpu, &cpu);
        let config = DensifyConfig { max_splats: budget, ..DensifyConfig::default() };
        let label = format!("N={n} SH {degree} budget {budget}, {} broken", broken.len());
        let round = Round { extent: 1.0, prune_large: false, seed: 77, max_splats: budget, kind: RoundKind::Refine };
        let got = match pollster::block_on(density.refine(
            &gpu,
            DensifyTargets { splats: &mut on.splats, moments: &mut on.moments, stats: &mut on.stats },
            &config,
            round,
        )) {
            Ok(report) => report,
            Err(e) if n == broken.len() => {
                // Every splat broken: nothing is left, and that is an error.
                assert!(e.to_string().contains("empty"), "{label}: {e}");
                continue;
            }
            Err(e) => panic!("{label}: {e}"),
        };
        let want = refine(&mut cpu, &config, 1.0, false, 77);
        println!("{label}: {got:?}");
        assert_eq!(got, want, "{label}: report");
        assert_eq!(got.nonfinite, broken.len(), "{label}: every broken splat counted once");
        let after = download(&gpu, &on);
        assert!(all_finite(&after), "{label}: a non-finite value survived the round");
        assert_same(&label, &after, &cpu);
    }
}

/// Before a checkpoint or an export: a removal round takes out the broken splats and keeps
/// everything else as it was, the statistics included; with nothing broken it changes nothing.
#[test]
fn a_removal_round_keeps_everything_else() {
    let gpu = gpu();
    let mut rng = StdRng::seed_from_u64(43);
    let mut density = GpuDensify::new(&gpu);
    let config = DensifyConfig::default();
    for (n, degree, broken) in [(500usize, 1u32, 0usize), (500, 1, 7), (20_000, 3, 120)] {
        let mut cpu = random_state(&mut rng, n, degree);
        let broken = break_splats(&mut rng, &mut cpu, broken);
        let mut on = upload(&gpu, &cpu);
        let label = format!("N={n} SH {degree}, {} broken", broken.len());
        let report = gpu_round(&gpu, &mut density, &mut on, &config, Round::remove_nonfinite());
        let removed = remove_nonfinite(&mut cpu);
        println!("{label}: {report:?}");
        assert_eq!(report.nonfinite, removed, "{label}");
        assert_eq!(removed, broken.len(), "{label}");
        assert_eq!((report.cloned, report.split, report.pruned, report.total), (0, 0, 0, n - removed), "{label}: nothing else changes");
        assert_eq!(on.splats.num_splats as usize, n - removed);
        let after = download(&gpu, &on);
        assert!(all_finite(&after), "{label}");
        assert_same_splats(&label, &after, &cpu);
        assert_eq!(after.stats, cpu.stats, "{label}: the statistics are kept");
    }
}

/// Bad input stops before training, naming the limit and the numbers: a budget below the
/// initial splats, and an image that does not fit one buffer the device binds.
#[test]
fn a_budget_below_the_start_and_images_past_the_device_are_errors() {
    use wgsplat::train::images::GpuImages;
    use wgsplat::train::init::{random_points, splats_from_points};
    use wgsplat::train::trainer::{TrainConfig, TrainView, Trainer};
    let gpu = gpu();
    let camera = wgsplat::scene::demo::demo_camera(16, 16);
    let mut images = GpuImages::new(&gpu, &[(16, 16)]).unwrap();
    images.upload(&gpu, 0, &[128u8; 16 * 16 * 4]).unwrap();
    let views = vec![TrainView { name: "v".into(), camera, slot: 0 }];
    let (points, colors) = random_points(2000, [0.0; 3], 1.0, 1);
    let config = TrainConfig { densify: DensifyConfig { max_splats: 10, ..DensifyConfig::default() }, ..TrainConfig::default() };
    let err = Trainer::new(&gpu, &splats_from_points(&points, &colors, 0), views, images, 1.0, config)
        .err()
        .expect("a budget below the start is refused")
        .to_string();
    assert!(err.contains("10") && err.contains("2000"), "{err}");

    // Many images stream from host memory, but one image must fit one binding.
    let err = GpuImages::new(&gpu, &[(800, 800), (60_000, 60_000)]).err().expect("a 14 GB image does not fit").to_string();
    assert!(
        err.contains("image 1 (60000x60000)") && err.contains("MiB") && err.contains("binds at most") && err.contains("--resolution-scale"),
        "{err}"
    );
}
