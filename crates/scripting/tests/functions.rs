//! The library loader on untrusted code: whatever the metadata line and the
//! Lua text, FUNCTION LOAD and RESTORE give a library or an error text, and
//! a failed load or restore leaves the loaded libraries as they were.

use proptest::prelude::*;
use redust_scripting::functions::{Functions, RestorePolicy};

fn functions() -> Functions {
    Functions::new("7.0.15", 0x00070f).unwrap()
}

const GOOD: &str = "#!lua name=good\nredis.register_function('f', function() return 1 end)";

fn names(f: &Functions) -> Vec<String> {
    f.libraries().map(|l| l.name.clone()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn any_code_loads_or_errs(
        meta in "#!(lua|LUA|x)?( name=[a-z_]{0,4})?( [a-z]+=[a-z]*)?\n?",
        body in "[a-z(){}'=., \n]{0,60}",
    ) {
        let mut f = functions();
        f.load(GOOD.as_bytes(), false).unwrap();
        let code = format!("{meta}{body}");
        match f.load(code.as_bytes(), false) {
            Ok(name) => prop_assert!(names(&f).contains(&name)),
            Err(e) => {
                prop_assert!(e.starts_with("ERR "), "{}", e);
                prop_assert_eq!(names(&f), vec!["good".to_string()]);
            }
        }
        for policy in [RestorePolicy::Append, RestorePolicy::Replace] {
            let before = names(&f);
            if f.restore(&[code.as_bytes().to_vec()], policy).is_err() {
                prop_assert_eq!(names(&f), before);
            }
        }
    }
}

#[test]
fn registration_rules_and_restore_policies() {
    let mut f = functions();
    assert_eq!(f.load(GOOD.as_bytes(), false).unwrap(), "good");
    assert_eq!(
        f.load(GOOD.as_bytes(), false).unwrap_err(),
        "ERR Library 'good' already exists"
    );
    // Function names are case-insensitive across libraries.
    let clash = "#!lua name=other\nredis.register_function('F', function() return 2 end)";
    assert_eq!(
        f.load(clash.as_bytes(), false).unwrap_err(),
        "ERR Function F already exists"
    );
    assert_eq!(f.function("F").map(|d| d.name.as_str()), Some("f"));
    let endless = "#!lua name=slow\nwhile true do end";
    assert_eq!(
        f.load(endless.as_bytes(), false).unwrap_err(),
        "ERR Error registering functions: ERR FUNCTION LOAD timeout"
    );
    let other = "#!lua name=other\nredis.register_function('g', function() return 2 end)";
    f.restore(&[other.as_bytes().to_vec()], RestorePolicy::Append)
        .unwrap();
    assert_eq!(names(&f), ["good", "other"]);
    assert_eq!(
        f.restore(&[other.as_bytes().to_vec()], RestorePolicy::Append)
            .unwrap_err(),
        "ERR Library other already exists"
    );
    f.restore(&[other.as_bytes().to_vec()], RestorePolicy::Replace)
        .unwrap();
    f.restore(&[other.as_bytes().to_vec()], RestorePolicy::Flush)
        .unwrap();
    assert_eq!(names(&f), ["other"]);
    assert!(f.function("f").is_none());
}
