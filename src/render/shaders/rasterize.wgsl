// Rasterize 16x16 tiles: one workgroup per (tile x, tile y, camera), one invocation per pixel,
// blending the tile's splats front to back until the pixel's transmittance runs out.
// Bindings:
//   1 cameras       uniform array<CameraGpu>
//   2 ranges        array<u32> [2 * tiles] start, end of each tile's intersections
//   3 isect_values  array<u32> cam_gid of each sorted intersection
//   4 projected     array<vec4<f32>> [C*N*3] by cam_gid
//   5 out_rgba      array<vec4<f32>> out: rgb (background composited) and alpha, per pixel
//   6 out_depth     array<f32> out: sum of z * weight (not normalized by alpha)
//   7 out_last      array<u32> out: one past the last intersection blended into the pixel (the
//                   backward pass walks back from there)
// Blending as in 3DGS/gsplat: alpha = min(0.999, opacity * exp(-power)), skipped below 1/255,
// stop before a splat would take the transmittance to 1e-4 or below.

#import params

@group(0) @binding(1) var<uniform> cameras: array<CameraGpu, 256>;
@group(0) @binding(2) var<storage, read> ranges: array<u32>;
@group(0) @binding(3) var<storage, read> isect_values: array<u32>;
@group(0) @binding(4) var<storage, read> projected: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> out_rgba: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> out_depth: array<f32>;
@group(0) @binding(7) var<storage, read_write> out_last: array<u32>;

const BATCH: u32 = 256u;

var<workgroup> range_start: u32;
var<workgroup> range_end: u32;
var<workgroup> done_count: atomic<u32>;
var<workgroup> done_snapshot: u32;
var<workgroup> batch_p0: array<vec4<f32>, 256>;
var<workgroup> batch_p1: array<vec4<f32>, 256>;
var<workgroup> batch_p2: array<vec4<f32>, 256>;

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
        atomicStore(&done_count, 0u);
    }
    let start = workgroupUniformLoad(&range_start);
    let end = workgroupUniformLoad(&range_end);

    var done = !inside;
    if done {
        atomicAdd(&done_count, 1u);
    }
    var transmittance = 1.0;
    var rgb = vec3<f32>(0.0);
    var depth = 0.0;
    var last = start;
    let num_batches = ceil_div(max(end, start) - start, BATCH);
    for (var b = 0u; b < num_batches; b++) {
        workgroupBarrier();
        if lid == 0u {
            done_snapshot = atomicLoad(&done_count);
        }
        if workgroupUniformLoad(&done_snapshot) >= BATCH {
            break;
        }
        let batch_start = start + b * BATCH;
        let i = batch_start + lid;
        if i < end {
            let g = isect_values[i];
            batch_p0[lid] = projected[3u * g];
            batch_p1[lid] = projected[3u * g + 1u];
            batch_p2[lid] = projected[3u * g + 2u];
        }
        workgroupBarrier();
        if !done {
            let count = min(BATCH, end - batch_start);
            for (var t = 0u; t < count; t++) {
                let p0 = batch_p0[t];
                let p1 = batch_p1[t];
                let delta = p0.xy - pixel;
                let power = 0.5 * (p0.z * delta.x * delta.x + p1.x * delta.y * delta.y) + p0.w * delta.x * delta.y;
                if power < 0.0 {
                    continue;
                }
                let alpha = min(0.999, p1.y * exp(-power));
                if alpha < 1.0 / 255.0 {
                    continue;
                }
                let next_t = transmittance * (1.0 - alpha);
                if next_t <= 1e-4 {
                    done = true;
                    atomicAdd(&done_count, 1u);
                    break;
                }
                let weight = alpha * transmittance;
                rgb += batch_p2[t].xyz * weight;
                depth += p1.z * weight;
                transmittance = next_t;
                last = batch_start + t + 1u;
            }
        }
    }
    if inside {
        let out = cam.pixel_offset + py * cam.width + px;
        out_rgba[out] = vec4<f32>(rgb + transmittance * cam.background.xyz, 1.0 - transmittance);
        out_depth[out] = depth;
        out_last[out] = last;
    }
}
