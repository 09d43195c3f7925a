//! Random view synthesis in the page: views at randomly perturbed training poses, rendered from
//! the model being trained, in batches of C cameras (one readback each), encoded, and handed
//! out as one zip (images, `transforms.json`, `rvs_poses.json`), the set the CLI's `wgsplat rvs`
//! writes. The page drives it a batch per call (`rvs_begin`, `rvs_next_batch` until done,
//! `rvs_zip`) so that it can show progress and stay responsive between batches.

use wasm_bindgen::prelude::*;

use super::rvs_job::RvsJob;
use super::trainer::{Session, WebTrainer, busy};
use super::{js_error, options_from_js, to_js};
use crate::render::Renderer;
use crate::rvs::archive::{SetFiles, write_zip};
use crate::rvs::batch::{auto_batch_size, render_batch};
use crate::rvs::encode::encode_image;
use crate::rvs::export::{SetInfo, image_path, poses_json, transforms_json};
use crate::rvs::sampler::clamp_box;
use crate::rvs::{Convention, ImageFormat, RvsParams, sample_views};

/// The page's RVS options (DFNet's R, T, D and the rest); missing fields take defaults.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default)]
struct PageRvsOptions {
    rot: f32,
    trans: f32,
    dmax: f32,
    per_view: usize,
    seed: u64,
    /// "png" or "jpeg".
    format: String,
    quality: u8,
    /// Cameras per batch; 0 sizes it from the adapter's limits.
    batch: usize,
}

impl Default for PageRvsOptions {
    fn default() -> Self {
        let d = RvsParams::default();
        Self {
            rot: d.rot_deg,
            trans: d.trans,
            dmax: d.dmax,
            per_view: d.per_view,
            seed: d.seed,
            format: "png".into(),
            quality: 90,
            batch: 0,
        }
    }
}

#[derive(serde::Serialize)]
struct RvsProgress {
    done: usize,
    total: usize,
    batch: usize,
}

#[wasm_bindgen(js_class = Trainer)]
impl WebTrainer {
    /// Draws an RVS set around the training cameras (options: `{rot, trans, dmax, per_view,
    /// seed, format, quality, batch}`) and prepares to render it; resolves nothing yet. Returns
    /// `{done: 0, total, batch}`.
    pub fn rvs_begin(&self, options: JsValue) -> Result<JsValue, JsValue> {
        let options: PageRvsOptions = options_from_js(options, "RVS options")?;
        let params =
            RvsParams { rot_deg: options.rot, trans: options.trans, dmax: options.dmax, per_view: options.per_view, seed: options.seed };
        params.validate().map_err(|e| js_error(format!("RVS: {e}")))?;
        let format = ImageFormat::parse(&options.format, options.quality).map_err(|e| js_error(format!("RVS: {e}")))?;
        let mut session = self.session.try_borrow_mut().map_err(|_| busy())?;
        let Session { gpu, dataset, run, rvs } = &mut *session;
        let dataset = dataset.as_ref().ok_or_else(|| js_error("RVS: open a dataset first"))?;
        let run = run.as_ref().ok_or_else(|| js_error("RVS: train a model first"))?;
        let sources = &dataset.index.train;
        let views = sample_views(sources, &params).map_err(|e| js_error(format!("RVS: {e}")))?;
        let largest = views.iter().map(|v| v.camera.width as u64 * v.camera.height as u64).max().unwrap_or(1);
        let side = (largest as f64).sqrt().ceil() as u32;
        let batch = if options.batch > 0 {
            options.batch
        } else {
            auto_batch_size(gpu.max_binding_bytes(), run.session.status().splats as usize, side, side)
        };
        let info = SetInfo {
            params,
            refresh: 0,
            refresh_seed: params.seed,
            input_format: dataset.index.format.clone(),
            convention: Convention::for_input(&dataset.index.format),
            format,
            scale: 1.0,
            background: run.session.config().background,
            clamp_box: clamp_box(sources, params.dmax as f64),
        };
        let renderer = Renderer::new(gpu).map_err(|e| js_error(format!("RVS: {e}")))?;
        let total = views.len();
        *rvs = Some(RvsJob { views, info, batch, next: 0, renderer, images: Vec::new() });
        to_js(&RvsProgress { done: 0, total, batch })
    }

    /// Renders and encodes the next batch of the set; resolves to `{done, total, batch}`.
    #[allow(clippy::await_holding_refcell_ref)]
    pub fn rvs_next_batch(&self) -> js_sys::Promise {
        let session = self.session.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let mut session = session.try_borrow_mut().map_err(|_| busy())?;
            let Session { gpu, run, rvs, .. } = &mut *session;
            let run = run.as_ref().ok_or_else(|| js_error("RVS: no model"))?;
            let job = rvs.as_mut().ok_or_else(|| js_error("RVS: call rvs_begin first"))?;
            let end = (job.next + job.batch).min(job.views.len());
            let chunk = &job.views[job.next..end];
            let images = render_batch(&mut job.renderer, gpu, run.session.model().0, chunk, job.info.background)
                .await
                .map_err(|e| js_error(format!("RVS: {e}")))?;
            for (view, image) in chunk.iter().zip(&images) {
                let path = image_path(view, job.info.format);
                let bytes = encode_image(image, job.info.format, &path).map_err(|e| js_error(format!("RVS: {e}")))?;
                job.images.push((path, bytes));
            }
            job.next = end;
            to_js(&RvsProgress { done: job.next, total: job.views.len(), batch: job.batch })
        })
    }

    /// The finished set as a zip (under `rvs/`); the job ends.
    pub fn rvs_zip(&self) -> Result<Vec<u8>, JsValue> {
        let mut session = self.session.try_borrow_mut().map_err(|_| busy())?;
        let job = session.rvs.take().ok_or_else(|| js_error("RVS: call rvs_begin first"))?;
        if job.next < job.views.len() {
            let (done, total) = (job.next, job.views.len());
            session.rvs = Some(job);
            return Err(js_error(format!("RVS: only {done} of {total} views are rendered")));
        }
        let transforms = transforms_json(&job.views, &job.info);
        let poses = poses_json(&job.views, &job.info);
        write_zip(&SetFiles { transforms_json: &transforms, poses_json: &poses, images: &job.images }, "rvs/")
            .map_err(|e| js_error(format!("RVS: {e}")))
    }
}
