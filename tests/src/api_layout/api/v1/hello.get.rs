#[nitrous::handler]
pub async fn hello() -> &'static str {
    "api hello"
}
