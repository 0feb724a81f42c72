//! Decoding RESP replies, and encoding commands to send: the client side.
//!
//! A replica talks to its master as a client: it sends multibulk commands
//! (`encode_command`) and reads replies (`decode_frame`). `Frame` is one reply
//! of any RESP2 or RESP3 type. Decoding is incremental: the caller hands over
//! what it has read so far and gets a whole frame, `Ok(None)` for "read more
//! and call again", or an error for a corrupt stream, after which the caller
//! should drop the connection (nothing past the error can be trusted).
//!
//! Decoding walks the buffer twice: once to find where the frame ends, with no
//! allocation at all, and only when the whole frame is there, once more to
//! build it. So a partial frame costs a scan of its headers, never a tree that
//! is thrown away, and aggregates are allocated only for elements whose bytes
//! are present. The walk is iterative: hostile nesting cannot overflow the stack.
//!
//! Error texts are those of hiredis, Redis's own client library (redis-cli),
//! where it has a counterpart.
//!
//! Not covered: RESP3 streamed strings and aggregates (`$?`, `*?`), which
//! Redis 7.0 never sends, and the RDB payload of a full sync, which is not a
//! frame at all (`$<len>` or `$EOF:<mark>` with no CRLF after the data).

use bytes::Bytes;

use crate::parse::parse_i64;
use crate::reply::format_double;

/// One reply.
///
/// Nulls keep their wire form so a decoded frame encodes back to the same
/// bytes: `NullBulk` is RESP2's `$-1`, `NullArray` RESP2's `*-1`, `Null`
/// RESP3's `_`. `is_null` is true for all three.
///
/// An `Attribute` (`|`) is metadata about the frame after it. At the top level
/// it is decoded as a frame of its own, and the frame it describes comes from
/// the next call. Inside an aggregate it is not an element (RESP3 says clients
/// may ignore it), so the decoder skips it; decoded aggregates never hold one.
#[derive(Clone, Debug, PartialEq)]
pub enum Frame {
    /// `+`: a status line, without CR or LF.
    Simple(Bytes),
    /// `-`: an error line, with its code (`ERR ...`), without CR or LF.
    Error(Bytes),
    /// `:`
    Integer(i64),
    /// `$<len>`
    Bulk(Bytes),
    /// `$-1` (RESP2).
    NullBulk,
    /// `*-1` (RESP2).
    NullArray,
    /// `_` (RESP3).
    Null,
    /// `*`
    Array(Vec<Frame>),
    /// `,`: `inf`, `-inf` and `nan` for the values that are not finite.
    Double(f64),
    /// `#t` / `#f`
    Boolean(bool),
    /// `(`: an optional `-` and decimal digits.
    BigNumber(Bytes),
    /// `=<len>`: three bytes of format (`txt`, `mkd`), a colon, the text.
    Verbatim { format: [u8; 3], text: Bytes },
    /// `%`
    Map(Vec<(Frame, Frame)>),
    /// `~`
    Set(Vec<Frame>),
    /// `|`: see the type's documentation.
    Attribute(Vec<(Frame, Frame)>),
    /// `>`: out-of-band data (pub/sub messages, invalidations).
    Push(Vec<Frame>),
    /// `!<len>`: an error that may hold any bytes.
    BlobError(Bytes),
}

/// What a frame is checked against before anything is allocated for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameLimits {
    /// Longest bulk string, blob error or verbatim string.
    pub max_bulk: usize,
    /// Most elements one aggregate may declare; a map's or attribute's pair
    /// counts as two.
    pub max_elements: usize,
    /// Most aggregates nested inside one another; a top-level array is 1.
    pub max_depth: usize,
    /// Longest line (a simple string, a number, a length), without its CRLF.
    pub max_line: usize,
}

impl Default for FrameLimits {
    /// Redis's own bounds: `proto-max-bulk-len` (512 MB) for strings, and
    /// hiredis's for the rest (2^32-1 elements, depth 1024), so whatever
    /// redis-cli reads decodes here too. Memory is bounded by the bytes a
    /// frame occupies in any case, so the element limit needs no tightening;
    /// the depth limit also bounds the recursion of dropping, comparing and
    /// encoding a frame. Lines are capped like request header lines (64 KiB).
    fn default() -> Self {
        FrameLimits {
            max_bulk: 512 * 1024 * 1024,
            max_elements: u32::MAX as usize,
            max_depth: 1024,
            max_line: 64 * 1024,
        }
    }
}

