//! Tests of the decoders: round trips, every truncation, flipped bytes,
//! trailing garbage, member and frame layouts, and the parallel decoder
//! against the sequential one.

use super::*;
use std::io::Write;

const NAME: &str = "in/put.x";

/// Deterministic CSV-like text that compresses about 2:1.
fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 64);
    let mut row = 0u64;
    while out.len() < len {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        let line = format!(
            "{row},cat_{:03},key_{},{}.{:04}\n",
            s % 100,
            (s >> 8) % 1_000_000,
            (s >> 30) % 10_000,
            (s >> 45) % 10_000
        );
        out.extend_from_slice(line.as_bytes());
        row += 1;
    }
    out.truncate(len);
    out
}

fn deflate_raw(data: &[u8], level: u32) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(level));
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = Crc::new();
    c.update(data);
    c.sum()
}

#[derive(Default, Clone)]
struct GzOpts {
    name: Option<&'static [u8]>,
    comment: Option<&'static [u8]>,
    extra: Option<Vec<u8>>,
    fhcrc: bool,
    level: u32,
}

/// One gzip member, header fields as asked.
fn gz_member(data: &[u8], o: &GzOpts) -> Vec<u8> {
    let mut flags = 0u8;
    flags |= if o.fhcrc { FTEXT_FHCRC } else { 0 };
    flags |= if o.extra.is_some() { FEXTRA } else { 0 };
    flags |= if o.name.is_some() { FNAME } else { 0 };
    flags |= if o.comment.is_some() { FCOMMENT } else { 0 };
    let mut m = vec![0x1f, 0x8b, 8, flags, 1, 2, 3, 4, 0, 3];
    if let Some(x) = &o.extra {
        m.extend_from_slice(&(x.len() as u16).to_le_bytes());
        m.extend_from_slice(x);
    }
    for s in [o.name, o.comment].into_iter().flatten() {
        m.extend_from_slice(s);
        m.push(0);
    }
    if o.fhcrc {
        let c = crc32(&m) as u16;
        m.extend_from_slice(&c.to_le_bytes());
    }
    m.extend_from_slice(&deflate_raw(data, o.level));
    m.extend_from_slice(&crc32(data).to_le_bytes());
    m.extend_from_slice(&(data.len() as u32).to_le_bytes());
    m
}

fn gz(data: &[u8]) -> Vec<u8> {
    gz_member(
        data,
        &GzOpts {
            level: 6,
            ..Default::default()
        },
    )
}

/// A BGZF member: the `BC` subfield holds the member's size minus one.
fn bgzf_member(data: &[u8]) -> Vec<u8> {
    let body = deflate_raw(data, 6);
    let size = 12 + 6 + body.len() + 8;
    let mut m = vec![
        0x1f, 0x8b, 8, FEXTRA, 0, 0, 0, 0, 0, 0xff, 6, 0, b'B', b'C', 2, 0,
    ];
    m.extend_from_slice(&((size - 1) as u16).to_le_bytes());
    m.extend_from_slice(&body);
    m.extend_from_slice(&crc32(data).to_le_bytes());
    m.extend_from_slice(&(data.len() as u32).to_le_bytes());
    assert_eq!(m.len(), size);
    m
}

/// A BGZF file as bgzip writes it: blocks of `block` input bytes, then the
/// empty end-of-file block. Also the members' end offsets.
fn bgzf(data: &[u8], block: usize) -> (Vec<u8>, Vec<usize>) {
    let mut out = Vec::new();
    let mut ends = Vec::new();
    for chunk in data.chunks(block) {
        out.extend_from_slice(&bgzf_member(chunk));
        ends.push(out.len());
    }
    out.extend_from_slice(&bgzf_member(b""));
    ends.push(out.len());
    (out, ends)
}

fn zst_frame(data: &[u8], checksum: bool, content_size: bool) -> Vec<u8> {
    let mut e = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    e.include_checksum(checksum).unwrap();
    e.include_contentsize(content_size).unwrap();
    if content_size {
        e.set_pledged_src_size(Some(data.len() as u64)).unwrap();
    }
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zst(data: &[u8]) -> Vec<u8> {
    zst_frame(data, true, true)
}

fn skippable(n: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = (SKIPPABLE_MAGIC | n).to_le_bytes().to_vec();
    f.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    f.extend_from_slice(payload);
    f
}

/// The layout pzstd writes: each frame preceded by a skippable frame that
/// holds its compressed size. Also the data frames' ranges.
fn pzstd_layout(data: &[u8], chunk: usize) -> (Vec<u8>, Vec<Range<usize>>) {
    let mut out = Vec::new();
    let mut ranges = Vec::new();
    for c in data.chunks(chunk) {
        let frame = zst_frame(c, true, true);
        out.extend_from_slice(&skippable(0, &(frame.len() as u32).to_le_bytes()));
        ranges.push(out.len()..out.len() + frame.len());
        out.extend_from_slice(&frame);
    }
    (out, ranges)
}

fn decode(c: Compression, bytes: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    decoder(c, bytes, NAME).read_to_end(&mut out)?;
    Ok(out)
}

/// Decodes with reads of `step` bytes at most.
fn decode_by(c: Compression, bytes: &[u8], step: usize) -> io::Result<Vec<u8>> {
    let mut r = decoder(c, bytes, NAME);
    let mut out = Vec::new();
    let mut buf = vec![0u8; step];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&buf[..n]);
    }
}

