//! Every splat format's reader (`scene::format::read_as`): any bytes give splats or an error,
//! never a panic. The first byte picks the format, so one corpus covers all of them.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wgsplat::scene::format::{SplatFormat, read_as};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else { return };
    let format = SplatFormat::ALL[pick as usize % SplatFormat::ALL.len()];
    let _ = read_as(format, bytes, "fuzz.splat");
});
