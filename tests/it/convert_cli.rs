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

// --- issue 27, item 4: the output is never the input, by any spelling ---------------------------

/// The input by another name (a symbolic link, a hard link, `dir/../x`, `./x`) is refused before
/// anything is written, and the input stays byte for byte as it was; a real other file (also one
/// behind a link) is written whole, the link kept.
#[cfg(unix)]
#[test]
fn the_input_by_another_spelling_is_refused_and_left_intact() {
    let dir = std::env::temp_dir().join(format!("wgsplat-convert-same-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let input = dir.join("a.spz");
    let made = Command::new(env!("CARGO_BIN_EXE_wgsplat")).args(["convert", "--demo"]).arg(&input).output().unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let before = std::fs::read(&input).unwrap();
    std::os::unix::fs::symlink("a.spz", dir.join("link.spz")).unwrap();
    std::fs::hard_link(&input, dir.join("hard.spz")).unwrap();
    let spellings =
        [dir.join("link.spz"), dir.join("hard.spz"), dir.join("sub/../a.spz"), dir.join("./a.spz"), dir.join("sub/../link.spz")];
    for output in &spellings {
        // As output, and as input with the file itself as output.
        for (from, to) in [(&input, output), (output, &input)] {
            let err = fails(&[from.to_str().unwrap(), to.to_str().unwrap()]);
            assert!(err.contains("the same file"), "{from:?} -> {to:?}: {err}");
        }
        assert_eq!(std::fs::read(&input).unwrap(), before, "{output:?} changed the input");
    }
    // A link to another file: that file is replaced, the link stays a link.
    let other = dir.join("sub/other.ply");
    std::fs::write(&other, b"old").unwrap();
    std::os::unix::fs::symlink("sub/other.ply", dir.join("other-link.ply")).unwrap();
    ok(&[&input, &dir.join("other-link.ply")]);
    assert!(std::fs::symlink_metadata(dir.join("other-link.ply")).unwrap().file_type().is_symlink());
    assert_eq!(read_splats(&std::fs::read(&other).unwrap(), "other.ply").unwrap().len(), wgsplat::scene::demo::demo_scene().len());
    // A failed write leaves no temporary file beside the output.
    std::fs::create_dir_all(dir.join("folder.ply")).unwrap();
    let err = fails(&[input.to_str().unwrap(), dir.join("folder.ply").to_str().unwrap()]);
    assert!(err.contains("folder.ply") && err.contains("is a folder"), "{err}");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("wgsplat-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    std::fs::remove_dir_all(&dir).ok();
}

// ---------------------------------------------------------------------------------------------
// Decompression bombs (issue 27): a small file declaring a huge count is refused from its header,
// naming the file and the problem, and nothing is written. The bombs are the fuzzers' seeds,
// which tests/splat_bombs.rs builds and checks (the first byte of a splat_formats seed picks the
// reader, so it is dropped here).

#[test]
fn convert_refuses_bombs_naming_the_file_and_writes_nothing() {
    let dir = std::env::temp_dir().join(format!("wgsplat-convert-bombs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/splat_formats");
    for (seed, name, says) in [
        ("spz_v4_bomb", "bomb.spz", "declares 67108864 Gaussians of SH degree 0"),
        ("spz_gzip_bomb", "gzip-bomb.spz", "declares 3000000 Gaussians of SH degree 0"),
        ("sog_uniform_webp_bomb", "bomb.sog", "meta.json declares 67108864 splats of SH degree 0"),
    ] {
        let bytes = std::fs::read(seeds.join(seed)).unwrap();
        let input = dir.join(name);
        std::fs::write(&input, &bytes[1..]).unwrap();
        let output = dir.join(format!("{name}.ply"));
        let err = fails(&[input.to_str().unwrap(), output.to_str().unwrap()]);
        assert!(err.contains(&format!("{}: ", input.display())) && err.contains(says) && err.contains("holds at most"), "{err}");
        assert!(!output.exists(), "{} was written", output.display());
    }
    std::fs::remove_dir_all(&dir).ok();
}
