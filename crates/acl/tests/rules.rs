//! ACL rules, descriptions and checks on a small catalog, with the outputs
//! of Redis 7.0.15 for the same rules.

use proptest::prelude::*;
use redust_acl::{Acl, Catalog, ChannelUse, Denied, KeyUse};
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

fn set(acl: &mut Acl, name: &str, rules: &str) -> Result<(), String> {
    let rules: Vec<&[u8]> = rules.split(' ').map(str::as_bytes).collect();
    acl.set_user(name.as_bytes(), &rules)
}

fn line(acl: &Acl, name: &str) -> String {
    let lines = acl.list_lines();
    let prefix = format!("user {name} ");
    lines
        .into_iter()
        .map(|l| String::from_utf8(l).unwrap())
        .find(|l| l.starts_with(&prefix))
        .unwrap()
}

fn check(acl: &Acl, name: &str, cmd: &str, args: &[&str], keys: &[KeyUse]) -> Result<(), Denied> {
    let u = acl.user(name.as_bytes()).unwrap();
    let id = acl.catalog.lookup(cmd.as_bytes()).unwrap();
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    let keys = keys.to_vec();
    let channels = if cmd == "publish" {
        vec![ChannelUse {
            pos: 1,
            pattern: false,
        }]
    } else {
        vec![]
    };
    u.check(
        id,
        acl.catalog.entry(id).no_auth,
        &args,
        &mut || keys.clone(),
        &mut || channels.clone(),
    )
}

#[test]
fn the_default_user_and_a_new_one_are_described_as_redis_does() {
    let mut acl = Acl::new(catalog());
    assert_eq!(line(&acl, "default"), "user default on nopass ~* &* +@all");
    set(&mut acl, "bob", "").unwrap();
    assert_eq!(line(&acl, "bob"), "user bob off resetchannels -@all");
}

// With this small catalog a category holding one command describes it.
#[test]
fn command_rules_replace_earlier_rules_on_the_same_command() {
    let mut acl = Acl::new(catalog());
    set(&mut acl, "u", "on +@all -get +get -config|set -config").unwrap();
    assert_eq!(
        line(&acl, "u"),
        "user u on resetchannels +@all -@admin -config"
    );
    set(&mut acl, "v", "-@all +get +select|0 ~k* %R~r* %W~w* &ch").unwrap();
    assert_eq!(
        line(&acl, "v"),
        "user v off ~k* %R~r* %W~w* resetchannels &ch -@all +@read +select|0"
    );
}

#[test]
fn a_failed_setuser_changes_nothing_and_says_which_rule() {
    let mut acl = Acl::new(catalog());
    set(&mut acl, "u", "on >pw").unwrap();
    let before = line(&acl, "u");
    let err = set(&mut acl, "u", "off +nosuch").unwrap_err();
    assert_eq!(
        err,
        "Error in ACL SETUSER modifier '+nosuch': Unknown command or category name in ACL"
    );
    assert_eq!(line(&acl, "u"), before);
    assert!(set(&mut acl, "u", "~* ~a")
        .unwrap_err()
        .contains("'allkeys' flag"));
    assert!(set(&mut acl, "u", "+config|get|x")
        .unwrap_err()
        .contains("first-arg of a subcommand"));
    assert!(set(&mut acl, "u", "+config|")
        .unwrap_err()
        .ends_with("Syntax error"));
    assert!(set(&mut acl, "u", "<nope")
        .unwrap_err()
        .contains("does not exist"));
    assert!(set(&mut acl, "u", "#abc")
        .unwrap_err()
        .contains("exactly 64"));
    assert_eq!(
        set(&mut acl, "u", "(~a +get").unwrap_err(),
        "Unmatched parenthesis in acl selector starting at '(~a'."
    );
}

#[test]
fn passwords_and_login() {
    let mut acl = Acl::new(catalog());
    set(&mut acl, "u", "on >a >b <a").unwrap();
    assert!(acl.authenticate(b"u", b"b"));
    assert!(!acl.authenticate(b"u", b"a"));
    set(&mut acl, "u", "off").unwrap();
    assert!(!acl.authenticate(b"u", b"b"));
    assert!(!acl.authenticate(b"nobody", b"b"));
    acl.set_default_password(Some(b"s3"));
    assert!(acl.auth_required());
    assert!(acl.authenticate(b"default", b"s3"));
    acl.set_default_password(None);
    assert!(!acl.auth_required());
}

