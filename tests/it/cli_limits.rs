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
/// Runs the CLI (on lavapipe in CI) with `args`.
fn wgsplat(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_wgsplat"))
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .env("WGPU_BACKEND", "vulkan")
        .args(args)
        .output()
        .unwrap()
}

fn refused(args: &[&str], parts: &[&str]) {
    let start = Instant::now();
    let out = wgsplat(args);
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
    refused(&["train", "--demo", "--out", out, "--gpus", "0"], &["--gpus 0", "1 to 16"]);
    refused(&["train", "--demo", "--out", out, "--gpus", "17", "--batch", "32"], &["--gpus 17", "1 to 16"]);
    refused(&["train", "--demo", "--out", out, "--gpus", "2", "--batch", "1"], &["--gpus 2", "--batch must be at least 2"]);
    refused(&["train", "--demo", "--out", out, "--share-gpu"], &["--share-gpu", "--gpus 2 or more"]);
    // lavapipe is one adapter: two devices need --share-gpu.
    refused(&["train", "--demo", "--out", out, "--gpus", "2", "--batch", "2"], &["2 GPU devices asked for", "1 adapter", "--share-gpu"]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `train --gpus 2 --share-gpu`: two devices train the demo set together and eval.json says
/// what their gradient exchange cost; the run's checkpoint continues on three.
#[test]
fn training_on_two_devices_reports_the_exchange() {
    let dir = scratch("gpus");
    let out = dir.join("out");
    let run = wgsplat(&["train", "--demo", "--steps", "6", "--batch", "3", "--gpus", "2", "--share-gpu", "--out", out.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.contains("adapter 1:") && stderr.contains("2 devices: the gradient exchange"), "{stderr}");
    let eval: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("eval.json")).unwrap()).unwrap();
    let dp = &eval["data_parallel"];
    assert_eq!(dp["exchange"]["devices"], 2, "{dp}");
    assert_eq!(dp["exchange"]["steps"], 6, "{dp}");
    assert_eq!(dp["adapters"].as_array().map(Vec::len), Some(2), "{dp}");
    assert!(
        dp["exchange"]["bytes_per_step"].as_u64().is_some_and(|b| b > 0) && dp["wait_ms_per_step"].as_f64().is_some_and(|w| w > 0.0),
        "{dp}"
    );
    assert_eq!(eval["evaluations"][0]["views"], 4, "the demo's test views are evaluated on the lead device");
    // The run continues on three devices from its checkpoint (the replicas start from it).
    let resumed = wgsplat(&["train", "--demo", "--resume", "--steps", "9", "--gpus", "3", "--share-gpu", "--out", out.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert!(resumed.status.success(), "{stderr}");
    assert!(stderr.contains("resumed at step 6") && stderr.contains("3 devices: the gradient exchange"), "{stderr}");
    let eval: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("eval.json")).unwrap()).unwrap();
    assert_eq!(eval["data_parallel"]["exchange"]["steps"], 3, "{eval}");
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

/// A NeRF-synthetic folder whose train images are `train` (name, bytes) and test images `test`.
fn images_dataset(dir: &Path, train: &[(&str, Vec<u8>)], test: &[(&str, Vec<u8>)]) -> PathBuf {
    let root = dir.join("set");
    for (split, files) in [("train", train), ("test", test)] {
        std::fs::create_dir_all(root.join(split)).unwrap();
        let frames: Vec<serde_json::Value> = files
            .iter()
            .enumerate()
            .map(|(i, (name, bytes))| {
                std::fs::write(root.join(split).join(format!("{name}.png")), bytes).unwrap();
                serde_json::json!({ "file_path": format!("./{split}/{name}"), "transform_matrix": [[1.0, 0.0, 0.0, 0.1 * i as f64], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 4.0], [0.0, 0.0, 0.0, 1.0]] })
            })
            .collect();
        // The size stated, so no image is read to learn it (that read names its file itself).
        std::fs::write(
            root.join(format!("transforms_{split}.json")),
            serde_json::json!({ "camera_angle_x": 0.7, "w": 32, "h": 24, "frames": frames }).to_string(),
        )
        .unwrap();
    }
    root
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    image::RgbaImage::from_pixel(width, height, image::Rgba([200, 100, 50, 255]))
        .write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)
        .unwrap();
    bytes
}