/// The stream is corrupt. The numbers say what was read, for logs; the
/// `Display` text is hiredis's where it has one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The first byte of a frame is not a RESP type.
    UnknownType(u8),
    /// A `+` or `-` line holds a CR or LF.
    BadSimpleString,
    BadInteger,
    BadDouble,
    BadNull,
    BadBoolean,
    BadBigNumber,
    /// A `$`, `=` or `!` length is not a number.
    BadBulkLength,
    /// A `$`, `=` or `!` length is negative (other than `$-1`) or over `max_bulk`.
    BulkLengthOutOfRange(i64),
    /// The data of a `$`, `=` or `!` is not followed by CRLF.
    BulkNotTerminated,
    /// A verbatim string without its `xxx:` format prefix.
    BadVerbatim,
    /// An aggregate's length is not a number.
    BadAggregateLength,
    /// An aggregate's length is negative (other than `*-1`) or over `max_elements`.
    AggregateLengthOutOfRange(i64),
    /// More than `max_depth` aggregates nested.
    TooDeep,
    /// No CRLF within `max_line` bytes.
    LineTooLong,
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::UnknownType(b) => {
                f.write_str("Protocol error, got \"")?;
                // hiredis's chrtos: printable bytes as they are, others escaped.
                match b {
                    b'\\' | b'"' => write!(f, "\\{}", *b as char)?,
                    b'\n' => f.write_str("\\n")?,
                    b'\r' => f.write_str("\\r")?,
                    b'\t' => f.write_str("\\t")?,
                    0x07 => f.write_str("\\a")?,
                    0x08 => f.write_str("\\b")?,
                    b' '..=b'~' => write!(f, "{}", *b as char)?,
                    _ => write!(f, "\\x{b:02x}")?,
                }
                f.write_str("\" as reply type byte")
            }
            FrameError::BadSimpleString => f.write_str("Bad simple string value"),
            FrameError::BadInteger => f.write_str("Bad integer value"),
            FrameError::BadDouble => f.write_str("Bad double value"),
            FrameError::BadNull => f.write_str("Bad nil value"),
            FrameError::BadBoolean => f.write_str("Bad bool value"),
            FrameError::BadBigNumber => f.write_str("Bad bignum value"),
            FrameError::BadBulkLength => f.write_str("Bad bulk string length"),
            FrameError::BulkLengthOutOfRange(_) => f.write_str("Bulk string length out of range"),
            FrameError::BulkNotTerminated => f.write_str("Bulk string not followed by CRLF"),
            FrameError::BadVerbatim => f.write_str(
                "Verbatim string 4 bytes of content type are missing or incorrectly encoded.",
            ),
            FrameError::BadAggregateLength => f.write_str("Bad multi-bulk length"),
            FrameError::AggregateLengthOutOfRange(_) => {
                f.write_str("Multi-bulk length out of range")
            }
            FrameError::TooDeep => f.write_str("Max nesting depth exceeded"),
            FrameError::LineTooLong => f.write_str("Line too long"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Takes one frame from the front of `buf`, if a whole one is there: the frame
/// and how many bytes it took. The frame's bytes are copied once, into one
/// buffer its strings share.
pub fn decode_frame(
    buf: &[u8],
    limits: &FrameLimits,
) -> Result<Option<(Frame, usize)>, FrameError> {
    let Some(len) = frame_len(buf, limits)? else {
        return Ok(None);
    };
    let whole = Bytes::copy_from_slice(&buf[..len]);
    Ok(build(&whole, limits)?.map(|f| (f, len)))
}

/// `decode_frame` without the copy: the frame's strings are slices of `buf`
/// (and keep all of it alive while they live).
pub fn decode_frame_bytes(
    buf: &Bytes,
    limits: &FrameLimits,
) -> Result<Option<(Frame, usize)>, FrameError> {
    let Some(len) = frame_len(buf, limits)? else {
        return Ok(None);
    };
    Ok(build(&buf.slice(..len), limits)?.map(|f| (f, len)))
}

/// How many bytes the frame at the front of `buf` takes, if it is all there,
/// without building it. This is the whole check: a frame it accepts decodes.
pub fn frame_len(buf: &[u8], limits: &FrameLimits) -> Result<Option<usize>, FrameError> {
    Ok(walk(buf, None, limits)?.map(|(_, len)| len))
}

/// How many bare `\n` keepalives lead `buf`. A master sends them to a replica
/// waiting for its full sync (before the `$<len>` of the RDB payload); the
/// caller drops them before decoding, as they are not RESP.
pub fn skip_keepalives(buf: &[u8]) -> usize {
    buf.iter().take_while(|&&c| c == b'\n').count()
}

/// Appends a command as a multibulk request, `*<n>` then `$<len>` and the
/// bytes of each argument: the same bytes the AOF and replication stream use.
pub fn encode_command<A: AsRef<[u8]>>(out: &mut Vec<u8>, args: &[A]) {
    header(out, b'*', args.len());
    for a in args {
        blob(out, b'$', a.as_ref());
    }
}

impl Frame {
    /// The bytes of a string-like frame: simple, error, bulk, blob error, big
    /// number, and a verbatim string's text.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Frame::Simple(b)
            | Frame::Error(b)
            | Frame::Bulk(b)
            | Frame::BlobError(b)
            | Frame::BigNumber(b)
            | Frame::Verbatim { text: b, .. } => Some(b),
            _ => None,
        }
    }

    /// `-` and `!` frames.
    pub fn is_error(&self) -> bool {
        matches!(self, Frame::Error(_) | Frame::BlobError(_))
    }

    /// `$-1`, `*-1` and `_`.
    pub fn is_null(&self) -> bool {
        matches!(self, Frame::Null | Frame::NullBulk | Frame::NullArray)
    }

    /// A scalar frame as text, for logs: the bytes of a string-like frame
    /// (lossy UTF-8, without the `+`/`-` prefix), a number's digits, `true` or
    /// `false`. Nulls and aggregates give an empty string.
    pub fn text(&self) -> String {
        if let Some(b) = self.as_bytes() {
            return String::from_utf8_lossy(b).into_owned();
        }
        match self {
            Frame::Integer(n) => n.to_string(),
            Frame::Double(d) => format_double(*d),
            Frame::Boolean(b) => b.to_string(),
            _ => String::new(),
        }
    }

    /// Appends the frame in RESP; decoding the bytes gives the frame back.
    /// A CR or LF in a simple or error line becomes a space (as in
    /// `Reply::error`), since a line cannot hold one. An `Attribute` is written
    /// where it is, but only at the top level does it decode as a frame (see
    /// the type's documentation).
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Frame::Simple(s) => line(out, b'+', s),
            Frame::Error(s) => line(out, b'-', s),
            Frame::Integer(n) => header(out, b':', *n),
            Frame::Bulk(b) => blob(out, b'$', b),
            Frame::NullBulk => out.extend_from_slice(b"$-1\r\n"),
            Frame::NullArray => out.extend_from_slice(b"*-1\r\n"),
            Frame::Null => out.extend_from_slice(b"_\r\n"),
            Frame::Array(items) => list(out, b'*', items),
            Frame::Double(d) => {
                out.push(b',');
                out.extend_from_slice(format_double(*d).as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            Frame::Boolean(b) => out.extend_from_slice(if *b { b"#t\r\n" } else { b"#f\r\n" }),
            Frame::BigNumber(n) => line(out, b'(', n),
            Frame::Verbatim { format, text } => {
                header(out, b'=', text.len() + 4);
                out.extend_from_slice(format);
                out.push(b':');
                out.extend_from_slice(text);
                out.extend_from_slice(b"\r\n");
            }
            Frame::Map(pairs) => map(out, b'%', pairs),
            Frame::Set(items) => list(out, b'~', items),
            Frame::Attribute(pairs) => map(out, b'|', pairs),
            Frame::Push(items) => list(out, b'>', items),
            Frame::BlobError(b) => blob(out, b'!', b),
        }
    }
}

