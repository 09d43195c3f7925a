// The training loss of B views and its gradient: L = mean over views of
//   0.8 * mean |pred - gt| + 0.2 * (1 - mean SSIM(pred, gt)),
// SSIM per channel with an 11x11 Gaussian window (sigma 1.5), zero padding, as 3DGS.
// Four passes, each one invocation per pixel of one view (workgroups of 16x16, z = view):
//   ssim_h1: horizontal blur of x, y, x^2, y^2, xy (3 channels, 15 maps) into `maps`
//   ssim_v1: vertical blur of those; per pixel SSIM and its partials with respect to
//            mu_x, E[x^2], E[xy] (9 maps) into `maps2`
//   ssim_h2: horizontal blur of the 9 partials into `maps` (free again after ssim_v1)
//   ssim_v2: vertical blur; combines with x, y and the L1 term into dL/d(pred); writes per-tile
//            sums of L1, SSIM and squared error (for logging and evaluation)
// Bindings:
//   0 views     uniform array<LossView>
//   1 pred      array<vec4<f32>> rendered rgb (+ alpha), views back to back
//   2 gt        array<u32> ground truth RGBA8, composited over the view's background here
//   3 maps      array<f32> scratch, 15 floats per pixel
//   4 maps2     array<f32> scratch, 10 floats per pixel (9 partials, then the pixel's SSIM sum)
//   5 v_pred    array<vec4<f32>> out: dL/d(rgb, alpha) (alpha: 0)
//   6 partials  array<vec4<f32>> out: per tile (l1 sum, ssim sum, squared error sum, 0)

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
    // 1: clamp the prediction to [0, 1] first (evaluation, as metrics on saved images).
    clamp_pred: u32,
    background: vec4<f32>,
}

@group(0) @binding(0) var<uniform> views: array<LossView, 256>;
@group(0) @binding(1) var<storage, read> pred: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> gt: array<u32>;
@group(0) @binding(3) var<storage, read_write> maps: array<f32>;
@group(0) @binding(4) var<storage, read_write> maps2: array<f32>;
@group(0) @binding(5) var<storage, read_write> v_pred: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> partials: array<vec4<f32>>;

const C1: f32 = 0.0001;
const C2: f32 = 0.0009;
const RADIUS: i32 = 5;
const L1_WEIGHT: f32 = 0.8;
const SSIM_WEIGHT: f32 = 0.2;

fn window(d: i32) -> f32 {
    // exp(-d^2 / (2 * 1.5^2)), normalized over -5..5.
    let w = array<f32, 6>(0.26601172, 0.21300554, 0.10936069, 0.03600077, 0.00759876, 0.00102838);
    return w[abs(d)];
}

fn ceil_div_u32(a: u32, b: u32) -> u32 {
    return (a + b - 1u) / b;
}

fn pred_rgb(view: LossView, index: u32) -> vec3<f32> {
    let p = pred[index].rgb;
    return select(p, clamp(p, vec3<f32>(0.0), vec3<f32>(1.0)), view.clamp_pred == 1u);
}

fn gt_rgb(view: LossView, x: u32, y: u32) -> vec3<f32> {
    let packed = gt[view.gt_offset + y * view.width + x];
    let c = unpack4x8unorm(packed);
    return c.rgb * c.a + view.background.rgb * (1.0 - c.a);
}

struct Pixel {
    ok: bool,
    x: u32,
    y: u32,
    index: u32,
}

fn pixel_of(wg: vec3<u32>, local: vec3<u32>) -> Pixel {
    let view = views[wg.z];
    var px: Pixel;
    px.x = wg.x * 16u + local.x;
    px.y = wg.y * 16u + local.y;
    px.ok = px.x < view.width && px.y < view.height;
    px.index = view.pixel_offset + px.y * view.width + px.x;
    return px;
}

@compute @workgroup_size(16, 16, 1)
fn ssim_h1(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>) {
    let view = views[wg.z];
    let px = pixel_of(wg, local);
    if !px.ok {
        return;
    }
    var sums: array<f32, 15>;
    for (var d = -RADIUS; d <= RADIUS; d++) {
        let xx = i32(px.x) + d;
        if xx < 0 || xx >= i32(view.width) {
            continue;
        }
        let w = window(d);
        let p = pred_rgb(view, view.pixel_offset + px.y * view.width + u32(xx));
        let g = gt_rgb(view, u32(xx), px.y);
        for (var c = 0u; c < 3u; c++) {
            sums[5u * c] += w * p[c];
            sums[5u * c + 1u] += w * g[c];
            sums[5u * c + 2u] += w * p[c] * p[c];
            sums[5u * c + 3u] += w * g[c] * g[c];
            sums[5u * c + 4u] += w * p[c] * g[c];
        }
    }
    for (var i = 0u; i < 15u; i++) {
        maps[15u * px.index + i] = sums[i];
    }
}