fn decode_error(e: &io::Error) -> &DecodeError {
    e.get_ref()
        .and_then(|i| i.downcast_ref::<DecodeError>())
        .unwrap_or_else(|| panic!("not a DecodeError: {e:?}"))
}

fn expect_kind(r: io::Result<Vec<u8>>, kind: DecodeErrorKind) -> DecodeError {
    let e = r.expect_err("expected an error");
    let d = decode_error(&e).clone();
    assert_eq!(d.kind, kind, "{d}");
    assert_eq!(d.name, NAME);
    assert!(e.to_string().starts_with(&format!("{NAME}: ")), "{e}");
    d
}

// ------------------------------------------------------------------ sniff

#[test]
fn sniff_tells_formats_by_magic() {
    assert_eq!(sniff(&gz(b"a")), Compression::Gzip);
    assert_eq!(sniff(&zst(b"a")), Compression::Zstd);
    assert_eq!(sniff(&skippable(7, b"xy")), Compression::Zstd);
    assert_eq!(sniff(b"id,x\n1,2\n"), Compression::None);
    assert_eq!(sniff(b""), Compression::None);
    // gzip's magic alone, or before another method, is a damaged gzip
    // file (the decoder names what is wrong), not text
    assert_eq!(sniff(&[0x1f, 0x8b]), Compression::Gzip);
    assert_eq!(sniff(&[0x1f, 0x8b, 7, 0]), Compression::Gzip);
    assert_eq!(sniff(&[0x1f]), Compression::None);
    assert_eq!(sniff(&zst(b"a")[..3]), Compression::None);
    assert_eq!(sniff(b"PAR1...."), Compression::None);
    assert_eq!(sniff(b"ARROW1\0\0"), Compression::None);
    assert_eq!(sniff(&[0x28, 0xb5, 0x2f, 0xfd]), Compression::Zstd);
}

/// A reader that yields one byte per read, as a slow pipe may.
struct Trickle<'a>(&'a [u8]);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.0.is_empty() || buf.is_empty() {
            return Ok(0);
        }
        buf[0] = self.0[0];
        self.0 = &self.0[1..];
        Ok(1)
    }
}

#[test]
fn sniff_reader_decodes_streams_and_passes_text_through() {
    let d = data(50_000, 1);
    for (bytes, c) in [
        (gz(&d), Compression::Gzip),
        (zst(&d), Compression::Zstd),
        (d.clone(), Compression::None),
    ] {
        let (found, mut r) = sniff_reader(Trickle(&bytes), NAME).unwrap();
        assert_eq!(found, c);
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, d);
    }
    let (found, mut r) = sniff_reader(&b"ab"[..], NAME).unwrap();
    assert_eq!(found, Compression::None);
    let mut out = Vec::new();
    r.read_to_end(&mut out).unwrap();
    assert_eq!(out, b"ab");
}

// ------------------------------------------------------------------- gzip

#[test]
fn gzip_round_trips_at_every_level_and_read_size() {
    let d = data(300_000, 2);
    for level in [0, 1, 6, 9] {
        let g = gz_member(
            &d,
            &GzOpts {
                level,
                ..Default::default()
            },
        );
        assert_eq!(decode(Compression::Gzip, &g).unwrap(), d, "level {level}");
        for step in [1, 7, 4096] {
            assert_eq!(decode_by(Compression::Gzip, &g, step).unwrap(), d);
        }
    }
}

#[test]
fn gzip_written_by_flate2_and_the_empty_file() {
    let d = data(10_000, 3);
    let mut e = flate2::GzBuilder::new()
        .filename("x.csv")
        .comment("c")
        .extra(vec![1, 2, 3])
        .write(Vec::new(), flate2::Compression::default());
    e.write_all(&d).unwrap();
    assert_eq!(decode(Compression::Gzip, &e.finish().unwrap()).unwrap(), d);
    // `gzip < /dev/null`: one member holding nothing
    assert_eq!(decode(Compression::Gzip, &gz(b"")).unwrap(), b"");
}

#[test]
fn gzip_header_fields_are_skipped_and_the_header_crc_checked() {
    let d = data(5_000, 4);
    let o = GzOpts {
        name: Some(b"name.csv"),
        comment: Some(b"a comment"),
        extra: Some(vec![b'A', b'B', 3, 0, 1, 2, 3]),
        fhcrc: true,
        level: 6,
    };
    let g = gz_member(&d, &o);
    assert_eq!(decode(Compression::Gzip, &g).unwrap(), d);
    assert_eq!(decode_by(Compression::Gzip, &g, 1).unwrap(), d);
    // the header CRC is the two bytes before the deflate data
    let at = 10 + 2 + 7 + 9 + 10;
    let mut bad = g.clone();
    bad[at] ^= 1;
    let e = expect_kind(decode(Compression::Gzip, &bad), DecodeErrorKind::Corrupt);
    assert!(e.detail.contains("CRC-16"), "{e}");
}

