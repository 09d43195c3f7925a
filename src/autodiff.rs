//! The renderer as a differentiable burn operation: loss terms written with burn tensors
//! backpropagate through our own WGSL forward and backward passes.
//!
//! burn's wgpu backend (cubecl) runs on *our* wgpu device and queue (`burn_device`), so both
//! sides submit to one queue and see each other's work in submission order. Data crosses the
//! boundary by `copy_buffer_to_buffer` between burn's buffers and ours, never by binding burn's
//! buffers in our pipelines: cubecl packs many tensors into one `wgpu::Buffer`, and wgpu tracks
//! usage per buffer, so a read-only binding of one tensor next to a writable one elsewhere in the
//! same buffer would be a usage conflict. A copy also leaves our pipelines and their layouts as
//! they are.
//!
//! Ordering: `get_resource` records cubecl's pending work into cubecl's encoder, `flush` submits
//! it, so what we submit afterwards runs after it. The returned resource pins the tensor's memory
//! (cubecl does not hand it to another tensor) until dropped, which we do after our submit.

use std::any::Any;
use std::sync::{Arc, Mutex};

use burn::backend::autodiff::checkpoint::{base::Checkpointer, strategy::NoCheckpointing};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, NodeGuard, Ops, OpsKind};
use burn::backend::wgpu::{CubeTensor, WgpuSetup, into_contiguous};
use burn::backend::{Autodiff, Cube};
use burn::cubecl::wgpu::{AutoCompiler, WgpuServer};
use burn::tensor::{DType, Device, Shape, Tensor};
use thiserror::Error;

use crate::GpuContext;
use crate::kernel::buffers;
use crate::render::{Forward, GpuSplats, RenderError, Renderer, View, backward::GpuSplatGrads};

#[derive(Debug, Error)]
pub enum AutodiffError {
    #[error("burn cannot share this wgpu device: {0}")]
    Device(String),
    #[error("invalid input: {0}")]
    Input(String),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error("burn's runtime: {0}")]
    Runtime(String),
}

/// Features whose presence on the adapter makes cubecl emit code that needs them on the device
/// (it reads its type and atomic support from `adapter.features()`, not the device's).
const CUBECL_ADAPTER_FEATURES: wgpu::Features = wgpu::Features::SHADER_INT64
    .union(wgpu::Features::SHADER_F64)
    .union(wgpu::Features::SHADER_F16)
    .union(wgpu::Features::SHADER_FLOAT32_ATOMIC)
    .union(wgpu::Features::SUBGROUP);

/// A burn device (plain, not autodiff: `.autodiff()` gives that one) running on `gpu`'s wgpu
/// device and queue. Each call registers a new cubecl runtime; create it once per context
/// (`SplatRenderOp::device` holds one). The context must come from
/// `GpuContext::new_with_adapter_features`: cubecl sizes its kernels and picks its types from the
/// adapter, so the device must enable what the adapter offers.
pub fn burn_device(gpu: &GpuContext) -> Result<Device, AutodiffError> {
    let missing = (gpu.adapter.features() & CUBECL_ADAPTER_FEATURES).difference(gpu.device.features());
    if !missing.is_empty() {
        return Err(AutodiffError::Device(format!(
            "the device lacks adapter features cubecl would use: {missing:?} (create the context with GpuContext::new_with_adapter_features)"
        )));
    }
    let (a, d) = (gpu.adapter.limits(), gpu.device.limits());
    let limits = [
        ("max_compute_invocations_per_workgroup", a.max_compute_invocations_per_workgroup, d.max_compute_invocations_per_workgroup),
        ("max_compute_workgroup_size_x", a.max_compute_workgroup_size_x, d.max_compute_workgroup_size_x),
        ("max_compute_workgroup_size_y", a.max_compute_workgroup_size_y, d.max_compute_workgroup_size_y),
        ("max_compute_workgroup_size_z", a.max_compute_workgroup_size_z, d.max_compute_workgroup_size_z),
        ("max_compute_workgroups_per_dimension", a.max_compute_workgroups_per_dimension, d.max_compute_workgroups_per_dimension),
    ];
    if let Some((name, adapter, device)) = limits.into_iter().find(|(_, a, d)| d < a) {
        return Err(AutodiffError::Device(format!(
            "{name} is {device} on the device but {adapter} on the adapter, which cubecl assumes (create the context with GpuContext::new_with_adapter_features)"
        )));
    }
    let setup = WgpuSetup {
        instance: gpu.instance.clone(),
        adapter: gpu.adapter.clone(),
        device: gpu.device.clone(),
        queue: gpu.queue.clone(),
        backend: gpu.adapter.get_info().backend,
    };
    Device::wgpu_options().setup(setup).init().map_err(|e| AutodiffError::Device(e.to_string()))
}

