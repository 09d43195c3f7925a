//! Random view synthesis: pose sampling (bounds, clamping, distribution, rotation order,
//! determinism), batched against one-view renders, the exported set loading back through the
//! dataset reader (folder and zip), the render cache and the `wgsplat rvs` command line.
//! GPU parts run on lavapipe at small sizes.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::demo_training::orbit_cameras;
use wgsplat::GpuContext;
use wgsplat::dataset::{FrameInfo, LoadOptions, MemorySource, ZipSource, load_dataset};
use wgsplat::render::Renderer;
use wgsplat::rvs::archive::{SetFiles, write_zip};
use wgsplat::rvs::batch::render_batch;
use wgsplat::rvs::cache::{RenderCache, view_key};
use wgsplat::rvs::encode::encode_rgb8;
use wgsplat::rvs::export::{SetInfo, image_path, poses_json, transforms_json};
use wgsplat::rvs::generate::{GenerateOptions, generate_images};
use wgsplat::rvs::sampler::{Mat3d, clamp_box, refresh_seed};
use wgsplat::rvs::{Convention, ImageFormat, RvsError, RvsParams, SampledView, sample_views};
use wgsplat::scene::demo::demo_scene;

fn sources(count: usize, size: u32) -> Vec<FrameInfo> {
    orbit_cameras(count, 0.45, size)
        .into_iter()
        .enumerate()
        .map(|(i, camera)| FrameInfo {
            name: format!("train/r_{i}"),
            image_path: format!("train/r_{i}.png"),
            camera,
            image_size: (size, size),
        })
        .collect()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wgsplat-rvs-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn gpu() -> GpuContext {
    pollster::block_on(GpuContext::new()).expect("a GPU adapter (lavapipe in CI)")
}

fn mat3_of(m: &[[f64; 4]; 4]) -> Mat3d {
    std::array::from_fn(|i| std::array::from_fn(|j| m[i][j]))
}

fn mul(a: &Mat3d, b: &Mat3d) -> Mat3d {
    let mut out = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            for k in 0..3 {
                out[i][j] += a[i][k] * b[k][j];
            }
        }
    }
    out
}

fn max_diff3(a: &Mat3d, b: &Mat3d) -> f64 {
    (0..3).flat_map(|i| (0..3).map(move |j| (i, j))).map(|(i, j)| (a[i][j] - b[i][j]).abs()).fold(0.0, f64::max)
}

// ------------------------------------------------------------------------------------------
// sampler

#[test]
fn draws_stay_within_their_ranges_and_the_widened_box() {
    let src = sources(8, 16);
    let params = RvsParams { rot_deg: 15.0, trans: 0.5, dmax: 0.1, per_view: 50, seed: 3 };
    let views = sample_views(&src, &params).unwrap();
    assert_eq!(views.len(), 8 * 50);
    let (lo, hi) = clamp_box(&src, params.dmax as f64);
    let mut clamped = 0;
    for v in &views {
        assert!(v.angles_deg.iter().all(|a| a.abs() <= 15.0), "{:?}", v.angles_deg);
        assert!(v.translation_noise.iter().all(|t| t.abs() <= 0.5), "{:?}", v.translation_noise);
        let p = v.position();
        let source = src[v.source_index].camera.center();
        for a in 0..3 {
            assert!(p[a] >= lo[a] - 1e-9 && p[a] <= hi[a] + 1e-9, "view {} axis {a}: {} outside [{}, {}]", v.index, p[a], lo[a], hi[a]);
            // The position is the source's plus the noise, clamped to the box.
            let expected = (source[a] as f64 + v.translation_noise[a]).clamp(lo[a], hi[a]);
            assert!((p[a] - expected).abs() < 1e-9, "view {} axis {a}: {} != {expected}", v.index, p[a]);
        }
        clamped += v.clamped as usize;
        assert_eq!(v.source_name, src[v.source_index].name);
        assert_eq!((v.camera.fx, v.camera.width), (src[v.source_index].camera.fx, 16));
        v.camera.validate().unwrap();
    }
    // The orbit's box is flat in z (every camera at the same height): noise of 0.5 against a
    // margin of 0.1 must clamp many views, and leave others alone.
    assert!(clamped > 100 && clamped < views.len(), "{clamped} of {} clamped", views.len());
}

