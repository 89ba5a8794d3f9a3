use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, GzipLevel, ZstdLevel};
use parquet::file::properties::{WriterProperties, WriterVersion};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::schema::types::{ColumnDescriptor, ColumnPath};

use super::*;

/// A Thrift-compact writer of the fields the tests need.
#[derive(Default)]
struct Writer {
    out: Vec<u8>,
    last: Vec<i16>,
}

impl Writer {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.out.push(v as u8 | 0x80);
            v >>= 7;
        }
        self.out.push(v as u8);
    }
    fn zigzag(&mut self, v: i64) {
        self.varint(((v << 1) ^ (v >> 63)) as u64);
    }
    fn field(&mut self, id: i16, kind: u8) {
        let last = self.last.last_mut().expect("in a struct");
        let delta = id - std::mem::replace(last, id);
        if (1..=15).contains(&delta) {
            self.out.push((delta as u8) << 4 | kind);
        } else {
            self.out.push(kind);
            self.zigzag(i64::from(id));
        }
    }
    fn i32(&mut self, id: i16, v: i32) -> &mut Self {
        self.field(id, I32);
        self.zigzag(i64::from(v));
        self
    }
    fn bool(&mut self, id: i16, v: bool) -> &mut Self {
        self.field(id, if v { TRUE } else { FALSE });
        self
    }
    fn binary(&mut self, id: i16, v: &[u8]) -> &mut Self {
        self.field(id, 8);
        self.varint(v.len() as u64);
        self.out.extend_from_slice(v);
        self
    }
    fn begin(&mut self, id: Option<i16>) -> &mut Self {
        if let Some(id) = id {
            self.field(id, STRUCT);
        }
        self.last.push(0);
        self
    }
    fn end(&mut self) -> &mut Self {
        self.out.push(0);
        self.last.pop();
        self
    }
}

/// A v1 data page header's bytes, with statistics to skip.
fn data_page(decoded: i32, stored: i32) -> Vec<u8> {
    let mut w = Writer::default();
    w.begin(None)
        .i32(1, 0)
        .i32(2, decoded)
        .i32(3, stored)
        .i32(4, 77);
    w.begin(Some(5)).i32(1, 10).i32(2, 0).i32(3, 3).i32(4, 3);
    w.begin(Some(5)).binary(1, b"max").binary(2, b"min").end();
    w.end().end();
    w.out
}

#[test]
fn a_header_parses_to_its_fields_and_its_length() {
    let mut bytes = data_page(1000, 400);
    let len = bytes.len();
    bytes.extend_from_slice(b"the body");
    let (header, at) = parse_header(&bytes).expect("a header");
    assert_eq!(at, len);
    let want = PageHeader {
        kind: 0,
        decoded: 1000,
        stored: 400,
        ..Default::default()
    };
    assert_eq!(header, want);

    let mut w = Writer::default();
    w.begin(None).i32(1, 2).i32(2, 80).i32(3, 30);
    w.begin(Some(7)).i32(1, 10).i32(2, 0).bool(3, true).end();
    // an unknown field of every kind: a list, a map, a set and a double
    // (fields 9 to 13 by their delta, then 300 by its id), each skipped
    w.out.extend_from_slice(&[0x29, 0x35, 0x02, 0x04, 0x06]);
    w.out
        .extend_from_slice(&[0x1b, 0x02, 0x58, 0x02, 0x01, b'a', 0x04, 0x01, b'b']);
    w.out.extend_from_slice(&[0x1a, 0x21, 0x01, 0x02]);
    w.out
        .extend_from_slice(&[0x17, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x13, 0x7f]);
    w.out.extend_from_slice(&[0x06, 0xd8, 0x04, 0x01]);
    w.end();
    let (header, at) = parse_header(&w.out).expect("a dictionary header");
    assert_eq!(at, w.out.len());
    assert_eq!((header.kind, header.dictionary_values), (2, Some(10)));

    let mut w = Writer::default();
    w.begin(None).i32(1, 3).i32(2, 100).i32(3, 60);
    w.begin(Some(8))
        .i32(1, 5)
        .i32(2, 0)
        .i32(3, 5)
        .i32(4, 0)
        .i32(5, 7)
        .i32(6, 2)
        .bool(7, false);
    w.end().end();
    assert_eq!(
        parse_header(&w.out).expect("a v2 header").0.v2,
        Some((9, false))
    );
}

