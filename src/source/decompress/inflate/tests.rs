//! Tests of the deflate decoder: hand-made streams (every block type and
//! every error class), and a differential test against flate2 (zlib-rs)
//! with random input and output chunk sizes and random corruptions.

use super::*;
use std::io::Write;

/// Deflate bit writer: fields LSB first, Huffman codes MSB first.
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn put(&mut self, v: u32, n: u32) -> &mut Self {
        self.acc |= u64::from(v) << self.n;
        self.n += n;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
        self
    }
    /// A Huffman codeword of `len` bits, most significant bit first.
    fn code(&mut self, code: u32, len: u32) -> &mut Self {
        let rev = code.reverse_bits() >> (32 - len);
        self.put(rev, len)
    }
    fn align(&mut self) -> &mut Self {
        if !self.n.is_multiple_of(8) {
            let pad = 8 - self.n % 8;
            self.put(0, pad);
        }
        self
    }
    fn bytes(&mut self, b: &[u8]) -> &mut Self {
        assert_eq!(self.n, 0);
        self.out.extend_from_slice(b);
        self
    }
    fn finish(&mut self) -> Vec<u8> {
        self.align();
        std::mem::take(&mut self.out)
    }
}

/// Canonical codes (code, length) for `lens`.
fn canonical(lens: &[u8]) -> Vec<(u32, u32)> {
    let mut count = [0u32; 16];
    for &l in lens {
        count[l as usize] += 1;
    }
    count[0] = 0;
    let mut next = [0u32; 16];
    let mut code = 0;
    for l in 1..16 {
        code = (code + count[l - 1]) << 1;
        next[l] = code;
    }
    lens.iter()
        .map(|&l| {
            let c = next[l as usize];
            next[l as usize] += 1;
            (c, u32::from(l))
        })
        .collect()
}

/// Fixed-code literal/length symbol.
fn fixed_lit(b: &mut Bits, sym: u32) {
    match sym {
        0..=143 => b.code(0x30 + sym, 8),
        144..=255 => b.code(0x190 + sym - 144, 9),
        256..=279 => b.code(sym - 256, 7),
        _ => b.code(0xc0 + sym - 280, 8),
    };
}

/// A dynamic block header: `lit` and `dist` code lengths, written with a
/// code-length code of 13 four-bit and 6 five-bit codes, no repeats
/// unless `cl_syms` gives the code-length symbols (with extra bits).
fn dynamic_header(
    b: &mut Bits,
    last: bool,
    lit: &[u8],
    dist: &[u8],
    cl_syms: Option<&[(u32, u32, u32)]>,
) {
    b.put(last as u32, 1).put(2, 2);
    b.put(lit.len() as u32 - 257, 5)
        .put(dist.len() as u32 - 1, 5)
        .put(15, 4);
    let mut cl_lens = [0u8; 19];
    for (s, l) in cl_lens.iter_mut().enumerate() {
        *l = if s < 13 { 4 } else { 5 };
    }
    for &s in &CL_ORDER {
        b.put(u32::from(cl_lens[s]), 3);
    }
    let codes = canonical(&cl_lens);
    match cl_syms {
        Some(syms) => {
            for &(s, extra, n) in syms {
                b.code(codes[s as usize].0, codes[s as usize].1);
                b.put(extra, n);
            }
        }
        None => {
            for &l in lit.iter().chain(dist) {
                b.code(codes[l as usize].0, codes[l as usize].1);
            }
        }
    }
}

/// Decodes `input` whole, fed `in_step` bytes and drained `out_step`
/// bytes at a time: the output and the input bytes used, or the error
/// (`None`: the input ended inside the stream).
fn inflate_by(
    input: &[u8],
    in_step: usize,
    out_step: usize,
) -> Result<(Vec<u8>, usize), Option<InflateError>> {
    let mut d = Inflater::new();
    let mut out = Vec::new();
    let mut buf = vec![0u8; out_step];
    let mut pos = 0;
    loop {
        let end = (pos + in_step).min(input.len());
        let avail = end - pos;
        let (used, produced, r) = d.inflate(&input[pos..end], &mut buf);
        assert!(used <= avail);
        pos += used;
        out.extend_from_slice(&buf[..produced]);
        assert!(out.len() < 64 << 20, "runaway output");
        match r {
            Err(e) => {
                // an error is final
                assert_eq!(d.inflate(&input[pos..], &mut buf).2, Err(e));
                return Err(Some(e));
            }
            Ok(true) => return Ok((out, pos)),
            Ok(false) => {
                assert!(
                    used == avail || produced == out_step,
                    "stopped with input and output room left"
                );
                if used == 0 && produced == 0 && end == input.len() {
                    return Err(None);
                }
            }
        }
    }
}

