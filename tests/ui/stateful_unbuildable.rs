// A WebSocket handler holding state, on a router with state, without `FromRef<AppState>`: one
// error in words that names the handler's file, not the specialisation's unsatisfied bounds.
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

#[derive(Clone, Default)]
pub struct AppState {
    pub votes: Arc<AtomicUsize>,
}

nitrous::routes!(dir = "./fixtures/stateful_unbuildable", state = AppState);

fn main() {
    let _: nitrous::axum::Router = router().with_state(AppState::default());
}
