//! The deflate decoder (`rayproc::source::decompress::inflate`) against
//! flate2 (zlib-rs), fed in random input and output chunks: both fail, or
//! both give the same bytes and end the stream at the same byte. Never a
//! panic, never a loop.
//!
//! Byte 0: bits 0-1 the mode (0, 3: the rest is a deflate stream as is;
//! 1: the rest is compressed at level byte 1 % 10 first, and must decode;
//! 2: compressed, then byte 2 XORed into the stream at offset byte 3 · k),
//! bits 2-7 the chunk sizes.

#![no_main]

use std::io::Write;

use libfuzzer_sys::fuzz_target;
use rayproc::source::decompress::inflate::Inflater;

/// Output larger than this is not compared (a small bomb would otherwise
/// fill memory here; the real reader streams it).
const CAP: usize = 8 << 20;

/// Ours: `Some((bytes, input used))` when the stream ends.
fn ours(input: &[u8], in_step: usize, out_step: usize) -> Option<(Vec<u8>, usize)> {
    let mut d = Inflater::new();
    let mut out = Vec::new();
    let mut buf = vec![0u8; out_step];
    let mut pos = 0;
    loop {
        let end = (pos + in_step).min(input.len());
        let avail = end - pos;
        let (used, produced, r) = d.inflate(&input[pos..end], &mut buf);
        assert!(used <= avail && produced <= out_step);
        pos += used;
        out.extend_from_slice(&buf[..produced]);
        match r {
            Err(e) => {
                assert_eq!(d.inflate(&input[pos..], &mut buf).2, Err(e), "errors are final");
                return None;
            }
            Ok(true) => return Some((out, pos)),
            Ok(false) => {
                assert!(used == avail || produced == out_step, "stopped early");
                if (used == 0 && produced == 0 && end == input.len()) || out.len() > CAP {
                    return None;
                }
            }
        }
    }
}

fn flate2(input: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut d = flate2::Decompress::new(false);
    let mut out = Vec::with_capacity(4096);
    loop {
        let before = (d.total_in(), d.total_out());
        let used = d.total_in() as usize;
        let status = d
            .decompress_vec(&input[used..], &mut out, flate2::FlushDecompress::Finish)
            .ok()?;
        if status == flate2::Status::StreamEnd {
            return Some((out, d.total_in() as usize));
        }
        if ((d.total_in(), d.total_out()) == before && out.len() < out.capacity())
            || out.len() > CAP
        {
            return None;
        }
        out.reserve(out.capacity());
    }
}

fn deflate(data: &[u8], level: u32) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(level));
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fuzz_target!(|data: &[u8]| {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let in_step = [1, 3, 64, 1 << 30][(head >> 2 & 3) as usize];
    let out_step = [1, 7, 300, 1 << 20][(head >> 4 & 3) as usize];
    let stream = match head & 3 {
        1 | 2 if rest.len() >= 3 => {
            let mut s = deflate(&rest[3..], u32::from(rest[0] % 10));
            if head & 3 == 1 {
                let (got, used) = ours(&s, in_step, out_step).expect("a valid stream decodes");
                assert!(got == rest[3..], "other bytes");
                assert_eq!(used, s.len());
            } else if !s.is_empty() {
                let at = rest[2] as usize * s.len() / 256;
                s[at] ^= rest[1].max(1);
            }
            s
        }
        _ => rest.to_vec(),
    };
    let (a, b) = (ours(&stream, in_step, out_step), flate2(&stream));
    match (&a, &b) {
        (Some(a), Some(b)) => {
            assert!(a.0 == b.0, "other bytes than flate2");
            assert_eq!(a.1, b.1, "the stream ends elsewhere than flate2's");
        }
        (None, None) => {}
        // over the cap one side may stop first
        _ if a.as_ref().or(b.as_ref()).is_some_and(|x| x.0.len() > CAP / 2) => {}
        _ => panic!("ours ok: {}, flate2 ok: {}", a.is_some(), b.is_some()),
    }
});