fn inflate_all(input: &[u8]) -> Result<Vec<u8>, Option<InflateError>> {
    inflate_by(input, usize::MAX / 2, 1 << 20).map(|(o, _)| o)
}

/// Every way of feeding and draining gives the same answer.
fn check(input: &[u8]) -> Result<(Vec<u8>, usize), Option<InflateError>> {
    let want = inflate_by(input, usize::MAX / 2, 1 << 20);
    for (i, o) in [(1, 1), (1, 1 << 16), (3, 300), (17, 1 << 20), (1 << 20, 1)] {
        let got = inflate_by(input, i, o);
        match (&want, &got) {
            (Ok(a), Ok(b)) => assert!(a == b, "in {i} out {o}: other bytes"),
            (Err(_), Err(_)) => {}
            _ => panic!("in {i} out {o}: {:?} vs {:?}", want.is_ok(), got.is_ok()),
        }
    }
    want
}

fn expect_err(input: &[u8], e: InflateError) {
    assert_eq!(check(input).map(|_| ()), Err(Some(e)));
}

// ------------------------------------------------------ hand-made streams

#[test]
fn empty_streams() {
    // a fixed block holding only end-of-block
    assert_eq!(check(&[0x03, 0x00]).unwrap(), (vec![], 2));
    // an empty stored block
    assert_eq!(check(&[0x01, 0, 0, 0xff, 0xff]).unwrap(), (vec![], 5));
    // the input ends inside
    for s in [&[][..], &[0x03], &[0x01, 0, 0, 0xff]] {
        assert_eq!(check(s), Err(None));
    }
}