#[test]
fn gzip_reserved_flags_and_unknown_methods_are_refused() {
    let mut g = gz(b"abc");
    g[3] |= 0x20;
    let e = expect_kind(decode(Compression::Gzip, &g), DecodeErrorKind::Corrupt);
    assert!(e.detail.contains("reserved"), "{e}");
    let mut g = gz(b"abc");
    g[2] = 7;
    let e = expect_kind(decode(Compression::Gzip, &g), DecodeErrorKind::Corrupt);
    assert!(e.detail.contains("method"), "{e}");
}

#[test]
fn gzip_concatenated_and_empty_members_are_one_stream() {
    let (a, b) = (data(70_000, 5), data(30_000, 6));
    let cases: Vec<(Vec<Vec<u8>>, Vec<u8>)> = vec![
        (vec![gz(&a), gz(&b)], [&a[..], &b[..]].concat()),
        (vec![gz(b""), gz(&a)], a.clone()),
        (vec![gz(&a), gz(b""), gz(&b)], [&a[..], &b[..]].concat()),
        (vec![gz(&a), gz(b"")], a.clone()),
        (vec![gz(b""), gz(b""), gz(b"")], Vec::new()),
    ];
    for (members, want) in cases {
        let file = members.concat();
        assert_eq!(decode(Compression::Gzip, &file).unwrap(), want);
        assert_eq!(decode_by(Compression::Gzip, &file, 3).unwrap(), want);
    }
}

/// Cutting the file at every offset gives an error, except exactly at a
/// member boundary, where the members before it are what a shorter, valid
/// file holds.
#[test]
fn gzip_truncated_anywhere_is_an_error() {
    let parts = [data(6_000, 7), Vec::new(), data(3_000, 8)];
    let members: Vec<Vec<u8>> = parts.iter().map(|p| gz(p)).collect();
    let file = members.concat();
    let mut boundaries = Vec::new();
    let mut end = 0;
    for m in &members {
        end += m.len();
        boundaries.push(end);
    }
    for cut in 0..file.len() {
        // cut anywhere after its magic number, it is told as gzip: an
        // error, not text
        let told = sniff(&file[..cut.min(SNIFF_LEN)]);
        assert_eq!(told == Compression::Gzip, cut >= 2, "cut {cut}");
        let r = decode(Compression::Gzip, &file[..cut]);
        match boundaries.iter().position(|&b| b == cut) {
            Some(i) => assert_eq!(r.unwrap(), parts[..=i].concat(), "cut {cut}"),
            None => {
                let e = expect_kind(r, DecodeErrorKind::Truncated);
                assert_eq!(e.offset, cut as u64, "{e}");
            }
        }
    }
}

/// A flipped byte anywhere is an error or changes nothing (header fields
/// such as MTIME, padding bits after the last block): never other bytes.
#[test]
fn gzip_flipped_bytes_are_errors_or_harmless() {
    let d = data(4_000, 9);
    let file = [gz(&d), gz(&data(2_000, 10))].concat();
    let want = decode(Compression::Gzip, &file).unwrap();
    let mut harmless = 0;
    for at in 0..file.len() {
        for mask in [0x01, 0x10, 0x80, 0xff] {
            let mut bad = file.clone();
            bad[at] ^= mask;
            match decode(Compression::Gzip, &bad) {
                Ok(out) => {
                    assert_eq!(out, want, "flip {mask:#x} at {at} gave other bytes");
                    harmless += 1;
                }
                Err(e) => {
                    decode_error(&e);
                }
            }
        }
    }
    assert!(harmless < 64, "{harmless} harmless flips");
    // the trailer: CRC-32, then ISIZE
    let n = gz(&d).len();
    let mut bad = file.clone();
    bad[n - 8] ^= 1;
    let e = expect_kind(decode(Compression::Gzip, &bad), DecodeErrorKind::Corrupt);
    assert!(e.detail.contains("CRC-32"), "{e}");
    assert_eq!(e.offset, (n - 8) as u64);
    let mut bad = file.clone();
    bad[n - 3] ^= 1;
    let e = expect_kind(decode(Compression::Gzip, &bad), DecodeErrorKind::Corrupt);
    assert!(e.detail.contains("ISIZE"), "{e}");
}

#[test]
fn gzip_trailing_garbage_is_an_error() {
    let d = data(3_000, 11);
    let g = gz(&d);
    for tail in [&b"\n"[..], &[0u8; 8], b"garbage", b"PK\x03\x04"] {
        let file = [&g[..], tail].concat();
        let e = expect_kind(
            decode(Compression::Gzip, &file),
            DecodeErrorKind::TrailingGarbage,
        );
        assert_eq!(e.offset, g.len() as u64);
        assert!(e.to_string().ends_with("are not a gzip member"), "{e}");
    }
    // the start of another member, cut short
    for tail in [&[0x1f][..], &[0x1f, 0x8b, 8, 0, 0]] {
        let file = [&g[..], tail].concat();
        expect_kind(decode(Compression::Gzip, &file), DecodeErrorKind::Truncated);
    }
    // not gzip at all, or nothing
    expect_kind(
        decode(Compression::Gzip, b"id,x\n"),
        DecodeErrorKind::Corrupt,
    );
    expect_kind(decode(Compression::Gzip, b""), DecodeErrorKind::Truncated);
}

