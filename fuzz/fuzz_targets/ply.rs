//! A splat PLY file (`scene::ply::read_ply`): any bytes give splats or an error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = wgsplat::scene::ply::read_ply(data, "fuzz.ply");
});
