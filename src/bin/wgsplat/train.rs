//! `wgsplat train <dataset>`: decode the images on worker threads, train, evaluate on the test
//! split, write the splats, the evaluation JSON and checkpoints. Options and a resumed
//! checkpoint are checked before any GPU work; eval.json is written even when another output
//! fails (it records the failure).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use wgsplat::GpuContext;
use wgsplat::dataset::pool::MAX_WORKER_THREADS;
use wgsplat::dataset::source::open_path;
use wgsplat::dataset::{DatasetIndex, DecodePool, FileSource, FrameInfo, LoadOptions, load_dataset};
use wgsplat::scene::format::SplatFormat;
use wgsplat::scene::ply;
use wgsplat::train::checkpoint::{self, Checkpoint};
use wgsplat::train::config::{ResumeSettings, TrainSettings};
use wgsplat::train::images::{GpuImages, ImageFormat};
use wgsplat::train::session::{ProfileChoice, TrainSession};
use wgsplat::train::start::{self, ImageSource, LoadEvent, SkippedImage};
use wgsplat::train::trainer::{EvalResult, TrainError, TrainView};

#[derive(Clone, Copy, ValueEnum)]
enum Background {
    White,
    Black,
    Random,
}

#[derive(Args)]
pub struct TrainArgs {
    /// Dataset folder or .zip (COLMAP or nerfstudio/Blender transforms).
    #[arg(required_unless_present = "demo")]
    dataset: Option<PathBuf>,
    /// Train on the demo training set instead (the page's "Train on the demo scene": the demo
    /// scene rendered from 24 orbit cameras at 128 px, 3000 random initial points).
    #[arg(long, conflicts_with = "dataset")]
    demo: bool,
    /// Optimizer steps (each of --batch views); default 30000, with --resume the checkpoint's.
    #[arg(long)]
    steps: Option<u32>,
    /// Views per step (1 to 64); default 1, with --resume the checkpoint's.
    #[arg(long)]
    batch: Option<u32>,
    /// Evaluate on the test split every this many steps (0: only at the end).
    #[arg(long, default_value_t = 0)]
    eval_every: u32,
    /// Also evaluate at these steps (comma separated), e.g. 7000.
    #[arg(long, value_delimiter = ',')]
    eval_at: Vec<u32>,
    #[arg(long, default_value = "out")]
    out: PathBuf,
    /// Image decoding threads (default: all cores).
    #[arg(long)]
    workers: Option<usize>,
    /// Random seed [default: 0; with --resume, the checkpoint's, which it must be].
    #[arg(long)]
    seed: Option<u64>,
    /// Background for RGBA images (default: white for NeRF-synthetic, else black; with
    /// --resume, the checkpoint's, which it must be).
    #[arg(long, value_enum)]
    background: Option<Background>,
    /// The highest SH degree trained, 0 to 3 [default: 3; with --resume, the checkpoint's,
    /// which it must be].
    #[arg(long)]
    sh_degree: Option<u32>,
    /// Scale the images (and cameras) by this factor.
    #[arg(long, default_value_t = 1.0)]
    resolution_scale: f32,
    /// GPU memory the training images may take, MiB; images beyond it stay in host memory and
    /// stream to the GPU as steps use them (test images always do).
    #[arg(long, default_value_t = wgsplat::train::images::DEFAULT_GPU_IMAGE_BYTES >> 20)]
    image_memory: u64,
    /// Write a checkpoint every this many steps (0: never).
    #[arg(long, default_value_t = 2000)]
    checkpoint_every: u32,
    /// Continue from the checkpoint in <out>/checkpoint, on the dataset it was trained on.
    /// --steps, --max-splats, --refine-start/--refine-every and the options of this run
    /// (evaluations, checkpoints, exports, profile, images, devices) may differ from the
    /// checkpoint's; --batch, --sh-degree, --background and --seed must be its own.
    #[arg(long)]
    resume: bool,
    /// Test images: every n-th image when the dataset has no test split of its own.
    #[arg(long, default_value_t = 8)]
    test_every: usize,
    /// Only these test views (names ending like this, comma separated), e.g. the lego-25
    /// protocol's r_0,r_8,...
    #[arg(long, value_delimiter = ',')]
    test_views: Vec<String>,
    /// Density control from this many views on [default: 500, as 3DGS; with --resume, the
    /// checkpoint's] ...
    #[arg(long)]
    refine_start: Option<u32>,
    /// ... every this many views [default: 100].
    #[arg(long)]
    refine_every: Option<u32>,
    /// Random initial points when the dataset has none [default: 100000; not used by
    /// --resume].
    #[arg(long)]
    init_points: Option<usize>,
    /// Splat budget: density control stops growing the scene at this many splats, the
    /// candidates with the largest gradients first [default: 0, what the device can bind; with
    /// --resume, the checkpoint's].
    #[arg(long)]
    max_splats: Option<u32>,
    /// Write a profile of the run here (Chrome Trace Event Format JSON, docs/profile-format.md):
    /// GPU time of every pass of every step, CPU spans, memory, loss and splat count.
    #[arg(long)]
    profile: Option<PathBuf>,
    /// Also write the trained splats in these formats beside splats.ply (comma separated:
    /// compressed.ply, spz, sog, splat), e.g. for a web viewer.
    #[arg(long, value_delimiter = ',')]
    export: Vec<String>,
    /// Train on this many GPUs of this machine (1 to 16): a device on each (GPUs alike), each
    /// step's views shared among them and their gradients summed; --batch must be at least this.
    #[arg(long, default_value_t = 1)]
    gpus: usize,
    /// With --gpus: put every device on the one best GPU. No faster: for tests, and to measure
    /// what the exchange between devices costs on a machine with one GPU.
    #[arg(long)]
    share_gpu: bool,
}

