//! The GPU context: one adapter, device and queue shared by every pass, with the optional
//! features we can use, the largest buffer limits the adapter allows, and the GPU timer a
//! profiler attached (every job `kernel::submit` sends is timed into it; nothing else steers
//! by it).

use std::sync::{Arc, Mutex};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum GpuError {
    #[error("no GPU adapter found (WebGPU/Vulkan/Metal/DX12 unavailable): {0}")]
    NoAdapter(String),
    #[error("the GPU adapter refused a device: {0}")]
    RequestDevice(String),
    #[error("reading back from the GPU failed: {0}")]
    Readback(String),
    #[error(
        "{wanted} GPU devices asked for, but this machine has {found} adapter(s) like the best one ({name}); --share-gpu puts them all on it"
    )]
    TooFewAdapters { wanted: usize, found: usize, name: String },
    #[error("summing across devices: {0}")]
    AllReduce(String),
    #[error("unknown GPU feature \"{0}\" (known: {known})", known = OptionalFeatures::NAMES.join(", "))]
    UnknownFeature(String),
}

/// What the renderer may use beyond core WebGPU; every path works without them.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct OptionalFeatures {
    pub timestamp_queries: bool,
    pub subgroups: bool,
    pub shader_f16: bool,
    /// Native float atomics in storage buffers (Vulkan VK_EXT_shader_atomic_float, Metal 3).
    pub float32_atomics: bool,
}

impl OptionalFeatures {
    /// The names `without` takes.
    /// (Only those some kernel has a path without: no kernel uses subgroups or f16 now.)
    pub const NAMES: [&'static str; 2] = ["timestamps", "float-atomics"];

    /// These features with the named ones turned off.
    pub fn without(mut self, names: &[String]) -> Result<Self, GpuError> {
        for name in names {
            match name.as_str() {
                "timestamps" => self.timestamp_queries = false,
                "float-atomics" => self.float32_atomics = false,
                other => return Err(GpuError::UnknownFeature(other.to_string())),
            }
        }
        Ok(self)
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct AdapterReport {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    pub features: OptionalFeatures,
    pub max_storage_buffer_binding_size: u64,
    pub max_buffer_size: u64,
}

impl std::fmt::Display for AdapterReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}, {}{}), max binding {} MiB, timestamps {}, subgroups {}, f16 {}, float atomics {}",
            self.name,
            self.backend,
            self.device_type,
            if self.driver.is_empty() { String::new() } else { format!(", {}", self.driver) },
            self.max_storage_buffer_binding_size >> 20,
            yes_no(self.features.timestamp_queries),
            yes_no(self.features.subgroups),
            yes_no(self.features.shader_f16),
            yes_no(self.features.float32_atomics)
        )
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

#[derive(Clone)]
pub struct GpuContext {
    pub instance: wgpu::Instance,
    pub adapter: wgpu::Adapter,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub features: OptionalFeatures,
    pub report: AdapterReport,
    /// The attached timer, shared by clones of this context (see `with_own_timer`).
    timer: Arc<Mutex<Option<super::timer::SharedGpuTimer>>>,
    /// Why the device was lost, once it was (natively; the page watches its own device).
    lost: Arc<Mutex<Option<String>>>,
}

/// Natively, a lost device (driver reset, GPU removed, `destroy`) is recorded instead of
/// panicking in wgpu's default error handler, so that training can end with a message and its
/// checkpoint intact; every other uncaptured error still panics, as a bug should.
#[cfg(not(target_arch = "wasm32"))]
fn watch_device_loss(device: &wgpu::Device, lost: &Arc<Mutex<Option<String>>>) {
    let sink = lost.clone();
    device.set_device_lost_callback(move |reason, message| record_loss(&sink, format!("{reason:?}: {message}")));
    let sink = lost.clone();
    device.on_uncaptured_error(Arc::new(move |error: wgpu::Error| {
        let text = error.to_string();
        let lower = text.to_ascii_lowercase();
        let is_loss =
            sink.lock().unwrap_or_else(|e| e.into_inner()).is_some() || lower.contains("device is lost") || lower.contains("device lost");
        if !is_loss {
            panic!("wgpu error: {text}");
        }
        record_loss(&sink, text);
    }));
}

/// Keeps the first reason a device was lost.
fn record_loss(lost: &Mutex<Option<String>>, reason: String) {
    lost.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(reason);
}

impl GpuContext {
    /// Picks the best adapter: discrete, then integrated, then software.
    pub async fn new() -> Result<Self, GpuError> {
        let instance = wgpu::Instance::new(default_instance_descriptor());
        Self::from_instance(instance, None).await
    }

    /// With an existing instance, and an adapter able to present to `surface` where one is given.
    pub async fn from_instance(instance: wgpu::Instance, surface: Option<&wgpu::Surface<'_>>) -> Result<Self, GpuError> {
        Self::build(instance, surface, false).await
    }

