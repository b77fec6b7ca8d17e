//! API-key signing exactly as CloudStack's `ApiServer.verifyRequest` checks it: every parameter
//! but `signature`, names sorted case-sensitively in Java `String.compareTo` order, values encoded
//! like `java.net.URLEncoder` with `+` → `%20`, the whole string lower-cased, HMAC-SHA1 with the
//! secret key, Base64.
//!
//! SHA-1, HMAC and Base64 are written out here (a few dozen lines, checked against the RFC test
//! vectors and the crates they replace) to keep three crates out of the WebAssembly build.

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
    let message = canonical_query(params).to_lowercase();
    base64(&hmac_sha1(secret_key.as_bytes(), message.as_bytes()))
}

/// SHA-1 (RFC 3174) of `data`.
fn sha1(data: &[u8]) -> [u8; 20] {
    let mut state: [u32; 5] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0];
    let mut message = data.to_vec();
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&(data.len() as u64).wrapping_mul(8).to_be_bytes());
    for block in message.chunks_exact(64) {
        let mut w = [0u32; 80];
        for (word, bytes) in w.iter_mut().zip(block.chunks_exact(4)) {
            *word = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = state;
        for (i, word) in w.into_iter().enumerate() {
            let (f, k) = match i / 20 {
                0 => ((b & c) | (!b & d), 0x5A82_7999),
                1 => (b ^ c ^ d, 0x6ED9_EBA1),
                2 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let next = a.rotate_left(5).wrapping_add(f).wrapping_add(e).wrapping_add(k).wrapping_add(word);
            (e, d, c, b, a) = (d, c, b.rotate_left(30), a, next);
        }
        for (value, add) in state.iter_mut().zip([a, b, c, d, e]) {
            *value = value.wrapping_add(add);
        }
    }
    let mut digest = [0u8; 20];
    for (bytes, word) in digest.chunks_exact_mut(4).zip(state) {
        bytes.copy_from_slice(&word.to_be_bytes());
    }
    digest
}

/// HMAC-SHA1 (RFC 2104) of `message` with `key`.
fn hmac_sha1(key: &[u8], message: &[u8]) -> [u8; 20] {
    let mut block = [0u8; 64];
    if key.len() > block.len() {
        block[..20].copy_from_slice(&sha1(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner: Vec<u8> = block.iter().map(|b| b ^ 0x36).collect();
    inner.extend_from_slice(message);
    let mut outer: Vec<u8> = block.iter().map(|b| b ^ 0x5c).collect();
    outer.extend_from_slice(&sha1(&inner));
    sha1(&outer)
}

/// Standard Base64 (RFC 4648 §4) with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
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

    #[test]
    fn signature_parameter_is_excluded_and_names_stay_literal() {
        assert_eq!(canonical_query([("Signature", "x"), ("details[0].key", "a b")]), "details[0].key=a%20b");
    }

    #[test]
    fn names_sort_case_sensitively_uppercase_first() {
        assert_eq!(canonical_query([("b", "1"), ("B", "2"), ("a", "3")]), "B=2&a=3&b=1");
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn sha1_hmac_and_base64_meet_their_rfc_vectors() {
        // RFC 3174 §7.3.
        assert_eq!(hex(&sha1(b"abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
        let long = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        assert_eq!(hex(&sha1(long)), "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
        assert_eq!(hex(&sha1(&vec![b'a'; 1_000_000])), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
        assert_eq!(hex(&sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        // RFC 2202 §3: cases 1, 2 and 6 (a key longer than a block).
        assert_eq!(hex(&hmac_sha1(&[0x0b; 20], b"Hi There")), "b617318655057264e28bc0b6fb378c8ef146be00");
        assert_eq!(
            hex(&hmac_sha1(b"Jefe", b"what do ya want for nothing?")),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
        let case6 = hmac_sha1(&[0xaa; 80], b"Test Using Larger Than Block-Size Key - Hash Key First");
        assert_eq!(hex(&case6), "aa4ae5e15272d00e95705637ce8a3b55ed402112");
        // RFC 4648 §10.
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    /// The same answers as the crates these functions replaced, on random keys and messages of
    /// every length around the block size.
    #[test]
    fn signatures_match_the_hmac_sha1_and_base64_crates() {
        use ::base64::Engine as _;
        use hmac::{Hmac, Mac};
        let mut rng = fastrand::Rng::with_seed(3);
        for len in (0..200).chain([1000, 4095, 4096, 4097]) {
            let key: Vec<u8> = (0..rng.usize(0..150)).map(|_| rng.u8(..)).collect();
            let message: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
            let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(&key) else { panic!("HMAC takes any key") };
            mac.update(&message);
            let expected = mac.finalize().into_bytes();
            assert_eq!(hmac_sha1(&key, &message)[..], expected[..], "key {} bytes, message {len}", key.len());
            assert_eq!(base64(&message), ::base64::engine::general_purpose::STANDARD.encode(&message));
        }
    }

    #[test]
    fn date_format() {
        assert_eq!(format_date(0), "1970-01-01T00:00:00+0000");
        assert_eq!(format_date(1_738_324_800), "2025-01-31T12:00:00+0000");
        assert_eq!(format_date(951_782_400), "2000-02-29T00:00:00+0000");
    }
}
