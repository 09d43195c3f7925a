//! The fuzz targets' global allocator: the system's, aborting (which libFuzzer reports as a
//! crash, saving the input) when one allocation, or all of the target's live allocations
//! together, pass [`LIMIT_BYTES`].
//!
//! Why the targets enforce it themselves: `cargo xtask fuzz` passes libFuzzer `-malloc_limit_mb`
//! and `-rss_limit_mb`, but libFuzzer checks the malloc limit only through a sanitizer's
//! allocator hooks, which `--sanitizer none` lacks, and its RSS limit only sees the pages a
//! process touches: `vec![0; n]` of a size the input declares costs no RSS until it is written,
//! so an input that makes a reader reserve gigabytes it does not pay for went unseen. Counting
//! here sees every Rust allocation at the moment it is asked for.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

/// 1024 MiB, the `-malloc_limit_mb` and `-rss_limit_mb` of xtask/src/fuzz.rs: far more than any
/// input of at most 64 KiB (its `-max_len`) pays for in any format.
pub const LIMIT_BYTES: usize = 1024 << 20;

/// Bytes of Rust allocations live now, over every thread.
static LIVE: AtomicUsize = AtomicUsize::new(0);

pub struct Limited;

#[global_allocator]
static ALLOCATOR: Limited = Limited;

/// Counts `size` more bytes, aborting past the limit.
fn grow(size: usize) {
    let live = LIVE.fetch_add(size, Ordering::Relaxed).saturating_add(size);
    if size > LIMIT_BYTES || live > LIMIT_BYTES {
        // No formatting into a String: this runs inside the allocator.
        let _ = writeln!(
            std::io::stderr(),
            "==alloc_limit== allocation of {size} bytes with {live} bytes live passes the limit of {LIMIT_BYTES}: the input makes the reader allocate what it does not pay for"
        );
        std::process::abort();
    }
}

fn shrink(size: usize) {
    LIVE.fetch_sub(size, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Limited {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grow(layout.size());
        let p = unsafe { System.alloc(layout) };
        if p.is_null() {
            shrink(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grow(layout.size());
        let p = unsafe { System.alloc_zeroed(layout) };
        if p.is_null() {
            shrink(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        shrink(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            grow(new_size - layout.size());
        }
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        match (p.is_null(), new_size > layout.size()) {
            (true, true) => shrink(new_size - layout.size()),
            (false, false) => shrink(layout.size() - new_size),
            _ => {}
        }
        p
    }
}
