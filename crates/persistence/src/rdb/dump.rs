//! The `DUMP` / `RESTORE` payload: one value as RDB encodes it (type byte,
//! then the body), followed by a 2-byte footer with the RDB version
//! (little-endian) and the CRC-64 of everything before, 8 bytes
//! little-endian. `RESTORE` refuses payloads of a newer RDB version or with
//! a wrong checksum; so does [`parse_dump_payload`].

use crate::crc64;
use crate::rdb::error::{ErrorKind, RdbError};
use crate::rdb::primitives::Input;
use crate::rdb::value::{choose_type, read_value, write_body, RdbValue};
use crate::rdb::writer::WriterOptions;
use crate::rdb::RDB_VERSION;

/// The `DUMP` payload of `value`, encoded as Redis 7.0 would with its
/// default settings. Panics on an empty collection or a NaN score, which no
/// Redis value can hold; see [`dump_payload_with`] to handle those.
pub fn dump_payload(value: &RdbValue) -> Vec<u8> {
    dump_payload_with(value, &WriterOptions::default()).expect("a value Redis can hold")
}

/// The `DUMP` payload of `value` with the given encoding options; fails for
/// an empty collection or a NaN score.
pub fn dump_payload_with(value: &RdbValue, opts: &WriterOptions) -> std::io::Result<Vec<u8>> {
    dump_payload_encoded(value, opts, None)
}

/// [`dump_payload_with`] in a given encoding (see
/// [`crate::rdb::writer::EntryMeta::compact`]).
pub fn dump_payload_encoded(
    value: &RdbValue,
    opts: &WriterOptions,
    compact: Option<bool>,
) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let t = choose_type(value, opts, compact);
    out.push(t);
    write_body(&mut out, value, t, opts)?;
    out.extend_from_slice(&(RDB_VERSION as u16).to_le_bytes());
    let crc = crc64::checksum(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// Decodes a `DUMP` payload (from any RDB version up to 10), checking its
/// footer and checksum. Offsets in errors are positions in `payload`.
pub fn parse_dump_payload(payload: &[u8]) -> Result<RdbValue, RdbError> {
    parse_dump_payload_checked(payload, true)
}

/// `parse_dump_payload`, with the CRC check skipped when `verify_checksum`
/// is false (`DEBUG SET-SKIP-CHECKSUM-VALIDATION 1`); the version is still
/// checked and the value still fully validated.
pub fn parse_dump_payload_checked(
    payload: &[u8],
    verify_checksum: bool,
) -> Result<RdbValue, RdbError> {
    if payload.len() < 10 {
        return Err(RdbError::corrupt(
            0,
            format!("DUMP payload of {} bytes is too short", payload.len()),
        ));
    }
    let body_len = payload.len() - 10;
    let version = u16::from_le_bytes([payload[body_len], payload[body_len + 1]]) as u32;
    if version > RDB_VERSION {
        return Err(RdbError::new(
            body_len as u64,
            ErrorKind::UnsupportedVersion(version),
        ));
    }
    let computed = crc64::checksum(&payload[..body_len + 2]);
    let stored = u64::from_le_bytes(payload[body_len + 2..].try_into().expect("8 bytes"));
    if verify_checksum && computed != stored {
        return Err(RdbError::new(
            (body_len + 2) as u64,
            ErrorKind::ChecksumMismatch { computed, stored },
        ));
    }
    let mut inp = Input::new(&payload[..body_len]);
    let t = inp.read_u8()?;
    let value = read_value(&mut inp, t, 0)?
        .ok_or_else(|| RdbError::corrupt(0, "DUMP payload holds an empty collection"))?;
    if !inp.at_end()? {
        return Err(RdbError::corrupt(
            inp.offset(),
            "DUMP payload has data after the value",
        ));
    }
    Ok(value)
}

/// FUNCTION DUMP's payload: each library as the RDB stores it (the
/// function opcode and its code as a string, LZF-compressed when
/// `compress` and worth it, as Redis with `rdbcompression yes`), then the
/// same footer.
pub fn function_dump_payload<'a>(
    codes: impl IntoIterator<Item = &'a [u8]>,
    compress: bool,
) -> Vec<u8> {
    let mut out = Vec::new();
    for code in codes {
        out.push(crate::rdb::opcodes::FUNCTION2);
        crate::rdb::primitives::put_string(&mut out, code, compress);
    }
    out.extend_from_slice(&(RDB_VERSION as u16).to_le_bytes());
    let crc = crc64::checksum(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Why a FUNCTION RESTORE payload was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum FunctionPayloadError {
    /// Too short, a newer version or a wrong checksum.
    Footer,
    /// An entry that is not a library.
    NotAFunction,
    /// A library entry that cannot be read.
    Corrupt,
}

/// The library codes in a FUNCTION DUMP payload.
pub fn parse_function_payload(
    payload: &[u8],
    verify_checksum: bool,
) -> Result<Vec<Vec<u8>>, FunctionPayloadError> {
    if payload.len() < 10 {
        return Err(FunctionPayloadError::Footer);
    }
    let body_len = payload.len() - 10;
    let version = u16::from_le_bytes([payload[body_len], payload[body_len + 1]]) as u32;
    let computed = crc64::checksum(&payload[..body_len + 2]);
    let stored = u64::from_le_bytes(payload[body_len + 2..].try_into().expect("8 bytes"));
    if version > RDB_VERSION || (verify_checksum && computed != stored) {
        return Err(FunctionPayloadError::Footer);
    }
    let mut inp = Input::new(&payload[..body_len]);
    let mut codes = Vec::new();
    while !inp.at_end().map_err(|_| FunctionPayloadError::Corrupt)? {
        let op = inp.read_u8().map_err(|_| FunctionPayloadError::Corrupt)?;
        if op != crate::rdb::opcodes::FUNCTION2 {
            return Err(FunctionPayloadError::NotAFunction);
        }
        codes.push(
            inp.read_string()
                .map_err(|_| FunctionPayloadError::Corrupt)?,
        );
    }
    Ok(codes)
}

#[cfg(test)]
mod function_payload_tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let codes: [&[u8]; 2] = [b"#!lua name=a\nx", b"#!lua name=b\ny"];
        let payload = function_dump_payload(codes, true);
        assert_eq!(
            parse_function_payload(&payload, true).unwrap(),
            vec![codes[0].to_vec(), codes[1].to_vec()]
        );
        let mut bad = payload.clone();
        bad[3] ^= 1;
        assert_eq!(
            parse_function_payload(&bad, true),
            Err(FunctionPayloadError::Footer)
        );
        assert!(parse_function_payload(&bad, false).is_ok());
        assert_eq!(
            parse_function_payload(b"xx", true),
            Err(FunctionPayloadError::Footer)
        );
        let mut other = vec![0u8, 1, b'k'];
        other.extend_from_slice(&(RDB_VERSION as u16).to_le_bytes());
        let crc = crc64::checksum(&other);
        other.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(
            parse_function_payload(&other, true),
            Err(FunctionPayloadError::NotAFunction)
        );
        assert_eq!(
            parse_function_payload(&function_dump_payload([], true), true),
            Ok(vec![])
        );
    }
}
