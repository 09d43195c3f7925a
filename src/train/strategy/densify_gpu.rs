//! Density control on the GPU: a round of clone, split and prune (`densify_plan.wgsl`: what
//! happens to each splat; `kernel::compact` and `kernel::scan`: where each survivor and each new
//! splat goes; `densify_apply.wgsl`: every parameter group and its Adam moments gathered into
//! that order) and the opacity reset, with the splats, moments and statistics never leaving the
//! GPU. The one thing read back is the round's counts (how many splats there are now, and the
//! report), which the CPU needs to size the next dispatches. Buffers grow geometrically with
//! headroom, so most rounds allocate nothing. `cpu::refine` is the CPU twin, splat for
//! splat (the split samples are counter-based random numbers both draw alike).

use bytemuck::{Pod, Zeroable};

use super::densify::{DensifyConfig, PlanLimits, RefineReport};
use crate::GpuContext;
use crate::kernel::compact::{CompactBuffers, CompactPipelines, record_compact};
use crate::kernel::jobs::{self, dispatch_2d};
use crate::kernel::recorder::{Binding, Recorder, Uniforms, Workgroups};
use crate::kernel::scan::{ScanScratch, record_scan};
use crate::kernel::shader::compute_pipeline;
use crate::kernel::sort::{SortBuffers, SortPipelines, hist_len, record_sort};
use crate::kernel::{GpuError, buffers, submit, with_mapped};
use crate::render::GpuSplats;
use crate::train::adam::Group;

/// Mirrors `PlanParams` in densify_plan.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
struct PlanParams {
    num_splats: u32,
    prune_large: u32,
    max_growing: u32,
    use_rank: u32,
    grad_threshold: f32,
    log_dense_limit: f32,
    min_logit: f32,
    max_screen_size: f32,
    log_world_limit: f32,
    ln_split: f32,
    _pad: [u32; 2],
}

/// Mirrors `ApplyParams` in densify_apply.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
struct ApplyParams {
    num_splats: u32,
    row_len: u32,
    kind: u32,
    seed: u32,
    cap: f32,
    ln_split: f32,
    col_first: u32,
    slice_len: u32,
}

/// Columns a group is gathered in at a time: the gather buffer holds this many floats a splat
/// (the SH moments' rows are 96 wide; a whole-row buffer was ~150 MB at lego's 30k capacity,
/// 16 columns 25 MB, 8 columns 12 MB for 12 gather dispatches of the SH moments a round).
const SLICE_COLUMNS: u32 = 8;

/// Mirrors `MarkParams` in nonfinite_mark.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
struct MarkParams {
    num_splats: u32,
    row_len: u32,
    _pad: [u32; 2],
}

/// Mirrors `RankParams` in densify_rank.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
struct RankParams {
    num_splats: u32,
    grad_threshold: f32,
    _pad: [u32; 2],
}

/// The round's counts (densify_plan.wgsl): cloned, split, pruned, appended, non-finite.
const COUNTS: usize = 5;

/// Floats of density statistics a splat (densify_stats.wgsl).
const STATS_PER_SPLAT: u32 = 4;

const KIND_COPY: u32 = 0;
const KIND_MEANS: u32 = 1;
const KIND_LOG_SCALES: u32 = 2;
const KIND_MOMENTS: u32 = 3;

/// Buffers grow to this many times what is needed when they must grow. A growth copies the
/// splats and their moments on the GPU (~0.1 ms at lego's 260k), so a small headroom costs a few
/// more growths and saves memory for the whole run: at 1.5 lego's 30k run ended with capacity
/// for 1.36x its splats (65 MB of parameters and moments unused, 1/9 of the peak).
const HEADROOM: f64 = 1.125;

/// The optimizer state and statistics density control edits beside the splats.
pub struct DensifyTargets<'a> {
    pub splats: &'a mut GpuSplats,
    /// Adam moments per group (`(m, v)` per float), in `Group::ALL` order.
    pub moments: &'a mut [wgpu::Buffer; 5],
    /// 4 floats per splat (densify_stats.wgsl).
    pub stats: &'a mut wgpu::Buffer,
}

