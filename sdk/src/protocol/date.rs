//! Calendar arithmetic shared by the protocols, and CloudStack's date format.
//!
//! Written by hand (Howard Hinnant's days-from-civil) rather than pulling a date crate into the
//! wasm build for two fixed formats. Parsers return `None` rather than an error: a date the SDK
//! cannot read is kept as the server's raw string by the callers, never a reason to reject a body.

/// A calendar date: year, month (1–12), day (1–31).
pub type Ymd = (i64, u32, u32);

/// A wall-clock time: hour (0–23), minute, second.
pub type Hms = (u32, u32, u32);

/// Days since 1970-01-01 of a proleptic Gregorian date (the inverse of CloudStack signing's
/// `civil_from_days`). Does not validate; see [`unix_seconds`] for that.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let month = i64::from(month);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// True for Gregorian leap years.
pub fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Days in `month` (1–12) of `year`; 0 for a month out of range.
pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// A wall-clock time at `offset_seconds` east of UTC, as Unix seconds.
///
/// `None` when a field is out of range (month 13, 31 April, 29 February of a common year, hour
/// 24, second 60 — leap seconds are not representable in Unix time anyway) or the offset is
/// beyond ±18 h, the widest any zone uses.
pub fn unix_seconds((year, month, day): Ymd, (hour, minute, second): Hms, offset_seconds: i32) -> Option<i64> {
    let valid = (1..=9999).contains(&year)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60
        && offset_seconds.unsigned_abs() <= 18 * 3600;
    if !valid {
        return None;
    }
    let local = days_from_civil(year, month, day) * 86_400
        + i64::from(hour) * 3600
        + i64::from(minute) * 60
        + i64::from(second);
    Some(local - i64::from(offset_seconds))
}

