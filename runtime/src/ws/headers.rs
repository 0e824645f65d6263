//! The upgrade request's headers, as a peer keeps them for as long as it is connected.

use axum::http::{HeaderMap, HeaderName, HeaderValue};

/// The upgrade request's headers, kept compactly: one buffer of `name:value\n` lines, turned into a
/// [`HeaderMap`] the first time [`Peer::headers`] asks. A `HeaderMap` of a browser's handshake
/// costs about 1 KiB per connection; most peers are never asked.
pub(crate) struct RequestHeaders {
    raw: Box<[u8]>,
    map: std::sync::OnceLock<Box<HeaderMap>>,
}

impl RequestHeaders {
    pub(crate) fn new(headers: &HeaderMap) -> RequestHeaders {
        let size = headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 2)
            .sum();
        let mut raw = Vec::with_capacity(size);
        for (name, value) in headers {
            raw.extend_from_slice(name.as_str().as_bytes());
            raw.push(b':');
            raw.extend_from_slice(value.as_bytes());
            raw.push(b'\n');
        }
        RequestHeaders {
            raw: raw.into_boxed_slice(),
            map: std::sync::OnceLock::new(),
        }
    }

    pub(crate) fn map(&self) -> &HeaderMap {
        self.map.get_or_init(|| {
            // Header names hold no `:` and values no `\n` (both are refused by `http`), so the
            // lines split back exactly.
            let mut map = HeaderMap::new();
            for line in self.raw.split(|b| *b == b'\n') {
                let Some(colon) = line.iter().position(|b| *b == b':') else {
                    continue;
                };
                let name = HeaderName::from_bytes(&line[..colon]);
                let value = HeaderValue::from_bytes(&line[colon + 1..]);
                if let (Ok(name), Ok(value)) = (name, value) {
                    map.append(name, value);
                }
            }
            Box::new(map)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_headers_come_back_whole_and_in_order() {
        let mut original = HeaderMap::new();
        original.append("host", HeaderValue::from_static("example.com:8080"));
        original.append("cookie", HeaderValue::from_static("a=1"));
        original.append(
            "x-custom",
            HeaderValue::from_static("colons: here: too\ttab"),
        );
        original.append("cookie", HeaderValue::from_static("b=2"));
        original.append("x-empty", HeaderValue::from_static(""));
        original.append(
            "x-bytes",
            HeaderValue::from_bytes(b"caf\xc3\xa9 \xff").expect("obs-text is a valid value"),
        );

        let kept = RequestHeaders::new(&original);
        let map = kept.map();

        assert_eq!(map, &original);
        let cookies: Vec<_> = map.get_all("cookie").iter().collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
        assert_eq!(map["x-custom"], "colons: here: too\ttab");
        assert_eq!(map["x-empty"], "");
        assert!(std::ptr::eq(map, kept.map()), "built once");
    }

    proptest::proptest! {
        /// Whatever valid headers an upgrade carries come back whole from the compact copy.
        #[test]
        fn any_request_headers_come_back_whole(
            headers in proptest::collection::vec(
                ("[a-z0-9!#$%&'*+.^_`|~-]{1,12}", proptest::collection::vec(
                    proptest::prop_oneof![0x20u8..0x7f, 0x80u8..=0xff, proptest::strategy::Just(b'\t')], 0..24)),
                0..12,
            ),
        ) {
            let mut original = HeaderMap::new();
            for (name, value) in &headers {
                let name = HeaderName::from_bytes(name.as_bytes()).unwrap();
                let Ok(value) = HeaderValue::from_bytes(value) else { continue };
                original.append(name, value);
            }
            let kept = RequestHeaders::new(&original);
            proptest::prop_assert_eq!(kept.map(), &original);
        }
    }

    #[test]
    fn no_headers_cost_nothing() {
        let kept = RequestHeaders::new(&HeaderMap::new());
        assert!(kept.raw.is_empty());
        assert!(kept.map().is_empty());
    }
}
