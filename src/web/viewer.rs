//! The page's [`Viewer`]: owns the GPU context, the canvas surface, a renderer and the loaded
//! scene (or shows a trainer's current model), renders one view per frame and presents it.

use crate::kernel::GpuContext;
use crate::render::present::{ImageRegion, Presenter};
use crate::render::{GpuSplats, Renderer, View};
use crate::scene::demo;
use crate::{Camera, Splats};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use wasm_bindgen::prelude::*;

use super::trainer::WebTrainer;
use super::{js_error, now_ms, watch_errors};

/// Where the camera is (the trainer keeps one per run, as `viewer::Orbit`).
use crate::camera::Orbit;

struct Scene {
    name: String,
    splats: GpuSplats,
    count: u32,
}

struct State {
    gpu: GpuContext,
    surface: wgpu::Surface<'static>,
    canvas: web_sys::HtmlCanvasElement,
    configured: (u32, u32),
    presenter: Presenter,
    renderer: Renderer,
    scene: Option<Scene>,
    orbit: Orbit,
    background: [f32; 3],
    /// Whether the last frame found the renderer's buffers too small and grew them: the frames
    /// before it may have missed splats, so the page should keep rendering for a while.
    grew: bool,
    /// GPU errors and device loss, reported by the browser asynchronously; the next frame
    /// returns the first one as its error.
    gpu_errors: Arc<Mutex<Vec<String>>>,
}

/// The page's viewer. Methods fail with a JS `Error` (never panic) and report while another
/// call (e.g. a pending `read_pixels`) holds the viewer.
#[wasm_bindgen]
pub struct Viewer {
    state: Rc<RefCell<State>>,
}

#[wasm_bindgen]
impl Viewer {
    /// Opens WebGPU on `canvas`: instance, surface, adapter, device, renderer, present pipeline.
    /// `without` names optional features not to use (as the CLI's `--without`: `timestamps`,
    /// `float-atomics`), for measuring what they cost.
    pub async fn create(canvas: web_sys::HtmlCanvasElement, without: Vec<String>) -> Result<Viewer, JsValue> {
        console_error_panic_hook::set_once();
        let instance = wgpu::Instance::new(crate::kernel::default_instance_descriptor());
        let surface = instance
            .create_surface(wgpu::SurfaceTarget::Canvas(canvas.clone()))
            .map_err(|e| js_error(format!("could not create a WebGPU surface on the canvas: {e}")))?;
        let gpu = GpuContext::from_instance(instance, Some(&surface)).await.map_err(|e| js_error(format!("WebGPU: {e}")))?;
        let gpu = gpu.without(&without).map_err(|e| js_error(format!("?without: {e}")))?;
        let caps = surface.get_capabilities(&gpu.adapter);
        // A non-sRGB format, so the renderer's values reach the canvas as they are (like the
        // native PNG output), not gamma-encoded a second time.
        let format = caps
            .formats
            .iter()
            .copied()
            .find(|f| matches!(f, wgpu::TextureFormat::Bgra8Unorm | wgpu::TextureFormat::Rgba8Unorm))
            .or_else(|| caps.formats.first().copied())
            .ok_or_else(|| js_error("the canvas offers no texture format for WebGPU"))?;
        let gpu_errors = watch_errors(&gpu);
        let presenter = Presenter::new(&gpu.device, format);
        let renderer = Renderer::new(&gpu).map_err(|e| js_error(format!("creating the renderer failed: {e}")))?;
        let state = State {
            gpu,
            surface,
            canvas,
            configured: (0, 0),
            presenter,
            renderer,
            scene: None,
            orbit: demo::demo_orbit(),
            background: [0.0; 3],
            grew: false,
            gpu_errors,
        };
        Ok(Viewer { state: Rc::new(RefCell::new(state)) })
    }

    /// The adapter in one line: name, backend, limits and optional features.
    pub fn adapter_info(&self) -> Result<String, JsValue> {
        Ok(self.state()?.gpu.report.to_string())
    }

    /// Number of Gaussians in the loaded scene (0 when none).
    pub fn splat_count(&self) -> Result<u32, JsValue> {
        Ok(self.state()?.scene.as_ref().map_or(0, |s| s.count))
    }

