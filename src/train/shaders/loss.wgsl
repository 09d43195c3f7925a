// The training loss of B views and its gradient: L = mean over views of
//   0.8 * mean |pred - gt| + 0.2 * (1 - mean SSIM(pred, gt)),
// SSIM per channel with an 11x11 Gaussian window (sigma 1.5), zero padding, as 3DGS.
// Two passes, as fused-ssim does. One workgroup owns one 16x16 tile of one view (z = view),
// one invocation one pixel; the window's blurs run in workgroup memory over the tile and its
// 5-pixel halo, one channel at a time (so a workgroup stays under WebGPU's 16 KiB):
//   ssim_forward:  blurs x, y, x^2, y^2, xy; per pixel SSIM and its partials with respect to
//                  mu_x, E[x^2] and E[xy] (9 maps) into `maps`; per-tile sums of L1, SSIM and
//                  squared error into `partials` (for logging and evaluation)
//   ssim_backward: blurs the 9 partials (the window is symmetric, so the transposed blur is
//                  the blur) and combines them with x, y and the L1 term into dL/d(pred)
// Bindings:
//   0 views     uniform array<LossView>
//   1 pred      array<vec4<f32>> rendered rgb (+ alpha), views back to back
//   2 gt        array<u32> ground truth: RGBA8, composited over the view's background here, or
//               RGB8 composited on upload (3 bytes a pixel, per view's GT_RGB8 flag)
//   3 maps      array<f32> 9 planes of `plane_stride` floats (plane 3c+k: partial k of channel c)
//   4 v_pred    array<vec4<f32>> out: dL/d(rgb, alpha) (alpha: 0)
//   5 partials  array<vec4<f32>> out: per tile (l1 sum, ssim sum, squared error sum, 0)

struct LossView {
    width: u32,
    height: u32,
    // First pixel of this view in pred/v_pred/maps (and tile index of its first tile).
    pixel_offset: u32,
    gt_offset: u32,
    tile_offset: u32,
    tiles_x: u32,
    // Weight of this view's loss: 1 / B.
    weight: f32,
    // Bit 0 (CLAMP_PRED): clamp the prediction to [0, 1] first (evaluation, as metrics on saved
    // images). Bit 1 (GT_RGB8): `gt` holds this view as RGB8 composited already, not RGBA8.
    flags: u32,
    background: vec3<f32>,
    // Pixels of all views together: the length of one plane of `maps`.
    plane_stride: u32,
}

#import ssim_pixel

@group(0) @binding(0) var<uniform> views: array<LossView, 256>;
@group(0) @binding(1) var<storage, read> pred: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> gt: array<u32>;
@group(0) @binding(3) var<storage, read_write> maps: array<f32>;
@group(0) @binding(4) var<storage, read_write> v_pred: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> partials: array<vec4<f32>>;

const CLAMP_PRED: u32 = 1u;
const GT_RGB8: u32 = 2u;
const RADIUS: i32 = 5;
const L1_WEIGHT: f32 = 0.8;
const SSIM_WEIGHT: f32 = 0.2;
// The tile with its halo: SPAN x SPAN pixels; the horizontal sums: SPAN rows of 16.
const SPAN: u32 = 26u;
const HALO: u32 = 676u;
const ROWS: u32 = 416u;
const THREADS: u32 = 256u;

// ssim_forward: one channel of pred and gt over the halo, then the 5 horizontal sums.
var<workgroup> fw_halo: array<f32, 1352>;
var<workgroup> fw_rows: array<f32, 2080>;
// ssim_backward: one channel's 3 partials over the halo, then their horizontal sums.
var<workgroup> bw_halo: array<f32, 2028>;
var<workgroup> bw_rows: array<f32, 1248>;

fn window(d: u32) -> f32 {
    // exp(-(d - 5)^2 / (2 * 1.5^2)), normalized over 0..10.
    let w = array<f32, 11>(0.00102838, 0.00759876, 0.03600077, 0.10936069, 0.21300554, 0.26601172, 0.21300554, 0.10936069, 0.03600077, 0.00759876, 0.00102838);
    return w[d];
}

