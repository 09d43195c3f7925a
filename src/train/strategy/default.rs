//! 3DGS's adaptive density control as a `Strategy`: the gradient statistics gathered in the
//! refinement window, a round of clone, split and prune on the GPU every few hundred views
//! (`densify_gpu`, from the statistics summed over the devices), opacity resets, and the guard
//! that removes splats holding non-finite values (in every round, and now and then after the
//! window). When each happens is its `schedule`.

use super::densify::RefineReport;
use super::densify_gpu::{DensifyTargets, GpuDensify, Round, RoundKind};
use super::gradient_stats::GradientStats;
use super::schedule::RefineSchedule;
use super::{Between, RunState, Strategy, StrategyFuture, StrategyState};
use crate::GpuContext;
use crate::render::backward::GradientHook;
use crate::train::config::TrainConfig;
use crate::train::error::TrainError;
use crate::train::nonfinite::NONFINITE_GUARD_EVERY;
use crate::train::step_trace::Phase;

/// Opacities are capped at this by a reset (3DGS).
const RESET_OPACITY: f32 = 0.01;

/// One device's part: its statistics pass and its rounds' pipelines and buffers.
struct OnDevice {
    stats: GradientStats,
    density: GpuDensify,
}

#[derive(Default)]
pub struct DefaultStrategy {
    devices: Vec<OnDevice>,
    /// Whether an opacity reset happened (large splats are pruned from then on).
    opacity_was_reset: bool,
    last_refine: Option<RefineReport>,
}

impl DefaultStrategy {
    /// One round of clone, split and prune on the GPU: only the round's counts come back. The
    /// devices' statistics are summed first and every device runs the same round.
    async fn refine(&mut self, run: &mut RunState<'_>) -> Result<(), TrainError> {
        let round = Round {
            extent: run.extent,
            prune_large: self.opacity_was_reset,
            seed: run.rng.next_u64() as u32,
            max_splats: run.splat_budget,
            kind: RoundKind::Refine,
        };
        run.exchange.share_stats(run.devices).await?;
        let report = self.round(run, round).await?;
        self.last_refine = Some(report);
        run.nonfinite.record(run.step, report.nonfinite, run.devices[0].splats.num_splats)
    }

    /// Runs `round` on every device, lead first; after a refinement each renderer is sized for
    /// the new scene. The devices' reports must agree.
    async fn round(&mut self, run: &mut RunState<'_>, round: Round) -> Result<RefineReport, TrainError> {
        let share = run.views_per_device();
        let mut lead: Option<RefineReport> = None;
        for (rank, (device, part)) in run.devices.iter_mut().zip(&mut self.devices).enumerate() {
            // A round may replace the splat and moment buffers: the old ones must not outlive
            // it in the jobs' kept bind groups.
            device.forget_bind_groups();
            let targets = DensifyTargets { splats: &mut device.splats, moments: &mut device.adam.moments, stats: &mut device.stats };
            let report = part.density.refine(&device.gpu, targets, &run.config.densify, round).await?;
            run.trace.record(Some(rank), Phase::Round);
            if round.kind == RoundKind::Refine {
                device.size_renderer(run.views, share, run.config.background).await?;
                run.trace.record(Some(rank), Phase::SizeRenderer);
            }
            match lead {
                None => lead = Some(report),
                Some(lead) if lead != report => {
                    let detail = match round.kind {
                        RoundKind::Refine => format!("density control on device {rank} gave {report:?}, on device 0 {lead:?}"),
                        RoundKind::RemoveNonFinite => {
                            format!("device {rank} held {} non-finite splats, device 0 {}", report.nonfinite, lead.nonfinite)
                        }
                    };
                    return Err(TrainError::ReplicasDiverged { step: run.step, detail });
                }
                Some(_) => {}
            }
        }
        Ok(lead.expect("a run has a device"))
    }

    async fn remove(&mut self, run: &mut RunState<'_>) -> Result<usize, TrainError> {
        // The round may replace the buffers the exchange's kept bind groups hold. It only
        // shrinks the scene: the renderers' buffers stay large enough.
        run.exchange.forget_bind_groups();
        let removed = self.round(run, Round::remove_nonfinite()).await?.nonfinite;
        run.nonfinite.record(run.step, removed, run.devices[0].splats.num_splats)?;
        Ok(removed)
    }
}

fn schedule(config: &TrainConfig) -> RefineSchedule {
    RefineSchedule::new(&config.densify, config.batch, config.steps)
}

impl Strategy for DefaultStrategy {
    fn add_device(&mut self, gpu: &GpuContext) {
        self.devices.push(OnDevice { stats: GradientStats::new(gpu), density: GpuDensify::new(gpu) });
    }

    fn memory_bytes(&self, rank: usize) -> u64 {
        self.devices.get(rank).map_or(0, |d| d.density.memory_bytes())
    }

    fn gradient_hook<'a>(
        &'a self,
        rank: usize,
        stats: &'a wgpu::Buffer,
        step: u32,
        config: &TrainConfig,
    ) -> Option<Box<dyn GradientHook + 'a>> {
        // The statistics matter only until the last round.
        let in_refine_window = step < schedule(config).stop;
        in_refine_window.then(|| Box::new(self.devices[rank].stats.hook(stats)) as Box<dyn GradientHook + 'a>)
    }

    fn between_steps<'a>(&'a mut self, mut run: RunState<'a>) -> StrategyFuture<'a, Between> {
        Box::pin(async move {
            let schedule = schedule(run.config);
            let step = run.step;
            let refined = schedule.refines_at(step);
            if refined {
                self.refine(&mut run).await?;
            } else if step >= schedule.stop && step.is_multiple_of(NONFINITE_GUARD_EVERY) {
                // Past the density-control window the guard runs on its own, now and then, so
                // that a splat that breaks late is gone before it can spread (one small readback).
                self.remove(&mut run).await?;
            }
            if schedule.resets_opacity_at(step) {
                for (rank, (device, part)) in run.devices.iter().zip(&mut self.devices).enumerate() {
                    part.density.reset_opacity(&device.gpu, &device.splats, &device.adam.moments[3], RESET_OPACITY);
                    run.trace.record(Some(rank), Phase::ResetOpacity);
                }
                self.opacity_was_reset = true;
            }
            Ok(Between { refined })
        })
    }

    fn remove_nonfinite<'a>(&'a mut self, mut run: RunState<'a>) -> StrategyFuture<'a, usize> {
        Box::pin(async move { self.remove(&mut run).await })
    }

    fn state(&self) -> StrategyState {
        StrategyState { opacity_was_reset: self.opacity_was_reset }
    }

    fn resume(&mut self, state: StrategyState) {
        self.opacity_was_reset = state.opacity_was_reset;
    }

    fn last_report(&self) -> Option<RefineReport> {
        self.last_refine
    }
}