    /// Name of the loaded scene ("" when none).
    pub fn scene_name(&self) -> Result<String, JsValue> {
        Ok(self.state()?.scene.as_ref().map(|s| s.name.clone()).unwrap_or_default())
    }

    /// Parses a splat file in any supported format (standard or compressed PLY, SPZ, SOG,
    /// `.splat`; the content decides) and uploads it; the view is reset to frame the scene.
    pub fn load_scene(&mut self, bytes: &[u8], name: &str) -> Result<(), JsValue> {
        let splats = crate::scene::format::read_splats(bytes, name).map_err(js_error)?;
        if splats.is_empty() {
            return Err(js_error(format!("{name}: the file holds no Gaussians")));
        }
        let orbit = Orbit::framing(&splats.means);
        self.set_scene(&splats, name, orbit)
    }

    /// Loads the built-in demo scene with its default view ([`demo::demo_camera`]).
    pub fn load_demo(&mut self) -> Result<(), JsValue> {
        self.set_scene(&demo::demo_scene(), "demo scene", demo::demo_orbit())
    }

    /// Moves the camera: `yaw` about z and `pitch` above the horizon in radians, `distance` from
    /// the scene's orbit centre. Non-finite values are ignored.
    pub fn set_orbit(&mut self, yaw: f32, pitch: f32, distance: f32) -> Result<(), JsValue> {
        let mut state = self.state_mut()?;
        let limit = 89f32.to_radians();
        if yaw.is_finite() {
            state.orbit.yaw = yaw;
        }
        if pitch.is_finite() {
            state.orbit.pitch = pitch.clamp(-limit, limit);
        }
        if distance.is_finite() && distance > 0.0 {
            state.orbit.distance = distance;
        }
        Ok(())
    }

    /// The current `[yaw, pitch, distance]`, for the page to continue dragging from.
    pub fn orbit(&self) -> Result<Vec<f32>, JsValue> {
        let state = self.state()?;
        Ok(vec![state.orbit.yaw, state.orbit.pitch, state.orbit.distance])
    }

    /// Background colour (linear rgb in [0, 1]) behind the splats; black by default.
    pub fn set_background(&mut self, r: f32, g: f32, b: f32) -> Result<(), JsValue> {
        self.state_mut()?.background = [r, g, b].map(|c| if c.is_finite() { c.clamp(0.0, 1.0) } else { 0.0 });
        Ok(())
    }

    /// Renders the current view at the canvas size and presents it. Returns the CPU time spent
    /// (encoding + submitting, ms); the GPU finishes asynchronously.
    pub fn render_frame(&mut self) -> Result<f64, JsValue> {
        let start = now_ms();
        let mut state = self.state_mut()?;
        state.render_and_present()?;
        Ok(now_ms() - start)
    }

    /// Renders the trainer's current model and presents it: from training view `view`, or from
    /// the orbit when `view` is negative (or past the last view). Nothing happens while no run
    /// exists. Returns the CPU time spent (ms).
    pub fn render_training(&mut self, trainer: &WebTrainer, view: i32) -> Result<f64, JsValue> {
        let start = now_ms();
        let mut state = self.state_mut()?;
        let (canvas_w, canvas_h) = (state.canvas.width().max(1), state.canvas.height().max(1));
        let orbit = state.orbit;
        trainer
            .with_model(|splats, views, _| {
                let camera = match usize::try_from(view).ok().and_then(|i| views.get(i)) {
                    Some(v) => v.camera,
                    // The free view at about a training image's resolution, not the canvas's: the
                    // live render then costs about one training view (on a software GPU a full
                    // canvas would cost many steps).
                    None => {
                        let long_side = views.first().map_or(512, |v| v.camera.width.max(v.camera.height)).clamp(64, 1024) as f32;
                        let scale = (long_side / canvas_w.max(canvas_h) as f32).min(1.0);
                        let size = |n: u32| ((n as f32 * scale).round() as u32).max(1);
                        orbit.camera(size(canvas_w), size(canvas_h))
                    }
                };
                state.present(Some((splats, "the training model")), Some(camera))
            })?
            .transpose()?;
        Ok(now_ms() - start)
    }

