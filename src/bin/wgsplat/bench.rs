//! `wgsplat bench`: quick micro-benchmarks that need no dataset. Each prints a table and writes a
//! JSON report (`format: wgsplat-bench`, docs/profile-format.md) that `wgsplat compare` reads.
//!
//! - `dispatch`: what the API charges per submission, pass and dispatch (the page's probe's twin);
//! - `render`: batched rendering (C cameras per call) against one camera per call, 800x800;
//! - `readback`: blocking against asynchronous (ring of staging buffers) image readback;
//! - `decode`: image decoding on 1 against N worker threads, on generated images;
//! - `sort`: GPU radix sort throughput (keys/s);
//! - `scan`, `compact`: the kernel's prefix sum and stream compaction (elements/s);
//! - `densify`: GPU time of one density-control round at 100k, 300k and 1M splats;
//! - `raster`: forward and backward rasterization at 0.5M, 1M and 2M random splats, per-stage
//!   GPU times;
//! - `allreduce`: summing training gradients across devices (data-parallel training's
//!   exchange), per step, at several scene sizes (not in `all`: it needs several devices or
//!   `--share-gpu`);
//! - `rvs`: random view synthesis views/s on a scene and dataset (not in `all`, it needs both);
//! - `all`: every one of them, reports into one folder.
//!
//! One file per benchmark under `bench/`; `bench/common.rs` holds what they share.

use clap::{Args, Subcommand};

mod all;
mod allreduce;
mod common;
mod decode;
mod densify;
mod dispatch;
mod raster;
mod readback;
mod render;
mod rvs;
mod scan;
mod sort;

#[derive(Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    which: Which,
}

#[derive(Subcommand)]
enum Which {
    /// What wgpu charges per submission, pass and dispatch, on trivial work.
    Dispatch(dispatch::DispatchBench),
    /// Batched forward rendering against one camera per call.
    Render(render::RenderBench),
    /// Blocking against asynchronous readback of rendered images.
    Readback(readback::ReadbackBench),
    /// Image decoding on 1 against N worker threads (generated images).
    Decode(decode::DecodeBench),
    /// GPU radix sort throughput (keys/s).
    Sort(sort::SortBench),
    /// GPU exclusive prefix sum throughput (elements/s).
    Scan(scan::ScanBench),
    /// GPU stream compaction throughput (elements/s).
    Compact(scan::ScanBench),
    /// GPU time of one density-control round (clone, split, prune) at several splat counts.
    Densify(densify::DensifyBench),
    /// Forward and backward rasterization at several splat counts, with GPU time per stage.
    Raster(raster::RasterBench),
    /// Random view synthesis views/s: batched render, end to end with encoding, cached vs fresh.
    Rvs(rvs::RvsBench),
    /// Summing training gradients across devices (`train --gpus`'s exchange), per step.
    Allreduce(allreduce::AllReduceBench),
    /// Every benchmark, one JSON each in a folder.
    All(all::AllBench),
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.which {
        Which::Dispatch(b) => dispatch::dispatch_bench(&super::gpu()?, b),
        Which::Render(b) => render::render_bench(&super::gpu()?, b),
        Which::Readback(b) => readback::readback_bench(&super::gpu()?, b),
        Which::Decode(b) => decode::decode_bench(b),
        Which::Sort(b) => sort::sort_bench(&super::gpu()?, b),
        Which::Scan(b) => scan::scan_bench(&super::gpu()?, scan::Primitive::Scan, b),
        Which::Compact(b) => scan::scan_bench(&super::gpu()?, scan::Primitive::Compact, b),
        Which::Densify(b) => densify::densify_bench(&super::gpu()?, b),
        Which::Raster(b) => raster::raster_bench(&super::gpu()?, b),
        Which::Rvs(b) => rvs::rvs_bench(&super::gpu()?, b),
        Which::Allreduce(b) => allreduce::allreduce_bench(b),
        Which::All(b) => all::all_bench(b),
    }
}
