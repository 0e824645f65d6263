//! Waiting for a condition that the server makes true in its own time (a peer gone, a counter
//! moved), bounded, polling it.

use std::time::Duration;

/// Waits until `condition` holds, checking every few milliseconds; panics, naming `what`, if it
/// does not within `limit`.
pub(crate) async fn until(what: &str, limit: Duration, condition: impl Fn() -> bool) {
    tokio::time::timeout(limit, async {
        while !condition() {
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what} did not happen within {limit:?}"));
}
