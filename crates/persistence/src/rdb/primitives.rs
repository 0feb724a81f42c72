//! The RDB building blocks: lengths, strings, doubles, and the input they
//! are read from.
//!
//! Lengths: the top two bits of the first byte say `00` 6-bit length, `01`
//! 14-bit (big-endian over two bytes), `10` a wider one (`0x80`: `u32`
//! big-endian follows, `0x81`: `u64` big-endian follows), `11` a special
//! string encoding in the low 6 bits (0, 1, 2: an integer in 1, 2 or 4 bytes
//! little-endian; 3: LZF, then compressed and original lengths and the
//! compressed bytes).
//!
//! Doubles: binary ones are 8 bytes little-endian (`ZSET_2`); the old
//! string form is one length byte (253 NaN, 254 +inf, 255 -inf) and that
//! many ASCII bytes.
//!
//! [`Input`] wraps any `Read` with a buffer, counts the offset (so every
//! error can name it) and keeps the running CRC-64 of the bytes consumed.

use std::io::{self, Read};

use crate::rdb::error::{ErrorKind, RdbError};
use crate::{canonical_i64, crc64, lzf};

const ENC_INT8: u8 = 0;
const ENC_INT16: u8 = 1;
const ENC_INT32: u8 = 2;
const ENC_LZF: u8 = 3;

const BUF_SIZE: usize = 64 * 1024;
/// Strings longer than this are allocated as they arrive, so a corrupt
/// length cannot make the reader allocate more than the data it has seen.
const EAGER_ALLOC: usize = 1 << 20;

/// A length prefix: a count, or the special encoding of a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Len {
    /// A plain length.
    Len(u64),
    /// A string stored in the special encoding (0-3) given.
    Encoded(u8),
}

/// Where a string came from in the input, for error offsets in the blobs
/// (listpacks, ziplists, ...) stored inside it.
#[derive(Debug, Clone, Copy)]
pub struct StringOrigin {
    /// Offset of the string's length prefix.
    pub start: u64,
    /// Offset of the string's first data byte, when stored raw (not for
    /// integer or LZF strings, whose bytes are not in the input as such).
    pub raw_data: Option<u64>,
}

impl StringOrigin {
    /// The input offset of byte `pos` of the string, or of the string itself
    /// when its bytes were transformed.
    pub fn offset_of(&self, pos: usize) -> u64 {
        match self.raw_data {
            Some(d) => d + pos as u64,
            None => self.start,
        }
    }
}

/// A buffered reader that tracks the input offset and a running CRC-64.
pub struct Input<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
    /// Input offset of `buf[0]`.
    base: u64,
    crc: u64,
    /// `buf[crc_from..pos]` is consumed but not yet in `crc`.
    crc_from: usize,
}

impl<R: Read> Input<R> {
    /// Wraps `inner`; offsets start at 0.
    pub fn new(inner: R) -> Self {
        Input {
            inner,
            buf: vec![0; BUF_SIZE].into_boxed_slice(),
            pos: 0,
            end: 0,
            base: 0,
            crc: 0,
            crc_from: 0,
        }
    }

    /// Offset of the next byte to be read.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// An error of `kind` at the current offset.
    pub fn err(&self, kind: ErrorKind) -> RdbError {
        RdbError::new(self.offset(), kind)
    }

    /// The CRC-64 of every byte consumed so far.
    pub fn crc(&mut self) -> u64 {
        self.flush_crc();
        self.crc
    }

    fn flush_crc(&mut self) {
        if self.pos > self.crc_from {
            self.crc = crc64::update(self.crc, &self.buf[self.crc_from..self.pos]);
        }
        self.crc_from = self.pos;
    }

