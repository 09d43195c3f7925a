//! `wgsplat compare a.json b.json`: per-metric before/after table of two profiles or two
//! benchmark reports, with speed-ups and noise marking; Markdown on stdout (or to a file) and
//! optionally HTML with a chart.

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use clap::Args;
use wgsplat::profile::compare::{compare, metrics_from_json};

#[derive(Args)]
pub struct CompareArgs {
    /// Before: a profile (`wgsplat render --profile`) or a `wgsplat bench` report.
    a: PathBuf,
    /// After: the same kind of file.
    b: PathBuf,
    /// Write the Markdown here instead of stdout.
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// Also write HTML with a speed-up chart here.
    #[arg(long)]
    html: Option<PathBuf>,
}

fn read(path: &Path) -> anyhow::Result<wgsplat::profile::compare::MetricSet> {
    let text =
        wgsplat::files::read_text_limited(path, wgsplat::files::MAX_JSON_BYTES).with_context(|| format!("reading {}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    metrics_from_json(&value).map_err(|e| anyhow!("{}: {e}", path.display()))
}

pub fn run(args: CompareArgs) -> anyhow::Result<()> {
    let comparison = compare(&args.a.display().to_string(), read(&args.a)?, &args.b.display().to_string(), read(&args.b)?);
    let markdown = comparison.markdown();
    match &args.markdown {
        Some(path) => {
            crate::outputs::write_replacing(path, markdown.as_bytes())?;
            eprintln!("wrote {}", path.display());
        }
        None => print!("{markdown}"),
    }
    if let Some(path) = &args.html {
        crate::outputs::write_replacing(path, comparison.html().as_bytes())?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