fn header<I: itoa::Integer>(out: &mut Vec<u8>, prefix: u8, n: I) {
    out.push(prefix);
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn line(out: &mut Vec<u8>, prefix: u8, text: &[u8]) {
    out.push(prefix);
    out.extend(
        text.iter()
            .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }),
    );
    out.extend_from_slice(b"\r\n");
}

fn blob(out: &mut Vec<u8>, prefix: u8, data: &[u8]) {
    header(out, prefix, data.len());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

fn list(out: &mut Vec<u8>, prefix: u8, items: &[Frame]) {
    header(out, prefix, items.len());
    for f in items {
        f.encode(out);
    }
}

fn map(out: &mut Vec<u8>, prefix: u8, pairs: &[(Frame, Frame)]) {
    header(out, prefix, pairs.len());
    for (k, v) in pairs {
        k.encode(out);
        v.encode(out);
    }
}

/// The kinds of aggregate.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Agg {
    Array,
    Map,
    Set,
    Attribute,
    Push,
}

/// One item read from the buffer: a whole scalar, or an aggregate's header.
/// Strings are `start..end` ranges of the buffer.
enum Item {
    Simple(usize, usize),
    Error(usize, usize),
    Integer(i64),
    Bulk(usize, usize),
    NullBulk,
    NullArray,
    Null,
    Double(f64),
    Boolean(bool),
    BigNumber(usize, usize),
    Verbatim([u8; 3], usize, usize),
    BlobError(usize, usize),
    /// The kind and the number of elements that follow (two per pair).
    Aggregate(Agg, usize),
}

impl Item {
    /// The frame of a scalar item, its strings sliced from `src`.
    fn into_frame(self, src: &Bytes) -> Frame {
        match self {
            Item::Simple(s, e) => Frame::Simple(src.slice(s..e)),
            Item::Error(s, e) => Frame::Error(src.slice(s..e)),
            Item::Integer(n) => Frame::Integer(n),
            Item::Bulk(s, e) => Frame::Bulk(src.slice(s..e)),
            Item::NullBulk => Frame::NullBulk,
            Item::NullArray => Frame::NullArray,
            Item::Null => Frame::Null,
            Item::Double(d) => Frame::Double(d),
            Item::Boolean(b) => Frame::Boolean(b),
            Item::BigNumber(s, e) => Frame::BigNumber(src.slice(s..e)),
            Item::Verbatim(format, s, e) => Frame::Verbatim {
                format,
                text: src.slice(s..e),
            },
            Item::BlobError(s, e) => Frame::BlobError(src.slice(s..e)),
            // Aggregates are built by `walk`; an empty array stands in.
            Item::Aggregate(..) => Frame::Array(Vec::new()),
        }
    }
}

/// An aggregate whose elements are still being read.
struct Open {
    kind: Agg,
    remaining: usize,
    /// `None` while only measuring.
    items: Option<Vec<Frame>>,
}

impl Open {
    fn add(&mut self, frame: Option<Frame>) {
        self.remaining = self.remaining.saturating_sub(1);
        if let (Some(items), Some(f)) = (self.items.as_mut(), frame) {
            items.push(f);
        }
    }

    fn finish(self) -> Option<Frame> {
        let items = self.items?;
        Some(match self.kind {
            Agg::Array => Frame::Array(items),
            Agg::Set => Frame::Set(items),
            Agg::Push => Frame::Push(items),
            Agg::Map => Frame::Map(pairs(items)),
            Agg::Attribute => Frame::Attribute(pairs(items)),
        })
    }
}

fn pairs(items: Vec<Frame>) -> Vec<(Frame, Frame)> {
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    out
}

/// Builds the frame `whole` holds, all of which `frame_len` has accepted.
fn build(whole: &Bytes, limits: &FrameLimits) -> Result<Option<Frame>, FrameError> {
    Ok(walk(whole, Some(whole), limits)?.and_then(|(f, _)| f))
}

/// Reads one frame from the front of `buf`: its end, and the frame itself if
/// `src` (the same bytes, shareable) is given. Aggregates are kept on an
/// explicit stack, not the call stack.
fn walk(
    buf: &[u8],
    src: Option<&Bytes>,
    limits: &FrameLimits,
) -> Result<Option<(Option<Frame>, usize)>, FrameError> {
    let mut stack: Vec<Open> = Vec::new();
    let mut pos = 0;
    loop {
        let Some((item, next)) = read_item(buf, pos, limits)? else {
            return Ok(None);
        };
        pos = next;
        let (mut done, mut is_attribute) = match item {
            Item::Aggregate(kind, n) => {
                if stack.len() >= limits.max_depth {
                    return Err(FrameError::TooDeep);
                }
                // Every element takes at least 3 bytes ("_\r\n"): never reserve
                // room for more than the bytes present can hold.
                let room = buf.len().saturating_sub(pos) / 3;
                let open = Open {
                    kind,
                    remaining: n,
                    items: src.map(|_| Vec::with_capacity(n.min(room))),
                };
                if n > 0 {
                    stack.push(open);
                    continue;
                }
                (open.finish(), kind == Agg::Attribute)
            }
            scalar => (src.map(|s| scalar.into_frame(s)), false),
        };
        // Hand the finished value to its aggregate, and on up while that
        // completes aggregates in turn.
        loop {
            let Some(top) = stack.last_mut() else {
                return Ok(Some((done, pos)));
            };
            // A nested attribute describes the next element; it is not one.
            if !is_attribute {
                top.add(done);
            }
            if top.remaining > 0 {
                break;
            }
            let Some(open) = stack.pop() else { break };
            is_attribute = open.kind == Agg::Attribute;
            done = open.finish();
        }
    }
}