#[derive(Serialize)]
struct EvalReport<'a> {
    dataset: String,
    adapter: &'a wgsplat::kernel::AdapterReport,
    batch: u32,
    steps: u32,
    /// Seconds of training, without evaluation and checkpoints.
    train_seconds: f64,
    steps_per_second: f64,
    views_per_second: f64,
    peak_gpu_bytes: u64,
    evaluations: &'a [EvalResult],
    /// Images left out because they could not be used, with the reason.
    skipped_images: &'a [SkippedImage],
    /// Training images beyond --image-memory, streamed from host memory.
    streamed_train_images: usize,
    /// How the training images are kept: RGB8 composited once over a fixed background, else
    /// RGBA8.
    train_image_format: String,
    /// GPU memory the training images take.
    train_image_gpu_bytes: u64,
    /// The trained splats in each `--export` format, and what the format's quantization
    /// costs: the test views rendered from the file as read back.
    exports: &'a [ExportReport],
    /// Outputs (splats.ply, an export, the profile) that could not be written, and why: the
    /// command fails after writing this file.
    failed_outputs: &'a [FailedOutput],
    /// The splat budget in force: `--max-splats` (also on `--resume`) within what the device
    /// holds.
    splat_budget: u32,
    /// Splats removed because they held infinite or NaN values (density control's guard, and
    /// before each checkpoint and the export): how many, first and last step.
    nonfinite_removed: wgsplat::train::trainer::NonFiniteLog,
    /// With --gpus N (N > 1): the devices and what summing their gradients cost.
    data_parallel: Option<DataParallelReport>,
}

/// `--gpus`: the devices, and what the gradient exchange cost per step (host milliseconds:
/// waiting for the devices' backward passes and downloads, then writing each device's
/// gradients to the others and submitting the sums).
#[derive(Serialize)]
struct DataParallelReport {
    adapters: Vec<String>,
    shared_gpu: bool,
    exchange: wgsplat::train::replicas::ExchangeReport,
    wait_ms_per_step: f64,
    host_ms_per_step: f64,
}

