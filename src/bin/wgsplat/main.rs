//! The wgsplat command line: train, render, rvs, convert, bench, compare.

mod bench;
mod compare;
mod convert;
mod images;
mod outputs;
mod render;
mod rvs;
mod scene_file;
mod train;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "wgsplat", version, about = "3D Gaussian splatting over wgpu")]
struct Cli {
    /// Do not use these optional GPU features even where the adapter has them (comma-separated:
    /// float-atomics, timestamps): runs the paths browsers take, natively (the device keeps its
    /// limits, so this is the browser's code path, not its limits).
    #[arg(long, global = true, value_delimiter = ',')]
    without: Vec<String>,
    #[command(subcommand)]
    command: Command,
}

/// `--without`, read once by `gpu()`.
static WITHOUT: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();

#[derive(Subcommand)]
enum Command {
    /// Train splats on a dataset (COLMAP or transforms.json, folder or zip).
    Train(train::TrainArgs),
    /// Render every camera of a transforms.json (or the demo view) to PNGs, in batches.
    Render(render::RenderArgs),
    /// Random view synthesis: render a trained scene at perturbed training poses (DFNet's RVS).
    Rvs(rvs::RvsArgs),
    /// Convert a scene between splat formats (.ply, .compressed.ply, .spz, .sog, .splat).
    Convert(convert::ConvertArgs),
    /// Benchmarks; results as a table and as JSON.
    Bench(bench::BenchArgs),
    /// Compare two profiles or two bench reports: per-pass table with speed-ups (Markdown, HTML).
    Compare(compare::CompareArgs),
}

fn main() -> anyhow::Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let cli = Cli::parse();
    WITHOUT.get_or_init(|| cli.without.clone());
    match cli.command {
        Command::Train(args) => train::run(args),
        Command::Render(args) => render::run(args),
        Command::Rvs(args) => rvs::run(args),
        Command::Convert(args) => convert::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Compare(args) => compare::run(args),
    }
}

fn without() -> &'static [String] {
    WITHOUT.get().map_or(&[][..], Vec::as_slice)
}

/// The GPU context, reported on stderr.
fn gpu() -> anyhow::Result<wgsplat::GpuContext> {
    let gpu = pollster::block_on(wgsplat::GpuContext::new())?.without(without())?;
    eprintln!("adapter: {}", gpu.report);
    Ok(gpu)
}

/// The most devices `--gpus` takes (train, bench allreduce).
const MAX_GPUS: usize = 16;

/// `count` GPU contexts for data-parallel training (see `GpuContext::several`), reported on
/// stderr; one is `gpu()`.
fn gpus(count: usize, share_adapter: bool) -> anyhow::Result<Vec<wgsplat::GpuContext>> {
    if count == 1 {
        return Ok(vec![gpu()?]);
    }
    let gpus = pollster::block_on(wgsplat::GpuContext::several(count, share_adapter))?
        .into_iter()
        .map(|g| g.without(without()))
        .collect::<Result<Vec<_>, _>>()?;
    for (rank, gpu) in gpus.iter().enumerate() {
        eprintln!("adapter {rank}: {}", gpu.report);
    }
    Ok(gpus)
}