#[test]
fn a_header_cut_short_asks_for_more_and_damage_is_invalid() {
    let bytes = data_page(1000, 400);
    for cut in 0..bytes.len() {
        match parse_header(&bytes[..cut]) {
            Err(Unparsed::Short(need)) => assert!(need > cut as u64, "cut at {cut}: {need}"),
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
    // no sizes
    let mut w = Writer::default();
    w.begin(None).i32(1, 0).end();
    assert!(matches!(parse_header(&w.out), Err(Unparsed::Invalid(_))));
    // a size of another type
    assert!(matches!(
        parse_header(&[0x18, 0x00]),
        Err(Unparsed::Invalid(_))
    ));
    // a type no Thrift has, and structs nested past the limit
    assert!(matches!(
        parse_header(&[0x1e, 0x00]),
        Err(Unparsed::Invalid(_))
    ));
    let deep: Vec<u8> = std::iter::repeat_n(0x1c, 100).collect();
    assert!(matches!(parse_header(&deep), Err(Unparsed::Invalid(_))));
    // a varint of eleven bytes, and a field id past i16
    let long = [
        0x15, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
    ];
    assert!(matches!(parse_header(&long), Err(Unparsed::Invalid(_))));
    assert!(matches!(
        parse_header(&[0x05, 0xfe, 0xff, 0x07]),
        Err(Unparsed::Invalid(_))
    ));
    // a list claiming 2^60 elements, and a binary of 2^40 bytes, say what
    // they need at once (the walk reads no more than the chunk holds)
    let list = [
        0x99, 0xf5, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10, 0x02,
    ];
    assert_eq!(parse_header(&list), Err(Unparsed::Short(11 + (1 << 60))));
    let binary = [0x98, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 0x00];
    assert_eq!(parse_header(&binary), Err(Unparsed::Short(7 + (1 << 40))));
}

#[test]
fn no_bytes_make_the_parser_panic_or_loop() {
    let seed = data_page(123_456, 7_890);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..20_000 {
        let mut bytes = seed.clone();
        for _ in 0..3 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let at = (state % bytes.len() as u64) as usize;
            bytes[at] = (state >> 32) as u8;
        }
        if let Ok((_, len)) = parse_header(&bytes) {
            assert!(len <= bytes.len());
        }
    }
}

fn header(decoded: i32, stored: i32) -> PageHeader {
    PageHeader {
        kind: 0,
        decoded,
        stored,
        ..Default::default()
    }
}

/// A required INT64 column `x`.
fn int64() -> ColumnDescriptor {
    let x = parquet::schema::types::Type::primitive_type_builder("x", Physical::INT64)
        .build()
        .expect("a type");
    ColumnDescriptor::new(Arc::new(x), 0, 0, ColumnPath::new(vec!["x".into()]))
}

fn check(header: &PageHeader, codec: Compression, body: &[u8]) -> Result<(), String> {
    check_page(header, codec, Physical::INT64, &int64(), |n| {
        Ok(body[..n.min(body.len())].to_vec())
    })
}

#[test]
fn a_claim_must_be_what_the_codec_can_give() {
    let snappy = Compression::SNAPPY;
    // Snappy states its length: 300 is ac 02
    assert_eq!(check(&header(300, 40), snappy, &[0xac, 0x02, 0]), Ok(()));
    let e = check(&header(301, 40), snappy, &[0xac, 0x02, 0]).unwrap_err();
    assert_eq!(e, "says it decodes to 301 bytes, its Snappy data 300 bytes");
    let e = check(&header(301, 40), snappy, &[0xff; 5]).unwrap_err();
    assert!(e.ends_with("its Snappy data no length"), "{e}");
    // and gives at most 22 times its bytes, whatever it states
    let e = check(
        &header(i32::MAX, 40),
        snappy,
        &[0xff, 0xff, 0xff, 0xff, 0x07],
    )
    .unwrap_err();
    assert_eq!(
        e,
        "says 40 bytes of Snappy data decode to 2147483647, more than Snappy can give (22 times)"
    );
    for (codec, most) in [
        (Compression::LZ4_RAW, 255),
        (Compression::LZ4, 255),
        (Compression::GZIP(GzipLevel::default()), 1032),
        (Compression::ZSTD(ZstdLevel::default()), 32_768),
    ] {
        assert_eq!(check(&header(most * 10, 10), codec, &[]), Ok(()), "{codec}");
        assert!(
            check(&header(most * 10 + 1, 10), codec, &[]).is_err(),
            "{codec}"
        );
    }
    // stored as it is: the claim is not read
    assert_eq!(
        check(&header(i32::MAX, 10), Compression::UNCOMPRESSED, &[]),
        Ok(())
    );
    // nothing to decode: the crate decodes nothing
    assert_eq!(check(&header(0, 10), snappy, &[]), Ok(()));
}

#[test]
fn a_v2_page_claims_its_values_after_its_levels() {
    let v2 = |levels, compressed| PageHeader {
        kind: 3,
        decoded: 310,
        stored: 50,
        v2: Some((levels, compressed)),
        ..Default::default()
    };
    // ten bytes of levels, then Snappy data of 300 bytes (ac 02)
    let mut body = vec![7u8; 10];
    body.extend_from_slice(&[0xac, 0x02, 0]);
    assert_eq!(check(&v2(10, true), Compression::SNAPPY, &body), Ok(()));
    assert!(check(&v2(9, true), Compression::SNAPPY, &body).is_err());
    assert_eq!(check(&v2(9, false), Compression::SNAPPY, &body), Ok(()));
    let e = check(&v2(51, true), Compression::SNAPPY, &body).unwrap_err();
    assert_eq!(
        e,
        "says its levels take 51 bytes of the 50 it stores (decoding to 310)"
    );
    assert!(check(&v2(-1, false), Compression::UNCOMPRESSED, &body).is_err());
}

#[test]
fn a_dictionary_holds_no_more_values_than_its_bytes() {
    let dictionary = |values, decoded, stored| PageHeader {
        kind: 2,
        decoded,
        stored,
        dictionary_values: Some(values),
        ..Default::default()
    };
    let zstd = Compression::ZSTD(ZstdLevel::default());
    // INT64: eight bytes a value, of the decoded bytes, or of the stored
    assert_eq!(check(&dictionary(100, 800, 80), zstd, &[]), Ok(()));
    let e = check(&dictionary(101, 800, 80), zstd, &[]).unwrap_err();
    assert_eq!(e, "says it holds 101 values, more than its 800 bytes can");
    assert_eq!(
        check(&dictionary(100, 0, 800), Compression::UNCOMPRESSED, &[]),
        Ok(())
    );
    assert!(check(
        &dictionary(i32::MAX, 0, 800),
        Compression::UNCOMPRESSED,
        &[]
    )
    .is_err());
    assert!(check(&dictionary(-1, 8, 8), Compression::UNCOMPRESSED, &[]).is_err());
}

/// A file of three columns (numbers, a boolean, text with few values)
/// written by the crate with `codec` and `version`, in pages of about a
/// KiB.
fn written(codec: Compression, version: WriterVersion) -> tempfile::NamedTempFile {
    let n = 20_000;
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "x",
            Arc::new(Float64Array::from_iter_values(
                (0..n).map(|i| (i % 977) as f64 * 0.5),
            )),
        ),
        (
            "b",
            Arc::new(BooleanArray::from_iter((0..n).map(|i| Some(i % 3 == 0)))),
        ),
        (
            "k",
            Arc::new(StringArray::from_iter(
                (0..n).map(|i| (i % 7 != 0).then(|| format!("k{}", i % 50))),
            )),
        ),
        (
            "n",
            Arc::new(Int64Array::from_iter_values((0..n).map(|i| i / 100))),
        ),
    ];
    let batch = RecordBatch::try_from_iter(columns).expect("a batch");
    let props = WriterProperties::builder()
        .set_compression(codec)
        .set_writer_version(version)
        .set_data_page_size_limit(1024)
        .set_write_batch_size(256)
        .set_max_row_group_row_count(Some(8_000))
        .build();
    let file = tempfile::NamedTempFile::new().expect("a temporary file");
    let mut writer =
        ArrowWriter::try_new(file.reopen().expect("reopen"), batch.schema(), Some(props))
            .expect("a writer");
    writer.write(&batch).expect("written");
    writer.close().expect("closed");
    file
}