/// One `--export` file: its size, how long it took to write and read, and the test views
/// rendered from what it holds.
#[derive(Serialize)]
struct ExportReport {
    format: String,
    file: String,
    bytes: usize,
    encode_seconds: f64,
    decode_seconds: f64,
    /// None when the dataset has no test views.
    test: Option<EvalResult>,
}

/// Writes the trained splats in `format` beside splats.ply, reads the file back and evaluates
/// the test views on what it holds.
fn export(
    session: &mut TrainSession,
    splats: &wgsplat::scene::Splats,
    format: SplatFormat,
    out: &std::path::Path,
    test_views: &[TrainView],
    test_images: &mut GpuImages,
) -> anyhow::Result<ExportReport> {
    let path = export_path(out, format);
    let name = path.display().to_string();
    let start = Instant::now();
    let bytes = wgsplat::scene::format::write_splats(splats, format).with_context(|| format!("encoding {name}"))?;
    let encode_seconds = start.elapsed().as_secs_f64();
    super::outputs::write_replacing(&path, &bytes)?;
    let start = Instant::now();
    let decoded = wgsplat::scene::format::read_as(format, &bytes, &name).with_context(|| format!("reading back {name}"))?;
    let decode_seconds = start.elapsed().as_secs_f64();
    let test = if test_views.is_empty() {
        None
    } else {
        let gpu = session.gpu().clone();
        let scene = wgsplat::render::GpuSplats::upload(&gpu, &decoded).with_context(|| format!("uploading {name}"))?;
        Some(pollster::block_on(session.evaluate_scene(&scene, test_views, test_images)).with_context(|| format!("evaluating {name}"))?)
    };
    Ok(ExportReport { format: format.name().to_string(), file: name, bytes: bytes.len(), encode_seconds, decode_seconds, test })
}

/// Decodes `frames` into one `GpuImages` on each device of `gpus`, showing progress as `label`
/// and warning of each image left out (recorded in `skipped`).
fn load_images(
    gpus: &[GpuContext],
    from: &ImageSource,
    frames: &[FrameInfo],
    label: &str,
    format: ImageFormat,
    gpu_budget: u64,
    skipped: &mut Vec<SkippedImage>,
) -> anyhow::Result<Vec<GpuImages>> {
    let progress = ProgressBar::new(frames.len() as u64);
    progress.set_style(
        ProgressStyle::with_template(&format!("{label} {{bar:40}} {{pos}}/{{len}} images {{per_sec}}")).expect("valid template"),
    );
    let images = start::load_frames(gpus, from, frames, format, gpu_budget, skipped, &mut |event| match event {
        // Not `progress.println`: that prints nothing when stderr is not a terminal.
        LoadEvent::Skipped(s) => progress.suspend(|| eprintln!("warning: skipping {}: {}", s.image, s.problem)),
        LoadEvent::Done => progress.inc(1),
    })?;
    progress.finish_and_clear();
    Ok(images)
}

/// A dataset on disk, read: its cameras and splits (`--test-views` applied), no image decoded
/// yet, so that it can be checked (against a checkpoint) before any GPU work.
struct OpenDataset {
    name: String,
    source: Arc<dyn FileSource>,
    index: DatasetIndex,
}

fn open_dataset(path: &std::path::Path, args: &TrainArgs) -> anyhow::Result<OpenDataset> {
    let source = open_path(path)?;
    let name = path.display().to_string();
    let options = LoadOptions { test_every: args.test_every, resolution_scale: args.resolution_scale, ..Default::default() };
    let mut index = load_dataset(source.as_ref(), &name, &options)?;
    if !args.test_views.is_empty() {
        let matches = |name: &str, t: &str| name.ends_with(&format!("/{t}")) || name == t;
        if let Some(missing) = args.test_views.iter().find(|t| !index.test.iter().any(|f| matches(&f.name, t))) {
            bail!("--test-views: {missing} is none of the {} test views of {name}", index.test.len());
        }
        index.test.retain(|f| args.test_views.iter().any(|t| matches(&f.name, t)));
    }
    eprintln!("{name}: {} ({} train, {} test views, extent {:.2})", index.format, index.train.len(), index.test.len(), index.scene_extent);
    Ok(OpenDataset { name, source, index })
}