    /// Points the orbit at the training model (the bulk of its initial splats).
    pub fn frame_training(&mut self, trainer: &WebTrainer) -> Result<(), JsValue> {
        let mut state = self.state_mut()?;
        if let Some(orbit) = trainer.with_model(|_, _, framing| *framing)? {
            state.orbit = orbit;
        }
        Ok(())
    }

    /// True when the last `render_frame` had to grow the renderer's buffers (it learns that
    /// they overflowed a frame or more late): the page should render a few more frames.
    pub fn buffers_grew(&self) -> Result<bool, JsValue> {
        Ok(self.state()?.grew)
    }

    /// Destroys the GPU device, as a driver reset or a lost GPU would: what the page tests of
    /// device loss use (training stops at its next step; a reload offers the saved run).
    pub fn lose_device(&self) -> Result<(), JsValue> {
        self.state()?.gpu.device.destroy();
        Ok(())
    }

    /// Sizes the renderer's buffers for the current view by rendering it once with a read-back
    /// (which retries until everything fits), so that the next frames are complete at once.
    /// Call after loading a scene; the page shows nothing new until it resolves.
    // Holding the state across the await is the point: every other method only try-borrows it
    // and reports "busy" instead of panicking.
    #[allow(clippy::await_holding_refcell_ref)]
    pub fn prepare(&self) -> js_sys::Promise {
        let state = self.state.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let mut state = state.try_borrow_mut().map_err(|_| js_error("the viewer is busy"))?;
            state.render_readback().await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Renders the current view at the canvas size and reads it back: RGBA8, row-major,
    /// `width * height * 4` bytes (rgb clamped and rounded, alpha 255). For tests; slow.
    #[allow(clippy::await_holding_refcell_ref)]
    pub fn read_pixels(&self) -> js_sys::Promise {
        let state = self.state.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let mut state = state.try_borrow_mut().map_err(|_| js_error("the viewer is busy"))?;
            let bytes = state.render_readback().await?;
            Ok(js_sys::Uint8Array::from(bytes.as_slice()).into())
        })
    }
}

impl Viewer {
    /// The viewer's GPU context (the trainer shares the device, so the viewer can show its
    /// model without copies).
    pub(crate) fn gpu(&self) -> Result<crate::kernel::GpuContext, JsValue> {
        Ok(self.state()?.gpu.clone())
    }

    fn state(&self) -> Result<std::cell::Ref<'_, State>, JsValue> {
        self.state.try_borrow().map_err(|_| js_error("the viewer is busy (a read-back is in progress)"))
    }

    fn state_mut(&self) -> Result<std::cell::RefMut<'_, State>, JsValue> {
        self.state.try_borrow_mut().map_err(|_| js_error("the viewer is busy (a read-back is in progress)"))
    }

    fn set_scene(&mut self, splats: &Splats, name: &str, orbit: Orbit) -> Result<(), JsValue> {
        let mut state = self.state_mut()?;
        let count = u32::try_from(splats.len()).map_err(|_| js_error(format!("{name}: too many Gaussians ({})", splats.len())))?;
        // Drop the old scene first (and the render's kept bind groups, which hold its buffers)
        // so its GPU buffers are free for the new one.
        state.renderer.forget_bind_groups();
        state.scene = None;
        let uploaded =
            state.renderer.upload(&state.gpu, splats).map_err(|e| js_error(format!("{name}: uploading to the GPU failed: {e}")))?;
        state.scene = Some(Scene { name: name.to_string(), splats: uploaded, count });
        state.orbit = orbit;
        Ok(())
    }
}

impl State {
    /// The canvas size in pixels, with the surface configured for it; None when it is empty.
    fn prepare_surface(&mut self) -> Option<(u32, u32)> {
        let size = (self.canvas.width(), self.canvas.height());
        if size.0 == 0 || size.1 == 0 {
            return None;
        }
        if size != self.configured {
            self.configure(size);
        }
        Some(size)
    }

    fn configure(&mut self, (width, height): (u32, u32)) {
        let config = wgpu::SurfaceConfiguration {
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT,
            format: self.presenter.format(),
            color_space: Default::default(),
            width,
            height,
            present_mode: wgpu::PresentMode::Fifo,
            desired_maximum_frame_latency: 2,
            alpha_mode: wgpu::CompositeAlphaMode::Opaque,
            view_formats: vec![],
        };
        self.surface.configure(&self.gpu.device, &config);
        self.configured = (width, height);
    }

