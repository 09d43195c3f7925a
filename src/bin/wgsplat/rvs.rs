//! `wgsplat rvs <scene.ply> <dataset>`: random view synthesis. Perturbs every training camera of
//! the dataset (DFNet's R, T, D), renders the trained scene at the new poses in batches, and
//! writes the images, a `transforms.json` in the input's convention and `rvs_poses.json`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use wgsplat::dataset::pool::MAX_WORKER_THREADS;
use wgsplat::dataset::source::open_path;
use wgsplat::dataset::{DatasetIndex, LoadOptions, load_dataset};
use wgsplat::render::Renderer;
use wgsplat::rvs::cache::{RenderCache, default_cache_dir};
use wgsplat::rvs::export::SetInfo;
use wgsplat::rvs::generate::{GenerateOptions, generate_images, write_set_files};
use wgsplat::rvs::sampler::{clamp_box, refresh_seed};
use wgsplat::rvs::{Convention, ImageFormat, RvsParams, hash, sample_views};
use wgsplat::scene::Splats;

use super::scene_file::SceneFile;

/// Sets (`--refreshes`) drawn at most in one run.
const MAX_REFRESHES: u64 = 1000;

#[derive(Args)]
pub struct RvsArgs {
    /// The trained scene (.ply, .compressed.ply, .spz, .sog or .splat).
    pub scene: PathBuf,
    /// The dataset whose training cameras to perturb: folder, .zip or its transforms.json
    /// (COLMAP or nerfstudio / NeRF-synthetic).
    pub dataset: PathBuf,
    /// Largest rotation about each world axis, degrees (uniform in [-R, R]).
    #[arg(long, default_value_t = 10.0)]
    pub rot: f32,
    /// Largest translation noise per axis, scene units (uniform in [-T, T]).
    #[arg(long, default_value_t = 0.2)]
    pub trans: f32,
    /// Positions are clamped to the training positions' box widened by this on each side.
    #[arg(long, default_value_t = 0.2)]
    pub dmax: f32,
    /// Views drawn per training camera.
    #[arg(long, default_value_t = 1)]
    pub per_view: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Resolution scale of the rendered views (and their intrinsics), in (0, 4].
    #[arg(long, default_value_t = 1.0)]
    pub scale: f32,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
    /// Sets to draw, each with its own seed (refresh 0 uses --seed); more than one go to
    /// <out>/refresh_000, <out>/refresh_001, ...
    #[arg(long, default_value_t = 1)]
    pub refreshes: u64,
    /// Cameras per render call (0: sized from the adapter's limits).
    #[arg(long, default_value_t = 0)]
    pub batch: usize,
    /// Image format: png or jpeg.
    #[arg(long, default_value = "png")]
    pub format: String,
    /// JPEG quality, 1..=100.
    #[arg(long, default_value_t = 90)]
    pub quality: u8,
    /// Background: white, black or r,g,b in [0, 1] (default: white for NeRF-synthetic, else black).
    #[arg(long)]
    pub background: Option<String>,
    /// Training cameras: the dataset's own split, else all but every n-th image (0: all images).
    #[arg(long, default_value_t = 8)]
    pub test_every: usize,
    /// Encoder threads (0: all cores but one).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Folder of the render cache (default: $XDG_CACHE_HOME/wgsplat/rvs or ~/.cache/wgsplat/rvs).
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Size bound of the render cache, MiB; the least recently used views go first.
    #[arg(long, default_value_t = 2048)]
    pub cache_max_mb: u64,
    /// Neither read nor write the render cache.
    #[arg(long)]
    pub no_cache: bool,
}

/// Everything checked before the GPU starts: parameters, scene (from its header: it is decoded
/// once the GPU's limits are known) and dataset.
pub struct Inputs {
    pub params: RvsParams,
    pub format: ImageFormat,
    pub scene_bytes_hash: u128,
    pub scene: SceneFile,
    pub index: DatasetIndex,
}

pub fn parse_background(text: &str) -> anyhow::Result<[f32; 3]> {
    match text.trim().to_ascii_lowercase().as_str() {
        "white" => return Ok([1.0; 3]),
        "black" => return Ok([0.0; 3]),
        _ => {}
    }
    let values: Vec<f32> = text
        .split(',')
        .map(|v| v.trim().parse::<f32>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("--background {text}: expected white, black or r,g,b"))?;
    match values[..] {
        [r, g, b] if values.iter().all(|v| v.is_finite()) => Ok([r, g, b]),
        _ => bail!("--background {text}: expected three finite numbers r,g,b"),
    }
}

/// Reads and checks a scene file, returning the splats and the hash of its bytes.
pub fn read_scene(path: &Path) -> anyhow::Result<(Splats, u128)> {
    let (scene, hash) = open_scene(path)?;
    let splats = scene.decode().with_context(|| format!("reading the scene {}", path.display()))?;
    Ok((splats, hash))
}

/// Reads a scene file and checks its header (not empty, and a count its size can hold),
/// returning it undecoded and the hash of its bytes.
fn open_scene(path: &Path) -> anyhow::Result<(SceneFile, u128)> {
    let scene = SceneFile::open(path).with_context(|| format!("reading the scene {}", path.display()))?;
    if scene.header().count == 0 {
        bail!("{}: the scene has no splats", path.display());
    }
    let hash = hash::hash_bytes(scene.bytes());
    Ok((scene, hash))
}

