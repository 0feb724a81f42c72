//! Fuzzes ACL input: any bytes as an ACL file, and as the rules of an
//! `ACL SETUSER`, must load or be refused with a report, never panic; a
//! user that was set describes itself (`ACL LIST`) in a way that loads back
//! to the same description, and permission checks on any command line never
//! panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use redust_acl::{Acl, Catalog, ChannelUse, KeyUse};
use std::sync::Arc;

fn catalog() -> Arc<Catalog> {
    let mut c = Catalog::new();
    c.add("auth", &["@fast", "@connection"], true);
    c.add("config", &["@slow"], false);
    c.add("config|get", &["@admin", "@slow", "@dangerous"], false);
    c.add("config|set", &["@admin", "@slow", "@dangerous"], false);
    c.add("get", &["@read", "@string", "@fast"], false);
    c.add("publish", &["@pubsub", "@fast"], false);
    c.add("select", &["@fast", "@connection"], false);
    c.add("set", &["@write", "@string", "@slow"], false);
    Arc::new(c)
}

fuzz_target!(|data: &[u8]| {
    let mut acl = Acl::new(catalog());
    let _ = acl.users_from_file("fuzz.acl", data);
    let rules: Vec<&[u8]> = data.split(|&b| b == b' ').collect();
    if acl.set_user(b"u", &rules).is_err() {
        return;
    }
    let line = acl
        .list_lines()
        .into_iter()
        .find(|l| l.starts_with(b"user u "))
        .expect("the user just set is listed");
    // Patterns are written raw, as Redis writes them: quotes, escapes and
    // line breaks in them do not read back, in Redis either.
    let plain = !line
        .iter()
        .any(|b| matches!(b, b'"' | b'\'' | b'\\' | b'\n' | b'\r' | b'\t' | 0 | 0x0b | 0x0c));
    let mut text = line.clone();
    text.push(b'\n');
    if let (true, Ok(users)) = (plain, acl.users_from_file("fuzz.acl", &text)) {
        let mut again = Acl::new(catalog());
        again.replace_users(users);
        let back = again.list_lines().into_iter().find(|l| l.starts_with(b"user u "));
        assert_eq!(back.as_deref(), Some(&line[..]));
    }
    let user = acl.user(b"u").expect("set");
    let args: Vec<&[u8]> = data.split(|&b| b == b'\n').take(4).collect();
    for id in 0..acl.catalog.len() {
        let keys = vec![KeyUse { pos: 1, read: true, write: data.len() % 2 == 0 }];
        let channels = vec![ChannelUse { pos: 2, pattern: data.len() % 3 == 0 }];
        let _ = user.check(id, false, &args, &mut || keys.clone(), &mut || channels.clone());
    }
});
