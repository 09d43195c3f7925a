//! The page's trainer (`Trainer` in JS): the same training driver as the native CLI
//! ([`crate::train::session::TrainSession`], settings checked by the same
//! `TrainSettings::config`), driven in short slices (`run(budget_ms)`) so that the page stays
//! responsive: a slice submits steps until its time budget is spent or an evaluation or
//! checkpoint is due, and every wait for the GPU (keeping at most a few steps in flight, density
//! control, readbacks) yields to the browser instead of blocking. Metrics arrive a few steps
//! late, like natively.
//!
//! Every method fails with a JS `Error` (never a panic). While a slice or another asynchronous
//! call runs, the other methods report "busy": the page serializes its calls.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use wasm_bindgen::prelude::*;

use super::dataset::PageDataset;
use super::{js_error, now_ms, options_from_js, to_js};
use crate::GpuContext;
use crate::camera::Orbit;
use crate::dataset::LoadOptions;
use crate::render::GpuSplats;
use crate::train::checkpoint::{CheckpointFiles, decode, encode};
use crate::train::config::ResumeSettings;
use crate::train::config::TrainSettings;
use crate::train::demo_views;
use crate::train::session::{ProfileChoice, RunSchedule, TrainSession};
use crate::train::trainer::{TrainError, TrainView};

/// How the page opens a dataset.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default)]
struct PageLoadOptions {
    resolution_scale: f32,
    test_every: usize,
    /// GPU memory the training images may take, MiB (beyond it they stream from the page's
    /// memory); default `DEFAULT_GPU_IMAGE_BYTES`.
    gpu_image_mib: Option<u64>,
}

impl Default for PageLoadOptions {
    fn default() -> Self {
        let d = LoadOptions::default();
        Self { resolution_scale: d.resolution_scale, test_every: d.test_every, gpu_image_mib: None }
    }
}

/// What `status()` reports to the dashboard.
#[derive(Debug, Clone, serde::Serialize)]
struct Status {
    dataset: Option<String>,
    images_total: usize,
    images_loaded: usize,
    images_failed: usize,
    /// Training images held in the page's memory and streamed to the GPU (beyond its budget).
    images_streamed: usize,
    training: bool,
    step: u32,
    steps: u32,
    splats: u32,
    steps_per_second: f64,
    views_per_second: f64,
    /// Time spent inside `run` slices, seconds.
    busy_seconds: f64,
    /// Seconds of training by the session's clock (without evaluations, checkpoints and
    /// pauses; the time between slices counts), as the CLI reports it.
    train_seconds: f64,
    /// The most GPU memory the run has counted, bytes.
    peak_gpu_bytes: u64,
    longest_slice_ms: f64,
    memory: crate::train::trainer::TrainMemory,
    last_refine: Option<crate::train::strategy::densify::RefineReport>,
    /// Splats removed because they held infinite or NaN values.
    nonfinite_removed: crate::train::trainer::NonFiniteLog,
    gpu_timestamps: bool,
}

/// One `run` slice's result: a slice ends early when an evaluation or a checkpoint is due
/// (the page then runs it).
#[derive(Debug, Clone, serde::Serialize)]
struct SliceReport {
    steps_done: u32,
    step: u32,
    finished: bool,
    evaluate_due: bool,
    checkpoint_due: bool,
}

/// Steps/s is measured over about this much wall time.
const SPEED_WINDOW_MS: f64 = 5000.0;

pub(crate) struct Run {
    pub session: TrainSession,
    /// (time ms, step) at the end of recent slices, for steps/s over the last seconds.
    clock: VecDeque<(f64, u32)>,
    busy_ms: f64,
    longest_slice_ms: f64,
    /// The last step whose GPU times the page has taken.
    gpu_taken: Option<u64>,
    framing: Orbit,
}

pub(crate) struct Session {
    pub gpu: GpuContext,
    pub dataset: Option<PageDataset>,
    pub run: Option<Run>,
    /// An RVS set being made (see rvs.rs).
    pub rvs: Option<super::rvs_job::RvsJob>,
}

/// The page's trainer; see the module docs.
#[wasm_bindgen(js_name = Trainer)]
pub struct WebTrainer {
    pub(crate) session: Rc<RefCell<Session>>,
}

type Busy<T> = Result<T, JsValue>;