#[test]
fn stored_blocks() {
    let data: Vec<u8> = (0..70_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut b = Bits::default();
    // 65535 bytes, then the rest in a last block; a fixed block between
    b.put(0, 1).put(0, 2).align();
    b.bytes(&65535u16.to_le_bytes())
        .bytes(&(!65535u16).to_le_bytes());
    b.bytes(&data[..65535]);
    b.put(0, 1).put(1, 2);
    fixed_lit(&mut b, 256);
    b.put(1, 1).put(0, 2).align();
    let rest = (data.len() - 65535) as u16;
    b.bytes(&rest.to_le_bytes()).bytes(&(!rest).to_le_bytes());
    b.bytes(&data[65535..]);
    let s = b.finish();
    assert_eq!(check(&s).unwrap(), (data, s.len()));
    // LEN and NLEN disagree
    let bad = [0x01, 5, 0, 0xfa, 0xfe, 1, 2, 3, 4, 5];
    expect_err(&bad, InflateError::StoredLength);
}

#[test]
fn fixed_block_with_a_run_of_distance_one() {
    let mut b = Bits::default();
    b.put(1, 1).put(1, 2);
    fixed_lit(&mut b, b'a' as u32);
    fixed_lit(&mut b, 285); // length 258
    b.code(0, 5); // distance 1
    fixed_lit(&mut b, 285);
    b.code(0, 5);
    fixed_lit(&mut b, b'z' as u32);
    fixed_lit(&mut b, 256);
    let s = b.finish();
    let mut want = vec![b'a'; 1 + 2 * 258];
    want.push(b'z');
    assert_eq!(check(&s).unwrap(), (want, s.len()));
}

/// A stored block of `n` bytes, then a fixed block with a match of length
/// 3 at distance 32768.
fn far_match(n: usize) -> (Vec<u8>, Vec<u8>) {
    let data: Vec<u8> = (0..n as u32).map(|i| (i * 13 % 256) as u8).collect();
    let mut b = Bits::default();
    b.put(0, 1).put(0, 2).align();
    b.bytes(&(n as u16).to_le_bytes())
        .bytes(&(!(n as u16)).to_le_bytes());
    b.bytes(&data);
    b.put(1, 1).put(1, 2);
    fixed_lit(&mut b, 257); // length 3
    b.code(29, 5).put(8191, 13); // 24577 + 8191 = 32768
    fixed_lit(&mut b, 256);
    (b.finish(), data)
}

#[test]
fn distance_32768_and_too_far_back() {
    let (s, data) = far_match(32768);
    let mut want = data.clone();
    want.extend_from_slice(&data[..3]);
    assert_eq!(check(&s).unwrap(), (want, s.len()));
    let (s, _) = far_match(32767);
    expect_err(&s, InflateError::DistanceTooFar);
    // in the first block: distance 1 with no output yet
    let mut b = Bits::default();
    b.put(1, 1).put(1, 2);
    fixed_lit(&mut b, 257);
    b.code(0, 5);
    fixed_lit(&mut b, 256);
    expect_err(&b.finish(), InflateError::DistanceTooFar);
}

#[test]
fn fixed_code_bad_symbols_and_block_type_3() {
    for sym in [286, 287] {
        let mut b = Bits::default();
        b.put(1, 1).put(1, 2);
        fixed_lit(&mut b, b'x' as u32);
        fixed_lit(&mut b, sym);
        b.put(0, 32);
        expect_err(&b.finish(), InflateError::BadLitLen);
    }
    for d in [30, 31] {
        let mut b = Bits::default();
        b.put(1, 1).put(1, 2);
        fixed_lit(&mut b, b'x' as u32);
        fixed_lit(&mut b, 257);
        b.code(d, 5);
        b.put(0, 32);
        expect_err(&b.finish(), InflateError::BadDistance);
    }
    expect_err(&[0x07, 0, 0], InflateError::BlockType);
    expect_err(&[0x06, 0, 0], InflateError::BlockType);
}

/// Literal/length lengths: 'a' 1 bit, 'b' 2, end of block 3, length 3
/// (257) 3 bits.
fn small_lit() -> Vec<u8> {
    let mut lit = vec![0u8; 258];
    lit[b'a' as usize] = 1;
    lit[b'b' as usize] = 2;
    lit[256] = 3;
    lit[257] = 3;
    lit
}

#[test]
fn dynamic_blocks() {
    let lit = small_lit();
    let codes = canonical(&lit);
    let put = |b: &mut Bits, s: usize| {
        b.code(codes[s].0, codes[s].1);
    };
    // one distance code of one bit (incomplete, as zlib allows)
    let mut b = Bits::default();
    dynamic_header(&mut b, true, &lit, &[1], None);
    put(&mut b, b'a' as usize);
    put(&mut b, b'b' as usize);
    put(&mut b, 257);
    b.code(0, 1); // distance 1
    put(&mut b, b'a' as usize);
    put(&mut b, 256);
    let s = b.finish();
    assert_eq!(check(&s).unwrap(), (b"abbbba".to_vec(), s.len()));
    // the other half of that distance code is no code
    let mut b = Bits::default();
    dynamic_header(&mut b, true, &lit, &[1], None);
    put(&mut b, b'a' as usize);
    put(&mut b, 257);
    b.code(1, 1);
    b.put(0, 32);
    expect_err(&b.finish(), InflateError::BadDistance);
    // no distance code at all: fine without matches, an error with one
    let mut b = Bits::default();
    dynamic_header(&mut b, true, &lit, &[0], None);
    put(&mut b, b'b' as usize);
    put(&mut b, 256);
    assert_eq!(check(&b.finish()).unwrap().0, b"b");
    let mut b = Bits::default();
    dynamic_header(&mut b, true, &lit, &[0], None);
    put(&mut b, b'b' as usize);
    put(&mut b, 257);
    b.put(0, 32);
    expect_err(&b.finish(), InflateError::BadDistance);
}

#[test]
fn dynamic_block_with_long_codes_uses_subtables() {
    // 286 literal/length codes: 2 of 2 bits .. down to 15-bit codes,
    // found by a Kraft-complete assignment; 30 distance codes likewise.
    fn lengths(n: usize) -> Vec<u8> {
        // n - 1 codes of length 1..n-1 and one more of the last length
        // would pass 15 bits; spread: half the codes at 15 bits.
        let mut lens = vec![0u8; n];
        // fill greedily: lengths 1.. so that the code is complete
        let mut left: u64 = 1 << 15; // codespace in 2^-15 units
        for (i, l) in lens.iter_mut().enumerate() {
            let rest = (n - i - 1) as u64; // codes still to place, 1 unit each
            let mut len = 1u32;
            while (1u64 << (15 - len)) > left - rest {
                len += 1;
            }
            *l = len as u8;
            left -= 1 << (15 - len);
        }
        assert_eq!(left, 0);
        lens
    }
    let lit = lengths(286);
    let dist = lengths(30);
    assert!(lit.iter().any(|&l| l > 11) && dist.iter().any(|&l| l > 8));
    let lc = canonical(&lit);
    let dc = canonical(&dist);
    let mut b = Bits::default();
    dynamic_header(&mut b, true, &lit, &dist, None);
    let mut want = Vec::new();
    for (s, &(code, len)) in lc.iter().enumerate().take(256) {
        b.code(code, len);
        want.push(s as u8);
    }
    // every length symbol, with distance symbol (sym * 7) % 16 and extra 0
    for s in 257..286usize {
        let len = LEN_BASE[s - 257] as usize;
        b.code(lc[s].0, lc[s].1)
            .put(0, u32::from(LEN_EXTRA[s - 257]));
        let ds = (s * 7) % 16;
        let dist_v = DIST_BASE[ds] as usize;
        b.code(dc[ds].0, dc[ds].1).put(0, u32::from(DIST_EXTRA[ds]));
        for _ in 0..len {
            want.push(want[want.len() - dist_v]);
        }
    }
    b.code(lc[256].0, lc[256].1);
    let s = b.finish();
    assert_eq!(check(&s).unwrap(), (want.clone(), s.len()));
    // flate2 agrees
    assert_eq!(flate2_inflate(&s).unwrap(), (want, s.len()));
}

#[test]
fn dynamic_header_errors() {
    let lit = small_lit();
    // over-subscribed: 'a', 'b' and end of block all 1 bit
    let mut over = vec![0u8; 257];
    over[b'a' as usize] = 1;
    over[b'b' as usize] = 1;
    over[256] = 1;
    let mut b = Bits::default();
    dynamic_header(&mut b, true, &over, &[1], None);
    b.put(0, 32);
    expect_err(&b.finish(), InflateError::LitLenCode);
    // incomplete (two codes of 2 bits)
    let mut inc = vec![0u8; 257];
    inc[b'a' as usize] = 2;
    inc[256] = 2;
    let mut b = Bits::default();
    dynamic_header(&mut b, true, &inc, &[1], None);
    b.put(0, 32);
    expect_err(&b.finish(), InflateError::LitLenCode);
    // incomplete distance code (1 and 2 bits)
    let mut b = Bits::default();
    dynamic_header(&mut b, true, &lit, &[1, 2], None);
    b.put(0, 32);
    expect_err(&b.finish(), InflateError::DistanceCode);
    // no end-of-block code
    let mut noeob = vec![0u8; 257];
    noeob[b'a' as usize] = 1;
    noeob[b'b' as usize] = 1;
    let mut b = Bits::default();
    dynamic_header(&mut b, true, &noeob, &[1], None);
    b.put(0, 32);
    expect_err(&b.finish(), InflateError::MissingEndOfBlock);
    // a repeat first
    let mut b = Bits::default();
    dynamic_header(&mut b, true, &lit, &[1], Some(&[(16, 0, 2)]));
    b.put(0, 32);
    expect_err(&b.finish(), InflateError::BadRepeat);
    // a repeat past the end: 258 + 1 lengths, 138 + 138 zeros
    let mut b = Bits::default();
    dynamic_header(
        &mut b,
        true,
        &lit,
        &[1],
        Some(&[(18, 127, 7), (18, 127, 7)]),
    );
    b.put(0, 32);
    expect_err(&b.finish(), InflateError::BadRepeat);
    // HLIT 30 (287 codes) and HDIST 31 (32 codes)
    for (hlit, hdist) in [(30, 0), (31, 0), (0, 30), (0, 31)] {
        let mut b = Bits::default();
        b.put(1, 1).put(2, 2).put(hlit, 5).put(hdist, 5).put(0, 4);
        b.put(0, 64);
        expect_err(&b.finish(), InflateError::TooManySymbols);
    }
    // a code-length code that is incomplete (one code of 2 bits), then
    // over-subscribed (three of 1 bit), then empty
    for cl in [&[2u32][..], &[1, 1, 1], &[]] {
        let mut b = Bits::default();
        b.put(1, 1).put(2, 2).put(0, 5).put(0, 5).put(15, 4);
        for i in 0..19 {
            b.put(cl.get(i).copied().unwrap_or(0), 3);
        }
        b.put(0, 64);
        expect_err(&b.finish(), InflateError::CodeLengthCode);
    }
}

/// Every prefix of a valid stream is "the input ended", never an error
/// or a panic, and every split of it decodes.
#[test]
fn every_prefix_is_truncated() {
    let d = text(5_000, 3);
    for level in [0, 1, 6, 9] {
        let s = deflate_raw(&d, level);
        for cut in 0..s.len() {
            assert_eq!(inflate_all(&s[..cut]), Err(None), "level {level} cut {cut}");
        }
        assert_eq!(inflate_all(&s).unwrap(), d);
    }
}

// ------------------------------------------------------- differential

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// CSV-like text.
fn text(len: usize, seed: u64) -> Vec<u8> {
    let mut r = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut out = Vec::with_capacity(len + 64);
    let mut row = 0;
    while out.len() < len {
        let line = format!(
            "{row},cat_{:02},{}.{:03},{}\n",
            r.below(40),
            r.below(100_000),
            r.below(1000),
            ["x", "yy", "zzz", ""][r.below(4)]
        );
        out.extend_from_slice(line.as_bytes());
        row += 1;
    }
    out.truncate(len);
    out
}

/// Random data of a few kinds.
fn sample(kind: usize, len: usize, seed: u64) -> Vec<u8> {
    let mut r = Rng(seed | 1);
    match kind {
        0 => (0..len).map(|_| r.next() as u8).collect(),
        1 => text(len, seed),
        2 => {
            // long runs of few values
            let mut v = Vec::with_capacity(len);
            while v.len() < len {
                let b = b"ab\n0"[r.below(4)];
                let n = 1 + r.below(2000);
                v.extend(std::iter::repeat_n(b, n));
            }
            v.truncate(len);
            v
        }
        _ => {
            // short periods (distances 2 to 9) mixed with noise
            let mut v = Vec::with_capacity(len);
            while v.len() < len {
                let p = 2 + r.below(8);
                let pat: Vec<u8> = (0..p).map(|_| b'a' + r.below(3) as u8).collect();
                for i in 0..r.below(600) {
                    v.push(pat[i % p]);
                }
                v.push(r.next() as u8);
            }
            v.truncate(len);
            v
        }
    }
}

fn deflate_raw(data: &[u8], level: u32) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(level));
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// flate2's answer: the output and the input bytes used, or `None` when it
/// fails or the stream does not end.
fn flate2_inflate(input: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut d = flate2::Decompress::new(false);
    let mut out = Vec::with_capacity(input.len() * 4 + 1024);
    loop {
        let used = d.total_in() as usize;
        let before = (d.total_in(), d.total_out());
        let status = d
            .decompress_vec(&input[used..], &mut out, flate2::FlushDecompress::Finish)
            .ok()?;
        if status == flate2::Status::StreamEnd {
            return Some((out, d.total_in() as usize));
        }
        if (d.total_in(), d.total_out()) == before && out.len() < out.capacity() {
            return None;
        }
        if out.len() > 64 << 20 {
            return None;
        }
        out.reserve(out.capacity());
    }
}

