//! Python's `uuid.UUID(some_string)` acceptance rule, reproduced exactly.
//!
//! Keystone packs an id as 16 raw bytes whenever `uuid.UUID(id)` accepts it, and Python
//! accepts far more than canonical UUIDs (dashes anywhere, braces, `urn:`/`uuid:`
//! anywhere, a `0x` prefix, `_` between digits, surrounding whitespace, a `+` sign). A token
//! minted here must carry the same bytes Python would put in for the same id, otherwise
//! the two implementations decode one user to two different ids (spec §3.1 "Trap").
//!
//! Known difference: Python's `int()` also accepts non-ASCII decimal digits (e.g.
//! Arabic-Indic digits); those are rejected here, so such an id is packed as a string.

/// The 16 big-endian bytes Python's `uuid.UUID(value).bytes` gives, or `None` where
/// Python raises `ValueError`.
pub fn python_uuid_bytes(value: &str) -> Option<[u8; 16]> {
    let without_prefixes = value.replace("urn:", "").replace("uuid:", "");
    let hex = without_prefixes
        .trim_matches(|c| c == '{' || c == '}')
        .replace('-', "");
    if hex.chars().count() != 32 {
        return None;
    }
    let number = python_int_base16(&hex)?;
    Some(number.to_be_bytes())
}

/// Canonical Keystone rendering of UUID bytes: 32 lowercase hex digits (`uuid.hex`).
pub fn uuid_hex(bytes: &[u8; 16]) -> String {
    // uuid's own simple (hyphenless, lowercase) form is exactly Python's `uuid.hex`.
    uuid::Uuid::from_bytes(*bytes).simple().to_string()
}

/// `int(text, 16)` for at most 32 characters, so the value always fits 128 bits.
fn python_int_base16(text: &str) -> Option<u128> {
    // `int()` strips Unicode White_Space (but not U+001C..U+001F, which `str.isspace()`
    // would count) — exactly Rust's notion of whitespace.
    let trimmed = text.trim_matches(char::is_whitespace);
    let unsigned = match trimmed.strip_prefix('+') {
        Some(rest) => rest,
        // A '-' cannot reach here: the caller removed every dash.
        None => trimmed,
    };
    // After a base prefix Python allows one underscore before the first digit.
    let (digits, underscore_may_lead) = match unsigned
        .strip_prefix("0x")
        .or_else(|| unsigned.strip_prefix("0X"))
    {
        Some(rest) => (rest, true),
        None => (unsigned, false),
    };
    let mut value: u128 = 0;
    let mut seen_digit = false;
    let mut previous_was_underscore = false;
    for (position, c) in digits.chars().enumerate() {
        if c == '_' {
            let allowed_here = if position == 0 {
                underscore_may_lead
            } else {
                !previous_was_underscore
            };
            if !allowed_here {
                return None;
            }
            previous_was_underscore = true;
            continue;
        }
        let digit = c.to_digit(16)?;
        value = value.checked_mul(16)?.checked_add(u128::from(digit))?;
        seen_digit = true;
        previous_was_underscore = false;
    }
    if !seen_digit || previous_was_underscore {
        return None;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef";

    fn accepted(s: &str) -> Option<String> {
        python_uuid_bytes(s).map(|b| uuid_hex(&b))
    }

    #[test]
    fn canonical_and_dashed_forms_are_uuids() {
        assert_eq!(accepted(HEX).as_deref(), Some(HEX));
        assert_eq!(
            accepted("01234567-89AB-CDEF-0123-456789ABCDEF").as_deref(),
            Some(HEX)
        );
        assert_eq!(
            accepted("{urn:uuid:01234567-89ab-cdef-0123-456789abcdef}").as_deref(),
            Some(HEX)
        );
        assert_eq!(
            accepted("0-1-2-3456789abcdef0123456789abcdef").as_deref(),
            Some(HEX)
        );
    }

    #[test]
    fn python_int_oddities_are_accepted() {
        // These all pass `uuid.UUID()` in CPython 3.11 (checked against the peer).
        assert_eq!(
            accepted("0x23456789abcdef0123456789abcdef").as_deref(),
            Some("0023456789abcdef0123456789abcdef")
        );
        assert_eq!(
            accepted(" 123456789abcdef0123456789abcdef").as_deref(),
            Some("0123456789abcdef0123456789abcdef")
        );
        assert_eq!(
            accepted("\u{3000}123456789abcdef0123456789abcdef").as_deref(),
            Some("0123456789abcdef0123456789abcdef")
        );
        assert_eq!(
            accepted("+123456789abcdef0123456789abcdef").as_deref(),
            Some("0123456789abcdef0123456789abcdef")
        );
        assert_eq!(
            accepted("0_23456789abcdef0123456789abcdef").as_deref(),
            Some("0023456789abcdef0123456789abcdef")
        );
        assert_eq!(
            accepted("0x_3456789abcdef0123456789abcdef").as_deref(),
            Some("0003456789abcdef0123456789abcdef")
        );
    }

    #[test]
    fn non_uuids_are_rejected() {
        for s in [
            "",
            "default",
            "alice@example.org",
            "c4d2cd0a4e2ad0e3d4b3c27ed5e4bc9d0e4c0f4a2a5c2c8a0f7f2b1e3d4c5b6a",
            "0123456789abcdef0123456789abcdeg",
            "0123456789abcdef0123456789abcde",
            "_123456789abcdef0123456789abcdef",
            "0__23456789abcdef0123456789abcde",
            "0123456789abcdef0123456789abcde_",
            "0123456789abcdef 123456789abcdef",
            "                                ",
            "0x                              ",
            "++23456789abcdef0123456789abcdef",
            "é123456789abcdef0123456789abcdef",
            "\u{1c}123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(accepted(s), None, "{s:?}");
        }
    }
}
