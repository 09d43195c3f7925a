//! `wgsplat render`: every camera of a transforms.json, in batches, to PNGs.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use wgsplat::dataset::{self, paths::resolve_image_path};
use wgsplat::profile::{Profiler, ProfilerOptions};
use wgsplat::render::{Renderer, View};
use wgsplat::scene::demo;

use super::images::PngWriter;

#[derive(Args)]
pub struct RenderArgs {
    /// The scene (.ply, .compressed.ply, .spz, .sog or .splat).
    #[arg(required_unless_present = "demo")]
    scene: Option<PathBuf>,
    /// nerfstudio / Blender transforms.json whose cameras to render.
    #[arg(long, required_unless_present = "demo")]
    cameras: Option<PathBuf>,
    /// Render the built-in demo scene from its default view instead.
    #[arg(long, conflicts_with_all = ["scene", "cameras"])]
    demo: bool,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
    /// Cameras per batch (one set of dispatches and one readback each); 0, the default, sizes
    /// it from the adapter's limits for the largest view (as `rvs` does).
    #[arg(long, default_value_t = 0)]
    batch: usize,
    /// Image size for cameras that do not state one (and for --demo): WIDTHxHEIGHT.
    #[arg(long)]
    size: Option<String>,
    #[arg(long, default_value_t = 800)]
    width: u32,
    #[arg(long, default_value_t = 600)]
    height: u32,
    /// Resolution scale applied to every camera.
    #[arg(long, default_value_t = 1.0)]
    scale: f32,
    /// Background colour as r,g,b in [0, 1].
    #[arg(long, default_value = "0,0,0")]
    background: String,
    /// Write a profile of the run here (Chrome Trace Event Format JSON, docs/profile-format.md).
    #[arg(long)]
    profile: Option<PathBuf>,
}

fn parse_background(text: &str) -> anyhow::Result<[f32; 3]> {
    let values: Vec<f32> = text
        .split(',')
        .map(|v| v.trim().parse::<f32>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("--background {text}: expected r,g,b"))?;
    match values[..] {
        [r, g, b] if values.iter().all(|v| v.is_finite()) => Ok([r, g, b]),
        _ => bail!("--background {text}: expected three finite numbers r,g,b"),
    }
}

fn parse_size(text: &str) -> anyhow::Result<(u32, u32)> {
    let (w, h) = text.split_once('x').with_context(|| format!("--size {text}: expected WIDTHxHEIGHT"))?;
    Ok((w.parse().with_context(|| format!("--size {text}"))?, h.parse().with_context(|| format!("--size {text}"))?))
}

/// The size of the first frame's image, for transforms files that do not state one.
fn first_image_size(json: &str, base_dir: &Path) -> Option<(u32, u32)> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    let file_path = value.get("frames")?.get(0)?.get("file_path")?.as_str()?;
    image::image_dimensions(resolve_image_path(base_dir, file_path)?).ok()
}

/// (output name, view) pairs to render.
fn views(args: &RenderArgs, background: [f32; 3]) -> anyhow::Result<Vec<(String, View)>> {
    if args.demo {
        let (width, height) = match &args.size {
            Some(s) => parse_size(s)?,
            None => (args.width, args.height),
        };
        let camera = demo::demo_camera(width, height);
        return Ok(vec![("demo".into(), View { camera, background })]);
    }
    let path = args.cameras.as_ref().context("--cameras is required")?;
    let json =
        wgsplat::files::read_text_limited(path, wgsplat::files::MAX_JSON_BYTES).with_context(|| format!("reading {}", path.display()))?;
    let base_dir = path.parent().unwrap_or(Path::new("."));
    let size = match &args.size {
        Some(s) => Some(parse_size(s)?),
        None => first_image_size(&json, base_dir),
    };
    let frames = dataset::read_transforms_cameras(&json, &path.display().to_string(), size)?;
    Ok(frames
        .into_iter()
        .map(|f| {
            let name = f.file_path.trim_start_matches("./").to_string();
            let name = Path::new(&name).with_extension("").to_string_lossy().into_owned();
            let camera = if args.scale == 1.0 { f.camera } else { f.camera.scaled(args.scale) };
            (name, View { camera, background })
        })
        .collect())
}

