//! Profiles of real training runs on lavapipe: with timestamps, every pass of a step (render,
//! backward, loss, optimizer) is on the GPU track; without them the profile says so and still has
//! the CPU spans of every step.

mod common;

use common::demo_training::{ground_truth, orbit_cameras, train_views};
use wgsplat::GpuContext;
use wgsplat::profile::{Profiler, ProfilerOptions};
use wgsplat::train::init::{random_points, splats_from_points};
use wgsplat::train::session::{ProfileChoice, RunSchedule, TrainSession};
use wgsplat::train::trainer::{TrainConfig, Trainer};

fn profile_training(gpu: &GpuContext, options: ProfilerOptions, steps: u32) -> serde_json::Value {
    let cameras = orbit_cameras(4, 0.4, 48);
    let images = ground_truth(gpu, &cameras);
    let (points, colors) = random_points(500, [0.0, 0.0, -0.1], 1.5, 1);
    let config = TrainConfig { steps, batch: 2, log_every: 1, ..TrainConfig::default() };
    let trainer = Trainer::new(gpu, &splats_from_points(&points, &colors, 3), train_views(&cameras), images, 4.0, config).unwrap();
    // The driver the CLI and the page run, with the profiler options under test.
    let mut session = TrainSession::around(gpu, trainer, RunSchedule::default(), ProfileChoice { enabled: false, label: String::new() });
    session.profiler = Profiler::new(session.gpu(), options);
    session.gpu().attach_timer(session.profiler.gpu_timer());
    while !pollster::block_on(session.train_step()).unwrap().finished {}
    pollster::block_on(session.pause()).unwrap();
    session.finish_profile().to_json()
}

#[test]
fn a_training_profile_times_every_pass_of_a_step() {
    let gpu = pollster::block_on(GpuContext::new()).expect("a GPU adapter (lavapipe in CI)");
    if !gpu.features.timestamp_queries {
        eprintln!("skipping: this adapter has no timestamp queries");
        return;
    }
    let json = profile_training(&gpu, ProfilerOptions { label: "train demo".into(), ..Default::default() }, 6);
    let passes: Vec<&str> = json["summary"]["gpu_passes"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    for expected in ["project", "depth sort", "intersection sort", "rasterize", "loss", "rasterize backward", "project backward", "densify stats", "adam"] {
        assert!(passes.contains(&expected), "no GPU pass {expected} in {passes:?}");
    }
    assert_eq!(json["summary"]["steps"], 6, "{}", json["summary"]);
}

#[test]
fn a_training_profile_without_timestamps_says_so_and_keeps_cpu_spans() {
    let gpu = pollster::block_on(GpuContext::new()).expect("a GPU adapter (lavapipe in CI)");
    let json = profile_training(&gpu, ProfilerOptions { gpu_timestamps: false, label: "train demo".into(), ..Default::default() }, 4);
    let ts = &json["summary"]["timestamps"];
    assert_eq!(ts["supported"], false, "{ts}");
    assert!(json["summary"]["gpu_passes"].as_array().unwrap().is_empty());
    let steps = json["traceEvents"].as_array().unwrap().iter().filter(|e| e["ph"] == "X" && e["name"] == "step").count();
    assert!(steps >= 4, "CPU spans of every step: {steps}");
}
