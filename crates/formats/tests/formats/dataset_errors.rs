//! Dataset readers on broken input made here: every error names the file (and the frame or
//! record), and nothing panics, whatever the bytes.

use std::collections::HashMap;
use std::io::{Cursor, Write};
use std::sync::Arc;
use wgsplat_formats::dataset::{
    DatasetError, DatasetIndex, DecodePool, DirSource, FileSource, LoadOptions, MemorySource, ZipLimits, ZipSource, colmap, decode_frame,
    decode_image, load_dataset,
};

// --- builders ----------------------------------------------------------------------------------

fn png(width: u32, height: u32, alpha: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if alpha {
        let img = image::RgbaImage::from_fn(width, height, |x, y| image::Rgba([(x * 40) as u8, (y * 40) as u8, 90, 200]));
        img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png).unwrap();
    } else {
        let img = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x * 40) as u8, (y * 40) as u8, 90]));
        img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png).unwrap();
    }
    out
}

type Files = HashMap<String, Vec<u8>>;

fn source(files: &Files) -> MemorySource {
    MemorySource::from_files("ds", files.clone())
}

fn load(files: &Files) -> Result<DatasetIndex, DatasetError> {
    load_dataset(&source(files), "ds", &LoadOptions::default())
}

fn load_err(files: &Files) -> String {
    match load(files) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

fn assert_has(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(message.contains(part), "{message:?} lacks {part:?}");
    }
}

const EYE: &str = "[[1,0,0,0],[0,1,0,0],[0,0,1,4],[0,0,0,1]]";

/// A nerfstudio dataset of `n` 6x4 frames, `images/f{i}.png`.
fn nerfstudio(n: usize) -> Files {
    let frames: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"file_path": "images/f{i}.png", "transform_matrix": [[1,0,0,{i}],[0,1,0,0],[0,0,1,4],[0,0,0,1]]}}"#))
        .collect();
    let mut files = Files::new();
    files.insert(
        "transforms.json".into(),
        format!(r#"{{"fl_x": 5, "fl_y": 5, "w": 6, "h": 4, "frames": [{}]}}"#, frames.join(",")).into_bytes(),
    );
    for i in 0..n {
        files.insert(format!("images/f{i}.png"), png(6, 4, false));
    }
    files
}

fn cameras_bin(cameras: &[(i32, i32, u64, u64, &[f64])]) -> Vec<u8> {
    let mut b = (cameras.len() as u64).to_le_bytes().to_vec();
    for (id, model, w, h, params) in cameras {
        b.extend(id.to_le_bytes());
        b.extend(model.to_le_bytes());
        b.extend(w.to_le_bytes());
        b.extend(h.to_le_bytes());
        for p in *params {
            b.extend(p.to_le_bytes());
        }
    }
    b
}

fn images_bin(images: &[(i32, [f64; 4], [f64; 3], i32, &str)]) -> Vec<u8> {
    let mut b = (images.len() as u64).to_le_bytes().to_vec();
    for (id, q, t, camera, name) in images {
        b.extend(id.to_le_bytes());
        for v in q.iter().chain(t) {
            b.extend(v.to_le_bytes());
        }
        b.extend(camera.to_le_bytes());
        b.extend(name.as_bytes());
        b.push(0);
        // Two keypoints, the first observing point 1.
        b.extend(2u64.to_le_bytes());
        for (x, y, p) in [(2.0f64, 1.5f64, 1i64), (0.5, 0.5, -1)] {
            b.extend(x.to_le_bytes());
            b.extend(y.to_le_bytes());
            b.extend(p.to_le_bytes());
        }
    }
    b
}

fn points_bin(points: &[(u64, [f64; 3], [u8; 3])]) -> Vec<u8> {
    let mut b = (points.len() as u64).to_le_bytes().to_vec();
    for (id, xyz, rgb) in points {
        b.extend(id.to_le_bytes());
        for v in xyz {
            b.extend(v.to_le_bytes());
        }
        b.extend(rgb);
        b.extend(0.5f64.to_le_bytes());
        b.extend(1u64.to_le_bytes());
        b.extend(1i32.to_le_bytes());
        b.extend(0i32.to_le_bytes());
    }
    b
}

const IDENTITY: [f64; 4] = [1.0, 0.0, 0.0, 0.0];

