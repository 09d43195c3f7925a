//! A checkpoint's three files (splats PLY, optimizer state, state JSON), cut from one input at
//! two offsets given by its first four bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wgsplat::train::checkpoint::{CheckpointFiles, decode};

/// Aborts on allocations past 1 GiB (see alloc_limit.rs): libFuzzer's own limits miss them.
mod alloc_limit;

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let (head, rest) = data.split_at(4);
    let a = (u16::from_le_bytes([head[0], head[1]]) as usize).min(rest.len());
    let b = (a + u16::from_le_bytes([head[2], head[3]]) as usize).min(rest.len());
    let files = CheckpointFiles { splats_ply: rest[..a].to_vec(), optimizer_bin: rest[a..b].to_vec(), state_json: rest[b..].to_vec() };
    let _ = decode(&files);
});
