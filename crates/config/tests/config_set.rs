//! CONFIG SET replies and effects, each checked against redis-server 7.0.15.

mod common;

use redust_config::{Config, SetContext};

fn set(cfg: &mut Config, pairs: &[(&str, &str)]) -> Result<Vec<&'static str>, String> {
    let pairs: Vec<(&[u8], &[u8])> = pairs
        .iter()
        .map(|(k, v)| (k.as_bytes(), v.as_bytes()))
        .collect();
    cfg.set(&pairs)
}

fn get(cfg: &Config, name: &str) -> String {
    cfg.get_value(name).unwrap()
}

fn failed(name: &str, why: &str) -> Result<Vec<&'static str>, String> {
    Err(format!(
        "ERR CONFIG SET failed (possibly related to argument '{name}') - {why}"
    ))
}

#[test]
fn error_replies_match_redis() {
    let mut c = Config::default();
    assert_eq!(
        set(&mut c, &[("foo", "bar")]),
        Err("ERR Unknown option or number of arguments for CONFIG SET - 'foo'".into())
    );
    assert_eq!(
        set(&mut c, &[("port", "abc")]),
        failed("port", "argument couldn't be parsed into an integer")
    );
    assert_eq!(
        set(&mut c, &[("port", "70000")]),
        failed("port", "argument must be between 0 and 65535 inclusive")
    );
    assert_eq!(
        set(&mut c, &[("port", "1"), ("port", "1")]),
        failed("port", "duplicate parameter")
    );
    assert_eq!(
        set(&mut c, &[("port", "1"), ("PORT", "1")]),
        failed("PORT", "duplicate parameter")
    );
    assert_eq!(
        set(&mut c, &[("daemonize", "yes")]),
        failed("daemonize", "can't set immutable config")
    );
    assert_eq!(
        set(&mut c, &[("protected-mode", "maybe")]),
        failed("protected-mode", "argument must be 'yes' or 'no'")
    );
    assert_eq!(
        set(&mut c, &[("maxmemory-policy", "foo")]),
        failed("maxmemory-policy", "argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction")
    );
    assert_eq!(
        set(&mut c, &[("maxmemory", "-1")]),
        failed("maxmemory", "argument must be a memory value")
    );
    assert_eq!(
        set(&mut c, &[("notify-keyspace-events", "Q")]),
        failed(
            "notify-keyspace-events",
            "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."
        )
    );
    assert_eq!(
        set(&mut c, &[("shutdown-on-sigint", "save nosave")]),
        failed(
            "shutdown-on-sigint",
            "shutdown options SAVE and NOSAVE can't be used simultaneously"
        )
    );
    assert_eq!(
        set(&mut c, &[("shutdown-on-sigint", "")]),
        failed(
            "shutdown-on-sigint",
            "argument(s) must be one of the following: default, save, nosave, now, force"
        )
    );
    assert_eq!(
        set(&mut c, &[("shutdown-on-sigint", "save  now")]),
        failed(
            "shutdown-on-sigint",
            "argument(s) must be one of the following: default, save, nosave, now, force"
        )
    );
    assert_eq!(
        set(&mut c, &[("oom-score-adj-values", "5000 0 0")]),
        failed(
            "oom-score-adj-values",
            "Invalid oom-score-adj-values, elements must be between -2000 and 2000."
        )
    );
    assert_eq!(
        set(&mut c, &[("oom-score-adj-values", "1 2")]),
        failed("oom-score-adj-values", "wrong number of arguments")
    );
    assert_eq!(
        set(&mut c, &[("foo", "bar"), ("port", "1")]),
        Err("ERR Unknown option or number of arguments for CONFIG SET - 'foo'".into())
    );
    assert_eq!(
        set(&mut c, &[("port", "1"), ("foo", "bar")]),
        Err("ERR Unknown option or number of arguments for CONFIG SET - 'foo'".into())
    );
    assert_eq!(
        set(&mut c, &[("port", "abc"), ("daemonize", "yes")]),
        failed("daemonize", "can't set immutable config")
    );
    assert_eq!(
        set(&mut c, &[("daemonize", "yes"), ("port", "abc")]),
        failed("daemonize", "can't set immutable config")
    );
    assert_eq!(
        set(&mut c, &[("maxmemory-clients", "101%")]),
        failed(
            "maxmemory-clients",
            "percentage argument must be less or equal to 100"
        )
    );
    assert_eq!(
        set(&mut c, &[("maxmemory-clients", "-1%")]),
        failed(
            "maxmemory-clients",
            "argument must be a memory or percent value"
        )
    );
    assert_eq!(
        set(&mut c, &[("maxmemory-clients", "9223372036854775808")]),
        failed(
            "maxmemory-clients",
            "percentage argument must be less or equal to 100"
        )
    );
    assert_eq!(
        set(&mut c, &[("unixsocketperm", "777")]),
        failed("unixsocketperm", "can't set immutable config")
    );
    assert_eq!(
        set(&mut c, &[("hash-max-listpack-entries", "-1")]),
        failed(
            "hash-max-listpack-entries",
            "argument must be between 0 and 9223372036854775807 inclusive"
        )
    );
    assert_eq!(
        set(&mut c, &[("proto-max-bulk-len", "99999999999999999999")]),
        failed(
            "proto-max-bulk-len",
            "argument must be between 1048576 and 9223372036854775807 inclusive"
        )
    );
    assert_eq!(
        set(&mut c, &[("slowlog-log-slower-than", "-2")]),
        failed(
            "slowlog-log-slower-than",
            "argument must be between -1 and 9223372036854775807 inclusive"
        )
    );
    assert_eq!(
        set(&mut c, &[("maxclients", "0")]),
        failed(
            "maxclients",
            "argument must be between 1 and 4294967295 inclusive"
        )
    );
    assert_eq!(
        set(&mut c, &[("slave-priority", "abc")]),
        failed(
            "slave-priority",
            "argument couldn't be parsed into an integer"
        )
    );
    assert_eq!(
        set(&mut c, &[("save", "3600 1  300 100")]),
        failed("save", "Invalid save parameters")
    );
    assert_eq!(
        set(&mut c, &[("save", " ")]),
        failed("save", "Invalid save parameters")
    );
    assert_eq!(
        set(&mut c, &[("save", "1 1"), ("save", "2 2")]),
        failed("save", "duplicate parameter")
    );
    assert_eq!(
        set(&mut c, &[("dir", "/tmp")]),
        failed("dir", "can't set protected config")
    );
    assert_eq!(
        set(&mut c, &[("dbfilename", "x.rdb")]),
        failed("dbfilename", "can't set protected config")
    );
    assert_eq!(
        set(&mut c, &[("client-output-buffer-limit", "normal 1 1 -1")]),
        failed(
            "client-output-buffer-limit",
            "Error in hard, soft or soft_seconds setting in buffer limit configuration."
        )
    );
    assert_eq!(
        set(&mut c, &[("client-output-buffer-limit", "normal 1 2  3")]),
        failed(
            "client-output-buffer-limit",
            "Wrong number of arguments in buffer limit configuration."
        )
    );
    assert_eq!(
        set(&mut c, &[("cluster-announce-hostname", &"a".repeat(300))]),
        failed(
            "cluster-announce-hostname",
            "Hostnames must be less than 256 characters"
        )
    );
    assert_eq!(
        set(&mut c, &[("cluster-announce-hostname", "ab_c")]),
        failed(
            "cluster-announce-hostname",
            "Hostnames may only contain alphanumeric characters, hyphens or dots"
        )
    );
    for bad in [
        "",
        "{title}",
        "{server-mode}",
        "{unixsocket}",
        "  ",
        "{unknown}",
        "{title",
    ] {
        assert_eq!(
            set(&mut c, &[("proc-title-template", bad)]),
            failed(
                "proc-title-template",
                "template format is invalid or contains unknown variables"
            ),
            "{bad:?}"
        );
    }
    for bad in ["50  99", "nan", " 5"] {
        assert_eq!(
            set(&mut c, &[("latency-tracking-info-percentiles", bad)]),
            failed(
                "latency-tracking-info-percentiles",
                "Invalid latency-tracking-info-percentiles parameters"
            )
        );
    }
    assert_eq!(
        set(&mut c, &[("latency-tracking-info-percentiles", "inf")]),
        failed(
            "latency-tracking-info-percentiles",
            "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
        )
    );
    for bad in [" 5", "+5", "5 ", "0x10"] {
        assert_eq!(
            set(&mut c, &[("maxmemory", bad)]),
            failed("maxmemory", "argument must be a memory value")
        );
    }
    for bad in ["+5", "05", " 5", "-0"] {
        assert_eq!(
            set(&mut c, &[("timeout", bad)]),
            failed("timeout", "argument couldn't be parsed into an integer")
        );
    }
    // Nothing of the failed calls was applied.
    let mut fresh = Config::default();
    fresh.dir = c.dir.clone();
    assert_eq!(c, fresh);
}

