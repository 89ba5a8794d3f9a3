//! XXH3-64: the hash of every checksum rayproc writes and checks (store
//! partitions, columns and manifests, partial files and their envelopes)
//! and of the approximate sketches.
//!
//! It comes from `twox-hash`, which `parquet` builds anyway, rather than a
//! second XXH3 crate (`xxhash-rust` was used before): one dependency fewer,
//! and its long-input loop picks AVX2 or SSE2 at run time (NEON on arm64)
//! where `xxhash-rust` was fixed at the build's baseline. (Checking a
//! store's columns, the largest use, is 15% of the CPU of a small group-by
//! from a store either way: it is the first read of the column's memory,
//! and bound by that.) The algorithm is XXH3's, so every checksum is the one
//! written before; the tests pin it to the reference implementation.

use std::hash::Hasher as _;

/// XXH3-64 of `bytes` (seed 0).
#[inline]
pub fn xxh3_64(bytes: &[u8]) -> u64 {
    twox_hash::XxHash3_64::oneshot(bytes)
}

/// XXH3-64 of `bytes` with `seed`.
#[inline]
pub fn xxh3_64_with_seed(bytes: &[u8], seed: u64) -> u64 {
    twox_hash::XxHash3_64::oneshot_with_seed(seed, bytes)
}

/// XXH3-64 of bytes given in pieces: the same value as [`xxh3_64`] of them
/// all at once.
#[derive(Default)]
pub struct Xxh3(twox_hash::XxHash3_64);

impl Xxh3 {
    pub fn new() -> Self {
        Self::default()
    }

    #[inline]
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.write(bytes)
    }

    pub fn digest(&self) -> u64 {
        self.0.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| ((i * 31 + 7) % 251) as u8).collect()
    }

    /// From the reference implementation (Python `xxhash` 3.x, libxxhash
    /// 0.8): `xxh3_64_intdigest(data(n))`, every length class of XXH3
    /// (0, 1-3, 4-8, 9-16, 17-128, 129-240, long: one stripe block and many).
    const VECTORS: [(usize, u64); 16] = [
        (0, 0x2d06800538d394c2),
        (1, 0x4c5cca45d0f4811f),
        (3, 0x15f7093b173d005c),
        (4, 0xdca012f95811b6b9),
        (8, 0xdec6a9a43575982e),
        (9, 0x15e553b97e27735d),
        (16, 0xa7683b861e585aa6),
        (17, 0x637c1aa907698945),
        (128, 0x6d0f64c82ddaad27),
        (129, 0xeaf3fc97c05f44f3),
        (240, 0x22f28cbbfaf0447f),
        (241, 0x07525dbc14902c7f),
        (1023, 0xfe4f1eaedb87b59b),
        (1024, 0xe2898655db7bc9ee),
        (1025, 0x134c652ba3d6fb9e),
        (100003, 0xe449a420f68908db),
    ];

    #[test]
    fn matches_the_reference_implementation() {
        for (n, want) in VECTORS {
            assert_eq!(xxh3_64(&data(n)), want, "length {n}");
        }
        for (n, want) in [
            (8, 0x313b0c06d5b011e1),
            (17, 0x2d00cceab6efac1c),
            (300, 0x6f7e88ac08180401),
        ] {
            assert_eq!(
                xxh3_64_with_seed(&data(n), 0x5eed),
                want,
                "seeded, length {n}"
            );
        }
    }

    #[test]
    fn pieces_hash_as_the_whole() {
        for (n, want) in VECTORS {
            let bytes = data(n);
            for piece in [1, 7, 64, 1000, 4096] {
                let mut h = Xxh3::new();
                bytes.chunks(piece).for_each(|c| h.update(c));
                assert_eq!(h.digest(), want, "length {n} in pieces of {piece}");
            }
        }
    }
}
