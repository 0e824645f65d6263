// A handler argument that is not an extractor is reported at the argument, in the route file.
#[derive(Clone)]
pub struct AppState {
    todos: usize,
}

nitrous::routes!(dir = "./fixtures/not_an_extractor", state = AppState);

fn main() {
    let _ = AppState { todos: 0 }.todos;
}
