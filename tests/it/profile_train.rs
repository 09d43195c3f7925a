//! Profiles of real training runs on lavapipe: with timestamps, every pass of a step (render,
//! backward, loss, optimizer) is on the GPU track; without them the profile says so and still has
//! the CPU spans of every step.

use crate::common::demo_training::{ground_truth, orbit_cameras, train_views};
use wgsplat::GpuContext;
use wgsplat::profile::{Profiler, ProfilerOptions};
use wgsplat::train::init::{random_points, splats_from_points};
use wgsplat::train::session::{ProfileChoice, RunSchedule, TrainSession};
use wgsplat::train::trainer::{TrainConfig, Trainer};

fn profile_training(gpu: &GpuContext, options: ProfilerOptions, steps: u32) -> serde_json::Value {
    profile_training_with(gpu, options, TrainConfig { steps, batch: 2, log_every: 1, ..TrainConfig::default() })
}

fn profile_training_with(gpu: &GpuContext, options: ProfilerOptions, config: TrainConfig) -> serde_json::Value {
    let cameras = orbit_cameras(4, 0.4, 48);
    let images = ground_truth(gpu, &cameras);
    let (points, colors) = random_points(500, [0.0, 0.0, -0.1], 1.5, 1);
    let trainer = Trainer::new(gpu, &splats_from_points(&points, &colors, 3), train_views(&cameras), images, 4.0, config).unwrap();
    // The driver the CLI and the page run, with the profiler options under test.
    let mut session = TrainSession::around(trainer, RunSchedule::default(), ProfileChoice { enabled: false, label: String::new() });
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
        return crate::common::skip("a_training_profile_times_every_pass_of_a_step", "this adapter has no timestamp queries");
    }
    let json = profile_training(&gpu, ProfilerOptions { label: "train demo".into(), ..Default::default() }, 6);
    let passes: Vec<&str> = json["summary"]["gpu_passes"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    for expected in [
        "project",
        "depth sort",
        "intersection sort",
        "rasterize",
        "loss",
        "rasterize backward",
        "project backward",
        "densify stats",
        "adam",
    ] {
        assert!(passes.contains(&expected), "no GPU pass {expected} in {passes:?}");
    }
    assert_eq!(json["summary"]["steps"], 6, "{}", json["summary"]);
}

/// #27: the passes between steps are in the profile too, each round of them: density control
/// (the non-finite check first) and the opacity reset, under the names the page's chart shows.
#[test]
fn a_training_profile_times_density_control_and_the_opacity_reset() {
    use wgsplat::train::strategy::densify::DensifyConfig;
    let gpu = pollster::block_on(GpuContext::new()).expect("a GPU adapter (lavapipe in CI)");
    assert!(gpu.features.timestamp_queries, "lavapipe and every GPU this runs on have timestamp queries");
    let densify = DensifyConfig { start_views: 10, every_views: 10, opacity_reset_every_views: 20, ..DensifyConfig::default() };
    let config = TrainConfig { steps: 30, batch: 2, log_every: 1, densify, ..TrainConfig::default() };
    let schedule = wgsplat::train::strategy::schedule::RefineSchedule::new(&config.densify, config.batch, config.steps);
    let rounds = (1..=config.steps).filter(|&s| schedule.refines_at(s)).count() as u64;
    let resets = (1..=config.steps).filter(|&s| schedule.resets_opacity_at(s)).count() as u64;
    assert!(rounds >= 2 && resets >= 1, "{rounds} rounds, {resets} resets");
    let json = profile_training_with(&gpu, ProfilerOptions { label: "density control".into(), ..Default::default() }, config);
    let summary = json["summary"]["gpu_passes"].as_array().unwrap();
    // Steps in which each pass ran (a round is several passes: copies between its dispatches
    // end a compute pass).
    let steps_with = |name: &str| summary.iter().find(|p| p["name"] == name).map_or(0, |p| p["count"].as_u64().unwrap());
    assert_eq!(steps_with("density control"), rounds, "{summary:?}");
    assert_eq!(steps_with("non-finite check"), rounds, "{summary:?}");
    assert_eq!(steps_with("opacity reset"), resets, "{summary:?}");
    let events = json["traceEvents"].as_array().unwrap();
    let timed = events.iter().filter(|e| e["ph"] == "X" && e["cat"] == "gpu" && e["name"] == "density control").count() as u64;
    assert!(timed >= 2 * rounds, "each round's two submissions on the GPU track: {timed}");
    assert_eq!(json["summary"]["timestamps"]["dropped_frames"], 0, "{}", json["summary"]["timestamps"]);
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
