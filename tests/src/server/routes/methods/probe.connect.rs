//! A 2xx answer to CONNECT carries no body (RFC 9110), so the method comes back in a header.

#[nitrous::handler]
pub async fn probe() -> ([(&'static str, &'static str); 1], &'static str) {
    ([("x-method", "CONNECT")], "")
}
