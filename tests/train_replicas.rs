//! Data-parallel training (#16) on two and three lavapipe devices in one process: the
//! all-reduce leaves the same bits on every device (the f32 sum in device order), training the
//! demo set on two devices gives the splats one device gives for the same views a step (within
//! float tolerance: the devices sum the gradients in another order), every replica stays
//! identical, and a replica that differs stops training.

mod common;

use common::demo_training::{ground_truth, orbit_cameras, train_views};
use wgsplat::kernel::all_reduce::{AllReduce, Member};
use wgsplat::kernel::buffers;
use wgsplat::train::densify::DensifyConfig;
use wgsplat::train::init::{random_points, splats_from_points};
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
            let values: Vec<Vec<f32>> = (0..devices).map(|_| (0..floats).map(|_| (rng.next_f32() - 0.5) * 10f32.powi((rng.next_u64() % 7) as i32 - 3)).collect()).collect();
            let buffers: Vec<wgpu::Buffer> = gpus.iter().zip(&values).map(|(gpu, v)| {
                let mut padded = v.clone();
                padded.extend([9.0; 5]);
                buffers::storage_init(&gpu.device, "values", &padded)
            }).collect();
            let tails: Vec<wgpu::Buffer> = gpus.iter().enumerate().map(|(rank, gpu)| buffers::storage_init(&gpu.device, "tail", &[rank as u32, 7])).collect();
            let members: Vec<Member> = gpus.iter().zip(&buffers).zip(&tails).map(|((gpu, buffer), tail)| Member { gpu, buffer, tail: Some(tail) }).collect();
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

/// Trains `steps` steps of `batch` views on `devices` devices (the first is the lead); returns
/// the lead's splats and each replica's.
fn train(gpus: &[GpuContext], batch: u32, steps: u32) -> (Splats, Vec<Splats>, Trainer) {
    let cams = orbit_cameras(8, 0.45, 40);
    let (splats, images) = setup(&gpus[0], &cams);
    // Density control every few steps, an opacity reset among them: every path of a step.
    let densify = DensifyConfig { start_views: 16, every_views: 16, stop_views: 80, opacity_reset_every_views: 48, ..DensifyConfig::default() };
    let config = TrainConfig { steps, batch, seed: 9, log_every: 1, densify, ..TrainConfig::default() };
    let mut trainer = Trainer::new(&gpus[0], &splats, train_views(&cams), images, 4.0, config).unwrap();
    for peer in &gpus[1..] {
        let images = ground_truth(peer, &cams);
        pollster::block_on(trainer.add_replica(&gpus[0], peer.clone(), images)).map_err(|(e, _)| e).unwrap();
    }
    assert_eq!(trainer.devices(), gpus.len());
    let mut metrics = 0;
    while trainer.step < steps {
        pollster::block_on(trainer.step(&gpus[0])).unwrap();
        metrics += trainer.poll_metrics(&gpus[0]).unwrap().len();
    }
    pollster::block_on(trainer.finish(&gpus[0]));
    metrics += trainer.poll_metrics(&gpus[0]).unwrap().len();
    assert_eq!(metrics, steps as usize, "every step's loss comes back");
    let lead = pollster::block_on(trainer.export(&gpus[0])).unwrap();
    let replicas = trainer.peers().iter().map(|p| pollster::block_on(p.trainer.export(&p.gpu)).unwrap()).collect();
    (lead, replicas, trainer)
}

/// Two runs agree within float tolerance: one device alone is deterministic on lavapipe, and
/// two devices sum each splat's gradient in another order, which moves most values by a few
/// ulps; Adam turns that into at most a few of its steps where a gradient is near zero (its
/// step is the sign of such noise). Measured at batch 2: median 2e-8 to 5e-7, 99th percentile
/// 1e-6 to 3e-5, largest 1e-4 to 5e-3; a wrong sum (a device's views missing, or counted
/// twice) moves the median by orders of magnitude.
fn assert_close(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let mut diffs: Vec<f32> = a.iter().zip(b).map(|(x, y)| (x - y).abs()).collect();
    diffs.sort_by(f32::total_cmp);
    let at = |q: f64| diffs[((diffs.len() - 1) as f64 * q) as usize];
    let (median, p99, worst) = (at(0.5), at(0.99), at(1.0));
    assert!(median <= 2e-6 && p99 <= 2e-4 && worst <= 2e-2, "{what}: differences median {median}, 99th percentile {p99}, largest {worst}");
}

#[test]
fn two_devices_train_the_splats_one_device_trains() {
    let gpus: Vec<GpuContext> = (0..2).map(|_| device()).collect();
    let steps = 60;
    for batch in [2, 3] {
        let (one, _, single) = train(&gpus[..1], batch, steps);
        let (two, replicas, trainer) = train(&gpus, batch, steps);
        assert!(single.last_refine.is_some(), "density control ran");
        assert_eq!(single.last_refine, trainer.last_refine, "batch {batch}: the same density-control rounds");
        assert_eq!(two, replicas[0], "batch {batch}: the replicas are identical");
        assert_eq!(one.len(), two.len(), "batch {batch}: splat counts");
        assert_close(&one.means.concat(), &two.means.concat(), "means");
        assert_close(&one.rotations.concat(), &two.rotations.concat(), "rotations");
        assert_close(&one.log_scales.concat(), &two.log_scales.concat(), "log scales");
        assert_close(&one.opacity_logits, &two.opacity_logits, "opacity logits");
        assert_close(&one.sh, &two.sh, "SH");
        let report = trainer.exchange_report().expect("two devices exchange");
        assert_eq!((report.devices, report.steps), (2, steps as u64));
        assert_eq!(report.bytes_per_step, two.len() as u64 * 59 * 4, "every gradient of every splat");
        println!("batch {batch}: {} splats; exchange wait {:.2} ms, host {:.2} ms a step", two.len(), report.wait_ms / steps as f64, report.host_ms / steps as f64);
    }
}

#[test]
fn three_devices_keep_identical_replicas() {
    let gpus: Vec<GpuContext> = (0..3).map(|_| device()).collect();
    let (lead, replicas, _) = train(&gpus, 4, 40);
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
    pollster::block_on(trainer.add_replica(&gpus[0], gpus[1].clone(), ground_truth(&gpus[1], &cams))).map_err(|(e, _)| e).unwrap();
    for _ in 0..3 {
        pollster::block_on(trainer.step(&gpus[0])).unwrap();
    }
    // One float of one replica's opacity changes, as a bug on one device would change it.
    let peer = &trainer.peers()[0];
    peer.gpu.queue.write_buffer(&peer.trainer.splats.opacity_logits, 4, bytemuck::bytes_of(&0.25f32));
    let error = pollster::block_on(trainer.step(&gpus[0])).expect_err("the checksums differ");
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
    let (error, _images) = pollster::block_on(trainer.add_replica(&gpus[0], gpus[1].clone(), ground_truth(&gpus[1], &cams))).expect_err("one view cannot be shared by two devices");
    assert!(error.to_string().contains("2 devices need at least 2 views a step"), "{error}");
    assert_eq!(trainer.devices(), 1);
}