/// A pinned view of a contiguous f32 tensor's storage: its wgpu buffer and byte range.
struct Raw {
    buffer: wgpu::Buffer,
    offset: u64,
    /// cubecl's `ManagedResource`: while alive, the memory is not reused for another tensor.
    _pin: Box<dyn Any>,
}

/// Pins `t` (contiguous, f32) after submitting cubecl's pending work.
fn raw(t: &CubeTensor) -> Result<Raw, AutodiffError> {
    if !t.is_contiguous() || t.dtype != DType::F32 {
        return Err(AutodiffError::Input(format!(
            "expected a contiguous f32 tensor, got {:?} (contiguous: {})",
            t.dtype,
            t.is_contiguous()
        )));
    }
    let bytes = t.meta.shape.num_elements() as u64 * 4;
    let res = t.client.get_resource::<WgpuServer<AutoCompiler>>(t.handle.clone()).map_err(|e| AutodiffError::Runtime(format!("{e:?}")))?;
    t.client.flush().map_err(|e| AutodiffError::Runtime(format!("{e:?}")))?;
    let r = res.resource();
    if r.size < bytes {
        return Err(AutodiffError::Runtime(format!("a tensor of {bytes} bytes has {} bytes of storage", r.size)));
    }
    Ok(Raw { buffer: r.buffer.clone(), offset: r.offset, _pin: Box::new(res) })
}

/// A new contiguous f32 tensor on `like`'s device (contents undefined until written).
fn empty_like_device(like: &CubeTensor, shape: Shape) -> CubeTensor {
    let handle = like.client.empty(shape.num_elements() * 4);
    CubeTensor::new_contiguous(like.client.clone(), like.device.clone(), shape, handle, DType::F32)
}

/// The renderer and the newest forward (what `Renderer::backward` takes), by the id of the op
/// call that made it: an op whose forward is no longer the newest renders again in its
/// backward (the renderer lends one set of buffers at a time).
struct RendererState {
    renderer: Renderer,
    newest: Option<(u64, Forward)>,
    next_id: u64,
}

struct Inner {
    gpu: Arc<GpuContext>,
    state: Mutex<RendererState>,
}

/// Renders splat parameters held in burn tensors, differentiably on burn's autodiff backend.
#[derive(Clone)]
pub struct SplatRenderOp {
    inner: Arc<Inner>,
    device: Device,
}

impl std::fmt::Debug for SplatRenderOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SplatRenderOp").field("adapter", &self.inner.gpu.report.name).finish()
    }
}

/// What one forward leaves for its backward.
struct Saved {
    /// Our copies of the parameters (the backward's `project_backward` reads them).
    splats: GpuSplats,
    views: Vec<View>,
    id: u64,
    /// Shapes of the five inputs, for their gradients.
    shapes: [Shape; 5],
    pixels: u64,
}

impl std::fmt::Debug for Saved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Saved")
            .field("num_splats", &self.splats.num_splats)
            .field("views", &self.views.len())
            .field("id", &self.id)
            .finish()
    }
}

#[derive(Clone)]
struct RenderBackward {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RenderBackward {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RenderBackward")
    }
}

impl SplatRenderOp {
    /// A renderer and a burn device on `gpu` (see `burn_device` for what `gpu` must enable).
    pub fn new(gpu: Arc<GpuContext>) -> Result<Self, AutodiffError> {
        let device = burn_device(&gpu)?;
        let renderer = Renderer::new(&gpu)?;
        Ok(Self { inner: Arc::new(Inner { gpu, state: Mutex::new(RendererState { renderer, newest: None, next_id: 1 }) }), device })
    }

    /// The plain burn device on our wgpu device; `.autodiff()` for differentiable tensors.
    pub fn device(&self) -> &Device {
        &self.device
    }

    pub fn gpu(&self) -> &Arc<GpuContext> {
        &self.inner.gpu
    }