/// Decodes a dataset's images on a pool of threads, the training images in `train_format`
/// (composited when the run's background is fixed). The training images go to every device of
/// `gpus` (one `GpuImages` each, in order), the test images to the first.
fn load(
    gpus: &[GpuContext],
    dataset: &OpenDataset,
    args: &TrainArgs,
    train_format: ImageFormat,
) -> anyhow::Result<(Vec<GpuImages>, GpuImages, Vec<SkippedImage>)> {
    let OpenDataset { name, source, index } = dataset;
    let pool = DecodePool::new(args.workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(4, |n| n.get())));
    let decode_start = Instant::now();
    let mut skipped = Vec::new();
    let budget = args.image_memory.saturating_mul(1 << 20);
    let size_note = index.size_note();
    let from = ImageSource { pool: &pool, source, size_note: &size_note };
    let train_images = load_images(gpus, &from, &index.train, "decoding train", train_format, budget, &mut skipped)
        .with_context(|| format!("{name}: training images"))?;
    let lead_images = &train_images[0];
    if lead_images.streamed_count() > 0 {
        eprintln!(
            "{} of {} training images stay in host memory ({:.0} MiB) and stream to the GPU: they exceed --image-memory {} MiB",
            lead_images.streamed_count(),
            index.train.len(),
            lead_images.host_bytes() as f64 / (1 << 20) as f64,
            args.image_memory
        );
    }
    if !lead_images.loaded.iter().any(|l| *l) {
        let shown: Vec<String> = skipped.iter().take(10).map(|s| format!("  {}: {}", s.image, s.problem)).collect();
        let more = if skipped.len() > shown.len() { format!("\n  ... and {} more", skipped.len() - shown.len()) } else { String::new() };
        bail!("none of the {} training images of {name} can be used:\n{}{more}", index.train.len(), shown.join("\n"));
    }
    // Test images stay in host memory: an evaluation is rare, and writing its images to the GPU
    // then costs milliseconds, where keeping them there would cost their GPU memory all run.
    let test_images = load_images(&gpus[..1], &from, &index.test, "decoding test ", ImageFormat::Rgba8, 0, &mut skipped)
        .with_context(|| format!("{name}: test images"))?
        .remove(0);
    eprintln!(
        "decoded {} images in {:.1} s on {} threads",
        index.train.len() + index.test.len(),
        decode_start.elapsed().as_secs_f64(),
        pool.workers()
    );
    Ok((train_images, test_images, skipped))
}

/// Checks the checkpoint against the dataset (`name`, `index`) and this run's options, applies
/// those it can take, and says on stderr what came from the checkpoint and what changed.
fn prepare_resume(saved: &mut Checkpoint, index: &DatasetIndex, name: &str, args: &TrainArgs, dir: &std::path::Path) -> anyhow::Result<()> {
    let report = saved
        .prepare_resume(index, &args.resume_settings())
        .with_context(|| format!("--resume: the checkpoint in {} cannot continue on {name}", dir.display()))?;
    match &report.dataset {
        Some(dataset) => eprintln!("--resume: {name} is the dataset of the checkpoint in {} ({})", dir.display(), dataset.describe()),
        None => eprintln!(
            "warning: the checkpoint in {} records no dataset (an older wgsplat wrote it): could not check that it was trained on {name}",
            dir.display()
        ),
    }
    eprintln!("--resume: from the checkpoint: {}", report.taken.join(", "));
    if !report.changed.is_empty() {
        eprintln!("--resume: changed: {}", report.changed.join(", "));
    }
    Ok(())
}

impl Background {
    fn name(self) -> &'static str {
        match self {
            Background::White => "white",
            Background::Black => "black",
            Background::Random => "random",
        }
    }
}

