//! The key set on its own: nanoseconds per key to hash, to intern a key
//! already in the set, and to intern new keys into a set that grows from
//! empty, for sets that fit the L2 cache and sets that do not.
//!
//! Why a bench of its own: interning is a fifth of the reference
//! million-group run (Q6), and a change worth 1–2 ns a key is 2% of that
//! run, under the noise of an end-to-end timing on these VMs (a run's
//! wall time moves by 2–5% between rounds). Here the same change shows in
//! the first decimal, run after run. The keys are packed in one buffer
//! and looked up in batches of 2,048, as the radix group-by's folds read
//! them (`partial::radix`), with the hashes computed per batch first.
//!
//! ```sh
//! cargo bench --bench keyset            # all sizes, 12-byte and 40-byte keys
//! cargo bench --bench keyset -- 4000    # one size
//! ```

use std::time::{Duration, Instant};

use rayproc::keyset::{shared_hasher, KeySet};

/// Keys looked up per batch: the radix folds' `FOLD_ROWS`.
const BATCH: usize = 2048;
/// Lookups timed per size and key length.
const LOOKUPS: usize = 1 << 22;
/// Rounds per figure; the median is shown.
const ROUNDS: usize = 5;

/// `n` distinct keys of `len` bytes (at least 8), packed end to end: key
/// `k` ends in the last `len - 4` digits of `257 k + 17`, distinct for
/// every `k` below `10^(len - 4)` (257 is prime to 10).
fn keys(n: usize, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n * len);
    for i in 0..n {
        let digits = format!("{:0width$}", i * 257 + 17, width = len - 4);
        out.extend_from_slice(b"key_");
        out.extend_from_slice(&digits.as_bytes()[digits.len() - (len - 4)..]);
    }
    out
}

/// A deterministic sequence of key numbers below `n`.
fn picks(n: usize, count: usize) -> Vec<usize> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..count)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        })
        .collect()
}

/// The median of `ROUNDS` runs of `f`, in nanoseconds per key of `per`.
fn median_ns(per: usize, mut f: impl FnMut() -> Duration) -> f64 {
    let mut ns: Vec<f64> = (0..ROUNDS)
        .map(|_| f().as_nanos() as f64 / per as f64)
        .collect();
    ns.sort_by(f64::total_cmp);
    ns[ROUNDS / 2]
}

/// One line of figures: `n` keys of `len` bytes.
fn measure(n: usize, len: usize) {
    let pool = keys(n, len);
    let key = |k: usize| &pool[k * len..(k + 1) * len];
    let hasher = shared_hasher();
    // the lookups, packed in their order, as rows in a radix buffer are
    let order = picks(n, LOOKUPS);
    let mut rows = Vec::with_capacity(LOOKUPS * len);
    order.iter().for_each(|&k| rows.extend_from_slice(key(k)));
    let batches: Vec<Vec<&[u8]>> = rows
        .chunks(BATCH * len)
        .map(|b| b.chunks(len).collect())
        .collect();

    let mut hashes: Vec<u64> = Vec::with_capacity(BATCH);
    let hash = median_ns(LOOKUPS, || {
        let start = Instant::now();
        let mut sink = 0u64;
        for batch in &batches {
            hashes.clear();
            hashes.extend(batch.iter().map(|&k| hasher.hash(k)));
            sink ^= hashes[0];
        }
        std::hint::black_box(sink);
        start.elapsed()
    });

    let mut set = KeySet::with_hasher(hasher);
    let mut ids = Vec::with_capacity(BATCH);
    set.intern_batch(n, key, &mut ids);
    assert_eq!(set.len(), n, "the keys repeat");
    let all_hashes: Vec<Vec<u64>> = batches
        .iter()
        .map(|b| b.iter().map(|&k| hasher.hash(k)).collect())
        .collect();
    let hit = median_ns(LOOKUPS, || {
        let start = Instant::now();
        for (batch, hashes) in batches.iter().zip(&all_hashes) {
            ids.clear();
            set.intern_hashed_batch(batch.len(), |i| batch[i], hashes, &mut ids);
        }
        std::hint::black_box(&ids);
        start.elapsed()
    });
    // key `k` was interned `k`th: the last batch found its keys
    let last = &order[(order.len() - 1) / BATCH * BATCH..];
    assert!(ids.len() == last.len() && ids.iter().zip(last).all(|(&id, &k)| id as usize == k));

    // new keys, into sets growing from empty (their fresh memory
    // included), enough of them for a steady figure
    let fresh: Vec<u64> = (0..n).map(|k| hasher.hash(key(k))).collect();
    let sets = (LOOKUPS / 4 / n).max(1);
    let insert = median_ns(n * sets, || {
        let mut took = Duration::ZERO;
        for _ in 0..sets {
            let mut set = KeySet::with_hasher(hasher);
            let start = Instant::now();
            for (b, hashes) in fresh.chunks(BATCH).enumerate() {
                ids.clear();
                let first = b * BATCH;
                set.intern_hashed_batch(hashes.len(), |i| key(first + i), hashes, &mut ids);
            }
            took += start.elapsed();
            std::hint::black_box(set.len());
        }
        took
    });
    println!("| {n:>9} | {len:>4} | {hash:>6.2} | {hit:>7.2} | {insert:>7.2} |");
}

fn main() {
    // `cargo bench` passes `--bench`; a number picks one set size
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![4_000, 64_000, 1_000_000]
    } else {
        sizes
    };
    println!("ns per key, medians of {ROUNDS} rounds; lookups in batches of {BATCH}\n");
    println!("| keys in set | key bytes | hash | intern (in set) | intern (new, growing) |");
    println!("|---:|---:|---:|---:|---:|");
    for &n in &sizes {
        for len in [12, 40] {
            measure(n, len);
        }
    }
}
