//! A splat PLY file (`scene::ply::read_ply`, and `peek_ply` on its header): any bytes give
//! splats or an error, never a panic nor an allocation the input does not pay for
//! (alloc_limit.rs), and the peek agrees with the read.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wgsplat_formats::scene::ply::{peek_ply, read_ply};

/// Aborts on allocations past 1 GiB (see alloc_limit.rs): libFuzzer's own limits miss them.
mod alloc_limit;

fuzz_target!(|data: &[u8]| {
    if let Ok(splats) = read_ply(data, "fuzz.ply") {
        assert_eq!(peek_ply(data, "fuzz.ply").ok(), Some((splats.len() as u64, splats.sh_degree)), "peek and read disagree");
    }
});
