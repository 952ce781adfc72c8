//! Python's `str` methods on single characters and lines, where Rust's differ.

/// `str.isspace()` for one character (what `\s` means in a `str` pattern): Unicode
/// whitespace plus the four ASCII separators U+001C..U+001F, which Rust does not count.
pub fn isspace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `str.strip()` with no argument.
pub fn strip(s: &str) -> &str {
    s.trim_matches(isspace)
}

/// An approximation of `str.isprintable()` for one non-ASCII character: control,
/// separator, format and private-use characters are not printable. (Unassigned code points,
/// which Python also escapes, would need Unicode tables and are treated as printable.)
pub fn isprintable(c: char) -> bool {
    let code = c as u32;
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let format_chars = [
        (0x00ad, 0x00ad),
        (0x0600, 0x0605),
        (0x061c, 0x061c),
        (0x06dd, 0x06dd),
        (0x070f, 0x070f),
        (0x0890, 0x0891),
        (0x08e2, 0x08e2),
        (0x180e, 0x180e),
        (0x200b, 0x200f),
        (0x202a, 0x202e),
        (0x2060, 0x2064),
        (0x2066, 0x206f),
        (0xfeff, 0xfeff),
        (0xfff9, 0xfffb),
        (0x110bd, 0x110bd),
        (0x110cd, 0x110cd),
        (0x13430, 0x1343f),
        (0x1bca0, 0x1bca3),
        (0x1d173, 0x1d17a),
        (0xe0001, 0xe0001),
        (0xe0020, 0xe007f),
    ];
    let private_use = [(0xe000, 0xf8ff), (0xf0000, 0xffffd), (0x100000, 0x10fffd)];
    let noncharacters = code & 0xfffe == 0xfffe || (0xfdd0..=0xfdef).contains(&code);
    !(noncharacters
        || format_chars
            .iter()
            .chain(private_use.iter())
            .any(|&(lo, hi)| (lo..=hi).contains(&code)))
}

/// `str.splitlines(keepends=True)`: every line with its end; `\r\n` is one end.
pub fn splitlines_keepends(s: &str) -> Vec<&str> {
    let is_break = |c: char| {
        matches!(
            c,
            '\n' | '\r'
                | '\u{b}'
                | '\u{c}'
                | '\u{1c}'
                | '\u{1d}'
                | '\u{1e}'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        )
    };
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if !is_break(c) {
            continue;
        }
        let mut end = i + c.len_utf8();
        if c == '\r' && chars.peek().is_some_and(|&(_, n)| n == '\n') {
            chars.next();
            end += 1;
        }
        out.push(&s[start..end]);
        start = end;
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn space_and_lines_match_python() {
        assert!(isspace('\u{1f}') && isspace('\u{a0}') && !isspace('x'));
        assert_eq!(strip("\u{1c} a b\u{3000}"), "a b");
        assert_eq!(
            splitlines_keepends("a\r\nb\rc\u{2028}d\n"),
            vec!["a\r\n", "b\r", "c\u{2028}", "d\n"]
        );
        assert_eq!(splitlines_keepends("x"), vec!["x"]);
        assert!(splitlines_keepends("").is_empty());
    }
}