/// Both decoders agree on `input`: both fail, or both give the same bytes
/// and end at the same byte.
pub(crate) fn differential(input: &[u8], in_step: usize, out_step: usize) {
    let ours = inflate_by(input, in_step, out_step).ok();
    let theirs = flate2_inflate(input);
    match (&ours, &theirs) {
        (Some(a), Some(b)) => {
            assert!(a.0 == b.0, "other bytes");
            assert_eq!(a.1, b.1, "the stream ends elsewhere");
        }
        (None, None) => {}
        _ => panic!(
            "ours {} flate2 {} (in {in_step} out {out_step})",
            ours.is_some(),
            theirs.is_some()
        ),
    }
}

#[test]
fn same_bytes_as_flate2_at_every_level_and_chunking() {
    let mut r = Rng(77);
    for kind in 0..4 {
        for level in 0..=9 {
            let len = [0, 1, 1000, 70_000, 300_000][r.below(5)];
            let d = sample(kind, len, r.next());
            let s = deflate_raw(&d, level);
            for _ in 0..3 {
                let in_step = [1, 2, 7, 100, 4096, 1 << 30][r.below(6)];
                let out_step = [1, 3, 258, 1000, 40_000, 1 << 20][r.below(6)];
                if len > 10_000 && (in_step < 7 || out_step < 7) {
                    continue;
                }
                let (out, used) = inflate_by(&s, in_step, out_step).unwrap();
                assert!(
                    out == d,
                    "kind {kind} level {level} in {in_step} out {out_step}"
                );
                assert_eq!(used, s.len());
                differential(&s, in_step, out_step);
            }
        }
    }
}

