//! Where a client's frames begin and end, read off the bytes handed to tungstenite: whether
//! tungstenite holds part of a frame or of a fragmented message, and how large a frame it had to
//! hold. tungstenite validates the frames; this only counts their lengths.

/// The longest frame header: 2 bytes, an 8-byte length, a 4-byte mask.
const HEADER_MAX: usize = 14;

/// The frame boundaries of a client's byte stream (RFC 6455 §5.2), as far as it has been read.
#[derive(Debug, Default)]
pub(crate) struct Framing {
    /// The current frame's header, as far as it has arrived.
    header: [u8; HEADER_MAX],
    header_len: u8,
    /// What is still to come of the current frame's payload, once its header is complete.
    payload_left: u64,
    /// A data message's first frame came without FIN and its last frame has not come yet.
    fragmented: bool,
    /// The largest frame (header and payload) since [`Framing::forget_largest`].
    largest: u64,
}

impl Framing {
    /// Follows `bytes`, the next ones of the stream.
    pub(crate) fn saw(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.payload_left > 0 {
                let n = bytes
                    .len()
                    .min(usize::try_from(self.payload_left).unwrap_or(usize::MAX));
                bytes = &bytes[n..];
                self.payload_left -= n as u64;
                continue;
            }
            let have = usize::from(self.header_len);
            let n = bytes.len().min(header_size(&self.header[..have]) - have);
            self.header[have..have + n].copy_from_slice(&bytes[..n]);
            self.header_len += n as u8;
            bytes = &bytes[n..];
            let header = &self.header[..usize::from(self.header_len)];
            if header.len() == header_size(header) {
                self.frame_begins();
            }
        }
    }

    /// The stream ends exactly where a frame ends, outside a fragmented message: whoever parsed
    /// every whole frame so far holds nothing of the client's.
    pub(crate) fn at_rest(&self) -> bool {
        self.header_len == 0 && self.payload_left == 0 && !self.fragmented
    }

    /// The largest frame, header included, since [`Framing::forget_largest`].
    pub(crate) fn largest(&self) -> u64 {
        self.largest
    }

    pub(crate) fn forget_largest(&mut self) {
        self.largest = 0;
    }

    /// The header in `self.header` is complete: its payload comes next.
    fn frame_begins(&mut self) {
        let header = &self.header[..usize::from(self.header_len)];
        let (fin, opcode) = (header[0] & 0x80 != 0, header[0] & 0x0f);
        let length = match header[1] & 0x7f {
            126 => u64::from(u16::from_be_bytes([header[2], header[3]])),
            127 => u64::from_be_bytes(header[2..10].try_into().expect("8 bytes")),
            short => u64::from(short),
        };
        match opcode {
            0x1 | 0x2 => self.fragmented = !fin,
            0x0 if fin => self.fragmented = false,
            _ => {} // control frames come between fragments and change nothing
        }
        self.largest = self
            .largest
            .max((header.len() as u64).saturating_add(length));
        self.header_len = 0;
        self.payload_left = length;
    }
}

/// How long the header that starts with `start` is (2 until its first two bytes are known).
fn header_size(start: &[u8]) -> usize {
    let [_, second, ..] = start else { return 2 };
    let extended = match second & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let mask = if second & 0x80 != 0 { 4 } else { 0 };
    2 + extended + mask
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A masked client frame.
    fn frame(fin: bool, opcode: u8, length: usize) -> Vec<u8> {
        let mut bytes = vec![u8::from(fin) << 7 | opcode];
        match length {
            0..=125 => bytes.push(0x80 | length as u8),
            126..=0xffff => {
                bytes.push(0x80 | 126);
                bytes.extend_from_slice(&(length as u16).to_be_bytes());
            }
            _ => {
                bytes.push(0x80 | 127);
                bytes.extend_from_slice(&(length as u64).to_be_bytes());
            }
        }
        bytes.extend_from_slice(&[1, 2, 3, 4]);
        bytes.extend(std::iter::repeat_n(0x7e_u8, length)); // a byte that looks like a header
        bytes
    }

    #[test]
    fn a_whole_frame_leaves_it_at_rest_and_a_partial_one_does_not() {
        let bytes = frame(true, 0x2, 70_000);
        let mut framing = Framing::default();
        framing.saw(&bytes[..bytes.len() - 1]);
        assert!(!framing.at_rest());
        framing.saw(&bytes[bytes.len() - 1..]);
        assert!(framing.at_rest());
        assert_eq!(framing.largest(), 70_000 + 14);
        framing.forget_largest();
        assert_eq!(framing.largest(), 0);
    }

    #[test]
    fn a_fragmented_message_is_not_at_rest_until_its_last_frame() {
        let mut framing = Framing::default();
        framing.saw(&frame(false, 0x1, 10));
        assert!(!framing.at_rest());
        framing.saw(&frame(true, 0x9, 3)); // a ping between the fragments
        assert!(!framing.at_rest());
        framing.saw(&frame(false, 0x0, 10));
        assert!(!framing.at_rest());
        framing.saw(&frame(true, 0x0, 0));
        assert!(framing.at_rest());
    }

    proptest! {
        /// Any frames, cut into any pieces: at rest exactly after each piece that ends at a frame's
        /// end outside a fragmented message, and the largest frame is known.
        #[test]
        fn boundaries_are_found_however_the_bytes_are_cut(
            frames in prop::collection::vec((any::<bool>(), 0u8..3, 0usize..70_000), 1..8),
            cuts in prop::collection::vec(1usize..40_000, 1..30),
        ) {
            let mut stream = Vec::new();
            let mut rests = Vec::new(); // offsets where the stream is at rest
            let mut fragmented = false;
            let mut largest = 0;
            for (fin, kind, length) in frames {
                // 0: a data frame (or a continuation inside a message), 1: a ping, 2: a pong
                let opcode = match kind {
                    0 if fragmented => 0x0,
                    0 => 0x2,
                    1 => 0x9,
                    _ => 0xa,
                };
                let length = if opcode >= 0x8 { length % 126 } else { length };
                let fin = fin || opcode >= 0x8;
                let bytes = frame(fin, opcode, length);
                largest = largest.max(bytes.len() as u64);
                stream.extend_from_slice(&bytes);
                if opcode < 0x8 {
                    fragmented = !fin;
                }
                if !fragmented {
                    rests.push(stream.len());
                }
            }
            let mut framing = Framing::default();
            let mut at = 0;
            let mut cuts = cuts.into_iter().cycle();
            while at < stream.len() {
                let end = (at + cuts.next().unwrap()).min(stream.len());
                framing.saw(&stream[at..end]);
                at = end;
                prop_assert_eq!(framing.at_rest(), rests.contains(&at), "at {}", at);
            }
            prop_assert_eq!(framing.largest(), largest);
        }
    }
}
