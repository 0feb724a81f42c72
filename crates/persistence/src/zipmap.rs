//! Redis's zipmap, the compact hash encoding of Redis before 2.6 (RDB type
//! 9). Redis 7.0 still loads it, so we read it; [`encode`] exists for tests.
//!
//! Layout: one count byte (the number of pairs, or 254 and above when
//! unknown), then per pair: field length, field, value length, one "free"
//! byte, value, and that many unused bytes; finally `0xFF`. A length is one
//! byte below 254, or `0xFE` followed by a `u32` little-endian.

use crate::FormatError;

/// Field/value pairs, in order.
pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

const BIGLEN: u8 = 254;
const END: u8 = 0xFF;

fn read_len(blob: &[u8], pos: &mut usize) -> Result<Option<usize>, FormatError> {
    let at = *pos;
    match blob.get(at) {
        None => Err(FormatError::new(at, "zipmap ends without its terminator")),
        Some(&END) => Ok(None),
        Some(&BIGLEN) => {
            let b = blob
                .get(at + 1..at + 5)
                .ok_or_else(|| FormatError::new(at, "zipmap length runs past the end"))?;
            *pos += 5;
            Ok(Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize))
        }
        Some(&n) => {
            *pos += 1;
            Ok(Some(n as usize))
        }
    }
}

fn take<'a>(blob: &'a [u8], pos: &mut usize, len: usize) -> Result<&'a [u8], FormatError> {
    let at = *pos;
    if len > blob.len().saturating_sub(at) {
        return Err(FormatError::new(at, "zipmap entry runs past the end"));
    }
    *pos += len;
    Ok(&blob[at..at + len])
}

/// Decodes the zipmap `blob` into its field/value pairs, in order.
pub fn decode(blob: &[u8]) -> Result<Pairs, FormatError> {
    let Some(&declared) = blob.first() else {
        return Err(FormatError::new(0, "empty zipmap"));
    };
    let mut pos = 1;
    let mut out = Vec::new();
    loop {
        let field_at = pos;
        let Some(flen) = read_len(blob, &mut pos)? else {
            break;
        };
        let field = take(blob, &mut pos, flen)?.to_vec();
        let Some(vlen) = read_len(blob, &mut pos)? else {
            return Err(FormatError::new(field_at, "zipmap field without a value"));
        };
        let free = *take(blob, &mut pos, 1)?.first().unwrap_or(&0) as usize;
        let value = take(blob, &mut pos, vlen)?.to_vec();
        take(blob, &mut pos, free)?;
        out.push((field, value));
    }
    if pos != blob.len() - 1 {
        return Err(FormatError::new(
            pos,
            "zipmap has bytes after its terminator",
        ));
    }
    if declared < BIGLEN && declared as usize != out.len() {
        return Err(FormatError::new(
            0,
            format!(
                "zipmap header counts {declared} pairs but it holds {}",
                out.len()
            ),
        ));
    }
    Ok(out)
}

/// Encodes `pairs` as a zipmap (with no free space after values).
pub fn encode(pairs: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut out = vec![if pairs.len() < BIGLEN as usize {
        pairs.len() as u8
    } else {
        BIGLEN
    }];
    let push_len = |out: &mut Vec<u8>, n: usize| {
        if n < BIGLEN as usize {
            out.push(n as u8);
        } else {
            out.push(BIGLEN);
            out.extend_from_slice(&(n as u32).to_le_bytes());
        }
    };
    for (f, v) in pairs {
        push_len(&mut out, f.len());
        out.extend_from_slice(f);
        push_len(&mut out, v.len());
        out.push(0);
        out.extend_from_slice(v);
    }
    out.push(END);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_bytes() {
        // {"foo": "bar", "k": ""} with 2 free bytes after "bar".
        let zm = [
            2, 3, b'f', b'o', b'o', 3, 2, b'b', b'a', b'r', 0, 0, 1, b'k', 0, 0, 0xFF,
        ];
        let pairs = decode(&zm).unwrap();
        assert_eq!(
            pairs,
            vec![(b"foo".to_vec(), b"bar".to_vec()), (b"k".to_vec(), vec![])]
        );
        assert_eq!(decode(&encode(&pairs)).unwrap(), pairs);
    }

    #[test]
    fn corruption_is_reported() {
        assert!(decode(&[1, 3, b'f']).is_err());
        assert!(decode(&[2, 1, b'f', 0, 0, 0xFF])
            .unwrap_err()
            .what
            .contains("counts 2"));
        assert!(decode(&[0, 0xFF, 0]).unwrap_err().what.contains("after"));
        assert!(decode(&[1, 1, b'f', 0xFF])
            .unwrap_err()
            .what
            .contains("without a value"));
    }

    proptest! {
        #[test]
        fn round_trip(pairs in proptest::collection::vec((
            proptest::collection::vec(any::<u8>(), 0..300),
            proptest::collection::vec(any::<u8>(), 0..300)), 0..10)) {
            prop_assert_eq!(decode(&encode(&pairs)).unwrap(), pairs);
        }

        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(&data);
        }
    }
}
