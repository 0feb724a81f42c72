//! Fuzzes what scripts decode from untrusted bytes: `cjson.decode`,
//! `cmsgpack.unpack` (all three forms), `struct.unpack` and the `#!lua` shebang parser. Any
//! input must give a value or an error text, never a panic; what cjson
//! decodes encodes again, and what cmsgpack unpacks packs again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use redust_scripting::{cjson, cmsgpack, luastruct, shebang};

fuzz_target!(|data: &[u8]| {
    let lua = mlua::Lua::new();
    if let Ok(v) = cjson::decode(&lua, data) {
        let _ = cjson::encode(&v);
    }
    for (limit, offset) in [(0, 0), (1, 0), (2, 1), (1, data.len() / 2)] {
        if let Ok((_, values)) = cmsgpack::unpack(&lua, data, limit, offset) {
            let _ = cmsgpack::pack(&values);
        }
    }
    let _ = shebang::parse(data);
    let split = data.len().min(6);
    if let (Ok(fmt), Ok(rest)) = (lua.create_string(&data[..split]), lua.create_string(&data[split..])) {
        let args: mlua::MultiValue =
            [mlua::Value::String(fmt), mlua::Value::String(rest)].into_iter().collect();
        let _ = luastruct::unpack(&lua, &args);
        let _ = luastruct::size(&args);
    }
});
