//! Every splat format's reader (`scene::format::read_as`) and header peek (`peek_as`): any bytes
//! give splats or an error, never a panic nor an allocation the input does not pay for
//! (alloc_limit.rs), and the peek agrees with the read. The first byte picks the format, so one
//! corpus covers all of them.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wgsplat_formats::scene::format::{SplatFormat, peek_as, read_as};

/// Aborts on allocations past 1 GiB (see alloc_limit.rs): libFuzzer's own limits miss them.
mod alloc_limit;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else { return };
    let format = SplatFormat::ALL[pick as usize % SplatFormat::ALL.len()];
    let peeked = peek_as(format, bytes, "fuzz.splat");
    let read = read_as(format, bytes, "fuzz.splat");
    match (&peeked, &read) {
        // What the header declares is what a file that reads holds.
        (Ok(header), Ok(splats)) => {
            assert_eq!((header.count, header.sh_degree), (splats.len() as u64, splats.sh_degree), "peek and read disagree")
        }
        // The peek makes a subset of the read's checks: what it refuses, the read refuses.
        (Err(e), Ok(_)) => panic!("peek refused a file that reads: {e}"),
        _ => {}
    }
});
