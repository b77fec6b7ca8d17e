//! API-key signing exactly as CloudStack's `ApiServer.verifyRequest` checks it: every parameter
//! but `signature`, names sorted case-sensitively in Java `String.compareTo` order, values encoded
//! like `java.net.URLEncoder` with `+` → `%20`, the whole string lower-cased, HMAC-SHA1 with the
//! secret key, Base64.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Percent-encodes like Java's `URLEncoder.encode(v, "UTF-8").replaceAll("\\+", "%20")`:
/// `A–Z a–z 0–9 . - * _` stay, space becomes `%20`, every other byte `%XX` in upper-case hex.
/// Popular clients differ here (`~`, `*`, brackets) and then fail on such values.
pub fn java_url_encode(value: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(value.len());
    for &byte in value.as_bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => out.push(byte as char),
            _ => {
                out.push('%');
                out.push(HEX[usize::from(byte >> 4)] as char);
                out.push(HEX[usize::from(byte & 0x0f)] as char);
            }
        }
    }
    out
}

/// Orders names like Java's `String.compareTo`: by UTF-16 code units, case-sensitive.
fn java_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// The string CloudStack signs, before lower-casing: `name=encoded-value` pairs in Java order,
/// joined by `&`, without any parameter named `signature` (in any case).
pub fn canonical_query<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut pairs: Vec<(&str, &str)> =
        params.into_iter().filter(|(name, _)| !name.eq_ignore_ascii_case("signature")).collect();
    pairs.sort_by(|a, b| java_order(a.0, b.0));
    pairs.iter().map(|(name, value)| format!("{name}={}", java_url_encode(value))).collect::<Vec<_>>().join("&")
}

/// The Base64 signature of `params` with `secret_key` (not yet URL-encoded).
pub fn sign<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>, secret_key: &str) -> String {
    // Values are percent-encoded, so only a parameter name could hold non-ASCII text, and API
    // names are ASCII: ASCII lower-casing equals Java's `toLowerCase` here and keeps Unicode's
    // case tables (~5 KB) out of the wasm. (A made-up name with a non-ASCII capital would get
    // a signature the server refuses: a typed 401, never a wrong request.)
    let message = canonical_query(params).to_ascii_lowercase();
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let mut mac = match Hmac::<Sha1>::new_from_slice(secret_key.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of every length"),
    };
    mac.update(message.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Formats a Unix time as CloudStack writes dates and reads `expires`
/// (`yyyy-MM-dd'T'HH:mm:ss+0000`, UTC).
///
/// Written by hand (days-to-civil conversion) rather than pulling a date crate into the wasm
/// build for one format.
pub fn format_date(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let secs = unix_seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}+0000", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 → (year, month, day).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    // In wasm the same tests run in headless Chromium (`./dev test`).
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// The worked example of CloudStack's developer guide, "How to sign an API call with Python"
    /// (https://docs.cloudstack.apache.org/en/latest/developersguide/dev.html): its API key,
    /// secret key and expected signature.
    #[test]
    fn cloudstack_docs_example() {
        let params = [
            ("apiKey", "plgWJfZK4gyS3mOMTVmjUVg-X-jlWlnfaUJ9GAbBbf9EdM-kAYMmAiLqzzq1ElZLYq_u38zCm0bewzGUdP66mg"),
            ("command", "listUsers"),
            ("response", "json"),
        ];
        let secret = "VDaACYb0LV9eNjTetIOElcVQkvJck_J_QljX_FcHRj87ZKiy0z0ty0ZsYBkoXkY9b7eq1EhwJaw7FF3akA3KBQ";
        assert_eq!(sign(params, secret), "TTpdDq/7j/J58XCRHomKoQXEQds=");
        assert_eq!(java_url_encode("TTpdDq/7j/J58XCRHomKoQXEQds="), "TTpdDq%2F7j%2FJ58XCRHomKoQXEQds%3D");
    }

    /// Java `URLEncoder` semantics (space, `~`, `*`, UTF-8, signatureVersion 3, camelCase
    /// names), vector 2 of ../shared/protocols.md §1.3, computed with Java's encoder.
    #[test]
    fn java_semantics_vector() {
        let params = [
            ("apiKey", "KEY"),
            ("command", "deployVirtualMachine"),
            ("response", "json"),
            ("displayname", "my vm ~*é"),
            ("zoneid", "z1"),
            ("signatureVersion", "3"),
            ("expires", "2025-01-31T12:00:00+0000"),
        ];
        assert_eq!(
            canonical_query(params),
            "apiKey=KEY&command=deployVirtualMachine&displayname=my%20vm%20%7E*%C3%A9&expires=2025-01-31T12%3A00%3A00%2B0000&response=json&signatureVersion=3&zoneid=z1"
        );
        assert_eq!(sign(params, "SECRET"), "KMUVvWJT3viPOXbW8Dl4f3OyNrg=");
    }

    /// `sign` lower-cases ASCII only: the canonical string of any value (capitals beyond ASCII
    /// included) is ASCII, so that is what Java's `toLowerCase` gives too.
    #[test]
    fn ascii_lower_casing_equals_full_lower_casing_for_every_value() {
        for value in ["ÄÖÜ Straße", "İstanbul", "ΣΑΣ", "✓ OK", "Ǆ"] {
            let canonical = canonical_query([("command", "deployVirtualMachine"), ("displayName", value)]);
            assert!(canonical.is_ascii(), "{canonical}");
            assert_eq!(canonical.to_ascii_lowercase(), canonical.to_lowercase());
        }
    }

    #[test]
    fn signature_parameter_is_excluded_and_names_stay_literal() {
        assert_eq!(canonical_query([("Signature", "x"), ("details[0].key", "a b")]), "details[0].key=a%20b");
    }

    #[test]
    fn names_sort_case_sensitively_uppercase_first() {
        assert_eq!(canonical_query([("b", "1"), ("B", "2"), ("a", "3")]), "B=2&a=3&b=1");
    }

    #[test]
    fn date_format() {
        assert_eq!(format_date(0), "1970-01-01T00:00:00+0000");
        assert_eq!(format_date(1_738_324_800), "2025-01-31T12:00:00+0000");
        assert_eq!(format_date(951_782_400), "2000-02-29T00:00:00+0000");
    }
}