/// A valid binary COLMAP model in `sparse/0/`: one shared PINHOLE 4x3 camera, images a.png and
/// b.png, two points.
fn colmap_binary() -> Files {
    let mut files = Files::new();
    files.insert("sparse/0/cameras.bin".into(), cameras_bin(&[(1, 1, 4, 3, &[4.0, 4.0, 2.0, 1.5])]));
    files.insert(
        "sparse/0/images.bin".into(),
        images_bin(&[(1, IDENTITY, [0.0, 0.0, 5.0], 1, "a.png"), (2, IDENTITY, [1.0, 0.0, 5.0], 1, "b.png")]),
    );
    files.insert("sparse/0/points3D.bin".into(), points_bin(&[(1, [0.0, 0.0, 0.0], [255, 0, 0]), (2, [0.1, 0.2, 0.3], [0, 255, 0])]));
    files.insert("images/a.png".into(), png(4, 3, false));
    files.insert("images/b.png".into(), png(4, 3, false));
    files
}

fn colmap_text() -> Files {
    let mut files = Files::new();
    files.insert("sparse/cameras.txt".into(), b"# Camera list\n1 PINHOLE 4 3 4 4 2 1.5\n".to_vec());
    files.insert(
        "sparse/images.txt".into(),
        b"# Image list\n1 1 0 0 0 0 0 5 1 a.png\n2 1.5 1 0.5 0.5 -1\n2 1 0 0 0 1 0 5 1 b.png\n\n".to_vec(),
    );
    files.insert("sparse/points3D.txt".into(), b"# Points\n1 0 0 0 255 0 0 0.5 1 0\n".to_vec());
    files.insert("images/a.png".into(), png(4, 3, false));
    files.insert("images/b.png".into(), png(4, 3, false));
    files
}

// --- good inputs, as a baseline -----------------------------------------------------------------

#[test]
fn small_valid_datasets_load() {
    let index = load(&nerfstudio(9)).unwrap();
    assert_eq!((index.format.as_str(), index.train.len(), index.test.len()), ("nerfstudio", 7, 2));
    assert!(!index.has_alpha);
    let index = load(&colmap_binary()).unwrap();
    assert_eq!((index.format.as_str(), index.train.len(), index.test.len()), ("colmap-binary", 1, 1));
    assert_eq!(index.init_points.unwrap().colors, vec![[255, 0, 0], [0, 255, 0]]);
    let index = load(&colmap_text()).unwrap();
    assert_eq!(index.format, "colmap-text");
    assert_eq!(index.frames().count(), 2);
    // COLMAP: the pose is world-to-camera as stored.
    assert_eq!(index.frames().find(|f| f.name == "b.png").unwrap().camera.world_to_camera[0][3], 1.0);
}

// --- JSON ----------------------------------------------------------------------------------------

#[test]
fn malformed_json_names_the_file_and_line() {
    let mut files = nerfstudio(2);
    files.insert("transforms.json".into(), b"{\n \"fl_x\": 5,\n \"frames\": [ {\"file_path\": \"images/f0.png\",, } ]\n}".to_vec());
    assert_has(&load_err(&files), &["ds/transforms.json", "malformed JSON", "line 3"]);
    files.insert("transforms.json".into(), vec![0xff, 0xfe, b'{']);
    assert_has(&load_err(&files), &["ds/transforms.json", "UTF-8"]);
}

#[test]
fn nan_and_degenerate_poses_name_the_frame() {
    let mut files = nerfstudio(3);
    let json = String::from_utf8(files["transforms.json"].clone()).unwrap().replacen("[[1,0,0,1]", "[[1,0,0,NaN]", 1);
    files.insert("transforms.json".into(), json.into_bytes());
    assert_has(&load_err(&files), &["ds/transforms.json", "frame 1 (images/f1.png)", "non-finite"]);

    let mut files = nerfstudio(3);
    let json = String::from_utf8(files["transforms.json"].clone()).unwrap().replacen("[[1,0,0,2],[0,1,0,0]", "[[0,0,0,2],[0,0,0,0]", 1);
    files.insert("transforms.json".into(), json.into_bytes());
    assert_has(&load_err(&files), &["ds/transforms.json", "frame 2 (images/f2.png)", "degenerate"]);

    let mut files = colmap_binary();
    files.insert(
        "sparse/0/images.bin".into(),
        images_bin(&[(1, IDENTITY, [0.0, 0.0, 5.0], 1, "a.png"), (7, [f64::NAN, 0.0, 0.0, 0.0], [0.0; 3], 1, "b.png")]),
    );
    assert_has(&load_err(&files), &["ds/sparse/0/images.bin", "image 7 (b.png)", "bad pose", "non-finite"]);
    files.insert(
        "sparse/0/images.bin".into(),
        images_bin(&[(1, IDENTITY, [0.0, 0.0, 5.0], 1, "a.png"), (7, [0.0; 4], [0.0; 3], 1, "b.png")]),
    );
    assert_has(&load_err(&files), &["ds/sparse/0/images.bin", "image 7 (b.png)", "quaternion", "zero"]);
}

