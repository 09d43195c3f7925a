//! `wgsplat train --resume` and the run's outputs (issue 27, items 5 and 6): a checkpoint
//! continues only on the dataset it records; an option given on resume is applied or refused,
//! never ignored; `--export` names are checked before any GPU work; eval.json is written even
//! when an export fails, and records the failure. On the demo set and a few steps (lavapipe).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wgsplat-cli-resume-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn wgsplat(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wgsplat"))
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .env("WGPU_BACKEND", "vulkan")
        .args(args)
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs wgsplat, which must succeed; returns its stderr.
fn succeeds(args: &[&str]) -> String {
    let out = wgsplat(args);
    assert!(out.status.success(), "{args:?} failed: {}", stderr(&out));
    stderr(&out)
}

/// Runs wgsplat, which must fail with exit code 1 (an error, not a panic) and every one of
/// `parts` in its error; returns its stderr.
fn refused(args: &[&str], parts: &[&str]) -> String {
    let out = wgsplat(args);
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{args:?} did not fail with an error: {text}");
    for part in parts {
        assert!(text.contains(part), "{args:?}: {part:?} is not in the error: {text}");
    }
    text
}

fn eval_json(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(out.join("eval.json")).unwrap()).unwrap()
}

/// A NeRF-synthetic folder of `names` 32x24 training images and one test image.
fn small_dataset(dir: &Path, names: &[&str]) -> PathBuf {
    let mut png = Vec::new();
    image::RgbaImage::from_pixel(32, 24, image::Rgba([200, 100, 50, 255]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let split = |split: &str, names: &[&str]| {
        std::fs::create_dir_all(dir.join(split)).unwrap();
        let frames: Vec<serde_json::Value> = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                std::fs::write(dir.join(split).join(format!("{name}.png")), &png).unwrap();
                serde_json::json!({ "file_path": format!("./{split}/{name}"), "transform_matrix": [[1.0, 0.0, 0.0, 0.1 * i as f64], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 4.0], [0.0, 0.0, 0.0, 1.0]] })
            })
            .collect();
        std::fs::write(
            dir.join(format!("transforms_{split}.json")),
            serde_json::json!({ "camera_angle_x": 0.7, "w": 32, "h": 24, "frames": frames }).to_string(),
        )
        .unwrap();
    };
    split("train", names);
    split("test", &["t_0"]);
    dir.to_path_buf()
}

