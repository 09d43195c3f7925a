//! A short training run on lavapipe: images of the demo scene rendered from orbit cameras are the
//! ground truth; training from random points lowers the loss and raises the test PSNR.

use crate::common::demo_training::{ground_truth, orbit_cameras as orbit_views, train_views};
use wgsplat::GpuContext;
use wgsplat::train::checkpoint;
use wgsplat::train::init::{random_points, splats_from_points};
use wgsplat::train::trainer::{TrainConfig, Trainer};

#[test]
fn training_on_the_demo_scene_lowers_the_loss() {
    let gpu = pollster::block_on(GpuContext::new()).expect("a GPU adapter (lavapipe in CI)");
    let size = 64;
    let train_cams = orbit_views(12, 0.45, size);
    let test_cams = orbit_views(3, 0.3, size);
    let train_images = ground_truth(&gpu, &train_cams);
    let mut test_images = ground_truth(&gpu, &test_cams);
    let (points, colors) = random_points(3000, [0.0, 0.0, -0.1], 1.5, 7);
    let splats = splats_from_points(&points, &colors, 3);
    let views = |cams: &[wgsplat::Camera]| train_views(cams);
    let config = TrainConfig { steps: 150, batch: 2, seed: 3, log_every: 1, ..TrainConfig::default() };
    let mut trainer = Trainer::new(&gpu, &splats, views(&train_cams), train_images, 4.0, config).unwrap();
    let before = pollster::block_on(trainer.evaluate(&views(&test_cams), &mut test_images)).unwrap();
    let mut losses = Vec::new();
    while trainer.steps_done() < 150 {
        pollster::block_on(trainer.step()).unwrap();
        losses.extend(trainer.poll_metrics().unwrap().into_iter().map(|m| m.loss));
    }
    pollster::block_on(trainer.finish());
    losses.extend(trainer.poll_metrics().unwrap().into_iter().map(|m| m.loss));
    let after = pollster::block_on(trainer.evaluate(&views(&test_cams), &mut test_images)).unwrap();
    let first: f64 = losses[..10].iter().sum::<f64>() / 10.0;
    let last: f64 = losses[losses.len() - 10..].iter().sum::<f64>() / 10.0;
    println!(
        "loss {first:.4} -> {last:.4}, test PSNR {:.2} -> {:.2}, SSIM {:.3} -> {:.3}",
        before.psnr, after.psnr, before.ssim, after.ssim
    );
    assert!(losses.len() >= 140, "metrics of most steps arrive ({} of 150)", losses.len());
    assert!(last < first * 0.8, "loss fell from {first} to only {last}");
    assert!(after.psnr > before.psnr + 2.0, "test PSNR {} -> {}", before.psnr, after.psnr);
    // The exported splats are valid and round-trip through a checkpoint.
    let dir = std::env::temp_dir().join(format!("wgsplat-ckpt-{}", std::process::id()));
    pollster::block_on(trainer.save_checkpoint(&dir)).unwrap();
    let exported = pollster::block_on(trainer.export()).unwrap();
    exported.validate().unwrap();
    let saved = checkpoint::read(&dir).unwrap();
    let resumed = Trainer::from_checkpoint(&gpu, saved, views(&train_cams), ground_truth(&gpu, &train_cams), None).unwrap();
    assert_eq!(resumed.steps_done(), 150);
    assert_eq!(pollster::block_on(resumed.device(0).splats().download(&gpu)).unwrap(), exported);

    // Resuming to more steps than the checkpoint's run: the position learning rate decays over
    // the steps the loop now runs to (it used to keep decaying over the checkpoint's 150).
    let extent = resumed.extent();
    let batch_scale = (2.0f32).sqrt();
    let lr = &resumed.config().lr;
    let saved = checkpoint::read(&dir).unwrap();
    let longer = Trainer::from_checkpoint(&gpu, saved, views(&train_cams), ground_truth(&gpu, &train_cams), Some(600)).unwrap();
    assert_eq!((longer.steps_done(), longer.config().steps), (150, 600));
    let close = |a: f32, b: f32| (a - b).abs() <= 1e-6 * b.abs();
    assert!(close(longer.means_rate_at(600), lr.means_final * batch_scale * extent), "{}", longer.means_rate_at(600));
    assert!(longer.means_rate_at(150) > 10.0 * longer.means_rate_at(600), "a quarter of the way, the rate has not decayed yet");
    assert!(close(resumed.means_rate_at(150), lr.means_final * batch_scale * extent));
    let saved = checkpoint::read(&dir).unwrap();
    assert!(
        Trainer::from_checkpoint(&gpu, saved, views(&train_cams), ground_truth(&gpu, &train_cams), Some(100)).is_err(),
        "steps below the checkpoint's step"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A run that ends where the schedule used to reset opacities (a multiple of the reset interval
/// below the refinement stop) ends on a model as good as it trained: its PSNR on the training
/// views is close to the training PSNR of its last steps (it used to be far below, washed out).
#[test]
fn a_short_run_does_not_end_on_an_opacity_reset() {
    use wgsplat::train::strategy::densify::DensifyConfig;
    let gpu = pollster::block_on(GpuContext::new()).expect("a GPU adapter (lavapipe in CI)");
    let size = 48;
    let cams = orbit_views(8, 0.45, size);
    let (points, colors) = random_points(2000, [0.0, 0.0, -0.1], 1.5, 4);
    let densify = DensifyConfig { start_views: 20, every_views: 10, opacity_reset_every_views: 40, ..DensifyConfig::default() };
    let steps = 120;
    let config = TrainConfig { steps, batch: 1, seed: 5, log_every: 1, densify, ..TrainConfig::default() };
    let mut trainer =
        Trainer::new(&gpu, &splats_from_points(&points, &colors, 3), train_views(&cams), ground_truth(&gpu, &cams), 4.0, config).unwrap();
    let resets: Vec<u32> = (0..=steps).filter(|&t| trainer.schedule().resets_opacity_at(t)).collect();
    assert_eq!(resets, [40], "one reset, with a whole interval after it");
    let mut psnrs = Vec::new();
    while trainer.steps_done() < steps {
        pollster::block_on(trainer.step()).unwrap();
        psnrs.extend(trainer.poll_metrics().unwrap().into_iter().map(|m| m.psnr));
    }
    pollster::block_on(trainer.finish());
    psnrs.extend(trainer.poll_metrics().unwrap().into_iter().map(|m| m.psnr));
    let training: f64 = psnrs[psnrs.len() - 10..].iter().sum::<f64>() / 10.0;
    let mut images = ground_truth(&gpu, &cams);
    let eval = pollster::block_on(trainer.evaluate(&train_views(&cams), &mut images)).unwrap();
    println!("training PSNR of the last 10 steps {training:.2}, the final model on the same views {:.2}", eval.psnr);
    assert!(eval.psnr > training - 1.5, "the final model ({:.2} dB) is far below its training PSNR ({training:.2} dB)", eval.psnr);
}

/// #13 (a device lost during training): once the device is gone (here `destroy`, as a driver
/// reset or an unplugged GPU would), the next step ends the run with `DeviceLost` (no panic, no
/// hang), and the checkpoint written before it reads back whole.
#[test]
fn a_lost_device_ends_training_with_an_error_and_leaves_the_checkpoint_intact() {
    use wgsplat::train::session::{ProfileChoice, RunSchedule, TrainSession};
    use wgsplat::train::trainer::TrainError;
    let gpu = pollster::block_on(GpuContext::new()).expect("a GPU adapter (lavapipe in CI)");
    let cams = orbit_views(4, 0.45, 32);
    let (points, colors) = random_points(500, [0.0, 0.0, -0.1], 1.5, 11);
    let config = TrainConfig { steps: 100, seed: 1, ..TrainConfig::default() };
    let trainer =
        Trainer::new(&gpu, &splats_from_points(&points, &colors, 3), train_views(&cams), ground_truth(&gpu, &cams), 4.0, config).unwrap();
    let schedule = RunSchedule { eval_every: 0, eval_at: Vec::new(), checkpoint_every: 10 };
    let mut session = TrainSession::around(trainer, schedule, ProfileChoice { enabled: false, label: "lost".into() });
    let dir = std::env::temp_dir().join(format!("wgsplat-lost-{}", std::process::id()));
    while session.step() < 10 {
        pollster::block_on(session.train_step()).unwrap();
    }
    checkpoint::write(&dir, &pollster::block_on(session.checkpoint()).unwrap()).unwrap();
    pollster::block_on(session.train_step()).unwrap();
    assert_eq!(gpu.lost(), None);
    gpu.device.destroy();
    let error = (0..5).find_map(|_| pollster::block_on(session.train_step()).err()).expect("training stops once the device is lost");
    assert!(matches!(error, TrainError::DeviceLost { .. }), "{error}");
    assert!(error.to_string().contains("the GPU device was lost"), "{error}");
    assert!(gpu.lost().is_some());
    let saved = checkpoint::read(&dir).unwrap();
    assert_eq!(saved.meta.step, 10);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// #27: a splat that goes non-finite mid-run (here written into the buffers by hand, as an
/// overflowing update would leave it) costs the run nothing: the checkpoint and the export drop
/// it and count it, training goes on, and the saved model is valid. Past `NONFINITE_LIMIT` of
/// the scene, it is an error naming the step where it began.
#[test]
fn a_nonfinite_splat_is_removed_and_counted_not_fatal() {
    use wgsplat::train::trainer::TrainError;
    let gpu = pollster::block_on(GpuContext::new()).expect("a GPU adapter (lavapipe in CI)");
    let cams = orbit_views(6, 0.45, 32);
    let (points, colors) = random_points(3000, [0.0, 0.0, -0.1], 1.5, 4);
    let config = TrainConfig { steps: 40, batch: 1, seed: 2, log_every: 1, ..TrainConfig::default() };
    let mut trainer =
        Trainer::new(&gpu, &splats_from_points(&points, &colors, 1), train_views(&cams), ground_truth(&gpu, &cams), 4.0, config).unwrap();
    for _ in 0..10 {
        pollster::block_on(trainer.step()).unwrap();
    }
    // One NaN position and one infinite Adam moment of an SH coefficient, in two splats.
    gpu.queue.write_buffer(&trainer.device(0).splats().means, 12 * 5, bytemuck::cast_slice(&[f32::NAN]));
    let sh_row = 2 * 3 * trainer.device(0).splats().coeffs_per_splat() as u64;
    gpu.queue.write_buffer(&trainer.device(0).adam().moments[4], 4 * sh_row * 9 + 4, bytemuck::cast_slice(&[f32::INFINITY]));
    let before = trainer.num_splats();
    let saved = pollster::block_on(trainer.checkpoint()).expect("a broken splat does not cost the checkpoint");
    saved.state.splats.validate().unwrap();
    assert_eq!(trainer.num_splats(), before - 2);
    let log = trainer.nonfinite();
    assert_eq!((log.removed, log.first_step), (2, Some(10)), "{log:?}");
    while trainer.steps_done() < 20 {
        pollster::block_on(trainer.step()).unwrap();
    }
    let exported = pollster::block_on(trainer.export()).unwrap();
    exported.validate().unwrap();
    assert_eq!(trainer.nonfinite().removed, 2, "nothing else broke");

    // A tenth of the scene broken at once: an error, naming the step.
    let n = trainer.num_splats() as usize;
    gpu.queue.write_buffer(&trainer.device(0).splats().opacity_logits, 0, bytemuck::cast_slice(&vec![f32::NAN; n / 10]));
    let err = pollster::block_on(trainer.export()).expect_err("a tenth of the splats broken is an error");
    assert!(matches!(err, TrainError::TooManyNonFinite { first_step: 10, .. }), "{err}");
    assert!(err.to_string().contains("since step 10"), "{err}");
}