#[test]
fn errors_become_project_errors_naming_the_input() {
    let e = decode(Compression::Gzip, &gz(b"abc")[..10]).unwrap_err();
    let err = error(NAME, e);
    assert!(matches!(err, Error::Other(_)));
    let msg = err.to_string();
    assert!(msg.starts_with("in/put.x: truncated gzip input"), "{msg}");
    assert_eq!(err.exit_code(), 1);
    let other = error(NAME, io::Error::other("disk on fire"));
    assert!(matches!(other, Error::Io { .. }));
    assert_eq!(other.to_string(), "in/put.x: disk on fire");
}

// ------------------------------------------------------------------- zstd

#[test]
fn zstd_round_trips_with_and_without_checksum_and_size() {
    let d = data(400_000, 12);
    for (checksum, size) in [(true, true), (false, true), (true, false), (false, false)] {
        let z = zst_frame(&d, checksum, size);
        assert_eq!(decode(Compression::Zstd, &z).unwrap(), d);
        for step in [1, 13, 100_000] {
            assert_eq!(decode_by(Compression::Zstd, &z, step).unwrap(), d);
        }
    }
    assert_eq!(decode(Compression::Zstd, &zst(b"")).unwrap(), b"");
}

#[test]
fn zstd_frames_and_skippable_frames_are_one_stream() {
    let (a, b) = (data(70_000, 13), data(30_000, 14));
    let ab = [&a[..], &b[..]].concat();
    let cases: Vec<(Vec<u8>, Vec<u8>)> = vec![
        ([zst(&a), zst(&b)].concat(), ab.clone()),
        (
            [skippable(0, b"meta"), zst(&a), zst(&b)].concat(),
            ab.clone(),
        ),
        ([zst(&a), skippable(15, b""), zst(&b)].concat(), ab.clone()),
        (
            [zst(&a), zst(&b), skippable(3, &[9; 100])].concat(),
            ab.clone(),
        ),
        ([zst(&a), zst(b""), zst(&b)].concat(), ab.clone()),
        (skippable(0, b"only"), Vec::new()),
        (pzstd_layout(&ab, 16_384).0, ab.clone()),
    ];
    for (file, want) in cases {
        assert_eq!(decode(Compression::Zstd, &file).unwrap(), want);
        assert_eq!(decode_by(Compression::Zstd, &file, 5).unwrap(), want);
    }
}

#[test]
fn zstd_truncated_anywhere_is_an_error() {
    let parts = [data(8_000, 15), Vec::new(), data(4_000, 16)];
    let pieces = [
        skippable(0, b"abc"),
        zst(&parts[0]),
        zst(&parts[1]),
        zst_frame(&parts[2], false, false),
    ];
    let file = pieces.concat();
    let outputs = [Vec::new(), parts[0].clone(), Vec::new(), parts[2].clone()];
    let mut boundaries = Vec::new();
    let mut end = 0;
    for p in &pieces {
        end += p.len();
        boundaries.push(end);
    }
    for cut in 0..file.len() {
        let told = sniff(&file[..cut.min(SNIFF_LEN)]);
        assert_eq!(told == Compression::Zstd, cut >= 4, "cut {cut}");
        let r = decode(Compression::Zstd, &file[..cut]);
        match boundaries.iter().position(|&b| b == cut) {
            Some(i) => assert_eq!(r.unwrap(), outputs[..=i].concat(), "cut {cut}"),
            None => {
                expect_kind(r, DecodeErrorKind::Truncated);
            }
        }
    }
}

#[test]
fn zstd_flipped_bytes_are_errors_or_harmless_with_a_checksum() {
    let file = [zst(&data(5_000, 17)), zst(&data(3_000, 18))].concat();
    let want = decode(Compression::Zstd, &file).unwrap();
    let mut harmless = 0;
    for at in 0..file.len() {
        for mask in [0x01, 0x10, 0x80, 0xff] {
            let mut bad = file.clone();
            bad[at] ^= mask;
            match decode(Compression::Zstd, &bad) {
                Ok(out) => {
                    assert_eq!(out, want, "flip {mask:#x} at {at} gave other bytes");
                    harmless += 1;
                }
                Err(e) => {
                    let d = decode_error(&e);
                    assert_eq!(d.name, NAME);
                }
            }
        }
    }
    assert!(harmless < 64, "{harmless} harmless flips");
    // the last byte is the second frame's checksum
    let mut bad = file.clone();
    *bad.last_mut().unwrap() ^= 1;
    let e = expect_kind(decode(Compression::Zstd, &bad), DecodeErrorKind::Corrupt);
    assert_eq!(e.offset, zst(&data(5_000, 17)).len() as u64, "{e}");
    assert!(e.detail.to_lowercase().contains("checksum"), "{e}");
}