pub(crate) fn busy() -> JsValue {
    js_error("the trainer is busy (another call is in progress)")
}

/// The dataset's load options and the GPU memory its training images may take (bytes).
fn load_options(options: JsValue) -> Busy<(LoadOptions, u64)> {
    let page: PageLoadOptions = options_from_js(options, "load options")?;
    let gpu_image_bytes = page.gpu_image_mib.map_or(crate::train::images::DEFAULT_GPU_IMAGE_BYTES, |mib| mib.saturating_mul(1 << 20));
    Ok((LoadOptions { resolution_scale: page.resolution_scale, test_every: page.test_every, ..LoadOptions::default() }, gpu_image_bytes))
}

impl WebTrainer {
    /// A trainer on `gpu` (JS makes one with `Trainer.for_viewer`, in viewer.rs: the viewer shows
    /// its model live).
    pub(crate) fn on_gpu(gpu: GpuContext) -> WebTrainer {
        WebTrainer { session: Rc::new(RefCell::new(Session { gpu, dataset: None, run: None, rvs: None })) }
    }
}

#[wasm_bindgen(js_class = Trainer)]
impl WebTrainer {
    /// Opens a dataset from files the page collected: `paths[i]` (relative, `/`-separated) with
    /// `contents[i]` (a `Uint8Array`): full bytes for JSON and COLMAP files, at least the first
    /// 256 KiB for images (their header). Returns the dataset summary with the frames to decode.
    pub fn open_files(&self, name: &str, paths: Vec<String>, contents: js_sys::Array, options: JsValue) -> Busy<JsValue> {
        if paths.len() != contents.length() as usize {
            return Err(js_error(format!("{name}: {} paths but {} contents", paths.len(), contents.length())));
        }
        let files: Vec<(String, Vec<u8>)> =
            paths.into_iter().zip(contents.iter()).map(|(p, c)| (p, js_sys::Uint8Array::new(&c).to_vec())).collect();
        let (options, gpu_image_bytes) = load_options(options)?;
        let mut session = self.session.try_borrow_mut().map_err(|_| busy())?;
        session.run = None;
        session.rvs = None;
        session.dataset = None;
        let dataset = PageDataset::from_page_files(&session.gpu, name, files, &options, gpu_image_bytes).map_err(js_error)?;
        let summary = to_js(&dataset.summary())?;
        session.dataset = Some(dataset);
        Ok(summary)
    }

    /// Opens a zip holding a dataset (refused past the zip-bomb limits).
    pub fn open_zip(&self, name: &str, bytes: Vec<u8>, options: JsValue) -> Busy<JsValue> {
        let (options, gpu_image_bytes) = load_options(options)?;
        let mut session = self.session.try_borrow_mut().map_err(|_| busy())?;
        session.run = None;
        session.rvs = None;
        session.dataset = None;
        let dataset = PageDataset::from_zip(&session.gpu, name, bytes, &options, gpu_image_bytes).map_err(js_error)?;
        let summary = to_js(&dataset.summary())?;
        session.dataset = Some(dataset);
        Ok(summary)
    }

