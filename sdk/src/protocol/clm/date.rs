//! CLM timestamps: `yyyy/MM/dd HH:mm:ss zzz`, e.g. `2011/04/06 17:36:29 PDT`.
//!
//! The server formats them with Java's `SimpleDateFormat`, whose `zzz` prints the *abbreviation*
//! of the server's time zone. Abbreviations are ambiguous and not standardised, so only a small
//! table is read (see [`zone_offset`]); any other zone leaves the date unparsed, and callers keep
//! the server's raw string (`Task::creation_time`) rather than guess.

use crate::protocol::date::{parse_numeric_offset, parse_slashed_date_time, unix_seconds};

/// Zone abbreviations read, with their offsets east of UTC in seconds.
///
/// Where an abbreviation is ambiguous, the meaning Java gives it when *parsing* wins (what CLM's
/// own Java clients would read): `CST` is US Central (not China), `IST` is India (+05:30, Java's
/// `TimeZone.getTimeZone("IST")`, not Ireland or Israel), `BST` is British Summer Time.
const ZONES: &[(&str, i32)] = &[
    ("UTC", 0),
    ("UT", 0),
    ("GMT", 0),
    ("Z", 0),
    ("WET", 0),
    ("WEST", 3600),
    ("BST", 3600),
    ("CET", 3600),
    ("CEST", 2 * 3600),
    ("MET", 3600),
    ("MEST", 2 * 3600),
    ("EET", 2 * 3600),
    ("EEST", 3 * 3600),
    ("IST", 5 * 3600 + 1800),
    ("JST", 9 * 3600),
    ("AEST", 10 * 3600),
    ("AEDT", 11 * 3600),
    ("EST", -5 * 3600),
    ("EDT", -4 * 3600),
    ("CST", -6 * 3600),
    ("CDT", -5 * 3600),
    ("MST", -7 * 3600),
    ("MDT", -6 * 3600),
    ("PST", -8 * 3600),
    ("PDT", -7 * 3600),
    ("AKST", -9 * 3600),
    ("AKDT", -8 * 3600),
    ("HST", -10 * 3600),
];

/// The offset east of UTC, in seconds, of a zone as `SimpleDateFormat` writes it: an
/// abbreviation from the table above (any case), `GMT+hh:mm`/`UTC-hhmm` (Java's form for zones
/// without a name), or a bare numeric offset (`+0530`). `None` for anything else.
pub fn zone_offset(zone: &str) -> Option<i32> {
    if let Some(&(_, offset)) = ZONES.iter().find(|(name, _)| name.eq_ignore_ascii_case(zone)) {
        return Some(offset);
    }
    let numeric = ["GMT", "UTC"]
        .iter()
        .find_map(|prefix| {
            zone.get(..prefix.len()).filter(|p| p.eq_ignore_ascii_case(prefix)).map(|p| &zone[p.len()..])
        })
        .unwrap_or(zone);
    parse_numeric_offset(numeric)
}

/// Parses a CLM timestamp (`2011/04/06 17:36:29 PDT`) into Unix seconds.
///
/// `None` when the text is not in that format, the date does not exist, or the zone is not one
/// [`zone_offset`] knows; callers then keep the raw string.
pub fn parse_clm_date(text: &str) -> Option<i64> {
    let mut parts = text.split_whitespace();
    let (date, time, zone) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let (ymd, hms) = parse_slashed_date_time(date, time)?;
    unix_seconds(ymd, hms, zone_offset(zone)?)
}

#[cfg(test)]
mod tests {
    // In wasm the same tests run in headless Chromium (`./dev test`).
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn seed_timestamps() {
        // 17:36:29 PDT is 00:36:29 UTC the next day, which the seed's `Date:` header confirms
        // (`Thu, 07 Apr 2011 00:36:28 GMT`, one second earlier).
        assert_eq!(parse_clm_date("2011/04/06 17:36:29 PDT"), Some(1_302_136_589));
        assert_eq!(parse_clm_date("2011/04/06 17:37:12 PDT"), Some(1_302_136_632));
    }

    #[test]
    fn zones_from_the_table_and_numeric_forms() {
        let utc = parse_clm_date("2011/04/07 00:36:29 UTC");
        assert_eq!(utc, Some(1_302_136_589));
        assert_eq!(parse_clm_date("2011/04/07 00:36:29 GMT"), utc);
        assert_eq!(parse_clm_date("2011/04/07 00:36:29 Z"), utc);
        assert_eq!(parse_clm_date("2011/04/06 19:36:29 CDT"), utc);
        assert_eq!(parse_clm_date("2011/04/06 20:36:29 edt"), utc);
        assert_eq!(parse_clm_date("2011/04/07 02:36:29 CEST"), utc);
        assert_eq!(parse_clm_date("2011/04/07 06:06:29 IST"), utc);
        assert_eq!(parse_clm_date("2011/04/06 16:36:29 GMT-08:00"), utc);
        assert_eq!(parse_clm_date("2011/04/07 05:36:29 UTC+0500"), utc);
        assert_eq!(parse_clm_date("2011/04/06 17:36:29 -0700"), utc);
        assert_eq!(parse_clm_date("  2011/04/06   17:36:29  PDT "), Some(1_302_136_589));
    }

    #[test]
    fn unknown_or_malformed_dates_are_none() {
        for text in [
            "",
            "2011/04/06 17:36:29",
            "2011/04/06 17:36:29 XYZ",
            "2011/04/06 17:36:29 PDT extra",
            "2011-04-06 17:36:29 PDT",
            "2011/04/06T17:36:29 PDT",
            "2011/02/29 17:36:29 PDT",
            "2011/04/06 25:36:29 PDT",
            "2011/4/6 17:36:29 PDT",
            "2011/04/06 17:36:29 GMT+99",
            "2011/04/06 17:36:29 GMTé",
            "é011/04/06 17:36:29 PDT",
        ] {
            assert_eq!(parse_clm_date(text), None, "{text:?}");
        }
    }
}