#[test]
fn zstd_trailing_garbage_is_an_error() {
    let z = zst(&data(3_000, 19));
    for tail in [&b"garbage!"[..], &[0u8; 8], b"PAR1PAR1"] {
        let file = [&z[..], tail].concat();
        let e = expect_kind(
            decode(Compression::Zstd, &file),
            DecodeErrorKind::TrailingGarbage,
        );
        assert_eq!(e.offset, z.len() as u64, "{e}");
    }
    // fewer bytes than a magic number: an unfinished frame
    for tail in [&b"\n"[..], &[0u8; 3]] {
        let file = [&z[..], tail].concat();
        assert!(decode(Compression::Zstd, &file).is_err());
    }
    expect_kind(decode(Compression::Zstd, b""), DecodeErrorKind::Truncated);
    expect_kind(
        decode(Compression::Zstd, b"id,x\n1,2\n"),
        DecodeErrorKind::Corrupt,
    );
}

// -------------------------------------------------------------- splitting

fn check_ranges(bytes: &[u8], c: Compression, ranges: &[Range<usize>]) {
    let mut whole = Vec::new();
    for r in ranges {
        decompress_range(bytes, r.clone(), c, NAME, &mut whole).unwrap();
    }
    assert_eq!(whole, decode(c, bytes).unwrap());
}

#[test]
fn bgzf_members_are_found_by_their_block_size() {
    let d = data(500_000, 20);
    let (file, ends) = bgzf(&d, 65_280);
    let ranges = split_members(&file, Compression::Gzip).unwrap();
    let starts: Vec<usize> = std::iter::once(0).chain(ends.iter().copied()).collect();
    let want: Vec<Range<usize>> = starts.windows(2).map(|w| w[0]..w[1]).collect();
    assert_eq!(ranges, want);
    check_ranges(&file, Compression::Gzip, &ranges);
    let mut one = Vec::new();
    decompress_range(&file, ranges[1].clone(), Compression::Gzip, NAME, &mut one).unwrap();
    assert_eq!(one, d[65_280..2 * 65_280]);
}

#[test]
fn gzip_that_cannot_be_split_cheaply_is_not() {
    let d = data(100_000, 21);
    let (b, _) = bgzf(&d, 30_000);
    assert_eq!(split_members(&gz(&d), Compression::Gzip), None);
    assert_eq!(
        split_members(&[gz(&d), gz(&d)].concat(), Compression::Gzip),
        None
    );
    // BGZF followed by a plain member, by garbage, or cut short
    assert_eq!(
        split_members(&[&b[..], &gz(b"x")].concat(), Compression::Gzip),
        None
    );
    assert_eq!(
        split_members(&[&b[..], b"\n"].concat(), Compression::Gzip),
        None
    );
    assert_eq!(split_members(&b[..b.len() - 1], Compression::Gzip), None);
    assert_eq!(split_members(&b[..30], Compression::Gzip), None);
    assert_eq!(split_members(b"", Compression::Gzip), None);
    assert_eq!(split_members(&d, Compression::None), None);
}

#[test]
fn zstd_frames_are_found_by_walking_blocks() {
    let d = data(300_000, 22);
    let (file, want) = pzstd_layout(&d, 40_000);
    let ranges = split_members(&file, Compression::Zstd).unwrap();
    assert_eq!(ranges, want);
    check_ranges(&file, Compression::Zstd, &ranges);
    // frames without content size or checksum, skippable frames between
    let frames = [
        zst_frame(&d[..100_000], false, false),
        skippable(1, b"x"),
        zst_frame(&d[100_000..], true, false),
        skippable(2, b""),
    ];
    let file = frames.concat();
    let ranges = split_members(&file, Compression::Zstd).unwrap();
    let a = frames[0].len();
    let b = a + frames[1].len();
    assert_eq!(ranges, vec![0..a, b..b + frames[2].len()]);
    check_ranges(&file, Compression::Zstd, &ranges);
    // one frame is one range
    let one = zst(&d);
    assert_eq!(
        split_members(&one, Compression::Zstd),
        Some(std::iter::once(0..one.len()).collect())
    );
}