#[test]
fn accepted_values_render_like_redis() {
    let mut c = Config::default();
    let cases: &[(&str, &str, &str)] = &[
        ("maxmemory", "", "0"),
        ("maxmemory", "k", "0"),
        ("maxmemory", "99999999999999999999", "18446744073709551615"),
        ("maxmemory", "20000000000gb", "3028092406290448384"),
        ("maxmemory", "1b", "1"),
        ("maxmemory", "5KB", "5120"),
        ("notify-keyspace-events", "AKE", "AKE"),
        ("notify-keyspace-events", "g$lshzxetdKEmn", "AKEm"),
        ("shutdown-on-sigint", "now save", "save now"),
        ("shutdown-on-sigint", "force now nosave", "nosave now force"),
        ("shutdown-on-sigint", "default save", "save"),
        ("shutdown-on-sigint", "default", "default"),
        ("save", "3600 1 300 100", "3600 1 300 100"),
        ("save", "", ""),
        ("save", "10 +5", "10 5"),
        ("save", "10 4294967297", "10 1"),
        (
            "client-output-buffer-limit",
            "",
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        ),
        (
            "client-output-buffer-limit",
            "replica 1kb 2mb 3 PUBSUB 1 2 3",
            "normal 0 0 0 slave 1024 2097152 3 pubsub 1 2 3",
        ),
        (
            "client-output-buffer-limit",
            "normal 1 1 4294967297",
            "normal 1 1 1 slave 1024 2097152 3 pubsub 1 2 3",
        ),
        (
            "client-output-buffer-limit",
            "normal 1 2 +3",
            "normal 1 2 3 slave 1024 2097152 3 pubsub 1 2 3",
        ),
        ("latency-tracking-info-percentiles", "", ""),
        (
            "latency-tracking-info-percentiles",
            "0.0000001 1e1 99.99999999",
            "0 10 100",
        ),
        ("latency-tracking-info-percentiles", "+5 0x10", "5 16"),
        ("hz", "1000", "500"),
        ("hz", "0", "1"),
        ("loglevel", "WARNING", "warning"),
        ("oom-score-adj", "relative", "yes"),
        ("acl-pubsub-default", "allchannels", "allchannels"),
        ("maxmemory-clients", "10%", "10%"),
        ("list-max-ziplist-size", "5", "5"),
        ("list-max-listpack-size", "-1", "-1"),
        ("lua-time-limit", "100", "100"),
        ("busy-reply-threshold", "200", "200"),
        ("requirepass", "", ""),
        ("masterauth", "x", "x"),
        ("cluster-announce-hostname", "a.b-c", "a.b-c"),
        ("proc-title-template", "{{", "{{"),
        ("proc-title-template", "x}", "x}"),
        (
            "proc-title-template",
            "{title} {server-mode} {port} {tls-port} {unixsocket} {config-file} {listen-addr}",
            "{title} {server-mode} {port} {tls-port} {unixsocket} {config-file} {listen-addr}",
        ),
        ("slowlog-log-slower-than", "-1", "-1"),
    ];
    for (name, value, shown) in cases {
        assert!(set(&mut c, &[(name, value)]).is_ok(), "{name} {value}");
        assert_eq!(get(&c, name), *shown, "{name} {value}");
    }
    assert_eq!(get(&c, "busy-reply-threshold"), "200");
    assert_eq!(c.busy_reply_threshold, 200);
}