fn ceil_div_u32(a: u32, b: u32) -> u32 {
    return (a + b - 1u) / b;
}

fn pred_rgb(view: LossView, index: u32) -> vec3<f32> {
    let p = pred[index].rgb;
    return select(p, clamp(p, vec3<f32>(0.0), vec3<f32>(1.0)), (view.flags & CLAMP_PRED) != 0u);
}

fn gt_rgb(view: LossView, x: u32, y: u32) -> vec3<f32> {
    let pixel = y * view.width + x;
    if (view.flags & GT_RGB8) != 0u {
        // The pixel's 3 bytes start at byte 3p of the image and may run into the next word.
        let byte = pixel * 3u;
        let word = view.gt_offset + byte / 4u;
        let shift = (byte % 4u) * 8u;
        var bits = gt[word] >> shift;
        if (shift > 8u) {
            bits |= gt[word + 1u] << (32u - shift);
        }
        return unpack4x8unorm(bits).rgb;
    }
    let c = unpack4x8unorm(gt[view.gt_offset + pixel]);
    return c.rgb * c.a + view.background * (1.0 - c.a);
}

// Whether this workgroup's tile lies in its view (the dispatch covers the largest view).
fn tile_in_view(view: LossView, wg: vec3<u32>) -> bool {
    return wg.x < view.tiles_x && wg.y < ceil_div_u32(view.height, 16u);
}

// Pixel index of halo slot `i` of the tile at `wg`, or -1 outside the view (zero padding).
fn halo_pixel(view: LossView, wg: vec3<u32>, i: u32) -> i32 {
    let x = i32(wg.x * 16u + i % SPAN) - RADIUS;
    let y = i32(wg.y * 16u + i / SPAN) - RADIUS;
    if x < 0 || y < 0 || x >= i32(view.width) || y >= i32(view.height) {
        return -1;
    }
    return i32(u32(y) * view.width + u32(x));
}

@compute @workgroup_size(16, 16, 1)
fn ssim_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let view = views[wg.z];
    if !tile_in_view(view, wg) {
        return;
    }
    let x = wg.x * 16u + local.x;
    let y = wg.y * 16u + local.y;
    let ok = x < view.width && y < view.height;
    let index = view.pixel_offset + y * view.width + x;
    var l1 = 0.0;
    var ssim_sum = 0.0;
    var squared = 0.0;
    for (var c = 0u; c < 3u; c++) {
        for (var i = lid; i < HALO; i += THREADS) {
            let at = halo_pixel(view, wg, i);
            var p = 0.0;
            var g = 0.0;
            if at >= 0 {
                p = pred_rgb(view, view.pixel_offset + u32(at))[c];
                g = gt_rgb(view, u32(at) % view.width, u32(at) / view.width)[c];
            }
            fw_halo[i] = p;
            fw_halo[HALO + i] = g;
        }
        workgroupBarrier();
        for (var i = lid; i < ROWS; i += THREADS) {
            let row = (i / 16u) * SPAN + i % 16u;
            var s = vec4<f32>(0.0);
            var s_xy = 0.0;
            for (var d = 0u; d < 11u; d++) {
                let w = window(d);
                let p = fw_halo[row + d];
                let g = fw_halo[HALO + row + d];
                s += w * vec4<f32>(p, g, p * p, g * g);
                s_xy += w * p * g;
            }
            fw_rows[i] = s.x;
            fw_rows[ROWS + i] = s.y;
            fw_rows[2u * ROWS + i] = s.z;
            fw_rows[3u * ROWS + i] = s.w;
            fw_rows[4u * ROWS + i] = s_xy;
        }
        workgroupBarrier();
        var m = vec4<f32>(0.0);
        var m_xy = 0.0;
        for (var d = 0u; d < 11u; d++) {
            let w = window(d);
            let at = (local.y + d) * 16u + local.x;
            m += w * vec4<f32>(fw_rows[at], fw_rows[ROWS + at], fw_rows[2u * ROWS + at], fw_rows[3u * ROWS + at]);
            m_xy += w * fw_rows[4u * ROWS + at];
        }
        if ok {
            let pixel = ssim_pixel(m.x, m.y, m.z, m.w, m_xy);
            ssim_sum += pixel.ssim;
            maps[(3u * c) * view.plane_stride + index] = pixel.d_mu_x;
            maps[(3u * c + 1u) * view.plane_stride + index] = pixel.d_ex2;
            maps[(3u * c + 2u) * view.plane_stride + index] = pixel.d_exy;
            let centre = (local.y + 5u) * SPAN + local.x + 5u;
            let diff = fw_halo[centre] - fw_halo[HALO + centre];
            l1 += abs(diff);
            squared += diff * diff;
        }
        // The next channel overwrites the halo and the rows.
        workgroupBarrier();
    }
    // The tile's sums, in the rows' memory (free now).
    fw_rows[lid] = l1;
    fw_rows[THREADS + lid] = ssim_sum;
    fw_rows[2u * THREADS + lid] = squared;
    workgroupBarrier();
    for (var stride = 128u; stride > 0u; stride >>= 1u) {
        if lid < stride {
            fw_rows[lid] += fw_rows[lid + stride];
            fw_rows[THREADS + lid] += fw_rows[THREADS + lid + stride];
            fw_rows[2u * THREADS + lid] += fw_rows[2u * THREADS + lid + stride];
        }
        workgroupBarrier();
    }
    if lid == 0u {
        partials[view.tile_offset + wg.y * view.tiles_x + wg.x] = vec4<f32>(fw_rows[0], fw_rows[THREADS], fw_rows[2u * THREADS], 0.0);
    }
}

