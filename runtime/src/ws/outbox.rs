//! A peer's outbound queue: what its session writes, in order, and the session's waker.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Waker;

use super::peer::SendError;
use crate::hub::{Cursor, SubscriptionKey, next_stamp};
use crate::payload::Payload;

/// What the session writes, in queue order (each item stamped with [`next_stamp`], so the session
/// can merge it with what its topics hold).
pub(crate) enum Outbound {
    /// A data frame's payload, counted in the buffered amount until written.
    Frame(Payload),
    Ping,
    /// A close frame; the session sends it, flushes, and writes nothing more.
    Close(u16, String),
    /// The client closed: flush the socket's reply to its close frame, then write nothing more.
    Finish,
    /// The peer subscribed to a topic: read its entries from this cursor on.
    Subscribe(Cursor),
}

/// What a queued payload counts against `max_buffered`: its bytes and its queue entry (a chat
/// of 35-byte messages costs about twice its payload bytes, not once).
pub(crate) fn cost(payload: &Payload) -> usize {
    payload.len() + ENTRY_COST
}

/// A queue entry's own size, plus the frame header it becomes on the wire.
const ENTRY_COST: usize = std::mem::size_of::<Outbound>() + 14;

/// The peer's outbound queue: a plain deque that allocates only once something is queued (an idle
/// connection pays for none), and the session's waker under the same lock, so a push costs one
/// lock and wakes the session only when it waits.
///
/// No push is missed: a push sets `queued` and then looks at `in_hook`; the session clears
/// `in_hook` and then looks at `queued` (in [`Outbox::take_all`]), both `SeqCst`, so at least one
/// of them sees the other's store: the session drains the push, or the push wakes it.
#[derive(Default)]
pub(crate) struct Outbox {
    queue: Mutex<Queue>,
    /// Something is queued: lets the session skip the lock when it is not (most of its looks).
    /// Set and cleared under the lock.
    queued: AtomicBool,
    /// The session writes nothing more: a push now would never be sent.
    stopped: AtomicBool,
    /// The session is running a hook and looks at the queue when the hook returns: a push need
    /// not wake it, and its waker stays registered for the pushes after. (Taking the waker away
    /// for the hook, and cloning it back after, cost two more locks and two refcounts a message.)
    in_hook: AtomicBool,
}

#[derive(Default)]
struct Queue {
    /// Stamped, in stamp order (each stamp is taken under the lock).
    items: VecDeque<(u64, Outbound)>,
    /// The peer has subscribed to a topic: items from then on need a stamp to be merged with the
    /// topics' entries. Before, they are stamped 0 (they come before every entry it will read),
    /// which spares a peer that never subscribes the shared counter.
    stamped: bool,
    /// Subscriptions whose cursors have something to read again (see [`crate::hub::Reading`]).
    ready: Vec<SubscriptionKey>,
    /// The waiting session's waker; taken by the push that wakes it.
    waker: Option<Waker>,
}

