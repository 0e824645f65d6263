#[nitrous::get]
pub async fn about() -> &'static str {
    "about"
}
