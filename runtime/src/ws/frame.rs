//! A WebSocket frame on the wire (RFC 6455 §5.2): a client's frame header read and checked, its
//! payload unmasked, and the server's frame header written. tungstenite's types name the opcodes
//! and the errors; the bytes are read here, out of whatever buffer holds them, so that a
//! connection needs no read buffer of its own.

use tungstenite::error::{CapacityError, ProtocolError};
use tungstenite::protocol::frame::coding::{Control, Data, OpCode};

/// The longest header: 2 bytes, an 8-byte length, a 4-byte mask.
pub(super) const HEADER_MAX: usize = 14;

/// The longest control frame's payload.
const CONTROL_MAX: usize = 125;

/// A client's frame header, checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Head {
    pub(super) fin: bool,
    pub(super) opcode: OpCode,
    pub(super) mask: [u8; 4],
    /// The header's own length.
    pub(super) header_len: usize,
    pub(super) payload_len: usize,
}

impl Head {
    /// The frame's length, header and payload.
    pub(super) fn frame_len(&self) -> usize {
        self.header_len + self.payload_len
    }
}

/// The header at the start of `bytes`, once all of it has arrived (`None` before).
///
/// What a server must refuse is refused here, before the payload is read: reserved bits (no
/// extension is negotiated), an unmasked frame, a reserved opcode, a fragmented or oversize control
/// frame, and a frame longer than `max_frame`.
pub(super) fn parse(bytes: &[u8], max_frame: usize) -> Result<Option<Head>, tungstenite::Error> {
    let [first, second, ..] = *bytes else {
        return Ok(None);
    };
    if first & 0x70 != 0 {
        return Err(protocol(ProtocolError::NonZeroReservedBits));
    }
    if second & 0x80 == 0 {
        return Err(protocol(ProtocolError::UnmaskedFrameFromClient));
    }
    let header_len = header_len(second);
    if bytes.len() < header_len {
        return Ok(None);
    }
    let (fin, opcode) = (first & 0x80 != 0, OpCode::from(first & 0x0f));
    let length = match second & 0x7f {
        126 => u64::from(u16::from_be_bytes([bytes[2], bytes[3]])),
        127 => u64::from_be_bytes(bytes[2..10].try_into().expect("8 bytes")),
        short => u64::from(short),
    };
    let payload_len = usize::try_from(length).unwrap_or(usize::MAX);
    match opcode {
        OpCode::Data(Data::Reserved(code)) => {
            return Err(protocol(ProtocolError::UnknownDataFrameType(code)));
        }
        OpCode::Control(Control::Reserved(code)) => {
            return Err(protocol(ProtocolError::UnknownControlFrameType(code)));
        }
        OpCode::Control(_) if !fin => return Err(protocol(ProtocolError::FragmentedControlFrame)),
        OpCode::Control(_) if payload_len > CONTROL_MAX => {
            return Err(protocol(ProtocolError::ControlFrameTooBig));
        }
        _ => {}
    }
    if payload_len > max_frame {
        return Err(too_long(payload_len, max_frame));
    }
    let mask = bytes[header_len - 4..header_len]
        .try_into()
        .expect("4 bytes");
    Ok(Some(Head {
        fin,
        opcode,
        mask,
        header_len,
        payload_len,
    }))
}

/// How long a masked client header is whose second byte is `second`.
fn header_len(second: u8) -> usize {
    let extended = match second & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    2 + extended + 4
}

/// Unmasks a whole payload in place (a frame's payload is always unmasked whole, once it is all
/// read).
pub(super) fn unmask(bytes: &mut [u8], mask: [u8; 4]) {
    let word = u64::from_ne_bytes([
        mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3],
    ]);
    let mut chunks = bytes.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let value = u64::from_ne_bytes(chunk.try_into().expect("8 bytes")) ^ word;
        chunk.copy_from_slice(&value.to_ne_bytes());
    }
    for (i, byte) in chunks.into_remainder().iter_mut().enumerate() {
        *byte ^= mask[i % 4];
    }
}

