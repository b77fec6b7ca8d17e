//! A minimal cookie jar for one endpoint. Browsers keep cookies themselves (`credentials:
//! "include"`) and never show `Set-Cookie` to scripts; natively and in Node the SDK must keep
//! CloudStack's `JSESSIONID` and `sessionkey` cookies itself, or every session call is refused.

/// Cookies by name, in arrival order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CookieJar {
    cookies: Vec<(String, String)>,
}

impl CookieJar {
    /// Takes every `Set-Cookie` of a response: stores new values, drops expired ones
    /// (`Max-Age=0` or an empty value).
    pub fn absorb<'a>(&mut self, headers: impl IntoIterator<Item = (&'a str, &'a str)>) {
        for (name, value) in headers {
            if !name.eq_ignore_ascii_case("set-cookie") {
                continue;
            }
            let mut parts = value.split(';');
            let Some((cookie, content)) = parts.next().and_then(|pair| pair.trim().split_once('=')) else { continue };
            let expired = content.is_empty()
                || parts.any(|attr| {
                    attr.trim().split_once('=').is_some_and(|(k, v)| {
                        k.trim().eq_ignore_ascii_case("max-age") && v.trim().starts_with(['0', '-'])
                    })
                });
            self.cookies.retain(|(existing, _)| existing != cookie);
            if !expired {
                self.cookies.push((cookie.to_owned(), content.to_owned()));
            }
        }
    }

    /// The `Cookie` header value, if there is any cookie.
    pub fn header(&self) -> Option<String> {
        (!self.cookies.is_empty())
            .then(|| self.cookies.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("; "))
    }

    /// Forgets every cookie.
    pub fn clear(&mut self) {
        self.cookies.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn keeps_replaces_and_expires_cookies() {
        let mut jar = CookieJar::default();
        assert_eq!(jar.header(), None);
        jar.absorb([
            ("set-cookie", "JSESSIONID=abc.node0; Path=/client; HttpOnly"),
            ("Set-Cookie", "sessionkey=k1; HttpOnly"),
            ("content-type", "x=y"),
        ]);
        assert_eq!(jar.header().as_deref(), Some("JSESSIONID=abc.node0; sessionkey=k1"));
        jar.absorb([("set-cookie", "sessionkey=k2")]);
        assert_eq!(jar.header().as_deref(), Some("JSESSIONID=abc.node0; sessionkey=k2"));
        jar.absorb([("set-cookie", "JSESSIONID=; Path=/client; Max-Age=0"), ("set-cookie", "garbage")]);
        assert_eq!(jar.header().as_deref(), Some("sessionkey=k2"));
    }
}
