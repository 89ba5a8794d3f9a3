//! A streaming raw-deflate (RFC 1951) decoder in the style of libdeflate.
//!
//! # Why our own
//!
//! On a single-member `.gz` file the decode thread is the wall time of a
//! query (the other threads parse faster than one thread inflates), so the
//! inflate loop is the lever. zlib-rs (behind `flate2`) decodes through a
//! state machine built for arbitrary input and output chunks; libdeflate's
//! loop is faster but only decodes whole buffers, and a 50 GB `.gz` must be
//! read in a few MiB. This decoder takes libdeflate's fast loop and wraps
//! it in a resumable state machine:
//!
//! - **Fast loop** ([`Inflater::fast`]): a 64-bit bit buffer refilled
//!   branch-free with 8-byte loads (while at least [`FAST_IN`] input bytes
//!   are left), one table lookup per symbol (entries pack the literal or
//!   the length/distance base, the codeword length and the extra-bit
//!   count, so a length or distance and its extra bits are taken in one
//!   step), the next entry looked up before the refill, a second literal
//!   decoded without refilling, and matches copied 8 bytes at a time, the
//!   first 40 unconditionally (distance 1 as a fill), which needs
//!   [`FAST_OUT`] bytes of output room.
//! - **Careful path** ([`Inflater::slow_step`] and the header states):
//!   near the end of the input or the output, one symbol at a time with
//!   every bound checked; it pulls input bytes only as they are needed and
//!   stops between symbols (or inside a match or stored block, whose rest
//!   it remembers) when the input or the output runs out. A block header
//!   is read field by field, so one split across input reads resumes
//!   where it stopped. Every input byte handed in is consumed (kept in the
//!   bit buffer if need be), so a `BufRead` source always refills.
//!
//! # Output and history
//!
//! The decoder writes straight into the caller's buffer (no copy: the
//! parallel decoder reads 1 MiB pieces). A match whose distance reaches
//! before the start of this call's output reads the last 32 KiB of earlier
//! calls from a ring buffer, which is updated with each call's output (at
//! most 32 KiB copied a call). Such matches take the careful copy; with
//! 1 MiB reads they are the first 32 KiB of each piece at most.
//!
//! # Hostile input
//!
//! Every invalid stream is an [`InflateError`], never a panic or a loop:
//! over-subscribed or incomplete code-length sets (as zlib, an incomplete
//! code is only accepted when it is a single code of one bit), a missing
//! end-of-block code, too many length or distance symbols, a bad repeat,
//! literal/length symbols 286 and 287 or distances 30 and 31 (fixed
//! code), a distance further back than the output, a stored block whose
//! length and its complement disagree, and block type 3. These are
//! zlib's rules, so the decoder accepts what `flate2` accepts (checked by
//! a differential test and fuzz target). The code is safe Rust apart from
//! the match copies of the fast loop, whose bounds are checked once per
//! match (see their `SAFETY` comments).

use std::fmt;

/// Bits of the first-level literal/length table (libdeflate's choice).
const LIT_BITS: u32 = 11;
/// Bits of the first-level distance table.
const DIST_BITS: u32 = 8;
/// Bits of the code-length code table (its codes have at most 7 bits).
const CL_BITS: u32 = 7;
/// The largest literal/length table: 2^11 entries plus subtables for
/// codes of up to 15 bits over 288 symbols (zlib's `enough 288 11 15`).
const LIT_ENOUGH: usize = 2342;
/// `enough 32 8 15`.
const DIST_ENOUGH: usize = 402;

// A table entry (u32):
// bits 0-7: bits to consume: codeword length + extra bits (a subtable
//   pointer: the first-level bits),
// bits 8-11: codeword length (a subtable pointer: the subtable's bits),
// bit 12: end of block, bit 13: subtable pointer, bit 14: exceptional
//   (end of block, subtable pointer or invalid symbol), bit 15: literal,
// bits 16-31: the literal, the length or distance base, or the subtable's
//   start.
const EOB: u32 = 1 << 12;
const SUBTABLE: u32 = 1 << 13;
const EXCEPTIONAL: u32 = 1 << 14;
const LITERAL: u32 = 1 << 15;

const LEN_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LEN_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];
/// The order in which code-length code lengths are stored.
const CL_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

