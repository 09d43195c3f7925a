//! Data-parallel training (#16) on two and three lavapipe devices in one process: the
//! all-reduce leaves the same bits on every device (the f32 sum in device order), two devices'
//! summed gradients are one device's for the same views (within float tolerance: the devices
//! add in another order), training the demo set on two devices trains as one device does,
//! every replica stays identical, and a replica that differs stops training.

use crate::common::demo_training::{ground_truth, orbit_cameras, train_views};
use wgsplat::kernel::all_reduce::{AllReduce, Member};
use wgsplat::kernel::buffers;
use wgsplat::render::backward::GpuSplatGrads;
use wgsplat::train::init::{random_points, splats_from_points};
use wgsplat::train::strategy::densify::DensifyConfig;
use wgsplat::train::trainer::{TrainConfig, TrainError, Trainer};
use wgsplat::{Camera, GpuContext, Splats};

fn device() -> GpuContext {
    pollster::block_on(GpuContext::new()).expect("a GPU adapter (lavapipe in CI)")
}

fn read_f32s(gpu: &GpuContext, buffer: &wgpu::Buffer, floats: usize) -> Vec<f32> {
    pollster::block_on(buffers::read_u32s(gpu, buffer, floats as u64 * 4)).unwrap().into_iter().map(f32::from_bits).collect()
}

#[test]
fn all_reduce_leaves_the_same_sum_on_every_device() {
    let gpus: Vec<GpuContext> = (0..3).map(|_| device()).collect();
    let mut rng = wgsplat::rng::SplitMix(17);
    for devices in [2, 3] {
        let gpus: Vec<&GpuContext> = gpus[..devices].iter().collect();
        let mut all_reduce = AllReduce::new(&gpus);
        // Sizes across one workgroup, several, and the 2D dispatch of many; the buffers may be
        // larger than what is summed.
        for floats in [1usize, 255, 257, 70_001] {
            let values: Vec<Vec<f32>> = (0..devices)
                .map(|_| (0..floats).map(|_| (rng.next_f32() - 0.5) * 10f32.powi((rng.next_u64() % 7) as i32 - 3)).collect())
                .collect();
            let buffers: Vec<wgpu::Buffer> = gpus
                .iter()
                .zip(&values)
                .map(|(gpu, v)| {
                    let mut padded = v.clone();
                    padded.extend([9.0; 5]);
                    buffers::storage_init(&gpu.device, "values", &padded)
                })
                .collect();
            let tails: Vec<wgpu::Buffer> =
                gpus.iter().enumerate().map(|(rank, gpu)| buffers::storage_init(&gpu.device, "tail", &[rank as u32, 7])).collect();
            let members: Vec<Member> =
                gpus.iter().zip(&buffers).zip(&tails).map(|((gpu, buffer), tail)| Member { gpu, buffer, tail: Some(tail) }).collect();
            let (got_tails, timing) = pollster::block_on(all_reduce.sum(&members, floats as u64 * 4, 8)).unwrap();
            assert!(timing.wait_us >= 0.0 && timing.host_us > 0.0);
            for (rank, tail) in got_tails.iter().enumerate() {
                assert_eq!(bytemuck::cast_slice::<u8, u32>(tail), [rank as u32, 7], "device {rank}'s tail");
            }
            // The f32 sum in device order, as every device forms it; and close to the f64 sum.
            let expected: Vec<f32> = (0..floats).map(|i| (1..devices).fold(values[0][i], |sum, d| sum + values[d][i])).collect();
            for (rank, (gpu, buffer)) in gpus.iter().zip(&buffers).enumerate() {
                let got = read_f32s(gpu, buffer, floats + 5);
                for i in 0..floats {
                    assert_eq!(got[i].to_bits(), expected[i].to_bits(), "{devices} devices, {floats} floats: device {rank}, float {i}");
                    let exact: f64 = values.iter().map(|v| v[i] as f64).sum();
                    assert!((got[i] as f64 - exact).abs() <= 1e-6 * values.iter().map(|v| v[i].abs() as f64).sum::<f64>() + 1e-30);
                }
                assert_eq!(&got[floats..], [9.0; 5], "device {rank}: past the summed range nothing changes");
            }
        }
    }
}