impl TrainArgs {
    /// The run's settings, checked (with the dataset) by `TrainSettings::config`, as in the page;
    /// options not given take `TrainSettings`'s defaults.
    fn settings(&self) -> TrainSettings {
        let d = TrainSettings::default();
        TrainSettings {
            steps: self.steps.unwrap_or(d.steps),
            batch: self.batch.unwrap_or(d.batch),
            seed: self.seed.unwrap_or(d.seed),
            max_sh_degree: self.sh_degree.unwrap_or(d.max_sh_degree),
            background: self.background.map(|b| b.name().to_string()),
            init_points: self.init_points.unwrap_or(d.init_points),
            refine_start: self.refine_start.unwrap_or(d.refine_start),
            refine_every: self.refine_every.unwrap_or(d.refine_every),
            eval_every: self.eval_every,
            eval_at: self.eval_at.clone(),
            checkpoint_every: self.checkpoint_every,
            max_splats: self.max_splats.unwrap_or(d.max_splats),
            ..d
        }
    }

    /// What `--resume` is given besides the checkpoint: only the options on the command line,
    /// so that the checkpoint's settings hold where none is given.
    fn resume_settings(&self) -> ResumeSettings {
        ResumeSettings {
            steps: self.steps,
            max_splats: self.max_splats,
            refine_start: self.refine_start,
            refine_every: self.refine_every,
            batch: self.batch,
            max_sh_degree: self.sh_degree,
            background: self.background.map(|b| b.name().to_string()),
            seed: self.seed,
            init_points: self.init_points,
        }
    }
}

/// The formats `--export` names, besides the standard PLY that is always written.
fn export_formats(names: &[String]) -> anyhow::Result<Vec<SplatFormat>> {
    let mut formats = Vec::new();
    for name in names {
        let format = SplatFormat::named(name).map_err(|e| anyhow::anyhow!("--export {e}"))?;
        if format != SplatFormat::Ply && !formats.contains(&format) {
            formats.push(format);
        }
    }
    Ok(formats)
}

pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    let settings = args.settings();
    check_args(&args, &settings)?;
    // Checked before training, so a misspelt format does not cost the run.
    let exports = export_formats(&args.export)?;
    // Outputs first: a run must not train for an hour and then find it cannot write.
    super::outputs::prepare_out_dir(&args.out)?;
    if let Some(path) = &args.profile {
        super::outputs::check_writable_file(path, "--profile")?;
    }
    let checkpoint_dir = args.out.join("checkpoint");
    let mut saved = read_checkpoint(&args, &checkpoint_dir)?;
    // A dataset on disk is read (cameras, no image) before any GPU work, and a checkpoint
    // checked against it: another dataset, or an option the checkpoint cannot take, costs nothing.
    let opened = match &args.dataset {
        Some(path) if !args.demo => Some(open_dataset(path, &args)?),
        _ => None,
    };
    if let (Some(saved), Some(dataset)) = (saved.as_mut(), &opened) {
        prepare_resume(saved, &dataset.index, &dataset.name, &args, &checkpoint_dir)?;
    }
    let gpus = super::gpus(args.gpus, args.share_gpu)?;
    let (name, index, train_images, mut test_images, skipped) =
        load_run_images(&gpus, opened, &mut saved, &settings, &args, &checkpoint_dir)?;
    let profile = ProfileChoice { enabled: args.profile.is_some(), label: "train".into() };
    let mut session = pollster::block_on(start::start_on_devices(&gpus, &settings, &index, saved, train_images, profile))?;
    if args.resume {
        eprintln!("resumed at step {} from {}", session.step(), checkpoint_dir.display());
    }
    let test_views = TrainView::of_frames(&index.test);
    train_loop(&mut session, &args, &test_views, &mut test_images, &checkpoint_dir)?;
    let splats = pollster::block_on(session.export())?;
    let nonfinite = session.status().nonfinite;
    if let (Some(first), Some(last)) = (nonfinite.first_step, nonfinite.last_step) {
        eprintln!(
            "removed {} splats that held infinite or NaN values (found between steps {first} and {last}); the model holds {}",
            nonfinite.removed,
            splats.len()
        );
    }
    // Outputs that fail are recorded in eval.json, which is written whatever happens to them;
    // the command fails afterwards.
    let mut failed = Vec::new();
    let export_reports = write_models(&mut session, &splats, &exports, &args.out, &test_views, &mut test_images, &mut failed);
    if let Some(path) = &args.profile {
        let profile = session.finish_profile();
        match write_profile(&profile, path) {
            Ok(()) => eprintln!("{}\nwrote the profile {}", profile.report_text(), path.display()),
            Err(e) => failed.push(FailedOutput::new(path, &e)),
        }
    }
    let report = eval_report(&session, name, &gpus, &args, &skipped, &export_reports, &failed);
    if let Some(dp) = &report.data_parallel {
        eprintln!(
            "{} devices: the gradient exchange ({:.1} MB a device a step) waited {:.2} ms a step for the devices and took {:.2} ms a step on the host",
            dp.exchange.devices,
            dp.exchange.bytes_per_step as f64 / 1e6,
            dp.wait_ms_per_step,
            dp.host_ms_per_step
        );
    }
    let eval_path = args.out.join("eval.json");
    super::outputs::write_replacing(&eval_path, serde_json::to_string_pretty(&report)?.as_bytes())?;
    if !failed.is_empty() {
        let lines: Vec<String> = failed.iter().map(|f| format!("  {}: {}", f.file, f.problem)).collect();
        bail!("{} of the run's outputs could not be written ({} records it):\n{}", failed.len(), eval_path.display(), lines.join("\n"));
    }
    let ply_path = args.out.join("splats.ply");
    eprintln!(
        "wrote {} ({} splats) and {} after {:.1} s of training ({:.1} steps/s)",
        ply_path.display(),
        splats.len(),
        eval_path.display(),
        report.train_seconds,
        report.steps_per_second
    );
    Ok(())
}

