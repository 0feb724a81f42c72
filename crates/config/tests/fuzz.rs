//! Property tests: untrusted input never panics the loader, CONFIG SET,
//! CONFIG GET, CONFIG REWRITE or the glob matcher.

mod common;

use proptest::prelude::*;
use redust_config::{config_names, glob_match, load_from_bytes_with, Config, LoadOptions};

fn opts(dir: &std::path::Path) -> LoadOptions<'static> {
    LoadOptions {
        base_dir: Some(dir.to_path_buf()),
        ..Default::default()
    }
}

/// Directives whose values touch the filesystem are left out of the
/// structured generator (random bytes may still contain them).
fn safe_names() -> Vec<&'static str> {
    config_names()
        .filter(|n| !matches!(*n, "dir" | "logfile"))
        .chain([
            "rename-command",
            "user",
            "loadmodule",
            "sentinel",
            "mod.opt",
            "slaveof",
            "list-max-ziplist-entries",
        ])
        .collect()
}

fn arg() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("yes".to_string()),
        Just("no".to_string()),
        Just("-1".to_string()),
        Just("0".to_string()),
        Just("99999999999999999999".to_string()),
        Just("1gb".to_string()),
        Just("10%".to_string()),
        Just("\"\"".to_string()),
        Just("\"a b\"".to_string()),
        Just("'x".to_string()),
        Just("\\x00".to_string()),
        "[ -~]{0,12}",
        "[0-9]{1,25}",
        any::<i64>().prop_map(|v| v.to_string()),
    ]
}

fn line() -> impl Strategy<Value = String> {
    let names = safe_names();
    (
        prop::sample::select(names),
        prop::collection::vec(arg(), 0..6),
        any::<bool>(),
    )
        .prop_map(|(name, args, upper)| {
            let name = if upper {
                name.to_ascii_uppercase()
            } else {
                name.to_string()
            };
            let mut s = name;
            for a in args {
                s.push(' ');
                s.push_str(&a);
            }
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic_the_loader(data in prop::collection::vec(any::<u8>(), 0..2048)) {
        let dir = common::temp_dir("fuzz-bytes");
        let _ = load_from_bytes_with(&data, opts(&dir));
    }

    #[test]
    fn random_directives_never_panic(lines in prop::collection::vec(line(), 0..24)) {
        let dir = common::temp_dir("fuzz-lines");
        let text = lines.join("\n");
        if let Ok(cfg) = load_from_bytes_with(text.as_bytes(), opts(&dir)) {
            // Whatever loaded can be listed and rewritten, and the rewrite
            // loads back.
            let _ = cfg.get(&[b"*"]);
            let content = cfg.rewrite_content(Some(text.as_bytes()), &Default::default());
            let _ = load_from_bytes_with(&content, opts(&dir));
        }
    }

    #[test]
    fn random_config_set_never_panics(
        pairs in prop::collection::vec((prop::sample::select(safe_names()), arg()), 1..6)
    ) {
        let mut cfg = Config::default();
        let before = cfg.clone();
        let raw: Vec<(&[u8], &[u8])> = pairs.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes())).collect();
        match cfg.set(&raw) {
            Ok(_) => { let _ = cfg.get(&[b"*"]); }
            Err(e) => {
                prop_assert!(e.starts_with("ERR ") || e.starts_with("LOADING "));
                prop_assert_eq!(cfg, before);
            }
        }
    }

    #[test]
    fn glob_never_panics(pattern in prop::collection::vec(prop::sample::select(b"*?[]^-\\ab".to_vec()), 0..40),
                         text in prop::collection::vec(prop::sample::select(b"ab-]^\\".to_vec()), 0..40),
                         nocase in any::<bool>()) {
        let _ = glob_match(&pattern, &text, nocase);
    }

    #[test]
    fn glob_star_prefix_suffix(prefix in "[a-c]{0,5}", middle in "[a-c]{0,5}", suffix in "[a-c]{0,5}") {
        let text = format!("{prefix}{middle}{suffix}");
        let pattern = format!("{prefix}*{suffix}");
        if !text.is_empty() {
            prop_assert!(glob_match(pattern.as_bytes(), text.as_bytes(), false));
        }
    }

    #[test]
    fn parse_memory_never_panics(data in prop::collection::vec(any::<u8>(), 0..40)) {
        let _ = redust_config::parse_memory(&data);
    }
}
