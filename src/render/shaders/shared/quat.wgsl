// Rotation matrix of a (not necessarily normalized) quaternion stored as vec4(w, x, y, z).

fn quat_to_mat(q_raw: vec4<f32>) -> mat3x3<f32> {
    let q = normalize(q_raw);
    let w = q.x;
    let x = q.y;
    let y = q.z;
    let z = q.w;
    // Columns of the rotation matrix.
    return mat3x3<f32>(
        vec3<f32>(1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y + w * z), 2.0 * (x * z - w * y)),
        vec3<f32>(2.0 * (x * y - w * z), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z + w * x)),
        vec3<f32>(2.0 * (x * z + w * y), 2.0 * (y * z - w * x), 1.0 - 2.0 * (x * x + y * y)),
    );
}