/// The demo training set, small.
fn setup(gpu: &GpuContext, cams: &[Camera]) -> (Splats, wgsplat::train::images::GpuImages) {
    let (points, colors) = random_points(1500, [0.0, 0.0, -0.1], 1.5, 7);
    (splats_from_points(&points, &colors, 3), ground_truth(gpu, cams))
}

/// Trains the first `run` steps of a run of `steps` steps of `batch` views on the devices of
/// `gpus` (the first is the lead); returns the trainer, after `inspect` saw it after every step.
fn train_with(gpus: &[GpuContext], batch: u32, steps: u32, run: u32, mut inspect: impl FnMut(&Trainer)) -> Trainer {
    let cams = orbit_cameras(8, 0.45, 40);
    let (splats, images) = setup(&gpus[0], &cams);
    // Density control every few steps, an opacity reset among them: every path of a step.
    let densify =
        DensifyConfig { start_views: 8, every_views: 8, stop_views: 80, opacity_reset_every_views: 24, ..DensifyConfig::default() };
    let config = TrainConfig { steps, batch, seed: 9, log_every: 1, densify, ..TrainConfig::default() };
    let mut trainer = Trainer::new(&gpus[0], &splats, train_views(&cams), images, 4.0, config).unwrap();
    for peer in &gpus[1..] {
        let images = ground_truth(peer, &cams);
        pollster::block_on(trainer.add_replica(peer.clone(), images)).map_err(|(e, _)| e).unwrap();
    }
    assert_eq!(trainer.devices(), gpus.len());
    let mut metrics = 0;
    while trainer.steps_done() < run {
        pollster::block_on(trainer.step()).unwrap();
        metrics += trainer.poll_metrics().unwrap().len();
        inspect(&trainer);
    }
    pollster::block_on(trainer.finish());
    metrics += trainer.poll_metrics().unwrap().len();
    assert_eq!(metrics, run as usize, "every step's loss comes back");
    trainer
}

/// The lead's splats and each replica's.
fn splats_of(trainer: &Trainer) -> (Splats, Vec<Splats>) {
    // Read as they are (an export would first remove non-finite splats on every device).
    let download = |rank: usize| {
        let device = trainer.device(rank);
        pollster::block_on(device.splats().download(device.gpu())).unwrap()
    };
    let devices = trainer.devices();
    (download(0), (1..devices).map(download).collect())
}

/// The gradients the trainer's last step applied, as floats.
fn last_gradients(trainer: &Trainer, rank: usize) -> Vec<f32> {
    let device = trainer.device(rank);
    let grads = device.renderer().last_gradients().expect("a step ran");
    read_f32s(device.gpu(), &grads.buffer, GpuSplatGrads::floats(grads.num_splats, grads.coeffs_per_splat) as usize)
}

fn percentiles(a: &[f32], b: &[f32]) -> (f32, f32, f32) {
    let mut diffs: Vec<f32> = a.iter().zip(b).map(|(x, y)| (x - y).abs()).collect();
    diffs.sort_by(f32::total_cmp);
    let at = |q: f64| diffs[((diffs.len() - 1) as f64 * q) as usize];
    (at(0.5), at(0.99), at(1.0))
}

