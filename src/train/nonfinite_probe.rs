//! A debugging aid for the hunt for non-finite splats (native only): with
//! `WGSPLAT_PROBE_NONFINITE=N` in the environment, the trainer reads its whole state back every
//! N steps and, at the first splat that holds an infinite or NaN value, prints that splat as it
//! is now, as it was N steps earlier (when no density-control round renumbered the splats in
//! between) and the gradients of the last step, then stops the run. Costs a full readback per
//! check, so it is off unless asked for.

use super::densify::RefineState;

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
    let lens = super::densify::row_lens(coeffs);
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