#[test]
fn corrupt_streams_fail_or_agree_with_flate2() {
    let mut r = Rng(1234);
    for round in 0..600 {
        let kind = round % 4;
        let d = sample(kind, 200 + r.below(5000), r.next());
        let mut s = deflate_raw(&d, [0, 1, 6, 9][r.below(4)] as u32);
        match r.below(3) {
            0 => {
                let at = r.below(s.len());
                s[at] ^= 1 << r.below(8);
            }
            1 => {
                for _ in 0..1 + r.below(4) {
                    let at = r.below(s.len());
                    s[at] = r.next() as u8;
                }
            }
            _ => {
                let at = r.below(s.len());
                s.truncate(at);
            }
        }
        let in_step = [1, 5, 1 << 30][r.below(3)];
        let out_step = [1, 300, 1 << 20][r.below(3)];
        differential(&s, in_step, out_step);
    }
    // random bytes
    for _ in 0..2000 {
        let s: Vec<u8> = (0..r.below(200)).map(|_| r.next() as u8).collect();
        differential(&s, 1 + r.below(8), 1 + r.below(400));
    }
}

/// A decoder is reusable after `reset`.
#[test]
fn reset_starts_a_new_stream() {
    let a = deflate_raw(b"first stream, first stream", 6);
    let b = deflate_raw(b"second", 6);
    let mut d = Inflater::new();
    let mut out = vec![0u8; 100];
    let (used, n, r) = d.inflate(&a, &mut out);
    assert_eq!((used, r), (a.len(), Ok(true)));
    assert_eq!(&out[..n], b"first stream, first stream");
    d.reset();
    let (used, n, r) = d.inflate(&b, &mut out);
    assert_eq!((used, r), (b.len(), Ok(true)));
    assert_eq!(&out[..n], b"second");
    assert_eq!(d.total_out(), 6);
}

