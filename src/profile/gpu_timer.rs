//! GPU time per stage from timestamp queries written at the start and end of each compute pass.
//! Only where the adapter has timestamp queries; `GpuTimer::new` says None otherwise.

use crate::GpuContext;

pub struct GpuTimer {
    queries: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    capacity: u32,
    stages: Vec<&'static str>,
}

impl GpuTimer {
    /// A timer for up to `max_passes` passes, or None without timestamp support.
    pub fn new(gpu: &GpuContext, max_passes: u32) -> Option<Self> {
        if !gpu.features.timestamp_queries {
            return None;
        }
        let capacity = max_passes.clamp(1, 2048) * 2;
        Some(Self {
            queries: gpu.device.create_query_set(&wgpu::QuerySetDescriptor { label: Some("stage timestamps"), ty: wgpu::QueryType::Timestamp, count: capacity }),
            resolve: gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("timestamp resolve"),
                size: capacity as u64 * 8,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            }),
            capacity,
            stages: Vec::new(),
        })
    }

    pub fn capacity_passes(&self) -> u32 {
        self.capacity / 2
    }

    /// Forgets the passes of the last encode.
    pub fn reset(&mut self) {
        self.stages.clear();
    }

    /// Timestamp writes for the next pass, named `stage`; None once the query set is full.
    pub fn next_pass(&mut self, stage: &'static str) -> Option<wgpu::ComputePassTimestampWrites<'_>> {
        let index = self.stages.len() as u32 * 2;
        if index + 2 > self.capacity {
            return None;
        }
        self.stages.push(stage);
        Some(wgpu::ComputePassTimestampWrites { query_set: &self.queries, beginning_of_pass_write_index: Some(index), end_of_pass_write_index: Some(index + 1) })
    }

    /// Resolves the timestamps into `staging` (MAP_READ, at least `bytes()` long) at `offset`.
    pub fn resolve(&self, encoder: &mut wgpu::CommandEncoder, staging: &wgpu::Buffer, offset: u64) {
        let count = self.stages.len() as u32 * 2;
        if count == 0 {
            return;
        }
        encoder.resolve_query_set(&self.queries, 0..count, &self.resolve, 0);
        encoder.copy_buffer_to_buffer(&self.resolve, 0, staging, offset, count as u64 * 8);
    }

    pub fn bytes(&self) -> u64 {
        self.stages.len() as u64 * 16
    }

    /// Milliseconds per stage, summed over passes of the same name, in first-seen order.
    pub fn stage_millis(&self, gpu: &GpuContext, raw: &[u8]) -> Vec<(String, f64)> {
        let ticks: &[u64] = bytemuck::cast_slice(raw);
        let period_ns = gpu.queue.get_timestamp_period() as f64;
        let mut out: Vec<(String, f64)> = Vec::new();
        for (i, stage) in self.stages.iter().enumerate() {
            let ms = ticks[2 * i + 1].saturating_sub(ticks[2 * i]) as f64 * period_ns / 1e6;
            match out.iter_mut().find(|(s, _)| s == stage) {
                Some(entry) => entry.1 += ms,
                None => out.push((stage.to_string(), ms)),
            }
        }
        out
    }
}