/// The checks of the options that need no dataset, before anything is read.
fn check_args(args: &TrainArgs, settings: &TrainSettings) -> anyhow::Result<()> {
    settings.check()?;
    if let Some(workers) = args.workers.filter(|w| !(1..=MAX_WORKER_THREADS).contains(w)) {
        bail!("--workers {workers}: must be 1 to {MAX_WORKER_THREADS}");
    }
    if !(1..=crate::MAX_GPUS).contains(&args.gpus) {
        bail!("--gpus {}: must be 1 to {}", args.gpus, crate::MAX_GPUS);
    }
    if args.share_gpu && args.gpus == 1 {
        bail!("--share-gpu: only with --gpus 2 or more");
    }
    if !args.resume && (settings.batch as usize) < args.gpus {
        bail!(
            "--gpus {}: each GPU renders at least one view a step, so --batch must be at least {} (it is {})",
            args.gpus,
            args.gpus,
            settings.batch
        );
    }
    if let Some(past) = args.eval_at.iter().find(|&&at| args.steps.is_some_and(|steps| at > steps) || at == 0) {
        bail!("--eval-at {past}: not a step of this run (1 to {})", settings.steps);
    }
    Ok(())
}

/// With --resume, the checkpoint in `dir`, checked against --gpus.
fn read_checkpoint(args: &TrainArgs, dir: &Path) -> anyhow::Result<Option<Checkpoint>> {
    let saved = if args.resume { Some(checkpoint::read(dir)?) } else { None };
    if let Some(batch) = saved.as_ref().map(|s| s.meta.config.batch).filter(|&b| (b as usize) < args.gpus) {
        bail!(
            "--gpus {}: each GPU renders at least one view a step, but the checkpoint in {} trains {batch} views a step",
            args.gpus,
            dir.display()
        );
    }
    Ok(saved)
}

/// What a run trains and evaluates on: the dataset's name and index, each device's training
/// images, the test images and the images left out.
type RunImages = (String, DatasetIndex, Vec<GpuImages>, GpuImages, Vec<SkippedImage>);