const WINDOW: usize = 32 * 1024;
const WINDOW_MASK: usize = WINDOW - 1;
/// Input bytes the fast loop needs left: two 8-byte refills an iteration,
/// each advancing at most 7 bytes.
pub const FAST_IN: usize = 16;
/// Output room the fast loop needs: a literal, then a match of 258 bytes
/// copied 8 at a time, at least 40 (up to 7 bytes written past its end),
/// with a margin.
pub const FAST_OUT: usize = 1 + 258 + 16 + 32;

#[inline(always)]
fn mask(n: u32) -> u64 {
    (1u64 << n) - 1
}

/// The length or distance of entry `e` (its base, bits 16 and up) plus its
/// extra bits, read from `bits`, whose bottom holds the entry's code.
#[inline(always)]
fn base_plus_extra(e: u32, bits: u64) -> usize {
    (e >> 16) as usize + ((bits & mask(e & 0xff)) >> ((e >> 8) & 0xf)) as usize
}

/// Where the subtable entry of first-level entry `e` is, given `bits`
/// past the first level's (the subtable's start is bits 16 and up of `e`,
/// its index width bits 8 to 11).
#[inline(always)]
fn subtable_index(e: u32, bits: u64) -> usize {
    (e >> 16) as usize + (bits & mask((e >> 8) & 0xf)) as usize
}

/// What is wrong with a deflate stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InflateError {
    BlockType,
    StoredLength,
    TooManySymbols,
    CodeLengthCode,
    BadRepeat,
    MissingEndOfBlock,
    LitLenCode,
    DistanceCode,
    BadLitLen,
    BadDistance,
    DistanceTooFar,
}

impl fmt::Display for InflateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InflateError::BlockType => "invalid block type 3",
            InflateError::StoredLength => "stored block length does not match its complement",
            InflateError::TooManySymbols => "too many length or distance symbols",
            InflateError::CodeLengthCode => "invalid code-length code",
            InflateError::BadRepeat => "invalid code-length repeat",
            InflateError::MissingEndOfBlock => "no end-of-block code",
            InflateError::LitLenCode => "invalid literal/length code lengths",
            InflateError::DistanceCode => "invalid distance code lengths",
            InflateError::BadLitLen => "invalid literal/length code",
            InflateError::BadDistance => "invalid distance code",
            InflateError::DistanceTooFar => "distance too far back",
        })
    }
}

impl std::error::Error for InflateError {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Before a block header (BFINAL, BTYPE).
    Header,
    /// Before a stored block's LEN and NLEN.
    StoredLen,
    /// Inside a stored block: bytes left.
    Stored(u16),
    /// Before HLIT, HDIST, HCLEN.
    Counts,
    /// Reading code-length code lengths: the next index.
    ClLens(usize),
    /// Reading literal/length and distance code lengths: the next index.
    Lens(usize),
    /// Inside a Huffman-coded block.
    Data,
    Done,
    Failed(InflateError),
}

/// How the fast loop stopped.
enum FastExit {
    /// Near the end of the input or the output.
    Bounds,
    EndOfBlock,
}

/// How a careful step ended.
enum Step {
    Progress,
    /// The input is used up (all of it is in the bit buffer).
    NeedInput,
    EndOfBlock,
}

/// A resumable raw-deflate decoder. Feed it with [`Inflater::inflate`].
pub struct Inflater {
    bitbuf: u64,
    /// Valid bits in `bitbuf`; outside the fast loop the bits above are 0.
    bitsleft: u32,
    state: State,
    last_block: bool,
    /// A match cut by the end of the output: (length left, distance).
    pending: Option<(usize, usize)>,
    /// Output of the stream so far.
    total_out: u64,
    /// The last 32 KiB of output of earlier calls; `head` is where the next
    /// byte goes (so the byte `d` back is at `head - d`).
    hist: Box<[u8; WINDOW]>,
    head: usize,
    nlen: usize,
    ndist: usize,
    ncl: usize,
    /// Code lengths being read: code-length code, then litlen + distance.
    cl_lens: [u8; 19],
    lens: [u8; 286 + 30],
    cl: [u32; 1 << CL_BITS],
    lit: Box<[u32; LIT_ENOUGH]>,
    dist: Box<[u32; DIST_ENOUGH]>,
}

impl Default for Inflater {
    fn default() -> Self {
        Self::new()
    }
}

impl Inflater {
    pub fn new() -> Self {
        Inflater {
            bitbuf: 0,
            bitsleft: 0,
            state: State::Header,
            last_block: false,
            pending: None,
            total_out: 0,
            hist: Box::new([0; WINDOW]),
            head: 0,
            nlen: 0,
            ndist: 0,
            ncl: 0,
            cl_lens: [0; 19],
            lens: [0; 286 + 30],
            cl: [0; 1 << CL_BITS],
            lit: Box::new([0; LIT_ENOUGH]),
            dist: Box::new([0; DIST_ENOUGH]),
        }
    }