#[test]
fn large_noise_is_clamped_onto_the_box() {
    let src = sources(6, 16);
    let params = RvsParams { rot_deg: 0.0, trans: 20.0, dmax: 0.05, per_view: 40, seed: 11 };
    let views = sample_views(&src, &params).unwrap();
    let (lo, hi) = clamp_box(&src, params.dmax as f64);
    assert!(views.iter().all(|v| v.clamped));
    for v in &views {
        let p = v.position();
        let on_a_face = (0..3).any(|a| (p[a] - lo[a]).abs() < 1e-9 || (p[a] - hi[a]).abs() < 1e-9);
        assert!(on_a_face, "clamped view {} at {p:?} is not on the box [{lo:?}, {hi:?}]", v.index);
        // No rotation: the orientation is the source's.
        let src_c2w = src[v.source_index].camera.camera_to_world().map(|row| row.map(f64::from));
        assert!(max_diff3(&mat3_of(&v.c2w_opencv), &mat3_of(&src_c2w)) < 1e-7, "view {}", v.index);
    }
}

#[test]
fn draws_are_uniform_per_axis() {
    let src = sources(2, 16);
    let (r, t) = (12.0f64, 0.3f64);
    let params = RvsParams { rot_deg: r as f32, trans: t as f32, dmax: 100.0, per_view: 5000, seed: 5 };
    let views = sample_views(&src, &params).unwrap();
    let n = views.len() as f64;
    for axis in 0..3 {
        for (what, range, values) in [
            ("angle", r, views.iter().map(|v| v.angles_deg[axis]).collect::<Vec<_>>()),
            ("noise", t, views.iter().map(|v| v.translation_noise[axis]).collect::<Vec<_>>()),
        ] {
            let mean = values.iter().sum::<f64>() / n;
            let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
            let expected = range * range / 3.0;
            // Standard error of the mean is range/sqrt(3n) ~ 0.004 range: 0.02 range is 5 sigma.
            assert!(mean.abs() < 0.02 * range, "{what} axis {axis}: mean {mean}");
            assert!((var / expected - 1.0).abs() < 0.05, "{what} axis {axis}: variance {var}, expected {expected}");
            // Both ends of the range are reached.
            let (min, max) = values.iter().fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
            assert!(min < -0.99 * range && max > 0.99 * range, "{what} axis {axis}: [{min}, {max}]");
        }
    }
}

#[test]
fn rotations_are_world_frame_x_then_y_then_z() {
    let src = sources(4, 16);
    let params = RvsParams { rot_deg: 30.0, trans: 0.0, dmax: 0.0, per_view: 5, seed: 9 };
    let views = sample_views(&src, &params).unwrap();
    for v in &views {
        let [x, y, z] = v.angles_deg.map(f64::to_radians);
        let rx = [[1.0, 0.0, 0.0], [0.0, x.cos(), -x.sin()], [0.0, x.sin(), x.cos()]];
        let ry = [[y.cos(), 0.0, y.sin()], [0.0, 1.0, 0.0], [-y.sin(), 0.0, y.cos()]];
        let rz = [[z.cos(), -z.sin(), 0.0], [z.sin(), z.cos(), 0.0], [0.0, 0.0, 1.0]];
        let src_c2w = src[v.source_index].camera.camera_to_world().map(|row| row.map(f64::from));
        let r = mat3_of(&src_c2w);
        let expected = mul(&rz, &mul(&ry, &mul(&rx, &r)));
        let got = mat3_of(&v.c2w_opencv);
        assert!(max_diff3(&got, &expected) < 1e-9, "view {}: {got:?} != {expected:?}", v.index);
        // Neither the reverse order nor a camera-frame (right-multiplied) rotation matches.
        let reverse = mul(&rx, &mul(&ry, &mul(&rz, &r)));
        let camera_frame = mul(&r, &mul(&rz, &mul(&ry, &rx)));
        assert!(max_diff3(&got, &reverse) > 1e-4 && max_diff3(&got, &camera_frame) > 1e-4, "view {}: the order is not tested", v.index);
        // No translation noise and no margin: the camera stays where it was.
        let c = src[v.source_index].camera.center();
        assert!((0..3).all(|a| (v.position()[a] - c[a] as f64).abs() < 1e-6));
        // OpenGL export: the y and z camera axes flip, x stays.
        let gl = v.c2w_opengl();
        assert!((0..3).all(|i| gl[i][0] == v.c2w_opencv[i][0] && gl[i][1] == -v.c2w_opencv[i][1] && gl[i][2] == -v.c2w_opencv[i][2]));
        // The renderer's f32 camera is the same pose.
        let c2w = v.camera.camera_to_world();
        assert!((0..3).all(|i| (0..4).all(|j| (c2w[i][j] as f64 - v.c2w_opencv[i][j]).abs() < 1e-5)));
    }
}