/// The images of the opened dataset, or of the demo set (whose checkpoint is checked now: its
/// cameras come with its images, from the GPU).
fn load_run_images(
    gpus: &[GpuContext],
    opened: Option<OpenDataset>,
    saved: &mut Option<Checkpoint>,
    settings: &TrainSettings,
    args: &TrainArgs,
    checkpoint_dir: &Path,
) -> anyhow::Result<RunImages> {
    Ok(match opened {
        Some(dataset) => {
            // Training images are composited once as they load when every step uses the same
            // background.
            let config = match saved {
                Some(saved) => saved.meta.config.clone(),
                None => settings.config(&dataset.index)?,
            };
            let (train, test, skipped) = load(gpus, &dataset, args, ImageFormat::for_training(&config))?;
            (dataset.name, dataset.index, train, test, skipped)
        }
        None => {
            let (index, train, test) = pollster::block_on(start::demo_on_devices(gpus))?;
            if let Some(saved) = saved.as_mut() {
                prepare_resume(saved, &index, "the demo scene", args, checkpoint_dir)?;
            }
            ("demo scene".to_string(), index, train, test, Vec::new())
        }
    })
}

/// Trains to the end, with a progress bar, evaluating and saving checkpoints when due.
fn train_loop(
    session: &mut TrainSession,
    args: &TrainArgs,
    test_views: &[TrainView],
    test_images: &mut GpuImages,
    checkpoint_dir: &Path,
) -> anyhow::Result<()> {
    let progress = ProgressBar::new(session.steps() as u64);
    progress.set_position(session.step() as u64);
    progress.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} steps {per_sec} eta {eta} {msg}").expect("valid template"));
    // The step of the checkpoint on disk, for the message should the device be lost.
    let mut saved_step = args.resume.then(|| session.step());
    loop {
        let due = match pollster::block_on(session.train_step()) {
            Ok(due) => due,
            Err(e @ TrainError::DeviceLost { .. }) => {
                progress.abandon();
                let kept = match saved_step {
                    Some(step) => format!(
                        "the last checkpoint, of step {step}, is intact in {}: run the same command with --resume to go on from it",
                        checkpoint_dir.display()
                    ),
                    None => "no checkpoint was written yet (--checkpoint-every sets how often one is)".to_string(),
                };
                bail!("{e}: the steps since the last checkpoint are lost; {kept}");
            }
            Err(e) => return Err(e.into()),
        };
        let step = session.step();
        progress.set_position(step as u64);
        if step.is_multiple_of(10) {
            let (loss, psnr) = session.last_metrics().map_or((f64::NAN, f64::NAN), |m| (m.loss, m.psnr));
            progress.set_message(format!("loss {loss:.4} psnr {psnr:.2} splats {}", session.status().splats));
        }
        if due.evaluate && !test_views.is_empty() {
            let result = pollster::block_on(session.evaluate(test_views, test_images))?;
            progress.suspend(|| {
                eprintln!(
                    "step {step}: test PSNR {:.2} SSIM {:.4} over {} views, {} splats, {:.1} s of training",
                    result.psnr,
                    result.ssim,
                    result.views,
                    result.splats,
                    session.train_seconds()
                )
            });
        }
        if due.checkpoint && args.checkpoint_every > 0 {
            let saved = pollster::block_on(session.checkpoint())?;
            checkpoint::write(checkpoint_dir, &saved)?;
            saved_step = Some(saved.meta.step);
        }
        if due.finished {
            break;
        }
    }
    pollster::block_on(session.pause())?;
    progress.finish();
    Ok(())
}