    /// Starts a new stream.
    pub fn reset(&mut self) {
        self.bitbuf = 0;
        self.bitsleft = 0;
        self.state = State::Header;
        self.last_block = false;
        self.pending = None;
        self.total_out = 0;
        self.head = 0;
    }

    /// Bytes of output of the current stream so far.
    pub fn total_out(&self) -> u64 {
        self.total_out
    }

    /// Decodes from `input` into `out`: returns the input bytes consumed,
    /// the output bytes written (`out[..produced]`; bytes after them may
    /// be overwritten too) and whether the stream ended (then the input
    /// after the consumed bytes follows the stream: the bits of the last
    /// byte after the end are padding). Unless the stream ended, all of
    /// `input` is consumed or `out` is full. An error is final: later
    /// calls return it again.
    pub fn inflate(
        &mut self,
        input: &[u8],
        out: &mut [u8],
    ) -> (usize, usize, Result<bool, InflateError>) {
        let (mut ip, mut op) = (0, 0);
        let r = self.run(input, &mut ip, out, &mut op);
        if let Err(e) = r {
            self.state = State::Failed(e);
        }
        self.remember(&out[..op]);
        (ip, op, r)
    }

    /// Adds a call's output to the history.
    fn remember(&mut self, out: &[u8]) {
        self.total_out += out.len() as u64;
        if out.len() >= WINDOW {
            self.hist.copy_from_slice(&out[out.len() - WINDOW..]);
            self.head = 0;
            return;
        }
        let first = out.len().min(WINDOW - self.head);
        self.hist[self.head..self.head + first].copy_from_slice(&out[..first]);
        let rest = out.len() - first;
        self.hist[..rest].copy_from_slice(&out[first..]);
        self.head = (self.head + out.len()) & WINDOW_MASK;
    }

    fn run(
        &mut self,
        input: &[u8],
        ip: &mut usize,
        out: &mut [u8],
        op: &mut usize,
    ) -> Result<bool, InflateError> {
        loop {
            match self.state {
                State::Done => return Ok(true),
                State::Failed(e) => return Err(e),
                State::Header => {
                    if !self.pull(input, ip, 3) {
                        return Ok(false);
                    }
                    self.last_block = self.take(1) == 1;
                    match self.take(2) {
                        0 => {
                            // to a byte boundary
                            let drop = self.bitsleft % 8;
                            self.take(drop);
                            self.state = State::StoredLen;
                        }
                        1 => {
                            self.fixed_tables();
                            self.state = State::Data;
                        }
                        2 => self.state = State::Counts,
                        _ => return Err(InflateError::BlockType),
                    }
                }
                State::StoredLen => {
                    if !self.pull(input, ip, 32) {
                        return Ok(false);
                    }
                    let len = self.take(16) as u16;
                    let nlen = self.take(16) as u16;
                    if len != !nlen {
                        return Err(InflateError::StoredLength);
                    }
                    self.state = State::Stored(len);
                }
                State::Stored(mut left) => {
                    // bytes still in the bit buffer first (byte aligned)
                    while left > 0 && self.bitsleft >= 8 && *op < out.len() {
                        out[*op] = self.take(8) as u8;
                        *op += 1;
                        left -= 1;
                    }
                    if self.bitsleft < 8 {
                        let n = (left as usize).min(out.len() - *op).min(input.len() - *ip);
                        out[*op..*op + n].copy_from_slice(&input[*ip..*ip + n]);
                        *op += n;
                        *ip += n;
                        left -= n as u16;
                    }
                    if left > 0 {
                        self.state = State::Stored(left);
                        return Ok(false);
                    }
                    self.end_block();
                }
                State::Counts => {
                    if !self.pull(input, ip, 14) {
                        return Ok(false);
                    }
                    self.nlen = self.take(5) as usize + 257;
                    self.ndist = self.take(5) as usize + 1;
                    self.ncl = self.take(4) as usize + 4;
                    if self.nlen > 286 || self.ndist > 30 {
                        return Err(InflateError::TooManySymbols);
                    }
                    self.cl_lens = [0; 19];
                    self.state = State::ClLens(0);
                }
                State::ClLens(mut i) => {
                    while i < self.ncl {
                        if !self.pull(input, ip, 3) {
                            self.state = State::ClLens(i);
                            return Ok(false);
                        }
                        self.cl_lens[CL_ORDER[i]] = self.take(3) as u8;
                        i += 1;
                    }
                    build(&self.cl_lens, &mut self.cl, CL_BITS, Kind::CodeLength)
                        .map_err(|_| InflateError::CodeLengthCode)?;
                    self.state = State::Lens(0);
                }
                State::Lens(i) => {
                    if !self.code_lengths(input, ip, i)? {
                        return Ok(false);
                    }
                    self.state = State::Data;
                }
                State::Data => {
                    if let Some((len, dist)) = self.pending {
                        let n = len.min(out.len() - *op);
                        copy_slow(out, *op, n, dist, &self.hist, self.head);
                        *op += n;
                        if n < len {
                            self.pending = Some((len - n, dist));
                            return Ok(false);
                        }
                        self.pending = None;
                    }
                    if self.bitsleft < 8
                        && input.len() - *ip >= FAST_IN
                        && out.len() - *op >= FAST_OUT
                    {
                        match self.fast(input, ip, out, op)? {
                            FastExit::EndOfBlock => {
                                self.end_block();
                                continue;
                            }
                            FastExit::Bounds => {}
                        }
                    }
                    if *op == out.len() {
                        return Ok(false);
                    }
                    match self.slow_step(input, ip, out, op)? {
                        Step::Progress => {}
                        Step::NeedInput => return Ok(false),
                        Step::EndOfBlock => self.end_block(),
                    }
                }
            }
        }
    }

