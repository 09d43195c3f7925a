//! Decompression bombs for every splat reader: small files that declare a huge splat count
//! (SPZ v4 streams of zeros in zstd RLE blocks, an SPZ gzip stream of zeros, a SOG of uniform
//! 8192x8192 WebPs, PLY and compressed PLY headers over almost no data). Each is written to a
//! file and must be refused by `read_splats` and `peek` with an error naming the file and the
//! problem, from its header: the heap this thread holds while the reader runs is counted by the
//! allocator below and must stay under a few MiB, where decoding any of them takes gigabytes.
//!
//! The bombs are also the fuzzers' seeds (fuzz/seeds/splat_formats/*_bomb, fuzz/seeds/ply/):
//! `fuzz_seeds_are_these_bombs` checks that the committed seeds are what the builders here make,
//! and rewrites them when `WGSPLAT_WRITE_FUZZ_SEEDS=1`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use wgsplat_formats::scene::format::{self, SplatFormat};

// ---------------------------------------------------------------------------------------------
// Counting the heap

/// The system allocator, counting the bytes each thread holds and the most it held. Per thread,
/// because the tests of this binary run in parallel and a reader runs on the caller's thread.
struct Counting;

thread_local! {
    static LIVE: Cell<i64> = const { Cell::new(0) };
    static PEAK: Cell<i64> = const { Cell::new(0) };
}

