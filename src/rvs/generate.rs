//! The native RVS pipeline for one set: views found in the cache are copied out, the others are
//! rendered in batches (one readback each) and handed to the encoder pool, which encodes and
//! writes them while the GPU renders the next batch; fresh images go into the cache.

use std::path::Path;

use super::RvsError;
use super::batch::{batch_size, render_batch_reusing};
use super::cache::{RenderCache, view_key};
use super::encode::ImageFormat;
use super::export::{POSES_FILE, SetInfo, TRANSFORMS_FILE, image_path, poses_json, transforms_json};
use super::pool::{EncodeJob, EncodePool, Encoded, write_file};
use super::sampler::SampledView;
use crate::GpuContext;
use crate::render::{GpuSplats, Renderer};

#[derive(Debug, Clone, Copy)]
pub struct GenerateOptions {
    /// Cameras per batch; 0 sizes it from the adapter ([`batch_size`]).
    pub batch: usize,
    pub format: ImageFormat,
    pub background: [f32; 3],
    /// Encoder threads; 0 for [`super::pool::default_threads`].
    pub threads: usize,
    /// [`super::hash::hash_bytes`] of the scene file: part of every cache key.
    pub scene_hash: u128,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GenerateStats {
    /// Views rendered on the GPU and views copied from the cache.
    pub rendered: usize,
    pub from_cache: usize,
    /// Cameras per batch used, and batches rendered.
    pub batch: usize,
    pub batches: usize,
    /// Bytes of images written.
    pub image_bytes: u64,
}

/// Renders (or takes from `cache`) every view and writes its image under `out_dir` (at
/// [`image_path`]); `progress` is told how many views each step finished.
#[allow(clippy::too_many_arguments)]
pub fn generate_images(
    gpu: &GpuContext,
    renderer: &mut Renderer,
    splats: &GpuSplats,
    views: &[SampledView],
    out_dir: &Path,
    options: &GenerateOptions,
    mut cache: Option<&mut RenderCache>,
    mut progress: impl FnMut(usize),
) -> Result<GenerateStats, RvsError> {
    let mut stats = GenerateStats::default();
    let keys: Vec<u128> = views.iter().map(|v| view_key(options.scene_hash, &v.camera, options.background, options.format)).collect();
    let mut to_render = Vec::new();
    for (i, view) in views.iter().enumerate() {
        match cache.as_deref_mut().and_then(|c| c.get(keys[i])) {
            Some(bytes) => {
                write_file(&out_dir.join(image_path(view, options.format)), &bytes)?;
                stats.from_cache += 1;
                stats.image_bytes += bytes.len() as u64;
                progress(1);
            }
            None => to_render.push(i),
        }
    }
    // Sized for the largest view (COLMAP datasets may mix resolutions).
    let Some(largest) = to_render.iter().map(|&i| &views[i].camera).max_by_key(|c| c.width as u64 * c.height as u64) else {
        return Ok(stats);
    };
    stats.batch = batch_size(gpu, options.batch, splats.num_splats as usize, largest.width, largest.height);
    // Two batches may wait: the encoders always have work while the GPU renders.
    let mut pool = EncodePool::new(options.threads, options.format, 2 * stats.batch);
    let mut finished = |results: Vec<Result<Encoded, RvsError>>,
                        cache: &mut Option<&mut RenderCache>,
                        stats: &mut GenerateStats|
     -> Result<(), RvsError> {
        for result in results {
            let encoded = result?;
            if let (Some(cache), Some(bytes)) = (cache.as_deref_mut(), &encoded.bytes) {
                cache.put(keys[encoded.index], bytes)?;
            }
            stats.rendered += 1;
            stats.image_bytes += encoded.len as u64;
            progress(1);
        }
        Ok(())
    };
    let mut spare = Vec::new();
    for chunk in to_render.chunks(stats.batch) {
        let sampled: Vec<SampledView> = chunk.iter().map(|&i| views[i].clone()).collect();
        spare.append(&mut pool.take_spare());
        let images = pollster::block_on(render_batch_reusing(renderer, gpu, splats, &sampled, options.background, &mut spare))?;
        stats.batches += 1;
        for (&i, image) in chunk.iter().zip(images) {
            let path = out_dir.join(image_path(&views[i], options.format));
            pool.submit(EncodeJob { index: i, image, path: Some(path), return_bytes: cache.is_some() })?;
        }
        finished(pool.ready(), &mut cache, &mut stats)?;
    }
    finished(pool.finish(), &mut cache, &mut stats)?;
    Ok(stats)
}

/// Writes `transforms.json` and `rvs_poses.json` of a set into `out_dir`.
pub fn write_set_files(out_dir: &Path, views: &[SampledView], info: &SetInfo) -> Result<(), RvsError> {
    write_file(&out_dir.join(TRANSFORMS_FILE), transforms_json(views, info).as_bytes())?;
    write_file(&out_dir.join(POSES_FILE), poses_json(views, info).as_bytes())
}
