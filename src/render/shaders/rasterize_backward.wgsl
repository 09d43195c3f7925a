// Backward of rasterize.wgsl: walks each tile's splats back to front from the last one blended
// and hands each its share of dL/d(rgb, alpha, depth) (gradients of its 2D mean, conic, opacity,
// colour and depth), summed over the tile without subgroups or contended atomics, so it is as
// fast in a browser as natively (BENCHMARKS.md). One workgroup of 64 invocations per (tile x, tile y,
// camera); invocation (x, r) owns the four pixels (x, r), (x, r + 4), (x, r + 8), (x, r + 12) of
// its tile and walks them as the four lanes of vec4s, so each splat's gradients are first summed
// over four pixels in registers. Every CHUNK splats, the invocations write their sums to shared
// memory and CHUNK * 10 invocations each add up one gradient over the 64 invocations (no
// atomics) into the batch's sums. At the end of a batch every invocation adds its share of those
// sums to grads2d (`batch_add`: by compare-and-swap, or with native float atomics where the
// adapter has them).
// Bindings:
//   1 cameras       uniform array<CameraGpu>
//   2 ranges        array<u32> [2 * tiles] start, end of each tile's intersections
//   3 isect_values  array<u32> cam_gid of each sorted intersection
//   4 projected     array<vec4<f32>> [C*N*3] by cam_gid (see project.wgsl)
//   5 out_rgba      array<vec4<f32>> the forward output (alpha gives the final transmittance)
//   6 out_last      array<u32> one past the last intersection blended, per pixel
//   7 v_rgba        array<vec4<f32>> dL/d rgb, dL/d alpha per pixel
//   8 v_depth       array<f32> dL/d depth per pixel
//   9 grads2d       [C*N*12] out, added to (declared by `batch_add`: atomic<f32>, or atomic<u32>
//                   holding f32 bits): per cam_gid mean2d.xy, conic.xyz, opacity, rgb, depth,
//                   2 unused

#import params

@group(0) @binding(1) var<uniform> cameras: array<CameraGpu, 256>;
@group(0) @binding(2) var<storage, read> ranges: array<u32>;
@group(0) @binding(3) var<storage, read> isect_values: array<u32>;
@group(0) @binding(4) var<storage, read> projected: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> out_rgba: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> out_last: array<u32>;
@group(0) @binding(7) var<storage, read> v_rgba: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read> v_depth: array<f32>;

const THREADS: u32 = 64u;
// Splats loaded into shared memory at a time (one per invocation).
const BATCH: u32 = 64u;
// Splats per reduction, and the gradient sums they make.
const CHUNK: u32 = 4u;
const SUMS: u32 = CHUNK * 10u;
// Shared-memory row of one invocation: SUMS floats, padded to an odd stride so that the writes
// of consecutive invocations fall in different banks.
const ROW: u32 = SUMS + 1u;
// Each invocation loads one splat of a batch and reduces at most one sum of a chunk; the whole
// of var<workgroup> stays under WebGPU's default 16 KiB (the shader test checks).
const_assert BATCH == THREADS;
const_assert SUMS <= THREADS;
const GRAD_STRIDE: u32 = 12u;

var<workgroup> range_start: u32;
var<workgroup> range_end: u32;
var<workgroup> max_last: atomic<u32>;
// The batch's projected splats (project.wgsl): (mean2d.xy, conic.xy), (conic.z, opacity,
// depth, -), and the colour's bits with the cam_gid: (r, g, b, cam_gid).
var<workgroup> batch_p0: array<vec4<f32>, BATCH>;
var<workgroup> batch_p1: array<vec4<f32>, BATCH>;
var<workgroup> batch_color_gid: array<vec4<u32>, BATCH>;
// batch_sums[splat of the batch * 10 + gradient]: the batch's gradients summed over the tile.
var<workgroup> batch_sums: array<f32, BATCH * 10u>;
// partials[invocation * ROW + splat of the chunk * 10 + gradient]
var<workgroup> partials: array<f32, THREADS * ROW>;
// Bit j: splat j of the chunk touched some pixel. Two words, alternating by chunk, so one can be
// cleared while the other is read.
var<workgroup> chunk_live: array<atomic<u32>, 2>;

