//! One event and its wire format.

use std::time::Duration;

#[cfg(test)]
use bytes::Bytes;
use bytes::{BufMut, BytesMut};
use serde::Serialize;

/// One event: data (one `data:` line per line), and optionally `id`, `event` and `retry`; or a
/// comment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Event {
    id: Option<String>,
    event: Option<String>,
    retry: Option<Duration>,
    data: Option<String>,
    comment: Option<String>,
}

impl Event {
    /// An event carrying `data`; a multi-line string becomes one `data:` line per line.
    pub fn data(data: impl Into<String>) -> Event {
        Event {
            data: Some(data.into()),
            ..Event::default()
        }
    }

    /// An event whose data is `value` as JSON.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Event, serde_json::Error> {
        Ok(Event::data(serde_json::to_string(value)?))
    }

    /// A comment line (`: text`), which clients ignore.
    pub fn comment(text: impl Into<String>) -> Event {
        Event {
            comment: Some(text.into()),
            ..Event::default()
        }
    }

    /// The event's id; a reconnecting client sends the last one back as `Last-Event-ID`.
    pub fn id(mut self, id: impl Into<String>) -> Event {
        self.id = Some(id.into());
        self
    }

    /// The event's name (a client's `addEventListener(name, ...)`); unnamed events are `message`.
    pub fn event(mut self, name: impl Into<String>) -> Event {
        self.event = Some(name.into());
        self
    }

    /// How long a client waits before reconnecting.
    pub fn retry(mut self, after: Duration) -> Event {
        self.retry = Some(after);
        self
    }

    /// The wire format. Line breaks in `id` and `event` would end the field early, so they are
    /// replaced by spaces.
    #[cfg(test)]
    pub(crate) fn encode(&self) -> Bytes {
        let mut out = BytesMut::new();
        self.fields().encode_into(&mut out);
        out.freeze()
    }

    pub(super) fn fields(&self) -> Fields<'_> {
        Fields {
            comment: self.comment.as_deref(),
            id: self.id.as_deref(),
            event: self.event.as_deref(),
            retry: self.retry,
            data: self.data.as_deref(),
        }
    }
}

/// An event's fields, borrowed: a topic delivery encodes the publish's text without copying it
/// into an [`Event`] first.
#[derive(Default)]
pub(super) struct Fields<'a> {
    pub(super) comment: Option<&'a str>,
    pub(super) id: Option<&'a str>,
    pub(super) event: Option<&'a str>,
    pub(super) retry: Option<Duration>,
    pub(super) data: Option<&'a str>,
}

impl Fields<'_> {
    /// Appends the wire format to `out` (one reservation for the common case).
    pub(super) fn encode_into(&self, out: &mut BytesMut) {
        let text = |field: Option<&str>| field.map_or(0, str::len);
        out.reserve(text(self.comment) + text(self.id) + text(self.event) + text(self.data) + 32);
        if let Some(comment) = self.comment {
            for line in lines(comment) {
                out.put_slice(b": ");
                out.put_slice(line.as_bytes());
                out.put_u8(b'\n');
            }
        }
        if let Some(id) = self.id {
            field(out, "id", &single_line(id));
        }
        if let Some(event) = self.event {
            field(out, "event", &single_line(event));
        }
        if let Some(retry) = self.retry {
            field(out, "retry", &retry.as_millis().to_string());
        }
        if let Some(data) = self.data {
            for line in lines(data) {
                field(out, "data", line);
            }
        }
        out.put_u8(b'\n');
    }
}

impl From<&str> for Event {
    fn from(data: &str) -> Event {
        Event::data(data)
    }
}

impl From<String> for Event {
    fn from(data: String) -> Event {
        Event::data(data)
    }
}

fn field(out: &mut BytesMut, name: &str, value: &str) {
    out.put_slice(name.as_bytes());
    out.put_slice(b": ");
    out.put_slice(value.as_bytes());
    out.put_u8(b'\n');
}

/// Lines split as the SSE format splits them: on `\r\n`, `\n` or `\r`.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n')
        .flat_map(|line| line.strip_suffix('\r').unwrap_or(line).split('\r'))
}

fn single_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}