#[test]
fn the_seed_decides_the_set() {
    let src = sources(5, 16);
    let params = RvsParams { rot_deg: 10.0, trans: 0.2, dmax: 0.2, per_view: 3, seed: 42 };
    let a = sample_views(&src, &params).unwrap();
    let b = sample_views(&src, &params).unwrap();
    assert_eq!(a, b);
    let c = sample_views(&src, &RvsParams { seed: 43, ..params }).unwrap();
    assert!(a.iter().zip(&c).all(|(x, y)| x.angles_deg != y.angles_deg && x.translation_noise != y.translation_noise));
    // Refreshes draw new sets, the same ones in every run.
    assert_eq!(refresh_seed(42, 0), 42);
    assert_ne!(refresh_seed(42, 1), refresh_seed(42, 2));
    assert_eq!(refresh_seed(42, 1), refresh_seed(42, 1));
    assert_ne!(sample_views(&src, &RvsParams { seed: refresh_seed(42, 1), ..params }).unwrap(), a);
}

#[test]
fn bad_parameters_name_the_option() {
    let src = sources(2, 16);
    let base = RvsParams::default();
    for (params, option) in [
        (RvsParams { rot_deg: -1.0, ..base }, "--rot"),
        (RvsParams { rot_deg: f32::NAN, ..base }, "--rot"),
        (RvsParams { rot_deg: 200.0, ..base }, "--rot"),
        (RvsParams { trans: f32::INFINITY, ..base }, "--trans"),
        (RvsParams { dmax: -0.5, ..base }, "--dmax"),
        (RvsParams { per_view: 0, ..base }, "--per-view"),
        (RvsParams { per_view: 10_001, ..base }, "--per-view"),
    ] {
        let err = sample_views(&src, &params).unwrap_err();
        assert!(matches!(err, RvsError::Param { .. }) && err.to_string().starts_with(option), "{option}: {err}");
    }
    assert!(matches!(sample_views(&[], &base), Err(RvsError::NoSources)));
    // A million views a set at most, checked before anything is drawn (the CLI's and the page's).
    let err = sample_views(&sources(101, 16), &RvsParams { per_view: 10_000, ..base }).unwrap_err().to_string();
    assert!(err.starts_with("--per-view") && err.contains("1010000 views a set"), "{err}");
    let mut broken = sources(1, 16);
    broken[0].camera.world_to_camera[0][0] = f32::NAN;
    let err = sample_views(&broken, &base).unwrap_err().to_string();
    assert!(err.contains("train/r_0"), "{err}");
    assert!(ImageFormat::parse("gif", 90).unwrap_err().to_string().contains("--format"));
    assert!(ImageFormat::parse("jpeg", 0).unwrap_err().to_string().contains("--quality"));
}

// ------------------------------------------------------------------------------------------
// export

