//! CONFIG GET * of a default configuration against redis-server 7.0.15's
//! output (captured from Debian's build, port reset to 6379).

use std::collections::BTreeMap;

use redust_config::Config;

const EXPECTED: &str = include_str!("data/redis-7.0.15-defaults.tsv");

#[test]
fn config_get_star_lists_the_same_names_and_defaults_as_redis() {
    let cfg = Config::default();
    let got = cfg.get(&[b"*"]);
    let mut got_map = BTreeMap::new();
    for (k, v) in &got {
        assert!(
            got_map.insert(k.clone(), v.clone()).is_none(),
            "{k} listed twice"
        );
    }
    let mut expected = BTreeMap::new();
    for line in EXPECTED.lines() {
        let (k, v) = line.split_once('\t').unwrap();
        expected.insert(k.to_string(), v.to_string());
    }
    assert_eq!(
        got_map.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (k, v) in &expected {
        if k == "dir" {
            assert_eq!(got_map[k], cfg.dir.to_string_lossy());
        } else {
            assert_eq!(&got_map[k], v, "default of {k}");
        }
    }
}

#[test]
fn hidden_configs_need_exact_names() {
    let cfg = Config::default();
    for (name, value) in [
        ("use-exit-on-panic", "no"),
        ("rdb-key-save-delay", "0"),
        ("key-load-delay", "0"),
        ("watchdog-period", "0"),
        ("loading-process-events-interval-bytes", "2097152"),
    ] {
        assert_eq!(
            cfg.get(&[name.as_bytes()]),
            vec![(name.to_string(), value.to_string())]
        );
    }
    assert!(cfg.get(&[b"use-exit*"]).is_empty());
}

#[test]
fn get_dedups_and_keeps_aliases_like_redis() {
    let cfg = Config::default();
    assert_eq!(cfg.get(&[b"slaveof"]), vec![("slaveof".into(), "".into())]);
    // Exact names keep the case they were asked with; repeats are dropped
    // case-insensitively.
    assert_eq!(
        cfg.get(&[b"PORT", b"port", b"Port"]),
        vec![("PORT".into(), "6379".into())]
    );
    let mut names: Vec<String> = cfg
        .get(&[b"*max-*-entries*"])
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "hash-max-listpack-entries",
            "hash-max-ziplist-entries",
            "set-max-intset-entries",
            "zset-max-listpack-entries",
            "zset-max-ziplist-entries"
        ]
    );
    let pairs = cfg.get(&[b"port", b"*or*"]);
    assert_eq!(pairs.iter().filter(|(k, _)| k == "port").count(), 1);
    assert_eq!(pairs.len(), 29);
    let pairs = cfg.get(&[b"shutdown*", b"Shutdown-on-SIGINT"]);
    assert_eq!(pairs.len(), 3);
    assert!(cfg.get(&[b"["]).is_empty());
    assert!(cfg.get(&[b"p\\ort"]).is_empty());
    assert_eq!(cfg.get(&[b"p[o]rt"]).len(), 1);
    assert_eq!(cfg.get(&[b"P?RT"]), vec![("port".into(), "6379".into())]);
    assert!(cfg.get(&[b"nosuch"]).is_empty());
}
