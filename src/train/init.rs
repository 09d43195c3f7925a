//! Initial splats: from a point cloud (COLMAP's points3D) or random points in the scene's
//! bounds, as 3DGS does: isotropic scales from the mean distance to the 3 nearest neighbours,
//! identity rotations, opacity 0.1, SH DC from the point colour.

use crate::Splats;
use crate::scene::sh_coeffs_for_degree;

/// The project's seeded generator, also reachable as `init::SplitMix`.
pub use crate::rng::SplitMix;

/// SH band-0 constant: colour = 0.5 + C0 * dc (the scene's, here for the initializers).
pub use crate::scene::SH_C0;

/// Inverse of the sigmoid.
pub fn logit(p: f32) -> f32 {
    (p / (1.0 - p)).ln()
}

/// Splats at `positions` with `colors` (0..255), room for SH up to `max_degree` (rest zero).
pub fn splats_from_points(positions: &[[f32; 3]], colors: &[[u8; 3]], max_degree: u32) -> Splats {
    let k = sh_coeffs_for_degree(max_degree);
    let dist2 = mean_sq_dist_to_3_nearest(positions);
    let mut s = Splats { sh_degree: max_degree, ..Default::default() };
    for (i, p) in positions.iter().enumerate() {
        s.means.push(*p);
        s.rotations.push([1.0, 0.0, 0.0, 0.0]);
        let log_scale = 0.5 * dist2[i].max(1e-7).ln();
        s.log_scales.push([log_scale; 3]);
        s.opacity_logits.push(logit(0.1));
        let c = colors.get(i).copied().unwrap_or([128, 128, 128]);
        for ch in 0..3 {
            s.sh.push((c[ch] as f32 / 255.0 - 0.5) / SH_C0);
        }
        s.sh.extend(std::iter::repeat_n(0.0, (k - 1) * 3));
    }
    s
}

/// `count` random points uniform in the box `center ± half_extent`, with random colours
/// (deterministic for a seed).
pub fn random_points(count: usize, center: [f32; 3], half_extent: f32, seed: u64) -> (Vec<[f32; 3]>, Vec<[u8; 3]>) {
    let mut rng = SplitMix(seed);
    let positions = (0..count).map(|_| std::array::from_fn(|a| center[a] + (rng.next_f32() * 2.0 - 1.0) * half_extent)).collect();
    let colors = (0..count).map(|_| std::array::from_fn(|_| (rng.next_f32() * 255.0) as u8)).collect();
    (positions, colors)
}

