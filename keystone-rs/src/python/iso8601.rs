//! The `iso8601` package's `parse_date` (2.1), which oslo's `timeutils.parse_isotime` wraps:
//! Keystone parses `expires_at` and the `password_expires_at` filter with it, and the
//! jsonschema `date-time` format checks with it.
//!
//! The package matches one regular expression and then builds a `datetime` from the groups
//! of the *first* match; a match whose fields make no date (`T24:00`, second 60, month 13)
//! is an error, not a reason to try another reading. [`parse_date`] walks the expression's
//! alternatives in the order Python's backtracking tries them, so it picks the same match:
//!
//! ```text
//! YYYY ( (-M{1,2} | MM(?!$)) ( (-D{1,2} | DD) ( [ T] hh (:?mm)? (:?s{1,2}([.,]f+)?)?
//!        (Z | [-+]hh:?(mm)?)? )? )? )? $
//! ```

use chrono::{NaiveDate, NaiveDateTime};

/// What `parse_date` returns: the wall-clock time and the zone written with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedDate {
    pub local: NaiveDateTime,
    /// Minutes east of UTC; `None` when the text has no zone (the package then assumes UTC).
    pub offset_minutes: Option<i32>,
}

impl ParsedDate {
    /// `timeutils.normalize_time`: the naive UTC time.
    pub fn utc(&self) -> NaiveDateTime {
        self.local - chrono::Duration::minutes(i64::from(self.offset_minutes.unwrap_or(0)))
    }
}

/// `timeutils.parse_isotime` followed by `normalize_time`; `None` where Python raises.
pub fn parse_isotime(text: &str) -> Option<NaiveDateTime> {
    parse_date(text).map(|d| d.utc())
}

/// The zone group as matched.
#[derive(Debug, Clone, Copy)]
enum Zone<'a> {
    Utc,
    Offset {
        negative: bool,
        hours: &'a str,
        minutes: Option<&'a str>,
    },
}

/// The groups of one match.
#[derive(Debug, Clone, Copy, Default)]
struct Groups<'a> {
    month: Option<&'a str>,
    day: Option<&'a str>,
    hour: Option<&'a str>,
    minute: Option<&'a str>,
    second: Option<&'a str>,
    fraction: Option<&'a str>,
    zone: Option<Zone<'a>>,
}

/// `iso8601.parse_date(text)`; `None` where it raises `ParseError`.
pub fn parse_date(text: &str) -> Option<ParsedDate> {
    let (year, groups) = first_match(text)?;
    build(year, &groups)
}

/// Exactly `n` ASCII digits at `pos`.
fn digits(text: &str, pos: usize, n: usize) -> Option<&str> {
    text.get(pos..pos + n)
        .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
}

fn byte_at(text: &str, pos: usize) -> Option<u8> {
    text.as_bytes().get(pos).copied()
}

/// Python's `$`: the end, or just before a final newline.
fn at_end(text: &str, pos: usize) -> bool {
    pos == text.len() || (pos + 1 == text.len() && text.ends_with('\n'))
}

/// `-D{1,2}` (two digits first), then the dashless `DD` form, preferred first.
fn dash_or_two<'a>(text: &'a str, pos: usize) -> Vec<(&'a str, usize)> {
    let mut out = Vec::new();
    if byte_at(text, pos) == Some(b'-') {
        for n in [2, 1] {
            if let Some(d) = digits(text, pos + 1, n) {
                out.push((d, pos + 1 + n));
            }
        }
    }
    if let Some(d) = digits(text, pos, 2) {
        out.push((d, pos + 2));
    }
    out
}

/// `(:{0,1}X)`: the colon taken first, then without it.
fn colon_then<'a, T>(
    text: &'a str,
    pos: usize,
    mut rest: impl FnMut(usize) -> Vec<(T, usize)>,
) -> Vec<(T, usize)> {
    let mut out = Vec::new();
    if byte_at(text, pos) == Some(b':') {
        out.extend(rest(pos + 1));
    }
    out.extend(rest(pos));
    out
}