#[test]
fn zstd_that_does_not_parse_as_frames_is_not_split() {
    let z = [zst(&data(50_000, 23)), zst(b"abc")].concat();
    assert_eq!(
        split_members(&[&z[..], b"junk"].concat(), Compression::Zstd),
        None
    );
    assert_eq!(
        split_members(&[&z[..], b"\n"].concat(), Compression::Zstd),
        None
    );
    for cut in [1, 4, 10, z.len() / 2, z.len() - 1] {
        assert_eq!(
            split_members(&z[..cut], Compression::Zstd),
            None,
            "cut {cut}"
        );
    }
    assert_eq!(split_members(&skippable(0, b"x"), Compression::Zstd), None);
    let mut huge = skippable(0, b"x");
    huge[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(split_members(&huge, Compression::Zstd), None);
}

#[test]
fn decompress_range_errors_name_the_input_and_the_absolute_offset() {
    let (a, b) = (zst(&data(20_000, 24)), zst(&data(20_000, 25)));
    let mut file = [a.clone(), b.clone()].concat();
    let last = file.len() - 1;
    file[last] ^= 1;
    let mut out = Vec::new();
    let r = decompress_range(
        &file,
        a.len()..file.len(),
        Compression::Zstd,
        NAME,
        &mut out,
    );
    let msg = r.unwrap_err().to_string();
    assert!(
        msg.starts_with("in/put.x: corrupt zstd input at byte "),
        "{msg}"
    );
    let at: u64 = msg["in/put.x: corrupt zstd input at byte ".len()..]
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(at >= a.len() as u64, "{msg}");
}

// ----------------------------------------------------------------- parallel

impl ParallelDecoder {
    fn with_job_bytes<B>(
        bytes: Arc<B>,
        compression: Compression,
        threads: usize,
        job_bytes: usize,
    ) -> Self
    where
        B: AsRef<[u8]> + Send + Sync + 'static,
    {
        Self::build(bytes, compression, NAME, threads, job_bytes)
    }
}

fn read_all_parallel(mut p: ParallelDecoder, step: usize) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; step];
    loop {
        let n = p.read(&mut buf)?;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&buf[..n]);
    }
}

fn chunks_parallel(mut p: ParallelDecoder) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(c) = p.next_chunk()? {
        assert!(!c.is_empty());
        out.extend_from_slice(c);
    }
    Ok(out)
}

fn inputs() -> Vec<(&'static str, Compression, Vec<u8>)> {
    let d = data(3_000_000, 26);
    let (bg, _) = bgzf(&d, 65_280);
    let (pz, _) = pzstd_layout(&d, 200_000);
    let frames = [
        skippable(0, b"head"),
        zst(&d[..1_000_000]),
        zst(b""),
        zst_frame(&d[1_000_000..2_500_000], false, false),
        skippable(5, b"mid"),
        zst(&d[2_500_000..]),
        skippable(9, b"tail"),
    ]
    .concat();
    vec![
        ("bgzf", Compression::Gzip, bg),
        ("pzstd", Compression::Zstd, pz),
        ("frames", Compression::Zstd, frames),
        ("one frame", Compression::Zstd, zst(&d)),
        (
            "plain gzip",
            Compression::Gzip,
            [gz(&d[..100]), gz(&d[100..])].concat(),
        ),
        ("none", Compression::None, d),
    ]
}

#[test]
fn parallel_output_is_the_sequential_output() {
    for (what, c, bytes) in inputs() {
        let want = decode(c, &bytes).unwrap();
        let bytes = Arc::new(bytes);
        for threads in [1, 2, 3, 8] {
            for job_bytes in [1, 50_000, JOB_BYTES] {
                let p = ParallelDecoder::with_job_bytes(Arc::clone(&bytes), c, threads, job_bytes);
                assert_eq!(
                    chunks_parallel(p).unwrap(),
                    want,
                    "{what} {threads} {job_bytes}"
                );
            }
            let p = ParallelDecoder::with_job_bytes(Arc::clone(&bytes), c, threads, 1);
            let got = read_all_parallel(p, 4093).unwrap();
            assert_eq!(got, want, "{what} {threads} by reads");
        }
        let p = ParallelDecoder::new(Arc::clone(&bytes), c, NAME, 2);
        let splits = matches!(what, "bgzf" | "pzstd");
        if splits || what != "frames" {
            assert_eq!(p.is_parallel(), splits, "{what}");
        }
        assert_eq!(chunks_parallel(p).unwrap(), want);
    }
}

#[test]
fn parallel_reports_the_first_error_in_the_input() {
    let d = data(1_000_000, 27);
    let (file, ranges) = pzstd_layout(&d, 50_000);
    // damage frames 5 and 12 (their last byte: the checksum)
    let mut bad = file.clone();
    bad[ranges[5].end - 1] ^= 1;
    bad[ranges[12].end - 1] ^= 1;
    let want = decode(Compression::Zstd, &bad).unwrap_err().to_string();
    assert!(
        want.contains(&format!("at byte {}:", ranges[5].start)),
        "{want}"
    );
    let bad = Arc::new(bad);
    for threads in [1, 2, 4, 8] {
        for _ in 0..10 {
            let p =
                ParallelDecoder::with_job_bytes(Arc::clone(&bad), Compression::Zstd, threads, 1);
            let e = chunks_parallel(p).unwrap_err();
            assert_eq!(e.to_string(), want, "{threads} threads");
            decode_error(&e);
        }
    }
    // the bytes before the error are all delivered first
    let mut p = ParallelDecoder::with_job_bytes(Arc::clone(&bad), Compression::Zstd, 4, 1);
    let mut got = Vec::new();
    let e = loop {
        match p.next_chunk() {
            Ok(Some(c)) => got.extend_from_slice(c),
            Ok(None) => panic!("no error"),
            Err(e) => break e,
        }
    };
    assert!(
        got.len() >= 5 * 50_000 && d.starts_with(&got),
        "{}",
        got.len()
    );
    // and reading on repeats the error
    assert_eq!(p.next_chunk().unwrap_err().to_string(), e.to_string());
}

