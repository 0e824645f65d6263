// A handler takes `State<AppState>` and a WebSocket handler is built from it, but the call names
// no state: one error, at the call, that says what to write; `main` as the README writes it adds
// no second one.
#[derive(Clone, Default)]
pub struct AppState {
    todos: usize,
}

nitrous::routes!(dir = "./fixtures/missing_state");

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let _ = AppState::default().todos;
    let listener = nitrous::listen("127.0.0.1:0").await?;
    nitrous::serve(listener, router().with_state(AppState::default())).await
}