/// A checkpoint of the demo set resumes on the demo set only; a dataset whose images differ is
/// refused before any GPU work, with both datasets and what differs in the message.
#[test]
fn resume_on_another_dataset_is_refused_naming_both() {
    let dir = scratch("dataset");
    let out = dir.join("out");
    let out = out.to_str().unwrap();
    succeeds(&["train", "--demo", "--steps", "2", "--out", out]);
    let other = small_dataset(&dir.join("other"), &["r_0", "r_1"]);
    let start = Instant::now();
    let text = refused(
        &["train", other.to_str().unwrap(), "--resume", "--steps", "4", "--out", out],
        &[
            "--resume",
            "checkpoint",
            other.to_str().unwrap(),
            "another dataset",
            "demo, 24 training images",
            "transforms, 2 training images",
            "train/view_0",
        ],
    );
    assert!(!text.contains("adapter:"), "the dataset is checked before the GPU is opened: {text}");
    assert!(start.elapsed() < Duration::from_secs(30), "took {:?}", start.elapsed());

    // Two transforms datasets: an image renamed is named.
    let first = small_dataset(&dir.join("first"), &["r_0", "r_1"]);
    let second = small_dataset(&dir.join("second"), &["r_0", "r_9"]);
    let out = dir.join("out2");
    let out = out.to_str().unwrap();
    succeeds(&["train", first.to_str().unwrap(), "--steps", "2", "--init-points", "200", "--out", out]);
    refused(&["train", second.to_str().unwrap(), "--resume", "--out", out], &[second.to_str().unwrap(), "(train/r_1)", "(train/r_9)"]);
    // The same dataset continues (the same command with --resume: options equal to the
    // checkpoint's are accepted), and so does a copy of it elsewhere.
    let text =
        succeeds(&["train", first.to_str().unwrap(), "--steps", "4", "--init-points", "200", "--seed", "0", "--resume", "--out", out]);
    assert!(text.contains("is the dataset of the checkpoint") && text.contains("random initial points 200: not used"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Options given on --resume: those the run can change are applied (and said so), those that
/// would change the meaning of the saved state are refused; none is silently ignored.
#[test]
fn resume_applies_or_refuses_every_option() {
    let dir = scratch("options");
    let out = dir.join("out");
    let out_s = out.to_str().unwrap();
    succeeds(&["train", "--demo", "--steps", "2", "--batch", "2", "--out", out_s]);
    let text = succeeds(&["train", "--demo", "--resume", "--steps", "4", "--max-splats", "5000", "--out", out_s]);
    for part in [
        "from the checkpoint: batch (views per step) 2",
        "SH degree 3",
        "changed: steps 4 (the checkpoint's: 2)",
        "splat budget 5000 (the checkpoint's: the device's)",
        "resumed at step 2",
    ] {
        assert!(text.contains(part), "{part:?} is not in {text}");
    }
    let eval = eval_json(&out);
    assert_eq!(eval["splat_budget"], 5000, "--max-splats on --resume is applied: {eval}");
    assert_eq!(eval["steps"], 4);
    // The budget is now the checkpoint's.
    let text = succeeds(&["train", "--demo", "--resume", "--steps", "5", "--out", out_s]);
    assert!(text.contains("splat budget 5000"), "{text}");
    // Below the checkpoint's splats (the demo starts from 3000): refused, not ignored.
    refused(&["train", "--demo", "--resume", "--max-splats", "10", "--out", out_s], &["--resume", "splat budget 10", "3000 splats"]);
    refused(&["train", "--demo", "--resume", "--sh-degree", "1", "--out", out_s], &["--resume", "SH degree 1", "trained with 3"]);
    refused(&["train", "--demo", "--resume", "--batch", "3", "--out", out_s], &["batch (views per step) 3", "trained with 2"]);
    refused(&["train", "--demo", "--resume", "--seed", "7", "--out", out_s], &["seed 7", "trained with 0"]);
    refused(&["train", "--demo", "--resume", "--background", "white", "--out", out_s], &["background white", "trained with black"]);
    refused(&["train", "--demo", "--resume", "--steps", "3", "--out", out_s], &["steps 3", "below the checkpoint's step 5"]);
    // The refusals left the checkpoint as it was.
    let text = succeeds(&["train", "--demo", "--resume", "--steps", "6", "--sh-degree", "3", "--batch", "2", "--out", out_s]);
    assert!(text.contains("resumed at step 5"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A checkpoint from before datasets were recorded still resumes, with a warning that its
/// dataset could not be checked; its next checkpoint records the dataset.
#[test]
fn an_older_checkpoint_without_its_dataset_resumes_with_a_warning() {
    let dir = scratch("old");
    let out = dir.join("out");
    let out_s = out.to_str().unwrap();
    succeeds(&["train", "--demo", "--steps", "2", "--out", out_s]);
    let state = out.join("checkpoint/state.json");
    let mut json: serde_json::Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert!(json["config"]["dataset"]["hash"].is_string(), "{json}");
    json["config"].as_object_mut().unwrap().remove("dataset");
    std::fs::write(&state, json.to_string()).unwrap();
    let text = succeeds(&["train", "--demo", "--resume", "--steps", "3", "--out", out_s]);
    assert!(text.contains("records no dataset") && text.contains("could not check"), "{text}");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(json["config"]["dataset"]["kind"], "demo", "{json}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// An unknown --export name fails at once, before the GPU is opened.
#[test]
fn an_unknown_export_fails_before_any_gpu_work() {
    let dir = scratch("export-name");
    let out = dir.join("out");
    let start = Instant::now();
    let text =
        refused(&["train", "--demo", "--steps", "100000", "--export", "spz,webp", "--out", out.to_str().unwrap()], &["--export", "webp"]);
    assert!(!text.contains("adapter:"), "the GPU was opened: {text}");
    assert!(start.elapsed() < Duration::from_secs(10), "took {:?}", start.elapsed());
    assert!(!out.join("eval.json").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// An export that cannot be written (a folder in its place) does not stop the others nor
/// eval.json, which records the failure; the command then fails naming it.
#[test]
fn a_failed_export_is_recorded_in_eval_json_and_fails_the_command() {
    let dir = scratch("export-fails");
    let out = dir.join("out");
    std::fs::create_dir_all(out.join("splats.spz")).unwrap();
    let text = refused(
        &["train", "--demo", "--steps", "2", "--checkpoint-every", "0", "--export", "spz,splat", "--out", out.to_str().unwrap()],
        &["1 of the run's outputs could not be written", "splats.spz", "eval.json"],
    );
    assert!(text.contains("wrote") && text.contains("splats.splat"), "the other export is written: {text}");
    let eval = eval_json(&out);
    let failed = eval["failed_outputs"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{eval}");
    assert!(
        failed[0]["file"].as_str().unwrap().ends_with("splats.spz") && failed[0]["problem"].as_str().unwrap().contains("is a folder"),
        "{eval}"
    );
    assert_eq!(eval["exports"][0]["format"], ".splat", "{eval}");
    assert!(out.join("splats.ply").is_file() && out.join("splats.splat").is_file());
    let _ = std::fs::remove_dir_all(&dir);
}