/// Writes a server frame's header (final, unmasked) for a payload of `len` bytes, gathered on the
/// stack and appended at once: one capacity check, not one per byte.
pub(super) fn write_header(out: &mut Vec<u8>, opcode: OpCode, len: usize) {
    let mut head = [0u8; 10];
    head[0] = 0x80 | u8::from(opcode);
    let head_len = match len {
        0..=125 => {
            head[1] = len as u8;
            2
        }
        126..=0xffff => {
            head[1] = 126;
            head[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            4
        }
        _ => {
            head[1] = 127;
            head[2..10].copy_from_slice(&(len as u64).to_be_bytes());
            10
        }
    };
    out.extend_from_slice(&head[..head_len]);
}

/// A message or frame longer than allowed.
pub(super) fn too_long(size: usize, max_size: usize) -> tungstenite::Error {
    tungstenite::Error::Capacity(CapacityError::MessageTooLong { size, max_size })
}

pub(super) fn protocol(error: ProtocolError) -> tungstenite::Error {
    tungstenite::Error::Protocol(error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A masked client frame, as a client writes it.
    fn client_frame(first: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
        let mut bytes = Vec::new();
        write_header(&mut bytes, OpCode::from(first & 0x0f), payload.len());
        bytes[0] = first;
        bytes[1] |= 0x80;
        bytes.extend_from_slice(&mask);
        bytes.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        bytes
    }

    #[test]
    fn a_header_is_read_once_all_of_it_is_there() {
        let bytes = client_frame(0x82, &[7; 300], [1, 2, 3, 4]);
        for cut in 0..8 {
            assert_eq!(parse(&bytes[..cut], 1 << 20).unwrap(), None, "cut at {cut}");
        }
        let head = parse(&bytes, 1 << 20).unwrap().unwrap();
        assert_eq!(
            head,
            Head {
                fin: true,
                opcode: OpCode::Data(Data::Binary),
                mask: [1, 2, 3, 4],
                header_len: 8,
                payload_len: 300,
            }
        );
        assert_eq!(head.frame_len(), bytes.len());
    }

    #[test]
    fn what_a_server_must_refuse_is_refused() {
        use tungstenite::Error::{Capacity, Protocol};
        let refused = |bytes: &[u8]| parse(bytes, 1000).unwrap_err();
        let mask = [9, 9, 9, 9];
        let cases = [
            (client_frame(0xc1, b"x", mask), "reserved bits"),
            (vec![0x81, 0x01, b'x'], "unmasked"),
            (client_frame(0x83, b"x", mask), "data opcode 3"),
            (client_frame(0x8b, b"x", mask), "control opcode 11"),
            (client_frame(0x09, b"x", mask), "fragmented ping"),
            (client_frame(0x89, &[0; 126], mask), "126-byte ping"),
        ];
        let expected = [
            ProtocolError::NonZeroReservedBits,
            ProtocolError::UnmaskedFrameFromClient,
            ProtocolError::UnknownDataFrameType(3),
            ProtocolError::UnknownControlFrameType(11),
            ProtocolError::FragmentedControlFrame,
            ProtocolError::ControlFrameTooBig,
        ];
        for ((bytes, what), expected) in cases.iter().zip(expected) {
            match refused(bytes) {
                Protocol(error) => assert_eq!(error, expected, "{what}"),
                other => panic!("{what}: {other}"),
            }
        }
        let too_long = |bytes: &[u8]| match refused(bytes) {
            Capacity(CapacityError::MessageTooLong { size, max_size }) => (size, max_size),
            other => panic!("{other}"),
        };
        assert_eq!(
            too_long(&client_frame(0x82, &[0; 1001], mask)),
            (1001, 1000)
        );
        // A length whose top bit is set cannot be a frame's.
        let mut huge = vec![0x82, 0xff];
        huge.extend_from_slice(&u64::MAX.to_be_bytes());
        huge.extend_from_slice(&mask);
        assert_eq!(too_long(&huge), (usize::MAX, 1000));
    }

    proptest! {
        /// Unmasking a word at a time is unmasking byte by byte, whatever the length.
        #[test]
        fn unmasking_is_the_mask_repeated(
            payload in prop::collection::vec(any::<u8>(), 0..200),
            mask in any::<[u8; 4]>(),
        ) {
            let masked: Vec<u8> = payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]).collect();
            let mut unmasked = masked.clone();
            unmask(&mut unmasked, mask);
            prop_assert_eq!(&unmasked, &payload);
        }

        /// A header written for any length reads back as that length.
        #[test]
        fn headers_read_back(len in 0usize..200_000, opcode in 0u8..3) {
            let mut bytes = Vec::new();
            write_header(&mut bytes, OpCode::from(opcode), len);
            bytes[1] |= 0x80;
            bytes.extend_from_slice(&[0, 0, 0, 0]);
            let head = parse(&bytes, usize::MAX).unwrap().unwrap();
            prop_assert_eq!(head.payload_len, len);
            prop_assert_eq!(head.header_len, bytes.len());
            prop_assert_eq!(u8::from(head.opcode), opcode);
        }
    }
}
