//! `wgsplat convert`: a scene from one splat format to another, formats by extension. The output
//! is never the input (by any spelling), and is written whole or not at all.

use anyhow::{Context, bail};
use clap::Args;
use std::path::{Path, PathBuf};
use std::time::Instant;
use wgsplat::scene::format::SplatFormat;

#[derive(Args)]
pub struct ConvertArgs {
    /// INPUT OUTPUT: the scene to read (.ply, .compressed.ply, .spz, .sog or .splat; the
    /// content decides) and the file to write (its extension picks the format unless --format
    /// is given). With --demo, only OUTPUT.
    #[arg(required = true, num_args = 1..=2, value_name = "INPUT OUTPUT")]
    paths: Vec<PathBuf>,
    /// Write the built-in demo scene (SH degree 3) instead of converting a file.
    #[arg(long)]
    demo: bool,
    /// The output format (ply, compressed.ply, spz, sog, splat), whatever the extension.
    #[arg(long)]
    format: Option<String>,
}

pub fn run(args: ConvertArgs) -> anyhow::Result<()> {
    let (input, output) = match (args.demo, &args.paths[..]) {
        (false, [input, output]) => (Some(input.clone()), output.clone()),
        (true, [output]) => (None, output.clone()),
        (false, _) => bail!("convert takes INPUT OUTPUT (or --demo OUTPUT)"),
        (true, _) => bail!("with --demo, convert takes only OUTPUT"),
    };
    let format = match &args.format {
        Some(name) => SplatFormat::named(name).map_err(|e| anyhow::anyhow!("--format {e}"))?,
        None => SplatFormat::for_file(&output.display().to_string())?,
    };
    let Some(input) = input else {
        let splats = wgsplat::scene::demo::demo_scene();
        let size = write(&output, &splats, format)?;
        eprintln!("wrote the demo scene ({} splats) to {} ({format}, {:.2} MB)", splats.len(), output.display(), size as f64 / 1e6);
        return Ok(());
    };
    // Any spelling of the input (a link to it, `../dir/x.ply`, a hard link) would be replaced by
    // its own conversion: refused before anything is read or written.
    let same = super::outputs::same_file(&input, &output).with_context(|| format!("reading {}", input.display()))?;
    if same {
        bail!("{} and {} are the same file: give another output file (the input is left as it is)", input.display(), output.display());
    }
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.enable_steady_tick(std::time::Duration::from_millis(100));
    spinner.set_message(format!("reading {}", input.display()));
    let start = Instant::now();
    let (splats, bytes, input_format) = super::scene_file::read_with_bytes(&input)?;
    let read_secs = start.elapsed().as_secs_f64();
    spinner.set_message(format!("writing {} splats as {format}", splats.len()));
    let start = Instant::now();
    let size = write(&output, &splats, format)?;
    let write_secs = start.elapsed().as_secs_f64();
    spinner.finish_and_clear();
    eprintln!(
        "{} ({input_format}, {} splats, SH degree {}, {:.2} MB, read in {read_secs:.2} s) -> {} ({format}, {:.2} MB, {}, written in {write_secs:.2} s)",
        input.display(),
        splats.len(),
        splats.sh_degree,
        bytes.len() as f64 / 1e6,
        output.display(),
        size as f64 / 1e6,
        size_change(bytes.len(), size),
    );
    Ok(())
}

/// Writes `splats` to `path` as `format` whole or not at all (see `outputs::replace_with`),
/// returning the file's size in bytes.
fn write(path: &Path, splats: &wgsplat::scene::Splats, format: SplatFormat) -> anyhow::Result<usize> {
    super::outputs::replace_with(path, |tmp| super::scene_file::write(tmp, splats, format))
}

/// "4.0x smaller" or "2.5x larger": the output's size against the input's.
fn size_change(input: usize, output: usize) -> String {
    if output <= input {
        format!("{:.1}x smaller", input as f64 / output.max(1) as f64)
    } else {
        format!("{:.1}x larger", output as f64 / input.max(1) as f64)
    }
}