/// Reads exactly `text.len()` ASCII digits as a number; `None` for anything else (signs,
/// spaces and non-ASCII digits included, which `str::parse` would partly accept).
pub(crate) fn fixed_digits(text: &str) -> Option<u32> {
    if text.is_empty() || text.len() > 9 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Reads a numeric UTC offset — `+hhmm`, `-hhmm`, `+hh:mm`, `+hh` — as seconds east of UTC.
pub(crate) fn parse_numeric_offset(text: &str) -> Option<i32> {
    // Slicing below is by byte; non-ASCII text is never an offset and could split a character.
    if !text.is_ascii() {
        return None;
    }
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (hours, minutes) = match rest.len() {
        2 => (rest, "00"),
        4 => rest.split_at(2),
        5 if rest.as_bytes()[2] == b':' => (&rest[..2], &rest[3..]),
        _ => return None,
    };
    let (hours, minutes) = (fixed_digits(hours)?, fixed_digits(minutes)?);
    if hours > 18 || minutes > 59 {
        return None;
    }
    Some(sign * (hours * 3600 + minutes * 60) as i32)
}

/// Reads `yyyy-MM-dd` and `HH:mm:ss` (the shared shape of CloudStack dates) into their parts.
fn parse_date_time(date: &str, time: &str, date_sep: u8) -> Option<(Ymd, Hms)> {
    // Slicing below is by byte; non-ASCII text is never a date and could split a character.
    if !date.is_ascii() || !time.is_ascii() {
        return None;
    }
    let d = date.as_bytes();
    let t = time.as_bytes();
    if d.len() != 10 || d[4] != date_sep || d[7] != date_sep || t.len() != 8 || t[2] != b':' || t[5] != b':' {
        return None;
    }
    let year = i64::from(fixed_digits(&date[..4])?);
    let ymd = (year, fixed_digits(&date[5..7])?, fixed_digits(&date[8..])?);
    let hms = (fixed_digits(&time[..2])?, fixed_digits(&time[3..5])?, fixed_digits(&time[6..])?);
    Some((ymd, hms))
}

/// Reads `yyyy/MM/dd` and `HH:mm:ss` (CLM's shape) into their parts; shared with the CLM module.
pub(crate) fn parse_slashed_date_time(date: &str, time: &str) -> Option<(Ymd, Hms)> {
    parse_date_time(date, time, b'/')
}

/// Parses a CloudStack date, `yyyy-MM-dd'T'HH:mm:ssZ` (e.g. `2025-01-31T11:10:00+0000`,
/// `2025-01-31T03:10:00-0800`), into Unix seconds.
///
/// Also accepts the ISO 8601 offsets current servers take for `expires` (`Z`, `+00:00`), since
/// the same reader serves both. `None` when the text is not such a date.
pub fn parse_cloudstack_date(text: &str) -> Option<i64> {
    let text = text.trim();
    // The date and time parts are ASCII and fixed-width, so byte 19 is where the offset starts;
    // `get` keeps a multi-byte character there from panicking.
    let (date, rest) = (text.get(..10)?, text.get(10..)?);
    let rest = rest.strip_prefix('T')?;
    let (time, zone) = (rest.get(..8)?, rest.get(8..)?);
    let offset = if zone == "Z" { 0 } else { parse_numeric_offset(zone)? };
    let (ymd, hms) = parse_date_time(date, time, b'-')?;
    unix_seconds(ymd, hms, offset)
}

#[cfg(test)]
mod tests {
    // In wasm the same tests run in headless Chromium (`./dev test`).
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn days_from_civil_matches_known_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(2025, 1, 31), 20_119);
    }

    #[test]
    fn days_from_civil_inverts_the_signing_formatter() {
        // `format_date` is built on `civil_from_days`; going back through this module must land on
        // the same second for dates around leap days and century years.
        for unix in [0_u64, 951_782_400, 951_868_799, 1_709_164_800, 4_107_542_399, 1_738_324_200] {
            let text = crate::protocol::cloudstack::signing::format_date(unix);
            assert_eq!(parse_cloudstack_date(&text), Some(unix as i64), "{text}");
        }
    }

    #[test]
    fn cloudstack_dates_with_offsets() {
        assert_eq!(parse_cloudstack_date("2025-01-31T11:10:00+0000"), Some(1_738_321_800));
        // 03:10 at UTC-8 is 11:10 UTC.
        assert_eq!(parse_cloudstack_date("2025-01-31T03:10:00-0800"), Some(1_738_321_800));
        assert_eq!(parse_cloudstack_date("2025-01-31T16:40:00+0530"), Some(1_738_321_800));
        assert_eq!(parse_cloudstack_date("2025-01-31T11:10:00Z"), Some(1_738_321_800));
        assert_eq!(parse_cloudstack_date("2025-01-31T11:10:00+00:00"), Some(1_738_321_800));
    }

    #[test]
    fn bad_cloudstack_dates_are_none() {
        for text in [
            "",
            "2025-01-31",
            "2025-01-31 11:10:00+0000",
            "2025-01-31T11:10:00",
            "2025-02-29T00:00:00+0000",
            "2025-04-31T00:00:00+0000",
            "2025-13-01T00:00:00+0000",
            "2025-01-31T24:00:00+0000",
            "2025-01-31T11:60:00+0000",
            "2025-01-31T11:10:60+0000",
            "2025-01-31T11:10:00+2500",
            "2025-01-31T11:10:00+00000",
            "+025-01-31T11:10:00+0000",
            "2025-01-31T11:10:0é+0000",
            "2025-01-31T11:10:00é",
            "2025/01/31T11:10:00+0000",
        ] {
            assert_eq!(parse_cloudstack_date(text), None, "{text:?}");
        }
        assert_eq!(parse_cloudstack_date("2024-02-29T00:00:00+0000"), Some(1_709_164_800));
    }

    #[test]
    fn multibyte_text_never_panics() {
        // Characters of 2–4 bytes replacing as many bytes at every position: the byte lengths the
        // parsers check still match, so only the ASCII guard keeps slicing off a char boundary.
        for filler in ["é", "€", "😀"] {
            for template in ["+0530", "2025-01-31T11:10:00+0000", "2011/04/06 17:36:29"] {
                for at in 0..=template.len() - filler.len() {
                    let text = format!("{}{filler}{}", &template[..at], &template[at + filler.len()..]);
                    assert_eq!(parse_numeric_offset(&text), None, "{text:?}");
                    assert_eq!(parse_cloudstack_date(&text), None, "{text:?}");
                    let (date, time) = text.split_once(' ').unwrap_or((&text, ""));
                    assert_eq!(parse_slashed_date_time(date, time), None, "{text:?}");
                }
            }
        }
    }

    #[test]
    fn numeric_offsets() {
        assert_eq!(parse_numeric_offset("+0000"), Some(0));
        assert_eq!(parse_numeric_offset("-0800"), Some(-28_800));
        assert_eq!(parse_numeric_offset("+05:30"), Some(19_800));
        assert_eq!(parse_numeric_offset("+09"), Some(32_400));
        assert_eq!(parse_numeric_offset("0800"), None);
        assert_eq!(parse_numeric_offset("+0860"), None);
        assert_eq!(parse_numeric_offset("+1900"), None);
        assert_eq!(parse_numeric_offset("+08_00"), None);
    }
}
