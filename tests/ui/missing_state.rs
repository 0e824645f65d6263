// A handler takes `State<AppState>` and a WebSocket handler is built from it, but the call names
// no state: one error, at the call, that says what to write.
#[derive(Clone)]
pub struct AppState {
    todos: usize,
}

nitrous::routes!(dir = "./fixtures/missing_state");

fn main() {
    let _ = AppState { todos: 0 }.todos;
}
