//! Tidy: repository-wide rules that `cargo test` checks, each with its reason.
//!
//! * Every Rust module opens with a `//!` doc (crates' `src`, `tests`, `benches`
//!   and `examples`, and the fuzz targets): a newcomer learns what a file is for
//!   before reading it.
//! * No text file names a path on one machine (`/work`, `/home`,
//!   `/root` directories): scripts, tests and docs must work in any checkout,
//!   so they find things relative to the repository.
//! * Every Redis error reply text appears once in the crates' code: clients
//!   and tests match on these texts byte for byte, so each lives in a named
//!   constant (`redust_commands::errors`, `redust_config::messages`) that every
//!   site uses, and a fix to one is a fix to all.
//! * The Redis version we report is written once (`redust_resp::REDIS_VERSION`),
//!   so INFO, HELLO, `--version`, the logs and RDB files never disagree.
//!
//! The files are those git lists (tracked, plus untracked ones it does not
//! ignore), or, without git, a walk of the tree that skips build output and
//! tool caches. Rust source is read by a small lexer (comments, strings, char
//! literals, `#[cfg(test)]` items), not a parser: enough for rustfmt-formatted
//! code, and each rule says where it cuts corners.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

// ---------------------------------------------------------------------------
// the files
// ---------------------------------------------------------------------------

/// Directories never looked into: build output, version control, tool caches.
const SKIP_DIRS: &[&str] = &["target", ".git", "node_modules", "__pycache__", ".venv"];

/// The repository root: two levels above this crate.
fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// Every file of the repository, relative to `root`, with `/` separators, sorted.
fn repo_files(root: &Path) -> Vec<String> {
    let mut files = git_files(root).unwrap_or_else(|| {
        let mut found = Vec::new();
        walk(root, "", &mut found);
        found
    });
    files.retain(|f| !f.split('/').any(|part| SKIP_DIRS.contains(&part)) && root.join(f).is_file());
    files.sort();
    files.dedup();
    files
}

/// What `git ls-files` lists (tracked files, and untracked ones not ignored), or
/// None without git or outside a repository.
fn git_files(root: &Path) -> Option<Vec<String>> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let files: Vec<String> = out
        .stdout
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    if files.is_empty() {
        None
    } else {
        Some(files)
    }
}

/// Collects the files under `dir` (whose path relative to the root is `rel`),
/// not following symbolic links.
fn walk(dir: &Path, rel: &str, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            if !SKIP_DIRS.contains(&name.as_str()) {
                walk(&entry.path(), &path, out);
            }
        } else if kind.is_file() {
            out.push(path);
        }
    }
}

/// The file's text, or None when it is not UTF-8 (binary data).
fn read_text(root: &Path, path: &str) -> Option<String> {
    fs::read_to_string(root.join(path)).ok()
}

/// Whether `path` is Rust source in a crate's `src` (tests modules included).
fn is_crate_src(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    path.ends_with(".rs") && matches!(parts.as_slice(), ["crates", _, "src", _, ..])
}

/// Panics with `rule` and every offending place, one a line, if there are any.
fn assert_clean(rule: &str, offences: &[String]) {
    if !offences.is_empty() {
        panic!(
            "{rule}\n{} offending place(s):\n  {}\n",
            offences.len(),
            offences.join("\n  ")
        );
    }
}

/// Panics when the listing found almost nothing: a broken listing would
/// otherwise pass every rule.
fn assert_found(what: &str, count: usize, root: &Path) {
    assert!(
        count >= 5,
        "tidy found only {count} {what} under {}: is the file listing broken?",
        root.display()
    );
}

// ---------------------------------------------------------------------------
// a: module docs
// ---------------------------------------------------------------------------

/// Whether `path` is a Rust module that must open with a `//!` doc.
fn needs_module_doc(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    path.ends_with(".rs")
        && match parts.as_slice() {
            ["crates", _, dir, _, ..] => {
                matches!(*dir, "src" | "tests" | "benches" | "examples")
            }
            ["fuzz", "fuzz_targets", _, ..] => true,
            _ => false,
        }
}