@compute @workgroup_size(16, 16, 1)
fn ssim_v1(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>) {
    let view = views[wg.z];
    let px = pixel_of(wg, local);
    if !px.ok {
        return;
    }
    var m: array<f32, 15>;
    for (var d = -RADIUS; d <= RADIUS; d++) {
        let yy = i32(px.y) + d;
        if yy < 0 || yy >= i32(view.height) {
            continue;
        }
        let w = window(d);
        let at = 15u * (view.pixel_offset + u32(yy) * view.width + px.x);
        for (var i = 0u; i < 15u; i++) {
            m[i] += w * maps[at + i];
        }
    }
    var ssim_sum = 0.0;
    for (var c = 0u; c < 3u; c++) {
        let mu_x = m[5u * c];
        let mu_y = m[5u * c + 1u];
        let var_x = m[5u * c + 2u] - mu_x * mu_x;
        let var_y = m[5u * c + 3u] - mu_y * mu_y;
        let cov = m[5u * c + 4u] - mu_x * mu_y;
        let a = 2.0 * mu_x * mu_y + C1;
        let b = 2.0 * cov + C2;
        let cc = mu_x * mu_x + mu_y * mu_y + C1;
        let dd = var_x + var_y + C2;
        let s = a * b / (cc * dd);
        ssim_sum += s;
        // Partials of this pixel's SSIM with respect to mu_x, E[x^2] and E[xy].
        maps2[10u * px.index + 3u * c] = s * (2.0 * mu_y / a - 2.0 * mu_y / b - 2.0 * mu_x / cc + 2.0 * mu_x / dd);
        maps2[10u * px.index + 3u * c + 1u] = -s / dd;
        maps2[10u * px.index + 3u * c + 2u] = 2.0 * s / b;
    }
    // For ssim_v2's per-tile sums. (Not into `maps`: neighbours are still reading it.)
    maps2[10u * px.index + 9u] = ssim_sum;
}

@compute @workgroup_size(16, 16, 1)
fn ssim_h2(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>) {
    let view = views[wg.z];
    let px = pixel_of(wg, local);
    if !px.ok {
        return;
    }
    var sums: array<f32, 9>;
    for (var d = -RADIUS; d <= RADIUS; d++) {
        let xx = i32(px.x) + d;
        if xx < 0 || xx >= i32(view.width) {
            continue;
        }
        let w = window(d);
        let at = 10u * (view.pixel_offset + px.y * view.width + u32(xx));
        for (var i = 0u; i < 9u; i++) {
            sums[i] += w * maps2[at + i];
        }
    }
    for (var i = 0u; i < 9u; i++) {
        maps[15u * px.index + i] = sums[i];
    }
}

var<workgroup> tile_sums: array<vec4<f32>, 256>;

@compute @workgroup_size(16, 16, 1)
fn ssim_v2(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let view = views[wg.z];
    let px = pixel_of(wg, local);
    var sums = vec4<f32>(0.0);
    if px.ok {
        var m: array<f32, 9>;
        for (var d = -RADIUS; d <= RADIUS; d++) {
            let yy = i32(px.y) + d;
            if yy < 0 || yy >= i32(view.height) {
                continue;
            }
            let w = window(d);
            let at = 15u * (view.pixel_offset + u32(yy) * view.width + px.x);
            for (var i = 0u; i < 9u; i++) {
                m[i] += w * maps[at + i];
            }
        }
        let p = pred_rgb(view, px.index);
        let g = gt_rgb(view, px.x, px.y);
        let n = f32(view.width * view.height * 3u);
        var grad = vec3<f32>(0.0);
        for (var c = 0u; c < 3u; c++) {
            let d_ssim = m[3u * c] + 2.0 * p[c] * m[3u * c + 1u] + g[c] * m[3u * c + 2u];
            grad[c] = (L1_WEIGHT * sign(p[c] - g[c]) - SSIM_WEIGHT * d_ssim) / n;
        }
        v_pred[px.index] = vec4<f32>(grad * view.weight, 0.0);
        let diff = p - g;
        sums = vec4<f32>(dot(abs(diff), vec3<f32>(1.0)), maps2[10u * px.index + 9u], dot(diff, diff), 0.0);
    }
    tile_sums[lid] = sums;
    workgroupBarrier();
    for (var stride = 128u; stride > 0u; stride >>= 1u) {
        if lid < stride {
            tile_sums[lid] += tile_sums[lid + stride];
        }
        workgroupBarrier();
    }
    // Workgroups past this view's tile grid (the dispatch covers the largest view) own no slot.
    if lid == 0u && wg.x < view.tiles_x && wg.y < ceil_div_u32(view.height, 16u) {
        partials[view.tile_offset + wg.y * view.tiles_x + wg.x] = tile_sums[0];
    }
}
