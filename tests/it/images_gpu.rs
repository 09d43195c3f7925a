//! #13 (datasets larger than the GPU): ground-truth images on the GPU up to a budget, in chunks,
//! the rest in host memory. Whatever the layout, the loss sees a step's images as uploaded, and
//! training and evaluation give the same results as with every image resident.

use crate::common::demo_training::{ground_truth, orbit_cameras, train_views};
use rand::{Rng, SeedableRng, rngs::StdRng};
use wgsplat::GpuContext;
use wgsplat::kernel::buffers;
use wgsplat::train::demo_views::{demo_dataset, fill_ground_truth};
use wgsplat::train::images::{GpuImages, ImageFormat, Place, composite_rgb8};
use wgsplat::train::init::{random_points, splats_from_points};
use wgsplat::train::trainer::{TrainConfig, TrainError, TrainView, Trainer};

fn gpu() -> GpuContext {
    pollster::block_on(GpuContext::new()).expect("a GPU adapter (lavapipe in CI)")
}

/// Runs the copies a step's gathered images need and reads the whole buffer back.
fn gathered_bytes(gpu: &GpuContext, images: &mut GpuImages, indices: &[usize]) -> (Vec<u8>, Vec<u32>, bool) {
    let truth = images.gather(gpu, indices).unwrap();
    let mut encoder = gpu.device.create_command_encoder(&Default::default());
    for (from, from_offset, to_offset, bytes) in &truth.copies {
        encoder.copy_buffer_to_buffer(from, *from_offset, &truth.buffer, *to_offset, *bytes);
    }
    gpu.queue.submit([encoder.finish()]);
    let words = pollster::block_on(buffers::read_u32s(gpu, &truth.buffer, truth.buffer.size())).unwrap();
    (bytemuck::cast_slice(&words).to_vec(), truth.offsets, truth.copies.is_empty())
}

#[test]
fn every_layout_gives_the_loss_each_image_as_uploaded() {
    let gpu = gpu();
    let mut rng = StdRng::seed_from_u64(13);
    for format in [ImageFormat::Rgba8, ImageFormat::Rgb8Over([0.2, 0.7, 1.0])] {
        for count in [1usize, 5, 11] {
            let sizes: Vec<(u32, u32)> = (0..count).map(|_| (rng.random_range(1..40), rng.random_range(1..30))).collect();
            let pixels: Vec<Vec<u8>> = sizes.iter().map(|&(w, h)| (0..w * h * 4).map(|_| rng.random()).collect()).collect();
            // What the loss must see: the upload itself, or its composite.
            let expected: Vec<Vec<u8>> = pixels
                .iter()
                .map(|p| match format {
                    ImageFormat::Rgba8 => p.clone(),
                    ImageFormat::Rgb8Over(bg) => composite_rgb8(p, bg),
                })
                .collect();
            let total: u64 = expected.iter().map(|p| p.len() as u64).sum();
            let largest = expected.iter().map(|p| p.len() as u64).max().unwrap();
            // (GPU budget, chunk bytes): all resident in one chunk; a quarter resident in chunks
            // of about two images; several chunks, nothing streamed; everything streamed.
            for (budget, chunk) in [(u64::MAX, u64::MAX), (total / 4, largest * 2), (u64::MAX, largest * 2), (0, u64::MAX)] {
                let mut images = GpuImages::with_limits(&gpu, &sizes, format, budget, chunk).unwrap();
                for (i, p) in pixels.iter().enumerate() {
                    images.upload(&gpu, i, p).unwrap();
                }
                let resident = images.resident_count();
                let streamed_bytes: u64 =
                    images.slots.iter().zip(&expected).filter(|(s, _)| s.place == Place::Streamed).map(|(_, p)| p.len() as u64).sum();
                assert_eq!(images.host_bytes(), streamed_bytes);
                if budget == 0 {
                    assert_eq!(resident, 0);
                }
                if budget == u64::MAX {
                    assert_eq!(images.memory_bytes(), total, "{format:?}: the chunks hold the images back to back");
                }
                for trial in 0..12 {
                    let picked: Vec<usize> = (0..rng.random_range(1..=4)).map(|_| rng.random_range(0..count)).collect();
                    let (bytes, offsets, no_copies) = gathered_bytes(&gpu, &mut images, &picked);
                    for (&i, &offset) in picked.iter().zip(&offsets) {
                        let at = offset as usize * 4;
                        assert_eq!(
                            &bytes[at..at + expected[i].len()],
                            &expected[i][..],
                            "{format:?}, {count} images, budget {budget}, chunk {chunk}, trial {trial}: image {i} of {picked:?}"
                        );
                    }
                    if chunk == u64::MAX && budget == u64::MAX {
                        assert!(no_copies, "images in one chunk are bound where they are");
                    }
                }
            }
        }
    }
}

