// The tiles a projected splat touches: the rectangle of 16x16 tiles ([min, max) in tile
// coordinates, from its pixel-space centre and per-axis radii, clamped to the image's tile
// grid), and which of them its ellipse reaches (`tile_touched`).

const ALPHA_THRESHOLD: f32 = 1.0 / 255.0;

// Opacity-aware extent in standard deviations: beyond it alpha < 1/255 (3.33 caps it at
// opacity 1, where power 0.5 * 3.33^2 ~ ln 255).
fn opacity_extent(opacity: f32) -> f32 {
    return min(3.33, sqrt(2.0 * log(opacity / ALPHA_THRESHOLD)));
}

struct TileRect {
    min: vec2<u32>,
    max: vec2<u32>,
}

fn tile_rect(mean: vec2<f32>, radius: vec2<f32>, tiles: vec2<u32>) -> TileRect {
    let ts = f32(TILE_SIZE);
    let lo = floor((mean - radius) / ts);
    let hi = ceil((mean + radius) / ts);
    let tiles_f = vec2<f32>(tiles);
    var r: TileRect;
    r.min = vec2<u32>(clamp(lo, vec2<f32>(0.0), tiles_f));
    r.max = vec2<u32>(clamp(hi, vec2<f32>(0.0), tiles_f));
    return r;
}

fn tile_rect_count(r: TileRect) -> u32 {
    return (r.max.x - r.min.x) * (r.max.y - r.min.y);
}

// Whether a splat reaches a pixel of tile `tile` with alpha >= 1/255: whether its power
// 0.5 * (A dx^2 + C dy^2) + B dx dy (conic (A, B, C)) falls to `threshold` (ln(opacity * 255))
// somewhere on the rectangle spanned by the tile's pixel centres. The smallest power lies at the
// splat's centre when that is inside, else on an edge, where it is a 1D quadratic. A rectangle
// holds more points than the pixel centres and the margin covers rounding, so a rejected tile
// has no pixel the splat changes: dropping it changes no image. The opacity-aware box of
// `tile_rect` keeps the corners an elongated, rotated splat never reaches; this drops them.
fn tile_touched(mean: vec2<f32>, conic: vec3<f32>, threshold: f32, tile: vec2<u32>) -> bool {
    let lo = vec2<f32>(tile * TILE_SIZE) + vec2<f32>(0.5) - mean;
    let hi = lo + vec2<f32>(f32(TILE_SIZE - 1u));
    if all(lo <= vec2<f32>(0.0)) && all(hi >= vec2<f32>(0.0)) {
        return true;
    }
    if !(conic.x > 0.0 && conic.z > 0.0) {
        return true;
    }
    // On the vertical edges dx is fixed and the power is least at dy = -B dx / C; on the
    // horizontal edges at dx = -B dy / A.
    let ex = vec2<f32>(lo.x, hi.x);
    let ey = clamp(-conic.y * ex / conic.z, vec2<f32>(lo.y), vec2<f32>(hi.y));
    let fy = vec2<f32>(lo.y, hi.y);
    let fx = clamp(-conic.y * fy / conic.x, vec2<f32>(lo.x), vec2<f32>(hi.x));
    // The power at those points: its square terms and its cross term.
    let square_x = 0.5 * (conic.x * ex * ex + conic.z * ey * ey);
    let cross_x = conic.y * ex * ey;
    let square_y = 0.5 * (conic.x * fx * fx + conic.z * fy * fy);
    let cross_y = conic.y * fx * fy;
    let on_x = square_x + cross_x;
    let on_y = square_y + cross_y;
    let least = min(min(on_x.x, on_x.y), min(on_y.x, on_y.y));
    // Rounding: far along a long, thin, rotated splat the terms of the power are much larger
    // than their sum, and this test and the rasterizer round them differently; the margin grows
    // with the terms (f32 keeps ~6e-8 of them; a few operations round a few times that).
    let size_x = square_x + abs(cross_x);
    let size_y = square_y + abs(cross_y);
    let size = max(max(size_x.x, size_x.y), max(size_y.x, size_y.y));
    return least <= threshold + 0.01 + 4e-6 * size;
}

// How many tiles of `rect` the splat touches (as `tile_touched`).
fn touched_tile_count(r: TileRect, mean: vec2<f32>, conic: vec3<f32>, threshold: f32) -> u32 {
    var count = 0u;
    for (var ty = r.min.y; ty < r.max.y; ty++) {
        for (var tx = r.min.x; tx < r.max.x; tx++) {
            count += u32(tile_touched(mean, conic, threshold, vec2<u32>(tx, ty)));
        }
    }
    return count;
}