    fn end_block(&mut self) {
        self.state = if self.last_block {
            State::Done
        } else {
            State::Header
        };
    }

    /// Pulls input bytes into the bit buffer until it holds `n` bits; false
    /// when the input runs out first (the bytes pulled stay pulled).
    #[inline]
    fn pull(&mut self, input: &[u8], ip: &mut usize, n: u32) -> bool {
        while self.bitsleft < n {
            let Some(&b) = input.get(*ip) else {
                return false;
            };
            self.bitbuf |= u64::from(b) << self.bitsleft;
            self.bitsleft += 8;
            *ip += 1;
        }
        true
    }

    /// Takes `n` bits (they must be there).
    #[inline]
    fn take(&mut self, n: u32) -> u32 {
        let v = (self.bitbuf & mask(n)) as u32;
        self.bitbuf >>= n;
        self.bitsleft -= n;
        v
    }

    /// Reads the literal/length and distance code lengths from index `i`
    /// on and builds their tables. False when the input runs out (the
    /// state then says where to resume).
    fn code_lengths(
        &mut self,
        input: &[u8],
        ip: &mut usize,
        mut i: usize,
    ) -> Result<bool, InflateError> {
        let total = self.nlen + self.ndist;
        while i < total {
            // a symbol and its extra bits, taken together or not at all
            let (e, extra) = loop {
                let e = self.cl[(self.bitbuf & mask(CL_BITS)) as usize];
                let sym = e >> 16;
                let extra = match sym {
                    16 => 2,
                    17 => 3,
                    18 => 7,
                    _ => 0,
                };
                if (e & 0xff) + extra <= self.bitsleft {
                    break (e, extra);
                }
                if !self.pull1(input, ip) {
                    self.state = State::Lens(i);
                    return Ok(false);
                }
            };
            if e & 0xff == 0 {
                // no code (an incomplete code-length code is refused when
                // built, so this cannot happen; never loop on it)
                return Err(InflateError::CodeLengthCode);
            }
            self.take(e & 0xff);
            let sym = (e >> 16) as u8;
            let rep = self.take(extra) as usize;
            let (value, count) = match sym {
                0..=15 => (sym, 1),
                16 => {
                    if i == 0 {
                        return Err(InflateError::BadRepeat);
                    }
                    (self.lens[i - 1], 3 + rep)
                }
                17 => (0, 3 + rep),
                _ => (0, 11 + rep),
            };
            if i + count > total {
                return Err(InflateError::BadRepeat);
            }
            self.lens[i..i + count].fill(value);
            i += count;
        }
        let (nlen, ndist) = (self.nlen, self.ndist);
        if self.lens[256] == 0 {
            return Err(InflateError::MissingEndOfBlock);
        }
        build(
            &self.lens[..nlen],
            &mut self.lit[..],
            LIT_BITS,
            Kind::LitLen,
        )
        .map_err(|_| InflateError::LitLenCode)?;
        build(
            &self.lens[nlen..nlen + ndist],
            &mut self.dist[..],
            DIST_BITS,
            Kind::Distance,
        )
        .map_err(|_| InflateError::DistanceCode)?;
        Ok(true)
    }

