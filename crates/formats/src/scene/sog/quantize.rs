//! The SOG writer's quantizers: the 256-entry 1-D codebook (a port of splat-transform's
//! `quantize-1d-core.ts`), the SH palette k-means and the Morton (Z-order) sort of the splats.
//! Everything here is deterministic and single-threaded (the crate also runs in the browser).

use crate::rng::SplitMix;

/// A 1-D codebook and, per input value, the index of its nearest entry.
pub(super) struct Codebook {
    /// `k` entries, ascending.
    pub entries: Vec<f32>,
    /// One label per input value, in input order.
    pub labels: Vec<u8>,
}

/// Quantizes `values` to a `k`-entry codebook (k <= 256), as splat-transform does: the sorted
/// values are binned into at most 1024 bins placed by a blend of quantile and uniform position,
/// each bin weighted by count^alpha (alpha 0.5, so sparse tails still earn entries), and an exact
/// dynamic programme splits the bins into k contiguous groups of least weighted squared error;
/// the group means are the codebook, padded with the last entry when there are fewer non-empty
/// bins than k. Every value is labelled with its nearest entry. Inputs are finite (the writer
/// validates the splats first). One departure: at most k distinct values are kept exactly.
pub(super) fn quantize_1d(values: &[f32], k: usize) -> Codebook {
    const ALPHA: f64 = 0.5;
    let n = values.len();
    if n == 0 {
        return Codebook { entries: vec![0.0; k], labels: Vec::new() };
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f32::total_cmp);
    let v_min = sorted[0] as f64;
    let v_max = sorted[n - 1] as f64;
    if v_max - v_min < 1e-20 {
        return Codebook { entries: vec![sorted[0]; k], labels: vec![0; n] };
    }
    // Few distinct values (a small scene, or a small SH palette) each get their own entry: the
    // reference bins them into min(1024, n) bins, which can merge neighbours needlessly.
    let mut distinct = sorted.clone();
    distinct.dedup();
    let centroids = if distinct.len() <= k { distinct } else { quantize_sorted(&sorted, k, ALPHA) };
    let mut entries = vec![*centroids.last().unwrap_or(&sorted[0]); k];
    entries[..centroids.len()].copy_from_slice(&centroids);
    let labels = values.iter().map(|&v| nearest_entry(&entries, v)).collect();
    Codebook { entries, labels }
}

