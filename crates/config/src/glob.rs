//! Redis's glob-style matcher (`stringmatchlen` in `util.c`).
//!
//! This module owns pattern matching as used by CONFIG GET here and by KEYS,
//! SCAN MATCH and PSUBSCRIBE in the server: `*` (any run), `?` (any byte),
//! `[abc]`, `[a-z]`, `[^x]` (negation), and `\x` escapes, optionally ASCII
//! case-insensitive. Every quirk of the C version is kept (for example `[`
//! without a closing `]` and the fact that `*` does not match an empty
//! string — callers special-case a lone `*` as Redis does).
//!
//! The C version recurses once per `*`, stops recursing (no match) beyond a
//! nesting of 1000, and gives up early once a `*` tail failed everywhere
//! (`skipLongerMatches`). Here the recursion is an explicit heap-allocated
//! frame stack, so no pattern can exhaust the thread stack, and the same
//! nesting limit keeps the results identical to Redis 7.0.15 (whose Debian
//! build carries that limit).

/// Nesting depth beyond which a `*` sub-match is treated as "no match".
const MAX_NESTING: usize = 1000;

/// Outcome of matching from a given pattern/text position up to the next `*`.
enum Step {
    /// The whole pattern matched.
    Match,
    /// This (sub)match failed.
    NoMatch,
    /// A `*` needs a nested match of `pattern[after..]` against `text[at..]`
    /// for increasing `at`.
    Star { after: usize, at: usize },
}

/// Returns whether `text` matches the glob `pattern`, the way Redis's
/// `stringmatchlen(pattern, text, nocase)` does. Never panics and uses
/// bounded stack space for any input.
pub fn glob_match(pattern: &[u8], text: &[u8], nocase: bool) -> bool {
    let mut skip_longer = false;
    // Each frame is one active `*`: the pattern index just after it and the
    // text index of the current attempt.
    let mut frames: Vec<(usize, usize)> = Vec::new();
    let (mut pi, mut si) = (0usize, 0usize);
    loop {
        let step = if frames.len() > MAX_NESTING {
            Step::NoMatch
        } else {
            match_from(pattern, text, pi, si, nocase)
        };
        match step {
            Step::Match => return true,
            Step::Star { after, at } => {
                frames.push((after, at));
                pi = after;
                si = at;
            }
            Step::NoMatch => {
                // Return "no match" to the enclosing `*` loop(s).
                loop {
                    let Some(top) = frames.last_mut() else {
                        return false;
                    };
                    if skip_longer {
                        frames.pop();
                        continue;
                    }
                    top.1 += 1;
                    if top.1 < text.len() {
                        pi = top.0;
                        si = top.1;
                        break;
                    }
                    skip_longer = true;
                    frames.pop();
                }
            }
        }
    }
}

fn lower(b: u8) -> u8 {
    b.to_ascii_lowercase()
}

/// One non-recursive run of the C loop, from `pattern[pi..]` / `text[si..]`.
fn match_from(pattern: &[u8], text: &[u8], mut pi: usize, mut si: usize, nocase: bool) -> Step {
    let plen = pattern.len();
    let slen = text.len();
    // The C code reads `pattern[0]` even at the end (it sees the NUL
    // terminator); `at` returns 0 there, which matches none of `*?[]\^-`.
    let at = |i: usize| -> u8 { pattern.get(i).copied().unwrap_or(0) };

    while pi < plen && si < slen {
        match pattern[pi] {
            b'*' => {
                while pi + 1 < plen && pattern[pi + 1] == b'*' {
                    pi += 1;
                }
                if pi + 1 == plen {
                    return Step::Match;
                }
                return Step::Star {
                    after: pi + 1,
                    at: si,
                };
            }
            b'?' => {
                si += 1;
            }
            b'[' => {
                pi += 1;
                let not = at(pi) == b'^' && pi < plen;
                if not {
                    pi += 1;
                }
                let mut matched = false;
                let c = text[si];
                loop {
                    let remaining = plen.saturating_sub(pi);
                    if at(pi) == b'\\' && remaining >= 2 {
                        pi += 1;
                        if pattern[pi] == c {
                            matched = true;
                        }
                    } else if remaining > 0 && pattern[pi] == b']' {
                        break;
                    } else if remaining == 0 {
                        // Unterminated class: step back so the common
                        // advance below lands exactly at the end.
                        pi -= 1;
                        break;
                    } else if remaining >= 3 && pattern[pi + 1] == b'-' {
                        let mut start = pattern[pi];
                        let mut end = pattern[pi + 2];
                        let mut ch = c;
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        if nocase {
                            start = lower(start);
                            end = lower(end);
                            ch = lower(ch);
                        }
                        pi += 2;
                        if ch >= start && ch <= end {
                            matched = true;
                        }
                    } else if nocase {
                        if lower(pattern[pi]) == lower(c) {
                            matched = true;
                        }
                    } else if pattern[pi] == c {
                        matched = true;
                    }
                    pi += 1;
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return Step::NoMatch;
                }
                si += 1;
            }
            first => {
                let mut p = first;
                if first == b'\\' && plen - pi >= 2 {
                    pi += 1;
                    p = pattern[pi];
                }
                let equal = if nocase {
                    lower(p) == lower(text[si])
                } else {
                    p == text[si]
                };
                if !equal {
                    return Step::NoMatch;
                }
                si += 1;
            }
        }
        pi += 1;
        if si == slen {
            while pi < plen && pattern[pi] == b'*' {
                pi += 1;
            }
            break;
        }
    }
    if pi == plen && si == slen {
        Step::Match
    } else {
        Step::NoMatch
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    fn m(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), false)
    }

    #[test]
    fn basics() {
        assert!(m("h?llo", "hello"));
        assert!(m("h*llo", "heeeello"));
        assert!(m("h*llo", "hllo"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(m("h[b-a]llo", "hbllo"));
        assert!(m("a\\*c", "a*c"));
        assert!(!m("a\\*c", "abc"));
        assert!(m("*", "x"));
        // Redis's matcher does not match "*" against the empty string.
        assert!(!m("*", ""));
        assert!(m("", ""));
        assert!(!m("", "a"));
    }

    #[test]
    fn nocase() {
        assert!(glob_match(b"P?RT", b"port", true));
        assert!(glob_match(b"[A-Z]ort", b"port", true));
        assert!(!glob_match(b"P?RT", b"port", false));
    }

    #[test]
    fn unterminated_classes() {
        assert!(!m("[", "a"));
        assert!(m("[^", "a"));
        assert!(!m("a[", "ab"));
    }

    #[test]
    fn pathological_patterns_terminate() {
        let text = "a".repeat(5000);
        let pattern = "*a".repeat(3000) + "b";
        assert!(!glob_match(pattern.as_bytes(), text.as_bytes(), false));
        // Beyond 1000 nested stars Redis 7.0.15 (Debian) reports no match.
        let text = "a".repeat(1100);
        assert!(!glob_match(
            "*a".repeat(1100).as_bytes(),
            text.as_bytes(),
            false
        ));
        assert!(glob_match(
            "*a".repeat(900).as_bytes(),
            text.as_bytes(),
            false
        ));
    }
}