#[test]
fn every_rust_module_opens_with_a_module_doc() {
    let root = repo_root();
    let mut checked = 0;
    let mut offences = Vec::new();
    for path in repo_files(&root).iter().filter(|p| needs_module_doc(p)) {
        checked += 1;
        let Some(text) = read_text(&root, path) else {
            offences.push(format!("{path}: not UTF-8"));
            continue;
        };
        match text.lines().enumerate().find(|(_, l)| !l.trim().is_empty()) {
            Some((_, first)) if first.trim_start().starts_with("//!") => {}
            Some((i, first)) => offences.push(format!("{path}:{}: {}", i + 1, first.trim())),
            None => offences.push(format!("{path}: empty file")),
        }
    }
    assert_found("Rust modules", checked, &root);
    assert_clean(
        "Every Rust module (crates/*/{src,tests,benches,examples}, fuzz/fuzz_targets) must \
         open with a `//!` doc saying what it is for; its first non-blank line is not one:",
        &offences,
    );
}

// ---------------------------------------------------------------------------
// b: no absolute machine paths
// ---------------------------------------------------------------------------

/// The extensions of text files checked for machine paths.
const TEXT_EXTENSIONS: &[&str] = &[
    "rs", "py", "sh", "md", "toml", "txt", "js", "json", "yml", "yaml", "conf", "c", "ini", "tsv",
];

/// Whether `path` is a text file checked for machine paths.
fn is_checked_text(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    path == ".ci/run"
        || name
            .rsplit_once('.')
            .is_some_and(|(stem, ext)| !stem.is_empty() && TEXT_EXTENSIONS.contains(&ext))
}

/// The directories that only exist on one machine: a checkout's parent and
/// home directories. (System paths such as `/tmp`, `/usr/bin` or `/proc` are
/// the same everywhere and allowed.) Built from pieces so this file passes.
fn machine_dirs() -> Vec<String> {
    ["work", "home", "root"]
        .iter()
        .map(|d| format!("/{d}/"))
        .collect()
}

/// Whether `line` names one of `dirs` as an absolute path: the directory must
/// start a path, not continue one (`https://host/home/`, `~/work/`, `src/root/`
/// are not absolute machine paths).
fn names_machine_path(line: &str, dirs: &[String]) -> bool {
    dirs.iter().any(|dir| {
        line.match_indices(dir.as_str()).any(|(at, _)| {
            let before = line[..at].chars().next_back();
            !before.is_some_and(|c| c.is_alphanumeric() || "._-~/".contains(c))
        })
    })
}

#[test]
fn no_text_file_names_a_path_on_one_machine() {
    let root = repo_root();
    let dirs = machine_dirs();
    let mut checked = 0;
    let mut offences = Vec::new();
    for path in repo_files(&root).iter().filter(|p| is_checked_text(p)) {
        let Some(text) = read_text(&root, path) else {
            continue;
        };
        checked += 1;
        for (i, line) in text.lines().enumerate() {
            if names_machine_path(line, &dirs) {
                let line = line.trim();
                let shown: String = line.chars().take(160).collect();
                offences.push(format!("{path}:{}: {shown}", i + 1));
            }
        }
    }
    assert_found("text files", checked, &root);
    assert_clean(
        "Text files must not name directories that exist on one machine only (absolute \
         paths into /work, /home or /root): find files relative to the repository (the \
         script's or test's own location, CARGO_MANIFEST_DIR) or take them from an \
         environment variable:",
        &offences,
    );
}

// ---------------------------------------------------------------------------
// the Rust lexer
// ---------------------------------------------------------------------------

/// A string literal in Rust source.
struct Literal {
    /// The line it starts on, from 1.
    line: usize,
    /// Its text between the quotes, escapes as written (`\"`, `\r\n`).
    text: String,
}