#[test]
fn parallel_truncated_file_is_an_error() {
    let d = data(500_000, 28);
    let (file, _) = bgzf(&d, 20_000);
    for cut in [file.len() - 1, file.len() / 2, 100] {
        let bytes = Arc::new(file[..cut].to_vec());
        let want = decode(Compression::Gzip, &bytes).unwrap_err().to_string();
        let p = ParallelDecoder::new(bytes, Compression::Gzip, NAME, 2);
        assert_eq!(chunks_parallel(p).unwrap_err().to_string(), want);
    }
}

#[test]
fn dropping_the_parallel_decoder_early_stops_its_threads() {
    let d = data(3_000_000, 29);
    let (file, _) = bgzf(&d, 65_280);
    let file = Arc::new(file);
    for threads in [1, 2, 4, 8] {
        for read in [0, 1, 2 * PIECE + 5] {
            let mut p =
                ParallelDecoder::with_job_bytes(Arc::clone(&file), Compression::Gzip, threads, 1);
            let mut buf = vec![0u8; read];
            p.read_exact(&mut buf).unwrap();
            assert_eq!(buf, d[..read]);
            drop(p); // joins the workers: a hang fails the test by timeout
        }
    }
}

#[test]
fn from_reader_decodes_a_stream_ahead_of_the_reader() {
    let d = data(2_500_000, 30);
    let z = [zst(&d[..1000]), zst(&d[1000..])].concat();
    let p = ParallelDecoder::from_reader(decoder(Compression::Zstd, io::Cursor::new(z), NAME));
    assert!(!p.is_parallel());
    assert_eq!(read_all_parallel(p, 10_000).unwrap(), d);
    let g = gz(&d);
    let mut cut = g.clone();
    cut.truncate(g.len() - 20);
    let p = ParallelDecoder::from_reader(decoder(Compression::Gzip, io::Cursor::new(cut), NAME));
    let e = chunks_parallel(p).unwrap_err();
    assert_eq!(decode_error(&e).kind, DecodeErrorKind::Truncated);
}

#[test]
fn job_grouping_covers_the_input() {
    let r = |a: usize, b: usize| a..b;
    assert_eq!(
        group_jobs(&[r(0, 10), r(10, 20)], 20, JOB_BYTES),
        vec![r(0, 20)]
    );
    assert_eq!(
        group_jobs(
            &[r(0, JOB_BYTES), r(JOB_BYTES, JOB_BYTES + 5)],
            JOB_BYTES + 9,
            JOB_BYTES
        ),
        vec![r(0, JOB_BYTES), r(JOB_BYTES, JOB_BYTES + 9)]
    );
    // a tail of skippable frames joins the last job
    assert_eq!(
        group_jobs(&[r(3, JOB_BYTES + 3)], JOB_BYTES + 50, JOB_BYTES),
        vec![r(0, JOB_BYTES + 50)]
    );
}

/// Real files from the command-line tools, when they are installed.
#[test]
fn files_written_by_the_tools_decode() {
    use std::process::{Command, Stdio};
    let d = data(2_000_000, 31);
    let tools: [(&str, &[&str], Compression); 5] = [
        ("gzip", &["-c"], Compression::Gzip),
        ("gzip", &["-1", "-c"], Compression::Gzip),
        ("zstd", &["-q", "-c", "-T2"], Compression::Zstd),
        (
            "zstd",
            &["-q", "-c", "--no-check", "-19"],
            Compression::Zstd,
        ),
        ("pzstd", &["-q", "-c", "-p", "2"], Compression::Zstd),
    ];
    for (tool, args, c) in tools {
        let child = Command::new(tool)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn();
        let Ok(mut child) = child else {
            eprintln!("{tool} not installed: skipped");
            continue;
        };
        let mut stdin = child.stdin.take().unwrap();
        let input = d.clone();
        let writer = std::thread::spawn(move || stdin.write_all(&input));
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap().unwrap();
        assert!(out.status.success());
        let file = out.stdout;
        assert_eq!(sniff(&file), c, "{tool}");
        assert_eq!(decode(c, &file).unwrap(), d, "{tool} {args:?}");
        let p = ParallelDecoder::new(Arc::new(file), c, NAME, 2);
        assert_eq!(chunks_parallel(p).unwrap(), d, "{tool} {args:?}");
    }
}

/// CPU seconds of the calling thread.
fn thread_cpu() -> f64 {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    s.split_whitespace()
        .next()
        .and_then(|t| t.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1e9
}

/// CPU seconds of the whole process (every thread), from /proc/self/stat
/// (utime + stime, in USER_HZ ticks: 100 a second on Linux).
fn process_cpu() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // the fields after the command name, which is in parentheses
    let rest = s.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 here
    (f.get(11).unwrap_or(&0.0) + f.get(12).unwrap_or(&0.0)) / 100.0
}

