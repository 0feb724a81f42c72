//! Parsing client requests: RESP multibulk arrays and inline commands.
//!
//! `parse_request` looks at the front of a connection's read buffer and either
//! takes one whole request out of it (`Ok(Some(..))`), leaves it alone because
//! more bytes are needed (`Ok(None)`), or reports that the stream is corrupt
//! (`Err`), in which case the caller replies with the error and closes the
//! connection, as Redis does. Lengths are checked before anything is allocated.

use bytes::{Bytes, BytesMut};

/// Longest inline request, or `*`/`$` header line, Redis accepts (64 KiB).
pub const INLINE_MAX_BYTES: usize = 64 * 1024;
/// Most arguments in one multibulk request.
pub const MULTIBULK_MAX_ARGS: i64 = 1024 * 1024;
/// Limits for clients that still have to authenticate (CVE-2021-32675).
const UNAUTH_MAX_ARGS: i64 = 10;
const UNAUTH_MAX_BULK_BYTES: i64 = 16 * 1024;

/// The limits a request is checked against.
#[derive(Clone, Copy, Debug)]
pub struct ParseLimits {
    /// `proto-max-bulk-len`.
    pub max_bulk_bytes: i64,
    /// False while the connection must still AUTH: tighter limits apply.
    pub authenticated: bool,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits {
            max_bulk_bytes: 512 * 1024 * 1024,
            authenticated: true,
        }
    }
}

/// One parsed request. An empty `args` is an empty line or a `*0`/`*-1` array,
/// which Redis silently skips.
#[derive(Debug, PartialEq, Eq)]
pub struct Request {
    pub args: Vec<Bytes>,
    /// True for an inline (telnet-style) command.
    pub inline: bool,
}

/// The stream is corrupt; the text is what Redis replies, after `-ERR `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn protocol_error(what: &str) -> ProtocolError {
    ProtocolError(format!("Protocol error: {what}"))
}

/// Takes one request from the front of `buf`, if a whole one is there.
pub fn parse_request(
    buf: &mut BytesMut,
    limits: ParseLimits,
) -> Result<Option<Request>, ProtocolError> {
    if buf.is_empty() {
        return Ok(None);
    }
    if buf[0] == b'*' {
        parse_multibulk(buf, limits)
    } else {
        parse_inline(buf)
    }
}

/// Strict decimal, as Redis's `string2ll`: optional '-', digits, no '+', no spaces,
/// no leading zeros (except "0" itself).
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let (neg, digits) = if s[0] == b'-' {
        (true, &s[1..])
    } else {
        (false, s)
    };
    if digits.is_empty() || (digits[0] == b'0' && (digits.len() > 1 || neg)) {
        return if s == b"0" { Some(0) } else { None };
    }
    let mut v: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        let d = (c - b'0') as i64;
        v = if neg {
            v.checked_mul(10)?.checked_sub(d)?
        } else {
            v.checked_mul(10)?.checked_add(d)?
        };
    }
    Some(v)
}

fn find_crlf_line(buf: &[u8], from: usize) -> Option<usize> {
    // Redis searches for '\r' and then requires the '\n' to be buffered too.
    let pos = buf[from..].iter().position(|&c| c == b'\r')? + from;
    if pos + 1 < buf.len() {
        Some(pos)
    } else {
        None
    }
}

fn parse_multibulk(
    buf: &mut BytesMut,
    limits: ParseLimits,
) -> Result<Option<Request>, ProtocolError> {
    let Some(line_end) = find_crlf_line(buf, 0) else {
        if buf.len() > INLINE_MAX_BYTES {
            return Err(protocol_error("too big mbulk count string"));
        }
        return Ok(None);
    };
    let count = match parse_i64(&buf[1..line_end]) {
        Some(n) if n <= MULTIBULK_MAX_ARGS => n,
        _ => return Err(protocol_error("invalid multibulk length")),
    };
    if !limits.authenticated && count > UNAUTH_MAX_ARGS {
        return Err(protocol_error("unauthenticated multibulk length"));
    }
    let mut pos = line_end + 2;
    if count <= 0 {
        let _ = buf.split_to(pos);
        return Ok(Some(Request {
            args: Vec::new(),
            inline: false,
        }));
    }
    // First pass: find every argument's range without allocating its data.
    // Most requests have a few arguments: their ranges stay on the stack.
    let mut first_ranges = [(0usize, 0usize); 8];
    let mut more_ranges: Vec<(usize, usize)> = Vec::new();
    for i in 0..count as usize {
        if pos >= buf.len() {
            return Ok(None);
        }
        let Some(line_end) = find_crlf_line(buf, pos) else {
            if buf.len() - pos > INLINE_MAX_BYTES {
                return Err(protocol_error("too big bulk count string"));
            }
            return Ok(None);
        };
        if buf[pos] != b'$' {
            return Err(ProtocolError(format!(
                "Protocol error: expected '$', got '{}'",
                buf[pos] as char
            )));
        }
        let len = match parse_i64(&buf[pos + 1..line_end]) {
            Some(n) if n >= 0 && n <= limits.max_bulk_bytes => n,
            _ => return Err(protocol_error("invalid bulk length")),
        };
        if !limits.authenticated && len > UNAUTH_MAX_BULK_BYTES {
            return Err(protocol_error("unauthenticated bulk length"));
        }
        let start = line_end + 2;
        let end = start + len as usize;
        if end + 2 > buf.len() {
            // Make room for the whole argument in one go, as Redis does for big bulks.
            buf.reserve(end + 2 - buf.len());
            return Ok(None);
        }
        match first_ranges.get_mut(i) {
            Some(r) => *r = (start, end),
            None => more_ranges.push((start, end)),
        }
        pos = end + 2;
    }
    let frame = buf.split_to(pos).freeze();
    let count = count as usize;
    let mut args = Vec::with_capacity(count);
    for &(start, end) in first_ranges[..count.min(8)].iter().chain(&more_ranges) {
        args.push(frame.slice(start..end));
    }
    Ok(Some(Request {
        args,
        inline: false,
    }))
}

