#[nitrous::handler]
pub async fn probe() -> &'static str {
    "POST"
}
