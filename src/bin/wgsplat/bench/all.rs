//! `wgsplat bench all`: every benchmark but `rvs` (which needs a scene and a dataset), one
//! report each (`bench-<name>.json`) in a folder; `--quick` for small sizes (CI, smoke tests).

use std::path::PathBuf;

use clap::Args;

use super::decode::{DecodeBench, decode_bench};
use super::dispatch::{DispatchBench, dispatch_bench};
use super::raster::{RasterBench, raster_bench};
use super::readback::{ReadbackBench, readback_bench};
use super::render::{RenderBench, render_bench};
use super::scan::{Primitive, ScanBench, scan_bench};
use super::sort::{SortBench, sort_bench};

#[derive(Args)]
pub struct AllBench {
    /// Folder for the reports (bench-<name>.json).
    #[arg(long, default_value = "bench")]
    pub out: PathBuf,
    /// Small sizes (seconds on a software rasterizer): for CI and smoke tests.
    #[arg(long)]
    pub quick: bool,
}

pub fn all_bench(args: AllBench) -> anyhow::Result<()> {
    let gpu = super::super::gpu()?;
    let json = |name: &str| args.out.join(format!("bench-{name}.json"));
    let q = args.quick;
    println!("== dispatch");
    dispatch_bench(&gpu, DispatchBench { items: if q { 40 } else { 400 }, repeats: if q { 2 } else { 5 }, json: json("dispatch") })?;
    println!("== render");
    render_bench(
        &gpu,
        RenderBench {
            scene: None,
            random_splats: if q { 20_000 } else { 1_000_000 },
            width: if q { 128 } else { 800 },
            height: if q { 128 } else { 800 },
            batches: if q { vec![1, 4] } else { vec![1, 4, 16, 64] },
            views: if q { 4 } else { 64 },
            repeats: 3,
            json: json("render"),
        },
    )?;
    println!("== readback");
    readback_bench(
        &gpu,
        ReadbackBench {
            splats: if q { 20_000 } else { 200_000 },
            width: if q { 128 } else { 800 },
            height: if q { 128 } else { 800 },
            cameras: 4,
            calls: if q { 8 } else { 32 },
            ring: 3,
            repeats: 3,
            json: json("readback"),
        },
    )?;
    println!("== decode");
    decode_bench(DecodeBench {
        images: if q { 8 } else { 48 },
        width: if q { 256 } else { 800 },
        height: if q { 256 } else { 800 },
        format: "png".into(),
        threads: Vec::new(),
        repeats: 3,
        json: json("decode"),
    })?;
    println!("== sort");
    sort_bench(
        &gpu,
        SortBench {
            sizes: if q { vec![100_000, 1_000_000] } else { vec![1_000_000, 4_000_000, 16_000_000] },
            bits: 32,
            iterations: if q { 3 } else { 10 },
            repeats: 3,
            json: json("sort"),
        },
    )?;
    for primitive in [Primitive::Scan, Primitive::Compact] {
        let name = if primitive == Primitive::Scan { "scan" } else { "compact" };
        println!("== {name}");
        scan_bench(
            &gpu,
            primitive,
            ScanBench {
                sizes: if q { vec![100_000, 1_000_000] } else { vec![1_000_000, 4_000_000, 16_000_000] },
                iterations: if q { 3 } else { 10 },
                repeats: 3,
                keep_one_in: 4,
                json: Some(json(name)),
            },
        )?;
    }
    println!("== raster");
    raster_bench(
        &gpu,
        RasterBench {
            splats: if q { vec![25_000, 50_000] } else { vec![500_000, 1_000_000, 2_000_000] },
            width: if q { 128 } else { 800 },
            height: if q { 128 } else { 800 },
            cameras: 1,
            views: if q { 4 } else { 16 },
            repeats: 3,
            no_backward: false,
            json: json("raster"),
        },
    )
}
