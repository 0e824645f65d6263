#[nitrous::get]
pub async fn get() -> &'static str {
    "hygienic"
}
