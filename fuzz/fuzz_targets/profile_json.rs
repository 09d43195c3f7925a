//! A profile or benchmark report as `wgsplat compare` reads it: JSON, then its metrics, then a
//! comparison of the file with itself.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wgsplat::profile::compare::{compare, metrics_from_json};

/// Aborts on allocations past 1 GiB (see alloc_limit.rs): libFuzzer's own limits miss them.
mod alloc_limit;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    if let Ok(set) = metrics_from_json(&value) {
        let comparison = compare("a", set.clone(), "b", set);
        let _ = comparison.markdown();
    }
});