/// Adds `delta` to this thread's count. `try_with`: a thread being torn down has none left.
fn note(delta: i64) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            note(layout.size() as i64);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            note(layout.size() as i64);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        note(-(layout.size() as i64));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            note(new_size as i64 - layout.size() as i64);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f`, returning its result and the most heap this thread held during it beyond what it
/// held before.
fn peak_heap<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let before = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(before));
    let out = f();
    (out, (PEAK.with(Cell::get) - before).max(0) as u64)
}

/// The most heap a refusal may take: the header, a zip directory and meta.json, a gzip window.
/// Decoding any bomb here would take from hundreds of megabytes to tens of gigabytes.
const REFUSAL_HEAP: u64 = 1 << 20;

// ---------------------------------------------------------------------------------------------
// The bombs

/// 2^26: the most splats any reader accepts, and what the bombs that were found declared.
const BOMB_COUNT: u32 = 1 << 26;

/// A zstd frame of `len` zeros in RLE blocks: 4 bytes per 128 KiB, zstd at its most compact.
fn zstd_zeros(len: u64) -> Vec<u8> {
    const BLOCK: u64 = 128 << 10;
    // Magic, a descriptor without content size or checksum, a window of 128 KiB.
    let mut out = vec![0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38];
    let mut left = len;
    loop {
        let size = left.min(BLOCK);
        left -= size;
        let block_header = (size as u32) << 3 | 1 << 1 | u32::from(left == 0); // RLE, last?
        out.extend(&block_header.to_le_bytes()[..3]);
        out.push(0);
        if left == 0 {
            return out;
        }
    }
}

/// The 16 bytes every SPZ version starts with.
fn spz_header(version: u32, count: u32, degree: u8) -> Vec<u8> {
    let mut h = b"NGSP".to_vec();
    h.extend(version.to_le_bytes());
    h.extend(count.to_le_bytes());
    h.extend([degree, 12, 0, 0]);
    h
}

/// SPZ attribute sizes in file order for v3/v4: positions, alphas, colours, scales, rotations, SH.
fn spz_sizes(count: u32, degree: u8) -> [u64; 6] {
    let n = u64::from(count);
    let sh = ((u64::from(degree) + 1).pow(2) - 1) * 3;
    [9 * n, n, 3 * n, 3 * n, 4 * n, sh * n]
}

/// An SPZ v4 file of `count` zero Gaussians of `degree`, every attribute a zstd stream of zeros.
fn spz_v4_bomb(count: u32, degree: u8) -> Vec<u8> {
    spz_v4_padded(count, degree, 0)
}

/// [`spz_v4_bomb`] with `pad` bytes of (skipped) extension data before the table of contents.
fn spz_v4_padded(count: u32, degree: u8, pad: usize) -> Vec<u8> {
    let sizes: Vec<u64> = spz_sizes(count, degree).into_iter().filter(|&s| s > 0).collect();
    let mut out = spz_header(4, count, degree);
    out[15] = sizes.len() as u8;
    out.extend((32 + pad as u32).to_le_bytes()); // the table of contents after the padding
    out.extend([0; 12]);
    out.extend(vec![0; pad]);
    let streams: Vec<Vec<u8>> = sizes.iter().map(|&s| zstd_zeros(s)).collect();
    for (z, &size) in streams.iter().zip(&sizes) {
        out.extend((z.len() as u64).to_le_bytes());
        out.extend(size.to_le_bytes());
    }
    streams.iter().for_each(|z| out.extend(z));
    out
}

/// An SPZ v3 gzip file of `count` zero Gaussians of `degree` (deflate's 1032:1 on zeros).
fn spz_gzip_bomb(count: u32, degree: u8) -> Vec<u8> {
    let body: u64 = spz_sizes(count, degree).iter().sum();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&spz_header(3, count, degree)).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for start in (0..body).step_by(zeros.len()) {
        gz.write_all(&zeros[..(body - start).min(zeros.len() as u64) as usize]).unwrap();
    }
    gz.finish().unwrap()
}

/// Bits written least significant first, as WebP's lossless bitstream wants them.
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    acc: u64,
    len: u32,
}

impl Bits {
    fn put(&mut self, value: u32, bits: u32) {
        self.acc |= u64::from(value) << self.len;
        self.len += bits;
        while self.len >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.len -= 8;
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.len > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// A lossless WebP of `width` x `height` texels, all `rgba`: every prefix code has a single
/// symbol, so a texel costs no bits and the file is a few dozen bytes at any size.
fn uniform_webp(width: u32, height: u32, rgba: [u8; 4]) -> Vec<u8> {
    let mut bits = Bits::default();
    bits.put(0x2f, 8); // VP8L signature
    bits.put(width - 1, 14);
    bits.put(height - 1, 14);
    bits.put(1, 1); // alpha is used
    bits.put(0, 3); // version
    bits.put(0, 1); // no transform
    bits.put(0, 1); // no colour cache
    bits.put(0, 1); // one prefix code group
    // Green, red, blue, alpha and distance codes: "simple", one 8-bit symbol each.
    let [r, g, b, a] = rgba;
    for symbol in [g, r, b, a, 0] {
        bits.put(1, 1);
        bits.put(0, 1);
        bits.put(1, 1);
        bits.put(u32::from(symbol), 8);
    }
    let mut vp8l = bits.finish();
    if vp8l.len() % 2 == 1 {
        vp8l.push(0);
    }
    let mut out = b"RIFF".to_vec();
    out.extend((4 + 8 + vp8l.len() as u32).to_le_bytes());
    out.extend(b"WEBPVP8L");
    out.extend((vp8l.len() as u32).to_le_bytes());
    out.extend(vp8l);
    out
}

/// A SOG declaring `side`² splats whose images are uniform `side` x `side` WebPs.
fn sog_bomb(side: u32) -> Vec<u8> {
    sog_uniform(u64::from(side) * u64::from(side), 0, 0)
}

/// A SOG of `count` identical splats of SH `degree` (0 or 3), its images uniform WebPs of the
/// smallest square that holds them, and `pad` bytes of an entry no reader looks at.
fn sog_uniform(count: u64, degree: u32, pad: usize) -> Vec<u8> {
    let side = (count as f64).sqrt().ceil() as u32;
    let codebook: Vec<f64> = (0..256).map(|i| f64::from(i) / 64.0 - 2.0).collect();
    let mut meta = serde_json::json!({
        "version": 2,
        "count": count,
        "means": { "mins": [0, 0, 0], "maxs": [1, 1, 1], "files": ["means_l.webp", "means_u.webp"] },
        "scales": { "codebook": codebook, "files": ["scales.webp"] },
        "quats": { "files": ["quats.webp"] },
        "sh0": { "codebook": codebook, "files": ["sh0.webp"] },
    });
    let mut images: Vec<(&str, Vec<u8>)> = vec![
        ("means_l.webp", uniform_webp(side, side, [0, 0, 0, 255])),
        ("means_u.webp", uniform_webp(side, side, [128, 128, 128, 255])),
        ("quats.webp", uniform_webp(side, side, [128, 128, 128, 252])),
        ("scales.webp", uniform_webp(side, side, [100, 100, 100, 255])),
        ("sh0.webp", uniform_webp(side, side, [128, 128, 128, 200])),
    ];
    if degree > 0 {
        // A palette of one entry (64 * 15 texels wide at degree 3), every label 0.
        meta["shN"] =
            serde_json::json!({ "count": 1, "bands": degree, "codebook": codebook, "files": ["shN_centroids.webp", "shN_labels.webp"] });
        let coeffs = (degree + 1) * (degree + 1) - 1;
        images.push(("shN_centroids.webp", uniform_webp(64 * coeffs, 1, [120, 130, 140, 255])));
        images.push(("shN_labels.webp", uniform_webp(side, side, [0, 0, 0, 255])));
    }
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("meta.json", stored).unwrap();
    zip.write_all(&serde_json::to_vec(&meta).unwrap()).unwrap();
    for (name, bytes) in images {
        zip.start_file(name, stored).unwrap();
        zip.write_all(&bytes).unwrap();
    }
    if pad > 0 {
        zip.start_file("padding.bin", stored).unwrap();
        zip.write_all(&vec![0; pad]).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// A standard 3DGS PLY (SH degree 3) declaring `count` Gaussians over one row of zeros.
fn ply_bomb(count: u32) -> Vec<u8> {
    let mut names: Vec<String> = ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"].map(String::from).to_vec();
    names.extend((0..45).map(|i| format!("f_rest_{i}")));
    names.extend(["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"].map(String::from));
    let mut out = format!("ply\nformat binary_little_endian 1.0\nelement vertex {count}\n").into_bytes();
    names.iter().for_each(|n| out.extend(format!("property float {n}\n").bytes()));
    out.extend(b"end_header\n");
    out.extend(vec![0u8; names.len() * 4]);
    out
}

/// A compressed PLY (SH degree 3) declaring `count` Gaussians over one chunk of zeros.
fn compressed_ply_bomb(count: u32) -> Vec<u8> {
    let chunk_props = [
        "min_x",
        "min_y",
        "min_z",
        "max_x",
        "max_y",
        "max_z",
        "min_scale_x",
        "min_scale_y",
        "min_scale_z",
        "max_scale_x",
        "max_scale_y",
        "max_scale_z",
    ];
    let mut out = format!("ply\nformat binary_little_endian 1.0\nelement chunk {}\n", count.div_ceil(256)).into_bytes();
    chunk_props.iter().for_each(|p| out.extend(format!("property float {p}\n").bytes()));
    out.extend(format!("element vertex {count}\n").bytes());
    ["packed_position", "packed_rotation", "packed_scale", "packed_color"]
        .iter()
        .for_each(|p| out.extend(format!("property uint {p}\n").bytes()));
    out.extend(format!("element sh {count}\n").bytes());
    (0..45).for_each(|j| out.extend(format!("property uchar f_rest_{j}\n").bytes()));
    out.extend(b"end_header\n");
    out.extend(vec![0u8; 12 * 4 + 256 * (16 + 45)]);
    out
}

/// A bomb: its file name, format, bytes, and the words its refusal must say.
struct Bomb {
    name: &'static str,
    format: SplatFormat,
    bytes: Vec<u8>,
    says: Vec<String>,
}

/// Every bomb; `seeds` marks those small enough to seed the fuzzers (libFuzzer reads at most
/// `-max_len`, 64 KiB, of an input).
fn bombs() -> Vec<(Bomb, bool)> {
    let n = BOMB_COUNT;
    let says = |words: &[&str]| words.iter().map(|w| w.to_string()).collect::<Vec<_>>();
    let spz_says = |count: u32, degree: u8| {
        says(&[&format!("declares {count} Gaussians of SH degree {degree}"), "holds at most", "decompression bomb"])
    };
    vec![
        // 41 KB declaring 67M splats (1.3 GB of zeros): 7.9 GB to decode before the bound.
        (Bomb { name: "spz_v4_bomb.spz", format: SplatFormat::Spz, bytes: spz_v4_bomb(n, 0), says: spz_says(n, 0) }, true),
        // At SH degree 3 (133 KB): the SH alone would be a 12.9 GB allocation.
        (Bomb { name: "spz_v4_sh3_bomb.spz", format: SplatFormat::Spz, bytes: spz_v4_bomb(n, 3), says: spz_says(n, 3) }, false),
        // 8M splats at degree 3 in 17 KB: a 1.6 GB SH allocation, for the fuzzers' malloc limit.
        (
            Bomb { name: "spz_v4_sh3_8m_bomb.spz", format: SplatFormat::Spz, bytes: spz_v4_bomb(1 << 23, 3), says: spz_says(1 << 23, 3) },
            true,
        ),
        // Deflate's 1032:1 on zeros: 3M splats (60 MB of body) in 58 KB.
        (
            Bomb { name: "spz_gzip_bomb.spz", format: SplatFormat::Spz, bytes: spz_gzip_bomb(3_000_000, 0), says: spz_says(3_000_000, 0) },
            true,
        ),
        (
            Bomb {
                name: "sog_uniform_webp_bomb.sog",
                format: SplatFormat::Sog,
                bytes: sog_bomb(8192),
                says: says(&[&format!("meta.json declares {n} splats of SH degree 0"), "holds at most", "decompression bomb"]),
            },
            true,
        ),
        (
            Bomb {
                name: "ply_bomb.ply",
                format: SplatFormat::Ply,
                bytes: ply_bomb(n),
                says: says(&[&format!("declares {n} Gaussians of 248 bytes"), "hold at most 1 "]),
            },
            true,
        ),
        (
            Bomb {
                name: "compressed_ply_bomb.compressed.ply",
                format: SplatFormat::CompressedPly,
                bytes: compressed_ply_bomb(n),
                says: says(&[&format!("declares {n} Gaussians"), "bytes follow the header"]),
            },
            true,
        ),
    ]
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wgsplat-bombs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

// ---------------------------------------------------------------------------------------------
// Tests

#[test]
fn every_bomb_is_refused_from_its_header_naming_the_file() {
    let dir = temp_dir();
    for (bomb, _) in bombs() {
        let path = dir.join(bomb.name);
        std::fs::write(&path, &bomb.bytes).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let name = path.display().to_string();
        assert_eq!(format::detect(&bytes, &name).unwrap(), bomb.format, "{name}");
        let (read, read_heap) = peak_heap(|| format::read_splats(&bytes, &name).map(|s| s.len()));
        let (peeked, peek_heap) = peak_heap(|| format::peek(&bytes, &name));
        for (what, err, heap) in
            [("read", read.err().map(|e| e.to_string()), read_heap), ("peek", peeked.err().map(|e| e.to_string()), peek_heap)]
        {
            let err = err.unwrap_or_else(|| panic!("{what} accepted {name}"));
            assert!(err.starts_with(&format!("{name}: ")), "{what}: {err}");
            for words in &bomb.says {
                assert!(err.contains(words.as_str()), "{what} {name}: \"{err}\" does not say \"{words}\"");
            }
            assert!(heap < REFUSAL_HEAP, "{what} {name}: {heap} bytes of heap to refuse a {}-byte file", bytes.len());
            eprintln!("{what} {}: {} bytes refused with at most {heap} bytes of heap", bomb.name, bytes.len());
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_bombs_are_well_formed() {
    // Every zstd stream of the v4 bomb inflates to what its table of contents says.
    let v4 = spz_v4_bomb(BOMB_COUNT, 0);
    assert!(v4.len() < 42_000, "{}", v4.len());
    let sizes = spz_sizes(BOMB_COUNT, 0);
    let mut at = 32 + 5 * 16;
    for (i, &size) in sizes[..5].iter().enumerate() {
        let toc = 32 + i * 16;
        assert_eq!(u64::from_le_bytes(v4[toc + 8..toc + 16].try_into().unwrap()), size);
        let compressed = u64::from_le_bytes(v4[toc..toc + 8].try_into().unwrap()) as usize;
        // Only the alphas (67 MB) are inflated here; the others have the same blocks.
        if i == 1 {
            let decoder = ruzstd::decoding::StreamingDecoder::new(&v4[at..at + compressed]).unwrap();
            assert_eq!(std::io::copy(&mut decoder.take(u64::MAX), &mut std::io::sink()).unwrap(), size);
        }
        at += compressed;
    }
    assert_eq!(at, v4.len());

    // The gzip bomb inflates to the header and 60 MB of zeros at deflate's best ratio.
    let gz = spz_gzip_bomb(3_000_000, 0);
    let mut inflated = flate2::read::GzDecoder::new(&gz[..]);
    let mut head = [0u8; 16];
    inflated.read_exact(&mut head).unwrap();
    assert_eq!(head.to_vec(), spz_header(3, 3_000_000, 0));
    assert_eq!(std::io::copy(&mut inflated, &mut std::io::sink()).unwrap(), 60_000_000);
    assert!(gz.len() < 60_000_000 / 1000, "{}", gz.len());

    // A uniform WebP decodes to its colour; the bomb's are 8192 x 8192 in a few dozen bytes.
    use image::ImageDecoder;
    let small = uniform_webp(40, 30, [1, 2, 3, 4]);
    let decoded = image::load_from_memory_with_format(&small, image::ImageFormat::WebP).unwrap().into_rgba8();
    assert_eq!(decoded.dimensions(), (40, 30));
    assert!(decoded.pixels().all(|p| p.0 == [1, 2, 3, 4]));
    let big = uniform_webp(8192, 8192, [0, 0, 0, 255]);
    assert!(big.len() < 64, "{}", big.len());
    assert_eq!(image::codecs::webp::WebPDecoder::new(std::io::Cursor::new(&big)).unwrap().dimensions(), (8192, 8192));

    // The same builders at a size the files do pay for read as splats.
    let sizes = [(SplatFormat::Spz, spz_v4_bomb(1000, 3)), (SplatFormat::Spz, spz_gzip_bomb(1000, 1)), (SplatFormat::Sog, sog_bomb(32))];
    for (format, bytes) in sizes {
        let splats = format::read_as(format, &bytes, "small").unwrap();
        assert!(splats.len() == 1000 || splats.len() == 32 * 32, "{format}: {}", splats.len());
    }
}

/// `build(pad)` padded to exactly `target` bytes (padding adds a fixed overhead and then a
/// byte per byte).
fn padded_to(target: usize, build: impl Fn(usize) -> Vec<u8>) -> Vec<u8> {
    let overhead = build(1).len() - 1;
    let bytes = build(target - overhead);
    assert_eq!(bytes.len(), target);
    bytes
}

#[test]
fn files_of_one_mib_at_the_bounds_decode_within_a_few_hundred_mb() {
    // The most splats each compressed format lets 1 MiB declare, as identical splats (which
    // compress the best): they read, within a few hundred MB of heap; one splat more is refused.
    const MIB: usize = 1 << 20;
    type Build = Box<dyn Fn(u64, usize) -> Vec<u8>>;
    let cases: [(&str, u64, Build); 3] = [
        // SPZ: 32 bytes of attributes per byte of file, plus 1 MiB, at 65 bytes a splat (degree 3).
        ("max.spz", ((MIB * 32 + MIB) / 65) as u64, Box::new(|count, pad| spz_v4_padded(count as u32, 3, pad))),
        // SOG: 65536 splats, and one per byte of file (degree 0) or per two bytes (with SH).
        ("max0.sog", 65536 + MIB as u64, Box::new(|count, pad| sog_uniform(count, 0, pad))),
        ("max3.sog", 65536 + MIB as u64 / 2, Box::new(|count, pad| sog_uniform(count, 3, pad))),
    ];
    for (name, count, build) in cases {
        let bytes = padded_to(MIB, |pad| build(count, pad));
        let (splats, heap) = peak_heap(|| format::read_splats(&bytes, name).unwrap());
        assert_eq!(splats.len() as u64, count, "{name}");
        eprintln!(
            "{name}: {} bytes, {count} splats of SH degree {}, read with at most {} MB of heap",
            bytes.len(),
            splats.sh_degree,
            heap >> 20
        );
        assert!(heap < 256 << 20, "{name}: {} MB of heap", heap >> 20);
        drop(splats);
        let over = padded_to(MIB, |pad| build(count + 1, pad));
        let err = format::peek(&over, name).unwrap_err().to_string();
        assert!(err.contains(&format!("holds at most {count}:")), "{name}: {err}");
    }
}

/// The seeds' paths: (fuzz target, file name, the input: the splat_formats target takes the
/// index of the format in `SplatFormat::ALL` as its first byte).
fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out = Vec::new();
    for (bomb, seed) in bombs() {
        if !seed {
            continue;
        }
        let pick = SplatFormat::ALL.iter().position(|&f| f == bomb.format).unwrap() as u8;
        let file = bomb.name.split('.').next().unwrap_or(bomb.name).to_string();
        if bomb.format == SplatFormat::Ply {
            out.push(("ply", file.clone(), bomb.bytes.clone()));
        }
        out.push(("splat_formats", file, [vec![pick], bomb.bytes].concat()));
    }
    out
}

#[test]
fn fuzz_seeds_are_these_bombs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds");
    let write = std::env::var_os("WGSPLAT_WRITE_FUZZ_SEEDS").is_some_and(|v| v == "1");
    for (target, name, bytes) in seeds() {
        // libFuzzer cuts inputs at -max_len (64 KiB): a longer seed would lose its bomb.
        assert!(bytes.len() <= 65536, "{target}/{name}: {} bytes", bytes.len());
        let path = root.join(target).join(&name);
        if write {
            std::fs::write(&path, &bytes).unwrap();
        }
        let committed =
            std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (run with WGSPLAT_WRITE_FUZZ_SEEDS=1 to write it)", path.display()));
        assert!(committed == bytes, "{} differs from its bomb (run with WGSPLAT_WRITE_FUZZ_SEEDS=1 to rewrite it)", path.display());
    }
}