/// One round's settings.
#[derive(Debug, Clone, Copy)]
pub struct Round {
    pub extent: f32,
    /// After the first opacity reset: large splats are pruned.
    pub prune_large: bool,
    /// Seeds the split samples.
    pub seed: u32,
    /// At most this many splats after the round (0: no budget).
    pub max_splats: u32,
    /// What the round does: 3DGS's clone, split and prune, or only the removal of splats
    /// holding non-finite values (`Round::remove_nonfinite`).
    pub kind: RoundKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoundKind {
    /// Clone, split and prune (and remove non-finite splats); the statistics start again.
    Refine,
    /// Only remove the splats holding a non-finite value; everything else, the density
    /// statistics included, stays as it was (before a checkpoint or an export).
    RemoveNonFinite,
}

impl Round {
    /// A round that removes the splats holding non-finite values and changes nothing else.
    pub fn remove_nonfinite() -> Self {
        Self { extent: 1.0, prune_large: false, seed: 0, max_splats: 0, kind: RoundKind::RemoveNonFinite }
    }
}

/// Per-splat buffers of a round, for up to `capacity` splats.
struct RoundBuffers {
    capacity: u64,
    keep: wgpu::Buffer,
    /// 1 where a splat holds a non-finite value (nonfinite_mark.wgsl).
    bad: wgpu::Buffer,
    children: wgpu::Buffer,
    child_offsets: wgpu::Buffer,
    /// cloned, split, pruned, appended.
    counts: wgpu::Buffer,
    compact: CompactBuffers,
    /// The scan job of `child_offsets`.
    scan_job: wgpu::Buffer,
    scan_scratch: ScanScratch,
    /// With a budget: the rank of each splat among the candidates, and the sort behind it.
    rank: wgpu::Buffer,
    sort: Option<(SortBuffers, wgpu::Buffer, ScanScratch)>,
}

impl RoundBuffers {
    fn new(device: &wgpu::Device, capacity: u64, budget: bool) -> Self {
        let n = capacity;
        Self {
            capacity,
            keep: buffers::storage(device, "densify keep", n * 4),
            bad: buffers::storage(device, "non-finite flags", n * 4),
            children: buffers::storage(device, "densify children", n * 4),
            child_offsets: buffers::storage(device, "densify child offsets", n * 4),
            counts: buffers::storage(device, "densify counts", COUNTS as u64 * 4),
            compact: CompactBuffers::new(device, n),
            scan_job: buffers::counters(device, jobs::SCAN_JOB_LEN as usize),
            scan_scratch: ScanScratch::new(device, n),
            rank: buffers::storage(device, "densify rank", if budget { n * 4 } else { 4 }),
            sort: budget.then(|| {
                (
                    SortBuffers::new(device, "densify rank sort", n),
                    buffers::counters(device, jobs::SORT_JOB_LEN as usize),
                    ScanScratch::new(device, hist_len(n)),
                )
            }),
        }
    }

    fn memory_bytes(&self) -> u64 {
        let sort = self.sort.as_ref().map_or(0, |(s, c, scratch)| s.memory_bytes() + c.size() + scratch.memory_bytes());
        [&self.keep, &self.bad, &self.children, &self.child_offsets, &self.counts, &self.scan_job, &self.rank]
            .iter()
            .map(|b| b.size())
            .sum::<u64>()
            + self.compact.memory_bytes()
            + self.scan_scratch.memory_bytes()
            + sort
    }
}

pub struct GpuDensify {
    plan: wgpu::ComputePipeline,
    mark_nonfinite: wgpu::ComputePipeline,
    total_children: wgpu::ComputePipeline,
    apply: wgpu::ComputePipeline,
    scatter_slice: wgpu::ComputePipeline,
    opacity_cap: wgpu::ComputePipeline,
    rank_keys: wgpu::ComputePipeline,
    ranks: wgpu::ComputePipeline,
    compact: CompactPipelines,
    sort: SortPipelines,
    round: Option<RoundBuffers>,
    /// Where a group is gathered, a slice of its columns at a time, before it goes back.
    temp: Option<wgpu::Buffer>,
    staging: wgpu::Buffer,
    uniforms: Uniforms,
}

#[derive(Debug, thiserror::Error)]
pub enum DensifyError {
    #[error(transparent)]
    Gpu(#[from] GpuError),
    #[error("density control pruned every splat (the scene is empty)")]
    NothingLeft,
    #[error("{needed} splats need {bytes} MiB for one parameter group; the adapter binds at most {limit} MiB (set a splat budget)")]
    TooLarge { needed: u64, bytes: u64, limit: u64 },
}

impl GpuDensify {
    pub fn new(gpu: &GpuContext) -> Self {
        let device = &gpu.device;
        Self {
            plan: compute_pipeline(device, crate::shaders::train::DENSIFY_PLAN, &[], "main"),
            mark_nonfinite: compute_pipeline(device, crate::shaders::train::NONFINITE_MARK, &[], "main"),
            total_children: compute_pipeline(device, crate::shaders::train::DENSIFY_PLAN, &[], "total_children"),
            apply: compute_pipeline(device, crate::shaders::train::DENSIFY_APPLY, &[], "main"),
            scatter_slice: compute_pipeline(device, crate::shaders::train::DENSIFY_APPLY, &[], "scatter_slice"),
            opacity_cap: compute_pipeline(device, crate::shaders::train::DENSIFY_APPLY, &[], "opacity_cap"),
            rank_keys: compute_pipeline(device, crate::shaders::train::DENSIFY_RANK, &[], "keys_of"),
            ranks: compute_pipeline(device, crate::shaders::train::DENSIFY_RANK, &[], "ranks"),
            compact: CompactPipelines::new(device),
            sort: SortPipelines::new(device),
            round: None,
            temp: None,
            staging: buffers::readback(device, "densify counts", 32),
            uniforms: Uniforms::default(),
        }
    }