#[test]
fn distortion_in_transforms_is_refused_unless_ignored() {
    let mut files = nerfstudio(2);
    let json = String::from_utf8(files["transforms.json"].clone()).unwrap().replacen("\"w\": 6", "\"k1\": 0.1, \"w\": 6", 1);
    files.insert("transforms.json".into(), json.into_bytes());
    assert_has(&load_err(&files), &["ds/transforms.json", "frame 0", "k1 = 0.1", "undistort"]);
    let options = LoadOptions { ignore_distortion: true, ..Default::default() };
    assert!(load_dataset(&source(&files), "ds", &options).is_ok());
}

// --- missing, corrupt and mis-sized images -----------------------------------------------------

#[test]
fn missing_images_name_the_frame_and_the_path() {
    let mut files = nerfstudio(3);
    files.remove("images/f2.png");
    let e = load_err(&files);
    assert_has(&e, &["ds/transforms.json", "frame 2", "images/f2.png", "not in the dataset"]);
    assert!(!e.contains(".png.png"), "{e}");
    let mut files = nerfstudio(3);
    files.remove("images/f0.png");
    assert_has(&load_err(&files), &["ds/transforms.json", "frame 0", "images/f0.png"]);
    // NeRF-synthetic paths without extension list what was tried.
    let mut files = Files::new();
    files.insert(
        "transforms_train.json".into(),
        format!(r#"{{"camera_angle_x": 0.7, "frames": [{{"file_path": "./train/r_0", "transform_matrix": {EYE}}}]}}"#).into_bytes(),
    );
    assert_has(&load_err(&files), &["ds/transforms_train.json", "frame 0", "./train/r_0", "train/r_0.png", "train/r_0.jpg"]);

    let mut files = colmap_binary();
    files.remove("images/b.png");
    assert_has(&load_err(&files), &["ds/sparse/0/images.bin", "image 2 (b.png)", "ds/images/b.png"]);
    // No images folder at all: the count says so.
    files.remove("images/a.png");
    assert_has(&load_err(&files), &["ds/sparse/0/images.bin", "image 1 (a.png) (one of 2 missing images out of 2)"]);
}

#[test]
fn corrupt_images_name_the_file_and_the_pool_goes_on() {
    // The first image is read while loading.
    let mut files = nerfstudio(4);
    files.insert("images/f0.png".into(), b"definitely not a png".to_vec());
    assert_has(&load_err(&files), &["ds/images/f0.png", "cannot decode", "not a PNG or JPEG"]);

    // Others fail when decoded: that frame only.
    let mut files = nerfstudio(4);
    let mut cut = png(6, 4, false);
    cut.truncate(cut.len() - 20);
    files.insert("images/f2.png".into(), cut);
    files.insert("images/f3.png".into(), png(5, 4, false));
    let src = source(&files);
    let index = load_dataset(&src, "ds", &LoadOptions { test_every: 0, ..Default::default() }).unwrap();
    let pool = DecodePool::new(2);
    let results = pool.decode_all(Arc::new(src), &index.train);
    assert_eq!(results.len(), 4);
    for r in results {
        match r.index {
            0 | 1 => assert_eq!(r.result.unwrap().rgba.len(), 6 * 4 * 4),
            2 => assert_has(&r.result.unwrap_err().to_string(), &["ds/images/f2.png", "cannot decode"]),
            _ => assert_has(&r.result.unwrap_err().to_string(), &["ds/images/f3.png", "5x4", "6x4"]),
        }
    }
}

#[test]
fn size_mismatch_names_the_file_and_both_sizes() {
    let mut files = nerfstudio(2);
    files.insert("images/f0.png".into(), png(8, 8, true));
    assert_has(&load_err(&files), &["ds/images/f0.png", "8x8", "6x4"]);
    let mut files = colmap_binary();
    files.insert("images/a.png".into(), png(2, 2, false));
    assert_has(&load_err(&files), &["ds/images/a.png", "2x2", "4x3"]);
    let e = decode_image(&png(3, 3, false), "x/y.png", (4, 4)).unwrap_err().to_string();
    assert_has(&e, &["x/y.png", "3x3", "4x4"]);
    // With a resolution scale, the file is still checked at its own size, then resized.
    let index =
        load_dataset(&source(&nerfstudio(2)), "ds", &LoadOptions { resolution_scale: 0.5, test_every: 0, ..Default::default() }).unwrap();
    let f = &index.train[0];
    assert_eq!((f.camera.width, f.camera.height, f.image_size), (3, 2, (6, 4)));
    assert_eq!(decode_frame(&png(6, 4, false), "f", f).unwrap().width, 3);
    assert_has(&decode_frame(&png(3, 2, false), "f.png", f).unwrap_err().to_string(), &["f.png", "3x2", "6x4"]);
}

// --- empty ---------------------------------------------------------------------------------------

#[test]
fn empty_datasets_say_so() {
    assert_has(&load_err(&Files::new()), &["ds", "no files"]);
    let mut files = Files::new();
    files.insert("readme.txt".into(), b"hi".to_vec());
    assert_has(&load_err(&files), &["ds", "no dataset found", "transforms.json"]);
    files.insert("transforms.json".into(), br#"{"fl_x": 5, "frames": []}"#.to_vec());
    assert_has(&load_err(&files), &["ds/transforms.json", "no frames"]);
    let mut files = colmap_binary();
    files.insert("sparse/0/images.bin".into(), images_bin(&[]));
    assert_has(&load_err(&files), &["ds/sparse/0/images.bin", "no registered images"]);
    // Two datasets side by side.
    let mut files = Files::new();
    for (k, v) in nerfstudio(2) {
        files.insert(format!("a/{k}"), v.clone());
        files.insert(format!("b/{k}"), v);
    }
    assert_has(&load_err(&files), &["ds", "several datasets", "a/", "b/"]);
    let e = DirSource::new("/nonexistent/wgsplat-dataset").unwrap_err().to_string();
    assert_has(&e, &["/nonexistent/wgsplat-dataset", "no such folder"]);
    let e = load_dataset(&source(&nerfstudio(2)), "ds", &LoadOptions { resolution_scale: f32::NAN, ..Default::default() }).unwrap_err();
    assert_has(&e.to_string(), &["resolution scale"]);
}

// --- COLMAP binary -------------------------------------------------------------------------------

#[test]
fn truncated_binary_models_name_the_file_and_record() {
    let good = colmap_binary();
    for name in ["cameras.bin", "images.bin", "points3D.bin"] {
        let key = format!("sparse/0/{name}");
        let full = good[&key].clone();
        // Every truncation is an error naming the file; none panics.
        for len in 0..full.len() {
            let mut files = good.clone();
            files.insert(key.clone(), full[..len].to_vec());
            let e = load_err(&files);
            assert_has(&e, &[&format!("ds/sparse/0/{name}")]);
        }
        // Cut inside the second record: named, with what was being read.
        let mut files = good.clone();
        files.insert(key.clone(), full[..full.len() - 3].to_vec());
        let kind = match name {
            "cameras.bin" => "camera record 0 of 1",
            "images.bin" => "image record 1 of 2",
            _ => "point record 1 of 2",
        };
        assert_has(&load_err(&files), &[&format!("ds/sparse/0/{name}"), kind, "truncated", "offset"]);
        // Extra bytes at the end.
        let mut files = good.clone();
        let mut long = full.clone();
        long.extend([1, 2, 3]);
        files.insert(key.clone(), long);
        assert_has(&load_err(&files), &[&format!("ds/sparse/0/{name}"), "3 unexpected bytes"]);
    }
    // A count that the file can't hold is refused before allocating.
    let mut huge = u64::MAX.to_le_bytes().to_vec();
    huge.extend([0u8; 64]);
    let e = colmap::read_points3d_binary(&huge, "points3D.bin", true).unwrap_err().to_string();
    assert_has(&e, &["points3D.bin", "claims", "at most"]);
    // A keypoint count past the end of the file.
    let mut images = images_bin(&[(1, IDENTITY, [0.0; 3], 1, "a.png")]);
    let at = images.len() - 2 * 24 - 8;
    images[at..at + 8].copy_from_slice(&(1u64 << 62).to_le_bytes());
    let e = colmap::read_images_binary(&images, "images.bin", true).unwrap_err().to_string();
    assert_has(&e, &["images.bin", "image record 0 of 1", "keypoints"]);
}

#[test]
fn corrupted_binary_models_never_panic() {
    let good = colmap_binary();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for name in ["cameras.bin", "images.bin", "points3D.bin"] {
        let key = format!("sparse/0/{name}");
        for _ in 0..300 {
            let mut bytes = good[&key].clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() % bytes.len() as u64) as usize;
                bytes[at] = next() as u8;
            }
            let mut files = good.clone();
            files.insert(key.clone(), bytes);
            if let Err(e) = load(&files) {
                assert!(!e.to_string().is_empty());
            }
        }
    }
}

