#[nitrous::handler]
pub async fn probe() -> ([(&'static str, &'static str); 1], &'static str) {
    ([("x-method", "HEAD")], "")
}