/// Mean squared distance of each point to its 3 nearest others, through a uniform grid.
fn mean_sq_dist_to_3_nearest(points: &[[f32; 3]]) -> Vec<f32> {
    let n = points.len();
    if n < 2 {
        return vec![0.01; n];
    }
    let (mut lo, mut hi) = ([f32::MAX; 3], [f32::MIN; 3]);
    for p in points {
        for a in 0..3 {
            lo[a] = lo[a].min(p[a]);
            hi[a] = hi[a].max(p[a]);
        }
    }
    // About 2 points per cell.
    let volume: f32 = (0..3).map(|a| (hi[a] - lo[a]).max(1e-6)).product();
    let cell = (volume / (n as f32 / 2.0)).cbrt().max(1e-6);
    let dims: [i64; 3] = std::array::from_fn(|a| (((hi[a] - lo[a]) / cell) as i64 + 1).clamp(1, 1 << 20));
    let key = |c: [i64; 3]| (c[0] * dims[1] + c[1]) * dims[2] + c[2];
    let cell_of = |p: &[f32; 3]| -> [i64; 3] { std::array::from_fn(|a| (((p[a] - lo[a]) / cell) as i64).clamp(0, dims[a] - 1)) };
    let mut grid: std::collections::HashMap<i64, Vec<u32>> = std::collections::HashMap::new();
    for (i, p) in points.iter().enumerate() {
        grid.entry(key(cell_of(p))).or_default().push(i as u32);
    }
    points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let c = cell_of(p);
            let mut best = [f32::MAX; 3];
            // Grow the search ring until three neighbours are found within the searched radius.
            for ring in 1i64..64 {
                for dx in -ring..=ring {
                    for dy in -ring..=ring {
                        for dz in -ring..=ring {
                            if dx.abs().max(dy.abs()).max(dz.abs()) != ring && ring > 1 {
                                continue;
                            }
                            let q = [c[0] + dx, c[1] + dy, c[2] + dz];
                            if (0..3).any(|a| q[a] < 0 || q[a] >= dims[a]) {
                                continue;
                            }
                            for &j in grid.get(&key(q)).map(Vec::as_slice).unwrap_or(&[]) {
                                if j as usize == i {
                                    continue;
                                }
                                let o = &points[j as usize];
                                let d2 = (0..3).map(|a| (o[a] - p[a]).powi(2)).sum::<f32>();
                                if d2 < best[2] {
                                    best[2] = d2;
                                    best.sort_by(f32::total_cmp);
                                }
                            }
                        }
                    }
                }
                // Every point within ring * cell is found once the ring is searched.
                if best[2] <= (ring as f32 * cell).powi(2) {
                    break;
                }
            }
            let found: Vec<f32> = best.iter().copied().filter(|d| *d < f32::MAX).collect();
            if found.is_empty() { 0.01 } else { found.iter().sum::<f32>() / found.len() as f32 }
        })
        .collect()
}

/// The splats a dataset starts from: its COLMAP points, or (without points) `random_count`
/// random points as 3DGS does for synthetic scenes.
pub fn initial_splats(index: &crate::dataset::DatasetIndex, random_count: usize, seed: u64) -> Splats {
    match &index.init_points {
        Some(points) if !points.positions.is_empty() => splats_from_points(&points.positions, &points.colors, 3),
        _ => {
            // A cube around the scene centre, a third of the camera extent wide on each side
            // (NeRF-synthetic: about ±1.3 around the object, which sits at the origin; elsewhere
            // the cameras' centre is the best guess).
            let half = if index.format == "nerf-synthetic" { 1.3 } else { index.scene_extent / 3.0 };
            let center = if index.format == "nerf-synthetic" { [0.0; 3] } else { index.scene_center };
            let (positions, colors) = random_points(random_count, center, half, seed);
            splats_from_points(&positions, &colors, 3)
        }
    }
}

/// The background a dataset trains on by default: white for NeRF-synthetic (its images are
/// composited on white in the benchmark protocol), black otherwise.
pub fn default_background(index: &crate::dataset::DatasetIndex) -> [f32; 3] {
    if index.format == "nerf-synthetic" { [1.0; 3] } else { [0.0; 3] }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_neighbour_distances_match_brute_force() {
        let (points, _) = random_points(500, [0.0; 3], 2.0, 3);
        let fast = mean_sq_dist_to_3_nearest(&points);
        for (i, p) in points.iter().enumerate() {
            let mut d: Vec<f32> =
                points.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, o)| (0..3).map(|a| (o[a] - p[a]).powi(2)).sum()).collect();
            d.sort_by(f32::total_cmp);
            let brute = (d[0] + d[1] + d[2]) / 3.0;
            assert!((fast[i] - brute).abs() <= 1e-6 * brute.max(1.0), "point {i}: {} vs {brute}", fast[i]);
        }
    }

    #[test]
    fn splats_from_points_follow_3dgs() {
        let s = splats_from_points(&[[0.0; 3], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], &[[255, 0, 128]; 4], 3);
        s.validate().unwrap();
        assert_eq!(s.sh.len(), 4 * 16 * 3);
        let opacity = 1.0 / (1.0 + (-s.opacity_logits[0]).exp());
        assert!((opacity - 0.1).abs() < 1e-6);
        assert!((0.5 + SH_C0 * s.sh[0] - 1.0).abs() < 1e-6);
    }
}
