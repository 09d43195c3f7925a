// The rectangle of 16x16 tiles a projected splat touches: [min, max) in tile coordinates,
// from its pixel-space centre and per-axis radii, clamped to the image's tile grid.

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
