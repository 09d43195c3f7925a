//! `wgsplat render` with its defaults on an adapter that binds 128 MiB (lavapipe; the default of
//! many integrated GPUs and browsers): 12 views of 1024x768 need 144 MiB of output in one batch
//! of 16, so the batch must be sized to the adapter (it used to fail with "render fewer views
//! per batch").

use std::path::Path;
use std::process::Command;

fn transforms(dir: &Path, count: usize) -> std::path::PathBuf {
    let frames: Vec<serde_json::Value> = (0..count)
        .map(|i| {
            let a = i as f64 / count as f64 * std::f64::consts::TAU;
            let (s, c) = a.sin_cos();
            // OpenGL camera-to-world: on a circle of radius 4 in the xz-plane, looking at the origin.
            serde_json::json!({
                "file_path": format!("./views/v_{i}"),
                "transform_matrix": [[c, 0.0, s, 4.0 * s], [0.0, 1.0, 0.0, 0.0], [-s, 0.0, c, 4.0 * c], [0.0, 0.0, 0.0, 1.0]],
            })
        })
        .collect();
    let path = dir.join("transforms.json");
    std::fs::write(&path, serde_json::json!({ "camera_angle_x": 0.7, "frames": frames }).to_string()).unwrap();
    path
}

#[test]
fn render_defaults_fit_the_adapter() {
    let dir = std::env::temp_dir().join(format!("wgsplat-render-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let scene = dir.join("scene.ply");
    std::fs::write(&scene, wgsplat::scene::ply::write_ply(&wgsplat::scene::demo::demo_scene())).unwrap();
    let cameras = transforms(&dir, 12);
    let out = dir.join("out");
    let status = Command::new(env!("CARGO_BIN_EXE_wgsplat"))
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .args([
            "render",
            scene.to_str().unwrap(),
            "--cameras",
            cameras.to_str().unwrap(),
            "--size",
            "1024x768",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert!(status.status.success(), "wgsplat render failed: {stderr}");
    for i in 0..12 {
        let png = image::open(out.join(format!("views/v_{i}.png"))).unwrap_or_else(|e| panic!("views/v_{i}.png: {e}"));
        assert_eq!((png.width(), png.height()), (1024, 768));
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// #27: a scene file that holds no splats is refused from its header, naming the file, before
/// anything renders (it used to be "uploading the scene: the scene is empty").
#[test]
fn an_empty_scene_is_refused_naming_the_file() {
    let dir = std::env::temp_dir().join(format!("wgsplat-render-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut empty = wgsplat::scene::demo::demo_scene();
    empty.means.clear();
    empty.rotations.clear();
    empty.log_scales.clear();
    empty.opacity_logits.clear();
    empty.sh.clear();
    let scene = dir.join("empty.ply");
    std::fs::write(&scene, wgsplat::scene::ply::write_ply(&empty)).unwrap();
    let cameras = transforms(&dir, 1);
    let out = dir.join("out");
    let status = Command::new(env!("CARGO_BIN_EXE_wgsplat"))
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .args([
            "render",
            scene.to_str().unwrap(),
            "--cameras",
            cameras.to_str().unwrap(),
            "--size",
            "64x48",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert!(!status.status.success());
    assert!(stderr.contains(&format!("{}: the scene holds no splats", scene.display())), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}
