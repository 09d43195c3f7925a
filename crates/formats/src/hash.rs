//! A 128-bit content hash for cache keys: fast (one multiply per 8 bytes and lane), stable across
//! platforms and Rust releases (unlike `std`'s `DefaultHasher`), and with no dependency. Not
//! cryptographic: it tells apart scenes and poses, it does not resist an adversary.

/// Streaming hasher: feed bytes with [`ContentHasher::update`], read the hash with
/// [`ContentHasher::finish`]. The result depends only on the concatenated bytes, not on how they
/// were split between calls.
#[derive(Debug, Clone)]
pub struct ContentHasher {
    lanes: [u64; 2],
    pending: [u8; 8],
    pending_len: usize,
    total: u64,
}

const SEEDS: [u64; 2] = [0x243f_6a88_85a3_08d3, 0x1319_8a2e_0370_7344];
const MULTIPLIERS: [u64; 2] = [0x9e37_79b9_7f4a_7c15, 0xc2b2_ae3d_27d4_eb4f];

impl Default for ContentHasher {
    fn default() -> Self {
        Self { lanes: SEEDS, pending: [0; 8], pending_len: 0, total: 0 }
    }
}

impl ContentHasher {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, mut bytes: &[u8]) -> &mut Self {
        self.total += bytes.len() as u64;
        if self.pending_len > 0 {
            let take = (8 - self.pending_len).min(bytes.len());
            self.pending[self.pending_len..self.pending_len + take].copy_from_slice(&bytes[..take]);
            self.pending_len += take;
            bytes = &bytes[take..];
            if self.pending_len < 8 {
                return self;
            }
            self.mix(u64::from_le_bytes(self.pending));
            self.pending_len = 0;
        }
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            self.mix(u64::from_le_bytes(word.try_into().expect("8 bytes")));
        }
        let rest = words.remainder();
        self.pending[..rest.len()].copy_from_slice(rest);
        self.pending_len = rest.len();
        self
    }

    pub fn update_u64(&mut self, value: u64) -> &mut Self {
        self.update(&value.to_le_bytes())
    }

    pub fn update_f32s(&mut self, values: &[f32]) -> &mut Self {
        for v in values {
            self.update(&v.to_bits().to_le_bytes());
        }
        self
    }

    pub fn finish(&self) -> u128 {
        let mut this = self.clone();
        if this.pending_len > 0 {
            let mut last = [0u8; 8];
            last[..this.pending_len].copy_from_slice(&this.pending[..this.pending_len]);
            this.mix(u64::from_le_bytes(last));
        }
        // The length goes in last, so that trailing zero bytes change the hash.
        this.mix(this.total);
        let [a, b] = this.lanes;
        let high = avalanche(a ^ b.rotate_left(32));
        let low = avalanche(b ^ a.rotate_left(17) ^ high);
        ((high as u128) << 64) | low as u128
    }

    fn mix(&mut self, word: u64) {
        for (lane, m) in self.lanes.iter_mut().zip(MULTIPLIERS) {
            *lane = (*lane ^ word).wrapping_mul(m).rotate_left(29) ^ (*lane >> 7);
        }
    }
}

/// The hash of one byte string.
pub fn hash_bytes(bytes: &[u8]) -> u128 {
    ContentHasher::new().update(bytes).finish()
}

/// The hash of a scene held in memory (its arrays, as the renderer gets them), for scenes that
/// have no file, e.g. the browser's trained splats.
pub fn hash_splats(splats: &crate::Splats) -> u128 {
    let mut h = ContentHasher::new();
    h.update(b"splats").update_u64(splats.len() as u64).update_u64(splats.sh_degree as u64);
    h.update(bytemuck::cast_slice(&splats.means));
    h.update(bytemuck::cast_slice(&splats.rotations));
    h.update(bytemuck::cast_slice(&splats.log_scales));
    h.update(bytemuck::cast_slice(&splats.opacity_logits));
    h.update(bytemuck::cast_slice(&splats.sh));
    h.finish()
}

/// splitmix64's finalizer: every input bit flips about half the output bits.
fn avalanche(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_updates_hash_like_one() {
        let data: Vec<u8> = (0..100u8).collect();
        let whole = hash_bytes(&data);
        let mut h = ContentHasher::new();
        h.update(&data[..3]).update(&data[3..20]).update(&data[20..]);
        assert_eq!(h.finish(), whole);
        assert_ne!(hash_bytes(&data[..99]), whole);
        assert_ne!(hash_bytes(&[0]), hash_bytes(&[0, 0]));
        assert_ne!(hash_bytes(b""), hash_bytes(&[0]));
    }
}