#[test]
fn camera_models_unknown_or_distorted() {
    let mut files = colmap_binary();
    files.insert("sparse/0/cameras.bin".into(), cameras_bin(&[(1, 42, 4, 3, &[4.0, 4.0, 2.0, 1.5])]));
    assert_has(&load_err(&files), &["ds/sparse/0/cameras.bin", "camera record 0 of 1", "unknown camera model id 42"]);

    // OPENCV with distortion: refused with advice, accepted when ignored.
    files.insert("sparse/0/cameras.bin".into(), cameras_bin(&[(1, 4, 4, 3, &[4.0, 4.0, 2.0, 1.5, 0.1, 0.0, 0.0, 0.0])]));
    assert_has(&load_err(&files), &["ds/sparse/0/cameras.bin", "camera 1", "OPENCV", "k1 = 0.1", "colmap image_undistorter"]);
    assert!(load_dataset(&source(&files), "ds", &LoadOptions { ignore_distortion: true, ..Default::default() }).is_ok());
    // SIMPLE_RADIAL with k = 0 is a pinhole.
    files.insert("sparse/0/cameras.bin".into(), cameras_bin(&[(1, 2, 4, 3, &[4.0, 2.0, 1.5, 0.0])]));
    assert!(load(&files).is_ok());
    // Fisheye never.
    files.insert("sparse/0/cameras.bin".into(), cameras_bin(&[(1, 5, 4, 3, &[4.0, 4.0, 2.0, 1.5, 0.0, 0.0, 0.0, 0.0])]));
    assert_has(&load_err(&files), &["ds/sparse/0/cameras.bin", "OPENCV_FISHEYE", "fisheye"]);
    // An image whose camera is missing; a camera with an absurd size or focal length.
    files.insert("sparse/0/cameras.bin".into(), cameras_bin(&[(9, 1, 4, 3, &[4.0, 4.0, 2.0, 1.5])]));
    assert_has(&load_err(&files), &["ds/sparse/0/images.bin", "image 1 (a.png)", "camera 1 is not in ds/sparse/0/cameras.bin"]);
    files.insert("sparse/0/cameras.bin".into(), cameras_bin(&[(1, 1, 0, 3, &[4.0, 4.0, 2.0, 1.5])]));
    assert_has(&load_err(&files), &["ds/sparse/0/cameras.bin", "camera 1", "0x3"]);
    files.insert("sparse/0/cameras.bin".into(), cameras_bin(&[(1, 1, 4, 3, &[-4.0, 4.0, 2.0, 1.5])]));
    assert_has(&load_err(&files), &["ds/sparse/0/cameras.bin", "camera 1 (used by image 1 (a.png))", "focal"]);

    let mut text = colmap_text();
    text.insert("sparse/cameras.txt".into(), b"1 KANNALA 4 3 1 2 3\n".to_vec());
    assert_has(&load_err(&text), &["ds/sparse/cameras.txt", "line 1", "unknown camera model \"KANNALA\""]);
    text.insert("sparse/cameras.txt".into(), b"1 RADIAL 4 3 4 2 1.5 0.01 0\n".to_vec());
    assert_has(&load_err(&text), &["ds/sparse/cameras.txt", "camera 1", "RADIAL", "k1 = 0.01", "undistort"]);
}