/// Throughput on real files: `RAYPROC_BENCH_DIR` holding d.csv.gz,
/// d.csv.zst, d.csv.pzst and d.csv.bgz (see docs/design.md). Reports the
/// fastest of `RAYPROC_BENCH_RUNS` runs (7), by wall time and by CPU time
/// (on a loaded machine, CPU time is the decoder's own cost).
#[test]
#[ignore]
fn bench_decoders() {
    use std::time::Instant;
    let Ok(dir) = std::env::var("RAYPROC_BENCH_DIR") else {
        eprintln!("RAYPROC_BENCH_DIR not set");
        return;
    };
    let runs: usize = std::env::var("RAYPROC_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(7);
    let report = |what: String, n: usize, times: &[(f64, f64)]| {
        let wall = times.iter().map(|t| t.0).fold(f64::MAX, f64::min);
        let cpu = times.iter().map(|t| t.1).fold(f64::MAX, f64::min);
        eprintln!(
            "{what}: {n} B, min wall {wall:.3} s = {:.0} MB/s, min CPU {cpu:.3} s = {:.0} MB/CPU-s",
            n as f64 / wall / 1e6,
            n as f64 / cpu / 1e6
        );
    };
    let mut sink = vec![0u8; PIECE];
    for file in ["d.csv.gz", "d.csv.bgz", "d.csv.zst", "d.csv.pzst"] {
        let path = std::path::Path::new(&dir).join(file);
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let c = sniff(&bytes);
        let mut times = Vec::new();
        let mut n = 0;
        for _ in 0..runs {
            let (t, c0) = (Instant::now(), thread_cpu());
            let mut r = decoder(c, &bytes[..], NAME);
            n = 0;
            loop {
                let k = r.read(&mut sink).unwrap();
                if k == 0 {
                    break;
                }
                n += k;
            }
            times.push((t.elapsed().as_secs_f64(), thread_cpu() - c0));
        }
        report(format!("{file} sequential"), n, &times);
        let bytes = Arc::new(bytes);
        for threads in [1, 2] {
            let mut times = Vec::new();
            let mut split = false;
            for _ in 0..runs {
                let (t, c0) = (Instant::now(), process_cpu());
                let mut p = ParallelDecoder::new(Arc::clone(&bytes), c, NAME, threads);
                split = p.is_parallel();
                n = 0;
                while let Some(chunk) = p.next_chunk().unwrap() {
                    n += chunk.len();
                }
                drop(p);
                times.push((t.elapsed().as_secs_f64(), process_cpu() - c0));
            }
            report(
                format!("{file} ParallelDecoder {threads} threads (parallel: {split})"),
                n,
                &times,
            );
        }
    }
}

/// Reads `r` in calls of at most `chunk` bytes until it ends or fails:
/// the bytes read, and whether it failed.
fn read_in(mut r: impl Read, chunk: usize) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut buf = vec![0u8; chunk];
    loop {
        match r.read(&mut buf) {
            Ok(0) => return (out, false),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return (out, true),
        }
    }
}

/// A damaged input yields the bytes before its error however the reads
/// are cut, on both sides (the compressed bytes arriving one at a time or
/// all at once, the caller asking for a byte or a megabyte): a call that
/// met the damage after decoding some bytes returns them, and the error on
/// the next call. The error was returned at once, dropping what the call
/// had decoded, so a caller saw more or less of the text before the damage
/// depending on its buffers (and a pipe's chunks). gzip returns every byte
/// before the damage, the same every time. libzstd does not say what a
/// failing call wrote, so zstd may lose what that call flushed (at most
/// [`ZSTD_CALL_OUT`] bytes) besides the damaged block (128 KiB at most).
#[test]
fn the_bytes_before_the_damage_are_returned_however_reads_are_cut() {
    let text = data(600_000, 5);
    for (kind, whole, compression) in [
        ("gzip", gz(&text), Compression::Gzip),
        ("zstd", zst(&text), Compression::Zstd),
    ] {
        let n = whole.len();
        let mut checksum = whole.clone();
        checksum[n - 6] ^= 0x55;
        for (what, damaged) in [("cut", whole[..n - 40].to_vec()), ("flipped", checksum)] {
            let mut seen: Option<usize> = None;
            for chunk in [1, 4096, 1 << 20] {
                for trickle in [false, true] {
                    let got = if trickle {
                        read_in(decoder(compression, Trickle(&damaged), NAME), chunk)
                    } else {
                        read_in(decoder(compression, &damaged[..], NAME), chunk)
                    };
                    let case = format!("{kind} {what}, chunks of {chunk}, trickled {trickle}");
                    assert!(got.1, "{case}: no error");
                    assert!(text.starts_with(&got.0), "{case}: not the text");
                    let lost = text.len() - got.0.len();
                    if compression == Compression::Gzip {
                        // the last few bytes wait for the deflate data past the cut
                        assert!(lost < 300, "{case}: {lost} bytes lost");
                        assert_eq!(*seen.get_or_insert(got.0.len()), got.0.len(), "{case}");
                    } else {
                        assert!(lost <= (128 << 10) + ZSTD_CALL_OUT, "{case}: {lost}");
                    }
                }
            }
        }
    }
}