/// Where the line starting at `from` ends (the index of its CR), once its CRLF
/// is buffered. As in hiredis, a line ends at the first CR LF pair; a lone CR
/// or LF before it stays in the line, for its type to reject.
fn line_end(buf: &[u8], from: usize, max_line: usize) -> Result<Option<usize>, FrameError> {
    let rest = buf.get(from..).unwrap_or(&[]);
    // Look no further than the longest line allowed and its CRLF.
    let longest = max_line.saturating_add(2);
    let window = &rest[..rest.len().min(longest)];
    match window.windows(2).position(|w| w == b"\r\n") {
        Some(i) => Ok(Some(from + i)),
        None if rest.len() >= longest => Err(FrameError::LineTooLong),
        None => Ok(None),
    }
}

/// Reads the item at `pos`: it and where the next one starts, or `None` if
/// it is not all buffered yet.
fn read_item(
    buf: &[u8],
    pos: usize,
    limits: &FrameLimits,
) -> Result<Option<(Item, usize)>, FrameError> {
    let Some(&ty) = buf.get(pos) else {
        return Ok(None);
    };
    // Judge the type byte first, so garbage fails at once, not after a line.
    if !b"+-:$*_,#(=%~|>!".contains(&ty) {
        return Err(FrameError::UnknownType(ty));
    }
    let start = pos + 1;
    let Some(end) = line_end(buf, start, limits.max_line)? else {
        return Ok(None);
    };
    let text = &buf[start..end];
    let next = end + 2;
    let item = match ty {
        b'+' | b'-' => {
            if text.iter().any(|&c| c == b'\r' || c == b'\n') {
                return Err(FrameError::BadSimpleString);
            }
            if ty == b'+' {
                Item::Simple(start, end)
            } else {
                Item::Error(start, end)
            }
        }
        b':' => Item::Integer(parse_i64(text).ok_or(FrameError::BadInteger)?),
        b',' => Item::Double(parse_double(text).ok_or(FrameError::BadDouble)?),
        b'_' if text.is_empty() => Item::Null,
        b'_' => return Err(FrameError::BadNull),
        b'#' => match text {
            b"t" | b"T" => Item::Boolean(true),
            b"f" | b"F" => Item::Boolean(false),
            _ => return Err(FrameError::BadBoolean),
        },
        b'(' => {
            let digits = text.strip_prefix(b"-").unwrap_or(text);
            if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                return Err(FrameError::BadBigNumber);
            }
            Item::BigNumber(start, end)
        }
        b'$' | b'=' | b'!' => return read_blob(buf, ty, text, next, limits),
        _ => {
            let n = parse_i64(text).ok_or(FrameError::BadAggregateLength)?;
            if n == -1 && ty == b'*' {
                Item::NullArray
            } else {
                let (kind, per) = match ty {
                    b'*' => (Agg::Array, 1),
                    b'%' => (Agg::Map, 2),
                    b'~' => (Agg::Set, 1),
                    b'|' => (Agg::Attribute, 2),
                    _ => (Agg::Push, 1),
                };
                // RESP3 has `_` for null: only RESP2's `*-1` may be negative.
                let elements = u64::try_from(n)
                    .ok()
                    .map(|n| n.saturating_mul(per))
                    .filter(|&e| e <= limits.max_elements as u64)
                    .ok_or(FrameError::AggregateLengthOutOfRange(n))?;
                Item::Aggregate(kind, elements as usize)
            }
        }
    };
    Ok(Some((item, next)))
}

/// A `$`, `=` or `!` item whose length line `text` ends before `start`.
fn read_blob(
    buf: &[u8],
    ty: u8,
    text: &[u8],
    start: usize,
    limits: &FrameLimits,
) -> Result<Option<(Item, usize)>, FrameError> {
    let n = parse_i64(text).ok_or(FrameError::BadBulkLength)?;
    if n == -1 && ty == b'$' {
        return Ok(Some((Item::NullBulk, start)));
    }
    // Checked before waiting for the data, so a huge length fails at once.
    let out_of_range = FrameError::BulkLengthOutOfRange(n);
    let len = u64::try_from(n)
        .ok()
        .filter(|&l| l <= limits.max_bulk as u64)
        .ok_or(out_of_range)? as usize;
    if ty == b'=' && len < 4 {
        return Err(FrameError::BadVerbatim);
    }
    let end = start.checked_add(len).ok_or(out_of_range)?;
    let next = end.checked_add(2).ok_or(out_of_range)?;
    if buf.len() < next {
        return Ok(None);
    }
    if &buf[end..next] != b"\r\n" {
        return Err(FrameError::BulkNotTerminated);
    }
    let item = match ty {
        b'$' => Item::Bulk(start, end),
        b'!' => Item::BlobError(start, end),
        _ => {
            if buf[start + 3] != b':' {
                return Err(FrameError::BadVerbatim);
            }
            let format = [buf[start], buf[start + 1], buf[start + 2]];
            Item::Verbatim(format, start + 4, end)
        }
    };
    Ok(Some((item, next)))
}