/// The index of the entry nearest `v` in an ascending codebook (binary search on midpoints, as
/// the reference does).
fn nearest_entry(entries: &[f32], v: f32) -> u8 {
    let (mut lo, mut hi) = (0usize, entries.len() - 1);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if v < (entries[mid] + entries[mid + 1]) * 0.5 {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo as u8
}

/// The histogram and DP core over sorted values with a non-zero range: up to `k_target`
/// ascending centroids.
fn quantize_sorted(sorted: &[f32], k_target: usize, alpha: f64) -> Vec<f32> {
    let n = sorted.len();
    let v_min = sorted[0] as f64;
    let v_range = sorted[n - 1] as f64 - v_min;
    let h = n.min(1024);
    let iqr = sorted[n * 3 / 4] as f64 - sorted[n / 4] as f64;
    let beta = (1.0 - iqr / v_range).clamp(0.5, 0.999);

    let mut counts = vec![0f64; h];
    let mut sums = vec![0f64; h];
    for (i, &v) in sorted.iter().enumerate() {
        let uniform = (v as f64 - v_min) / v_range;
        let quantile = i as f64 / n as f64;
        let bin = ((h as f64 * (beta * quantile + (1.0 - beta) * uniform)).floor() as usize).min(h - 1);
        counts[bin] += 1.0;
        sums[bin] += v as f64;
    }
    let centers: Vec<f64> =
        (0..h).map(|i| if counts[i] > 0.0 { sums[i] / counts[i] } else { v_min + (i as f64 + 0.5) / h as f64 * v_range }).collect();
    let weights: Vec<f64> = counts.iter().map(|&c| if c > 0.0 { c.powf(alpha) } else { 0.0 }).collect();
    let mut pw = vec![0f64; h + 1];
    let mut pwx = vec![0f64; h + 1];
    let mut pwxx = vec![0f64; h + 1];
    for i in 0..h {
        pw[i + 1] = pw[i] + weights[i];
        pwx[i + 1] = pwx[i] + weights[i] * centers[i];
        pwxx[i + 1] = pwxx[i] + weights[i] * centers[i] * centers[i];
    }
    let range_cost = |a: usize, b: usize| -> f64 {
        let w = pw[b + 1] - pw[a];
        if w <= 0.0 {
            return 0.0;
        }
        let wx = pwx[b + 1] - pwx[a];
        (pwxx[b + 1] - pwxx[a]) - wx * wx / w
    };
    let range_mean = |a: usize, b: usize| -> f64 {
        let w = pw[b + 1] - pw[a];
        if w <= 0.0 { (centers[a] + centers[b]) * 0.5 } else { (pwx[b + 1] - pwx[a]) / w }
    };
    let non_empty = counts.iter().filter(|&&c| c > 0.0).count();
    let k = k_target.min(non_empty).max(1);

    // dp[m][j]: least cost of bins 0..=j in m groups; split[m][j]: the last bin of group m-1.
    const INF: f64 = 1e30;
    let mut prev: Vec<f64> = (0..h).map(|j| range_cost(0, j)).collect();
    let mut curr = vec![INF; h];
    let mut split: Vec<Vec<i32>> = vec![Vec::new(), vec![-1; h]];
    for m in 2..=k {
        curr.iter_mut().for_each(|c| *c = INF);
        let mut split_m = vec![0i32; h];
        for j in (m - 1)..h {
            let mut best = INF;
            let mut best_s = m - 2;
            for (s, &p) in prev.iter().enumerate().take(j).skip(m - 2) {
                let cost = p + range_cost(s + 1, j);
                if cost < best {
                    best = cost;
                    best_s = s;
                }
            }
            curr[j] = best;
            split_m[j] = best_s as i32;
        }
        split.push(split_m);
        std::mem::swap(&mut prev, &mut curr);
    }
    let mut out = vec![0f32; k];
    let mut j = h as i64 - 1;
    for m in (1..=k).rev() {
        let s = if m > 1 { split[m][j as usize] as i64 } else { -1 };
        out[m - 1] = range_mean((s + 1) as usize, j as usize) as f32;
        j = s;
    }
    out.sort_by(f32::total_cmp);
    out
}

/// A palette of `d`-dimensional vectors and, per point, the index of its palette entry.
pub(super) struct Palette {
    /// `count * d` values, row-major.
    pub centroids: Vec<f32>,
    pub labels: Vec<u32>,
}

/// Lanes of the distance loop: points and centroids are padded to a multiple of this.
const LANES: usize = 8;

/// k-means (Lloyd) over `points` (`n` rows of `d`), deterministic for a given `seed`.
///
/// With `n <= k` every point is its own entry (as in the reference). Otherwise the centroids
/// start at `k` distinct random points and `iterations` Lloyd steps run on a random training
/// subset of at most `train` points (an empty cluster is re-seeded at the training point
/// farthest from its centroid); then every point is assigned to its nearest centroid and each
/// centroid is set to the mean of its points. Nearest-centroid search is brute force with a
/// lane-parallel dot product, so the cost is about `(train * iterations + n) * k * d`
/// multiply-adds.
pub(super) fn kmeans(points: &[f32], n: usize, d: usize, k: usize, iterations: usize, train: usize, seed: u64) -> Palette {
    if n <= k || d == 0 {
        return Palette { centroids: points[..n * d].to_vec(), labels: (0..n as u32).collect() };
    }
    let dp = d.div_ceil(LANES) * LANES;
    let mut padded = vec![0f32; n * dp];
    for i in 0..n {
        padded[i * dp..i * dp + d].copy_from_slice(&points[i * d..(i + 1) * d]);
    }
    // A deterministic shuffle: its head seeds the centroids and forms the training set.
    let mut rng = SplitMix(seed);
    let mut order: Vec<u32> = (0..n as u32).collect();
    for i in (1..n).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    let train = train.clamp(k, n);
    let training = &order[..train];
    let mut centroids = vec![0f32; k * dp];
    for (c, &p) in order[..k].iter().enumerate() {
        centroids[c * dp..(c + 1) * dp].copy_from_slice(&padded[p as usize * dp..(p as usize + 1) * dp]);
    }
    let mut labels = vec![0u32; train];
    let mut dists = vec![0f32; train];
    for _ in 0..iterations {
        assign(&padded, dp, training, &centroids, k, &mut labels, &mut dists);
        update(&padded, dp, training, &labels, &mut centroids, k, Some(&dists));
    }
    let all: Vec<u32> = (0..n as u32).collect();
    let mut labels = vec![0u32; n];
    let mut dists = vec![0f32; n];
    assign(&padded, dp, &all, &centroids, k, &mut labels, &mut dists);
    update(&padded, dp, &all, &labels, &mut centroids, k, None);
    let mut out = vec![0f32; k * d];
    for c in 0..k {
        out[c * d..(c + 1) * d].copy_from_slice(&centroids[c * dp..c * dp + d]);
    }
    Palette { centroids: out, labels }
}

/// Centroid counts above this are searched through groups (see [`assign`]).
const BRUTE_FORCE_MAX: usize = 256;
/// How many of the nearest groups [`assign`] searches.
const PROBES: usize = 6;

/// Labels each listed point with its (approximately) nearest centroid and the squared distance
/// to it. Up to [`BRUTE_FORCE_MAX`] centroids every one is tried. Beyond that the centroids are
/// first grouped by a small k-means of their own (about sqrt k groups), and each point tries
/// only the members of its [`PROBES`] nearest groups: about 8 sqrt k distances instead of k,
/// at the price of an occasional second-nearest label (measured in the module doc).
fn assign(points: &[f32], dp: usize, which: &[u32], centroids: &[f32], k: usize, labels: &mut [u32], dists: &mut [f32]) {
    let norms: Vec<f32> = (0..k).map(|c| centroids[c * dp..(c + 1) * dp].iter().map(|v| v * v).sum()).collect();
    if k <= BRUTE_FORCE_MAX {
        for (slot, &p) in which.iter().enumerate() {
            let x = &points[p as usize * dp..(p as usize + 1) * dp];
            let (c, d) = nearest(x, centroids, &norms, dp, 0..k);
            labels[slot] = c as u32;
            dists[slot] = (d + x.iter().map(|v| v * v).sum::<f32>()).max(0.0);
        }
        return;
    }
    // Group the centroids: seeds evenly spaced through them, a few Lloyd steps.
    let g = ((k as f64).sqrt().round() as usize).max(2);
    let mut centres: Vec<f32> = (0..g).flat_map(|i| centroids[(i * k / g) * dp..(i * k / g + 1) * dp].to_vec()).collect();
    let mut member = vec![0usize; k];
    for _ in 0..4 {
        let cn: Vec<f32> = (0..g).map(|c| centres[c * dp..(c + 1) * dp].iter().map(|v| v * v).sum()).collect();
        for c in 0..k {
            member[c] = nearest(&centroids[c * dp..(c + 1) * dp], &centres, &cn, dp, 0..g).0;
        }
        let mut sums = vec![0f64; g * dp];
        let mut counts = vec![0usize; g];
        for c in 0..k {
            counts[member[c]] += 1;
            for (s, &v) in sums[member[c] * dp..(member[c] + 1) * dp].iter_mut().zip(&centroids[c * dp..(c + 1) * dp]) {
                *s += v as f64;
            }
        }
        for i in 0..g {
            if counts[i] > 0 {
                for (dst, &s) in centres[i * dp..(i + 1) * dp].iter_mut().zip(&sums[i * dp..(i + 1) * dp]) {
                    *dst = (s / counts[i] as f64) as f32;
                }
            }
        }
    }
    // Centroids reordered by group, with each group's range.
    let mut by_group: Vec<usize> = (0..k).collect();
    by_group.sort_by_key(|&c| (member[c], c));
    let mut sorted = vec![0f32; k * dp];
    let mut sorted_norms = vec![0f32; k];
    let mut ranges = vec![(0usize, 0usize); g];
    for (i, &c) in by_group.iter().enumerate() {
        sorted[i * dp..(i + 1) * dp].copy_from_slice(&centroids[c * dp..(c + 1) * dp]);
        sorted_norms[i] = norms[c];
        let r = &mut ranges[member[c]];
        if r.1 == 0 {
            *r = (i, i);
        }
        r.1 = i + 1;
    }
    let cn: Vec<f32> = (0..g).map(|c| centres[c * dp..(c + 1) * dp].iter().map(|v| v * v).sum()).collect();
    let probes = PROBES.min(g);
    let mut group_d = vec![(0f32, 0usize); g];
    for (slot, &p) in which.iter().enumerate() {
        let x = &points[p as usize * dp..(p as usize + 1) * dp];
        for (i, gd) in group_d.iter_mut().enumerate() {
            *gd = (cn[i] - 2.0 * dot(x, &centres[i * dp..(i + 1) * dp]), i);
        }
        group_d.select_nth_unstable_by(probes - 1, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let (mut best, mut best_c) = (f32::INFINITY, 0usize);
        for &(_, gi) in &group_d[..probes] {
            let (lo, hi) = ranges[gi];
            if lo < hi {
                let (c, d) = nearest(x, &sorted, &sorted_norms, dp, lo..hi);
                if d < best || (d == best && by_group[c] < best_c) {
                    best = d;
                    best_c = by_group[c];
                }
            }
        }
        labels[slot] = best_c as u32;
        dists[slot] = (best + x.iter().map(|v| v * v).sum::<f32>()).max(0.0);
    }
}

/// The lane-parallel dot product of two padded rows.
#[inline]
fn dot(x: &[f32], c: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    for (xs, cs) in x.chunks_exact(LANES).zip(c.chunks_exact(LANES)) {
        for l in 0..LANES {
            acc[l] += xs[l] * cs[l];
        }
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

/// The centroid in `range` nearest `x` and its squared distance less |x|^2.
fn nearest(x: &[f32], centroids: &[f32], norms: &[f32], dp: usize, range: std::ops::Range<usize>) -> (usize, f32) {
    let (mut best, mut best_c) = (f32::INFINITY, range.start);
    for c in range {
        let d = norms[c] - 2.0 * dot(x, &centroids[c * dp..(c + 1) * dp]);
        if d < best {
            best = d;
            best_c = c;
        }
    }
    (best_c, best)
}

/// Moves each centroid to the mean of its points. An empty centroid is re-seeded at the
/// farthest remaining point when `dists` is given, else left where it is.
fn update(points: &[f32], dp: usize, which: &[u32], labels: &[u32], centroids: &mut [f32], k: usize, dists: Option<&[f32]>) {
    let mut sums = vec![0f64; k * dp];
    let mut counts = vec![0u32; k];
    for (slot, &p) in which.iter().enumerate() {
        let c = labels[slot] as usize;
        counts[c] += 1;
        let x = &points[p as usize * dp..(p as usize + 1) * dp];
        for (s, &v) in sums[c * dp..(c + 1) * dp].iter_mut().zip(x) {
            *s += v as f64;
        }
    }
    let empty: Vec<usize> = (0..k).filter(|&c| counts[c] == 0).collect();
    for c in 0..k {
        if counts[c] > 0 {
            let inv = 1.0 / counts[c] as f64;
            for (dst, &s) in centroids[c * dp..(c + 1) * dp].iter_mut().zip(&sums[c * dp..(c + 1) * dp]) {
                *dst = (s * inv) as f32;
            }
        }
    }
    if let (Some(dists), false) = (dists, empty.is_empty()) {
        let mut far: Vec<usize> = (0..which.len()).collect();
        far.sort_by(|&a, &b| dists[b].total_cmp(&dists[a]).then(a.cmp(&b)));
        for (&c, &slot) in empty.iter().zip(&far) {
            let p = which[slot] as usize;
            centroids[c * dp..(c + 1) * dp].copy_from_slice(&points[p * dp..(p + 1) * dp]);
        }
    }
}