fn parse_inline(buf: &mut BytesMut) -> Result<Option<Request>, ProtocolError> {
    let Some(nl) = buf.iter().position(|&c| c == b'\n') else {
        if buf.len() > INLINE_MAX_BYTES {
            return Err(protocol_error("too big inline request"));
        }
        return Ok(None);
    };
    let line = buf.split_to(nl + 1);
    let mut text = &line[..nl];
    if text.last() == Some(&b'\r') {
        text = &text[..text.len() - 1];
    }
    let Some(words) = crate::args::split_args(text) else {
        return Err(protocol_error("unbalanced quotes in request"));
    };
    Ok(Some(Request {
        args: words.into_iter().map(Bytes::from).collect(),
        inline: true,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse_all(input: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, ProtocolError> {
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(req) = parse_request(&mut buf, ParseLimits::default())? {
            out.push(req.args.iter().map(|a| a.to_vec()).collect());
        }
        Ok(out)
    }

    #[test]
    fn multibulk_and_inline_requests_parse() {
        let got = parse_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n").unwrap();
        assert_eq!(
            got,
            vec![vec![b"GET".to_vec(), b"k".to_vec()], vec![b"PING".to_vec()]]
        );
    }

    #[test]
    fn incomplete_request_waits_for_more_bytes() {
        let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$1\r\n"[..]);
        assert_eq!(parse_request(&mut buf, ParseLimits::default()), Ok(None));
        assert_eq!(buf.len(), 17);
    }

    #[test]
    fn negative_multibulk_is_skipped() {
        assert_eq!(parse_all(b"*-5\r\n").unwrap(), vec![Vec::<Vec<u8>>::new()]);
    }

    #[test]
    fn malformed_requests_get_redis_errors() {
        let err = |s: &[u8]| parse_all(s).unwrap_err().0;
        assert_eq!(err(b"*x\r\n"), "Protocol error: invalid multibulk length");
        assert_eq!(
            err(b"*20000000\r\n"),
            "Protocol error: invalid multibulk length"
        );
        assert_eq!(
            err(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n"),
            "Protocol error: expected '$', got 'f'"
        );
        assert_eq!(err(b"*1\r\n$-1\r\n"), "Protocol error: invalid bulk length");
        assert_eq!(
            err(b"set \"a\r\n"),
            "Protocol error: unbalanced quotes in request"
        );
        assert_eq!(
            err(&vec![b'a'; 70000]),
            "Protocol error: too big inline request"
        );
    }

    #[test]
    fn bulk_over_proto_max_bulk_len_is_refused() {
        let mut buf = BytesMut::from(&b"*1\r\n$100\r\n"[..]);
        let limits = ParseLimits {
            max_bulk_bytes: 10,
            authenticated: true,
        };
        assert_eq!(
            parse_request(&mut buf, limits).unwrap_err().0,
            "Protocol error: invalid bulk length"
        );
    }

    #[test]
    fn unauthenticated_clients_have_tight_limits() {
        let mut buf = BytesMut::from(&b"*11\r\n"[..]);
        let limits = ParseLimits {
            authenticated: false,
            ..Default::default()
        };
        assert_eq!(
            parse_request(&mut buf, limits).unwrap_err().0,
            "Protocol error: unauthenticated multibulk length"
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_all(&data);
        }

        #[test]
        fn encoded_requests_round_trip(args in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..8)) {
            let mut wire = format!("*{}\r\n", args.len()).into_bytes();
            for a in &args {
                wire.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
                wire.extend_from_slice(a);
                wire.extend_from_slice(b"\r\n");
            }
            // Feeding the bytes in two pieces must give the same result.
            let cut = wire.len() / 2;
            let mut buf = BytesMut::from(&wire[..cut]);
            let first = parse_request(&mut buf, ParseLimits::default()).unwrap();
            prop_assert!(first.is_none());
            buf.extend_from_slice(&wire[cut..]);
            let req = parse_request(&mut buf, ParseLimits::default()).unwrap().unwrap();
            let got: Vec<Vec<u8>> = req.args.iter().map(|a| a.to_vec()).collect();
            prop_assert_eq!(got, args);
            prop_assert!(buf.is_empty());
        }
    }
}
