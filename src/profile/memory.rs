//! Memory accounting: bytes in GPU buffers by category, current and peak, and the number of
//! allocations; host memory where the platform tells it.

use serde::{Deserialize, Serialize};

/// What a GPU buffer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryCategory {
    /// Splat parameters (means, rotations, scales, opacities, SH).
    Splats,
    /// Optimizer moments and gradients of the splat parameters.
    OptimizerState,
    /// Per-render scratch: projections, sort buffers, scans, tile ranges.
    Intermediates,
    /// Rendered images left on the GPU.
    Outputs,
    /// Training images (ground truth) on the GPU.
    Images,
    /// Readback and upload staging, timestamp query buffers.
    Staging,
    Other,
}

impl MemoryCategory {
    pub const ALL: [MemoryCategory; 7] =
        [Self::Splats, Self::OptimizerState, Self::Intermediates, Self::Outputs, Self::Images, Self::Staging, Self::Other];

    pub fn name(self) -> &'static str {
        match self {
            Self::Splats => "splats",
            Self::OptimizerState => "optimizer_state",
            Self::Intermediates => "intermediates",
            Self::Outputs => "outputs",
            Self::Images => "images",
            Self::Staging => "staging",
            Self::Other => "other",
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|c| *c == self).expect("listed")
    }
}

/// Current and peak bytes per category and in all, and how many allocations were seen.
#[derive(Debug, Clone, Default)]
pub struct MemoryLedger {
    current: [u64; 7],
    peak: [u64; 7],
    total_peak: u64,
    allocations: u64,
    frees: u64,
}

impl MemoryLedger {
    /// A buffer of `bytes` was created.
    pub fn alloc(&mut self, category: MemoryCategory, bytes: u64) {
        let i = category.index();
        self.current[i] += bytes;
        self.allocations += 1;
        self.update_peaks(i);
    }

    /// A buffer of `bytes` was dropped.
    pub fn free(&mut self, category: MemoryCategory, bytes: u64) {
        let i = category.index();
        self.current[i] = self.current[i].saturating_sub(bytes);
        self.frees += 1;
    }

    /// The category now holds `bytes` (for owners that report totals, like
    /// `Renderer::memory_bytes`): a growth counts as one allocation, a shrink as one free.
    pub fn set(&mut self, category: MemoryCategory, bytes: u64) {
        let i = category.index();
        let old = self.current[i];
        if bytes > old {
            self.allocations += 1;
        } else if bytes < old {
            self.frees += 1;
        }
        self.current[i] = bytes;
        self.update_peaks(i);
    }

    fn update_peaks(&mut self, i: usize) {
        self.peak[i] = self.peak[i].max(self.current[i]);
        self.total_peak = self.total_peak.max(self.total());
    }

    pub fn current(&self, category: MemoryCategory) -> u64 {
        self.current[category.index()]
    }

    pub fn peak(&self, category: MemoryCategory) -> u64 {
        self.peak[category.index()]
    }

    pub fn total(&self) -> u64 {
        self.current.iter().sum()
    }

    pub fn total_peak(&self) -> u64 {
        self.total_peak
    }

    pub fn allocations(&self) -> u64 {
        self.allocations
    }

    pub fn frees(&self) -> u64 {
        self.frees
    }

    /// (category, current bytes) for every category.
    pub fn current_by_category(&self) -> Vec<(MemoryCategory, u64)> {
        MemoryCategory::ALL.iter().map(|&c| (c, self.current(c))).collect()
    }

    pub fn summary(&self) -> MemorySummary {
        MemorySummary {
            categories: MemoryCategory::ALL
                .iter()
                .map(|&c| CategoryBytes { category: c, current_bytes: self.current(c), peak_bytes: self.peak(c) })
                .collect(),
            current_bytes: self.total(),
            peak_bytes: self.total_peak,
            allocations: self.allocations,
            frees: self.frees,
            host: HostMemory::now(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryBytes {
    pub category: MemoryCategory,
    pub current_bytes: u64,
    pub peak_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemorySummary {
    pub categories: Vec<CategoryBytes>,
    /// GPU bytes over every category, now and at the peak of their sum.
    pub current_bytes: u64,
    pub peak_bytes: u64,
    pub allocations: u64,
    pub frees: u64,
    /// Host memory of this process, where the platform tells it.
    pub host: Option<HostMemory>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HostMemory {
    /// Resident set size now.
    pub resident_bytes: u64,
    /// Peak resident set size.
    pub peak_resident_bytes: Option<u64>,
}

impl HostMemory {
    /// Linux: /proc/self/status (VmRSS, VmHWM). Browser: the size of the wasm linear memory
    /// (which never shrinks, so it is its own peak). None elsewhere.
    pub fn now() -> Option<Self> {
        #[cfg(target_arch = "wasm32")]
        {
            use wasm_bindgen::JsCast;
            let memory = wasm_bindgen::memory().dyn_into::<js_sys::WebAssembly::Memory>().ok()?;
            let bytes = memory.buffer().dyn_into::<js_sys::ArrayBuffer>().ok()?.byte_length() as u64;
            Some(Self { resident_bytes: bytes, peak_resident_bytes: Some(bytes) })
        }
        #[cfg(target_os = "linux")]
        {
            let status = std::fs::read_to_string("/proc/self/status").ok()?;
            let field = |key: &str| -> Option<u64> {
                let line = status.lines().find(|l| l.starts_with(key))?;
                let kb: u64 = line[key.len()..].trim().trim_end_matches("kB").trim().parse().ok()?;
                Some(kb * 1024)
            };
            Some(Self { resident_bytes: field("VmRSS:")?, peak_resident_bytes: field("VmHWM:") })
        }
        #[cfg(not(any(target_os = "linux", target_arch = "wasm32")))]
        {
            None
        }
    }
}

/// A renderer's GPU memory by category: (splats, intermediates, outputs), from what the
/// renderer holds (`Renderer::memory_bytes`), what its splats take (`GpuSplats::memory_bytes`)
/// and what the caller knows the output images take (e.g. pixels of the largest batch times
/// 20); the renderer's bytes beyond the outputs count as intermediates. Numbers in, so that
/// profiling needs nothing of the renderer.
pub fn renderer_memory(renderer_bytes: u64, splats_bytes: u64, outputs_bytes: u64) -> [(MemoryCategory, u64); 3] {
    let outputs = outputs_bytes.min(renderer_bytes);
    [(MemoryCategory::Splats, splats_bytes), (MemoryCategory::Intermediates, renderer_bytes - outputs), (MemoryCategory::Outputs, outputs)]
}
