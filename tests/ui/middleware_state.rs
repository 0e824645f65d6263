// A middleware takes `State<AppState>`, but the call names no state: one error, at the call, that
// says what to write; `main` as the README writes it adds no second one.
#[derive(Clone, Default)]
pub struct AppState {
    tokens: usize,
}

nitrous::routes!(dir = "./fixtures/middleware_state/routes");

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = nitrous::listen("127.0.0.1:0").await?;
    nitrous::serve(listener, router().with_state(AppState::default())).await
}
