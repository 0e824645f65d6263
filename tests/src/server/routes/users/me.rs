//! A static segment beats the `[id]` param beside it.

#[nitrous::get]
pub async fn me() -> &'static str {
    "the current user"
}