fn set_info(views_src: &[FrameInfo], params: RvsParams, convention: Convention, format: ImageFormat) -> SetInfo {
    SetInfo {
        params,
        refresh: 0,
        refresh_seed: params.seed,
        input_format: convention.name().to_string(),
        convention,
        format,
        scale: 1.0,
        background: [0.0; 3],
        clamp_box: clamp_box(views_src, params.dmax as f64),
    }
}

/// The set's files with tiny placeholder images (the reader probes one image's header).
fn set_files(views: &[SampledView], info: &SetInfo) -> (String, String, Vec<(String, Vec<u8>)>) {
    let images = views
        .iter()
        .map(|v| {
            let (w, h) = (v.camera.width, v.camera.height);
            (image_path(v, info.format), encode_rgb8(&vec![128; (w * h * 3) as usize], w, h, info.format, "placeholder").unwrap())
        })
        .collect();
    (transforms_json(views, info), poses_json(views, info), images)
}

fn assert_loads_back(index: &wgsplat::dataset::DatasetIndex, views: &[SampledView], what: &str) {
    assert_eq!(index.train.len(), views.len(), "{what}");
    for (frame, view) in index.train.iter().zip(views) {
        let (a, b) = (&frame.camera, &view.camera);
        assert_eq!((a.width, a.height), (b.width, b.height), "{what}");
        for (x, y) in [(a.fx, b.fx), (a.fy, b.fy), (a.cx, b.cx), (a.cy, b.cy)] {
            assert!((x - y).abs() < 1e-3 * y.abs().max(1.0), "{what} {}: intrinsics {x} != {y}", frame.name);
        }
        for i in 0..4 {
            for j in 0..4 {
                assert!(
                    (a.world_to_camera[i][j] - b.world_to_camera[i][j]).abs() < 1e-5,
                    "{what} {}: pose {:?} != {:?}",
                    frame.name,
                    a.world_to_camera,
                    b.world_to_camera
                );
            }
        }
        assert!(frame.image_path.contains(&format!("images/rvs_{:05}.", view.index)), "{what}: {}", frame.image_path);
    }
}