    /// GPU memory of the round's own buffers.
    pub fn memory_bytes(&self) -> u64 {
        self.round.as_ref().map_or(0, RoundBuffers::memory_bytes) + self.temp.as_ref().map_or(0, |t| t.size())
    }

    /// One round over `targets`: clone, split and prune (the statistics start again from zero),
    /// or only the removal of non-finite splats (`RoundKind::RemoveNonFinite`: the statistics
    /// stay). Either removes every splat holding a non-finite parameter, moment or statistic,
    /// and counts them in the report. Waits for the round's counts (a few bytes), nothing else.
    pub async fn refine(
        &mut self,
        gpu: &GpuContext,
        targets: DensifyTargets<'_>,
        config: &DensifyConfig,
        round: Round,
    ) -> Result<RefineReport, DensifyError> {
        let device = &gpu.device;
        let n = targets.splats.num_splats;
        if n == 0 {
            return Err(DensifyError::NothingLeft);
        }
        let refining = round.kind == RoundKind::Refine;
        let limits = PlanLimits::new(config, round.extent);
        // Every growing splat adds one splat at most (a clone: +1; a split: -1 + 2), so a round
        // can at most double the scene: only a budget below that needs the candidates ranked.
        let budget = refining && round.max_splats > 0 && 2 * n as u64 > round.max_splats as u64;
        if !self.round.as_ref().is_some_and(|r| r.capacity >= n as u64 && (r.sort.is_some() || !budget)) {
            let capacity = grown(n as u64, self.round.as_ref().map_or(0, |r| r.capacity));
            self.round = Some(RoundBuffers::new(device, capacity, budget));
        }
        let bufs = self.round.as_ref().expect("sized above");
        let per_splat = Workgroups::Direct(dispatch_2d(n.div_ceil(256)));
        let splats = &*targets.splats;

        // Pass 1: the plan, and where everything goes.
        let mut rec = Recorder::new();
        rec.scope(Some("non-finite check"));
        rec.clear(&bufs.counts);
        rec.clear(&bufs.bad);
        self.record_mark(&mut rec, &targets, n, &bufs.bad);
        rec.scope(Some("density control"));
        if budget {
            let (sort, sort_job, scratch) = bufs.sort.as_ref().expect("made with a budget");
            let mut job = vec![0u32; jobs::SORT_JOB_LEN as usize];
            jobs::plan_sort(&mut job, 0, n);
            gpu.queue.write_buffer(sort_job, 0, bytemuck::cast_slice(&job));
            let params = RankParams { num_splats: n, grad_threshold: config.grad_threshold, _pad: [0; 2] };
            rec.dispatch(
                "densify_rank_keys",
                &self.rank_keys,
                &params,
                vec![(0, Binding::Params), (1, Binding::of(targets.stats)), (2, Binding::of(&sort.keys[0]))],
                per_splat_groups(n),
            );
            let out = record_sort(&mut rec, &self.sort, sort_job, 0, 32, sort, scratch, true);
            rec.dispatch(
                "densify_ranks",
                &self.ranks,
                &params,
                vec![
                    (0, Binding::Params),
                    (2, Binding::of(&sort.keys[out])),
                    (3, Binding::of(&sort.values[out])),
                    (4, Binding::of(&bufs.rank)),
                ],
                per_splat_groups(n),
            );
        }
        let mut plan = PlanParams {
            num_splats: n,
            prune_large: round.prune_large as u32,
            max_growing: if budget { round.max_splats.saturating_sub(n) } else { u32::MAX },
            use_rank: budget as u32,
            grad_threshold: config.grad_threshold,
            log_dense_limit: limits.log_dense_limit,
            min_logit: limits.min_logit,
            max_screen_size: config.max_screen_size,
            log_world_limit: limits.log_world_limit,
            ln_split: limits.ln_split,
            _pad: [0; 2],
        };
        if !refining {
            // Nothing grows (no finite mean gradient reaches infinity), nothing is transparent
            // enough (no opacity is below -infinity) or too large: only the flagged splats go.
            plan = PlanParams { prune_large: 0, grad_threshold: f32::INFINITY, min_logit: f32::NEG_INFINITY, max_screen_size: 0.0, ..plan };
        }
        rec.dispatch(
            "densify_plan",
            &self.plan,
            &plan,
            vec![
                (0, Binding::Params),
                (1, Binding::of(&splats.log_scales)),
                (2, Binding::of(&splats.opacity_logits)),
                (3, Binding::of(targets.stats)),
                (4, Binding::of(&bufs.keep)),
                (5, Binding::of(&bufs.children)),
                (6, Binding::of(&bufs.counts)),
                (7, Binding::of(&bufs.rank)),
                (9, Binding::of(&bufs.bad)),
            ],
            per_splat,
        );
        record_compact(gpu, &mut rec, &self.compact, &bufs.keep, n, &bufs.compact);
        let mut job = vec![0u32; jobs::SCAN_JOB_LEN as usize];
        jobs::plan_scan(&mut job, 0, n);
        gpu.queue.write_buffer(&bufs.scan_job, 0, bytemuck::cast_slice(&job));
        rec.copy(&bufs.children, 0, &bufs.child_offsets, 0, n as u64 * 4);
        record_scan(&mut rec, &self.compact.scan, &bufs.scan_job, 0, &bufs.child_offsets, &bufs.scan_scratch);
        rec.dispatch(
            "densify_total_children",
            &self.total_children,
            &plan,
            vec![
                (0, Binding::Params),
                (5, Binding::of(&bufs.children)),
                (6, Binding::of(&bufs.counts)),
                (8, Binding::of(&bufs.child_offsets)),
            ],
            Workgroups::Direct([1, 1, 1]),
        );
        let counts_bytes = COUNTS as u64 * 4;
        rec.copy(&bufs.counts, 0, &self.staging, 0, counts_bytes);
        rec.copy(&bufs.compact.count, 0, &self.staging, counts_bytes, 4);
        submit::submit(gpu, "density control", rec, &mut self.uniforms, |_| {});
        let counts: [u32; COUNTS + 1] = with_mapped(gpu, &self.staging, |bytes| {
            let words: &[u32] = bytemuck::cast_slice(&bytes[..(COUNTS + 1) * 4]);
            std::array::from_fn(|i| words[i])
        })
        .await?;
        let [cloned, split, pruned, appended, nonfinite, kept] = counts;
        let total = kept as u64 + appended as u64;
        if total == 0 {
            return Err(DensifyError::NothingLeft);
        }
        let report = RefineReport {
            cloned: cloned as usize,
            split: split as usize,
            pruned: pruned as usize,
            nonfinite: nonfinite as usize,
            total: total as usize,
        };
        if !refining && nonfinite == 0 {
            // Nothing to remove: the splats stay where they are.
            return Ok(report);
        }

        // Pass 2: every group gathered into the new order (buffers grown first where needed).
        let coeffs = splats.coeffs_per_splat();
        let max_row = Group::ALL.iter().map(|g| g.row_len(coeffs) as u64 * 2).max().unwrap_or(1);
        let max_slice = max_row.min(SLICE_COLUMNS as u64);
        let limit = gpu.max_binding_bytes();
        if total * max_row * 4 > limit {
            return Err(DensifyError::TooLarge { needed: total, bytes: (total * max_row * 4) >> 20, limit: limit >> 20 });
        }
        let mut rec = Recorder::new();
        rec.scope(Some("density control"));
        let needed_capacity = total.max(n as u64);
        let capacity = if needed_capacity > targets.splats.capacity as u64 {
            let capacity = grown(needed_capacity, 0)
                .min(limit / (max_row * 4))
                .min(if round.max_splats > 0 { round.max_splats as u64 } else { u64::MAX })
                .max(needed_capacity);
            grow(device, &mut rec, targets.splats, targets.moments, targets.stats, capacity as u32);
            capacity
        } else {
            targets.splats.capacity as u64
        };
        let temp_bytes = capacity * max_slice * 4;
        if self.temp.as_ref().is_none_or(|t| t.size() < temp_bytes) {
            self.temp = Some(buffers::storage(device, "densify gather", temp_bytes));
        }
        let temp = self.temp.clone().expect("sized above");
        let bufs = self.round.as_ref().expect("sized above");
        let splats = &*targets.splats;
        // The means first: their split children read the quaternions and scales before those
        // are gathered.
        let groups: [(Group, u32, &wgpu::Buffer); 5] = [
            (Group::Means, KIND_MEANS, &splats.means),
            (Group::Quats, KIND_COPY, &splats.quats),
            (Group::LogScales, KIND_LOG_SCALES, &splats.log_scales),
            (Group::Opacity, KIND_COPY, &splats.opacity_logits),
            (Group::Sh, KIND_COPY, &splats.sh),
        ];
        let gather = |rec: &mut Recorder, buffer: &wgpu::Buffer, row_len: u32, kind: u32| {
            for col_first in (0..row_len).step_by(SLICE_COLUMNS as usize) {
                let slice_len = SLICE_COLUMNS.min(row_len - col_first);
                let params = ApplyParams {
                    num_splats: n,
                    row_len,
                    kind,
                    seed: round.seed,
                    cap: 0.0,
                    ln_split: limits.ln_split,
                    col_first,
                    slice_len,
                };
                rec.dispatch(
                    "densify_apply",
                    &self.apply,
                    &params,
                    vec![
                        (0, Binding::Params),
                        (1, Binding::of(buffer)),
                        (2, Binding::of(&temp)),
                        (3, Binding::of(&bufs.keep)),
                        (4, Binding::of(&bufs.compact.offsets)),
                        (5, Binding::of(&bufs.children)),
                        (6, Binding::of(&bufs.child_offsets)),
                        (7, Binding::of(&bufs.compact.count)),
                        (8, Binding::of(&splats.quats)),
                        (9, Binding::of(&splats.log_scales)),
                    ],
                    Workgroups::Direct(dispatch_2d((n as u64 * slice_len as u64).div_ceil(256) as u32)),
                );
                if slice_len == row_len {
                    rec.copy(&temp, 0, buffer, 0, total * row_len as u64 * 4);
                } else {
                    let params = ApplyParams { num_splats: total as u32, ..params };
                    rec.dispatch(
                        "densify_scatter_slice",
                        &self.scatter_slice,
                        &params,
                        vec![(0, Binding::Params), (1, Binding::of(&temp)), (2, Binding::of(buffer))],
                        Workgroups::Direct(dispatch_2d((total * slice_len as u64).div_ceil(256) as u32)),
                    );
                }
            }
        };
        for (group, kind, buffer) in groups {
            gather(&mut rec, buffer, group.row_len(coeffs), kind);
        }
        for (index, group) in Group::ALL.iter().enumerate() {
            gather(&mut rec, &targets.moments[index], group.row_len(coeffs) * 2, KIND_MOMENTS);
        }
        if refining {
            rec.clear(targets.stats);
        } else {
            // Nothing is appended in this round, so a plain copy keeps each survivor's
            // statistics.
            gather(&mut rec, targets.stats, STATS_PER_SPLAT, KIND_COPY);
        }
        submit::submit(gpu, "density control", rec, &mut self.uniforms, |_| {});
        // Rounds are a hundred steps apart: keeping this round's bind groups would only keep
        // the buffers it replaced alive until the next one.
        self.uniforms.forget_bind_groups();
        targets.splats.num_splats = total as u32;
        Ok(report)
    }

