//! An answer a broker owes once: given, refused, or (dropped unanswered) refused all the same, so
//! whoever waits for it is never left waiting. [`Replay`](super::Replay) and
//! [`PresenceQuery`](super::PresenceQuery) carry one.

/// The callback that takes the answer: `Some` with it, `None` when there is none.
pub(crate) struct Reply<T> {
    callback: Option<Box<dyn FnOnce(Option<T>) + Send>>,
}

impl<T> Reply<T> {
    pub(crate) fn new(callback: impl FnOnce(Option<T>) + Send + 'static) -> Reply<T> {
        Reply {
            callback: Some(Box::new(callback)),
        }
    }

    /// Gives the answer (`None`: there is none); a second call does nothing.
    pub(crate) fn send(&mut self, answer: Option<T>) {
        if let Some(callback) = self.callback.take() {
            callback(answer);
        }
    }
}

impl<T> Drop for Reply<T> {
    fn drop(&mut self) {
        self.send(None);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[test]
    fn answered_once_and_a_dropped_reply_is_a_refusal() {
        let got = Arc::new(Mutex::new(Vec::new()));
        let seen = got.clone();
        let mut reply = Reply::new(move |answer: Option<u8>| seen.lock().unwrap().push(answer));
        reply.send(Some(1));
        reply.send(Some(2));
        drop(reply);
        let seen = got.clone();
        drop(Reply::new(move |answer: Option<u8>| {
            seen.lock().unwrap().push(answer)
        }));
        assert_eq!(*got.lock().unwrap(), [Some(1), None]);
    }
}