/// The pages of every chunk of the Parquet file at `path`, walked.
fn walk(path: &std::path::Path) -> Result<usize, String> {
    let file = File::open(path).expect("open");
    let len = file.metadata().expect("metadata").len();
    let meta = SerializedFileReader::new(file.try_clone().expect("clone"))
        .expect("a Parquet file")
        .metadata()
        .clone();
    let mut pages = 0;
    for group in meta.row_groups() {
        for chunk in group.columns() {
            pages += check_chunk(&file, len, chunk)?;
        }
    }
    Ok(pages)
}

#[test]
fn every_page_a_writer_makes_passes() {
    for codec in [
        Compression::UNCOMPRESSED,
        Compression::SNAPPY,
        Compression::GZIP(GzipLevel::default()),
        Compression::LZ4,
        Compression::LZ4_RAW,
        Compression::ZSTD(ZstdLevel::default()),
    ] {
        for version in [WriterVersion::PARQUET_1_0, WriterVersion::PARQUET_2_0] {
            let file = written(codec, version);
            let pages = walk(file.path()).unwrap_or_else(|e| panic!("{codec} {version:?}: {e}"));
            assert!(pages > 40, "{codec} {version:?}: {pages} pages");
        }
    }
    // and those of pyarrow, Polars and Spark's INT96 among the fixtures
    let testdata = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut seen = 0;
    for entry in std::fs::read_dir(testdata).expect("testdata") {
        let path = entry.expect("an entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.ends_with(".parquet") && !name.starts_with("damaged_") {
            walk(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
            seen += 1;
        }
    }
    assert!(seen >= 6, "{seen} fixtures");
}

/// A chunk of `pages` (header, body) at byte 4 of a file, walked as
/// `codec` INT64 data.
fn walk_pages(codec: Compression, pages: &[(Vec<u8>, Vec<u8>)]) -> Result<usize, String> {
    let mut bytes = b"PAR1".to_vec();
    for (header, body) in pages {
        bytes.extend_from_slice(header);
        bytes.extend_from_slice(body);
    }
    let len = bytes.len() as i64 - 4;
    bytes.extend_from_slice(b"tail");
    let file = tempfile::NamedTempFile::new().expect("a temporary file");
    std::fs::write(file.path(), &bytes).expect("written");
    let chunk = ColumnChunkMetaData::builder(Arc::new(int64()))
        .set_compression(codec)
        .set_data_page_offset(4)
        .set_total_compressed_size(len)
        .build()
        .expect("a chunk");
    check_chunk(file.as_file(), bytes.len() as u64, &chunk)
}

#[test]
fn a_chunk_is_walked_page_by_page_and_damage_named_by_its_byte() {
    let snappy = |n: usize, claim: i32| {
        let mut body = vec![0u8; n];
        let mut v = claim as u32;
        for b in body.iter_mut().take(5) {
            *b = (v as u8 & 0x7f) | if v >= 0x80 { 0x80 } else { 0 };
            v >>= 7;
        }
        (data_page(claim, n as i32), body)
    };
    let pages = vec![snappy(30, 300), snappy(9000, 100_000), snappy(20, 64)];
    assert_eq!(walk_pages(Compression::SNAPPY, &pages), Ok(3));
    // the third page's header is at 4 + both pages before it
    let at = 4 + pages[0].0.len() + 30 + pages[1].0.len() + 9000;
    let mut lying = pages.clone();
    lying[2].0 = data_page(65, 20);
    let e = walk_pages(Compression::SNAPPY, &lying).unwrap_err();
    assert_eq!(
        e,
        format!("the page at byte {at} says it decodes to 65 bytes, its Snappy data 64 bytes")
    );
    // a page longer than what is left of its chunk
    let mut long = pages.clone();
    long[2].0 = data_page(64, 21);
    let e = walk_pages(Compression::SNAPPY, &long).unwrap_err();
    assert_eq!(
        e,
        format!("the page at byte {at} (21 bytes) runs past the end of its chunk, 20 bytes on")
    );
    // a header cut by the chunk's end, and one that is not a header
    let mut cut = pages.clone();
    cut[2].1.clear();
    cut[2].0.truncate(5);
    let e = walk_pages(Compression::SNAPPY, &cut).unwrap_err();
    assert_eq!(
        e,
        format!("the page header at byte {at} runs past the end of its chunk")
    );
    // a statistic claiming 2^40 bytes: said at once, none of them read
    cut[2].0 = vec![0x15, 0x00, 0x98, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20];
    let e = walk_pages(Compression::SNAPPY, &cut).unwrap_err();
    assert_eq!(
        e,
        format!("the page header at byte {at} runs past the end of its chunk")
    );
    cut[2].0 = vec![0x1e, 0, 0, 0, 0];
    let e = walk_pages(Compression::SNAPPY, &cut).unwrap_err();
    assert!(
        e.starts_with(&format!("the page header at byte {at} cannot be read")),
        "{e}"
    );
    // negative sizes
    let mut negative = pages.clone();
    negative[1].0 = data_page(100_000, -9000);
    assert!(walk_pages(Compression::SNAPPY, &negative).is_err());
    negative[1].0 = data_page(-1, 9000);
    assert!(walk_pages(Compression::SNAPPY, &negative).is_err());
    // a header bigger than the window: statistics of 20,000 bytes
    let mut w = Writer::default();
    w.begin(None).i32(1, 0).i32(2, 300).i32(3, 30);
    w.begin(Some(5)).i32(1, 10).i32(2, 0).i32(3, 3).i32(4, 3);
    w.begin(Some(5)).binary(1, &vec![b'z'; 20_000]).end();
    w.end().end();
    let mut big = pages.clone();
    big[0].0 = w.out;
    assert_eq!(walk_pages(Compression::SNAPPY, &big), Ok(3));
}
