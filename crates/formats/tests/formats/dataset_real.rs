//! Dataset readers on the real captures in `../shared/data` (or `$WGSPLAT_DATA`): NeRF-synthetic
//! lego and the two COLMAP captures, from their folders and from zips made here, with images
//! decoded on the pool and COLMAP points reprojected through the loaded cameras.
//! Each test is skipped, with a message, when its data is absent.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wgsplat_formats::Camera;
use wgsplat_formats::dataset::colmap::{self, CameraModel};
use wgsplat_formats::dataset::{
    DatasetIndex, DecodePool, DirSource, FileSource, FrameInfo, LoadOptions, ZipSource, load_dataset, read_transforms_cameras,
};

/// The dataset folder, or None (with a message) when it is absent.
fn dataset(relative: &str, test: &str) -> Option<PathBuf> {
    let dir = wgsplat_formats::test_data::data_dir().join(relative);
    if dir.is_dir() {
        Some(dir)
    } else {
        wgsplat_formats::test_data::skip(test, &format!("{} is absent (set WGSPLAT_DATA to the data folder)", dir.display()));
        None
    }
}

/// Zips every file under `dir` into memory, under the top-level folder `prefix` (may be
/// empty). Images are stored, everything else deflated.
fn zip_dir(dir: &Path, prefix: &str) -> Vec<u8> {
    let source = DirSource::new(dir).unwrap();
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for path in source.list() {
        let stored = [".png", ".jpg", ".jpeg"].iter().any(|e| path.to_ascii_lowercase().ends_with(e));
        let method = if stored { zip::CompressionMethod::Stored } else { zip::CompressionMethod::Deflated };
        let options = zip::write::SimpleFileOptions::default().compression_method(method);
        writer.start_file(format!("{prefix}{path}"), options).unwrap();
        writer.write_all(&source.read(&path).unwrap()).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// Loads a dataset from its folder and from a zip of it (content under `top/`), checks that
/// both give the same frames, and returns the folder's index and the zip source.
fn load_both(dir: &Path, zip_name: &str, options: &LoadOptions) -> (DatasetIndex, Arc<dyn FileSource>, DatasetIndex, Arc<dyn FileSource>) {
    let folder: Arc<dyn FileSource> = Arc::new(DirSource::new(dir).unwrap());
    let from_dir = load_dataset(&*folder, &dir.display().to_string(), options).unwrap();
    let zipped: Arc<dyn FileSource> = Arc::new(ZipSource::new(zip_dir(dir, "top/"), zip_name).unwrap());
    let from_zip = load_dataset(&*zipped, zip_name, options).unwrap();
    assert_eq!(from_zip.root, format!("top/{}", from_dir.root));
    assert_eq!(from_zip.format, from_dir.format);
    assert_eq!(from_zip.has_alpha, from_dir.has_alpha);
    assert_eq!(from_zip.init_points, from_dir.init_points);
    for (a, b) in from_dir.frames().zip(from_zip.frames()) {
        assert_eq!(a.camera, b.camera);
        assert_eq!(a.name, b.name);
        assert_eq!(format!("top/{}", a.image_path), b.image_path);
    }
    assert_eq!(from_dir.frames().count(), from_zip.frames().count());
    (from_dir, folder, from_zip, zipped)
}

/// Decodes `frames` on a pool and checks each comes out at its camera's size.
fn decode_and_check(pool: &DecodePool, source: Arc<dyn FileSource>, frames: &[FrameInfo]) -> Vec<wgsplat_formats::dataset::DecodedImage> {
    let mut out: Vec<Option<wgsplat_formats::dataset::DecodedImage>> = vec![None; frames.len()];
    for decoded in pool.decode_all(source, frames) {
        let image = decoded.result.unwrap_or_else(|e| panic!("{}: {e}", decoded.name));
        let cam = frames[decoded.index].camera;
        assert_eq!((image.width, image.height), (cam.width, cam.height), "{}", decoded.name);
        assert_eq!(image.rgba.len(), (cam.width * cam.height * 4) as usize);
        out[decoded.index] = Some(image);
    }
    out.into_iter().map(|i| i.expect("every frame decoded")).collect()
}

#[test]
fn lego_from_folder_and_zip() {
    let Some(dir) = dataset("nerf_synthetic/lego", "lego_from_folder_and_zip") else { return };
    let options = LoadOptions::default();
    let (index, folder, _, zipped) = load_both(&dir, "lego.zip", &options);
    assert_eq!(index.format, "nerf-synthetic");
    assert_eq!((index.train.len(), index.test.len()), (100, 200));
    assert!(index.has_alpha);
    assert!(index.init_points.is_none());
    assert_eq!(index.train[0].name, "train/r_0");
    assert_eq!(index.train[0].image_path, "train/r_0.png");
    assert_eq!(index.test[8].name, "test/r_8");
    for f in index.frames() {
        let c = f.camera;
        assert_eq!((c.width, c.height, f.image_size), (800, 800, (800, 800)));
        assert!((c.fx - 1111.11).abs() < 0.01, "{}", c.fx);
    }
    // Cameras on a sphere of radius ~4.03 around the object, upper hemisphere.
    let centre_norm = index.scene_center.iter().map(|v| v * v).sum::<f32>().sqrt();
    assert!(centre_norm < 4.0, "centre {:?}", index.scene_center);
    assert!(index.scene_extent > 3.0 && index.scene_extent < 6.0, "extent {}", index.scene_extent);
    eprintln!("lego: centre {:?}, extent {}", index.scene_center, index.scene_extent);

    let pool = DecodePool::new(3);
    let some: Vec<FrameInfo> = index.test.iter().step_by(64).cloned().collect();
    let images = decode_and_check(&pool, folder, &some);
    assert!(images.iter().all(|i| i.has_transparency() && i.rgba.chunks_exact(4).any(|p| p[3] == 255)));
    // The same through the zip, at half resolution.
    let half = load_dataset(&*zipped, "lego.zip", &LoadOptions { resolution_scale: 0.5, ..options }).unwrap();
    assert_eq!((half.train[0].camera.width, half.train[0].camera.height, half.train[0].image_size), (400, 400, (800, 800)));
    assert!((half.train[0].camera.fx - 555.555).abs() < 0.01);
    let some: Vec<FrameInfo> = half.train.iter().step_by(40).cloned().collect();
    decode_and_check(&pool, zipped, &some);
}

#[test]
fn lego_parent_folder_is_found() {
    let Some(dir) = dataset("nerf_synthetic", "lego_parent_folder_is_found") else { return };
    if !dir.join("lego").is_dir() {
        return wgsplat_formats::test_data::skip("lego_parent_folder_is_found", "no lego in nerf_synthetic");
    }
    let entries = std::fs::read_dir(&dir).unwrap().filter(|e| e.as_ref().is_ok_and(|e| e.path().is_dir())).count();
    let result = load_dataset(&DirSource::new(&dir).unwrap(), "nerf_synthetic", &LoadOptions::default());
    if entries == 1 {
        assert_eq!(result.unwrap().root, "lego/");
    } else {
        assert!(result.unwrap_err().to_string().contains("several datasets"));
    }
}

/// Projects `p` with a camera: pixel coordinates and depth.
fn project(c: &Camera, p: [f64; 3]) -> ([f64; 2], f64) {
    let m = c.world_to_camera.map(|r| r.map(f64::from));
    let q: Vec<f64> = (0..3).map(|i| m[i][0] * p[0] + m[i][1] * p[1] + m[i][2] * p[2] + m[i][3]).collect();
    ([c.fx as f64 * q[0] / q[2] + c.cx as f64, c.fy as f64 * q[1] / q[2] + c.cy as f64], q[2])
}

/// Reprojects the points of the COLMAP model in `model` (binary) through the cameras of the
/// loaded index: every observation must land in front of its camera, inside the image, near
/// its keypoint. Returns the median error in pixels.
fn reprojection(index: &DatasetIndex, model: &Path) -> f64 {
    let images = colmap::read_images_binary(&std::fs::read(model.join("images.bin")).unwrap(), "images.bin", true).unwrap();
    let points = colmap::read_points3d_binary(&std::fs::read(model.join("points3D.bin")).unwrap(), "points3D.bin", true).unwrap();
    let mut errors = Vec::new();
    for point in points.iter().step_by(7) {
        for &(image_id, idx) in &point.track {
            let image = images.iter().find(|i| i.id == image_id).unwrap();
            let frame = index.frames().find(|f| f.name == image.name).unwrap();
            let (uv, depth) = project(&frame.camera, point.xyz);
            let c = frame.camera;
            assert!(depth > 0.0, "point {} behind {}", point.id, image.name);
            assert!(
                uv[0] > -2.0 && uv[1] > -2.0 && uv[0] < c.width as f64 + 2.0 && uv[1] < c.height as f64 + 2.0,
                "point {} at {uv:?} outside {}",
                point.id,
                image.name
            );
            let kp = image.points2d[idx as usize].0;
            errors.push(((uv[0] - kp[0]).powi(2) + (uv[1] - kp[1]).powi(2)).sqrt());
        }
    }
    assert!(errors.len() > 100, "{} observations", errors.len());
    errors.sort_by(f64::total_cmp);
    let p90 = errors[errors.len() * 9 / 10];
    assert!(p90 < 4.0, "p90 reprojection error {p90}");
    errors[errors.len() / 2]
}

#[test]
fn colmap_cup_from_folder_and_zip() {
    let Some(dir) = dataset("colmap_cup", "colmap_cup_from_folder_and_zip") else { return };
    let options = LoadOptions::default();
    let (index, folder, _, zipped) = load_both(&dir, "cup.zip", &options);
    assert_eq!(index.format, "colmap-binary");
    assert_eq!(index.root, "");
    assert_eq!((index.train.len(), index.test.len()), (67, 10));
    assert!(!index.has_alpha);
    let points = index.init_points.as_ref().unwrap();
    assert_eq!((points.positions.len(), points.colors.len()), (9262, 9262));
    // Sorted by name as 3DGS does: 1.jpg, 10.jpg, 11.jpg, ...; test = every 8th.
    let mut names: Vec<String> =
        std::fs::read_dir(dir.join("images")).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    let expected_test: Vec<&String> = names.iter().step_by(8).collect();
    assert_eq!(index.test.iter().map(|f| &f.name).collect::<Vec<_>>(), expected_test);
    assert_eq!(index.test[0].name, "1.jpg");
    for f in index.frames() {
        let c = f.camera;
        assert_eq!((c.width, c.height, c.cx, c.cy), (800, 600, 400.0, 300.0));
        assert!(c.fx == c.fy && c.fx > 520.0 && c.fx < 640.0, "{}", c.fx);
        assert_eq!(f.image_path, format!("images/{}", f.name));
    }
    let cameras = colmap::read_cameras_binary(&std::fs::read(dir.join("sparse/0/cameras.bin")).unwrap(), "cameras.bin").unwrap();
    assert_eq!(cameras.len(), 77);
    assert!(cameras.iter().all(|c| c.model == CameraModel::SimplePinhole));
    assert!(index.scene_extent > 0.1 && index.scene_extent.is_finite());

    let median = reprojection(&index, &dir.join("sparse/0"));
    eprintln!("cup: extent {}, median reprojection error {median:.3} px", index.scene_extent);
    assert!(median < 1.0, "median reprojection error {median}");

    let pool = DecodePool::new(2);
    decode_and_check(&pool, folder, &index.test[..3]);
    let quarter = load_dataset(&*zipped, "cup.zip", &LoadOptions { resolution_scale: 0.25, ..options }).unwrap();
    let images = decode_and_check(&pool, zipped, &quarter.train[..3]);
    assert_eq!((images[0].width, images[0].height), (200, 150));
}

#[test]
fn colmap_figurine_flat_sparse_from_folder_and_zip() {
    let Some(dir) = dataset("colmap_figurine", "colmap_figurine_flat_sparse_from_folder_and_zip") else { return };
    let options = LoadOptions::default();
    // Opened at the capture's top: the model is found in dense/0/sparse/.
    let (index, folder, _, _) = load_both(&dir, "figurine.zip", &options);
    assert_eq!(index.format, "colmap-binary");
    assert_eq!(index.root, "dense/0/");
    assert_eq!((index.train.len(), index.test.len()), (20, 3));
    assert_eq!(index.init_points.as_ref().unwrap().positions.len(), 1443);
    for f in index.frames() {
        let c = f.camera;
        assert_eq!(c.width, 1000);
        assert!((656..=662).contains(&c.height), "{}", c.height);
        assert!(c.fx > 2000.0 && c.fx < 2150.0 && c.fy > 2000.0 && c.fy < 2150.0);
    }
    let model = dir.join("dense/0/sparse");
    let cameras = colmap::read_cameras_binary(&std::fs::read(model.join("cameras.bin")).unwrap(), "cameras.bin").unwrap();
    assert_eq!(cameras.len(), 23);
    assert!(cameras.iter().all(|c| c.model == CameraModel::Pinhole));
    // Opened at dense/0 directly, the same frames.
    let direct = load_dataset(&DirSource::new(dir.join("dense/0")).unwrap(), "dense/0", &options).unwrap();
    assert_eq!(direct.root, "");
    assert_eq!(direct.train.iter().map(|f| f.camera).collect::<Vec<_>>(), index.train.iter().map(|f| f.camera).collect::<Vec<_>>());

    let median = reprojection(&index, &model);
    eprintln!("figurine: extent {}, median reprojection error {median:.3} px", index.scene_extent);
    assert!(median < 1.0, "median reprojection error {median}");
    let pool = DecodePool::new(2);
    decode_and_check(&pool, folder, &index.test);
}

#[test]
fn pool_streams_with_bounded_prefetch() {
    let Some(dir) = dataset("colmap_cup", "pool_streams_with_bounded_prefetch") else { return };
    let source: Arc<dyn FileSource> = Arc::new(DirSource::new(&dir).unwrap());
    let index = load_dataset(&*source, "cup", &LoadOptions { resolution_scale: 0.25, ..Default::default() }).unwrap();
    let pool = DecodePool::new(2);
    // Two epochs, endless-iterator style, with a prefetch of 4.
    let frames = index.train.clone();
    let n = frames.len();
    let jobs = (0..2 * n).map(move |i| (i, frames[i % n].clone()));
    let mut stream = pool.stream(Arc::clone(&source), jobs, 4);
    assert!(stream.in_flight() <= 4);
    let mut seen = vec![false; 2 * n];
    while let Some(frame) = stream.recv() {
        assert!(stream.in_flight() <= 4);
        let image = frame.result.unwrap();
        assert_eq!((image.width, image.height), (200, 150));
        assert!(!seen[frame.index]);
        seen[frame.index] = true;
    }
    assert!(seen.iter().all(|s| *s));
    // A second stream on the same pool while the first is dropped half-way.
    let mut first = pool.stream(Arc::clone(&source), index.train.clone().into_iter().enumerate(), 8);
    assert!(first.recv().is_some());
    let second: Vec<_> = pool.stream(source, index.test.clone().into_iter().enumerate(), 2).collect();
    assert_eq!(second.len(), index.test.len());
    drop(first);
}

/// The lego train cameras, read as the transforms reader reads them: sizes, intrinsics, and every
/// camera on its sphere looking at the origin.
#[test]
fn reads_lego_train_cameras() {
    let Some(path) = wgsplat_formats::test_data::data_file("nerf_synthetic/lego/transforms_train.json", "reads_lego_train_cameras") else {
        return;
    };
    let json = std::fs::read_to_string(&path).unwrap();
    assert!(read_transforms_cameras(&json, "transforms_train.json", None).unwrap_err().to_string().contains("size is unknown"));
    let frames = read_transforms_cameras(&json, "transforms_train.json", Some((800, 800))).unwrap();
    assert_eq!(frames.len(), 100);
    assert_eq!(frames[0].file_path, "./train/r_0");
    for f in &frames {
        let c = f.camera;
        assert_eq!((c.width, c.height, c.cx, c.cy), (800, 800, 400.0, 400.0));
        assert!((c.fx - 1111.11).abs() < 0.01 && c.fy == c.fx, "fx {}", c.fx);
        // Lego cameras sit on a sphere of radius ~4 and look at the origin, which must come
        // out in front of the OpenCV camera (z > 0) near the image centre.
        let centre = c.center();
        let dist = centre.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((dist - 4.03).abs() < 0.1, "camera at distance {dist}");
        let t = [c.world_to_camera[0][3], c.world_to_camera[1][3], c.world_to_camera[2][3]];
        assert!(t[2] > 3.9 && t[0].abs() < 0.3 && t[1].abs() < 0.3, "origin at {t:?} in camera space");
    }
}