// --- COLMAP text ---------------------------------------------------------------------------------

#[test]
fn bad_text_lines_name_the_file_and_line() {
    let cases: [(&str, &[u8], &[&str]); 7] = [
        ("sparse/cameras.txt", b"# c\n1 PINHOLE 4 3 4 4 2\n", &["line 2", "takes 4 parameters, the line has 3"]),
        ("sparse/cameras.txt", b"1 PINHOLE four 3 4 4 2 1.5\n", &["line 1", "width \"four\""]),
        ("sparse/images.txt", b"1 1 0 0 0 0 0 5 1\n\n", &["line 1", "10 fields", "found 9"]),
        ("sparse/images.txt", b"1 1 0 0 0 0 0 5 1 a.png\n1 2\n", &["line 2", "not a multiple of 3"]),
        ("sparse/images.txt", b"x 1 0 0 0 0 0 5 1 a.png\n\n", &["line 1", "image id \"x\""]),
        ("sparse/points3D.txt", b"1 0 0 0 255 0\n", &["line 1", "found 6 fields"]),
        ("sparse/points3D.txt", b"1 0 0 0 300 0 0 0.5\n", &["line 1", "red \"300\""]),
    ];
    for (file, content, parts) in cases {
        let mut files = colmap_text();
        files.insert(file.into(), content.to_vec());
        let e = load_err(&files);
        assert_has(&e, &[&format!("ds/{file}")]);
        assert_has(&e, parts);
    }
    let mut files = colmap_text();
    files.insert("sparse/images.txt".into(), vec![0xc3, 0x28, b'\n']);
    assert_has(&load_err(&files), &["ds/sparse/images.txt", "not UTF-8"]);
    // Truncations of the text files never panic.
    for file in ["sparse/cameras.txt", "sparse/images.txt", "sparse/points3D.txt"] {
        let full = colmap_text()[file].clone();
        for len in 0..full.len() {
            let mut files = colmap_text();
            files.insert(file.into(), full[..len].to_vec());
            let _ = load(&files);
        }
    }
}