/// `(:{0,1}mm){0,1}`.
fn minute_options(text: &str, pos: usize) -> Vec<(Option<&str>, usize)> {
    let mut out = colon_then(text, pos, |p| {
        digits(text, p, 2)
            .map(|m| vec![(Some(m), p + 2)])
            .unwrap_or_default()
    });
    out.push((None, pos));
    out
}

/// `(:{0,1}s{1,2}([.,]f+){0,1}){0,1}`: (second, fraction).
#[allow(clippy::type_complexity)]
fn second_options(text: &str, pos: usize) -> Vec<((Option<&str>, Option<&str>), usize)> {
    let mut out = colon_then(text, pos, |p| {
        let mut found = Vec::new();
        for n in [2, 1] {
            let Some(second) = digits(text, p, n) else {
                continue;
            };
            let after = p + n;
            if matches!(byte_at(text, after), Some(b'.' | b',')) {
                let run = text
                    .get(after + 1..)
                    .map(|s| s.bytes().take_while(u8::is_ascii_digit).count())
                    .unwrap_or(0);
                for len in (1..=run).rev() {
                    let fraction = text.get(after + 1..after + 1 + len);
                    found.push(((Some(second), fraction), after + 1 + len));
                }
            }
            found.push(((Some(second), None), after));
        }
        found
    });
    out.push(((None, None), pos));
    out
}

/// `(Z | [-+]hh:{0,1}(mm){0,1}){0,1}`.
fn zone_options(text: &str, pos: usize) -> Vec<(Option<Zone<'_>>, usize)> {
    let mut out = Vec::new();
    match byte_at(text, pos) {
        Some(b'Z') => out.push((Some(Zone::Utc), pos + 1)),
        Some(sign @ (b'+' | b'-')) => {
            if let Some(hours) = digits(text, pos + 1, 2) {
                let negative = sign == b'-';
                let zone = |minutes| Zone::Offset {
                    negative,
                    hours,
                    minutes,
                };
                out.extend(colon_then(text, pos + 3, |p| {
                    let mut found = Vec::new();
                    if let Some(m) = digits(text, p, 2) {
                        found.push((Some(zone(Some(m))), p + 2));
                    }
                    found.push((Some(zone(None)), p));
                    found
                }));
            }
        }
        _ => {}
    }
    out.push((None, pos));
    out
}

/// The first match in Python's order: the year, and the other groups.
fn first_match(text: &str) -> Option<(&str, Groups<'_>)> {
    let year = digits(text, 0, 4)?;
    let mut months = Vec::new();
    if byte_at(text, 4) == Some(b'-') {
        for n in [2, 1] {
            if let Some(m) = digits(text, 5, n) {
                months.push((m, 5 + n));
            }
        }
    }
    // `MM(?!$)`: no `YYYYMM`.
    if let Some(m) = digits(text, 4, 2).filter(|_| !at_end(text, 6)) {
        months.push((m, 6));
    }
    for (month, p1) in months {
        for (day, p2) in dash_or_two(text, p1) {
            let date = Groups {
                month: Some(month),
                day: Some(day),
                ..Groups::default()
            };
            if let Some(groups) = time_match(text, p2, date) {
                return Some((year, groups));
            }
            if at_end(text, p2) {
                return Some((year, date));
            }
        }
        if at_end(text, p1) {
            let groups = Groups {
                month: Some(month),
                ..Groups::default()
            };
            return Some((year, groups));
        }
    }
    at_end(text, 4).then(|| (year, Groups::default()))
}

/// `[ T]hh…` after the date, up to the end.
fn time_match<'a>(text: &'a str, pos: usize, date: Groups<'a>) -> Option<Groups<'a>> {
    if !matches!(byte_at(text, pos), Some(b' ' | b'T')) {
        return None;
    }
    let hour = digits(text, pos + 1, 2)?;
    for (minute, p1) in minute_options(text, pos + 3) {
        for ((second, fraction), p2) in second_options(text, p1) {
            for (zone, p3) in zone_options(text, p2) {
                if at_end(text, p3) {
                    return Some(Groups {
                        hour: Some(hour),
                        minute,
                        second,
                        fraction,
                        zone,
                        ..date
                    });
                }
            }
        }
    }
    None
}

