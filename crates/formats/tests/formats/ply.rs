//! `.ply` read/write on a real 3DGS file, the demo scene and malformed files.

use wgsplat_formats::scene::demo::demo_scene;
use wgsplat_formats::scene::ply::{PlyError, read_ply, write_ply};

const SAMPLE: &str = "3dgs_ply_sample/point_cloud/iteration_7000/point_cloud.ply";

#[test]
fn sample_3dgs_file_round_trips() {
    let Some(path) = wgsplat_formats::test_data::data_file(SAMPLE, "sample_3dgs_file_round_trips") else {
        return;
    };
    let bytes = std::fs::read(&path).unwrap();
    let splats = read_ply(&bytes, "point_cloud.ply").unwrap();
    assert_eq!(splats.len(), 9080);
    assert_eq!(splats.sh_degree, 3);
    // The sample is written by the original code with exactly our layout, so even the first
    // write reproduces it byte for byte.
    let written = write_ply(&splats);
    assert_eq!(written, bytes, "our writer differs from the original 3DGS layout");
    let again = read_ply(&written, "written.ply").unwrap();
    assert_eq!(again, splats);
    assert_eq!(write_ply(&again), written);
}

#[test]
fn demo_scene_round_trips() {
    let demo = demo_scene();
    let bytes = write_ply(&demo);
    let back = read_ply(&bytes, "demo.ply").unwrap();
    assert_eq!(back, demo);
    assert_eq!(write_ply(&back), bytes);
    // Handy for looking at the demo in another viewer: WGSPLAT_DUMP_DEMO=/tmp/demo.ply.
    if let Ok(dump) = std::env::var("WGSPLAT_DUMP_DEMO") {
        std::fs::write(dump, &bytes).unwrap();
    }
}

/// A small valid file to break in various ways.
fn small_file() -> Vec<u8> {
    let mut demo = demo_scene();
    demo.means.truncate(4);
    demo.rotations.truncate(4);
    demo.log_scales.truncate(4);
    demo.opacity_logits.truncate(4);
    demo.sh.truncate(4 * 16 * 3);
    write_ply(&demo)
}

fn error_text(bytes: &[u8]) -> String {
    let e: PlyError = read_ply(bytes, "broken_scene.ply").unwrap_err();
    let text = e.to_string();
    assert!(text.contains("broken_scene.ply"), "error does not name the file: {text}");
    text
}

fn edit_header(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    let end = bytes.windows(11).position(|w| w == b"end_header\n").unwrap() + 11;
    let header = std::str::from_utf8(&bytes[..end]).unwrap();
    assert!(header.contains(from));
    let mut out = header.replacen(from, to, 1).into_bytes();
    out.extend_from_slice(&bytes[end..]);
    out
}

#[test]
fn malformed_files_give_errors_naming_the_file() {
    let good = small_file();
    read_ply(&good, "good.ply").unwrap();

    let e = error_text(&edit_header(&good, "property float scale_1\nproperty float scale_2\n", "property float s1\nproperty float s2\n"));
    assert!(e.contains("missing") && e.contains("scale_1, scale_2"), "{e}");

    let e = error_text(&good[..good.len() - 100]);
    assert!(e.contains("truncated") && e.contains(&format!("{} bytes", 4 * 62 * 4)), "{e}");

    let mut nan = good.clone();
    // The opacity of splat 3: 54 floats into the last row (x y z, normals, 3 + 45 SH).
    let at = good.len() - 62 * 4 + 54 * 4;
    nan[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    let e = error_text(&nan);
    assert!(e.contains("splat 3") && e.contains("opacity"), "{e}");

    let e = error_text(&edit_header(&good, "binary_little_endian", "ascii"));
    assert!(e.contains("unsupported") && e.contains("ascii"), "{e}");
    let e = error_text(&edit_header(&good, "binary_little_endian", "binary_big_endian"));
    assert!(e.contains("unsupported") && e.contains("binary_big_endian"), "{e}");

    let e = error_text(&edit_header(&good, "element vertex 4", "element vertex 4000000000000"));
    assert!(e.contains("declares 4000000000000") && e.contains("hold at most 4"), "{e}");

    let e = error_text(b"solid ascii stl\n");
    assert!(e.contains("not a PLY"), "{e}");
}

#[test]
fn truncations_of_a_real_file_fail_cleanly() {
    let Some(path) = wgsplat_formats::test_data::data_file(SAMPLE, "truncations_of_a_real_file_fail_cleanly") else {
        return;
    };
    let bytes = std::fs::read(&path).unwrap();
    for len in (0..bytes.len()).step_by(997).chain([bytes.len() - 1]) {
        assert!(read_ply(&bytes[..len], "point_cloud.ply").is_err(), "accepted a cut at {len}");
    }
}
