#[nitrous::handler]
pub async fn probe() -> &'static str {
    "PATCH"
}
