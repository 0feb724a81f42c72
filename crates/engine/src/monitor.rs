//! MONITOR's feed: every command a client runs, as the line Redis sends to
//! monitoring clients (time, database, address, arguments quoted as
//! `sdscatrepr` does).

use crate::args::eq_ignore_case;
use crate::state::{Client, State};
use bytes::Bytes;

/// Quotes a byte string like Redis's `sdscatrepr`.
pub fn repr(data: &[u8]) -> String {
    let mut s = String::with_capacity(data.len() + 2);
    s.push('"');
    for &c in data {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            7 => s.push_str("\\a"),
            8 => s.push_str("\\b"),
            c if c.is_ascii_graphic() || c == b' ' => s.push(c as char),
            c => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push('"');
    s
}

/// Sends a command's MONITOR line to every monitoring client.
pub fn feed_monitors(state: &mut State, client: &Client, args: &[Bytes]) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    // A script's commands show as `lua`, as Redis shows them.
    let who = if crate::scripting::is_script_client(client) {
        "lua"
    } else {
        client.addr.as_str()
    };
    let mut line = format!(
        "+{}.{:06} [{} {}]",
        now.as_secs(),
        now.subsec_micros(),
        client.db,
        who
    );
    // Secrets never reach monitors: AUTH's arguments, and HELLO's after AUTH.
    let name = args[0].to_ascii_lowercase();
    for (i, a) in args.iter().enumerate() {
        line.push(' ');
        let after_hello_auth = name == b"hello"
            && i >= 2
            && args[..i]
                .iter()
                .rev()
                .take(2)
                .any(|p| eq_ignore_case(p, "auth"));
        if (name == b"auth" && i >= 1) || after_hello_auth {
            line.push_str("\"(redacted)\"");
        } else {
            line.push_str(&repr(a));
        }
    }
    line.push_str("\r\n");
    let frame = Bytes::from(line);
    for id in &state.clients.monitors {
        if *id == client.id {
            continue;
        }
        if let Some((h, _)) = state.clients.handles.get(id) {
            h.send_data(frame.clone());
        }
    }
}
