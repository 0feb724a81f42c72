//! Splitting a text line into arguments the way Redis's `sdssplitargs` does.
//!
//! Used for inline commands and for `redis.conf` lines: words are separated by
//! whitespace; `"..."` understands `\n \r \t \b \a \\ \" \xHH` escapes; `'...'`
//! understands only `\'`. A closing quote must be followed by whitespace or the
//! end of the line, otherwise the whole line is rejected (unbalanced quotes).

/// Splits `line` into arguments; `None` means unbalanced or malformed quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut args = Vec::new();
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= n {
            return Some(args);
        }
        let mut current = Vec::new();
        let mut in_double = false;
        let mut in_single = false;
        loop {
            if in_double {
                if i >= n {
                    return None;
                }
                let c = line[i];
                if c == b'\\'
                    && i + 3 < n
                    && line[i + 1] == b'x'
                    && line[i + 2].is_ascii_hexdigit()
                    && line[i + 3].is_ascii_hexdigit()
                {
                    current.push(hex_value(line[i + 2]) * 16 + hex_value(line[i + 3]));
                    i += 3;
                } else if c == b'\\' && i + 1 < n {
                    i += 1;
                    current.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    // The closing quote must be followed by a space or nothing.
                    if i + 1 < n && !line[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    current.push(c);
                }
            } else if in_single {
                if i >= n {
                    return None;
                }
                let c = line[i];
                if c == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    i += 1;
                    current.push(b'\'');
                } else if c == b'\'' {
                    if i + 1 < n && !line[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    current.push(c);
                }
            } else {
                if i >= n {
                    break;
                }
                match line[i] {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => {
                        i += 1;
                        break;
                    }
                    b'"' => in_double = true,
                    b'\'' => in_single = true,
                    c => current.push(c),
                }
            }
            i += 1;
        }
        args.push(current);
    }
}

fn hex_value(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::split_args;

    fn split(s: &str) -> Option<Vec<String>> {
        split_args(s.as_bytes()).map(|v| {
            v.into_iter()
                .map(|a| String::from_utf8(a).unwrap())
                .collect()
        })
    }

    #[test]
    fn plain_words_split_on_whitespace() {
        assert_eq!(
            split("  set  a\tb "),
            Some(vec!["set".into(), "a".into(), "b".into()])
        );
        assert_eq!(split(""), Some(vec![]));
    }

    #[test]
    fn double_quotes_understand_escapes() {
        assert_eq!(
            split(r#"set "a b" "\x41\n""#),
            Some(vec!["set".into(), "a b".into(), "A\n".into()])
        );
        assert_eq!(split(r#""""#), Some(vec!["".into()]));
    }

    #[test]
    fn single_quotes_are_literal_except_quote() {
        assert_eq!(split(r"'a\n\'b'"), Some(vec![r"a\n'b".into()]));
    }

    #[test]
    fn unbalanced_or_glued_quotes_are_rejected() {
        assert_eq!(split(r#"set "a"#), None);
        assert_eq!(split(r#"set "a"b"#), None);
        assert_eq!(split("set 'a"), None);
    }
}
