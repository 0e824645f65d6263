//! One read buffer per thread, shared by every connection the thread serves: what a connection
//! keeps of its own is only what it could not use yet. WebSocket connections read their frames
//! through it ([`ws::socket`](crate::ws)), and `serve` looks at a new connection's first bytes in
//! it.

use std::cell::RefCell;

/// Its size: how much one read may take at once.
pub(crate) const SIZE: usize = 64 << 10;

thread_local! {
    static BUFFER: RefCell<Box<[u8]>> = RefCell::new(vec![0; SIZE].into_boxed_slice());
}

/// Runs `f` with the thread's buffer. Not reentrant: `f` must not call back into it (what runs
/// within is a read and the parsing of what it read).
pub(crate) fn with<R>(f: impl FnOnce(&mut [u8]) -> R) -> R {
    BUFFER.with(|buffer| f(&mut buffer.borrow_mut()))
}