#import batch_add

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let cam = cameras[wg.z];
    if wg.x >= cam.tiles_x || wg.y >= cam.tiles_y {
        return;
    }
    let tile = cam.tile_offset + wg.y * cam.tiles_x + wg.x;
    let px = wg.x * TILE_SIZE + lid % 16u;
    let py = vec4<u32>(wg.y * TILE_SIZE + lid / 16u) + vec4<u32>(0u, 4u, 8u, 12u);
    let inside = vec4<bool>(px < cam.width) & (py < vec4<u32>(cam.height));
    let fx = f32(px) + 0.5;
    let fy = vec4<f32>(py) + vec4<f32>(0.5);

    if lid == 0u {
        range_start = ranges[2u * tile];
        range_end = ranges[2u * tile + 1u];
        atomicStore(&max_last, 0u);
        atomicStore(&chunk_live[0], 0u);
        atomicStore(&chunk_live[1], 0u);
    }
    workgroupBarrier();
    let start = workgroupUniformLoad(&range_start);

    // Per lane (pixel): one past its last splat, final transmittance, dL/d(r, g, b, alpha, depth).
    var last = vec4<u32>(0u);
    var t_final = vec4<f32>(1.0);
    var vr = vec4<f32>(0.0);
    var vg = vec4<f32>(0.0);
    var vb = vec4<f32>(0.0);
    var va = vec4<f32>(0.0);
    var vd = vec4<f32>(0.0);
    for (var k = 0u; k < 4u; k++) {
        if inside[k] {
            let at = cam.pixel_offset + py[k] * cam.width + px;
            last[k] = out_last[at];
            t_final[k] = 1.0 - out_rgba[at].w;
            let v = v_rgba[at];
            vr[k] = v.x;
            vg[k] = v.y;
            vb[k] = v.z;
            va[k] = v.w;
            vd[k] = v_depth[at];
        }
    }
    atomicMax(&max_last, max(max(last.x, last.y), max(last.z, last.w)));
    workgroupBarrier();
    if lid == 0u {
        range_end = atomicLoad(&max_last);
    }
    let end = max(workgroupUniformLoad(&range_end), start);

    var transmittance = t_final;
    // dL/d(alpha_i) = T_i (c_i . v) - (sum over the splats behind i of w_j c_j . v) / (1 - alpha_i)
    //   + T_final / (1 - alpha_i) (v_alpha - bg . v), with c . v = rgb . v_rgb + depth v_depth:
    // the splats behind enter only through one running sum a lane (`behind`), not one a channel.
    var behind = vec4<f32>(0.0);
    let bg_dot = cam.background.x * vr + cam.background.y * vg + cam.background.z * vb;
    let from_background = t_final * (va - bg_dot);
    let ones = vec4<f32>(1.0);
    let zeros = vec4<f32>(0.0);
    var chunk_number = 0u;
    let num_batches = ceil_div(end - start, BATCH);
    for (var b = 0u; b < num_batches; b++) {
        // Batches from the back; within a batch, splats from the back.
        let batch_end = end - b * BATCH;
        let batch_start = max(start, batch_end - min(batch_end, BATCH));
        let count = batch_end - batch_start;
        workgroupBarrier();
        if lid < count {
            let g = isect_values[batch_end - 1u - lid];
            batch_p0[lid] = projected[3u * g];
            batch_p1[lid] = projected[3u * g + 1u];
            batch_color_gid[lid] = vec4<u32>(bitcast<vec3<u32>>(projected[3u * g + 2u].xyz), g);
        }
        workgroupBarrier();
        for (var c0 = 0u; c0 < count; c0 += CHUNK) {
            let parity = chunk_number & 1u;
            var live = 0u;
            for (var j = 0u; j < CHUNK; j++) {
                let t = c0 + j;
                let row = lid * ROW + j * 10u;
                if t >= count {
                    continue;
                }
                let index = batch_end - 1u - t;
                let p0 = batch_p0[t];
                let p1 = batch_p1[t];
                let color = bitcast<vec3<f32>>(batch_color_gid[t].xyz);
                let dx = p0.x - fx;
                let dy = vec4<f32>(p0.y) - fy;
                let power = 0.5 * (p0.z * dx * dx + p1.x * dy * dy) + p0.w * dx * dy;
                let vis = exp(-power);
                let raw = p1.y * vis;
                let alpha = min(vec4<f32>(0.999), raw);
                let blended = inside & (vec4<u32>(index) < last) & (power >= zeros) & (alpha >= vec4<f32>(1.0 / 255.0));
                let ra = ones / (ones - alpha);
                transmittance = select(transmittance, transmittance * ra, blended);
                let weight = select(zeros, alpha * transmittance, blended);
                let cv = color.x * vr + color.y * vg + color.z * vb + p1.z * vd;
                let v_alpha = transmittance * cv + ra * (from_background - behind);
                let unclamped = blended & (raw <= vec4<f32>(0.999));
                let v_power = select(zeros, -raw * v_alpha, unclamped);
                partials[row] = dot(v_power, p0.z * dx + p0.w * dy);
                partials[row + 1u] = dot(v_power, p0.w * dx + p1.x * dy);
                partials[row + 2u] = 0.5 * dx * dx * dot(v_power, ones);
                partials[row + 3u] = dx * dot(v_power, dy);
                partials[row + 4u] = 0.5 * dot(v_power, dy * dy);
                partials[row + 5u] = dot(select(zeros, vis * v_alpha, unclamped), ones);
                partials[row + 6u] = dot(weight, vr);
                partials[row + 7u] = dot(weight, vg);
                partials[row + 8u] = dot(weight, vb);
                partials[row + 9u] = dot(weight, vd);
                behind += cv * weight;
                if any(blended) {
                    live |= 1u << j;
                }
            }
            if live != 0u {
                atomicOr(&chunk_live[parity], live);
            }
            workgroupBarrier();
            if lid == 0u {
                // Read last in the previous chunk, before the barrier above.
                atomicStore(&chunk_live[parity ^ 1u], 0u);
            }
            let splat = lid / 10u;
            if lid < SUMS && c0 + splat < count {
                // Four running sums, so the adds do not wait on each other.
                var sum = vec4<f32>(0.0);
                if ((atomicLoad(&chunk_live[parity]) >> splat) & 1u) != 0u {
                    for (var s = 0u; s < THREADS; s += 4u) {
                        sum += vec4<f32>(partials[s * ROW + lid], partials[(s + 1u) * ROW + lid], partials[(s + 2u) * ROW + lid], partials[(s + 3u) * ROW + lid]);
                    }
                }
                batch_sums[c0 * 10u + lid] = dot(sum, ones);
            }
            workgroupBarrier();
            chunk_number++;
        }
        add_batch_to_memory(count, lid);
    }
}