#[test]
fn exported_sets_load_back_through_the_dataset_reader() {
    let mut src = sources(5, 24);
    // A camera with a shifted principal point and non-square pixels, to exercise those keys.
    src[0].camera.cx += 1.5;
    src[0].camera.fy *= 1.01;
    let params = RvsParams { rot_deg: 20.0, trans: 0.3, dmax: 0.2, per_view: 2, seed: 1 };
    let views = sample_views(&src, &params).unwrap();
    let load_all = LoadOptions { test_every: 0, ..Default::default() };
    for (convention, format) in [
        (Convention::NerfSynthetic, ImageFormat::Png),
        (Convention::Nerfstudio, ImageFormat::Png),
        (Convention::Nerfstudio, ImageFormat::Jpeg { quality: 80 }),
    ] {
        let info = set_info(&src, params, convention, format);
        let (transforms, poses, images) = set_files(&views, &info);
        let what = format!("{} {}", convention.name(), format.extension());

        let mut memory = MemorySource::new("rvs");
        memory.insert("transforms.json", transforms.clone().into_bytes());
        for (path, bytes) in &images {
            memory.insert(path, bytes.clone());
        }
        let index = load_dataset(&memory, "rvs", &load_all).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(index.format, "nerfstudio", "{what}: a transforms.json reads as nerfstudio");
        assert_loads_back(&index, &views, &what);

        // The zip for the page holds the same set, under a folder.
        let zip = write_zip(&SetFiles { transforms_json: &transforms, poses_json: &poses, images: &images }, "rvs/").unwrap();
        let index =
            load_dataset(&ZipSource::new(zip, "rvs.zip").unwrap(), "rvs.zip", &load_all).unwrap_or_else(|e| panic!("{what} zip: {e}"));
        assert_eq!(index.root, "rvs/");
        assert_loads_back(&index, &views, &format!("{what} zip"));

        // The transforms frames and rvs_poses.json say where every view came from.
        let t: serde_json::Value = serde_json::from_str(&transforms).unwrap();
        let p: serde_json::Value = serde_json::from_str(&poses).unwrap();
        assert_eq!(p["views"].as_array().unwrap().len(), views.len());
        for (i, v) in views.iter().enumerate() {
            for rvs in [&t["frames"][i]["rvs"], &p["views"][i]] {
                assert_eq!(rvs["source_frame"], v.source_name.as_str());
                assert_eq!(rvs["source_index"], v.source_index);
                let angles: Vec<f64> = serde_json::from_value(rvs["rotation_deg_xyz"].clone()).unwrap();
                let noise: Vec<f64> = serde_json::from_value(rvs["translation_noise"].clone()).unwrap();
                // serde_json parses floats to within an ulp or so (no `float_roundtrip`).
                assert!(angles.iter().zip(v.angles_deg).all(|(a, b)| (a - b).abs() < 1e-12), "{angles:?} != {:?}", v.angles_deg);
                assert!(
                    noise.iter().zip(v.translation_noise).all(|(a, b)| (a - b).abs() < 1e-12),
                    "{noise:?} != {:?}",
                    v.translation_noise
                );
            }
            let c2w: Vec<Vec<f64>> = serde_json::from_value(p["views"][i]["c2w_opengl"].clone()).unwrap();
            assert!((0..4).all(|r| (0..4).all(|c| (c2w[r][c] - v.c2w_opengl()[r][c]).abs() < 1e-12)), "{c2w:?} != {:?}", v.c2w_opengl());
        }
        match convention {
            Convention::NerfSynthetic => {
                // Source 0's views carry their own intrinsics (shifted centre, taller pixels).
                let f = &t["frames"][0];
                assert!(f["camera_angle_x"].is_f64() && f["camera_angle_y"].is_f64() && f["cx"].is_f64(), "{f}");
                assert!(t["frames"][2].get("camera_angle_y").is_none(), "{}", t["frames"][2]);
                let file_path = t["frames"][0]["file_path"].as_str().unwrap();
                assert!(file_path.starts_with("./images/rvs_") && !file_path.ends_with(".png"), "{file_path}");
            }
            Convention::Nerfstudio => assert!(t["frames"][0]["file_path"].as_str().unwrap().ends_with(format.extension())),
        }
    }
    // Identical intrinsics go to the top level, as NeRF-synthetic files have them.
    let same = sample_views(&sources(3, 24), &params).unwrap();
    let t: serde_json::Value =
        serde_json::from_str(&transforms_json(&same, &set_info(&sources(3, 24), params, Convention::NerfSynthetic, ImageFormat::Png)))
            .unwrap();
    assert!(t["camera_angle_x"].is_f64() && t["frames"][0].get("camera_angle_x").is_none(), "{t}");
}

// ------------------------------------------------------------------------------------------
// GPU: batches, generation, cache

#[test]
fn batched_renders_equal_one_view_renders() {
    let gpu = gpu();
    let mut renderer = Renderer::new(&gpu).unwrap();
    let splats = renderer.upload(&gpu, &demo_scene()).unwrap();
    let views = sample_views(&sources(3, 32), &RvsParams { rot_deg: 8.0, trans: 0.3, dmax: 0.3, per_view: 2, seed: 2 }).unwrap();
    let background = [0.2, 0.3, 0.4];
    let batched = pollster::block_on(render_batch(&mut renderer, &gpu, &splats, &views, background)).unwrap();
    assert_eq!(batched.len(), views.len());
    for (view, image) in views.iter().zip(&batched) {
        let single = pollster::block_on(render_batch(&mut renderer, &gpu, &splats, std::slice::from_ref(view), background)).unwrap();
        assert_eq!((single[0].width, single[0].height), (image.width, image.height));
        assert!(single[0].rgba == image.rgba, "view {}: batched and single renders differ", view.index);
    }
    // The views differ from each other and show the scene (the test would pass trivially on
    // blank images): the background is (51, 77, 102).
    assert_ne!(batched[0].rgba, batched[1].rgba);
    assert!(batched[0].rgba.chunks(4).any(|p| p[..3] != [51, 77, 102]), "the demo scene is in view");
}