/// Reads the dataset's cameras (no images) at a resolution scale.
pub fn read_dataset(path: &Path, scale: f32, test_every: usize) -> anyhow::Result<DatasetIndex> {
    if !(scale.is_finite() && scale > 0.0 && scale <= 4.0) {
        bail!("--scale {scale}: must be in (0, 4]");
    }
    let source = open_path(path).with_context(|| format!("opening the dataset {}", path.display()))?;
    let options = LoadOptions { test_every, resolution_scale: scale, ..Default::default() };
    Ok(load_dataset(source.as_ref(), &path.display().to_string(), &options)?)
}

fn check_inputs(args: &RvsArgs) -> anyhow::Result<Inputs> {
    let params = RvsParams { rot_deg: args.rot, trans: args.trans, dmax: args.dmax, per_view: args.per_view, seed: args.seed };
    params.validate()?;
    let format = ImageFormat::parse(&args.format, args.quality)?;
    if !(1..=MAX_REFRESHES).contains(&args.refreshes) {
        bail!("--refreshes {}: must be 1 to {MAX_REFRESHES}", args.refreshes);
    }
    if args.threads > MAX_WORKER_THREADS {
        bail!("--threads {}: at most {MAX_WORKER_THREADS}", args.threads);
    }
    let (scene, scene_bytes_hash) = open_scene(&args.scene)?;
    let index = read_dataset(&args.dataset, args.scale, args.test_every)?;
    Ok(Inputs { params, format, scene_bytes_hash, scene, index })
}

pub fn run(args: RvsArgs) -> anyhow::Result<()> {
    let inputs = check_inputs(&args)?;
    let index = &inputs.index;
    let background = match &args.background {
        Some(text) => parse_background(text)?,
        None => wgsplat::train::init::default_background(index),
    };
    let mut cache = if args.no_cache {
        None
    } else {
        let dir = args.cache_dir.clone().unwrap_or_else(default_cache_dir);
        Some(
            RenderCache::open(&dir, args.cache_max_mb.saturating_mul(1 << 20))
                .with_context(|| format!("opening the render cache {}", dir.display()))?,
        )
    };
    let gpu = super::gpu()?;
    let splats = inputs.scene.decode_for(&gpu).with_context(|| format!("reading the scene {}", args.scene.display()))?;
    let mut renderer = Renderer::new(&gpu)?;
    let gpu_splats = renderer.upload(&gpu, &splats).context("uploading the scene")?;
    // Neither the file nor the splats are needed on the CPU while the views render.
    drop((splats, inputs.scene));
    let options = GenerateOptions {
        batch: args.batch,
        format: inputs.format,
        background,
        threads: args.threads,
        scene_hash: inputs.scene_bytes_hash,
    };

    let per_set = index.train.len() * inputs.params.per_view;
    let progress = ProgressBar::new(per_set as u64 * args.refreshes);
    progress.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} views {per_sec} eta {eta}").expect("valid template"));
    let (mut rendered, mut from_cache) = (0, 0);
    for refresh in 0..args.refreshes {
        let seed = refresh_seed(inputs.params.seed, refresh);
        let params = RvsParams { seed, ..inputs.params };
        let views = sample_views(&index.train, &params)?;
        let out = if args.refreshes == 1 { args.out.clone() } else { args.out.join(format!("refresh_{refresh:03}")) };
        let stats = generate_images(&gpu, &mut renderer, &gpu_splats, &views, &out, &options, cache.as_mut(), |n| progress.inc(n as u64))?;
        let info = SetInfo {
            params: inputs.params,
            refresh,
            refresh_seed: seed,
            input_format: index.format.clone(),
            convention: Convention::for_input(&index.format),
            format: inputs.format,
            scale: args.scale,
            background,
            clamp_box: clamp_box(&index.train, inputs.params.dmax as f64),
        };
        write_set_files(&out, &views, &info)?;
        rendered += stats.rendered;
        from_cache += stats.from_cache;
        // Not `progress.println`: that prints nothing when stderr is not a terminal.
        progress.suspend(|| {
            if stats.batch > 0 {
                eprintln!(
                    "{}: {} views ({} rendered, {} cameras per batch; {} from the cache)",
                    out.display(),
                    views.len(),
                    stats.rendered,
                    stats.batch,
                    stats.from_cache
                );
            } else {
                eprintln!("{}: {} views, all from the cache", out.display(), views.len());
            }
        });
    }
    progress.finish();
    if let Some(cache) = &cache {
        let s = cache.stats();
        eprintln!(
            "cache {}: {} entries, {:.1} MiB of {} MiB ({} hits, {} new, {} evicted)",
            cache.dir().display(),
            cache.len(),
            cache.total_bytes() as f64 / (1 << 20) as f64,
            args.cache_max_mb,
            s.hits,
            s.inserted,
            s.evicted
        );
    }
    eprintln!(
        "wrote {} views ({rendered} rendered, {from_cache} from the cache) to {}",
        per_set as u64 * args.refreshes,
        args.out.display()
    );
    Ok(())
}