    /// Renders `views` (all of one size) into `[C, H, W, 4]`: rgb with the background
    /// composited, and alpha. Inputs: means `[N, 3]`, quats `[N, 4]` (w, x, y, z), log scales
    /// `[N, 3]`, opacity logits `[N]`, SH `[N, K, 3]` with K = (degree + 1)^2; `sh_degree` is the
    /// degree rendered (at most that of the layout). On autodiff tensors the result is
    /// differentiable with respect to all five (depth is not an output: its gradient is zero).
    /// Intersection buffers grow after a render reports an overflow (as in `Renderer::render`),
    /// so the very first render of a large scene may miss some splats.
    #[allow(clippy::too_many_arguments)]
    pub fn render(
        &self,
        means: Tensor<2>,
        quats: Tensor<2>,
        log_scales: Tensor<2>,
        opacity_logits: Tensor<1>,
        sh: Tensor<3>,
        sh_degree: u32,
        views: &[View],
    ) -> Result<Tensor<4>, AutodiffError> {
        let autodiff = [means.is_autodiff(), quats.is_autodiff(), log_scales.is_autodiff(), opacity_logits.is_autodiff(), sh.is_autodiff()];
        if autodiff.iter().any(|a| *a != autodiff[0]) {
            return Err(AutodiffError::Input("mix of autodiff and plain tensors".into()));
        }
        if !autodiff[0] {
            let prims = [plain(means)?, plain(quats)?, plain(log_scales)?, plain(opacity_logits)?, plain(sh)?];
            let (out, _) = self.forward(prims, sh_degree, views)?;
            return Ok(Tensor::from_primitive::<Cube>(out));
        }
        let (means, g0) = tracked(means)?;
        let (quats, g1) = tracked(quats)?;
        let (log_scales, g2) = tracked(log_scales)?;
        let (opacity_logits, g3) = tracked(opacity_logits)?;
        let (sh, g4) = tracked(sh)?;
        let (out, saved) = self.forward([means, quats, log_scales, opacity_logits, sh], sh_degree, views)?;
        // Our kernels run once per forward and once per backward: nothing to recompute from
        // checkpoints, and the forward is expensive (compute bound).
        let out = match (RenderBackward { inner: self.inner.clone() })
            .prepare::<NoCheckpointing>([g0, g1, g2, g3, g4])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish(Arc::new(saved), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        };
        Ok(Tensor::from_primitive::<Autodiff<Cube>>(out))
    }

    /// Copies the parameters into our buffers, renders, copies the images into a new tensor.
    fn forward(&self, inputs: [CubeTensor; 5], sh_degree: u32, views: &[View]) -> Result<(CubeTensor, Saved), AutodiffError> {
        let gpu = &*self.inner.gpu;
        let inputs = inputs.map(into_contiguous);
        let shapes: [Shape; 5] = std::array::from_fn(|i| inputs[i].meta.shape.clone());
        let n = shapes[0].first().copied().unwrap_or(0);
        let expect = |i: usize, name: &str, want: &[usize]| {
            if &shapes[i][..] == want {
                Ok(())
            } else {
                Err(AutodiffError::Input(format!("{name} has shape {:?}, expected {want:?}", &shapes[i][..])))
            }
        };
        expect(0, "means", &[n, 3])?;
        expect(1, "quats", &[n, 4])?;
        expect(2, "log_scales", &[n, 3])?;
        expect(3, "opacity_logits", &[n])?;
        let k = shapes[4].get(1).copied().unwrap_or(0);
        expect(4, "sh", &[n, k, 3])?;
        let layout_degree = (0..=3u32)
            .find(|d| ((d + 1) * (d + 1)) as usize == k)
            .ok_or_else(|| AutodiffError::Input(format!("sh has {k} coefficients per splat; expected (degree + 1)^2, degree 0 to 3")))?;
        if sh_degree > layout_degree {
            return Err(AutodiffError::Input(format!("sh_degree {sh_degree} exceeds the degree {layout_degree} of the sh tensor")));
        }
        if n == 0 {
            return Err(RenderError::EmptyScene.into());
        }
        // The same bounds as GpuSplats::upload (the values are not validated: they live on the GPU).
        let limit = gpu.max_binding_bytes();
        if (n * k * 12) as u64 > limit || n as u64 * 48 > limit || n as u64 > u32::MAX as u64 / 64 {
            return Err(RenderError::TooLarge(format!(
                "{n} splats with {k} SH coefficients exceed the adapter's binding size of {} MiB",
                limit >> 20
            ))
            .into());
        }
        let (w, h) = match views.first() {
            Some(v) => (v.camera.width, v.camera.height),
            None => return Err(AutodiffError::Input("no views".into())),
        };
        if views.iter().any(|v| (v.camera.width, v.camera.height) != (w, h)) {
            return Err(AutodiffError::Input("the views differ in size; one [C, H, W, 4] tensor needs one size".into()));
        }

        // Fresh buffers per forward: the backward reads these very values, so they must outlive
        // later forwards (a cache would need one set per live graph).
        let device = &gpu.device;
        let mut ours = Vec::with_capacity(5);
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("burn -> splats") });
        let mut pins = Vec::with_capacity(5);
        for (input, label) in inputs.iter().zip(["means", "quats", "log_scales", "opacity_logits", "sh"]) {
            let bytes = input.meta.shape.num_elements() as u64 * 4;
            let buffer = buffers::storage(device, label, bytes);
            let src = raw(input)?;
            encoder.copy_buffer_to_buffer(&src.buffer, src.offset, &buffer, 0, bytes);
            pins.push(src);
            ours.push(buffer);
        }
        gpu.queue.submit([encoder.finish()]);
        drop(pins);
        let [means, quats, log_scales, opacity_logits, sh]: [wgpu::Buffer; 5] = ours.try_into().expect("five buffers");
        let splats = GpuSplats {
            means,
            quats,
            log_scales,
            opacity_logits,
            sh,
            num_splats: n as u32,
            capacity: n as u32,
            sh_degree: layout_degree,
            active_sh_degree: sh_degree,
        };

        let pixels = views.len() as u64 * w as u64 * h as u64;
        let out = empty_like_device(&inputs[0], Shape::new([views.len(), h as usize, w as usize, 4]));
        // Held until the images are copied: the next render reuses the renderer's output buffers.
        let mut state = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
        // The older forward's buffers go back to the renderer first, so this one reuses them.
        state.newest = None;
        let forward = state.renderer.render(gpu, &splats, views)?;
        let id = state.next_id;
        state.next_id += 1;
        let dst = raw(&out)?;
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("images -> burn") });
        encoder.copy_buffer_to_buffer(&forward.target.rgba, 0, &dst.buffer, dst.offset, pixels * 16);
        state.newest = Some((id, forward));
        gpu.queue.submit([encoder.finish()]);
        drop(dst);
        drop(state);
        Ok((out, Saved { splats, views: views.to_vec(), id, shapes, pixels }))
    }
}

