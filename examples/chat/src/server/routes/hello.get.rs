//! `GET /api/hello`: the smallest route file.

#[nitrous::handler]
pub async fn hello() -> &'static str {
    "Hello from nitrous!"
}
