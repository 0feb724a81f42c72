//! Redis's intset, the compact encoding of small all-integer sets (RDB type
//! 11): `encoding` (`u32` LE: 2, 4 or 8, the byte width of every element),
//! `length` (`u32` LE), then the elements as little-endian signed integers
//! of that width, sorted ascending without duplicates.
//!
//! [`decode`] checks all of that; [`encode`] picks the narrowest width, as
//! Redis does.

use crate::FormatError;

/// Decodes the intset `blob` into its integers, in ascending order.
pub fn decode(blob: &[u8]) -> Result<Vec<i64>, FormatError> {
    if blob.len() < 8 {
        return Err(FormatError::new(
            0,
            format!("intset of {} bytes is too short", blob.len()),
        ));
    }
    let width = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    if !matches!(width, 2 | 4 | 8) {
        return Err(FormatError::new(
            0,
            format!("invalid intset encoding {width}"),
        ));
    }
    let len = u32::from_le_bytes([blob[4], blob[5], blob[6], blob[7]]) as usize;
    if (len as u64) * (width as u64) != (blob.len() - 8) as u64 {
        return Err(FormatError::new(
            4,
            format!(
                "intset of {len} {width}-byte integers does not fit its {} bytes",
                blob.len()
            ),
        ));
    }
    let mut out = Vec::with_capacity(len);
    for (i, chunk) in blob[8..].chunks_exact(width).enumerate() {
        let mut raw = [0u8; 8];
        raw[..width].copy_from_slice(chunk);
        let shift = 64 - 8 * width as u32;
        let v = (i64::from_le_bytes(raw) << shift) >> shift;
        if let Some(&prev) = out.last() {
            if v <= prev {
                return Err(FormatError::new(
                    8 + i * width,
                    "intset elements are not strictly ascending",
                ));
            }
        }
        out.push(v);
    }
    Ok(out)
}

/// Encodes `values` (in any order, duplicates dropped) as an intset.
pub fn encode(values: &[i64]) -> Vec<u8> {
    let mut v = values.to_vec();
    v.sort_unstable();
    v.dedup();
    let fits =
        |lo: i64, hi: i64| v.first().is_none_or(|&a| a >= lo) && v.last().is_none_or(|&b| b <= hi);
    let width = if fits(i16::MIN as i64, i16::MAX as i64) {
        2
    } else if fits(i32::MIN as i64, i32::MAX as i64) {
        4
    } else {
        8
    };
    let mut out = Vec::with_capacity(8 + v.len() * width);
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&(v.len() as u32).to_le_bytes());
    for x in &v {
        out.extend_from_slice(&x.to_le_bytes()[..width]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_bytes() {
        let blob = [2, 0, 0, 0, 3, 0, 0, 0, 0xFF, 0xFF, 1, 0, 0x10, 0x27];
        assert_eq!(decode(&blob).unwrap(), vec![-1, 1, 10000]);
        assert_eq!(encode(&[10000, -1, 1, 1]), blob);
        assert_eq!(encode(&[1 << 40])[0], 8);
        assert_eq!(encode(&[-70000])[0], 4);
    }

    #[test]
    fn corruption_is_reported() {
        assert!(decode(&[3, 0, 0, 0, 0, 0, 0, 0])
            .unwrap_err()
            .what
            .contains("encoding 3"));
        assert!(decode(&[2, 0, 0, 0, 2, 0, 0, 0, 1, 0]).is_err());
        let e = decode(&[2, 0, 0, 0, 2, 0, 0, 0, 5, 0, 5, 0]).unwrap_err();
        assert_eq!(e.pos, 10);
        assert!(decode(&[8, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]).is_err());
    }

    proptest! {
        #[test]
        fn round_trip(mut values in proptest::collection::vec(any::<i64>(), 0..50)) {
            let blob = encode(&values);
            values.sort_unstable();
            values.dedup();
            prop_assert_eq!(decode(&blob).unwrap(), values);
        }

        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(&data);
        }
    }
}