    /// Records the non-finite check of every float a splat holds (its five parameter groups,
    /// their Adam moments and its density statistics) into `bad` (cleared by the caller).
    fn record_mark(&self, rec: &mut Recorder, targets: &DensifyTargets<'_>, n: u32, bad: &wgpu::Buffer) {
        let splats = &*targets.splats;
        let coeffs = splats.coeffs_per_splat();
        let params = [&splats.means, &splats.quats, &splats.log_scales, &splats.opacity_logits, &splats.sh];
        let rows = Group::ALL.iter().zip(params).map(|(group, buffer)| (buffer, group.row_len(coeffs)));
        let moments = Group::ALL.iter().zip(targets.moments.iter()).map(|(group, buffer)| (buffer, group.row_len(coeffs) * 2));
        for (buffer, row_len) in rows.chain(moments).chain(std::iter::once((&*targets.stats, STATS_PER_SPLAT))) {
            let params = MarkParams { num_splats: n, row_len, _pad: [0; 2] };
            rec.dispatch(
                "nonfinite_mark",
                &self.mark_nonfinite,
                &params,
                vec![(0, Binding::Params), (1, Binding::of(buffer)), (2, Binding::of(bad))],
                per_splat_groups(n),
            );
        }
    }

    /// Caps every opacity at `max_opacity` and zeroes the opacity moments (3DGS: 0.01), on the
    /// GPU; nothing is read back.
    pub fn reset_opacity(&mut self, gpu: &GpuContext, splats: &GpuSplats, opacity_moments: &wgpu::Buffer, max_opacity: f32) {
        let n = splats.num_splats;
        let mut rec = Recorder::new();
        rec.stage("opacity reset");
        let params = ApplyParams {
            num_splats: n,
            row_len: 1,
            kind: KIND_COPY,
            seed: 0,
            cap: (max_opacity / (1.0 - max_opacity)).ln(),
            ln_split: 0.0,
            col_first: 0,
            slice_len: 1,
        };
        rec.dispatch(
            "opacity_cap",
            &self.opacity_cap,
            &params,
            vec![(0, Binding::Params), (2, Binding::of(&splats.opacity_logits))],
            per_splat_groups(n),
        );
        rec.clear(opacity_moments);
        submit::submit(gpu, "opacity reset", rec, &mut self.uniforms, |_| {});
        self.uniforms.forget_bind_groups();
    }
}

fn per_splat_groups(n: u32) -> Workgroups {
    Workgroups::Direct(dispatch_2d(n.div_ceil(256)))
}

/// A capacity for `needed` elements with headroom, never below `current`.
fn grown(needed: u64, current: u64) -> u64 {
    ((needed as f64 * HEADROOM).ceil() as u64).max(current).max(needed).max(1024)
}

/// Replaces the splat, moment and statistics buffers with ones of `capacity` splats holding the
/// same contents (copies recorded into `rec`, before the round's gathers).
fn grow(
    device: &wgpu::Device,
    rec: &mut Recorder,
    splats: &mut GpuSplats,
    moments: &mut [wgpu::Buffer; 5],
    stats: &mut wgpu::Buffer,
    capacity: u32,
) {
    let coeffs = splats.coeffs_per_splat();
    let mut regrow = |buffer: &mut wgpu::Buffer, floats_per_splat: u64, label: &str| {
        let bigger = buffers::storage(device, label, capacity as u64 * floats_per_splat * 4);
        rec.copy(buffer, 0, &bigger, 0, buffer.size().min(bigger.size()));
        *buffer = bigger;
    };
    regrow(&mut splats.means, 3, "means");
    regrow(&mut splats.quats, 4, "quats");
    regrow(&mut splats.log_scales, 3, "log_scales");
    regrow(&mut splats.opacity_logits, 1, "opacity_logits");
    regrow(&mut splats.sh, 3 * coeffs as u64, "sh");
    for (index, group) in Group::ALL.iter().enumerate() {
        regrow(&mut moments[index], group.row_len(coeffs) as u64 * 2, "adam moments");
    }
    regrow(stats, 4, "densify stats");
    splats.capacity = capacity;
}
