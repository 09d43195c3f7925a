//! Our splat formats checked by the ecosystem's own tool, PlayCanvas's `splat-transform` (npm,
//! installed into web/node_modules by the test command's setup): it reads every file we write,
//! and we read every file it writes, from one source scene. The two sides' splats must agree
//! within each format's documented precision.
//!
//! Without splat-transform (a plain `cargo test` before `cargo xtask test` has run its setup)
//! the test says so and passes, unless WGSPLAT_NO_SKIP=1 (which `.ci/run` sets) makes that a
//! failure.

use std::path::{Path, PathBuf};
use std::process::Command;
use wgsplat_formats::rng::SplitMix;
use wgsplat_formats::scene::format::{SplatFormat, read_splats, write_splats};
use wgsplat_formats::scene::{SH_C0, Splats, ply, sh_coeffs_for_degree};

/// How far a decoded attribute may be from the source, worst case over the splats (RMS for
/// SOG's SH, whose palette bounds only the average).
#[derive(Debug, Clone, Copy)]
struct Tolerance {
    /// World units.
    position: f32,
    /// Natural-log units of the scale.
    log_scale: f32,
    /// Degrees between the rotations.
    rotation_deg: f32,
    /// Opacity after the sigmoid.
    opacity: f32,
    /// Base colour, 0.5 + SH_C0 * f_dc.
    color: f32,
    /// Higher SH coefficients, max abs error; None when the format drops them.
    sh: Option<f32>,
    /// ... or their RMS error, for formats that quantize them jointly.
    sh_rms: Option<f32>,
}

/// The bounds each format documents (src/scene/<format>.rs), for the source scene below
/// (extent 4, log scales in [-5, -1], SH rest within 0.31).
fn tolerance(format: SplatFormat) -> Tolerance {
    match format {
        SplatFormat::Ply => {
            Tolerance { position: 1e-6, log_scale: 1e-6, rotation_deg: 1e-3, opacity: 1e-6, color: 1e-6, sh: Some(1e-6), sh_rms: None }
        }
        // 11/10/11 bits of a chunk's extent (Morton-ordered chunks are far smaller than the
        // scene), log scales likewise, colour and opacity 8 bits, SH 8 bits over [-4, 4].
        SplatFormat::CompressedPly => Tolerance {
            position: 4.0 / 1023.0,
            log_scale: 4.0 / 1023.0,
            rotation_deg: 1.0,
            opacity: 1.0 / 255.0,
            color: 2.0 / 255.0,
            sh: Some(8.0 / 255.0),
            sh_rms: None,
        },
        // 24-bit fixed point positions (12 fraction bits), log scale in 1/16 steps, 8-bit
        // opacity and colour (DC scaled by 0.15), SH 5 bits (band 1) or 4 bits (higher: 8.5/128
        // with the 8-bit rounding before).
        SplatFormat::Spz => Tolerance {
            position: 1.0 / 4096.0,
            log_scale: 1.0 / 32.0 + 1e-4,
            rotation_deg: 1.0,
            opacity: 1.0 / 255.0,
            color: SH_C0 / (0.15 * 255.0),
            sh: Some(8.5 / 128.0 + 1e-4),
            sh_rms: None,
        },
        // 16-bit positions over the log-transformed range; scales and colours through
        // 256-entry codebooks; rotations 8 bits; SH through a k-means palette (here of 48
        // looks with noise 0.01, which a palette of any size captures to about that noise plus
        // its 8-bit codebook).
        SplatFormat::Sog => Tolerance {
            position: 2e-3,
            log_scale: 0.08,
            rotation_deg: 3.0,
            opacity: 1.0 / 255.0 + 1e-4,
            color: 0.02,
            sh: None,
            sh_rms: Some(0.02),
        },
        // f32 positions and scales, 8-bit colour, opacity and quaternion, no SH. Ours round to
        // half a step; splat-transform's writer truncates (a whole step) and its reader decodes
        // rotation bytes half a step off, so the check allows a step either way.
        SplatFormat::Splat => Tolerance {
            position: 1e-6,
            log_scale: 1e-5,
            rotation_deg: 3.0,
            opacity: 1.0 / 255.0 + 1e-4,
            color: 1.0 / 255.0 + 1e-4,
            sh: None,
            sh_rms: None,
        },
    }
}

