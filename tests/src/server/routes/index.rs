//! `index.rs`: the routes folder's own route, `/api`.

#[nitrous::get]
pub async fn get() -> &'static str {
    "index"
}