/// `datetime(...)` from the groups; `None` where Python's constructor raises.
fn build(year: &str, g: &Groups<'_>) -> Option<ParsedDate> {
    let number = |s: Option<&str>, default: u32| s.map_or(Some(default), |s| s.parse().ok());
    // int(Decimal("0.<fraction>") * 1000000): the first six digits, truncated.
    let micros: u32 = match g.fraction {
        Some(f) => format!("{:0<6}", f.get(..6).unwrap_or(f)).parse().ok()?,
        None => 0,
    };
    let year: i32 = year.parse().ok()?;
    if year < 1 {
        return None;
    }
    let local = NaiveDate::from_ymd_opt(year, number(g.month, 1)?, number(g.day, 1)?)?
        .and_hms_micro_opt(
            number(g.hour, 0)?,
            number(g.minute, 0)?,
            number(g.second, 0)?,
            micros,
        )?;
    let offset_minutes = match g.zone {
        None => None,
        Some(Zone::Utc) => Some(0),
        Some(Zone::Offset {
            negative,
            hours,
            minutes,
        }) => {
            let total = i32::try_from(number(Some(hours), 0)? * 60 + number(minutes, 0)?).ok()?;
            // datetime.timezone refuses offsets of a day or more.
            if total >= 24 * 60 {
                return None;
            }
            Some(if negative { -total } else { total })
        }
    };
    Some(ParsedDate {
        local,
        offset_minutes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> Option<String> {
        parse_isotime(text).map(|t| t.format("%Y-%m-%d %H:%M:%S%.6f").to_string())
    }

    #[test]
    fn forms_the_package_reads() {
        // Outcomes of iso8601.parse_date 2.1 (normalised to naive UTC).
        for (text, expected) in [
            ("2030", "2030-01-01 00:00:00.000000"),
            ("2030-02", "2030-02-01 00:00:00.000000"),
            ("2030-1-1", "2030-01-01 00:00:00.000000"),
            ("20300102", "2030-01-02 00:00:00.000000"),
            ("2030-01-01T00", "2030-01-01 00:00:00.000000"),
            ("2030-01-01T00:00", "2030-01-01 00:00:00.000000"),
            ("2030-01-01 00:00:00Z", "2030-01-01 00:00:00.000000"),
            ("2030-01-01T00:00:00.5", "2030-01-01 00:00:00.500000"),
            ("2030-01-01T00:00:00,5", "2030-01-01 00:00:00.500000"),
            ("20300101T000000", "2030-01-01 00:00:00.000000"),
            ("2030-01-01T000000", "2030-01-01 00:00:00.000000"),
            ("2030-01-01T00:00:00.1234567", "2030-01-01 00:00:00.123456"),
            ("2016-12-08T22:02:00Z", "2016-12-08 22:02:00.000000"),
            ("2016-12-08T22:02:00.5+01:00", "2016-12-08 21:02:00.500000"),
            ("2016-12-08T22:02:00-0130", "2016-12-08 23:32:00.000000"),
            ("2016-12-08T22:02:00+01", "2016-12-08 21:02:00.000000"),
            ("2016-12-08T22:02:00Z\n", "2016-12-08 22:02:00.000000"),
            ("2030-01-01T00:00:5", "2030-01-01 00:00:05.000000"),
        ] {
            assert_eq!(utc(text).as_deref(), Some(expected), "{text}");
        }
    }

    #[test]
    fn forms_the_package_refuses() {
        for text in [
            "",
            "garbage",
            "203001",
            " 2030",
            "2030-01-01T",
            "2030-01-01T00:00:60",
            "2099-12-31T24:00:00",
            "2030-13-01",
            "2030-02-30",
            "0000-01-01T00:00:00",
            "2030-01-01T00:00:00+24:00",
            "2030-01-01T00:00:00+02:00Z",
            "2030-01-01T00:00:00.Z",
            "2030-01-01T00:00:00Z\n\n",
        ] {
            assert_eq!(utc(text), None, "{text}");
        }
        assert_eq!(
            parse_date("2030-01-01T01:00:00-05:00").map(|d| d.offset_minutes),
            Some(Some(-300))
        );
        assert_eq!(
            parse_date("2030-01-01T01:00").map(|d| d.offset_minutes),
            Some(None)
        );
    }
}