#[test]
fn training_on_images_composited_to_rgb8_matches_rgba8_in_three_quarters_of_the_memory() {
    let gpu = gpu();
    let size = 48;
    // The demo training set: its cameras, images (opaque over black, the default background,
    // so compositing is exact) and initial points.
    let (index, rgba, mut test_images) = pollster::block_on(demo_dataset(&gpu, 8, size)).unwrap();
    let cams = orbit_cameras(8, 0.45, size);
    assert_eq!(index.train[3].camera.world_to_camera, cams[3].world_to_camera);
    let sizes: Vec<(u32, u32)> = cams.iter().map(|c| (c.width, c.height)).collect();
    let points = index.init_points.clone().unwrap();
    let splats = splats_from_points(&points.positions, &points.colors, 3);
    let config = TrainConfig { steps: 60, batch: 2, seed: 2, ..TrainConfig::default() };
    let composited = || {
        let format = ImageFormat::for_training(&config);
        assert_eq!(format, ImageFormat::Rgb8Over(config.background));
        pollster::block_on(fill_ground_truth(&gpu, &cams, GpuImages::with_limits(&gpu, &sizes, format, u64::MAX, u64::MAX).unwrap()))
            .unwrap()
    };
    let rgb8 = composited();
    assert_eq!(rgb8.memory_bytes() * 4, rgba.memory_bytes() * 3);

    // Images composited over one background cannot train on another.
    for other in [TrainConfig { background: [1.0; 3], ..config.clone() }, TrainConfig { random_background: true, ..config.clone() }] {
        let err = Trainer::new(&gpu, &splats, train_views(&cams), composited(), 4.0, other).err().expect("refused");
        assert!(matches!(err, TrainError::ImagesComposited { .. }), "{err}");
        assert!(err.to_string().contains("composited"), "{err}");
    }

    let mut results = Vec::new();
    for images in [rgba, rgb8] {
        let mut trainer = Trainer::new(&gpu, &splats, train_views(&cams), images, 4.0, config.clone()).unwrap();
        while trainer.steps_done() < config.steps {
            pollster::block_on(trainer.step()).unwrap();
            trainer.poll_metrics().unwrap();
        }
        pollster::block_on(trainer.finish());
        results.push(pollster::block_on(trainer.evaluate(&TrainView::of_frames(&index.test), &mut test_images)).unwrap().psnr);
    }
    println!("test PSNR after {} steps: RGBA8 {:.3}, RGB8 {:.3}", config.steps, results[0], results[1]);
    assert!((results[0] - results[1]).abs() < 0.5, "{results:?}");
}

#[test]
fn training_with_streamed_images_matches_training_with_resident_ones() {
    let gpu = gpu();
    let size = 40;
    let cams = orbit_cameras(12, 0.45, size);
    let test_cams = orbit_cameras(3, 0.3, size);
    let sizes: Vec<(u32, u32)> = cams.iter().map(|c| (c.width, c.height)).collect();
    let image_bytes = (size * size * 4) as u64;
    // A quarter of the images on the GPU, in chunks of two.
    let quarter = || GpuImages::with_limits(&gpu, &sizes, ImageFormat::Rgba8, 3 * image_bytes, 2 * image_bytes).unwrap();
    let streamed = pollster::block_on(fill_ground_truth(&gpu, &cams, quarter())).unwrap();
    assert_eq!(streamed.resident_count(), 3);
    let (points, colors) = random_points(2000, [0.0, 0.0, -0.1], 1.5, 7);
    let splats = splats_from_points(&points, &colors, 3);
    let config = TrainConfig { steps: 60, batch: 3, seed: 2, ..TrainConfig::default() };
    let mut resident_test = ground_truth(&gpu, &test_cams);
    let test_sizes: Vec<(u32, u32)> = test_cams.iter().map(|c| (c.width, c.height)).collect();
    let mut streamed_test = pollster::block_on(fill_ground_truth(
        &gpu,
        &test_cams,
        GpuImages::with_limits(&gpu, &test_sizes, ImageFormat::Rgba8, image_bytes, u64::MAX).unwrap(),
    ))
    .unwrap();
    let mut results = Vec::new();
    for images in [ground_truth(&gpu, &cams), streamed] {
        let mut trainer = Trainer::new(&gpu, &splats, train_views(&cams), images, 4.0, config.clone()).unwrap();
        while trainer.steps_done() < config.steps {
            pollster::block_on(trainer.step()).unwrap();
            trainer.poll_metrics().unwrap();
        }
        pollster::block_on(trainer.finish());
        let on_resident = pollster::block_on(trainer.evaluate(&train_views(&test_cams), &mut resident_test)).unwrap();
        let on_streamed = pollster::block_on(trainer.evaluate(&train_views(&test_cams), &mut streamed_test)).unwrap();
        // The same model scored against the same pixels, wherever they live: the same numbers.
        assert_eq!(on_resident.per_view, on_streamed.per_view);
        results.push(on_resident.psnr);
    }
    println!("test PSNR after {} steps: all images resident {:.3}, a quarter resident {:.3}", config.steps, results[0], results[1]);
    // Float atomics make two runs differ slightly; streaming must not change what is learned.
    assert!((results[0] - results[1]).abs() < 0.5, "{results:?}");
}