/// The string literals (plain, byte, C and raw) of the Rust source `src`,
/// outside comments and outside test code.
///
/// Test code is what a `#[cfg(test)]` attribute marks: from the attribute to
/// the brace that closes the first `{` after it (a `tests` module, a test-only
/// function or impl). A `;` before any `{` ends the attribute's reach
/// (`#[cfg(test)] use ...;`, `mod tests;`). Other spellings (`cfg(all(test,
/// ...))`) are not recognised: their literals count as code.
fn string_literals(src: &str) -> Vec<Literal> {
    let b = src.as_bytes();
    let n = b.len();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    // Brace depth; the depth a test item's body opened at, while inside one.
    let mut depth = 0usize;
    let mut test_pending = false;
    let mut test_depth: Option<usize> = None;
    while i < n {
        match b[i] {
            b'\n' => {
                line += 1;
                i += 1;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < n && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                // Block comments nest.
                let mut nesting = 0usize;
                while i < n {
                    if b[i..].starts_with(b"/*") {
                        nesting += 1;
                        i += 2;
                    } else if b[i..].starts_with(b"*/") {
                        nesting -= 1;
                        i += 2;
                        if nesting == 0 {
                            break;
                        }
                    } else {
                        if b[i] == b'\n' {
                            line += 1;
                        }
                        i += 1;
                    }
                }
            }
            b'#' if b[i..].starts_with(b"#[cfg(test)]") => {
                if test_depth.is_none() {
                    test_pending = true;
                }
                i += b"#[cfg(test)]".len();
            }
            b'{' => {
                if test_pending && test_depth.is_none() {
                    test_depth = Some(depth);
                }
                test_pending = false;
                depth += 1;
                i += 1;
            }
            b'}' => {
                depth = depth.saturating_sub(1);
                if test_depth == Some(depth) {
                    test_depth = None;
                }
                i += 1;
            }
            b';' => {
                test_pending = false;
                i += 1;
            }
            b'\'' => i = skip_char_or_lifetime(src, i),
            b'"' => {
                let start = i + 1;
                let first_line = line;
                let mut j = start;
                while j < n && b[j] != b'"' {
                    if b[j] == b'\\' {
                        // The escaped byte: a quote, a backslash, a newline...
                        j += 1;
                    }
                    if j < n && b[j] == b'\n' {
                        line += 1;
                    }
                    j += 1;
                }
                let end = j.min(n);
                if test_depth.is_none() {
                    out.push(Literal {
                        line: first_line,
                        text: src[start..end].to_string(),
                    });
                }
                i = end + 1;
            }
            c if c == b'_' || c.is_ascii_alphanumeric() => {
                // A word: an identifier, keyword or number, or the prefix of a
                // byte, C or raw string (`b"`, `c"`, `r"`, `br#"`).
                let start = i;
                while i < n && (b[i] == b'_' || b[i].is_ascii_alphanumeric()) {
                    i += 1;
                }
                let word = &b[start..i];
                if matches!(word, b"r" | b"br" | b"cr") {
                    if let Some((text_start, text_end, after)) = raw_string(b, i) {
                        if test_depth.is_none() {
                            let text = src[text_start..text_end].to_string();
                            out.push(Literal { line, text });
                        }
                        line += src[text_start..text_end].matches('\n').count();
                        i = after;
                    }
                }
            }
            _ => i += 1,
        }
    }
    out
}

/// At `i`, a `'` opening a char or byte literal or a lifetime or label: the
/// position after it. (So `'"'` opens no string.)
fn skip_char_or_lifetime(src: &str, i: usize) -> usize {
    let b = src.as_bytes();
    if b.get(i + 1) == Some(&b'\\') {
        // An escape: '\n', '\'', '\\', '\u{..}'. Its closing quote comes after
        // the escaped character.
        let mut j = i + 3;
        while j < b.len() && b[j] != b'\'' {
            j += 1;
        }
        return j + 1;
    }
    match src[i + 1..].chars().next() {
        Some(c) if b.get(i + 1 + c.len_utf8()) == Some(&b'\'') => i + 2 + c.len_utf8(),
        // A lifetime or a label.
        _ => i + 1,
    }
}

/// At `i`, just after an `r` prefix: if a raw string follows (`#`s, then `"`),
/// where its text starts and ends and the position after it.
fn raw_string(b: &[u8], i: usize) -> Option<(usize, usize, usize)> {
    let hashes = b[i..].iter().take_while(|&&c| c == b'#').count();
    if b.get(i + hashes) != Some(&b'"') {
        return None; // a raw identifier (`r#type`) or a plain word
    }
    let start = i + hashes + 1;
    let mut close = vec![b'"'];
    close.extend(std::iter::repeat_n(b'#', hashes));
    let end = b[start..]
        .windows(close.len())
        .position(|w| w == close.as_slice())
        .map_or(b.len(), |k| start + k);
    Some((start, end, (end + close.len()).min(b.len())))
}

