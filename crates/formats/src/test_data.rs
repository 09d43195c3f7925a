//! Where the tests of every crate find the shared data (`../shared/data` beside the checkout, or
//! `WGSPLAT_DATA`), and the one rule for a test whose data or tool is missing: it says what it
//! skipped, or, where `WGSPLAT_NO_SKIP=1` (`.ci/run` sets it: CI has the data and installs the
//! tools), it fails, so that a comparison cannot pass there by not running.

use std::path::PathBuf;

/// Root of the shared test data; `WGSPLAT_DATA` overrides it.
pub fn data_dir() -> PathBuf {
    std::env::var_os("WGSPLAT_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

/// A file or folder under [`data_dir`], or None after [`skip`] said why.
pub fn data_file(relative: &str, test: &str) -> Option<PathBuf> {
    let path = data_dir().join(relative);
    if path.exists() {
        Some(path)
    } else {
        skip(test, &format!("{} is absent (set WGSPLAT_DATA to the test data folder)", path.display()));
        None
    }
}

/// Says that `test` skips its checks for `reason`, or panics where skipping is a failure.
pub fn skip(test: &str, reason: &str) {
    if no_skip() {
        panic!("{test} cannot run: {reason} (WGSPLAT_NO_SKIP=1 makes a skip a failure)");
    }
    eprintln!("skipping {test}: {reason}");
}

/// Whether skipping is a failure here (`WGSPLAT_NO_SKIP=1`).
pub fn no_skip() -> bool {
    std::env::var("WGSPLAT_NO_SKIP").is_ok_and(|v| v == "1")
}