/// Broken images (issue 13, item 2): empty, text, truncated and wrong-size (1x1) images are
/// skipped with their reason in eval.json; when no training image is left, the error names them.
#[test]
fn broken_images_are_named_in_the_error_and_in_eval_json() {
    let dir = scratch("images");
    let good = png(32, 24);
    let mut truncated = good.clone();
    truncated.truncate(good.len() / 2);
    let set = images_dataset(
        &dir,
        &[("r_0", good.clone()), ("r_1", Vec::new()), ("r_2", b"not an image".to_vec()), ("r_3", png(1, 1))],
        &[("r_0", good.clone()), ("r_1", truncated.clone())],
    );
    let out = dir.join("out");
    let run = wgsplat(&[
        "train",
        set.to_str().unwrap(),
        "--steps",
        "5",
        "--init-points",
        "200",
        "--checkpoint-every",
        "0",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let eval: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("eval.json")).unwrap()).unwrap();
    let skipped: Vec<&str> = eval["skipped_images"].as_array().unwrap().iter().map(|s| s["image"].as_str().unwrap()).collect();
    assert_eq!(skipped.len(), 4, "{skipped:?}");
    for name in ["train/r_1", "train/r_2", "train/r_3", "test/r_1"] {
        assert!(skipped.iter().any(|s| s.contains(name)), "{name} is not among the skipped {skipped:?}");
    }

    // The first image's header is read with the cameras (a broken one is an error naming it
    // there): here it is whole, the rest of the file is not.
    let all_bad = images_dataset(&dir.join("bad"), &[("r_0", truncated.clone()), ("r_1", b"text".to_vec())], &[("r_0", good)]);
    refused(
        &["train", all_bad.to_str().unwrap(), "--steps", "5", "--out", out.to_str().unwrap()],
        &["none of the 2 training images", "r_0", "r_1"],
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 13, item 2: transforms without `w`/`h` take every camera's size from the first image;
/// an image of another size is skipped with a message that says so.
#[test]
fn a_camera_size_taken_from_the_first_image_is_named_when_an_image_differs() {
    let dir = scratch("unsized");
    let set = images_dataset(&dir, &[("r_0", png(32, 24)), ("r_1", png(32, 24)), ("r_2", png(40, 30))], &[("r_0", png(32, 24))]);
    for split in ["train", "test"] {
        let path = set.join(format!("transforms_{split}.json"));
        let mut json: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        json.as_object_mut().unwrap().retain(|k, _| k != "w" && k != "h");
        std::fs::write(&path, json.to_string()).unwrap();
    }
    let out = dir.join("out");
    let run = wgsplat(&[
        "train",
        set.to_str().unwrap(),
        "--steps",
        "5",
        "--init-points",
        "200",
        "--checkpoint-every",
        "0",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    // Printed also when stderr is not a terminal (a progress bar's println would not be).
    assert!(stderr.contains("warning: skipping train/r_2"), "{stderr}");
    let eval: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("eval.json")).unwrap()).unwrap();
    let skipped = eval["skipped_images"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    let problem = skipped[0]["problem"].as_str().unwrap();
    assert!(skipped[0]["image"].as_str().unwrap().contains("train/r_2"), "{skipped:?}");
    for part in ["40x30", "32x24", "the first training image", "r_0.png", "gives no w/h"] {
        assert!(problem.contains(part), "{part:?} is not in {problem:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 13, Deliver 1: with no GPU memory for images (`--image-memory 0`) every training image
/// streams from host memory, and training runs as usual.
#[test]
fn training_streams_images_beyond_the_gpu_image_memory() {
    let dir = scratch("stream");
    let images: Vec<(String, Vec<u8>)> = (0..4).map(|i| (format!("r_{i}"), png(32, 24))).collect();
    let train: Vec<(&str, Vec<u8>)> = images.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
    let set = images_dataset(&dir, &train, &[("r_0", png(32, 24))]);
    let out = dir.join("out");
    let run = wgsplat(&[
        "train",
        set.to_str().unwrap(),
        "--steps",
        "8",
        "--batch",
        "2",
        "--eval-every",
        "4",
        "--image-memory",
        "0",
        "--init-points",
        "200",
        "--checkpoint-every",
        "0",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.contains("4 of 4 training images stay in host memory"), "{stderr}");
    assert!(stderr.contains("step 4: test PSNR"), "{stderr}");
    let eval: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("eval.json")).unwrap()).unwrap();
    assert_eq!(eval["streamed_train_images"], 4);
    assert!(eval["evaluations"][0]["psnr"].as_f64().unwrap().is_finite(), "{eval}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 14 (peak memory): with a fixed background the training images are composited once as
/// they load and kept as RGB8 (a quarter less GPU memory); random backgrounds keep RGBA8; a
/// resumed run composites over its checkpoint's background.
#[test]
fn training_images_are_composited_once_over_a_fixed_background() {
    let dir = scratch("composite");
    let mut bytes = Vec::new();
    // Half transparent: what the composite changes.
    image::RgbaImage::from_pixel(32, 24, image::Rgba([200, 100, 50, 128]))
        .write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)
        .unwrap();
    let names: Vec<String> = (0..4).map(|i| format!("r_{i}")).collect();
    let train: Vec<(&str, Vec<u8>)> = names.iter().map(|n| (n.as_str(), bytes.clone())).collect();
    let set = images_dataset(&dir, &train, &[("r_0", bytes.clone())]);
    let train_run = |out: &Path, extra: &[&str]| -> serde_json::Value {
        let mut args = vec![
            "train",
            set.to_str().unwrap(),
            "--batch",
            "2",
            "--eval-every",
            "4",
            "--init-points",
            "200",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let run = wgsplat(&args);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(run.status.success(), "{args:?}: {stderr}");
        let eval: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("eval.json")).unwrap()).unwrap();
        assert!(eval["evaluations"][0]["psnr"].as_f64().unwrap().is_finite(), "{eval}");
        eval
    };
    let rgb8 = 4 * 32 * 24 * 3;
    let fixed = dir.join("fixed");
    let eval = train_run(&fixed, &["--steps", "8", "--checkpoint-every", "4"]);
    assert_eq!(eval["train_image_format"], "RGB8 composited over [1.0, 1.0, 1.0]", "a NeRF-synthetic set trains on white: {eval}");
    assert_eq!(eval["train_image_gpu_bytes"], rgb8);
    let eval = train_run(&fixed, &["--steps", "12", "--resume"]);
    assert_eq!(eval["steps"], 12);
    assert_eq!(eval["train_image_format"], "RGB8 composited over [1.0, 1.0, 1.0]", "{eval}");
    let eval = train_run(&dir.join("black"), &["--steps", "4", "--background", "black", "--checkpoint-every", "0"]);
    assert_eq!(eval["train_image_format"], "RGB8 composited over [0.0, 0.0, 0.0]");
    let eval = train_run(&dir.join("random"), &["--steps", "4", "--background", "random", "--checkpoint-every", "0"]);
    assert_eq!(eval["train_image_format"], "RGBA8");
    assert_eq!(eval["train_image_gpu_bytes"], 4 * 32 * 24 * 4);
    let _ = std::fs::remove_dir_all(&dir);
}
