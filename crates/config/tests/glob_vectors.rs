//! `glob_match` against KEYS results of redis-server 7.0.15 (case-sensitive)
//! for a grid of patterns and keys.

use redust_config::glob_match;

#[test]
fn matches_redis_keys_results() {
    let data = include_str!("data/glob-vectors.tsv");
    let mut n = 0;
    for line in data.lines() {
        let mut parts = line.split('\t');
        let (p, k, r) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        assert_eq!(
            glob_match(p.as_bytes(), k.as_bytes(), false),
            r == "1",
            "pattern {p:?} key {k:?}"
        );
        n += 1;
    }
    assert!(n > 1000);
}