    /// Like `new`, but the device enables every feature and limit the adapter offers. A second
    /// runtime sharing this device (burn's cubecl, see `autodiff`) decides which types and
    /// workgroup sizes it may use from the *adapter*, so the device must match it.
    #[cfg(not(target_arch = "wasm32"))]
    pub async fn new_with_adapter_features() -> Result<Self, GpuError> {
        Self::build(wgpu::Instance::new(default_instance_descriptor()), None, true).await
    }

    /// `count` devices for data-parallel training: one on each of the `count` best adapters of
    /// the kind of the best one (the same name, type and backend, so that every replica computes
    /// the same bits), or with `share_adapter` all on the best adapter (tests, and measuring
    /// what the exchange between devices costs on a machine with one GPU).
    #[cfg(not(target_arch = "wasm32"))]
    pub async fn several(count: usize, share_adapter: bool) -> Result<Vec<Self>, GpuError> {
        let mut gpus = Vec::with_capacity(count);
        if share_adapter {
            for _ in 0..count {
                gpus.push(Self::new().await?);
            }
            return Ok(gpus);
        }
        let instance = wgpu::Instance::new(default_instance_descriptor());
        let adapters = ranked_adapters(&instance).await;
        let best = adapters.first().ok_or_else(|| GpuError::NoAdapter("no adapter with compute shaders".into()))?.get_info();
        let alike: Vec<wgpu::Adapter> = adapters
            .into_iter()
            .filter(|a| {
                let info = a.get_info();
                info.name == best.name && info.device_type == best.device_type && info.backend == best.backend
            })
            .collect();
        if alike.len() < count {
            return Err(GpuError::TooFewAdapters { wanted: count, found: alike.len(), name: best.name });
        }
        for adapter in alike.into_iter().take(count) {
            gpus.push(Self::on_adapter(instance.clone(), adapter, false).await?);
        }
        Ok(gpus)
    }

    async fn build(instance: wgpu::Instance, surface: Option<&wgpu::Surface<'_>>, everything: bool) -> Result<Self, GpuError> {
        let adapter = pick_adapter(&instance, surface).await?;
        Self::on_adapter(instance, adapter, everything).await
    }

    async fn on_adapter(instance: wgpu::Instance, adapter: wgpu::Adapter, everything: bool) -> Result<Self, GpuError> {
        let available = adapter.features();
        let mut wanted = wgpu::Features::empty();
        for f in
            [wgpu::Features::TIMESTAMP_QUERY, wgpu::Features::SUBGROUP, wgpu::Features::SHADER_F16, wgpu::Features::SHADER_FLOAT32_ATOMIC]
        {
            if available.contains(f) {
                wanted |= f;
            }
        }
        // MAPPABLE_PRIMARY_BUFFERS only makes mapped buffers slower; nobody needs it.
        let requested = if everything { available.difference(wgpu::Features::MAPPABLE_PRIMARY_BUFFERS) } else { wanted };
        let features = OptionalFeatures {
            timestamp_queries: wanted.contains(wgpu::Features::TIMESTAMP_QUERY),
            subgroups: wanted.contains(wgpu::Features::SUBGROUP),
            shader_f16: wanted.contains(wgpu::Features::SHADER_F16),
            float32_atomics: wanted.contains(wgpu::Features::SHADER_FLOAT32_ATOMIC),
        };
        let limits = if everything { adapter.limits() } else { raised_limits(&adapter.limits()) };
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("wgsplat"),
                required_features: requested,
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::RequestDevice(e.to_string()))?;
        let info = adapter.get_info();
        let report = AdapterReport {
            name: info.name.clone(),
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            driver: [info.driver.as_str(), info.driver_info.as_str()]
                .iter()
                .filter(|s| !s.is_empty())
                .cloned()
                .collect::<Vec<_>>()
                .join(" "),
            features,
            max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
            max_buffer_size: limits.max_buffer_size,
        };
        let lost = Arc::default();
        #[cfg(not(target_arch = "wasm32"))]
        watch_device_loss(&device, &lost);
        Ok(Self { instance, adapter, device, queue, features, report, timer: Arc::default(), lost })
    }

    /// Times every job submitted through this context (and its clones) into `timer`, or
    /// nothing with None.
    pub fn attach_timer(&self, timer: Option<super::timer::SharedGpuTimer>) {
        *self.timer.lock().unwrap_or_else(|e| e.into_inner()) = timer;
    }

    /// The attached timer, if any.
    pub fn timer(&self) -> Option<super::timer::SharedGpuTimer> {
        self.timer.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The same device with a timer slot of its own: what is attached to the copy does not time
    /// the original's jobs (the page's live view does not land in the training profile).
    pub fn with_own_timer(&self) -> Self {
        Self { timer: Arc::default(), ..self.clone() }
    }

    /// Stops using the named optional features (`OptionalFeatures::NAMES`), so that this
    /// adapter takes the paths of adapters without them: how the portable kernels are measured
    /// on a GPU that has everything. Call before building renderers.
    pub fn without(mut self, names: &[String]) -> Result<Self, GpuError> {
        self.features = self.features.without(names)?;
        self.report.features = self.features;
        Ok(self)
    }

    /// Why the device was lost, if it was: nothing submitted to it runs any more.
    pub fn lost(&self) -> Option<String> {
        self.lost.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Something that records that the device was lost, for an error watcher of the device's
    /// own (the page's; natively the context watches the device itself). The first reason
    /// stays. It holds no device, so a device callback may keep it.
    pub fn loss_recorder(&self) -> impl Fn(String) + Send + Sync + 'static {
        let lost = self.lost.clone();
        move |reason| record_loss(&lost, reason)
    }

    pub fn limits(&self) -> wgpu::Limits {
        self.device.limits()
    }

    /// Largest size one storage binding may have, in bytes.
    pub fn max_binding_bytes(&self) -> u64 {
        self.device.limits().max_storage_buffer_binding_size.min(self.device.limits().max_buffer_size)
    }
}

