//! [`Offset`]: where a retained topic's message is, the same on every instance and across
//! restarts.

use std::fmt;
use std::str::FromStr;

/// Where a message of a retained topic is: what an event stream sends as its `id`, and what a
/// client hands back (`Last-Event-ID`, or a WebSocket page's reconnect URL) to resume after it.
///
/// Written `major-minor`. With a broker that keeps history (Redis Streams) it is the stream entry's
/// id, so every instance and every restart give a message the same offset. In one process,
/// `major` names the topic's history (it changes when the process restarts), so an offset from
/// an earlier process is recognised as one, and its client is told it missed messages rather
/// than given the wrong ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Offset {
    major: u64,
    minor: u64,
}

impl Offset {
    pub(crate) const fn new(major: u64, minor: u64) -> Offset {
        Offset { major, minor }
    }

    pub(crate) fn major(self) -> u64 {
        self.major
    }

    /// What a client sent, if it is an offset: `major-minor`, two decimal numbers (spaces around
    /// are ignored). Anything else is `None`, never a panic.
    pub fn parse(text: &str) -> Option<Offset> {
        let (major, minor) = text.trim().split_once('-')?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(major) || !digits(minor) {
            return None;
        }
        Some(Offset {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
        })
    }
}

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.major, self.minor)
    }
}

/// Not an offset (see [`Offset::parse`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotAnOffset;

impl fmt::Display for NotAnOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not an offset: expected two numbers, `major-minor`")
    }
}

impl std::error::Error for NotAnOffset {}

impl FromStr for Offset {
    type Err = NotAnOffset;

    fn from_str(text: &str) -> Result<Offset, NotAnOffset> {
        Offset::parse(text).ok_or(NotAnOffset)
    }
}

/// Where a subscriber starts in a topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Resume {
    /// With what is published from now on.
    Live,
    /// After this offset: what the client saw last.
    After(Offset),
    /// The client sent something that is not an offset: it cannot be told what it missed.
    Unknown,
}

impl Resume {
    /// What a client's last-seen text asks for: nothing is live, an offset resumes after it.
    pub(crate) fn from_client(last: Option<&str>) -> Resume {
        match last.map(str::trim) {
            None | Some("") => Resume::Live,
            Some(text) => Offset::parse(text).map_or(Resume::Unknown, Resume::After),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_print_and_parse_back() {
        let offset = Offset::new(1_764_627_000_123, 7);
        assert_eq!(offset.to_string(), "1764627000123-7");
        assert_eq!(Offset::parse(" 1764627000123-7 "), Some(offset));
        assert_eq!("1-2".parse::<Offset>(), Ok(Offset::new(1, 2)));
        for bad in [
            "",
            "7",
            "-",
            "1-",
            "-1",
            "1-2-3",
            "a-1",
            "1-+2",
            "18446744073709551616-0",
        ] {
            assert_eq!(Offset::parse(bad), None, "{bad:?}");
        }
        assert!(Offset::new(1, 9) < Offset::new(2, 0));
        assert_eq!(Resume::from_client(None), Resume::Live);
        assert_eq!(Resume::from_client(Some(" ")), Resume::Live);
        assert_eq!(Resume::from_client(Some("8")), Resume::Unknown);
    }

    proptest::proptest! {
        /// Whatever a client sends parses to an offset or to `None`, never a panic; every offset
        /// survives the round trip.
        #[test]
        fn any_text_parses_or_not(text in ".{0,40}") {
            if let Some(offset) = Offset::parse(&text) {
                proptest::prop_assert_eq!(Offset::parse(&offset.to_string()), Some(offset));
            }
        }

        #[test]
        fn every_offset_round_trips(major in proptest::num::u64::ANY, minor in proptest::num::u64::ANY) {
            let offset = Offset::new(major, minor);
            proptest::prop_assert_eq!(Offset::parse(&offset.to_string()), Some(offset));
        }
    }
}