/// The first step starts from the same state on one device and on two: the two devices' summed
/// gradients and density statistics are the one device's for the same views, up to the order
/// of the additions.
#[test]
fn two_devices_sum_the_gradients_one_device_computes() {
    let gpus: Vec<GpuContext> = (0..2).map(|_| device()).collect();
    for batch in [2, 3] {
        let mut one = Vec::new();
        let mut single = train_with(&gpus[..1], batch, 30, 1, |t| one = last_gradients(t, 0));
        let mut two = Vec::new();
        let mut trainer = train_with(&gpus, batch, 30, 1, |t| two = last_gradients(t, 0));
        // The density statistics too, as a checkpoint keeps them: every device's added up, each
        // view's screen-space gradient scaled for the whole step's batch.
        let stats = |t: &mut Trainer| pollster::block_on(t.checkpoint()).unwrap().state.stats.concat();
        let (stats_one, stats_two) = (stats(&mut single), stats(&mut trainer));
        assert!(stats_one.iter().skip(1).step_by(4).sum::<f32>() > 0.0, "the step gathered statistics");
        let (_, _, worst) = percentiles(&stats_one, &stats_two);
        let largest = stats_one.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        assert!(worst <= 1e-4 * largest, "batch {batch}: density statistics differ by {worst} (largest {largest})");
        assert_eq!(last_gradients(&trainer, 1), two, "batch {batch}: both devices hold the same sum");
        assert_eq!(one.len(), two.len());
        let scale = one.iter().map(|g| g.abs()).fold(0.0f32, f32::max);
        let (median, p99, worst) = percentiles(&one, &two);
        println!(
            "batch {batch}: gradient differences median {median:e}, 99th percentile {p99:e}, largest {worst:e} (largest gradient {scale:e})"
        );
        assert!(
            scale > 0.0 && worst <= 1e-4 * scale,
            "batch {batch}: the summed gradients differ by up to {worst} (largest gradient {scale})"
        );
        let norm = |g: &[f32]| g.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
        let diff: Vec<f32> = one.iter().zip(&two).map(|(a, b)| a - b).collect();
        assert!(norm(&diff) <= 1e-5 * norm(&one), "batch {batch}: relative difference {}", norm(&diff) / norm(&one));
    }
}

/// A run on two devices, with density control and an opacity reset, against one device: the
/// replicas stay identical, and the run trains as one device does. The two runs are not equal
/// bit for bit: the devices sum each gradient in another order, Adam turns rounding noise into
/// up to a step where a gradient is near zero (its step is the noise's sign), and lavapipe's
/// float atomics make even one device's runs differ under load; so splat counts may differ by
/// a splat crossing a threshold, and the runs are compared by their losses and, where the
/// counts agree, by the parameters' typical differences (medians measured 1e-8 to 4e-6).
#[test]
fn two_devices_train_as_one_device_does() {
    let gpus: Vec<GpuContext> = (0..2).map(|_| device()).collect();
    let steps = 30;
    for batch in [2, 3] {
        let mut losses = [Vec::new(), Vec::new()];
        for (run, devices) in [1, 2].into_iter().enumerate() {
            let trainer = train_with(&gpus[..devices], batch, steps, steps, |_| {});
            assert!(trainer.last_refine().is_some(), "density control ran");
            let (lead, replicas) = splats_of(&trainer);
            for r in &replicas {
                assert_eq!(&lead, r, "batch {batch}: the replicas are identical");
            }
            let mut t = trainer;
            let mut images = ground_truth(&gpus[0], &orbit_cameras(8, 0.45, 40));
            let eval = pollster::block_on(t.evaluate(&train_views(&orbit_cameras(8, 0.45, 40)), &mut images)).unwrap();
            losses[run] = vec![eval.psnr, lead.len() as f64];
            if devices == 2 {
                let report = t.exchange_report().expect("two devices exchange");
                assert_eq!((report.devices, report.steps), (2, steps as u64));
                println!(
                    "batch {batch}: exchange wait {:.2} ms, host {:.2} ms a step",
                    report.wait_ms / steps as f64,
                    report.host_ms / steps as f64
                );
            }
        }
        let [one, two] = &losses;
        println!("batch {batch}: one device PSNR {:.3} with {} splats, two devices {:.3} with {}", one[0], one[1], two[0], two[1]);
        assert!((one[0] - two[0]).abs() <= 0.1, "batch {batch}: PSNR {} on one device, {} on two", one[0], two[0]);
        assert!((one[1] - two[1]).abs() <= 0.02 * one[1], "batch {batch}: {} splats on one device, {} on two", one[1], two[1]);
    }
}

#[test]
fn three_devices_keep_identical_replicas() {
    let gpus: Vec<GpuContext> = (0..3).map(|_| device()).collect();
    let trainer = train_with(&gpus, 4, 30, 30, |_| {});
    let (lead, replicas) = splats_of(&trainer);
    assert_eq!(replicas.len(), 2);
    for (k, r) in replicas.iter().enumerate() {
        assert_eq!(&lead, r, "replica {}", k + 1);
    }
}

