//! Helpers shared by integration tests: `mod common;` in a test file brings them in.
// Each test binary uses only some of the helpers.
#![allow(dead_code)]

pub mod demo_training;
pub mod grads;
pub mod gsplat_ref;
pub mod random_scene;

use std::path::PathBuf;

/// Root of the shared test data; `WGSPLAT_DATA` overrides it (e.g. on CI or another machine).
pub fn data_dir() -> PathBuf {
    std::env::var_os("WGSPLAT_DATA").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"))
}

/// A file under [`data_dir`], or None with a message saying the test is skipped.
pub fn data_file(relative: &str, test: &str) -> Option<PathBuf> {
    let path = data_dir().join(relative);
    if path.exists() {
        Some(path)
    } else {
        eprintln!("skipping {test}: {} is absent (set WGSPLAT_DATA to the test data folder)", path.display());
        None
    }
}