    /// Opens the demo training set: the built-in demo scene rendered from `train_views` orbit
    /// cameras (and 4 test cameras) at `size` x `size` pixels; training starts from random
    /// points.
    #[allow(clippy::await_holding_refcell_ref)]
    pub fn open_demo(&self, train_views: u32, size: u32) -> js_sys::Promise {
        let session = self.session.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let mut session = session.try_borrow_mut().map_err(|_| busy())?;
            if !(4..=512).contains(&train_views) || !(16..=1024).contains(&size) {
                return Err(js_error(format!("demo: {train_views} views of {size} px: want 4 to 512 views of 16 to 1024 px")));
            }
            session.run = None;
            session.dataset = None;
            let gpu = session.gpu.clone();
            let (index, train_images, test_images) =
                demo_views::demo_dataset(&gpu, train_views, size).await.map_err(|e| js_error(format!("demo: {e}")))?;
            let dataset = PageDataset::generated("demo scene", index, train_images, test_images);
            let summary = to_js(&dataset.summary())?;
            session.dataset = Some(dataset);
            Ok(summary)
        })
    }

    /// The encoded bytes of frame `id`'s image when the trainer holds them (a zip), for the
    /// page's decode workers.
    pub fn frame_bytes(&self, id: usize) -> Busy<Vec<u8>> {
        let session = self.session.try_borrow().map_err(|_| busy())?;
        session.dataset.as_ref().ok_or_else(|| js_error("no dataset is open"))?.image_bytes(id).map_err(js_error)
    }

    /// A decoded image (RGBA8, row-major) for frame `id`, uploaded to the GPU at once; training
    /// uses it from its next pass over the views.
    pub fn add_image(&self, id: usize, width: u32, height: u32, rgba: &[u8]) -> Busy<()> {
        let mut session = self.session.try_borrow_mut().map_err(|_| busy())?;
        let Session { gpu, dataset, run, .. } = &mut *session;
        let dataset = dataset.as_mut().ok_or_else(|| js_error("no dataset is open"))?;
        let mut own = dataset.train_images.take();
        let images = match (run.as_mut(), own.as_mut()) {
            (Some(run), _) => run.session.train_images_mut(),
            (None, Some(images)) => images,
            (None, None) => return Err(js_error("the training images are gone")),
        };
        let result = dataset.add_image(gpu, images, id, width, height, rgba);
        dataset.train_images = own;
        result.map_err(js_error)
    }

    /// Records that frame `id`'s image could not be decoded (`message` says why); it stays out
    /// of training and evaluation.
    pub fn image_failed(&self, id: usize, message: &str) -> Busy<()> {
        let mut session = self.session.try_borrow_mut().map_err(|_| busy())?;
        session.dataset.as_mut().ok_or_else(|| js_error("no dataset is open"))?.record_failure(id, message);
        Ok(())
    }

    /// Every image that failed: `[{id, file, message}]`.
    pub fn failures(&self) -> Busy<JsValue> {
        let session = self.session.try_borrow().map_err(|_| busy())?;
        to_js(&session.dataset.as_ref().map(|d| d.failures.clone()).unwrap_or_default())
    }

    /// Starts a run with `settings` (see the page's form; missing fields take defaults). Needs
    /// at least one training image; the others may still be arriving.
    pub fn start(&self, settings: JsValue) -> Busy<()> {
        let settings: TrainSettings = options_from_js(settings, "settings")?;
        settings.check().map_err(|e| js_error(format!("settings: {e}")))?;
        let mut session = self.session.try_borrow_mut().map_err(|_| busy())?;
        let Session { gpu, dataset, run, .. } = &mut *session;
        let dataset = dataset.as_mut().ok_or_else(|| js_error("open a dataset first"))?;
        settings.config(&dataset.index).map_err(|e| js_error(format!("settings: {e}")))?;
        let splats = crate::train::init::initial_splats(&dataset.index, settings.init_points, settings.seed);
        let framing = Orbit::framing(&splats.means);
        let images = take_images(run, dataset)?;
        let profile = ProfileChoice { enabled: true, label: format!("train {} (browser)", dataset.name) };
        let training = match TrainSession::start_from(gpu, &settings, &dataset.index, &splats, dataset.train_views(), images, profile) {
            Ok(t) => t,
            Err((e, images)) => {
                // Keep the images: a corrected start (or the images still arriving) needs them.
                dataset.train_images = Some(images);
                return Err(js_error(format!("{}: {e}", dataset.name)));
            }
        };
        *run = Some(Run::new(training, framing));
        Ok(())
    }

    /// Continues from a checkpoint (the three byte arrays of `checkpoint()`) on the open
    /// dataset.
    /// `checkpoint_every` is the page's checkpoint interval for the resumed run.
    pub fn resume(&self, splats_ply: Vec<u8>, optimizer_bin: Vec<u8>, state_json: Vec<u8>, checkpoint_every: u32) -> Busy<u32> {
        let mut checkpoint = decode(&CheckpointFiles { splats_ply, optimizer_bin, state_json }).map_err(|e| js_error(e.to_string()))?;
        let mut session = self.session.try_borrow_mut().map_err(|_| busy())?;
        let Session { gpu, dataset, run, .. } = &mut *session;
        let dataset = dataset.as_mut().ok_or_else(|| js_error("open the checkpoint's dataset first"))?;
        // The page matches datasets by fingerprint before it offers a checkpoint; this is the
        // check the CLI makes, on what the checkpoint itself records. The page gives a resumed
        // run no setting but its checkpoint interval, which is no part of the saved state.
        checkpoint
            .prepare_resume(&dataset.index, &ResumeSettings::default())
            .map_err(|e| js_error(format!("resuming on {}: {e}", dataset.name)))?;
        let framing = Orbit::framing(&checkpoint.state.splats.means);
        let images = take_images(run, dataset)?;
        let profile = ProfileChoice { enabled: true, label: format!("train {} (browser)", dataset.name) };
        let schedule = RunSchedule { checkpoint_every, ..RunSchedule::default() };
        let training = match TrainSession::resume(gpu, checkpoint, schedule, dataset.train_views(), images, profile) {
            Ok(t) => t,
            Err((e, images)) => {
                dataset.train_images = Some(images);
                return Err(js_error(format!("resuming: {e}")));
            }
        };
        let step = training.step();
        *run = Some(Run::new(training, framing));
        Ok(step)
    }

    /// Changes the settings a running trainer can change: `steps` (not below the current
    /// step) and `log_every`.
    pub fn set_steps(&self, steps: u32, log_every: u32) -> Busy<()> {
        let mut session = self.session.try_borrow_mut().map_err(|_| busy())?;
        let run = session.run.as_mut().ok_or_else(|| js_error("no run"))?;
        run.session.set_run_length(steps, log_every).map_err(js_error)
    }

    /// Trains for about `budget_ms` of this thread's time (at least one step, at most
    /// `max_steps`), yielding to the page whenever it waits for the GPU; it stops early when
    /// an evaluation or a checkpoint is due. Resolves to `{steps_done, step, finished,
    /// evaluate_due, checkpoint_due}`.
    #[allow(clippy::await_holding_refcell_ref)]
    pub fn run(&self, budget_ms: f64, max_steps: u32) -> js_sys::Promise {
        let session = self.session.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let mut session = session.try_borrow_mut().map_err(|_| busy())?;
            let run = session.run.as_mut().ok_or_else(|| js_error("start a run first"))?;
            let report = run.slice(budget_ms, max_steps).await?;
            to_js(&report)
        })
    }

    /// Loss metrics that arrived since the last call: `[{step, loss, l1, ssim, psnr}]`.
    pub fn take_metrics(&self) -> Busy<JsValue> {
        let mut session = self.session.try_borrow_mut().map_err(|_| busy())?;
        let metrics = session.run.as_mut().map(|r| r.session.take_metrics()).unwrap_or_default();
        to_js(&metrics)
    }

    /// GPU milliseconds per pass of the steps timed since the last call: `[[step, {pass: ms}]]`.
    pub fn take_gpu_passes(&self) -> Busy<JsValue> {
        let mut session = self.session.try_borrow_mut().map_err(|_| busy())?;
        let Some(run) = session.run.as_mut() else { return to_js(&Vec::<()>::new()) };
        let steps = run.session.profiler.gpu_steps_after(run.gpu_taken);
        if let Some((last, _)) = steps.last() {
            run.gpu_taken = Some(*last);
        }
        let out: Vec<(u64, std::collections::BTreeMap<String, f64>)> =
            steps.into_iter().map(|(s, passes)| (s, passes.into_iter().collect())).collect();
        to_js(&out)
    }

    /// Progress and resources: see `Status`.
    pub fn status(&self) -> Busy<JsValue> {
        let session = self.session.try_borrow().map_err(|_| busy())?;
        let dataset = session.dataset.as_ref();
        let run = session.run.as_ref();
        let training = run.map(|r| r.session.status());
        let images = |f: &dyn Fn(&PageDataset) -> usize| dataset.map_or(0, f);
        // The training images are the run's once it started, the dataset's before.
        let train_images =
            |f: &dyn Fn(&crate::train::images::GpuImages) -> usize| dataset.and_then(|d| d.train_images.as_ref()).map_or(0, f);
        let (steps_per_second, views_per_second) = run.zip(training.as_ref()).map_or((0.0, 0.0), |(r, t)| {
            let sps = r.steps_per_second();
            (sps, sps * t.batch as f64)
        });
        let status = Status {
            dataset: dataset.map(|d| d.name.clone()),
            images_total: images(&|d| d.index.train.len() + d.index.test.len()),
            images_loaded: match (dataset, &training) {
                (Some(d), Some(t)) => t.images_loaded + d.test_images.loaded.iter().filter(|l| **l).count(),
                (Some(d), None) => {
                    train_images(&|i| i.loaded.iter().filter(|l| **l).count()) + d.test_images.loaded.iter().filter(|l| **l).count()
                }
                (None, _) => 0,
            },
            images_failed: images(&|d| d.failures.len()),
            images_streamed: match (dataset, &training) {
                (Some(_), Some(t)) => t.images_streamed,
                (Some(_), None) => train_images(&|i| i.streamed_count()),
                (None, _) => 0,
            },
            training: run.is_some(),
            step: training.as_ref().map_or(0, |t| t.step),
            steps: training.as_ref().map_or(0, |t| t.steps),
            splats: training.as_ref().map_or(0, |t| t.splats),
            steps_per_second,
            views_per_second,
            busy_seconds: run.map_or(0.0, |r| r.busy_ms / 1000.0),
            train_seconds: run.map_or(0.0, |r| r.session.train_seconds()),
            peak_gpu_bytes: run.map_or(0, |r| r.session.peak_gpu_bytes()),
            longest_slice_ms: run.map_or(0.0, |r| r.longest_slice_ms),
            memory: training.as_ref().map(|t| t.memory).unwrap_or_default(),
            last_refine: training.as_ref().and_then(|t| t.last_refine),
            nonfinite_removed: training.as_ref().map(|t| t.nonfinite).unwrap_or_default(),
            gpu_timestamps: run.is_some_and(|r| r.session.profiler.has_gpu_timestamps()),
        };
        to_js(&status)
    }

    /// PSNR and SSIM on the test views whose images loaded; the result is also kept for
    /// `evaluations_json`.
    #[allow(clippy::await_holding_refcell_ref)]
    pub fn evaluate(&self) -> js_sys::Promise {
        let session = self.session.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let mut session = session.try_borrow_mut().map_err(|_| busy())?;
            let Session { dataset, run, .. } = &mut *session;
            let dataset = dataset.as_mut().ok_or_else(|| js_error("no dataset is open"))?;
            let run = run.as_mut().ok_or_else(|| js_error("start a run first"))?;
            let views = dataset.test_views();
            if views.is_empty() {
                return Err(js_error(format!(
                    "{}: no test views to evaluate on (every test image failed, or the dataset has none)",
                    dataset.name
                )));
            }
            let result = run.session.evaluate(&views, &mut dataset.test_images).await.map_err(js_error)?;
            to_js(&result)
        })
    }

    /// Every evaluation of this run, as JSON.
    pub fn evaluations_json(&self) -> Busy<String> {
        let session = self.session.try_borrow().map_err(|_| busy())?;
        let run = session.run.as_ref().ok_or_else(|| js_error("no run"))?;
        let dataset = session.dataset.as_ref().map(|d| d.name.clone()).unwrap_or_default();
        let report = serde_json::json!({ "dataset": dataset, "adapter": session.gpu.report, "config": run.session.config(), "evaluations": run.session.evaluations });
        serde_json::to_string_pretty(&report).map_err(js_error)
    }

    /// The current splats as a standard 3DGS `.ply`.
    #[allow(clippy::await_holding_refcell_ref)]
    pub fn export_ply(&self) -> js_sys::Promise {
        let session = self.session.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            // Mutable: the export first removes any splat that holds a non-finite value.
            let mut session = session.try_borrow_mut().map_err(|_| busy())?;
            let run = session.run.as_mut().ok_or_else(|| js_error("start a run first"))?;
            let splats = run.session.export().await.map_err(js_error)?;
            Ok(js_sys::Uint8Array::from(crate::scene::ply::write_ply(&splats).as_slice()).into())
        })
    }

    /// The profile so far (#4's Chrome Trace JSON with summary; opens in Perfetto).
    pub fn profile_json(&self) -> Busy<String> {
        let session = self.session.try_borrow().map_err(|_| busy())?;
        let run = session.run.as_ref().ok_or_else(|| js_error("no run"))?;
        serde_json::to_string(&run.session.profile_snapshot().to_json()).map_err(js_error)
    }

    /// A checkpoint: `{splats_ply, optimizer_bin, state_json, step, fingerprint}` (byte arrays
    /// for the page to store).
    #[allow(clippy::await_holding_refcell_ref)]
    pub fn checkpoint(&self) -> js_sys::Promise {
        let session = self.session.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let mut session = session.try_borrow_mut().map_err(|_| busy())?;
            let Session { dataset, run, .. } = &mut *session;
            let run = run.as_mut().ok_or_else(|| js_error("start a run first"))?;
            let checkpoint = run.session.checkpoint().await.map_err(js_error)?;
            let files = encode(&checkpoint).map_err(js_error)?;
            let out = js_sys::Object::new();
            let set = |key: &str, value: JsValue| js_sys::Reflect::set(&out, &key.into(), &value).map(|_| ());
            set("splats_ply", js_sys::Uint8Array::from(files.splats_ply.as_slice()).into())?;
            set("optimizer_bin", js_sys::Uint8Array::from(files.optimizer_bin.as_slice()).into())?;
            set("state_json", js_sys::Uint8Array::from(files.state_json.as_slice()).into())?;
            set("step", checkpoint.meta.step.into())?;
            set("fingerprint", dataset.as_ref().map(|d| d.summary().fingerprint).unwrap_or_default().into())?;
            Ok(out.into())
        })
    }
}