#[test]
fn a_replica_that_differs_stops_training() {
    let gpus: Vec<GpuContext> = (0..2).map(|_| device()).collect();
    let cams = orbit_cameras(4, 0.45, 32);
    let (splats, images) = setup(&gpus[0], &cams);
    let config = TrainConfig { steps: 20, batch: 2, seed: 1, ..TrainConfig::default() };
    let mut trainer = Trainer::new(&gpus[0], &splats, train_views(&cams), images, 4.0, config).unwrap();
    pollster::block_on(trainer.add_replica(gpus[1].clone(), ground_truth(&gpus[1], &cams))).map_err(|(e, _)| e).unwrap();
    for _ in 0..3 {
        pollster::block_on(trainer.step()).unwrap();
    }
    // One float of one replica's opacity changes, as a bug on one device would change it.
    let peer = trainer.device(1);
    peer.gpu().queue.write_buffer(&peer.splats().opacity_logits, 4, bytemuck::bytes_of(&0.25f32));
    let error = pollster::block_on(trainer.step()).expect_err("the checksums differ");
    assert!(matches!(error, TrainError::ReplicasDiverged { step: 3, .. }), "{error}");
    assert!(error.to_string().contains("device 1 holds other parameters"), "{error}");
}

#[test]
fn a_batch_smaller_than_the_devices_is_refused() {
    let gpus: Vec<GpuContext> = (0..2).map(|_| device()).collect();
    let cams = orbit_cameras(4, 0.45, 32);
    let (splats, images) = setup(&gpus[0], &cams);
    let config = TrainConfig { steps: 20, batch: 1, ..TrainConfig::default() };
    let mut trainer = Trainer::new(&gpus[0], &splats, train_views(&cams), images, 4.0, config).unwrap();
    let (error, _images) = pollster::block_on(trainer.add_replica(gpus[1].clone(), ground_truth(&gpus[1], &cams)))
        .expect_err("one view cannot be shared by two devices");
    assert!(error.to_string().contains("2 devices need at least 2 views a step"), "{error}");
    assert_eq!(trainer.devices(), 1);
}

/// One device and two (`--gpus 2 --share-gpu`) run the same code: every phase of every step
/// (render, loss and backward with or without the statistics, Adam, and between steps the
/// rounds of density control, the renderers' sizing and the opacity reset) that the single
/// device runs, each of the two runs, in the same order; the coordinator's own phases (the
/// gradient exchange, a no-op on one device) are the same too.
#[test]
fn one_device_and_two_run_the_same_phases() {
    use wgsplat::train::step_trace::{Phase, StepTrace};
    let gpus: Vec<GpuContext> = (0..2).map(|_| device()).collect();
    let mut traces: Vec<Vec<StepTrace>> = Vec::new();
    for devices in [1, 2] {
        let mut steps = Vec::new();
        train_with(&gpus[..devices], 2, 30, 30, |t| steps.push(t.last_step_trace().clone()));
        traces.push(steps);
    }
    let (one, two) = (&traces[0], &traces[1]);
    assert_eq!(one.len(), 30);
    assert_eq!(two.len(), 30);
    let coordinator = |t: &StepTrace| t.entries().iter().filter(|(d, _)| d.is_none()).map(|(_, p)| *p).collect::<Vec<_>>();
    for (step, (a, b)) in one.iter().zip(two).enumerate() {
        let single = a.of_device(0);
        assert!(a.of_device(1).is_empty(), "step {step}: one device");
        for rank in 0..2 {
            assert_eq!(b.of_device(rank), single, "step {step}: device {rank} of two ran other phases than the one device");
        }
        assert_eq!(coordinator(a), coordinator(b), "step {step}");
    }
    // Every kind of phase ran at some step: a comparison that never saw a path checks nothing.
    let phases = [
        Phase::SizeRenderer,
        Phase::Gradients { statistics: true },
        Phase::Gradients { statistics: false },
        Phase::Exchange,
        Phase::Apply,
        Phase::Round,
        Phase::ResetOpacity,
    ];
    for phase in phases {
        assert!(one.iter().any(|t| t.entries().iter().any(|(_, p)| *p == phase)), "{phase:?} never ran");
    }
}