/// eval.json's contents for the finished run.
fn eval_report<'a>(
    session: &'a TrainSession,
    dataset: String,
    gpus: &'a [GpuContext],
    args: &TrainArgs,
    skipped: &'a [SkippedImage],
    exports: &'a [ExportReport],
    failed: &'a [FailedOutput],
) -> EvalReport<'a> {
    let status = session.status();
    let secs = session.train_seconds();
    // Steps of this process (a resumed run started at the checkpoint's step).
    let steps_here = session.steps_trained() as f64;
    EvalReport {
        dataset,
        adapter: &gpus[0].report,
        batch: status.batch,
        steps: status.steps,
        train_seconds: secs,
        steps_per_second: steps_here / secs,
        views_per_second: steps_here * status.batch as f64 / secs,
        peak_gpu_bytes: session.peak_gpu_bytes(),
        evaluations: &session.evaluations,
        skipped_images: skipped,
        streamed_train_images: status.images_streamed,
        train_image_format: status.image_format,
        train_image_gpu_bytes: status.image_gpu_bytes,
        exports,
        failed_outputs: failed,
        splat_budget: status.splat_budget,
        nonfinite_removed: status.nonfinite,
        data_parallel: status.exchange.map(|exchange| {
            let steps = exchange.steps.max(1) as f64;
            DataParallelReport {
                adapters: gpus.iter().map(|g| g.report.to_string()).collect(),
                shared_gpu: args.share_gpu,
                wait_ms_per_step: exchange.wait_ms / steps,
                host_ms_per_step: exchange.host_ms / steps,
                exchange,
            }
        }),
    }
}

/// An output of the run that could not be written, and why (in eval.json).
#[derive(Serialize)]
struct FailedOutput {
    file: String,
    problem: String,
}

impl FailedOutput {
    fn new(path: &std::path::Path, error: &anyhow::Error) -> Self {
        Self { file: path.display().to_string(), problem: format!("{error:#}") }
    }
}

/// Writes the trained splats to `out`/splats.ply and in each `--export` format (see `export`),
/// returning the exports' reports. An output that fails is recorded in `failed` and the others
/// are still written.
#[allow(clippy::too_many_arguments)]
fn write_models(
    session: &mut TrainSession,
    splats: &wgsplat::scene::Splats,
    formats: &[SplatFormat],
    out: &std::path::Path,
    test_views: &[TrainView],
    test_images: &mut GpuImages,
    failed: &mut Vec<FailedOutput>,
) -> Vec<ExportReport> {
    let ply_path = out.join("splats.ply");
    // As checkpoints are: a model with NaNs (a degenerate camera, a diverged run) is not written
    // as if it were a result, in any format.
    if let Err(e) = splats.validate() {
        let e = anyhow::Error::new(e).context("the trained model is not valid, so it is not written (nor any --export)");
        failed.push(FailedOutput::new(&ply_path, &e));
        return Vec::new();
    }
    if let Err(e) = super::outputs::write_replacing(&ply_path, &ply::write_ply(splats)) {
        failed.push(FailedOutput::new(&ply_path, &e));
    }
    let mut reports = Vec::new();
    for format in formats {
        match export(session, splats, *format, out, test_views, test_images) {
            Ok(report) => {
                eprintln!(
                    "wrote {} ({:.2} MB, encoded in {:.2} s, read in {:.2} s){}",
                    report.file,
                    report.bytes as f64 / 1e6,
                    report.encode_seconds,
                    report.decode_seconds,
                    report
                        .test
                        .as_ref()
                        .map_or(String::new(), |t| format!(": test PSNR {:.2} SSIM {:.4} when rendered from it", t.psnr, t.ssim))
                );
                reports.push(report);
            }
            Err(e) => failed.push(FailedOutput::new(&export_path(out, *format), &e)),
        }
    }
    reports
}

/// Where `--export` writes `format`: beside splats.ply.
fn export_path(out: &std::path::Path, format: SplatFormat) -> std::path::PathBuf {
    out.join(format!("splats{}", format.extension()))
}

/// Writes the profile JSON (docs/profile-format.md) whole or not at all.
fn write_profile(profile: &wgsplat::profile::Profile, path: &std::path::Path) -> anyhow::Result<()> {
    let json = serde_json::to_vec(&profile.to_json()).with_context(|| format!("encoding the profile {}", path.display()))?;
    super::outputs::write_replacing(path, &json)
}