fn plain<const D: usize>(t: Tensor<D>) -> Result<CubeTensor, AutodiffError> {
    t.try_into_primitive::<Cube>().map_err(|e| AutodiffError::Input(format!("not a tensor of burn's wgpu backend: {e:?}")))
}

fn tracked<const D: usize>(t: Tensor<D>) -> Result<(CubeTensor, NodeGuard), AutodiffError> {
    let t = t
        .try_into_primitive::<Autodiff<Cube>>()
        .map_err(|e| AutodiffError::Input(format!("not an autodiff tensor of burn's wgpu backend: {e:?}")))?;
    Ok(t.into_parts())
}

impl Backward<Cube, 5> for RenderBackward {
    type State = Arc<Saved>;

    /// burn's backward cannot return errors: a failure here (a GPU error, a tensor that is not
    /// what the forward made) panics with its reason.
    fn backward(self, ops: Ops<Self::State, 5>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let saved = &ops.state;
        let gpu = &*self.inner.gpu;
        let device = &gpu.device;
        let grad = into_contiguous(grads.consume::<Cube>(&ops.node));
        assert_eq!(grad.meta.shape.num_elements() as u64, saved.pixels * 4, "the image gradient has the images' shape");

        let mut state = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
        // Ours, when it is still the newest forward; else render ours again (same inputs,
        // same intermediates).
        let forward = match state.newest.take() {
            Some((id, forward)) if id == saved.id => forward,
            other => {
                drop(other);
                state.renderer.render(gpu, &saved.splats, &saved.views).expect("re-render for the backward pass")
            }
        };
        let v_rgba = buffers::storage(device, "v_rgba", saved.pixels * 16);
        // Depth is not an output of the op: its gradient is zero (new buffers are zeroed).
        let v_depth = buffers::storage(device, "v_depth", saved.pixels * 4);
        let src = raw(&grad).expect("pin the image gradient");
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("burn -> v_rgba") });
        encoder.copy_buffer_to_buffer(&src.buffer, src.offset, &v_rgba, 0, saved.pixels * 16);
        gpu.queue.submit([encoder.finish()]);
        drop(src);
        let packed: GpuSplatGrads =
            state.renderer.backward(gpu, &saved.splats, forward, &v_rgba, &v_depth, None).expect("the renderer's backward pass");

        // Packed layout (floats): means N*3, quats N*4, log_scales N*3, opacity N, sh N*K*3.
        let n = saved.splats.num_splats as u64;
        let offsets = [0, 3 * n, 7 * n, 10 * n, 11 * n];
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("grads -> burn") });
        let mut outputs = Vec::new();
        let mut pins = Vec::new();
        for (i, parent) in ops.parents.iter().enumerate() {
            let Some(parent) = parent else { continue };
            let shape = saved.shapes[i].clone();
            let bytes = shape.num_elements() as u64 * 4;
            let out = empty_like_device(&grad, shape);
            let dst = raw(&out).expect("pin a new gradient tensor");
            encoder.copy_buffer_to_buffer(&packed.buffer, offsets[i] * 4, &dst.buffer, dst.offset, bytes);
            pins.push(dst);
            outputs.push((parent.id, out));
        }
        // Submitted before the lock is released: the next backward reuses the packed buffer.
        gpu.queue.submit([encoder.finish()]);
        drop(pins);
        drop(state);
        for (id, out) in outputs {
            grads.register::<Cube>(id, out);
        }
    }
}
