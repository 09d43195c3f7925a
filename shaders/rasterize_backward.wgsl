// Backward of rasterize.wgsl: one workgroup per (tile x, tile y, camera), one invocation per
// pixel, walking the tile's splats back to front from the last one blended and handing each its
// share of dL/d(rgb, alpha, depth): gradients of its 2D mean, conic, opacity, colour and depth.
// Bindings:
//   1 cameras       uniform array<CameraGpu>
//   2 ranges        array<u32> [2 * tiles] start, end of each tile's intersections
//   3 isect_values  array<u32> cam_gid of each sorted intersection
//   4 projected     array<vec4<f32>> [C*N*3] by cam_gid (see project.wgsl)
//   5 out_rgba      array<vec4<f32>> the forward output (alpha gives the final transmittance)
//   6 out_last      array<u32> one past the last intersection blended, per pixel
//   7 v_rgba        array<vec4<f32>> dL/d rgb, dL/d alpha per pixel
//   8 v_depth       array<f32> dL/d depth per pixel
//   9 grads2d       [C*N*12] out, added to (declared by the sink: atomic<f32>, or atomic<u32>
//                   holding f32 bits): per cam_gid mean2d.xy, conic.xyz, opacity, rgb, depth,
//                   2 unused
// Gradients are summed over subgroups where the adapter has them (`reduce`), then added by the
// `sink`: native float atomics into grads2d, or, without them, sums per splat in shared memory
// added to grads2d once per splat and tile.

#import params

@group(0) @binding(1) var<uniform> cameras: array<CameraGpu, 256>;
@group(0) @binding(2) var<storage, read> ranges: array<u32>;
@group(0) @binding(3) var<storage, read> isect_values: array<u32>;
@group(0) @binding(4) var<storage, read> projected: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> out_rgba: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> out_last: array<u32>;
@group(0) @binding(7) var<storage, read> v_rgba: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read> v_depth: array<f32>;

#import sink
#import reduce

const BATCH: u32 = 128u;
const GRAD_STRIDE: u32 = 12u;

var<workgroup> range_start: u32;
var<workgroup> range_end: u32;
var<workgroup> max_last: atomic<u32>;
var<workgroup> batch_ids: array<u32, 128>;
var<workgroup> batch_p0: array<vec4<f32>, 128>;
var<workgroup> batch_p1: array<vec4<f32>, 128>;
var<workgroup> batch_p2: array<vec4<f32>, 128>;
@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let cam = cameras[wg.z];
    if wg.x >= cam.tiles_x || wg.y >= cam.tiles_y {
        return;
    }
    let tile = cam.tile_offset + wg.y * cam.tiles_x + wg.x;
    let px = wg.x * TILE_SIZE + local.x;
    let py = wg.y * TILE_SIZE + local.y;
    let inside = px < cam.width && py < cam.height;
    let pixel = vec2<f32>(f32(px) + 0.5, f32(py) + 0.5);

    if lid == 0u {
        range_start = ranges[2u * tile];
        range_end = ranges[2u * tile + 1u];
        atomicStore(&max_last, 0u);
    }
    workgroupBarrier();
    let start = workgroupUniformLoad(&range_start);

    var last = start;
    var t_final = 1.0;
    var v_rgb = vec3<f32>(0.0);
    var v_alpha_out = 0.0;
    var v_depth_out = 0.0;
    if inside {
        let at = cam.pixel_offset + py * cam.width + px;
        last = out_last[at];
        t_final = 1.0 - out_rgba[at].w;
        let v = v_rgba[at];
        v_rgb = v.xyz;
        v_alpha_out = v.w;
        v_depth_out = v_depth[at];
        atomicMax(&max_last, last);
    }
    workgroupBarrier();
    if lid == 0u {
        range_end = atomicLoad(&max_last);
    }
    let end = max(workgroupUniformLoad(&range_end), start);

    var transmittance = t_final;
    var behind_rgb = vec3<f32>(0.0);
    var behind_depth = 0.0;
    let bg_dot = dot(cam.background.xyz, v_rgb);
    let num_batches = ceil_div(end - start, BATCH);
    for (var b = 0u; b < num_batches; b++) {
        // Batches from the back; within a batch, splats from the back.
        let batch_end = end - b * BATCH;
        let batch_start = max(start, batch_end - min(batch_end, BATCH));
        let count = batch_end - batch_start;
        workgroupBarrier();
        sink_begin_batch(lid);
        if lid < count {
            let i = batch_end - 1u - lid;
            let g = isect_values[i];
            batch_ids[lid] = g;
            batch_p0[lid] = projected[3u * g];
            batch_p1[lid] = projected[3u * g + 1u];
            batch_p2[lid] = projected[3u * g + 2u];
        }
        workgroupBarrier();
        for (var t = 0u; t < count; t++) {
            let index = batch_end - 1u - t;
            // (mean2d.xy, conic.xy), (conic.z, opacity, r, g), (b, depth, -, -)
            var g0 = vec4<f32>(0.0);
            var g1 = vec4<f32>(0.0);
            var g2 = vec4<f32>(0.0);
            let p0 = batch_p0[t];
            let p1 = batch_p1[t];
            let color = batch_p2[t].xyz;
            let delta = p0.xy - pixel;
            let power = 0.5 * (p0.z * delta.x * delta.x + p1.x * delta.y * delta.y) + p0.w * delta.x * delta.y;
            let vis = exp(-power);
            let alpha = min(0.999, p1.y * vis);
            if inside && index < last && power >= 0.0 && alpha >= 1.0 / 255.0 {
                let ra = 1.0 / (1.0 - alpha);
                transmittance *= ra;
                let weight = alpha * transmittance;
                let v_color = weight * v_rgb;
                var v_alpha = dot(color * transmittance - behind_rgb * ra, v_rgb);
                v_alpha += (p1.z * transmittance - behind_depth * ra) * v_depth_out;
                v_alpha += t_final * ra * (v_alpha_out - bg_dot);
                if p1.y * vis <= 0.999 {
                    let v_power = -p1.y * vis * v_alpha;
                    g0.x = v_power * (p0.z * delta.x + p0.w * delta.y);
                    g0.y = v_power * (p0.w * delta.x + p1.x * delta.y);
                    g0.z = 0.5 * v_power * delta.x * delta.x;
                    g0.w = v_power * delta.x * delta.y;
                    g1.x = 0.5 * v_power * delta.y * delta.y;
                    g1.y = vis * v_alpha;
                }
                g1.z = v_color.x;
                g1.w = v_color.y;
                g2.x = v_color.z;
                g2.y = weight * v_depth_out;
                behind_rgb += color * weight;
                behind_depth += p1.z * weight;
            }
            accumulate(t, g0, g1, g2, lid);
        }
        workgroupBarrier();
        sink_end_batch(count, lid);
    }
}