    fn pull1(&mut self, input: &[u8], ip: &mut usize) -> bool {
        let n = self.bitsleft + 8;
        self.pull(input, ip, n)
    }

    fn fixed_tables(&mut self) {
        let mut lens = [0u8; 288];
        lens[..144].fill(8);
        lens[144..256].fill(9);
        lens[256..280].fill(7);
        lens[280..].fill(8);
        build(&lens, &mut self.lit[..], LIT_BITS, Kind::LitLen).expect("the fixed code is valid");
        build(&[5; 32], &mut self.dist[..], DIST_BITS, Kind::Distance)
            .expect("the fixed code is valid");
    }

    /// One symbol (a literal, a match with its distance, or the end of the
    /// block), bounds checked; `out` has room for at least one byte.
    fn slow_step(
        &mut self,
        input: &[u8],
        ip: &mut usize,
        out: &mut [u8],
        op: &mut usize,
    ) -> Result<Step, InflateError> {
        loop {
            match self.peek_step() {
                Peek::Need => {
                    if !self.pull1(input, ip) {
                        return Ok(Step::NeedInput);
                    }
                }
                Peek::Literal(bits, b) => {
                    self.take(bits);
                    out[*op] = b;
                    *op += 1;
                    return Ok(Step::Progress);
                }
                Peek::EndOfBlock(bits) => {
                    self.take(bits);
                    return Ok(Step::EndOfBlock);
                }
                Peek::Invalid(e) => return Err(e),
                Peek::Match(bits, len, dist) => {
                    if dist as u64 > self.total_out + *op as u64 {
                        return Err(InflateError::DistanceTooFar);
                    }
                    self.take(bits);
                    let n = len.min(out.len() - *op);
                    copy_slow(out, *op, n, dist, &self.hist, self.head);
                    *op += n;
                    if n < len {
                        self.pending = Some((len - n, dist));
                    }
                    return Ok(Step::Progress);
                }
            }
        }
    }

    /// Decodes the next symbol from the bit buffer without taking it.
    fn peek_step(&self) -> Peek {
        let (bb, bl) = (self.bitbuf, self.bitsleft);
        let Some((e, at)) = lookup(&self.lit[..], LIT_BITS, bb, bl) else {
            return Peek::Need;
        };
        let bits = at + (e & 0xff);
        if bits > bl {
            return Peek::Need;
        }
        if e & LITERAL != 0 {
            return Peek::Literal(bits, (e >> 16) as u8);
        }
        if e & EXCEPTIONAL != 0 {
            if e & EOB != 0 {
                return Peek::EndOfBlock(bits);
            }
            return Peek::Invalid(InflateError::BadLitLen);
        }
        let len = base_plus_extra(e, bb >> at);
        let Some((d, dat)) = lookup(&self.dist[..], DIST_BITS, bb >> bits, bl - bits) else {
            return Peek::Need;
        };
        let dbits = dat + (d & 0xff);
        if bits + dbits > bl {
            return Peek::Need;
        }
        if d & EXCEPTIONAL != 0 {
            return Peek::Invalid(InflateError::BadDistance);
        }
        let dist = base_plus_extra(d, bb >> (bits + dat));
        Peek::Match(bits + dbits, len, dist)
    }