/// The training images, from the run that holds them (a new start replaces it) or the dataset.
fn take_images(run: &mut Option<Run>, dataset: &mut PageDataset) -> Busy<crate::train::images::GpuImages> {
    match run.take() {
        Some(old) => Ok(old.session.into_train_images()),
        None => dataset.train_images.take().ok_or_else(|| js_error("the training images are gone")),
    }
}

impl WebTrainer {
    /// Calls `f` with the current model, the training views and the run's framing; None when
    /// nothing is training.
    pub(crate) fn with_model<R>(&self, f: impl FnOnce(&GpuSplats, &[TrainView], &Orbit) -> R) -> Busy<Option<R>> {
        let session = self.session.try_borrow().map_err(|_| busy())?;
        Ok(session.run.as_ref().map(|r| {
            let (splats, views) = r.session.model();
            f(splats, views, &r.framing)
        }))
    }
}

impl Run {
    fn new(session: TrainSession, framing: Orbit) -> Self {
        Self { session, clock: VecDeque::new(), busy_ms: 0.0, longest_slice_ms: 0.0, gpu_taken: None, framing }
    }

    async fn slice(&mut self, budget_ms: f64, max_steps: u32) -> Busy<SliceReport> {
        let start = now_ms();
        let mut done = 0;
        let mut due = crate::train::session::Due::default();
        while !self.session.is_finished() && done < max_steps.max(1) {
            due = self.session.train_step().await.map_err(|e| match e {
                // The page keeps the last checkpoint; only a reload gets a new device.
                TrainError::DeviceLost { .. } => {
                    js_error(format!("{e}; reload the page to continue from the last saved checkpoint (the page offers it)"))
                }
                e => js_error(e),
            })?;
            done += 1;
            if due.evaluate || due.checkpoint || now_ms() - start >= budget_ms {
                break;
            }
        }
        let end = now_ms();
        self.busy_ms += end - start;
        self.longest_slice_ms = self.longest_slice_ms.max(end - start);
        self.clock.push_back((end, self.session.step()));
        // Keep the last SPEED_WINDOW_MS and one entry before it, so the rate spans at least the
        // window (a slice may submit a few steps at once before it waits for the GPU).
        while self.clock.len() > 2 && self.clock.get(1).is_some_and(|(t, _)| end - t > SPEED_WINDOW_MS) {
            self.clock.pop_front();
        }
        let finished = self.session.is_finished();
        if finished {
            self.session.pause().await.map_err(js_error)?;
        }
        Ok(SliceReport {
            steps_done: done,
            step: self.session.step(),
            finished,
            evaluate_due: due.evaluate,
            checkpoint_due: due.checkpoint,
        })
    }

    /// Steps per wall-clock second over the last few seconds (waits between slices included).
    fn steps_per_second(&self) -> f64 {
        match (self.clock.front(), self.clock.back()) {
            (Some(&(t0, s0)), Some(&(t1, s1))) if t1 > t0 => (s1 - s0) as f64 / ((t1 - t0) / 1000.0),
            _ => 0.0,
        }
    }
}