@compute @workgroup_size(16, 16, 1)
fn ssim_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let view = views[wg.z];
    if !tile_in_view(view, wg) {
        return;
    }
    let x = wg.x * 16u + local.x;
    let y = wg.y * 16u + local.y;
    let ok = x < view.width && y < view.height;
    let index = view.pixel_offset + y * view.width + x;
    var p = vec3<f32>(0.0);
    var g = vec3<f32>(0.0);
    if ok {
        p = pred_rgb(view, index);
        g = gt_rgb(view, x, y);
    }
    var d_ssim = vec3<f32>(0.0);
    for (var c = 0u; c < 3u; c++) {
        for (var i = lid; i < HALO; i += THREADS) {
            let at = halo_pixel(view, wg, i);
            var k = vec3<f32>(0.0);
            if at >= 0 {
                let pixel = view.pixel_offset + u32(at);
                k = vec3<f32>(maps[(3u * c) * view.plane_stride + pixel], maps[(3u * c + 1u) * view.plane_stride + pixel], maps[(3u * c + 2u) * view.plane_stride + pixel]);
            }
            bw_halo[i] = k.x;
            bw_halo[HALO + i] = k.y;
            bw_halo[2u * HALO + i] = k.z;
        }
        workgroupBarrier();
        for (var i = lid; i < ROWS; i += THREADS) {
            let row = (i / 16u) * SPAN + i % 16u;
            var s = vec3<f32>(0.0);
            for (var d = 0u; d < 11u; d++) {
                s += window(d) * vec3<f32>(bw_halo[row + d], bw_halo[HALO + row + d], bw_halo[2u * HALO + row + d]);
            }
            bw_rows[i] = s.x;
            bw_rows[ROWS + i] = s.y;
            bw_rows[2u * ROWS + i] = s.z;
        }
        workgroupBarrier();
        var m = vec3<f32>(0.0);
        for (var d = 0u; d < 11u; d++) {
            let at = (local.y + d) * 16u + local.x;
            m += window(d) * vec3<f32>(bw_rows[at], bw_rows[ROWS + at], bw_rows[2u * ROWS + at]);
        }
        d_ssim[c] = m.x + 2.0 * p[c] * m.y + g[c] * m.z;
        // The next channel overwrites the halo and the rows.
        workgroupBarrier();
    }
    if ok {
        let n = f32(view.width * view.height * 3u);
        let grad = (L1_WEIGHT * sign(p - g) - SSIM_WEIGHT * d_ssim) / n;
        v_pred[index] = vec4<f32>(grad * view.weight, 0.0);
    }
}