    /// The fast loop: runs while [`FAST_IN`] input bytes and [`FAST_OUT`]
    /// bytes of output room are left, or to the end of the block. Entered
    /// with fewer than 8 bits in the bit buffer; leaves with fewer than 8,
    /// the whole bytes it loaded but did not use given back to the input.
    /// On x86-64 with BMI2 (as libdeflate does) a copy compiled for it runs:
    /// its variable shifts and bit masks are one instruction each.
    fn fast(
        &mut self,
        input: &[u8],
        ip: &mut usize,
        out: &mut [u8],
        op: &mut usize,
    ) -> Result<FastExit, InflateError> {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("bmi2") {
            // SAFETY: the CPU has BMI1 and BMI2 (BMI2 implies BMI1 on every
            // CPU that has it; checked at run time just above).
            return unsafe { self.fast_bmi2(input, ip, out, op) };
        }
        self.fast_loop(input, ip, out, op)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "bmi1,bmi2")]
    unsafe fn fast_bmi2(
        &mut self,
        input: &[u8],
        ip: &mut usize,
        out: &mut [u8],
        op: &mut usize,
    ) -> Result<FastExit, InflateError> {
        self.fast_loop(input, ip, out, op)
    }

    #[inline(always)]
    fn fast_loop(
        &mut self,
        input: &[u8],
        ip: &mut usize,
        out: &mut [u8],
        op: &mut usize,
    ) -> Result<FastExit, InflateError> {
        let lit: &[u32; LIT_ENOUGH] = &self.lit;
        let dtab: &[u32; DIST_ENOUGH] = &self.dist;
        let hist: &[u8; WINDOW] = &self.hist;
        let head = self.head;
        let before = self.total_out;
        let mut bitbuf = self.bitbuf;
        // The low 8 bits are the bit count (below 64); entries are
        // subtracted whole (their low 8 bits are the bits they take), so
        // the bits above are garbage, never read.
        let mut bitsleft: u32 = self.bitsleft;
        let (mut i, mut o) = (*ip, *op);
        // `fast` is only entered with this much input and room left
        assert!(input.len() >= i + FAST_IN && out.len() >= o + FAST_OUT);
        let in_end = input.len() - FAST_IN;
        let out_end = out.len() - FAST_OUT;
        let inp = input.as_ptr();
        let outp = out.as_mut_ptr();
        let exit;

        // Adds whole bytes to the bit buffer up to 56..=63 bits. The bits of
        // the next, partly loaded byte land above the count: the next
        // refill ORs the same bits there, so they need no clearing.
        // At most two refills run per iteration, and an iteration starts
        // with `i <= in_end`: they read below `i + 7 + 8 < input.len()`.
        macro_rules! refill {
            () => {
                // SAFETY: i + 8 <= input.len() (see above).
                let w = unsafe { inp.add(i).cast::<u64>().read_unaligned() };
                bitbuf |= u64::from_le(w).wrapping_shl(bitsleft);
                i += 7 - ((bitsleft >> 3) & 7) as usize;
                bitsleft |= 56;
            };
        }
        // Takes the bits of entry `e` (its low 8 bits, at most 28).
        macro_rules! consume {
            ($e:expr) => {
                let e: u32 = $e;
                bitbuf = bitbuf.wrapping_shr(e);
                bitsleft = bitsleft.wrapping_sub(e);
            };
        }
        // An iteration writes at most a literal and a match whose copy
        // ends at most 7 bytes past it, 1 + 264 < FAST_OUT bytes from an
        // `o <= out_end`.
        macro_rules! put {
            ($b:expr) => {
                // SAFETY: o < out_end + 2 <= out.len() (see above).
                unsafe { *outp.add(o) = $b };
                o += 1;
            };
        }

        // Invariant at the top of the loop: at least 56 bits, and `e` is
        // the entry for the bits at the bottom.
        refill!();
        let mut e = lit[(bitbuf & mask(LIT_BITS)) as usize];
        loop {
            if i > in_end || o > out_end {
                exit = Ok(FastExit::Bounds);
                break;
            }
            if e & LITERAL != 0 {
                consume!(e);
                let first = (e >> 16) as u8;
                e = lit[(bitbuf & mask(LIT_BITS)) as usize];
                if e & LITERAL != 0 {
                    // two literals take at most 22 bits: 34 are left
                    consume!(e);
                    let second = (e >> 16) as u8;
                    e = lit[(bitbuf & mask(LIT_BITS)) as usize];
                    refill!();
                    put!(first);
                    put!(second);
                    continue;
                }
                put!(first);
                refill!();
            }
            if e & EXCEPTIONAL != 0 {
                if e & SUBTABLE != 0 {
                    consume!(e);
                    e = lit[subtable_index(e, bitbuf).min(LIT_ENOUGH - 1)];
                    if e & LITERAL != 0 {
                        consume!(e);
                        put!((e >> 16) as u8);
                        e = lit[(bitbuf & mask(LIT_BITS)) as usize];
                        refill!();
                        continue;
                    }
                }
                if e & EOB != 0 {
                    consume!(e);
                    exit = Ok(FastExit::EndOfBlock);
                    break;
                }
                if e & EXCEPTIONAL != 0 {
                    exit = Err(InflateError::BadLitLen);
                    break;
                }
            }
            // a length: at most 20 bits of code and extra bits are taken
            // here and 28 for the distance, from at least 56
            let saved = bitbuf;
            consume!(e);
            let len = base_plus_extra(e, saved);
            let mut d = dtab[(bitbuf & mask(DIST_BITS)) as usize];
            if d & EXCEPTIONAL != 0 {
                if d & SUBTABLE != 0 {
                    consume!(d);
                    d = dtab[subtable_index(d, bitbuf).min(DIST_ENOUGH - 1)];
                }
                if d & EXCEPTIONAL != 0 {
                    exit = Err(InflateError::BadDistance);
                    break;
                }
            }
            let saved = bitbuf;
            consume!(d);
            let dist = base_plus_extra(d, saved);
            e = lit[(bitbuf & mask(LIT_BITS)) as usize];
            refill!();
            if dist >= 8 && dist <= o {
                // SAFETY: 8 <= dist <= o, so the source starts inside
                // `out`, and o + 1 + 264 <= out.len() (see `put`): every
                // 8-byte word read and written below is inside `out`. Each
                // word read ends at or before the word written (dist >= 8),
                // so it holds bytes already written (overlap is the point).
                unsafe {
                    let mut src = outp.add(o - dist);
                    let mut dst = outp.add(o);
                    let end = dst.add(len);
                    for _ in 0..5 {
                        dst.cast::<u64>()
                            .write_unaligned(src.cast::<u64>().read_unaligned());
                        src = src.add(8);
                        dst = dst.add(8);
                    }
                    while dst < end {
                        dst.cast::<u64>()
                            .write_unaligned(src.cast::<u64>().read_unaligned());
                        src = src.add(8);
                        dst = dst.add(8);
                    }
                }
            } else if dist == 1 && o >= 1 {
                let v = u64::from(out[o - 1]) * 0x0101_0101_0101_0101;
                // SAFETY: o + 264 <= out.len() (see `put`); the words cover
                // `len` (at most 258) rounded up to 8.
                unsafe {
                    let mut dst = outp.add(o);
                    let end = dst.add(len);
                    while dst < end {
                        dst.cast::<u64>().write_unaligned(v);
                        dst = dst.add(8);
                    }
                }
            } else if dist <= o {
                for k in o..o + len {
                    out[k] = out[k - dist];
                }
            } else if dist as u64 <= before + o as u64 {
                copy_slow(out, o, len, dist, hist, head);
            } else {
                exit = Err(InflateError::DistanceTooFar);
                break;
            }
            o += len;
        }
        // give back the whole bytes loaded but not used
        let left = bitsleft & 0xff;
        let back = (left / 8) as usize;
        i -= back;
        let left = left - 8 * back as u32;
        self.bitbuf = bitbuf & mask(left);
        self.bitsleft = left;
        *ip = i;
        *op = o;
        exit
    }
}