#[test]
fn multi_pair_set_is_atomic_and_reports_changes() {
    let mut c = Config::default();
    assert_eq!(
        set(
            &mut c,
            &[("Maxmemory-Policy", "allkeys-lru"), ("maxmemory", "1gb")]
        ),
        Ok(vec!["maxmemory-policy", "maxmemory"])
    );
    assert_eq!(c.maxmemory, 1 << 30);
    // Same value again: no change reported (the special multi-value
    // configs always count as changed, as in Redis).
    assert_eq!(
        set(&mut c, &[("maxmemory", "1gb"), ("bind", "* -::*")]),
        Ok(vec!["bind"])
    );
    // A failure in the second pair leaves the first untouched.
    assert!(set(&mut c, &[("maxmemory", "5mb"), ("port", "x")]).is_err());
    assert_eq!(c.maxmemory, 1 << 30);
    // Alias and primary are different entries for duplicate detection.
    assert_eq!(
        set(
            &mut c,
            &[("slave-priority", "1"), ("replica-priority", "2")]
        ),
        Ok(vec!["replica-priority"])
    );
    assert_eq!(c.replica_priority, 2);
}

#[test]
fn protected_and_loading_contexts() {
    let dir = common::temp_dir("set-dir");
    std::fs::create_dir(dir.join("x")).unwrap();
    let mut c = Config::with_dir(dir.clone());
    c.enable_protected_configs = redust_config::ProtectedAction::Local;
    let pairs: [(&[u8], &[u8]); 1] = [(b"dir", b"x")];
    assert_eq!(
        c.set_with(
            &pairs,
            SetContext {
                client_is_local: false,
                loading: false
            }
        ),
        failed("dir", "can't set protected config")
    );
    let local = SetContext {
        client_is_local: true,
        loading: false,
    };
    assert_eq!(c.set_with(&pairs, local), Ok(vec!["dir"]));
    assert_eq!(c.dir, dir.join("x"));
    let bad: [(&[u8], &[u8]); 1] = [(b"dir", b"/nonexistent")];
    assert_eq!(
        c.set_with(&bad, local),
        failed("dir", "No such file or directory")
    );
    let loading = SetContext {
        client_is_local: true,
        loading: true,
    };
    assert_eq!(
        c.set_with(&[(b"appendonly", b"yes")], loading),
        Err("LOADING Redis is loading the dataset in memory".into())
    );
    assert_eq!(
        c.set_with(&[(b"maxmemory", b"1")], loading),
        Ok(vec!["maxmemory"])
    );
}

#[test]
fn directive_metadata() {
    assert_eq!(redust_config::is_mutable(b"port"), Some(true));
    assert_eq!(redust_config::is_mutable(b"daemonize"), Some(false));
    assert_eq!(redust_config::is_mutable(b"SLAVEOF"), Some(false));
    assert_eq!(redust_config::is_mutable(b"nope"), None);
    let info = redust_config::directive_info(b"slave-read-only").unwrap();
    assert_eq!(info.name, "replica-read-only");
    assert!(
        redust_config::directive_info(b"requirepass")
            .unwrap()
            .sensitive
    );
    assert!(redust_config::directive_info(b"dir").unwrap().protected);
    assert!(redust_config::config_names().any(|n| n == "latency-tracking-info-percentiles"));
}

#[test]
fn error_replies_never_contain_newlines() {
    let mut c = Config::default();
    let err = c.set(&[(b"foo\r\nbar", b"1")]).unwrap_err();
    assert!(!err.contains('\n') && !err.contains('\r'), "{err}");
}