// --- zip -----------------------------------------------------------------------------------------

fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes) in entries {
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        writer.start_file(*name, options).unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// Rewrites the uncompressed size of entry `name` in its local and central headers.
fn patch_size(zip: &mut [u8], name: &str, size: u32) {
    let mut patched = 0;
    for at in 0..zip.len().saturating_sub(46) {
        let (sig, size_at, name_at) = match &zip[at..at + 4] {
            b"PK\x03\x04" => ("local", at + 22, at + 30),
            b"PK\x01\x02" => ("central", at + 24, at + 46),
            _ => continue,
        };
        let name_len =
            u16::from_le_bytes([zip[at + if sig == "local" { 26 } else { 28 }], zip[at + if sig == "local" { 27 } else { 29 }]]) as usize;
        if zip.get(name_at..name_at + name_len) == Some(name.as_bytes()) {
            zip[size_at..size_at + 4].copy_from_slice(&size.to_le_bytes());
            patched += 1;
        }
    }
    assert_eq!(patched, 2, "patched {patched} headers of {name}");
}

#[test]
fn zip_entry_inflating_past_its_declared_size_is_refused() {
    // A transforms.json of 32 MiB of JSON whitespace, declared as 1000 bytes.
    let mut json = br#"{"fl_x": 5, "w": 6, "h": 4, "frames": []}"#.to_vec();
    json.resize(32 << 20, b' ');
    let mut bytes = zip(&[("scene/transforms.json", &json), ("scene/images/f0.png", &png(6, 4, false))]);
    assert!(bytes.len() < 1 << 20, "{} bytes", bytes.len());
    patch_size(&mut bytes, "scene/transforms.json", 1000);
    let source = ZipSource::new(bytes, "bomb.zip").unwrap();
    let e = source.read("scene/transforms.json").unwrap_err().to_string();
    assert_has(&e, &["bomb.zip", "scene/transforms.json", "zip bomb", "inflates past its declared size of 1000 bytes"]);
    let e = load_dataset(&source, "bomb.zip", &LoadOptions::default()).unwrap_err().to_string();
    assert_has(&e, &["bomb.zip", "scene/transforms.json", "zip bomb"]);
    // The other entry still reads.
    assert!(source.read("scene/images/f0.png").is_ok());
}

#[test]
fn zip_huge_declared_sizes_are_refused() {
    let mut bytes = zip(&[("a.bin", b"aaaa"), ("b.bin", b"bbbb"), ("c.bin", b"cccc")]);
    patch_size(&mut bytes, "a.bin", 0xffff_fff0);
    // One entry of ~4 GiB: over the per-entry limit when read.
    let source = ZipSource::new(bytes.clone(), "big.zip").unwrap();
    assert_has(&source.read("a.bin").unwrap_err().to_string(), &["big.zip", "a.bin", "zip bomb", "declares 4294967280", "per-entry limit"]);
    assert_eq!(source.read("b.bin").unwrap(), b"bbbb");
    // Three of them: over the total when opening.
    patch_size(&mut bytes, "b.bin", 0xffff_fff0);
    patch_size(&mut bytes, "c.bin", 0xffff_fff0);
    let e = ZipSource::new(bytes, "big.zip").unwrap_err().to_string();
    assert_has(&e, &["big.zip", "c.bin", "zip bomb", "over the limit of 8589934592"]);
    // Configurable limits.
    let small = zip(&[("a.bin", &[7u8; 5000])]);
    let limits = ZipLimits { max_total_bytes: 4000, max_entry_bytes: 4000 };
    assert_has(&ZipSource::with_limits(small.clone(), "s.zip", limits).unwrap_err().to_string(), &["s.zip", "a.bin", "4000"]);
    let limits = ZipLimits { max_total_bytes: 1 << 20, max_entry_bytes: 4000 };
    assert_has(
        &ZipSource::with_limits(small, "s.zip", limits).unwrap().read("a.bin").unwrap_err().to_string(),
        &["s.zip", "a.bin", "per-entry"],
    );
}

#[test]
fn broken_zips_name_the_zip() {
    assert_has(&ZipSource::new(b"PK not really".to_vec(), "junk.zip").unwrap_err().to_string(), &["junk.zip", "not a readable zip"]);
    // Damaged compressed data: an error for that entry.
    let mut bytes = zip(&[("t.json", &[b'x'; 10_000])]);
    let data_at = 30 + u16::from_le_bytes([bytes[26], bytes[27]]) as usize + u16::from_le_bytes([bytes[28], bytes[29]]) as usize;
    for b in &mut bytes[data_at..data_at + 8] {
        *b ^= 0x5a;
    }
    if let Ok(source) = ZipSource::new(bytes, "damaged.zip") {
        assert_has(&source.read("t.json").unwrap_err().to_string(), &["damaged.zip", "t.json"]);
    }
    // Truncated zips never panic.
    let full = zip(&[("transforms.json", &nerfstudio(1)["transforms.json"]), ("images/f0.png", &png(6, 4, false))]);
    for len in (0..full.len()).step_by(7) {
        if let Ok(source) = ZipSource::new(full[..len].to_vec(), "cut.zip") {
            let _ = load_dataset(&source, "cut.zip", &LoadOptions::default());
        }
    }
    // A valid zip of a dataset (content under one folder, with macOS junk) loads.
    let files = nerfstudio(2);
    let entries: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(k, v)| (format!("scene/{k}"), v.clone()))
        .chain([("__MACOSX/scene/._transforms.json".to_string(), b"junk".to_vec())])
        .collect();
    let refs: Vec<(&str, &[u8])> = entries.iter().map(|(k, v)| (k.as_str(), v.as_slice())).collect();
    let index = load_dataset(&ZipSource::new(zip(&refs), "ok.zip").unwrap(), "ok.zip", &LoadOptions::default()).unwrap();
    assert_eq!(index.root, "scene/");
    assert_eq!(index.frames().count(), 2);
}