/// Throughput against flate2 on a real file: `RAYPROC_BENCH_GZ` names a
/// single-member `.gz` file; its deflate stream is decoded into 1 MiB
/// buffers (as the parallel decoder reads), best of 5 runs each.
#[test]
#[ignore]
fn bench_inflate() {
    use std::time::Instant;
    let Ok(path) = std::env::var("RAYPROC_BENCH_GZ") else {
        eprintln!("RAYPROC_BENCH_GZ not set");
        return;
    };
    let file = std::fs::read(path).unwrap();
    // skip the gzip header (FNAME at most)
    let mut start = 10;
    if file[3] & 0x08 != 0 {
        start += file[start..].iter().position(|&b| b == 0).unwrap() + 1;
    }
    let body = &file[start..];
    let cpu = || {
        let s = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
        s.split_whitespace()
            .next()
            .and_then(|t| t.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1e9
    };
    let mut buf = vec![0u8; 1 << 20];
    for round in 0..5 {
        let (t, c) = (Instant::now(), cpu());
        let mut d = Inflater::new();
        let (mut pos, mut n) = (0, 0u64);
        loop {
            let (used, produced, r) = d.inflate(&body[pos..], &mut buf);
            pos += used;
            n += produced as u64;
            if r.unwrap() {
                break;
            }
        }
        let ours = (t.elapsed().as_secs_f64(), cpu() - c);
        let (t, c) = (Instant::now(), cpu());
        let mut z = flate2::Decompress::new(false);
        let mut m = 0u64;
        loop {
            let before = z.total_out();
            let used = z.total_in() as usize;
            let s = z
                .decompress(&body[used..], &mut buf, flate2::FlushDecompress::None)
                .unwrap();
            m += z.total_out() - before;
            if s == flate2::Status::StreamEnd {
                break;
            }
        }
        let theirs = (t.elapsed().as_secs_f64(), cpu() - c);
        assert_eq!(n, m);
        eprintln!(
            "round {round}: {n} B: ours wall {:.3} s CPU {:.3} s ({:.0} MB/CPU-s), flate2 wall {:.3} s CPU {:.3} s ({:.0} MB/CPU-s)",
            ours.0,
            ours.1,
            n as f64 / ours.1 / 1e6,
            theirs.0,
            theirs.1,
            m as f64 / theirs.1 / 1e6
        );
    }
}
