//! A data message that arrives in fragments (RFC 6455 §5.4): its payloads gathered up to the
//! message size limit, and a text message's UTF-8 checked as it comes, so that a client sending
//! invalid text is refused at its first bad fragment rather than at its last.

use tungstenite::Message;

use super::frame::too_long;

/// A fragmented message, from its first frame until its last.
#[derive(Debug)]
pub(super) struct Fragments {
    text: bool,
    data: Vec<u8>,
    /// How much of `data` is known to be valid UTF-8 (text only).
    checked: usize,
}

impl Fragments {
    pub(super) fn new(text: bool) -> Fragments {
        Fragments {
            text,
            data: Vec::new(),
            checked: 0,
        }
    }

    /// Adds the next fragment's payload (unmasked). Refuses a message over `max` bytes and text
    /// that can no longer become valid UTF-8 (a sequence cut at the fragment's end may still).
    pub(super) fn extend(&mut self, payload: &[u8], max: usize) -> Result<(), tungstenite::Error> {
        let size = self.data.len() + payload.len();
        if size > max {
            return Err(too_long(size, max));
        }
        self.data.extend_from_slice(payload);
        if self.text {
            match std::str::from_utf8(&self.data[self.checked..]) {
                Ok(_) => self.checked = self.data.len(),
                Err(error) if error.error_len().is_none() => self.checked += error.valid_up_to(),
                Err(error) => return Err(error.into()),
            }
        }
        Ok(())
    }

    /// The whole message, after its last fragment.
    pub(super) fn finish(self) -> Result<Message, tungstenite::Error> {
        if self.text {
            Ok(Message::Text(String::from_utf8(self.data)?.into()))
        } else {
            Ok(Message::Binary(self.data.into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_cut_inside_a_character_is_whole_once_the_rest_comes() {
        let text = "grüße, 世界";
        let bytes = text.as_bytes();
        let mut fragments = Fragments::new(true);
        for piece in bytes.chunks(3) {
            fragments.extend(piece, 100).unwrap();
        }
        assert_eq!(fragments.finish().unwrap(), Message::text(text));
    }

    #[test]
    fn invalid_text_is_refused_at_the_fragment_that_brings_it() {
        let mut fragments = Fragments::new(true);
        fragments.extend(b"fine", 100).unwrap();
        assert!(fragments.extend(&[0xff], 100).is_err());
    }

    #[test]
    fn text_that_ends_inside_a_character_is_refused_at_the_end() {
        let mut fragments = Fragments::new(true);
        fragments.extend(&"ü".as_bytes()[..1], 100).unwrap();
        assert!(matches!(
            fragments.finish(),
            Err(tungstenite::Error::Utf8(_))
        ));
    }

    #[test]
    fn a_message_over_the_limit_is_refused_with_its_size() {
        let mut fragments = Fragments::new(false);
        fragments.extend(&[0; 60], 100).unwrap();
        let error = fragments.extend(&[0; 41], 100).unwrap_err();
        assert!(error.to_string().contains("101"), "{error}");
    }
}
