//! The decoders scripts run on untrusted bytes (cjson.decode, the cmsgpack
//! unpacks, struct.unpack, the shebang parser) never panic, on random bytes and on damaged
//! encodings, and what they decode encodes again. The same checks run as
//! the fuzz target `fuzz/fuzz_targets/script_decoders.rs`.

use proptest::prelude::*;
use redust_scripting::{cjson, cmsgpack, luastruct, shebang};

fn check(data: &[u8]) {
    let lua = mlua::Lua::new();
    if let Ok(v) = cjson::decode(&lua, data) {
        cjson::encode(&v).ok();
    }
    for (limit, offset) in [(0, 0), (1, 0), (2, 1), (1, data.len() / 2)] {
        if let Ok((_, values)) = cmsgpack::unpack(&lua, data, limit, offset) {
            cmsgpack::pack(&values);
        }
    }
    let _ = shebang::parse(data);
    // struct.unpack with the data's first bytes as the format.
    let split = data.len().min(6);
    let fmt = lua.create_string(&data[..split]).unwrap();
    let rest = lua.create_string(&data[split..]).unwrap();
    let args: mlua::MultiValue = [mlua::Value::String(fmt), mlua::Value::String(rest)]
        .into_iter()
        .collect();
    let _ = luastruct::unpack(&lua, &args);
    let _ = luastruct::size(&args);
}

proptest! {
    #[test]
    fn random_bytes(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        check(&data);
    }

    #[test]
    fn json_like_bytes(data in "[\\[\\]{}\",:0-9a-z\\\\ .eE+-]{0,80}") {
        check(data.as_bytes());
    }

    #[test]
    fn damaged_msgpack(seed in proptest::collection::vec(any::<u8>(), 1..40), flip in any::<usize>()) {
        let lua = mlua::Lua::new();
        let s = lua.create_string(&seed).unwrap();
        let mut packed = cmsgpack::pack(&[mlua::Value::String(s), mlua::Value::Integer(seed.len() as i64)]);
        let i = flip % packed.len();
        packed[i] ^= 0xff;
        check(&packed);
        packed.truncate(i);
        check(&packed);
    }
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let deep = "[".repeat(100_000);
    let lua = mlua::Lua::new();
    assert!(cjson::decode(&lua, deep.as_bytes()).is_err());
    let mut packed = vec![0x91u8; 100_000];
    packed.push(0x01);
    let _ = cmsgpack::unpack(&lua, &packed, 0, 0);
}