/// #13 item 6: a small zip whose "images" inflate to far more than any image of their camera
/// can be (here 64 MiB of zeros each, for 6x4 cameras) is refused per image without inflating
/// it, by the decode pool and the browser's path alike; the valid images decode, within a
/// memory budget smaller than one image (each then decodes alone).
#[test]
fn zip_images_larger_than_their_camera_allows_are_refused_unread() {
    let files = nerfstudio(3);
    let zeros = vec![0u8; 64 << 20];
    let entries: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(k, v)| (k.clone(), if k == "images/f1.png" || k == "images/f2.png" { zeros.clone() } else { v.clone() }))
        .collect();
    let refs: Vec<(&str, &[u8])> = entries.iter().map(|(k, v)| (k.as_str(), v.as_slice())).collect();
    let bytes = zip(&refs);
    assert!(bytes.len() < 1 << 20, "the zip is {} bytes", bytes.len());
    let source = ZipSource::new(bytes, "zeros.zip").unwrap();
    assert_eq!(source.size("images/f1.png"), Some(64 << 20));
    let index = load_dataset(&source, "zeros.zip", &LoadOptions { test_every: 0, ..Default::default() }).unwrap();
    let frame = index.train.iter().find(|f| f.image_path == "images/f1.png").unwrap();
    let e = wgsplat_formats::dataset::load_frame_image(&source, frame).unwrap_err().to_string();
    assert_has(&e, &["zeros.zip/images/f1.png", "67108864 bytes", "more than any 6x4 image"]);
    let pool = DecodePool::with_memory_budget(2, 16);
    let mut results = pool.decode_all(Arc::new(source), &index.train);
    results.sort_by_key(|r| r.index);
    let outcomes: Vec<(String, bool)> = results.iter().map(|r| (r.name.clone(), r.result.is_ok())).collect();
    assert_eq!(
        outcomes,
        vec![("images/f0.png".to_string(), true), ("images/f1.png".to_string(), false), ("images/f2.png".to_string(), false)]
    );
    assert_has(&results[2].result.as_ref().unwrap_err().to_string(), &["zeros.zip/images/f2.png", "not this camera's image"]);
}

