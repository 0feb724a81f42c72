//! The `#!lua` line an EVAL script may start with, and its `flags=`: what
//! the script may do (write, run out of memory, run on a stale replica, in
//! a cluster, across slots). A script without it runs in Redis's
//! compatibility mode.

/// The flags a `#!lua flags=...` line gives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScriptFlags {
    pub no_writes: bool,
    pub allow_oom: bool,
    pub allow_stale: bool,
    pub no_cluster: bool,
    pub allow_cross_slot_keys: bool,
}

/// Splits `body` into its flags (`None`: no shebang) and the code to
/// compile: the shebang line is blanked but its newline kept, so line
/// numbers stay the script's. The error is Redis's reply.
pub fn parse(body: &[u8]) -> Result<(Option<ScriptFlags>, Vec<u8>), String> {
    if !body.starts_with(b"#!") {
        return Ok((None, body.to_vec()));
    }
    let Some(end) = body.iter().position(|&c| c == b'\n') else {
        return Err("ERR Invalid script shebang".into());
    };
    let line = String::from_utf8_lossy(&body[..end]);
    let parts = match redust_resp::split_args(line.as_bytes()) {
        Some(p) if !p.is_empty() => p,
        _ => return Err("ERR Invalid engine in script shebang".into()),
    };
    let engine = String::from_utf8_lossy(&parts[0]);
    if engine != "#!lua" {
        return Err(format!("ERR Unexpected engine in script shebang: {engine}"));
    }
    let mut flags = ScriptFlags::default();
    for part in &parts[1..] {
        let part = String::from_utf8_lossy(part);
        let Some(list) = part.strip_prefix("flags=") else {
            return Err(format!("ERR Unknown lua shebang option: {part}"));
        };
        if list.is_empty() {
            continue;
        }
        for flag in list.split(',') {
            match flag {
                "no-writes" => flags.no_writes = true,
                "allow-oom" => flags.allow_oom = true,
                "allow-stale" => flags.allow_stale = true,
                "no-cluster" => flags.no_cluster = true,
                "allow-cross-slot-keys" => flags.allow_cross_slot_keys = true,
                other => return Err(format!("ERR Unexpected flag in script shebang: {other}")),
            }
        }
    }
    let mut code = body[end..].to_vec();
    code.insert(0, b' ');
    Ok((Some(flags), code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebangs() {
        assert_eq!(parse(b"return 1").unwrap().0, None);
        let (flags, code) = parse(b"#!lua flags=no-writes,allow-oom\nreturn 1").unwrap();
        assert_eq!(
            flags,
            Some(ScriptFlags {
                no_writes: true,
                allow_oom: true,
                ..ScriptFlags::default()
            })
        );
        assert_eq!(code, b" \nreturn 1");
        assert_eq!(
            parse(b"#!lua\nreturn 1").unwrap().0,
            Some(ScriptFlags::default())
        );
        assert_eq!(
            parse(b"#!lua flags=\nx").unwrap().0,
            Some(ScriptFlags::default())
        );
        for (body, err) in [
            (&b"#!lua"[..], "ERR Invalid script shebang"),
            (
                b"#!python\nx",
                "ERR Unexpected engine in script shebang: #!python",
            ),
            (
                b"#!lua name=foo\nx",
                "ERR Unknown lua shebang option: name=foo",
            ),
            (
                b"#!lua flags=bad\nx",
                "ERR Unexpected flag in script shebang: bad",
            ),
            (
                b"#!lua flags=no-writes,\nx",
                "ERR Unexpected flag in script shebang: ",
            ),
            (b"#!lua \"a\nx", "ERR Invalid engine in script shebang"),
        ] {
            assert_eq!(parse(body).unwrap_err(), err, "{body:?}");
        }
    }
}