pub fn run(args: RenderArgs) -> anyhow::Result<()> {
    if !(args.scale > 0.0 && args.scale.is_finite()) {
        bail!("--scale must be a positive number");
    }
    let background = parse_background(&args.background)?;
    // Read and checked from its header now, decoded once the GPU's limits are known.
    let scene = match &args.scene {
        Some(path) if !args.demo => Some(super::scene_file::SceneFile::open(path)?),
        _ => None,
    };
    let views = views(&args, background)?;
    let names: Vec<String> = views.iter().map(|(name, _)| name.clone()).collect();
    let source = args.cameras.as_ref().map_or_else(|| "the demo view".to_string(), |p| p.display().to_string());
    let outputs = super::outputs::confined_outputs(&args.out, &names, &source)?;
    super::outputs::prepare_out_dir(&args.out)?;
    if let Some(path) = &args.profile {
        super::outputs::check_writable_file(path, "--profile")?;
    }
    let gpu = super::gpu()?;
    let splats = match &scene {
        Some(scene) => scene.decode_for(&gpu)?,
        None => demo::demo_scene(),
    };
    let mut renderer = Renderer::new(&gpu)?;
    let gpu_splats = renderer.upload(&gpu, &splats).context("uploading the scene")?;
    let batch = match args.batch {
        0 => {
            let largest =
                views.iter().map(|(_, v)| (v.camera.width, v.camera.height)).max_by_key(|&(w, h)| w as u64 * h as u64).unwrap_or((1, 1));
            wgsplat::rvs::batch::auto_batch_size(gpu.max_binding_bytes(), splats.len(), largest.0, largest.1)
        }
        n => n,
    };
    let profiler = match &args.profile {
        Some(_) => Profiler::new(&gpu, ProfilerOptions { label: "render".into(), ..Default::default() }),
        None => Profiler::disabled(),
    };
    gpu.attach_timer(profiler.gpu_timer());
    let mut outputs_bytes = 0u64;

    let progress = ProgressBar::new(views.len() as u64);
    progress.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} views {per_sec} eta {eta}").expect("valid template"));
    let writer = PngWriter::new();
    for (step, (batch, paths)) in views.chunks(batch).zip(outputs.chunks(batch)).enumerate() {
        let _step = profiler.begin_step(step as u64);
        let batch_views: Vec<View> = batch.iter().map(|(_, v)| *v).collect();
        let images = profiler.scope("render_images", || pollster::block_on(renderer.render_images(&gpu, &gpu_splats, &batch_views)))?;
        let queue_pngs = profiler.span("queue PNGs");
        for (path, image) in paths.iter().zip(images) {
            writer.write(path.clone(), image)?;
        }
        drop(queue_pngs);
        outputs_bytes = outputs_bytes.max(batch_views.iter().map(|v| v.camera.width as u64 * v.camera.height as u64 * 20).sum());
        profiler.observe_renderer(renderer.memory_bytes(), gpu_splats.memory_bytes(), gpu_splats.num_splats, outputs_bytes);
        profiler.collect(&gpu);
        progress.inc(batch.len() as u64);
    }
    profiler.scope("finish PNG writer", || writer.finish())?;
    progress.finish();
    if let Some(path) = &args.profile {
        let profile = profiler.finish(Some(&gpu));
        crate::outputs::replace_with(path, |tmp| Ok(profile.write(tmp)?))?;
        eprintln!("{}\nwrote the profile {}", profile.report_text(), path.display());
    }
    eprintln!("wrote {} images to {}", views.len(), args.out.display());
    Ok(())
}
