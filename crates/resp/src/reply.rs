//! Encoding replies in RESP2 or RESP3.
//!
//! `Reply` appends frames to a connection's output buffer. Each method picks the
//! encoding of the connection's protocol version: maps become flat arrays in
//! RESP2, doubles become bulk strings, nulls become `$-1` or `*-1`, and so on,
//! exactly as Redis 7.0 downgrades them.

/// An output buffer plus the protocol version its frames must use.
#[derive(Debug, Default)]
pub struct Reply {
    pub buf: Vec<u8>,
    pub resp3: bool,
}

impl Reply {
    pub fn new(resp3: bool) -> Self {
        Reply {
            buf: Vec::with_capacity(256),
            resp3,
        }
    }

    fn line(&mut self, prefix: u8, n: i64) {
        self.buf.push(prefix);
        let mut b = itoa::Buffer::new();
        self.buf.extend_from_slice(b.format(n).as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// `+OK`-style status line. The text must not contain CR or LF.
    pub fn simple(&mut self, s: &str) {
        self.buf.push(b'+');
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// An error line; `msg` carries its own prefix (`ERR ...`, `WRONGTYPE ...`).
    /// Newlines in the text are replaced by spaces, as Redis does.
    pub fn error(&mut self, msg: &str) {
        self.buf.push(b'-');
        for &c in msg.as_bytes() {
            self.buf
                .push(if c == b'\r' || c == b'\n' { b' ' } else { c });
        }
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn int(&mut self, n: i64) {
        self.line(b':', n);
    }

    pub fn bulk(&mut self, data: &[u8]) {
        self.line(b'$', data.len() as i64);
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn bulk_int(&mut self, n: i64) {
        let mut b = itoa::Buffer::new();
        self.bulk(b.format(n).as_bytes());
    }

    /// The null a missing value gets: `$-1` in RESP2, `_` in RESP3.
    pub fn null(&mut self) {
        if self.resp3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"$-1\r\n");
        }
    }

    /// The null a missing array gets: `*-1` in RESP2, `_` in RESP3.
    pub fn null_array(&mut self) {
        if self.resp3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"*-1\r\n");
        }
    }

    pub fn array(&mut self, len: usize) {
        self.line(b'*', len as i64);
    }

    /// A map header of `pairs` key/value pairs (a flat array in RESP2).
    pub fn map(&mut self, pairs: usize) {
        if self.resp3 {
            self.line(b'%', pairs as i64);
        } else {
            self.line(b'*', 2 * pairs as i64);
        }
    }

    /// A set header (an array in RESP2).
    pub fn set(&mut self, len: usize) {
        self.line(if self.resp3 { b'~' } else { b'*' }, len as i64);
    }

    /// A push header (an array in RESP2): pub/sub messages, invalidations.
    pub fn push(&mut self, len: usize) {
        self.line(if self.resp3 { b'>' } else { b'*' }, len as i64);
    }

    /// A double: `,` in RESP3, a bulk string formatted like `%.17g` in RESP2.
    pub fn double(&mut self, d: f64) {
        let text = format_double(d);
        if self.resp3 {
            self.buf.push(b',');
            self.buf.extend_from_slice(text.as_bytes());
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text.as_bytes());
        }
    }

    /// A boolean: `#t`/`#f` in RESP3, `:1`/`:0` in RESP2.
    pub fn boolean(&mut self, b: bool) {
        if self.resp3 {
            self.buf
                .extend_from_slice(if b { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(b as i64);
        }
    }

    /// Verbatim text (`=` with a 3-letter format in RESP3, a bulk string in RESP2).
    pub fn verbatim(&mut self, text: &[u8]) {
        if self.resp3 {
            self.line(b'=', text.len() as i64 + 4);
            self.buf.extend_from_slice(b"txt:");
            self.buf.extend_from_slice(text);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    /// Bytes that are already a complete RESP frame.
    pub fn raw(&mut self, frame: &[u8]) {
        self.buf.extend_from_slice(frame);
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// Formats a double as C's `%.17g` does (Redis 7.0's reply format), with
/// `inf`/`-inf` for infinities and `nan` for NaN.
pub fn format_double(d: f64) -> String {
    format_g(d, 17)
}

/// C's `%.<precision>g`.
pub fn format_g(d: f64, precision: usize) -> String {
    if d.is_nan() {
        return "nan".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if d == 0.0 {
        return if d.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let p = precision.max(1);
    // Scientific form rounded to p significant digits tells the exponent.
    let sci = format!("{:.*e}", p - 1, d);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= p as i32 {
        let m = trim_fraction_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{m}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        trim_fraction_zeros(&format!("{:.*}", decimals, d)).to_string()
    }
}

fn trim_fraction_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_format_like_printf_17g() {
        assert_eq!(format_double(1.1), "1.1000000000000001");
        assert_eq!(format_double(1.5), "1.5");
        assert_eq!(format_double(10.0), "10");
        assert_eq!(format_double(1e20), "1e+20");
        assert_eq!(format_double(1.5e-5), "1.5e-05");
        assert_eq!(format_double(0.1), "0.10000000000000001");
        assert_eq!(format_double(0.0001), "0.0001");
        assert_eq!(format_double(-3.0), "-3");
        assert_eq!(format_double(f64::INFINITY), "inf");
        assert_eq!(
            format_double(123456789012345678.0),
            "1.2345678901234568e+17"
        );
    }

    #[test]
    fn resp2_downgrades_resp3_types() {
        let mut r = Reply::new(false);
        r.map(1);
        r.null();
        r.boolean(true);
        r.double(2.5);
        assert_eq!(r.buf, b"*2\r\n$-1\r\n:1\r\n$3\r\n2.5\r\n");
        let mut r = Reply::new(true);
        r.map(1);
        r.null();
        r.boolean(true);
        r.double(2.5);
        assert_eq!(r.buf, b"%1\r\n_\r\n#t\r\n,2.5\r\n");
    }

    #[test]
    fn error_text_loses_newlines() {
        let mut r = Reply::new(false);
        r.error("ERR a\nb");
        assert_eq!(r.buf, b"-ERR a b\r\n");
    }
}