    fn view(&self, width: u32, height: u32) -> View {
        View { camera: self.orbit.camera(width, height), background: self.background }
    }

    fn render_and_present(&mut self) -> Result<(), JsValue> {
        let scene = self.scene.take();
        let result = self.present(scene.as_ref().map(|s| (&s.splats, s.name.as_str())), None);
        self.scene = scene;
        result
    }

    /// Renders `model` (or clears, without one) and presents it: from `camera` when given (at
    /// its own size, fitted into the canvas), else from the orbit at the canvas size.
    fn present(&mut self, model: Option<(&GpuSplats, &str)>, camera: Option<Camera>) -> Result<(), JsValue> {
        self.take_gpu_error()?;
        let Some((width, height)) = self.prepare_surface() else { return Ok(()) };
        let frame = match self.surface.get_current_texture() {
            wgpu::CurrentSurfaceTexture::Success(frame) | wgpu::CurrentSurfaceTexture::Suboptimal(frame) => frame,
            wgpu::CurrentSurfaceTexture::Outdated | wgpu::CurrentSurfaceTexture::Lost => {
                // Reconfigure and draw on the next frame.
                self.configured = (0, 0);
                return Ok(());
            }
            wgpu::CurrentSurfaceTexture::Timeout | wgpu::CurrentSurfaceTexture::Occluded => return Ok(()),
            wgpu::CurrentSurfaceTexture::Validation => return Err(js_error("the canvas surface reported a validation error")),
        };
        let target_view = frame.texture.create_view(&wgpu::TextureViewDescriptor::default());
        let mut encoder = self.gpu.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("present") });
        match model {
            Some((splats, name)) => {
                let view = match camera {
                    Some(camera) => View { camera, background: self.background },
                    None => self.view(width, height),
                };
                let capacity = self.renderer.intersection_capacity();
                let rendered =
                    self.renderer.render(&self.gpu, splats, &[view]).map_err(|e| js_error(format!("rendering {name} failed: {e}")))?;
                self.grew = self.renderer.intersection_capacity() != capacity;
                let layout = rendered.target.layouts.first().ok_or_else(|| js_error("the renderer returned no image"))?;
                let region = ImageRegion { width: layout.width, height: layout.height, pixel_offset: layout.pixel_offset };
                self.presenter.draw(&self.gpu, &mut encoder, &rendered.target.rgba, region, &target_view, (width, height));
            }
            None => self.presenter.clear(&mut encoder, &target_view, self.background),
        }
        self.gpu.queue.submit([encoder.finish()]);
        self.gpu.queue.present(frame);
        Ok(())
    }

    /// The first GPU error reported since the last call, as an `Err`.
    fn take_gpu_error(&self) -> Result<(), JsValue> {
        let mut errors = self.gpu_errors.lock().map_err(|_| js_error("GPU error log is poisoned"))?;
        match errors.drain(..).next() {
            Some(first) => Err(js_error(first)),
            None => Ok(()),
        }
    }

    async fn render_readback(&mut self) -> Result<Vec<u8>, JsValue> {
        self.take_gpu_error()?;
        let (width, height) = (self.canvas.width(), self.canvas.height());
        if width == 0 || height == 0 {
            return Err(js_error("the canvas is empty (0 pixels)"));
        }
        let view = self.view(width, height);
        let scene = self.scene.as_ref().ok_or_else(|| js_error("no scene is loaded"))?;
        let images = self
            .renderer
            .render_images(&self.gpu, &scene.splats, &[view])
            .await
            .map_err(|e| js_error(format!("rendering {} failed: {e}", scene.name)))?;
        let image = images.first().ok_or_else(|| js_error("the renderer returned no image"))?;
        Ok(image.to_rgba8())
    }
}

#[wasm_bindgen(js_class = Trainer)]
impl WebTrainer {
    /// A trainer on the viewer's GPU device (the viewer shows its model live).
    pub fn for_viewer(viewer: &Viewer) -> Result<WebTrainer, JsValue> {
        Ok(WebTrainer::on_gpu(viewer.gpu()?))
    }
}