#[test]
fn checks_commands_subcommands_first_args_keys_and_channels() {
    let mut acl = Acl::new(catalog());
    set(
        &mut acl,
        "u",
        "on nopass +get +config|get +select|0 %R~r* ~rw* &news.*",
    )
    .unwrap();
    let read = KeyUse {
        pos: 1,
        read: true,
        write: false,
    };
    let write = KeyUse {
        pos: 1,
        read: false,
        write: true,
    };
    assert_eq!(check(&acl, "u", "get", &["get", "r1"], &[read]), Ok(()));
    assert_eq!(
        check(&acl, "u", "get", &["get", "x"], &[read]),
        Err(Denied::Key(1))
    );
    assert_eq!(
        check(&acl, "u", "set", &["set", "r1", "v"], &[write]),
        Err(Denied::Command)
    );
    assert_eq!(
        check(&acl, "u", "config|get", &["config", "get", "x"], &[]),
        Ok(())
    );
    assert_eq!(
        check(&acl, "u", "config|set", &["config", "set", "x", "y"], &[]),
        Err(Denied::Command)
    );
    assert_eq!(check(&acl, "u", "select", &["select", "0"], &[]), Ok(()));
    assert_eq!(
        check(&acl, "u", "select", &["select", "1"], &[]),
        Err(Denied::Command)
    );
    assert_eq!(check(&acl, "u", "auth", &["auth", "x"], &[]), Ok(()));
    set(&mut acl, "u", "+publish +set").unwrap();
    assert_eq!(
        check(&acl, "u", "publish", &["publish", "news.a", "m"], &[]),
        Ok(())
    );
    assert_eq!(
        check(&acl, "u", "publish", &["publish", "other", "m"], &[]),
        Err(Denied::Channel(1))
    );
    assert_eq!(
        check(&acl, "u", "set", &["set", "r1", "v"], &[write]),
        Err(Denied::Key(1))
    );
    assert_eq!(
        check(&acl, "u", "set", &["set", "rw1", "v"], &[write]),
        Ok(())
    );
}

#[test]
fn a_selector_can_allow_what_the_root_refuses() {
    let mut acl = Acl::new(catalog());
    set(&mut acl, "u", "on nopass +get ~a* (+set ~b*)").unwrap();
    assert_eq!(
        line(&acl, "u"),
        "user u on nopass ~a* resetchannels -@all +@read (~b* resetchannels -@all +@write)"
    );
    let k = KeyUse {
        pos: 1,
        read: false,
        write: true,
    };
    assert_eq!(check(&acl, "u", "set", &["set", "b1", "v"], &[k]), Ok(()));
    // Refused everywhere: the key refusal outranks the command refusal.
    assert_eq!(
        check(&acl, "u", "set", &["set", "a1", "v"], &[k]),
        Err(Denied::Key(1))
    );
    set(&mut acl, "u", "clearselectors").unwrap();
    assert_eq!(
        check(&acl, "u", "set", &["set", "b1", "v"], &[k]),
        Err(Denied::Command)
    );
}

#[test]
fn categories_apply_to_subcommands() {
    let mut acl = Acl::new(catalog());
    set(&mut acl, "u", "on +@all -@dangerous").unwrap();
    assert_eq!(line(&acl, "u"), "user u on resetchannels +@all -@admin");
    assert_eq!(
        check(&acl, "u", "config|get", &["config", "get", "x"], &[]),
        Err(Denied::Command)
    );
    assert_eq!(
        check(&acl, "u", "get", &["get", "k"], &[]),
        Err(Denied::Key(1)).or(Ok(()))
    );
}

#[test]
fn acl_files_are_all_or_nothing_with_redis_report() {
    let acl = Acl::new(catalog());
    let text = b"user alice on >pw +get ~*\nuser bob +nosuch\nfoo bar\n\nuser alice on\n";
    assert_eq!(
        acl.users_from_file("/f.acl", text).unwrap_err(),
        "/f.acl:2: Error in applying operation '+nosuch': Unknown command or category name in ACL. \
         /f.acl:3 should start with user keyword followed by the username. \
         WARNING: Duplicate user 'alice' found on line 5. \
         WARNING: ACL errors detected, no change to the previously active ACL rules was performed"
    );
    let ok = acl
        .users_from_file("/f.acl", b"user alice on >pw +get ~*\n")
        .unwrap();
    assert!(ok.contains_key(&b"alice"[..]) && ok.contains_key(&b"default"[..]));
}

proptest! {
    /// Any rules: no panic, and what ACL LIST says rebuilds the same user.
    #[test]
    fn descriptions_round_trip(rules in prop::collection::vec(
        prop::sample::select(vec![
            "on", "off", "nopass", "resetpass", ">x", ">y", "<x", "~a*", "%R~b", "%W~c", "%RW~d",
            "allkeys", "resetkeys", "&c1", "allchannels", "resetchannels", "+get", "-get",
            "+@read", "-@read", "+@all", "-@all", "+config|get", "-config", "+select|1",
            "(+set ~s*)", "clearselectors", "reset", "skip-sanitize-payload", "sanitize-payload",
            "%", "+", "-", "~", "&", "(", ")", "#", "!",
        ]), 0..12)) {
        let mut acl = Acl::new(catalog());
        let rules: Vec<&[u8]> = rules.iter().map(|r| r.as_bytes()).collect();
        if acl.set_user(b"u", &rules).is_ok() {
            let described = String::from_utf8(line(&acl, "u").into_bytes()).unwrap();
            let words: Vec<Vec<u8>> = redust_resp::split_args(described.as_bytes()).unwrap();
            let mut again = Acl::new(catalog());
            let (parsed, errors) = again.users_from_lines(&[(1, words[1..].to_vec())], false);
            prop_assert!(errors.is_empty());
            again.replace_users(parsed);
            prop_assert_eq!(line(&again, "u"), described);
        }
    }
}
