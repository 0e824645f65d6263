//! Closing a connection: the [`CloseCode`]s a server may send, and the [`Close`] a handler is
//! told of.

use std::fmt;

/// How a connection closed: the close frame's code and reason, or 1006 with no frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Close {
    /// The close code (1000 normal, 1001 going away, 1006 cut without a close frame, ...).
    pub code: u16,
    /// The close reason; may be empty.
    pub reason: String,
}

impl Close {
    pub(crate) fn new(code: u16, reason: impl Into<String>) -> Close {
        Close {
            code,
            reason: reason.into(),
        }
    }
}

/// A close code a server may send ([`Peer::close`](super::Peer::close)): one of the codes RFC 6455
/// and IANA define for a close frame (1000–1003, 1007–1014), or an application's own (3000–4999).
/// The others cannot be sent: 1005, 1006 and 1015 only report what happened (no code, no close
/// frame, a failed TLS handshake), and the rest are reserved, so a client fails the connection
/// on them.
///
/// ```
/// use nitrous::ws::CloseCode;
///
/// // Your own codes, checked where they are written.
/// const KICKED: CloseCode = CloseCode::new(4001).unwrap();
/// assert_eq!(KICKED.get(), 4001);
/// // A code that arrives at run time (from a message, say) is checked there.
/// assert!(CloseCode::try_from(1006).is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(u16);

impl CloseCode {
    /// 1000: the purpose of the connection is fulfilled.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the server is going away (shutting down), or the page navigated away.
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: the other side broke the protocol.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: a kind of data this endpoint does not accept (binary for a text-only one, say).
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1007: a message's data does not match its type (invalid UTF-8 in a text message).
    pub const INVALID_DATA: CloseCode = CloseCode(1007);
    /// 1008: a message broke the endpoint's policy.
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009: a message is too big to process.
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1011: the server met a condition it could not handle.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// 1012: the server is restarting; reconnect.
    pub const SERVICE_RESTART: CloseCode = CloseCode(1012);
    /// 1013: the server is overloaded; try again later.
    pub const TRY_AGAIN_LATER: CloseCode = CloseCode(1013);

    /// The longest reason a close frame holds, in bytes (a control frame carries at most 125,
    /// two of which are the code).
    pub const MAX_REASON_BYTES: usize = 123;

    /// `code`, if a server may send it: 1000–1003, 1007–1014 or 3000–4999.
    pub const fn new(code: u16) -> Option<CloseCode> {
        match code {
            1000..=1003 | 1007..=1014 | 3000..=4999 => Some(CloseCode(code)),
            _ => None,
        }
    }

    /// The code's number.
    pub const fn get(self) -> u16 {
        self.0
    }
}

impl TryFrom<u16> for CloseCode {
    type Error = InvalidCloseCode;

    fn try_from(code: u16) -> Result<CloseCode, InvalidCloseCode> {
        CloseCode::new(code).ok_or(InvalidCloseCode(code))
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> u16 {
        code.0
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// A number that is no [`CloseCode`] a server may send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidCloseCode(pub u16);

impl fmt::Display for InvalidCloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self.0 {
            1005 | 1006 | 1015 => "it only reports how a connection closed, and is never sent",
            _ => "a server sends 1000-1003, 1007-1014, or 3000-4999 for its own",
        };
        write!(f, "close code {} cannot be sent: {why}", self.0)
    }
}

impl std::error::Error for InvalidCloseCode {}

/// `reason` as a close frame holds it: its first [`CloseCode::MAX_REASON_BYTES`] bytes at most,
/// cut at a character's boundary.
pub(crate) fn frame_reason(reason: &str) -> &str {
    if reason.len() <= CloseCode::MAX_REASON_BYTES {
        return reason;
    }
    let mut end = CloseCode::MAX_REASON_BYTES;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    &reason[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_codes_a_close_frame_may_carry_are_close_codes() {
        let sendable: Vec<u16> = (0..=u16::MAX)
            .filter(|&n| CloseCode::new(n).is_some())
            .collect();
        let expected: Vec<u16> = (1000..=1003)
            .chain(1007..=1014)
            .chain(3000..=4999)
            .collect();
        assert_eq!(sendable, expected);
        assert_eq!(
            CloseCode::try_from(1006).unwrap_err().to_string(),
            "close code 1006 cannot be sent: it only reports how a connection closed, and is never sent"
        );
    }

    #[test]
    fn a_long_reason_is_cut_at_a_character_boundary() {
        assert_eq!(frame_reason("bye"), "bye");
        let long = "é".repeat(100);
        let cut = frame_reason(&long);
        assert_eq!(cut.len(), 122);
        assert!(long.starts_with(cut));
        assert_eq!(frame_reason(&"a".repeat(200)).len(), 123);
    }
}