/// A random SH-3 scene whose values stay inside every format's ranges (colours within
/// [0, 1], so no format clamps): positions in a 4-unit cube, distinct enough to match splats
/// back by position after a format reorders them.
fn source_scene(count: usize) -> Splats {
    let mut rng = SplitMix(0x0ec0_5157);
    let k = sh_coeffs_for_degree(3);
    let mut s = Splats { sh_degree: 3, ..Default::default() };
    // View-dependent colour as real scenes have it, a few looks shared by many splats (plus a
    // little noise): a palette format like SOG can represent it, and any mix-up of channels or
    // coefficients shows as an error far over the bound.
    let looks: Vec<Vec<f32>> = (0..48).map(|_| (0..(k - 1) * 3).map(|_| 0.3 * rng.signed()).collect()).collect();
    for _ in 0..count {
        s.means.push([2.0 * rng.signed(), 2.0 * rng.signed(), 2.0 * rng.signed()]);
        s.log_scales.push([-3.0 + 2.0 * rng.signed(), -3.0 + 2.0 * rng.signed(), -3.0 + 2.0 * rng.signed()]);
        let q = [rng.signed(), rng.signed(), rng.signed(), rng.signed()];
        let norm = q.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-3);
        s.rotations.push(q.map(|v| v / norm));
        s.opacity_logits.push(4.0 * rng.signed());
        s.sh.extend([1.5 * rng.signed(), 1.5 * rng.signed(), 1.5 * rng.signed()]);
        let look = &looks[(rng.next_u64() % looks.len() as u64) as usize];
        s.sh.extend(look.iter().map(|v| v + 0.01 * rng.signed()));
    }
    s
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// For each decoded splat, the index of the source splat nearest to it.
fn match_by_position(source: &Splats, decoded: &Splats) -> Vec<usize> {
    decoded
        .means
        .iter()
        .map(|m| {
            let d2 = |a: &[f32; 3]| (0..3).map(|i| (a[i] - m[i]).powi(2)).sum::<f32>();
            (0..source.len()).min_by(|&a, &b| d2(&source.means[a]).total_cmp(&d2(&source.means[b]))).unwrap_or(0)
        })
        .collect()
}

fn angle_deg(a: [f32; 4], b: [f32; 4]) -> f32 {
    let n = |q: [f32; 4]| {
        let l = q.iter().map(|v| v * v).sum::<f32>().sqrt();
        q.map(|v| v / l)
    };
    let (a, b) = (n(a), n(b));
    let dot = (0..4).map(|i| a[i] * b[i]).sum::<f32>().abs().min(1.0);
    2.0 * dot.acos().to_degrees()
}

/// The largest error of each attribute between `decoded` and the source (matched by
/// position); panics with all of them when one is over its tolerance.
fn check(label: &str, source: &Splats, decoded: &Splats, tol: Tolerance) {
    assert_eq!(decoded.len(), source.len(), "{label}: {} splats, expected {}", decoded.len(), source.len());
    let order = match_by_position(source, decoded);
    let mut seen = vec![false; source.len()];
    for &i in &order {
        assert!(!seen[i], "{label}: two decoded splats match source splat {i}");
        seen[i] = true;
    }
    let (ks, kd) = (source.coeffs_per_splat(), decoded.coeffs_per_splat());
    let mut worst = [0f32; 6];
    let (mut sh_sq, mut sh_n) = (0f64, 0usize);
    for (d, &s) in order.iter().enumerate() {
        let max3 = |a: [f32; 3], b: [f32; 3]| (0..3).map(|i| (a[i] - b[i]).abs()).fold(0f32, f32::max);
        worst[0] = worst[0].max(max3(source.means[s], decoded.means[d]));
        worst[1] = worst[1].max(max3(source.log_scales[s], decoded.log_scales[d]));
        worst[2] = worst[2].max(angle_deg(source.rotations[s], decoded.rotations[d]));
        worst[3] = worst[3].max((sigmoid(source.opacity_logits[s]) - sigmoid(decoded.opacity_logits[d])).abs());
        for c in 0..3 {
            worst[4] = worst[4].max(SH_C0 * (source.sh[s * ks * 3 + c] - decoded.sh[d * kd * 3 + c]).abs());
        }
        for j in 3..kd.min(ks) * 3 {
            let e = (source.sh[s * ks * 3 + j] - decoded.sh[d * kd * 3 + j]).abs();
            worst[5] = worst[5].max(e);
            sh_sq += (e as f64).powi(2);
            sh_n += 1;
        }
    }
    let sh_rms = if sh_n == 0 { 0.0 } else { (sh_sq / sh_n as f64).sqrt() as f32 };
    let report = format!(
        "{label}: max error position {:.2e}, log scale {:.2e}, rotation {:.3} deg, opacity {:.2e}, colour {:.2e}, SH {:.2e} (RMS {:.2e}), SH degree {}",
        worst[0], worst[1], worst[2], worst[3], worst[4], worst[5], sh_rms, decoded.sh_degree
    );
    println!("{report}");
    let over = [
        ("position", worst[0] > tol.position),
        ("log scale", worst[1] > tol.log_scale),
        ("rotation", worst[2] > tol.rotation_deg),
        ("opacity", worst[3] > tol.opacity),
        ("colour", worst[4] > tol.color),
        ("SH", tol.sh.is_some_and(|t| worst[5] > t)),
        ("SH RMS", tol.sh_rms.is_some_and(|t| sh_rms > t)),
        ("SH degree", decoded.sh_degree != if tol.sh.is_some() || tol.sh_rms.is_some() { source.sh_degree } else { 0 }),
    ];
    let failed: Vec<&str> = over.iter().filter(|(_, bad)| *bad).map(|(name, _)| *name).collect();
    assert!(failed.is_empty(), "{report}\nover the tolerance {tol:?}: {failed:?}");
}

