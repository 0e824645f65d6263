//! The heartbeat: a ping every interval, and a peer silent for too long is cut.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

/// Pings every `interval`, and cuts a peer silent for `silence` (the interval plus the timeout).
/// One timer serves both: it fires at the next ping or at the silence deadline, whichever comes
/// first, and hearing from the peer only moves `last_seen` (the timer is re-armed when it fires).
pub(super) struct Heartbeat {
    interval: Duration,
    silence: Duration,
    next_ping: Instant,
    last_seen: Instant,
    timer: Pin<Box<Sleep>>,
}

impl Heartbeat {
    pub(super) fn new(interval: Duration, timeout: Duration) -> Heartbeat {
        let now = Instant::now();
        let silence = interval + timeout;
        Heartbeat {
            interval,
            silence,
            next_ping: now + interval,
            last_seen: now,
            timer: Box::pin(tokio::time::sleep_until(now + interval.min(silence))),
        }
    }

    /// The peer was heard from.
    pub(super) fn seen(&mut self) {
        self.last_seen = Instant::now();
    }

    /// Ready when the timer fires: then [`due`](Heartbeat::due) says what for.
    pub(super) fn poll_timer(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.timer.as_mut().poll(cx)
    }

    /// The timer fired: whether the peer has been silent too long; if not, whether to ping now.
    /// Re-arms the timer.
    pub(super) fn due(&mut self, now: Instant) -> Due {
        let deadline = self.last_seen + self.silence;
        if now >= deadline {
            return Due::Silent;
        }
        let ping = now >= self.next_ping;
        if ping {
            self.next_ping = now + self.interval;
        }
        self.timer.as_mut().reset(self.next_ping.min(deadline));
        if ping { Due::Ping } else { Due::Nothing }
    }
}

pub(super) enum Due {
    Silent,
    Ping,
    Nothing,
}