/// Backends: WebGPU in the browser; natively Vulkan, Metal or DX12 (GL only as a last resort,
/// since it lacks compute features we rely on).
pub fn default_instance_descriptor() -> wgpu::InstanceDescriptor {
    let backends = if cfg!(target_arch = "wasm32") {
        wgpu::Backends::BROWSER_WEBGPU
    } else {
        wgpu::Backends::from_env().unwrap_or(wgpu::Backends::VULKAN | wgpu::Backends::METAL | wgpu::Backends::DX12)
    };
    wgpu::InstanceDescriptor { backends, ..wgpu::InstanceDescriptor::new_without_display_handle_from_env() }
}

async fn pick_adapter(instance: &wgpu::Instance, surface: Option<&wgpu::Surface<'_>>) -> Result<wgpu::Adapter, GpuError> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = surface;
        ranked_adapters(instance).await.into_iter().next().ok_or_else(|| GpuError::NoAdapter("no adapter with compute shaders".into()))
    }
    #[cfg(target_arch = "wasm32")]
    {
        instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                force_fallback_adapter: false,
                compatible_surface: surface,
                apply_limit_buckets: false,
            })
            .await
            .map_err(|e| GpuError::NoAdapter(e.to_string()))
    }
}

/// The adapters with compute shaders, best first: discrete, integrated, virtual, other, CPU
/// (in enumeration order within a kind).
#[cfg(not(target_arch = "wasm32"))]
async fn ranked_adapters(instance: &wgpu::Instance) -> Vec<wgpu::Adapter> {
    let rank = |a: &wgpu::Adapter| match a.get_info().device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    };
    let mut adapters: Vec<wgpu::Adapter> = instance
        .enumerate_adapters(wgpu::Backends::all())
        .await
        .into_iter()
        .filter(|a| a.get_downlevel_capabilities().flags.contains(wgpu::DownlevelFlags::COMPUTE_SHADERS))
        .collect();
    adapters.sort_by_key(rank);
    adapters
}

/// The adapter's own limits for what the renderer's buffer sizes depend on, core WebGPU for the
/// rest; compute workgroup sizes stay at what every backend gives (256 invocations).
fn raised_limits(adapter: &wgpu::Limits) -> wgpu::Limits {
    wgpu::Limits {
        max_storage_buffer_binding_size: adapter.max_storage_buffer_binding_size,
        max_buffer_size: adapter.max_buffer_size,
        max_storage_buffers_per_shader_stage: adapter.max_storage_buffers_per_shader_stage.min(16),
        max_compute_workgroups_per_dimension: adapter.max_compute_workgroups_per_dimension,
        max_compute_workgroup_storage_size: adapter.max_compute_workgroup_storage_size.min(32768),
        ..wgpu::Limits::default().using_resolution(adapter.clone())
    }
}

/// Reads a buffer that has MAP_READ usage; waits for the GPU natively, yields in the browser.
pub async fn read_buffer(gpu: &GpuContext, buffer: &wgpu::Buffer) -> Result<Vec<u8>, GpuError> {
    with_mapped(gpu, buffer, |bytes| bytes.to_vec()).await
}

/// Maps a MAP_READ buffer, hands its bytes to `read` and unmaps it: callers copy out only what
/// they need, straight from the mapping (no copy of the whole buffer first).
pub async fn with_mapped<R>(gpu: &GpuContext, buffer: &wgpu::Buffer, read: impl FnOnce(&[u8]) -> R) -> Result<R, GpuError> {
    let slice = buffer.slice(..);
    let (sender, receiver) = futures_channel::oneshot::channel();
    slice.map_async(wgpu::MapMode::Read, move |result| {
        let _ = sender.send(result);
    });
    #[cfg(not(target_arch = "wasm32"))]
    gpu.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| GpuError::Readback(e.to_string()))?;
    #[cfg(target_arch = "wasm32")]
    let _ = gpu;
    receiver
        .await
        .map_err(|_| GpuError::Readback("the map callback was dropped".into()))?
        .map_err(|e| GpuError::Readback(e.to_string()))?;
    // Unmapped on every path, so that the (cached) buffer can be mapped again.
    let result = slice.get_mapped_range().map(|view| read(&view)).map_err(|e| GpuError::Readback(e.to_string()));
    buffer.unmap();
    result
}