/// The code's string literals in every crate's `src`, with their file.
fn crate_src_literals(root: &Path) -> Vec<(String, Literal)> {
    let mut all = Vec::new();
    for path in repo_files(root).into_iter().filter(|p| is_crate_src(p)) {
        let Some(text) = read_text(root, &path) else {
            continue;
        };
        for literal in string_literals(&text) {
            all.push((path.clone(), literal));
        }
    }
    all
}

#[test]
fn the_lexer_sees_strings_not_comments_chars_or_test_code() {
    let src = r##"//! doc "not a literal"
/* block /* nested "no" */ "still no" */
fn f<'a>(x: &'a str) -> char {
    let q = '"';
    let e = '\'';
    let s = "one \"quoted\" {}";
    let b = b"two";
    let r = r#"three "raw""#;
    let br = br"four\";
    '\\'
}
#[cfg(test)]
mod tests {
    fn t() { let _ = "test only"; }
}
#[cfg(test)]
use std::fmt;
const AFTER: &str = "five";
"##;
    let literals = string_literals(src);
    let found: Vec<(usize, &str)> = literals.iter().map(|l| (l.line, l.text.as_str())).collect();
    assert_eq!(
        found,
        vec![
            (6, r#"one \"quoted\" {}"#),
            (7, "two"),
            (8, r#"three "raw""#),
            (9, r"four\"),
            (18, "five"),
        ]
    );
}

// ---------------------------------------------------------------------------
// c: each error reply text once
// ---------------------------------------------------------------------------

/// How Redis error replies start: the `ERR` and specific error codes.
const ERROR_PREFIXES: &[&str] = &[
    "ERR ",
    "WRONGTYPE ",
    "NOAUTH",
    "LOADING ",
    "EXECABORT ",
    "READONLY ",
    "MASTERDOWN ",
    "NOREPLICAS ",
    "MISCONF ",
    "OOM ",
    "BUSY",
    "NOPERM",
    "WRONGPASS",
    "NOPROTO",
    "NOSCRIPT",
    "NOMASTERLINK",
    "UNBLOCKED",
    "NOTBUSY",
];

/// The error reply text a literal spells out in full, if it is one: it starts
/// with an error code (after an optional `-`), has no `{` (format strings build
/// their text from parts) and is longer than 12 characters (shorter ones are
/// prefixes matched against replies, `"-NOAUTH"`). The wire form's `-` and
/// `\r\n` are dropped, so `"-ERR x\r\n"` and `"ERR x"` are the same text.
fn error_text(literal: &str) -> Option<&str> {
    let text = literal.strip_prefix('-').unwrap_or(literal);
    let text = text.strip_suffix("\\r\\n").unwrap_or(text);
    let is_error = ERROR_PREFIXES.iter().any(|p| text.starts_with(p));
    (is_error && !text.contains('{') && text.len() > 12).then_some(text)
}

#[test]
fn each_error_reply_text_is_written_once() {
    let root = repo_root();
    let literals = crate_src_literals(&root);
    assert_found("string literals in crates/*/src", literals.len(), &root);
    let mut places: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (path, literal) in &literals {
        if let Some(text) = error_text(&literal.text) {
            places
                .entry(text)
                .or_default()
                .push(format!("{path}:{}", literal.line));
        }
    }
    let offences: Vec<String> = places
        .iter()
        .filter(|(_, at)| at.len() > 1)
        .map(|(text, at)| format!("\"{text}\" at {}", at.join(", ")))
        .collect();
    assert_clean(
        "Each Redis error reply text must be written once in crates/*/src (test code \
         excepted): make it a constant in redust_commands::errors (or the lowest crate \
         every user depends on, e.g. redust_config::messages) and use that at each site. \
         Texts written more than once:",
        &offences,
    );
}

// ---------------------------------------------------------------------------
// d: the Redis version once
// ---------------------------------------------------------------------------

/// Where the version we report is defined, and how the line reads.
const VERSION_FILE: &str = "crates/resp/src/lib.rs";
const VERSION_DEF: &str = "pub const REDIS_VERSION: &str = \"";

#[test]
fn the_redis_version_is_written_once() {
    let root = repo_root();
    let lib = read_text(&root, VERSION_FILE).unwrap_or_default();
    let version = lib
        .lines()
        .find_map(|l| l.trim().strip_prefix(VERSION_DEF)?.strip_suffix("\";"))
        .unwrap_or_else(|| {
            panic!("{VERSION_FILE} should define `{VERSION_DEF}...\";`, where tidy reads it")
        })
        .to_string();
    let places: Vec<String> = crate_src_literals(&root)
        .iter()
        .filter(|(_, literal)| literal.text.contains(&version))
        .map(|(path, literal)| format!("{path}:{}: \"{}\"", literal.line, literal.text))
        .collect();
    assert!(
        places.len() == 1,
        "The Redis version ({version}) must be written once in crates/*/src (test code \
         excepted), as redust_resp::REDIS_VERSION: use that constant (format it into longer \
         texts). String literals holding it ({}):\n  {}\n",
        places.len(),
        places.join("\n  ")
    );
}

/// The workspace crates each crate depends on (`[dependencies]`, by short
/// name: `redust-engine` is `engine`), read from the `Cargo.toml` files.
fn crate_graph_in_manifests(root: &Path) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut graph = std::collections::BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(root.join("crates")) else {
        return graph;
    };
    for entry in entries.flatten() {
        let Ok(manifest) = std::fs::read_to_string(entry.path().join("Cargo.toml")) else {
            continue;
        };
        let mut deps = Vec::new();
        let mut in_deps = false;
        for line in manifest.lines() {
            let line = line.trim();
            if line.starts_with('[') {
                in_deps = line == "[dependencies]";
                continue;
            }
            if in_deps {
                if let Some(name) = line.strip_prefix("redust-") {
                    let name: String = name
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                        .collect();
                    deps.push(name);
                }
            }
        }
        deps.sort();
        graph.insert(entry.file_name().to_string_lossy().into_owned(), deps);
    }
    graph
}

/// The block after `<!-- crate graph: checked by tidy -->` in ARCHITECTURE.md:
/// one `crate -> deps...` line per crate.
fn crate_graph_in_architecture(root: &Path) -> std::collections::BTreeMap<String, Vec<String>> {
    let text = read_text(root, "ARCHITECTURE.md").unwrap_or_default();
    let mut graph = std::collections::BTreeMap::new();
    let Some(start) = text.find("<!-- crate graph: checked by tidy -->") else {
        return graph;
    };
    let mut fences = 0;
    for line in text[start..].lines().skip(1) {
        if line.starts_with("```") {
            fences += 1;
            if fences == 2 {
                break;
            }
            continue;
        }
        if let Some((name, deps)) = line.split_once("->") {
            let mut deps: Vec<String> = deps.split_whitespace().map(str::to_string).collect();
            deps.sort();
            graph.insert(name.trim().to_string(), deps);
        }
    }
    graph
}

#[test]
fn the_crate_graph_is_the_one_architecture_md_draws() {
    let root = repo_root();
    let manifests = crate_graph_in_manifests(&root);
    let documented = crate_graph_in_architecture(&root);
    assert!(
        manifests.len() > 5,
        "no crates found under {}",
        root.display()
    );
    let mut offences = Vec::new();
    for (name, deps) in &manifests {
        match documented.get(name) {
            None => offences.push(format!("crate {name} is not in ARCHITECTURE.md's graph")),
            Some(d) if d != deps => offences.push(format!(
                "{name}: Cargo.toml says -> {}, ARCHITECTURE.md says -> {}",
                deps.join(" "),
                d.join(" ")
            )),
            _ => {}
        }
    }
    for name in documented.keys() {
        if !manifests.contains_key(name) {
            offences.push(format!(
                "ARCHITECTURE.md names crate {name}, which does not exist"
            ));
        }
    }
    assert_clean(
        "ARCHITECTURE.md's crate graph (the block after `<!-- crate graph: checked by tidy -->`) must match the crates' [dependencies]",
        &offences,
    );
}