// --- issue 27, item 6: messages name the file ----------------------------------------------------

/// Rewrites the CRC-32 of entry `name` in its local and central headers.
fn patch_crc(zip: &mut [u8], name: &str, crc: u32) {
    let mut patched = 0;
    for at in 0..zip.len().saturating_sub(46) {
        let (crc_at, name_len_at, name_at) = match &zip[at..at + 4] {
            b"PK\x03\x04" => (at + 14, at + 26, at + 30),
            b"PK\x01\x02" => (at + 16, at + 28, at + 46),
            _ => continue,
        };
        let name_len = u16::from_le_bytes([zip[name_len_at], zip[name_len_at + 1]]) as usize;
        if zip.get(name_at..name_at + name_len) == Some(name.as_bytes()) {
            zip[crc_at..crc_at + 4].copy_from_slice(&crc.to_le_bytes());
            patched += 1;
        }
    }
    assert_eq!(patched, 2, "patched {patched} headers of {name}");
}

/// An entry whose data inflates to its declared size but does not match its CRC-32 is damage,
/// not a zip bomb: the message says so, naming the zip and the entry.
#[test]
fn zip_crc_mismatch_is_named_as_such() {
    let files = nerfstudio(1);
    let mut bytes = zip(&[("transforms.json", &files["transforms.json"]), ("images/f0.png", &files["images/f0.png"])]);
    patch_crc(&mut bytes, "transforms.json", 0x1234_5678);
    let source = ZipSource::new(bytes, "crc.zip").unwrap();
    let e = source.read("transforms.json").unwrap_err().to_string();
    assert_has(&e, &["crc.zip", "transforms.json", "CRC-32 does not match", "damaged"]);
    assert!(!e.contains("bomb"), "{e}");
    let e = load_dataset(&source, "crc.zip", &LoadOptions::default()).unwrap_err().to_string();
    assert_has(&e, &["crc.zip", "transforms.json", "CRC-32"]);
    assert!(source.read("images/f0.png").is_ok());
}

/// A PNG of `width` x `height` (RGBA) that holds only its header: enough for the size probe
/// that reading a dataset makes, without the pixels (a 20000x20000 PNG takes a while to make).
fn png_header_only(width: u32, height: u32) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut c = !0u32;
        for &b in bytes {
            c ^= b as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 { (c >> 1) ^ 0xedb8_8320 } else { c >> 1 };
            }
        }
        !c
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let ihdr = [&width.to_be_bytes()[..], &height.to_be_bytes(), &[8, 6, 0, 0, 0]].concat();
    for (kind, data) in [(&b"IHDR"[..], &ihdr[..]), (b"IDAT", &[]), (b"IEND", &[])] {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let body = [kind, data].concat();
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    }
    out
}

/// An image too large to decode (20000x20000: 1.5 GiB as RGBA) is refused when the dataset is
/// read, naming its file, whether the cameras take their size from it (transforms without w/h)
/// or state it.
#[test]
fn an_image_too_large_is_named_by_its_file() {
    let frames = r#"[{"file_path": "images/f0.png", "transform_matrix": [[1,0,0,0],[0,1,0,0],[0,0,1,4],[0,0,0,1]]}, {"file_path": "images/f1.png", "transform_matrix": [[1,0,0,1],[0,1,0,0],[0,0,1,4],[0,0,0,1]]}]"#;
    for sizes in ["", r#""w": 20000, "h": 20000,"#] {
        let mut files = Files::new();
        files.insert("transforms.json".into(), format!(r#"{{"fl_x": 5, "fl_y": 5, {sizes} "frames": {frames}}}"#).into_bytes());
        files.insert("images/f0.png".into(), png_header_only(20000, 20000));
        files.insert("images/f1.png".into(), png_header_only(20000, 20000));
        let e = load(&files).unwrap_err();
        assert!(matches!(e, DatasetError::ImageTooLarge { width: 20000, height: 20000, .. }), "{sizes}: {e}");
        assert_has(&e.to_string(), &["ds/images/f", ".png", "20000x20000", "over the limit"]);
    }
    // Decoding checks it too (an image whose header the reader did not see).
    let e = decode_image(&png_header_only(20000, 20000), "big.png", (20000, 20000)).unwrap_err().to_string();
    assert_has(&e, &["big.png", "20000x20000", "over the limit"]);
}
