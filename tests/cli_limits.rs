//! Counts and inputs a hostile command line gives (issue 13, item 5): every one is refused at
//! once with an error naming the option or the file and the limit; nothing aborts, panics,
//! spawns without bound or reads until memory runs out.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wgsplat-cli-limits-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A scene and a transforms.json of two cameras (no images: rvs reads only the cameras).
fn scene_and_cameras(dir: &Path) -> (PathBuf, PathBuf) {
    let scene = dir.join("scene.ply");
    std::fs::write(&scene, wgsplat::scene::ply::write_ply(&wgsplat::scene::demo::demo_scene())).unwrap();
    let frames: Vec<serde_json::Value> = (0..2)
        .map(|i| serde_json::json!({ "file_path": format!("./v_{i}"), "transform_matrix": [[1.0, 0.0, 0.0, i as f64], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 4.0], [0.0, 0.0, 0.0, 1.0]] }))
        .collect();
    let cameras = dir.join("transforms.json");
    std::fs::write(&cameras, serde_json::json!({ "camera_angle_x": 0.7, "w": 64, "h": 48, "frames": frames }).to_string()).unwrap();
    (scene, cameras)
}

/// Runs wgsplat, which must fail within a few seconds with every one of `parts` in its error.
fn refused(args: &[&str], parts: &[&str]) {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_wgsplat")).env("XDG_RUNTIME_DIR", std::env::temp_dir()).env("WGPU_BACKEND", "vulkan").args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} succeeded: {stderr}");
    assert_eq!(out.status.code(), Some(1), "{args:?} did not exit with an error (a panic or an abort?): {stderr}");
    for part in parts {
        assert!(stderr.contains(part), "{args:?}: {part:?} is not in the error: {stderr}");
    }
    assert!(start.elapsed() < Duration::from_secs(60), "{args:?} took {:?} to be refused", start.elapsed());
}

#[test]
fn counts_past_their_limits_are_refused() {
    let dir = scratch("counts");
    let (scene, cameras) = scene_and_cameras(&dir);
    let (scene, cameras, out) = (scene.to_str().unwrap(), cameras.to_str().unwrap(), dir.join("out"));
    let out = out.to_str().unwrap();
    refused(&["rvs", scene, cameras, "--out", out, "--per-view", "1000000000"], &["--per-view", "1000000000", "10000"]);
    refused(&["rvs", scene, cameras, "--out", out, "--refreshes", "1000000000"], &["--refreshes", "1000"]);
    refused(&["rvs", scene, cameras, "--out", out, "--threads", "1000000"], &["--threads", "256"]);
    refused(&["train", "--demo", "--out", out, "--init-points", "4294967295"], &["initial points", "10000000"]);
    refused(&["train", cameras, "--out", out, "--workers", "100000"], &["--workers", "256"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn inputs_that_are_not_files_or_datasets_are_refused() {
    let dir = scratch("inputs");
    let (_, cameras) = scene_and_cameras(&dir);
    let out = dir.join("out");
    let out = out.to_str().unwrap();
    let notes = dir.join("notes.txt");
    std::fs::write(&notes, "not a dataset").unwrap();
    // A file beside a dataset is not that dataset.
    refused(&["train", notes.to_str().unwrap(), "--out", out], &["notes.txt", "not a dataset"]);
    if Path::new("/dev/zero").exists() {
        refused(&["train", "/dev/zero", "--out", out], &["/dev/zero", "not a dataset"]);
        refused(&["rvs", "/dev/zero", cameras.to_str().unwrap(), "--out", out], &["/dev/zero", "not a regular file"]);
        refused(&["compare", "/dev/zero", "/dev/zero"], &["/dev/zero", "not a regular file"]);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Outputs (issue 13, item 3 and 4): names from a transforms file stay inside `--out` and are
/// unique; a profile path that cannot be written fails before any work; a failed write fails.
#[test]
fn outputs_are_confined_checked_first_and_their_errors_reported() {
    let dir = scratch("outputs");
    let (scene, _) = scene_and_cameras(&dir);
    let scene = scene.to_str().unwrap();
    let out = dir.join("out");
    let out = out.to_str().unwrap();
    let cameras = |paths: &[&str]| {
        let frames: Vec<serde_json::Value> = paths
            .iter()
            .map(|p| serde_json::json!({ "file_path": p, "transform_matrix": [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 4.0], [0.0, 0.0, 0.0, 1.0]] }))
            .collect();
        let path = dir.join(format!("cameras-{}.json", paths.len()));
        std::fs::write(&path, serde_json::json!({ "camera_angle_x": 0.7, "w": 32, "h": 24, "frames": frames }).to_string()).unwrap();
        path.to_str().unwrap().to_string()
    };
    let escape = cameras(&["./ok", "../../../escaped"]);
    refused(&["render", scene, "--cameras", &escape, "--out", out], &["../../../escaped", "outside --out"]);
    assert!(!dir.parent().unwrap().join("escaped.png").exists());
    let twice = cameras(&["./a", "./b", "a"]);
    refused(&["render", scene, "--cameras", &twice, "--out", out], &["two frames", "\"a\""]);
    // A folder as the profile: refused before training, not after.
    refused(&["train", "--demo", "--steps", "100000", "--out", out, "--profile", dir.to_str().unwrap()], &["--profile", "is a folder"]);
    if Path::new("/dev/full").exists() {
        refused(&["render", "--demo", "--size", "32x24", "--out", out, "--profile", "/dev/full"], &["writing /dev/full"]);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
