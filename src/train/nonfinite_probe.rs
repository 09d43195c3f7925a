//! A debugging aid for the hunt for non-finite splats (native only): with
//! `WGSPLAT_PROBE_NONFINITE=N` in the environment, the trainer reads its whole state back every
//! N steps and, at the first splat that holds an infinite or NaN value, prints that splat as it
//! is now, as it was N steps earlier (when no density-control round renumbered the splats in
//! between) and the gradients of the last step, then stops the run. Costs a full readback per
//! check, so it is off unless asked for.

use super::device::Device;
use super::error::TrainError;
use super::strategy::densify::RefineState;
use crate::kernel::buffers;
use crate::render::RenderError;

/// The probe's interval (steps) from the environment, if set.
pub fn interval_from_env() -> Option<u32> {
    std::env::var("WGSPLAT_PROBE_NONFINITE").ok()?.parse().ok().filter(|&n| n > 0)
}

pub struct Probe {
    pub every: u32,
    /// The state at the last check, with the number of splats then.
    previous: Option<(u32, RefineState)>,
}

impl Probe {
    pub fn new(every: u32) -> Self {
        Self { every, previous: None }
    }

    /// The check of `state` (the whole state read back at step `step`) with the lead device's
    /// last gradients; on a find, an error saying where the non-finite values entered: the
    /// loss's gradient of the last step, or the backward pass's per-projection sums.
    pub async fn run(&mut self, lead: &Device, state: RefineState, step: u32, renumbered: bool) -> Result<(), TrainError> {
        let gpu = &lead.gpu;
        let grads = match lead.renderer.last_gradients() {
            Some(g) => Some(g.read(gpu).await?),
            None => None,
        };
        let Some(report) = self.check(step, state, grads.as_ref(), renumbered) else { return Ok(()) };
        let v_pred = buffers::read_u32s(gpu, &lead.loss.v_pred, lead.loss.v_pred.size()).await.map_err(RenderError::from)?;
        let mut extra = census("v_pred (dL/d r, g, b, a per pixel)", &v_pred, 4);
        if let Some(g2d) = lead.renderer.last_grads2d() {
            let words = buffers::read_u32s(gpu, &g2d, g2d.size()).await.map_err(RenderError::from)?;
            extra += &census("grads2d (mean2d xy, conic xyz, opacity, rgb, depth, -, -)", &words, 12);
        }
        Err(TrainError::ProbeFoundNonFinite(report + &extra))
    }

    /// Checks `state` (of step `step`); a description of the first broken splats when there
    /// are any. `renumbered`: a density-control round ran since the last check.
    pub fn check(
        &mut self,
        step: u32,
        state: RefineState,
        grads: Option<&crate::render::cpu::backward::SplatGrads>,
        renumbered: bool,
    ) -> Option<String> {
        let broken: Vec<usize> = (0..state.splats.len()).filter(|&i| state.is_nonfinite(i)).collect();
        if broken.is_empty() {
            self.previous = Some((step, state));
            return None;
        }
        let mut out = format!("step {step}: {} of {} splats hold non-finite values\n", broken.len(), state.splats.len());
        for &i in broken.iter().take(4) {
            out += &format!("splat {i} now:\n{}", describe(&state, i));
            if let Some(g) = grads.filter(|g| g.means.len() == state.splats.len()) {
                let coeffs = state.splats.coeffs_per_splat();
                out += &format!(
                    "  last gradients: mean {:?} quat {:?} log_scale {:?} opacity {:?} sh[0..3] {:?}\n",
                    g.means[i],
                    g.quats[i],
                    g.log_scales[i],
                    g.opacity_logits[i],
                    &g.sh[i * coeffs * 3..i * coeffs * 3 + 3]
                );
            }
            match &self.previous {
                Some((then, prev)) if !renumbered && i < prev.splats.len() => {
                    out += &format!("splat {i} at step {then}:\n{}", describe(prev, i))
                }
                _ => out += "  (no earlier state of this splat: a density-control round renumbered the splats)\n",
            }
        }
        Some(out)
    }
}

fn describe(s: &RefineState, i: usize) -> String {
    let p = &s.splats;
    let coeffs = p.coeffs_per_splat();
    let lens = super::strategy::densify::row_lens(coeffs);
    let mut out = format!(
        "  mean {:?} quat {:?} log_scale {:?} opacity {:?} sh[0..3] {:?}\n  stats {:?}\n",
        p.means[i],
        p.rotations[i],
        p.log_scales[i],
        p.opacity_logits[i],
        &p.sh[i * coeffs * 3..i * coeffs * 3 + 3],
        s.stats[i]
    );
    for (name, (len, m)) in ["means", "quats", "log_scales", "opacity", "sh"].iter().zip(lens.iter().zip(&s.moments)) {
        let row = &m[i * len..(i + 1) * len];
        let shown = &row[..row.len().min(4)];
        out += &format!("  moments {name} {shown:?}\n");
    }
    out
}

/// Per column of `stride`-float rows: how many values are non-finite and the largest finite
/// magnitude, as a line.
pub fn census(name: &str, words: &[u32], stride: usize) -> String {
    let mut bad = vec![0usize; stride];
    let mut largest = vec![0f32; stride];
    for (i, w) in words.iter().enumerate() {
        let v = f32::from_bits(*w);
        if v.is_finite() {
            largest[i % stride] = largest[i % stride].max(v.abs());
        } else {
            bad[i % stride] += 1;
        }
    }
    format!("{name}: non-finite per column {bad:?}, largest finite {largest:?}\n")
}