    fn read_inner(&mut self, into: &mut [u8]) -> Result<usize, RdbError> {
        loop {
            match self.inner.read(into) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.err(ErrorKind::Io(e))),
            }
        }
    }

    /// Refills an empty buffer; false at the end of the input.
    fn fill(&mut self) -> Result<bool, RdbError> {
        debug_assert_eq!(self.pos, self.end);
        self.flush_crc();
        self.base += self.end as u64;
        self.pos = 0;
        self.end = 0;
        self.crc_from = 0;
        let mut buf = std::mem::take(&mut self.buf);
        let r = self.read_inner(&mut buf);
        self.buf = buf;
        self.end = r?;
        Ok(self.end > 0)
    }

    /// Whether the input has no byte left.
    pub fn at_end(&mut self) -> Result<bool, RdbError> {
        Ok(self.pos == self.end && !self.fill()?)
    }

    /// One byte.
    pub fn read_u8(&mut self) -> Result<u8, RdbError> {
        if self.pos == self.end && !self.fill()? {
            return Err(self.err(ErrorKind::UnexpectedEof));
        }
        let b = self.buf[self.pos];
        self.pos += 1;
        Ok(b)
    }

    /// Exactly `out.len()` bytes.
    pub fn read_exact(&mut self, out: &mut [u8]) -> Result<(), RdbError> {
        let mut done = 0;
        while done < out.len() {
            if self.pos == self.end && !self.fill()? {
                return Err(self.err(ErrorKind::UnexpectedEof));
            }
            let n = (self.end - self.pos).min(out.len() - done);
            out[done..done + n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
            self.pos += n;
            done += n;
        }
        Ok(())
    }

    /// A fixed-size array of bytes.
    pub fn read_array<const N: usize>(&mut self) -> Result<[u8; N], RdbError> {
        let mut a = [0u8; N];
        self.read_exact(&mut a)?;
        Ok(a)
    }

    /// `len` bytes into a new vector, allocated as the data arrives.
    pub fn read_bytes(&mut self, len: u64) -> Result<Vec<u8>, RdbError> {
        let Ok(len) = usize::try_from(len) else {
            return Err(self.err(ErrorKind::Corrupt(format!(
                "string length {len} is too large"
            ))));
        };
        let mut out = Vec::with_capacity(len.min(EAGER_ALLOC));
        while out.len() < len {
            if self.pos == self.end {
                let want = len - out.len();
                if want >= BUF_SIZE {
                    // Large remainder: read straight into the vector.
                    self.flush_crc();
                    self.base += self.end as u64;
                    self.pos = 0;
                    self.end = 0;
                    self.crc_from = 0;
                    let chunk = want.min(EAGER_ALLOC.max(out.len()));
                    let old = out.len();
                    out.resize(old + chunk, 0);
                    let mut got = 0;
                    while got < chunk {
                        let n = match self.inner.read(&mut out[old + got..old + chunk]) {
                            Ok(n) => n,
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                            Err(e) => {
                                self.base += got as u64;
                                return Err(self.err(ErrorKind::Io(e)));
                            }
                        };
                        if n == 0 {
                            self.base += got as u64;
                            self.crc = crc64::update(self.crc, &out[old..old + got]);
                            return Err(self.err(ErrorKind::UnexpectedEof));
                        }
                        got += n;
                    }
                    self.crc = crc64::update(self.crc, &out[old..old + chunk]);
                    self.base += chunk as u64;
                    continue;
                }
                if !self.fill()? {
                    return Err(self.err(ErrorKind::UnexpectedEof));
                }
            }
            let n = (self.end - self.pos).min(len - out.len());
            out.extend_from_slice(&self.buf[self.pos..self.pos + n]);
            self.pos += n;
        }
        Ok(out)
    }

    /// A length prefix, plain or special.
    pub fn read_len(&mut self) -> Result<Len, RdbError> {
        let at = self.offset();
        let b = self.read_u8()?;
        match b >> 6 {
            0 => Ok(Len::Len((b & 0x3f) as u64)),
            1 => {
                let b2 = self.read_u8()?;
                Ok(Len::Len(((b & 0x3f) as u64) << 8 | b2 as u64))
            }
            2 => match b {
                0x80 => Ok(Len::Len(u32::from_be_bytes(self.read_array()?) as u64)),
                0x81 => Ok(Len::Len(u64::from_be_bytes(self.read_array()?))),
                _ => Err(RdbError::new(at, ErrorKind::InvalidLength(b))),
            },
            _ => Ok(Len::Encoded(b & 0x3f)),
        }
    }

    /// A plain length (a special string encoding here is an error).
    pub fn read_length(&mut self) -> Result<u64, RdbError> {
        let at = self.offset();
        match self.read_len()? {
            Len::Len(n) => Ok(n),
            Len::Encoded(e) => Err(RdbError::new(at, ErrorKind::InvalidLength(0xC0 | e))),
        }
    }

    /// A string in any encoding, as bytes (integers in decimal).
    pub fn read_string(&mut self) -> Result<Vec<u8>, RdbError> {
        Ok(self.read_string_origin()?.0)
    }

    /// A string, with where it came from.
    pub fn read_string_origin(&mut self) -> Result<(Vec<u8>, StringOrigin), RdbError> {
        let start = self.offset();
        let mut origin = StringOrigin {
            start,
            raw_data: None,
        };
        let s = match self.read_len()? {
            Len::Len(n) => {
                origin.raw_data = Some(self.offset());
                self.read_bytes(n)?
            }
            Len::Encoded(ENC_INT8) => (self.read_u8()? as i8).to_string().into_bytes(),
            Len::Encoded(ENC_INT16) => i16::from_le_bytes(self.read_array()?)
                .to_string()
                .into_bytes(),
            Len::Encoded(ENC_INT32) => i32::from_le_bytes(self.read_array()?)
                .to_string()
                .into_bytes(),
            Len::Encoded(ENC_LZF) => {
                let clen = self.read_length()?;
                let ulen = self.read_length()?;
                let data_at = self.offset();
                if clen == 0 || ulen > clen.saturating_mul(lzf::MAX_EXPANSION as u64) {
                    return Err(RdbError::corrupt(
                        start,
                        format!("invalid LZF string lengths (compressed {clen}, original {ulen})"),
                    ));
                }
                let compressed = self.read_bytes(clen)?;
                lzf::decompress(&compressed, ulen as usize).map_err(|e| {
                    RdbError::corrupt(data_at, format!("invalid LZF compressed string: {e}"))
                })?
            }
            Len::Encoded(e) => {
                return Err(RdbError::new(start, ErrorKind::InvalidStringEncoding(e)))
            }
        };
        Ok((s, origin))
    }

    /// A binary double (8 bytes little-endian).
    pub fn read_binary_double(&mut self) -> Result<f64, RdbError> {
        Ok(f64::from_le_bytes(self.read_array()?))
    }

    /// A double in the old string form.
    pub fn read_string_double(&mut self) -> Result<f64, RdbError> {
        let at = self.offset();
        match self.read_u8()? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => {
                let text = self.read_bytes(n as u64)?;
                parse_double(&text).ok_or_else(|| {
                    RdbError::corrupt(
                        at,
                        format!("invalid double '{}'", String::from_utf8_lossy(&text)),
                    )
                })
            }
        }
    }
}