#[test]
fn gpu_packing_equals_the_float_render_rounded() {
    let gpu = gpu();
    let mut renderer = Renderer::new(&gpu).unwrap();
    let splats = renderer.upload(&gpu, &demo_scene()).unwrap();
    let views = sample_views(&sources(4, 40), &RvsParams { rot_deg: 12.0, trans: 0.2, dmax: 0.2, per_view: 1, seed: 9 }).unwrap();
    let render_views = wgsplat::rvs::batch::views_of(&views, [1.0, 1.0, 1.0]);
    let float = pollster::block_on(renderer.render_images(&gpu, &splats, &render_views)).unwrap();
    let packed = pollster::block_on(renderer.render_images_rgba8(&gpu, &splats, &render_views)).unwrap();
    for (f, p) in float.iter().zip(&packed) {
        let expected = f.to_rgba8();
        // pack4x8unorm rounds like the CPU; allow 1 where a value sits at a rounding midpoint.
        let worst = expected.iter().zip(&p.rgba).map(|(a, b)| a.abs_diff(*b)).max().unwrap_or(0);
        let off = expected.iter().zip(&p.rgba).filter(|(a, b)| a != b).count();
        assert!(worst <= 1 && off * 1000 <= expected.len(), "packed differs from the rounded float render: {off} bytes, worst {worst}");
        assert!(p.rgba.chunks(4).all(|px| px[3] == 255));
    }
}

fn cache_key_of(view: &SampledView, scene_hash: u128, format: ImageFormat) -> u128 {
    view_key(scene_hash, &view.camera, [0.0; 3], format)
}