impl Outbox {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn push(&self, item: Outbound) -> Result<(), SendError> {
        if self.stopped.load(Ordering::Acquire) {
            return Err(SendError::Closed);
        }
        let waker = {
            let mut queue = self.lock();
            queue.stamped |= matches!(item, Outbound::Subscribe(_));
            let stamp = if queue.stamped { next_stamp() } else { 0 };
            queue.items.push_back((stamp, item));
            self.queued.store(true, Ordering::SeqCst);
            self.waker_to_wake(&mut queue)
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// The cursor of subscription `key` has something to read: the session looks at it, woken
    /// if it waits.
    pub(crate) fn ready(&self, key: SubscriptionKey) {
        if self.stopped.load(Ordering::Acquire) {
            return;
        }
        let waker = {
            let mut queue = self.lock();
            queue.ready.push(key);
            self.queued.store(true, Ordering::SeqCst);
            self.waker_to_wake(&mut queue)
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Wakes the session if it waits.
    pub(crate) fn wake(&self) {
        let waker = self.lock().waker.take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// The session is about to wait: the next push (or [`Outbox::wake`]) wakes `waker`.
    pub(crate) fn register(&self, waker: &Waker) {
        let mut queue = self.lock();
        match &queue.waker {
            Some(known) if known.will_wake(waker) => {}
            _ => queue.waker = Some(waker.clone()),
        }
    }

    /// The session runs a hook, and drains the queue when it returns: pushes meanwhile need not
    /// wake it. (Relaxed: the hook's own pushes, on this thread, see it; another thread's push
    /// that does not only wakes the session once more.)
    pub(crate) fn enter_hook(&self) {
        self.in_hook.store(true, Ordering::Relaxed);
    }

    /// The hook returned; the session's next [`Outbox::take_all`] comes after this.
    pub(crate) fn leave_hook(&self) {
        self.in_hook.store(false, Ordering::SeqCst);
    }

    /// After a push (under the lock, `queued` stored): the waker, unless the session is in a hook.
    fn waker_to_wake(&self, queue: &mut Queue) -> Option<Waker> {
        if self.in_hook.load(Ordering::SeqCst) {
            None
        } else {
            queue.waker.take()
        }
    }

    /// Whether something is queued (or a subscription is ready): a look as
    /// [`Outbox::take_all`] makes, without taking it.
    pub(crate) fn has_queued(&self) -> bool {
        self.queued.load(Ordering::SeqCst)
    }

    /// Moves everything queued onto the end of `batch`, and the ready subscriptions into
    /// `ready` (which the caller has emptied), in one lock. A push that this misses was made
    /// after the caller registered its waker and left its hook, and wakes it.
    pub(crate) fn take_all(
        &self,
        batch: &mut VecDeque<(u64, Outbound)>,
        ready: &mut Vec<SubscriptionKey>,
    ) {
        if !self.has_queued() {
            return;
        }
        let mut queue = self.lock();
        if batch.is_empty() {
            std::mem::swap(&mut queue.items, batch);
        } else {
            batch.append(&mut queue.items);
        }
        std::mem::swap(&mut queue.ready, ready);
        self.queued.store(false, Ordering::Release);
    }

    /// Nothing more will be written: later pushes fail and what is queued is dropped.
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        let items = {
            let mut queue = self.lock();
            self.queued.store(false, Ordering::Release);
            queue.ready = Vec::new();
            std::mem::take(&mut queue.items)
        };
        drop(items);
    }

    /// The session has ended: it is stopped, and a waker it left registered (which would keep
    /// the task's memory alive for as long as a `Peer` clone does) is dropped.
    pub(crate) fn detach(&self) {
        self.stop();
        let waker = self.lock().waker.take();
        drop(waker);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// The outbox's wake-up protocol under contention: a waiting session must never miss a push
    /// (a lost wake-up would hang this test until its timeout).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pushes_from_other_threads_always_wake_a_waiting_session() {
        const THREADS: usize = 4;
        const EACH: usize = 20_000;
        let outbox = Arc::new(Outbox::default());
        let producers: Vec<_> = (0..THREADS)
            .map(|_| {
                let outbox = outbox.clone();
                std::thread::spawn(move || {
                    for i in 0..EACH {
                        outbox.push(Outbound::Ping).expect("not stopped");
                        if i % 64 == 0 {
                            std::thread::yield_now();
                        }
                    }
                })
            })
            .collect();
        let consumer = {
            let outbox = outbox.clone();
            tokio::spawn(async move {
                let mut batch = VecDeque::new();
                let mut ready = Vec::new();
                let mut seen = 0;
                std::future::poll_fn(|cx| {
                    loop {
                        outbox.register(cx.waker());
                        outbox.take_all(&mut batch, &mut ready);
                        if batch.is_empty() {
                            break;
                        }
                        seen += batch.len();
                        batch.clear();
                        // Now and then, play a hook that runs without being woken.
                        outbox.enter_hook();
                        std::thread::yield_now();
                        outbox.leave_hook();
                    }
                    if seen == THREADS * EACH {
                        std::task::Poll::Ready(())
                    } else {
                        std::task::Poll::Pending
                    }
                })
                .await;
            })
        };
        tokio::time::timeout(std::time::Duration::from_secs(20), consumer)
            .await
            .expect("every push was seen: no wake-up was lost")
            .expect("consumer task");
        for producer in producers {
            producer.join().expect("producer thread");
        }
    }
}