/// A RESP3 double, as hiredis reads one: `inf`, `-inf`, `nan` or `-nan` in any
/// case, else a decimal that must be finite (no `infinity`, no hex).
fn parse_double(s: &[u8]) -> Option<f64> {
    let is = |word: &str| s.eq_ignore_ascii_case(word.as_bytes());
    if is("inf") {
        return Some(f64::INFINITY);
    }
    if is("-inf") {
        return Some(f64::NEG_INFINITY);
    }
    if is("nan") || is("-nan") {
        return Some(f64::NAN);
    }
    // Only the characters of a decimal: Rust's parser would take "infinity".
    if s.is_empty() || !s.iter().all(|c| c.is_ascii_digit() || b"+-.eE".contains(c)) {
        return None;
    }
    let d: f64 = std::str::from_utf8(s).ok()?.parse().ok()?;
    d.is_finite().then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn b(s: &[u8]) -> Bytes {
        Bytes::copy_from_slice(s)
    }

    fn decode(buf: &[u8]) -> Result<Option<(Frame, usize)>, FrameError> {
        decode_frame(buf, &FrameLimits::default())
    }

    fn encoded(f: &Frame) -> Vec<u8> {
        let mut out = Vec::new();
        f.encode(&mut out);
        out
    }

    /// `wire` is one whole frame: every shorter prefix waits for more, the
    /// whole decodes to `want` and takes all of it, a following byte stays,
    /// and the frame encodes back to `wire`.
    fn check_whole(wire: &[u8], want: &Frame) {
        for cut in 0..wire.len() {
            assert_eq!(decode(&wire[..cut]), Ok(None), "prefix {cut} of {wire:?}");
        }
        assert_eq!(decode(wire), Ok(Some((want.clone(), wire.len()))));
        let mut more = wire.to_vec();
        more.extend_from_slice(b"+next\r\n");
        assert_eq!(decode(&more), Ok(Some((want.clone(), wire.len()))));
        assert_eq!(encoded(want), wire, "{want:?}");
    }

    fn err(wire: &[u8]) -> FrameError {
        decode(wire).unwrap_err()
    }

    #[test]
    fn every_type_decodes_at_every_split_point() {
        let cases: Vec<(&[u8], Frame)> = vec![
            (b"+OK\r\n", Frame::Simple(b(b"OK"))),
            (b"+\r\n", Frame::Simple(b(b""))),
            (b"-ERR no\r\n", Frame::Error(b(b"ERR no"))),
            (b":0\r\n", Frame::Integer(0)),
            (b":-42\r\n", Frame::Integer(-42)),
            (b":9223372036854775807\r\n", Frame::Integer(i64::MAX)),
            (b":-9223372036854775808\r\n", Frame::Integer(i64::MIN)),
            (b"$5\r\nhe\r\no\r\n", Frame::Bulk(b(b"he\r\no"))),
            (b"$0\r\n\r\n", Frame::Bulk(b(b""))),
            (b"$-1\r\n", Frame::NullBulk),
            (b"*-1\r\n", Frame::NullArray),
            (b"_\r\n", Frame::Null),
            (b"*0\r\n", Frame::Array(vec![])),
            (
                b"*2\r\n:1\r\n$1\r\nx\r\n",
                Frame::Array(vec![Frame::Integer(1), Frame::Bulk(b(b"x"))]),
            ),
            (b",1.5\r\n", Frame::Double(1.5)),
            (b",-0\r\n", Frame::Double(-0.0)),
            (b",inf\r\n", Frame::Double(f64::INFINITY)),
            (b",-inf\r\n", Frame::Double(f64::NEG_INFINITY)),
            (b",1e+20\r\n", Frame::Double(1e20)),
            (b"#t\r\n", Frame::Boolean(true)),
            (b"#f\r\n", Frame::Boolean(false)),
            (
                b"(3492890328409238509324850943850943825024385\r\n",
                Frame::BigNumber(b(b"3492890328409238509324850943850943825024385")),
            ),
            (b"(-7\r\n", Frame::BigNumber(b(b"-7"))),
            (
                b"=15\r\ntxt:Some string\r\n",
                Frame::Verbatim {
                    format: *b"txt",
                    text: b(b"Some string"),
                },
            ),
            (
                b"=4\r\nmkd:\r\n",
                Frame::Verbatim {
                    format: *b"mkd",
                    text: b(b""),
                },
            ),
            (
                b"%2\r\n+a\r\n:1\r\n+b\r\n_\r\n",
                Frame::Map(vec![
                    (Frame::Simple(b(b"a")), Frame::Integer(1)),
                    (Frame::Simple(b(b"b")), Frame::Null),
                ]),
            ),
            (b"%0\r\n", Frame::Map(vec![])),
            (
                b"~2\r\n+x\r\n#f\r\n",
                Frame::Set(vec![Frame::Simple(b(b"x")), Frame::Boolean(false)]),
            ),
            (
                b"|1\r\n+ttl\r\n:3600\r\n",
                Frame::Attribute(vec![(Frame::Simple(b(b"ttl")), Frame::Integer(3600))]),
            ),
            (
                b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
                Frame::Push(vec![
                    Frame::Bulk(b(b"message")),
                    Frame::Bulk(b(b"ch")),
                    Frame::Bulk(b(b"hi")),
                ]),
            ),
            (
                b"!21\r\nSYNTAX invalid syntax\r\n",
                Frame::BlobError(b(b"SYNTAX invalid syntax")),
            ),
        ];
        for (wire, want) in &cases {
            check_whole(wire, want);
        }
    }

    #[test]
    fn nested_aggregates_decode() {
        let wire = b"*3\r\n%1\r\n$1\r\nk\r\n*2\r\n~1\r\n:1\r\n*0\r\n>1\r\n_\r\n*-1\r\n";
        let want = Frame::Array(vec![
            Frame::Map(vec![(
                Frame::Bulk(b(b"k")),
                Frame::Array(vec![
                    Frame::Set(vec![Frame::Integer(1)]),
                    Frame::Array(vec![]),
                ]),
            )]),
            Frame::Push(vec![Frame::Null]),
            Frame::NullArray,
        ]);
        check_whole(wire, &want);
    }

    #[test]
    fn nan_and_loose_doubles_decode_as_hiredis_reads_them() {
        for s in ["nan", "NaN", "-nan", "-NAN"] {
            let wire = format!(",{s}\r\n");
            let (f, _) = decode(wire.as_bytes()).unwrap().unwrap();
            assert!(matches!(f, Frame::Double(d) if d.is_nan()), "{s}");
            assert_eq!(encoded(&f), b",nan\r\n");
        }
        assert_eq!(
            decode(b",INF\r\n").unwrap().unwrap().0,
            Frame::Double(f64::INFINITY)
        );
        for (s, d) in [("+1", 1.0), (".5", 0.5), ("5.", 5.0), ("1E3", 1000.0)] {
            let wire = format!(",{s}\r\n");
            assert_eq!(
                decode(wire.as_bytes()).unwrap().unwrap().0,
                Frame::Double(d)
            );
        }
        // %.17g: a finite double goes back to the same value.
        let third = Frame::Double(1.0 / 3.0);
        assert_eq!(decode(&encoded(&third)).unwrap().unwrap().0, third);
    }

    #[test]
    fn top_level_attribute_is_its_own_frame() {
        let wire = b"|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.1923\r\n*1\r\n:2039123\r\n";
        let (attr, n) = decode(wire).unwrap().unwrap();
        assert!(matches!(&attr, Frame::Attribute(p) if p.len() == 1));
        let (reply, m) = decode(&wire[n..]).unwrap().unwrap();
        assert_eq!(reply, Frame::Array(vec![Frame::Integer(2039123)]));
        assert_eq!(n + m, wire.len());
    }

    #[test]
    fn nested_attributes_are_skipped() {
        let wire = b"*2\r\n|1\r\n+a\r\n*1\r\n|0\r\n:0\r\n:1\r\n|1\r\n+b\r\n+c\r\n:2\r\n";
        for cut in 0..wire.len() {
            assert_eq!(decode(&wire[..cut]), Ok(None));
        }
        assert_eq!(
            decode(wire),
            Ok(Some((
                Frame::Array(vec![Frame::Integer(1), Frame::Integer(2)]),
                wire.len()
            )))
        );
        // An attribute before a map key: still two elements per pair.
        let wire = b"%1\r\n|0\r\n+k\r\n+v\r\n";
        assert_eq!(
            decode(wire).unwrap().unwrap().0,
            Frame::Map(vec![(Frame::Simple(b(b"k")), Frame::Simple(b(b"v")))])
        );
    }

    #[test]
    fn protocol_violations_are_errors() {
        let cases: Vec<(&[u8], FrameError)> = vec![
            (b"?\r\n", FrameError::UnknownType(b'?')),
            (b"\n", FrameError::UnknownType(b'\n')),
            (b"*1\r\nx", FrameError::UnknownType(b'x')),
            (b"+a\rb\r\n", FrameError::BadSimpleString),
            (b"-a\nb\r\n", FrameError::BadSimpleString),
            (b":\r\n", FrameError::BadInteger),
            (b":+1\r\n", FrameError::BadInteger),
            (b":01\r\n", FrameError::BadInteger),
            (b":1 \r\n", FrameError::BadInteger),
            (b":9223372036854775808\r\n", FrameError::BadInteger),
            (b",\r\n", FrameError::BadDouble),
            (b",infinity\r\n", FrameError::BadDouble),
            (b",1e400\r\n", FrameError::BadDouble),
            (b",0x10\r\n", FrameError::BadDouble),
            (b",1.2.3\r\n", FrameError::BadDouble),
            (b", 1\r\n", FrameError::BadDouble),
            (b"_x\r\n", FrameError::BadNull),
            (b"#\r\n", FrameError::BadBoolean),
            (b"#true\r\n", FrameError::BadBoolean),
            (b"(\r\n", FrameError::BadBigNumber),
            (b"(-\r\n", FrameError::BadBigNumber),
            (b"(1.5\r\n", FrameError::BadBigNumber),
            (b"$x\r\n", FrameError::BadBulkLength),
            (b"$\r\n", FrameError::BadBulkLength),
            (b"$-2\r\n", FrameError::BulkLengthOutOfRange(-2)),
            (b"!-1\r\n", FrameError::BulkLengthOutOfRange(-1)),
            (b"$3\r\nabcd\r\n", FrameError::BulkNotTerminated),
            (b"$3\r\nabc\n\r", FrameError::BulkNotTerminated),
            (b"=3\r\n", FrameError::BadVerbatim),
            (b"=5\r\ntxt-x\r\n", FrameError::BadVerbatim),
            (b"*x\r\n", FrameError::BadAggregateLength),
            (b"*-2\r\n", FrameError::AggregateLengthOutOfRange(-2)),
            (b"%-1\r\n", FrameError::AggregateLengthOutOfRange(-1)),
            (
                b"*9223372036854775807\r\n",
                FrameError::AggregateLengthOutOfRange(i64::MAX),
            ),
        ];
        for (wire, want) in cases {
            assert_eq!(
                decode(wire),
                Err(want),
                "{:?}",
                String::from_utf8_lossy(wire)
            );
            assert_eq!(frame_len(wire, &FrameLimits::default()), Err(want));
        }
    }

    #[test]
    fn errors_read_as_hiredis_writes_them() {
        assert_eq!(
            err(b"x").to_string(),
            "Protocol error, got \"x\" as reply type byte"
        );
        assert_eq!(
            err(b"\n").to_string(),
            "Protocol error, got \"\\n\" as reply type byte"
        );
        assert_eq!(
            err(b"\x00").to_string(),
            "Protocol error, got \"\\x00\" as reply type byte"
        );
        assert_eq!(err(b":x\r\n").to_string(), "Bad integer value");
        assert_eq!(
            err(b"*-5\r\n").to_string(),
            "Multi-bulk length out of range"
        );
        assert_eq!(
            err(b"$-5\r\n").to_string(),
            "Bulk string length out of range"
        );
    }

    #[test]
    fn limits_are_checked_before_the_data_arrives() {
        let tight = FrameLimits {
            max_bulk: 10,
            max_elements: 4,
            max_depth: 2,
            max_line: 8,
        };
        let d = |wire: &[u8]| decode_frame(wire, &tight);
        assert_eq!(d(b"$11\r\n"), Err(FrameError::BulkLengthOutOfRange(11)));
        assert_eq!(d(b"$10\r\n0123456789"), Ok(None));
        assert_eq!(d(b"!11\r\n"), Err(FrameError::BulkLengthOutOfRange(11)));
        assert_eq!(d(b"=11\r\n"), Err(FrameError::BulkLengthOutOfRange(11)));
        assert_eq!(d(b"*5\r\n"), Err(FrameError::AggregateLengthOutOfRange(5)));
        assert_eq!(d(b"*4\r\n"), Ok(None));
        // A pair is two elements.
        assert_eq!(d(b"%3\r\n"), Err(FrameError::AggregateLengthOutOfRange(3)));
        assert_eq!(d(b"|3\r\n"), Err(FrameError::AggregateLengthOutOfRange(3)));
        assert_eq!(d(b"%2\r\n"), Ok(None));
        assert_eq!(d(b"*1\r\n*1\r\n"), Ok(None));
        assert_eq!(d(b"*1\r\n*1\r\n*1\r\n"), Err(FrameError::TooDeep));
        // A null array is no aggregate: fine at any depth.
        assert!(matches!(d(b"*1\r\n*1\r\n*-1\r\n"), Ok(Some(_))));
        assert_eq!(d(b"*1\r\n*1\r\n*0\r\n"), Err(FrameError::TooDeep));
        assert!(matches!(d(b"*1\r\n*1\r\n:1\r\n"), Ok(Some(_))));
        // Eight bytes of line fit; nine do not, with or without their CRLF yet.
        assert!(matches!(d(b"+12345678\r\n"), Ok(Some(_))));
        assert_eq!(d(b"+12345678"), Ok(None));
        assert_eq!(d(b"+12345678\r"), Ok(None));
        assert_eq!(d(b"+123456789"), Ok(None));
        assert_eq!(d(b"+123456789\r"), Err(FrameError::LineTooLong));
        assert_eq!(d(b"+123456789\r\n"), Err(FrameError::LineTooLong));
        assert_eq!(d(b":1234567890"), Err(FrameError::LineTooLong));
        // An attribute inside counts for depth too.
        assert_eq!(d(b"*1\r\n|1\r\n*1\r\n"), Err(FrameError::TooDeep));
        let none = FrameLimits {
            max_depth: 0,
            ..tight
        };
        assert_eq!(decode_frame(b"*0\r\n", &none), Err(FrameError::TooDeep));
        assert!(matches!(decode_frame(b"*-1\r\n", &none), Ok(Some(_))));
    }

    #[test]
    fn default_limits_take_deep_and_wide_frames() {
        let limits = FrameLimits::default();
        let mut wire = b"*1\r\n".repeat(limits.max_depth);
        wire.extend_from_slice(b":1\r\n");
        let (f, n) = decode(&wire).unwrap().unwrap();
        assert_eq!(n, wire.len());
        // Dropping, comparing and encoding recurse: fine at the deepest allowed.
        assert_eq!(encoded(&f), wire);
        assert_eq!(f.clone(), f);
        drop(f);
        let mut deeper = b"*1\r\n".repeat(limits.max_depth + 1);
        deeper.extend_from_slice(b":1\r\n");
        assert_eq!(decode(&deeper), Err(FrameError::TooDeep));
    }

    #[test]
    fn huge_declared_lengths_allocate_nothing_up_front() {
        let open = FrameLimits {
            max_bulk: usize::MAX,
            max_elements: usize::MAX,
            max_depth: 8,
            max_line: 64,
        };
        for wire in [
            &b"*4611686018427387903\r\n"[..],
            b"%4611686018427387903\r\n:1\r\n",
            b"$9223372036854775807\r\nabc",
            b"*3\r\n*4000000000\r\n",
        ] {
            assert_eq!(decode_frame(wire, &open), Ok(None));
        }
        // A complete frame's aggregates reserve at most what its bytes can hold.
        let (f, _) = decode(b"*2\r\n:1\r\n:2\r\n").unwrap().unwrap();
        assert!(matches!(f, Frame::Array(v) if v.capacity() == 2));
    }

    #[test]
    fn zero_copy_decoding_shares_the_buffer() {
        let buf = Bytes::from_static(b"*2\r\n$3\r\nabc\r\n+OK\r\n:7\r\n");
        let (f, n) = decode_frame_bytes(&buf, &FrameLimits::default())
            .unwrap()
            .unwrap();
        assert_eq!(n, 18);
        let Frame::Array(items) = &f else {
            panic!("{f:?}")
        };
        let abc = items[0].as_bytes().unwrap();
        assert_eq!(abc.as_ptr(), buf[8..].as_ptr());
        assert_eq!(
            decode_frame_bytes(&buf.slice(..17), &FrameLimits::default()),
            Ok(None)
        );
    }

    #[test]
    fn keepalives_are_counted_not_decoded() {
        let wire = b"\n\n\n$3\r\nabc\r\n";
        let skip = skip_keepalives(wire);
        assert_eq!(skip, 3);
        assert_eq!(
            decode(&wire[skip..]).unwrap().unwrap().0,
            Frame::Bulk(b(b"abc"))
        );
        assert_eq!(skip_keepalives(b"+OK\r\n"), 0);
        assert_eq!(skip_keepalives(b""), 0);
        assert_eq!(skip_keepalives(b"\n\r\n"), 1);
    }

    #[test]
    fn commands_encode_as_the_aof_writes_them() {
        let mut out = Vec::new();
        encode_command(&mut out, &["SET", "k", ""]);
        encode_command(&mut out, &[b"PING".to_vec()]);
        encode_command::<&[u8]>(&mut out, &[]);
        assert_eq!(
            out,
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n*1\r\n$4\r\nPING\r\n*0\r\n"
        );
        let args = [b(b"REPLCONF"), b(b"listening-port"), b(b"6380")];
        let mut out = Vec::new();
        encode_command(&mut out, &args);
        let want = Frame::Array(args.iter().cloned().map(Frame::Bulk).collect());
        check_whole(&out, &want);
    }

    #[test]
    fn frame_accessors() {
        let bulk = Frame::Bulk(b(b"caf\xc3\xa9\xff"));
        assert_eq!(bulk.as_bytes(), Some(&b"caf\xc3\xa9\xff"[..]));
        assert_eq!(bulk.text(), "café\u{fffd}");
        assert!(!bulk.is_error() && !bulk.is_null());
        let e = Frame::Error(b(b"NOAUTH Authentication required."));
        assert!(e.is_error());
        assert_eq!(e.text(), "NOAUTH Authentication required.");
        assert!(Frame::BlobError(b(b"x")).is_error());
        let v = Frame::Verbatim {
            format: *b"txt",
            text: b(b"hi"),
        };
        assert_eq!(v.as_bytes(), Some(&b"hi"[..]));
        assert_eq!(Frame::Integer(-3).text(), "-3");
        assert_eq!(Frame::Integer(-3).as_bytes(), None);
        assert_eq!(Frame::Double(2.5).text(), "2.5");
        assert_eq!(Frame::Boolean(true).text(), "true");
        assert_eq!(Frame::Array(vec![]).text(), "");
        for n in [Frame::Null, Frame::NullBulk, Frame::NullArray] {
            assert!(n.is_null());
            assert_eq!(n.text(), "");
        }
    }

    #[test]
    fn lines_lose_cr_and_lf_when_encoded() {
        assert_eq!(encoded(&Frame::Simple(b(b"a\r\nb"))), b"+a  b\r\n");
        assert_eq!(encoded(&Frame::Error(b(b"ERR\n"))), b"-ERR \r\n");
    }

    fn line_bytes() -> impl Strategy<Value = Bytes> {
        proptest::collection::vec(
            any::<u8>().prop_filter("a line", |&c| c != b'\r' && c != b'\n'),
            0..16,
        )
        .prop_map(Bytes::from)
    }

    fn blob_bytes() -> impl Strategy<Value = Bytes> {
        proptest::collection::vec(any::<u8>(), 0..32).prop_map(Bytes::from)
    }

    fn scalar() -> impl Strategy<Value = Frame> {
        prop_oneof![
            line_bytes().prop_map(Frame::Simple),
            line_bytes().prop_map(Frame::Error),
            any::<i64>().prop_map(Frame::Integer),
            blob_bytes().prop_map(Frame::Bulk),
            Just(Frame::NullBulk),
            Just(Frame::NullArray),
            Just(Frame::Null),
            // NaN is not equal to itself; `nan_and_loose_doubles...` covers it.
            any::<f64>()
                .prop_filter("not NaN", |d| !d.is_nan())
                .prop_map(Frame::Double),
            any::<bool>().prop_map(Frame::Boolean),
            "-?[0-9]{1,40}".prop_map(|s| Frame::BigNumber(Bytes::from(s))),
            (any::<[u8; 3]>(), blob_bytes())
                .prop_map(|(format, text)| Frame::Verbatim { format, text }),
            blob_bytes().prop_map(Frame::BlobError),
        ]
    }

    /// Any frame decoding can give: attributes only at the top level.
    fn frame() -> impl Strategy<Value = Frame> {
        let nested = scalar().prop_recursive(4, 48, 6, |inner| {
            let list = proptest::collection::vec(inner.clone(), 0..6);
            let pairs = proptest::collection::vec((inner.clone(), inner), 0..4);
            prop_oneof![
                list.clone().prop_map(Frame::Array),
                list.clone().prop_map(Frame::Set),
                list.prop_map(Frame::Push),
                pairs.prop_map(Frame::Map),
            ]
        });
        prop_oneof![
            4 => nested.clone(),
            1 => proptest::collection::vec((nested.clone(), nested), 0..3).prop_map(Frame::Attribute),
        ]
    }

    /// Decodes everything in `data`, checking the decoder's promises on the way.
    fn decode_all(data: &[u8], limits: &FrameLimits) {
        let mut rest = data;
        loop {
            let len = frame_len(rest, limits);
            match decode_frame(rest, limits) {
                Ok(Some((f, n))) => {
                    assert_eq!(len, Ok(Some(n)));
                    assert!(n > 0 && n <= rest.len());
                    // What decodes encodes to bytes that decode to it again.
                    let wire = encoded(&f);
                    let (again, m) = decode(&wire).unwrap().unwrap();
                    assert_eq!(m, wire.len());
                    assert_eq!(encoded(&again), wire);
                    rest = &rest[n..];
                }
                Ok(None) => {
                    assert_eq!(len, Ok(None));
                    return;
                }
                Err(e) => {
                    assert_eq!(len, Err(e));
                    return;
                }
            }
        }
    }

    proptest! {
        #[test]
        fn frames_round_trip(f in frame()) {
            let wire = encoded(&f);
            for cut in 0..wire.len() {
                prop_assert_eq!(decode(&wire[..cut]), Ok(None));
            }
            prop_assert_eq!(decode(&wire), Ok(Some((f.clone(), wire.len()))));
            let shared = Bytes::from(wire.clone());
            prop_assert_eq!(
                decode_frame_bytes(&shared, &FrameLimits::default()),
                Ok(Some((f, wire.len())))
            );
        }

        #[test]
        fn commands_decode_as_arrays_of_bulks(args in proptest::collection::vec(blob_bytes(), 0..8)) {
            let mut wire = Vec::new();
            encode_command(&mut wire, &args);
            let want = Frame::Array(args.into_iter().map(Frame::Bulk).collect());
            prop_assert_eq!(decode(&wire), Ok(Some((want, wire.len()))));
        }

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            decode_all(&data, &FrameLimits::default());
        }

        #[test]
        fn typed_noise_never_panics(
            ty in proptest::sample::select(b"+-:$*_,#(=%~|>!".to_vec()),
            body in proptest::collection::vec(
                proptest::sample::select(b"0123456789-+.:\r\nabcdefitnx$*%~|>_#(=!,".to_vec()),
                0..64,
            ),
        ) {
            let mut data = vec![ty];
            data.extend_from_slice(&body);
            decode_all(&data, &FrameLimits::default());
            let tight = FrameLimits { max_bulk: 4, max_elements: 3, max_depth: 2, max_line: 6 };
            decode_all(&data, &tight);
        }

        #[test]
        fn damaged_frames_never_panic(f in frame(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let mut wire = encoded(&f);
            let i = at.index(wire.len());
            wire[i] = byte;
            decode_all(&wire, &FrameLimits::default());
        }
    }
}