#[test]
fn cache_hits_return_the_rendered_bytes_and_no_cache_bypasses() {
    let gpu = gpu();
    let mut renderer = Renderer::new(&gpu).unwrap();
    let splats = renderer.upload(&gpu, &demo_scene()).unwrap();
    let src = sources(3, 24);
    let views = sample_views(&src, &RvsParams { per_view: 2, seed: 4, ..Default::default() }).unwrap();
    let dir = temp_dir("cache-hits");
    let mut cache = RenderCache::open(dir.join("cache"), 64 << 20).unwrap();
    let options = GenerateOptions { batch: 4, format: ImageFormat::Png, background: [0.0; 3], threads: 2, scene_hash: 77 };
    let read_all = |out: &Path| views.iter().map(|v| std::fs::read(out.join(image_path(v, ImageFormat::Png))).unwrap()).collect::<Vec<_>>();

    let mut seen = 0;
    let first = generate_images(&gpu, &mut renderer, &splats, &views, &dir.join("a"), &options, Some(&mut cache), |n| seen += n).unwrap();
    assert_eq!((first.rendered, first.from_cache, first.batches, seen), (6, 0, 2, 6));
    assert_eq!(cache.len(), 6);
    let fresh = read_all(&dir.join("a"));
    // Each file is the PNG of its view.
    let decoded = image::load_from_memory(&fresh[0]).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (24, 24));

    let second = generate_images(&gpu, &mut renderer, &splats, &views, &dir.join("b"), &options, Some(&mut cache), |_| {}).unwrap();
    assert_eq!((second.rendered, second.from_cache), (0, 6));
    assert_eq!(read_all(&dir.join("b")), fresh, "cached views are byte for byte the rendered ones");
    for v in &views {
        assert_eq!(cache.get(cache_key_of(v, 77, ImageFormat::Png)).as_deref(), Some(&fresh[v.index][..]));
    }

    // Another run (a new cache handle on the same folder) hits too.
    let mut reopened = RenderCache::open(dir.join("cache"), 64 << 20).unwrap();
    let third = generate_images(&gpu, &mut renderer, &splats, &views, &dir.join("c"), &options, Some(&mut reopened), |_| {}).unwrap();
    assert_eq!(third.from_cache, 6);

    // No cache: everything renders, and the cache is neither read nor written.
    let before = reopened.stats();
    let files_before = std::fs::read_dir(dir.join("cache")).unwrap().count();
    let bypass = generate_images(&gpu, &mut renderer, &splats, &views, &dir.join("d"), &options, None, |_| {}).unwrap();
    assert_eq!((bypass.rendered, bypass.from_cache), (6, 0));
    assert_eq!(reopened.stats(), before);
    assert_eq!(std::fs::read_dir(dir.join("cache")).unwrap().count(), files_before);
    assert_eq!(read_all(&dir.join("d")), fresh, "rendering is deterministic");

    // Another scene, format or pose misses.
    let other_scene = GenerateOptions { scene_hash: 78, ..options };
    let miss =
        generate_images(&gpu, &mut renderer, &splats, &views[..1], &dir.join("e"), &other_scene, Some(&mut reopened), |_| {}).unwrap();
    assert_eq!(miss.rendered, 1);
    let jpeg = GenerateOptions { format: ImageFormat::Jpeg { quality: 90 }, ..options };
    let miss = generate_images(&gpu, &mut renderer, &splats, &views[..1], &dir.join("f"), &jpeg, Some(&mut reopened), |_| {}).unwrap();
    assert_eq!(miss.rendered, 1);
    assert_ne!(cache_key_of(&views[0], 77, ImageFormat::Png), cache_key_of(&views[1], 77, ImageFormat::Png));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_cache_evicts_least_recently_used_entries_past_its_bound() {
    let dir = temp_dir("eviction");
    let mut cache = RenderCache::open(&dir, 1000).unwrap();
    let blob = |b: u8| vec![b; 300];
    for key in 1..=3u128 {
        assert!(cache.put(key, &blob(key as u8)).unwrap());
    }
    assert_eq!((cache.len(), cache.total_bytes()), (3, 900));
    // Using 1 makes 2 the least recently used: adding 4 evicts 2.
    assert_eq!(cache.get(1), Some(blob(1)));
    cache.put(4, &blob(4)).unwrap();
    assert!(cache.contains(1) && !cache.contains(2) && cache.contains(3) && cache.contains(4));
    assert_eq!((cache.total_bytes(), cache.stats().evicted), (900, 1));
    assert_eq!(cache.get(2), None);
    assert!(!dir.join(format!("{:032x}.view", 2u128)).exists(), "the evicted file is gone");
    // An entry larger than the bound is not stored and evicts nothing.
    assert!(!cache.put(5, &vec![0; 1001]).unwrap());
    assert_eq!(cache.len(), 3);

    // The order survives a reopen (file times): with room for two, 3 (oldest) goes.
    cache.get(1);
    drop(cache);
    let mut smaller = RenderCache::open(&dir, 600).unwrap();
    assert_eq!(smaller.len(), 2);
    assert!(smaller.contains(1) && smaller.contains(4) && !smaller.contains(3), "kept the two most recently used");
    assert_eq!(smaller.get(4), Some(blob(4)));
    smaller.clear().unwrap();
    assert!(smaller.is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

// ------------------------------------------------------------------------------------------
// command line

fn wgsplat() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wgsplat"));
    cmd.env("XDG_RUNTIME_DIR", std::env::temp_dir());
    cmd
}

/// A nerfstudio dataset of the demo scene: renders from orbit cameras.
fn demo_dataset(dir: &Path, count: usize, size: u32) {
    let gpu = gpu();
    let mut renderer = Renderer::new(&gpu).unwrap();
    let splats = renderer.upload(&gpu, &demo_scene()).unwrap();
    let cams = orbit_cameras(count, 0.45, size);
    let views: Vec<_> = cams.iter().map(|c| wgsplat::render::View { camera: *c, background: [0.0; 3] }).collect();
    let images = pollster::block_on(renderer.render_images(&gpu, &splats, &views)).unwrap();
    let mut frames = Vec::new();
    for (i, (cam, image)) in cams.iter().zip(images).enumerate() {
        let path = format!("images/view_{i}.png");
        std::fs::create_dir_all(dir.join("images")).unwrap();
        image::RgbaImage::from_raw(size, size, image.to_rgba8()).unwrap().save(dir.join(&path)).unwrap();
        let mut c2w = cam.camera_to_world();
        for row in c2w.iter_mut().take(3) {
            row[1] = -row[1];
            row[2] = -row[2];
        }
        frames.push(serde_json::json!({"file_path": path, "transform_matrix": c2w}));
    }
    let c = &cams[0];
    let json = serde_json::json!({"fl_x": c.fx, "fl_y": c.fy, "cx": c.cx, "cy": c.cy, "w": size, "h": size, "frames": frames});
    std::fs::write(dir.join("transforms.json"), serde_json::to_string(&json).unwrap()).unwrap();
    std::fs::write(dir.join("scene.ply"), wgsplat::scene::ply::write_ply(&demo_scene())).unwrap();
}

#[test]
fn the_command_line_refuses_bad_input_by_name() {
    let dir = temp_dir("cli-errors");
    let run = |args: &[&str]| {
        let out = wgsplat().args(["rvs"]).args(args).output().unwrap();
        assert!(!out.status.success(), "{args:?} succeeded");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let missing = dir.join("missing.ply");
    let out = dir.join("out");
    let (m, o) = (missing.to_str().unwrap(), out.to_str().unwrap());
    let err = run(&[m, o, "--out", o]);
    assert!(err.contains("missing.ply"), "{err}");
    let err = run(&[m, o, "--out", o, "--rot=-1"]);
    assert!(err.contains("--rot"), "{err}");
    let err = run(&[m, o, "--out", o, "--trans", "NaN"]);
    assert!(err.contains("--trans"), "{err}");
    let err = run(&[m, o, "--out", o, "--format", "gif"]);
    assert!(err.contains("--format"), "{err}");
    let not_ply = dir.join("bad.ply");
    std::fs::write(&not_ply, b"not a ply").unwrap();
    let err = run(&[not_ply.to_str().unwrap(), o, "--out", o]);
    assert!(err.contains("bad.ply"), "{err}");
    std::fs::write(dir.join("scene.ply"), wgsplat::scene::ply::write_ply(&demo_scene())).unwrap();
    let err = run(&[dir.join("scene.ply").to_str().unwrap(), dir.join("nowhere").to_str().unwrap(), "--out", o]);
    assert!(err.contains("nowhere"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_command_line_writes_a_set_that_loads_back_and_caches_it() {
    let dir = temp_dir("cli-run");
    demo_dataset(&dir.join("data"), 4, 24);
    let run = |out: &str, extra: &[&str]| {
        let output = wgsplat()
            .args(["rvs", dir.join("data/scene.ply").to_str().unwrap(), dir.join("data").to_str().unwrap(), "--out"])
            .arg(dir.join(out))
            .args(["--per-view", "2", "--seed", "5", "--test-every", "0", "--batch", "3", "--cache-dir"])
            .arg(dir.join("cache"))
            .args(extra)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "{stderr}");
        stderr
    };
    let first = run("a", &[]);
    assert!(first.contains("8 rendered"), "{first}");
    let index =
        load_dataset(&wgsplat::dataset::DirSource::new(dir.join("a")).unwrap(), "a", &LoadOptions { test_every: 0, ..Default::default() })
            .unwrap();
    assert_eq!(index.train.len(), 8);
    let poses: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("a/rvs_poses.json")).unwrap()).unwrap();
    assert_eq!(poses["views"][0]["source_frame"], "images/view_0.png");
    let second = run("b", &[]);
    assert!(second.contains("0 rendered") && second.contains("8 from the cache"), "{second}");
    assert_eq!(std::fs::read(dir.join("a/images/rvs_00003.png")).unwrap(), std::fs::read(dir.join("b/images/rvs_00003.png")).unwrap());
    let bypass = run("c", &["--no-cache"]);
    assert!(bypass.contains("8 rendered") && !bypass.contains("cache "), "{bypass}");
    std::fs::remove_dir_all(&dir).unwrap();
}