/// web/node_modules/.bin/splat-transform, when setup has installed it.
fn splat_transform() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/node_modules/.bin/splat-transform");
    if path.is_file() {
        return Some(path);
    }
    let message = format!("{} is missing: run `cargo xtask test` (its setup installs web/package.json's packages)", path.display());
    wgsplat_formats::test_data::skip("the splat-transform checks", &message);
    None
}

fn run(tool: &Path, args: &[&Path]) {
    // SOG's k-means runs on the CPU here (no GPU in CI) and briefly: the palette's quality
    // is not what is checked.
    let output = Command::new(tool).args(["-w", "-q", "-g", "cpu", "-i", "3"]).args(args).output().expect("run splat-transform");
    assert!(
        output.status.success(),
        "splat-transform {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn splat_transform_reads_what_we_write_and_we_read_what_it_writes() {
    let Some(tool) = splat_transform() else { return };
    let dir = std::env::temp_dir().join(format!("wgsplat-ecosystem-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let source = source_scene(2000);
    let source_ply = dir.join("source.ply");
    std::fs::write(&source_ply, ply::write_ply(&source)).unwrap();

    for format in [SplatFormat::CompressedPly, SplatFormat::Spz, SplatFormat::Sog, SplatFormat::Splat] {
        let tol = tolerance(format);
        // Ours, read by splat-transform (and written back as a standard PLY).
        let ours = dir.join(format!("ours{}", format.extension()));
        std::fs::write(&ours, write_splats(&source, format).unwrap()).unwrap();
        let back = dir.join(format!("ours-{}-via-splat-transform.ply", &format.extension()[1..]));
        run(&tool, &[&ours, &back]);
        let read_back = ply::read_ply(&std::fs::read(&back).unwrap(), &back.display().to_string()).unwrap();
        check(&format!("ours {format} read by splat-transform"), &source, &read_back, tol);

        // Theirs, from the same source, read by us.
        let mut theirs_files = vec![dir.join(format!("theirs{}", format.extension()))];
        run(&tool, &[&source_ply, &theirs_files[0]]);
        if format == SplatFormat::Spz {
            // splat-transform writes SPZ v4 by default; v3 is what most viewers read.
            let v3 = dir.join("theirs-v3.spz");
            let output = Command::new(&tool).args(["-w", "-q", "--spz-version", "3"]).arg(&source_ply).arg(&v3).output().unwrap();
            assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
            theirs_files.push(v3);
        }
        for theirs in theirs_files {
            let name = theirs.display().to_string();
            let decoded =
                read_splats(&std::fs::read(&theirs).unwrap(), &name).unwrap_or_else(|e| panic!("reading splat-transform's {name}: {e}"));
            check(&format!("splat-transform's {}", theirs.file_name().unwrap().to_string_lossy()), &source, &decoded, tol);
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}
