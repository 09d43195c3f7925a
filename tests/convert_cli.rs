//! `wgsplat convert`: every format from the demo scene and back, the format picked by the
//! extension (or --format), and bad input named in the error.

use std::path::Path;
use std::process::Command;
use wgsplat::scene::format::{SplatFormat, read_splats};

fn wgsplat(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_wgsplat")).arg("convert").args(args).output().expect("run wgsplat")
}

fn ok(args: &[&Path]) -> String {
    let args: Vec<&std::ffi::OsStr> = args.iter().map(|p| p.as_os_str()).collect();
    let out = wgsplat(&args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "convert {args:?} failed: {stderr}");
    stderr
}

fn fails(args: &[&str]) -> String {
    let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    let out = wgsplat(&args);
    assert!(!out.status.success(), "convert {args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn converts_between_every_format_and_names_bad_input() {
    let dir = std::env::temp_dir().join(format!("wgsplat-convert-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join("source.ply");
    let _ = Command::new(env!("CARGO_BIN_EXE_wgsplat")).args(["convert", "--demo"]).arg(&source).output().unwrap();
    let demo = read_splats(&std::fs::read(&source).unwrap(), "demo.ply").unwrap();
    assert_eq!(demo, wgsplat::scene::demo::demo_scene(), "--demo writes the demo scene exactly");

    for format in SplatFormat::ALL {
        let file = dir.join(format!("demo{}", format.extension()));
        let message = ok(&[&source, &file]);
        assert!(message.contains(format.name()), "{message}");
        let bytes = std::fs::read(&file).unwrap();
        // The content says which format it is (`.splat` has no signature: only its name does).
        let unnamed = if format == SplatFormat::Splat { "x.splat" } else { "x.bin" };
        assert_eq!(wgsplat::scene::format::detect(&bytes, unnamed).ok(), Some(format));
        // Back to a standard PLY, read by content (the name says .ply for every one of them).
        let back = dir.join(format!("back-{}.ply", &format.extension()[1..]));
        ok(&[&file, &back]);
        let splats = read_splats(&std::fs::read(&back).unwrap(), "back.ply").unwrap();
        assert_eq!(splats.len(), demo.len(), "{format}");
        assert_eq!(splats.sh_degree, if format == SplatFormat::Splat { 0 } else { 3 }, "{format}");
    }
    // --format overrides the extension.
    let odd = dir.join("scene.bin");
    let out = wgsplat(&[source.as_os_str(), odd.as_os_str(), "--format".as_ref(), "spz".as_ref()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(wgsplat::scene::format::detect(&std::fs::read(&odd).unwrap(), "scene.bin").ok(), Some(SplatFormat::Spz));

    let garbage = dir.join("garbage.spz");
    std::fs::write(&garbage, b"definitely not a splat file").unwrap();
    let err = fails(&[garbage.to_str().unwrap(), dir.join("x.ply").to_str().unwrap()]);
    assert!(err.contains("garbage.spz"), "{err}");
    let err = fails(&[source.to_str().unwrap(), dir.join("x.obj").to_str().unwrap()]);
    assert!(err.contains("x.obj") && err.contains("no splat format"), "{err}");
    let err = fails(&[source.to_str().unwrap(), source.to_str().unwrap()]);
    assert!(err.contains("the same file"), "{err}");
    let err = fails(&[dir.join("missing.sog").to_str().unwrap(), dir.join("x.ply").to_str().unwrap()]);
    assert!(err.contains("missing.sog"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