enum Peek {
    Need,
    Literal(u32, u8),
    EndOfBlock(u32),
    Invalid(InflateError),
    /// Bits, length, distance.
    Match(u32, usize, usize),
}

/// The entry for the code at the bottom of `bb` (`bl` valid bits, zeros
/// above them) and the bits before it (a subtable's first-level bits), or
/// `None` when more bits are needed to tell. The caller checks that the
/// entry's own bits are there.
fn lookup(table: &[u32], tb: u32, bb: u64, bl: u32) -> Option<(u32, u32)> {
    let e = table[(bb & mask(tb)) as usize];
    if e & SUBTABLE == 0 {
        return Some((e, 0));
    }
    if bl < tb {
        return None;
    }
    let at = subtable_index(e, bb >> tb);
    Some((*table.get(at)?, tb))
}

/// Copies a match of `len` bytes at distance `dist` to `out[o..]`, one
/// byte at a time, reading before `out`'s start from the history ring.
/// `dist` is at most the output so far and 32 KiB (checked by the caller).
fn copy_slow(out: &mut [u8], o: usize, len: usize, dist: usize, hist: &[u8; WINDOW], head: usize) {
    for k in o..o + len {
        out[k] = if dist <= k {
            out[k - dist]
        } else {
            hist[(head + WINDOW - (dist - k)) & WINDOW_MASK]
        };
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    CodeLength,
    LitLen,
    Distance,
}

/// The invalid entry: exceptional, neither end of block nor subtable, and
/// it asks for `bits` bits (so that the careful path does not call a code
/// invalid before it has the bits that make it so).
fn invalid(bits: u32) -> u32 {
    EXCEPTIONAL | bits
}

/// The entry for `sym` with a codeword of `len` bits (at this level).
fn entry(kind: Kind, sym: usize, len: u32) -> u32 {
    let plain = |value: u32, extra: u32| value << 16 | len << 8 | (len + extra);
    match kind {
        Kind::CodeLength => plain(sym as u32, 0),
        Kind::LitLen => match sym {
            0..=255 => LITERAL | plain(sym as u32, 0),
            256 => EOB | EXCEPTIONAL | len << 8 | len,
            257..=285 => plain(
                u32::from(LEN_BASE[sym - 257]),
                u32::from(LEN_EXTRA[sym - 257]),
            ),
            _ => invalid(len),
        },
        Kind::Distance => match sym {
            0..=29 => plain(u32::from(DIST_BASE[sym]), u32::from(DIST_EXTRA[sym])),
            _ => invalid(len),
        },
    }
}

/// Why a code cannot be built.
#[derive(Debug)]
struct BadCode;

/// Builds the decode table of the canonical code with lengths `lens` (by
/// symbol; 0: unused), `tb` first-level bits, in `table`. The code must be
/// complete, except (as zlib) a single code of one bit, or none at all for
/// distances (a block without matches).
fn build(lens: &[u8], table: &mut [u32], tb: u32, kind: Kind) -> Result<(), BadCode> {
    let mut count = [0u16; 16];
    for &l in lens {
        count[l as usize & 15] += 1;
    }
    if lens.iter().any(|&l| l > 15) {
        return Err(BadCode);
    }
    count[0] = 0;
    let max = (1..16).rev().find(|&l| count[l] > 0).unwrap_or(0);
    let size = 1usize << tb;
    if max == 0 {
        if kind == Kind::CodeLength {
            return Err(BadCode);
        }
        table[..size].fill(invalid(tb));
        return Ok(());
    }
    let mut left: i32 = 1;
    for &c in &count[1..] {
        left = (left << 1) - i32::from(c);
        if left < 0 {
            return Err(BadCode);
        }
    }
    if left > 0 {
        if kind == Kind::CodeLength || max != 1 {
            return Err(BadCode);
        }
        table[..size].fill(invalid(tb));
    }
    // symbols sorted by (length, symbol), and the first canonical code of
    // each length
    let mut offs = [0usize; 16];
    for l in 1..15 {
        offs[l + 1] = offs[l] + count[l] as usize;
    }
    let mut sorted = [0u16; 288];
    for (sym, &l) in lens.iter().enumerate() {
        if l > 0 {
            sorted[offs[l as usize]] = sym as u16;
            offs[l as usize] += 1;
        }
    }
    let mut next = [0u32; 16];
    let mut code = 0u32;
    for l in 1..16 {
        code = (code + u32::from(count[l - 1])) << 1;
        next[l] = code;
    }
    let n = count.iter().map(|&c| c as usize).sum::<usize>();
    let mut remaining = count;
    let mut free = size;
    let mut sub_prefix = usize::MAX;
    let (mut sub_start, mut sub_bits) = (0usize, 0u32);
    for &sym in &sorted[..n] {
        let sym = sym as usize;
        let len = u32::from(lens[sym]);
        let codeword = next[len as usize];
        next[len as usize] += 1;
        let rev = (codeword.reverse_bits() >> (32 - len)) as usize;
        if len <= tb {
            let e = entry(kind, sym, len);
            let mut k = rev;
            while k < size {
                table[k] = e;
                k += 1 << len;
            }
        } else {
            let prefix = rev & (size - 1);
            if prefix != sub_prefix {
                // a new subtable, as deep as the longest code under prefix
                sub_prefix = prefix;
                sub_bits = len - tb;
                let mut used = u32::from(remaining[len as usize]);
                while used < 1 << sub_bits {
                    sub_bits += 1;
                    if tb + sub_bits > 15 {
                        return Err(BadCode);
                    }
                    used = (used << 1) + u32::from(remaining[(tb + sub_bits) as usize]);
                }
                sub_start = free;
                free += 1 << sub_bits;
                if free > table.len() {
                    return Err(BadCode);
                }
                table[prefix] =
                    EXCEPTIONAL | SUBTABLE | (sub_start as u32) << 16 | sub_bits << 8 | tb;
            }
            let e = entry(kind, sym, len - tb);
            let mut k = rev >> tb;
            while k < 1 << sub_bits {
                table[sub_start + k] = e;
                k += 1 << (len - tb);
            }
        }
        remaining[len as usize] -= 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