/// Parses a double the way Redis's `strtod` use accepts the texts it
/// wrote (`%.17g`, `inf`, `-inf`, integers).
pub fn parse_double(text: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(text).ok()?;
    if s.is_empty() || s.starts_with(|c: char| c.is_whitespace()) {
        return None;
    }
    s.parse::<f64>().ok()
}

/// Appends a length prefix.
pub fn put_len(out: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        out.push(n as u8);
    } else if n < 1 << 14 {
        out.push(0x40 | (n >> 8) as u8);
        out.push(n as u8);
    } else if n <= u32::MAX as u64 {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// Appends a string the way Redis saves it: as an 8/16/32-bit integer when
/// it is the canonical form of one, LZF-compressed when `compress` is on,
/// it is longer than 20 bytes and compression saves at least 4 bytes
/// (Redis's rule), raw otherwise.
pub fn put_string(out: &mut Vec<u8>, s: &[u8], compress: bool) {
    if s.len() <= 11 {
        if let Some(v) = canonical_i64(s) {
            if let Ok(v) = i8::try_from(v) {
                out.extend_from_slice(&[0xC0 | ENC_INT8, v as u8]);
                return;
            } else if let Ok(v) = i16::try_from(v) {
                out.push(0xC0 | ENC_INT16);
                out.extend_from_slice(&v.to_le_bytes());
                return;
            } else if let Ok(v) = i32::try_from(v) {
                out.push(0xC0 | ENC_INT32);
                out.extend_from_slice(&v.to_le_bytes());
                return;
            }
        }
    }
    if compress && s.len() > 20 {
        if let Some(c) = lzf::compress_bounded(s, s.len() - 4) {
            out.push(0xC0 | ENC_LZF);
            put_len(out, c.len() as u64);
            put_len(out, s.len() as u64);
            out.extend_from_slice(&c);
            return;
        }
    }
    put_raw_string(out, s);
}

/// Appends a string with no special encoding.
pub fn put_raw_string(out: &mut Vec<u8>, s: &[u8]) {
    put_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// Appends a binary double.
pub fn put_binary_double(out: &mut Vec<u8>, v: f64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Appends a double in the old string form.
pub fn put_string_double(out: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        out.push(253);
    } else if v == f64::INFINITY {
        out.push(254);
    } else if v == f64::NEG_INFINITY {
        out.push(255);
    } else {
        let s = if v == 0.0 && v.is_sign_negative() {
            "-0".to_string()
        } else {
            format_double(v)
        };
        out.push(s.len() as u8);
        out.extend_from_slice(s.as_bytes());
    }
}

/// A score as Redis 7.0 writes it into a listpack (`d2string`): integers
/// without a fraction, `inf`/`-inf`, otherwise `%.17g`; -0 gives "0", as
/// Redis's listpack stores it.
pub fn format_double(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if v == 0.0 {
        // Redis stores a zero score in a listpack as the integer 0, dropping
        // the sign of -0; so do we.
        return "0".into();
    }
    if v.fract() == 0.0 && v.abs() < (1u64 << 52) as f64 {
        return (v as i64).to_string();
    }
    // Redis 7.0's d2string: `%.17g` (0.1 is written 0.10000000000000001).
    redust_resp::reply::format_double(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn input(b: &[u8]) -> Input<&[u8]> {
        Input::new(b)
    }

    #[test]
    fn length_encodings() {
        for (n, bytes) in [
            (0u64, vec![0x00]),
            (63, vec![0x3f]),
            (64, vec![0x40, 0x40]),
            (16383, vec![0x7f, 0xff]),
            (16384, vec![0x80, 0, 0, 0x40, 0]),
            (u32::MAX as u64, vec![0x80, 0xff, 0xff, 0xff, 0xff]),
            (1 << 32, vec![0x81, 0, 0, 0, 1, 0, 0, 0, 0]),
        ] {
            let mut out = Vec::new();
            put_len(&mut out, n);
            assert_eq!(out, bytes, "{n}");
            assert_eq!(input(&bytes).read_length().unwrap(), n);
        }
        let e = input(&[0x82]).read_length().unwrap_err();
        assert_eq!(e.to_string(), "invalid length encoding 0x82 at offset 0");
        let e = input(&[0x80, 1]).read_length().unwrap_err();
        assert_eq!(e.to_string(), "unexpected end of file at offset 2");
    }

    #[test]
    fn string_encodings() {
        let cases: [(&[u8], &[u8]); 7] = [
            (b"12", &[0xC0, 12]),
            (b"-128", &[0xC0, 0x80]),
            (b"300", &[0xC1, 0x2C, 0x01]),
            (b"-2147483648", &[0xC2, 0, 0, 0, 0x80]),
            (b"2147483648", b"\x0a2147483648"),
            (b"012", b"\x03012"),
            (b"", &[0]),
        ];
        for (s, bytes) in cases {
            let mut out = Vec::new();
            put_string(&mut out, s, true);
            assert_eq!(out, bytes);
            assert_eq!(input(bytes).read_string().unwrap(), s);
        }
        let long = vec![b'a'; 100];
        let mut out = Vec::new();
        put_string(&mut out, &long, true);
        assert_eq!(out[0], 0xC3);
        assert!(out.len() < 20);
        assert_eq!(input(&out).read_string().unwrap(), long);
        out.clear();
        put_string(&mut out, &long, false);
        assert_eq!(out.len(), 102);
        let e = input(&[0xC4]).read_string().unwrap_err();
        assert_eq!(e.to_string(), "invalid string encoding 4 at offset 0");
        let e = input(&[0xC3, 2, 5, 0, b'a']).read_string().unwrap_err();
        assert!(
            e.to_string().starts_with("invalid LZF compressed string"),
            "{e}"
        );
        assert_eq!(e.offset(), 3);
    }

    #[test]
    fn doubles() {
        for v in [
            0.0,
            -0.0,
            1.5,
            -3.0,
            0.1,
            1e300,
            -2.5e-300,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            1e15 + 0.5,
        ] {
            let mut out = Vec::new();
            put_string_double(&mut out, v);
            let back = input(&out).read_string_double().unwrap();
            assert_eq!(back.to_bits(), v.to_bits(), "{v}");
            out.clear();
            put_binary_double(&mut out, v);
            assert_eq!(
                input(&out).read_binary_double().unwrap().to_bits(),
                v.to_bits()
            );
        }
        assert!(input(&[253]).read_string_double().unwrap().is_nan());
        assert_eq!(format_double(3.0), "3");
        // Redis 7.0's `%.17g`.
        assert_eq!(format_double(0.1), "0.10000000000000001");
        assert_eq!(format_double(1e300), "1.0000000000000001e+300");
        assert_eq!(
            input(b"\x0c1.2345678901").read_string_double().unwrap(),
            1.2345678901
        );
        assert!(input(b"\x03abc").read_string_double().is_err());
    }

    #[test]
    fn crc_and_offsets_across_buffer_refills() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7) as u8).collect();
        let mut inp = Input::new(&data[..]);
        assert_eq!(inp.read_u8().unwrap(), 0);
        let a = inp.read_bytes(100_000).unwrap();
        let b = inp.read_bytes(150_000).unwrap();
        assert_eq!(inp.offset(), 250_001);
        assert_eq!(&a[..], &data[1..100_001]);
        assert_eq!(&b[..], &data[100_001..250_001]);
        assert_eq!(inp.crc(), crate::crc64::checksum(&data[..250_001]));
        let e = inp.read_bytes(60_000).unwrap_err();
        assert_eq!(e.offset(), 300_000);
        assert!(matches!(e.kind(), ErrorKind::UnexpectedEof));
        let e = Input::new(&data[..10])
            .read_bytes(u64::MAX / 2)
            .unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::UnexpectedEof));
    }

    proptest! {
        #[test]
        fn length_round_trip(n in any::<u64>()) {
            let mut out = Vec::new();
            put_len(&mut out, n);
            let mut inp = input(&out);
            prop_assert_eq!(inp.read_length().unwrap(), n);
            prop_assert_eq!(inp.offset(), out.len() as u64);
        }

        #[test]
        fn string_round_trip(s in prop_oneof![
            any::<i64>().prop_map(|v| v.to_string().into_bytes()),
            proptest::collection::vec(prop_oneof![Just(b'x'), any::<u8>()], 0..500),
        ], compress in any::<bool>()) {
            let mut out = Vec::new();
            put_string(&mut out, &s, compress);
            let mut inp = input(&out);
            prop_assert_eq!(inp.read_string().unwrap(), s);
            prop_assert!(inp.at_end().unwrap());
        }

        #[test]
        fn double_round_trip(bits in any::<u64>()) {
            let v = f64::from_bits(bits);
            let mut out = Vec::new();
            put_string_double(&mut out, v);
            let back = input(&out).read_string_double().unwrap();
            prop_assert!(back.to_bits() == v.to_bits() || (v.is_nan() && back.is_nan()));
        }

        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut inp = input(&data);
            while inp.read_string().is_ok() {}
        }
    }
}
