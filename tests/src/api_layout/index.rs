//! With an `api/` folder, every route is served at its plain path: this is `/`.

#[nitrous::get]
pub async fn home() -> &'static str {
    "home"
}
